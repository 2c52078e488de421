"""The MySQL guard under Django's ORM (Debian's python3-django 3.2, mysqlclient/MySQLdb) on
MariaDB 10.11: the motivating story's `Enroll(user, course)` with `unique_together`
(tests/integration/django_app, the same app as test_pg_guard_django.py, aliases `mysql` and
`mysql_twin`).

Every scenario runs twice with the same ORM calls: through the proxy onto the guarded table
`app.dj_courses_enroll` (no unique index; the guard `enroll_uniq` declares the key), and directly
on the twin `twin.dj_courses_enroll` whose real UNIQUE key is named `enroll_uniq` too, so the
server's message is the guard's byte for byte. What the application sees must be the same: the
values returned (without auto ids, which differ because a rejected or dropped row spends no id on
the guarded table), the exception's class and args (errno, message), and the rows left. Django's
MySQL backend interpolates parameters itself, so everything reaches the proxy as COM_QUERY text;
on MariaDB ≥ 10.5 create() and bulk_create() add `RETURNING id`.
"""
from contextlib import closing
import threading
from unittest import mock

import pymysql
import pytest

import django_app
from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from test_mysql_guard import GUARD, start_guarded

django_app.setup()

from django.db import connections, transaction  # noqa: E402
from django.db.models.query import QuerySet  # noqa: E402

from django_app.models import Enroll  # noqa: E402

pytestmark = pytest.mark.usefixtures("proxy_account")

T = django_app.TABLE
COLUMNS = ("id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, course_id INT NOT NULL, "
           "note TEXT NOT NULL DEFAULT ''")


@pytest.fixture
def enroll(mysql_root, make_mysql_proxy, mariadb):
    with mysql_root.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS twin")
        for db, unique in ((DATABASE, ""), ("twin", f", UNIQUE KEY {GUARD} (user_id, course_id)")):
            cur.execute(f"DROP TABLE IF EXISTS {db}.{T}")
            cur.execute(f"CREATE TABLE {db}.{T} ({COLUMNS}{unique}) ENGINE=InnoDB "
                        "DEFAULT CHARSET=utf8mb4")
    proxy = start_guarded(make_mysql_proxy, T)
    django_app.point_at_mysql(proxy.port, mariadb.port)
    yield proxy
    django_app.close_all()  # before make_mysql_proxy stops the proxy


def row(obj):
    return (obj.user_id, obj.course_id, obj.note)


def described(exc):
    """What an application can see of an exception: class, and the driver's args."""
    return {"class": type(exc).__name__, "args": tuple(exc.args),
            "cause": type(exc.__cause__).__module__ + "." + type(exc.__cause__).__name__
            if exc.__cause__ is not None else None}


class Db:
    """One side of a scenario: the ORM on one alias, with every step's outcome and SQL kept."""

    def __init__(self, alias, port, table):
        self.alias, self.port, self.table = alias, port, table
        self.steps = []

    @property
    def objects(self):
        return Enroll.objects.using(self.alias)

    def atomic(self, **kw):
        return transaction.atomic(using=self.alias, **kw)

    def new(self, user_id, course_id, note=""):
        return Enroll(user_id=user_id, course_id=course_id, note=note)

    def step(self, label, fn):
        log = connections[self.alias].queries_log
        start = len(log)
        try:
            outcome = ("ok", fn())
        except Exception as e:  # noqa: BLE001 - the class is part of the outcome
            outcome = ("error", described(e))
        self.steps.append((label, outcome, [q["sql"] for q in list(log)[start:]]))
        return outcome

    def keys(self):
        return sorted(self.objects.values_list("user_id", "course_id", "note"))

    def other_session_insert(self, user_id, course_id, note):
        """Another application session commits a row: through the proxy for the guarded table
        (a write past the proxy would not be in its key set), directly for the twin."""
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user=NATIVE_USER,
                               password=NATIVE_PASSWORD, database=self.table[0],
                               autocommit=True)
        with closing(conn), conn.cursor() as cur:
            cur.execute(f"INSERT INTO {T} (user_id, course_id, note) VALUES (%s, %s, %s)",
                        (user_id, course_id, note))


def report(proxy_db, twin_db):
    lines = []
    for (label, p, p_sql), (_, t, t_sql) in zip(proxy_db.steps, twin_db.steps):
        lines.append(f"{'==' if p == t else '!='} {label}")
        lines.append(f"   proxy: {p}")
        lines.extend(f"          | {s}" for s in p_sql)
        if p != t:
            lines.append(f"   twin:  {t}")
            lines.extend(f"          | {s}" for s in t_sql)
    return "\n".join(lines)


def both(enroll, mariadb, scenario):
    """Runs scenario(db) through the proxy and on the twin; asserts the outcomes are the same
    step by step; returns the proxy side's outcomes (label → outcome)."""
    sides = []
    for alias, port, table in ((django_app.MYSQL, enroll.port, (DATABASE,)),
                               (django_app.MYSQL_TWIN, mariadb.port, ("twin",))):
        db = Db(alias, port, table)
        db.step("scenario", lambda: scenario(db))  # an escaping exception is an outcome too
        db.step("rows left", db.keys)
        sides.append(db)
    proxy_db, twin_db = sides
    print(report(proxy_db, twin_db))
    assert [(l, o) for l, o, _ in proxy_db.steps] == [(l, o) for l, o, _ in twin_db.steps], \
        "\n" + report(proxy_db, twin_db)
    return {label: outcome for label, outcome, _ in proxy_db.steps}


def is_duplicate(outcome, key):
    kind, e = outcome
    assert kind == "error", outcome
    assert e["class"] == "IntegrityError", outcome
    assert e["args"] == (1062, f"Duplicate entry '{key[0]}-{key[1]}' for key '{GUARD}'"), outcome
    assert e["cause"] == "MySQLdb._exceptions.IntegrityError", outcome
    return True


def test_create_new_key_and_duplicate_key(enroll, mariadb):
    def scenario(db):
        db.step("create (2, 1)", lambda: row(db.objects.create(user_id=2, course_id=1)))
        db.step("create (2, 2)", lambda: row(db.objects.create(user_id=2, course_id=2, note="b")))
        db.step("create (2, 1) again", lambda: row(db.objects.create(user_id=2, course_id=1)))
        db.step("create (1, 2)", lambda: row(db.objects.create(user_id=1, course_id=2)))

    out = both(enroll, mariadb, scenario)
    assert out["create (2, 1)"] == ("ok", (2, 1, ""))
    assert is_duplicate(out["create (2, 1) again"], (2, 1))
    assert out["rows left"] == ("ok", [(1, 2, ""), (2, 1, ""), (2, 2, "b")])


def test_get_or_create_including_its_race_path(enroll, mariadb):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1, note="first")

        def goc(**kw):
            return lambda: (lambda r: (row(r[0]), r[1]))(db.objects.get_or_create(**kw))

        db.step("existing key", goc(user_id=2, course_id=1, defaults={"note": "other"}))
        db.step("new key", goc(user_id=2, course_id=2, defaults={"note": "new"}))
        # The lookup misses (note differs), the INSERT is a duplicate, the second lookup misses
        # too: Django re-raises the IntegrityError after rolling back its savepoint.
        db.step("lookup misses, key exists", goc(user_id=2, course_id=1, note="different"))

        # The race get_or_create is written for: the first get() misses, another session then
        # commits the key, the INSERT fails with IntegrityError, Django rolls back its savepoint
        # and its second get() finds the other session's row (created = False).
        real_get = QuerySet.get
        calls = []

        def racing_get(qs, *args, **kwargs):
            calls.append(kwargs)
            if len(calls) == 1:
                db.other_session_insert(3, 1, "raced")
                raise Enroll.DoesNotExist()
            return real_get(qs, *args, **kwargs)

        def raced():
            with mock.patch.object(QuerySet, "get", racing_get):
                return goc(user_id=3, course_id=1, defaults={"note": "mine"})()
        db.step("race: another session commits between get and create", raced)
        db.step("race: get() was called twice", lambda: len(calls))

        def in_block():
            with db.atomic():
                db.step("in block: lookup misses, key exists",
                        goc(user_id=2, course_id=1, note="different"))
                db.step("in block: new key", goc(user_id=4, course_id=1))
            return "committed"

        db.step("atomic block", in_block)

    out = both(enroll, mariadb, scenario)
    assert out["existing key"] == ("ok", ((2, 1, "first"), False))
    assert out["new key"] == ("ok", ((2, 2, "new"), True))
    assert is_duplicate(out["lookup misses, key exists"], (2, 1))
    assert out["race: another session commits between get and create"] == (
        "ok", ((3, 1, "raced"), False))
    assert out["race: get() was called twice"] == ("ok", 2)
    assert is_duplicate(out["in block: lookup misses, key exists"], (2, 1))
    assert out["atomic block"] == ("ok", "committed")
    assert out["rows left"] == ("ok", [(2, 1, "first"), (2, 2, "new"), (3, 1, "raced"),
                                       (4, 1, "")])


def test_save_of_non_key_fields(enroll, mariadb):
    """save(update_fields=[...]) naming no key column: an UPDATE the guard lets through."""
    def scenario(db):
        db.objects.create(user_id=2, course_id=1)
        e = db.objects.get(user_id=2, course_id=1)

        def save_note(note):
            def fn():
                e.note = note
                e.save(update_fields=["note"])
                return row(e)
            return fn

        db.step("save note", save_note("saved"))

        def in_block():
            with db.atomic():
                db.step("in block: save note", save_note("in block"))
                db.step("in block: create (2, 1)",
                        lambda: row(db.objects.create(user_id=2, course_id=1)))
            return "block exited"
        db.step("atomic block (rolled back by the duplicate)", in_block)

    out = both(enroll, mariadb, scenario)
    assert out["save note"] == ("ok", (2, 1, "saved"))
    assert is_duplicate(out["in block: create (2, 1)"], (2, 1))
    # The failed statement marks the block for rollback; Django rolls it back silently.
    assert out["atomic block (rolled back by the duplicate)"] == ("ok", "block exited")
    assert out["rows left"] == ("ok", [(2, 1, "saved")])


def test_save_of_an_existing_instance(enroll, mariadb):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1)
        db.objects.create(user_id=2, course_id=2)
        e = db.objects.get(user_id=2, course_id=1)

        def save(**changes):
            def fn():
                for k, v in changes.items():
                    setattr(e, k, v)
                e.save()
                return row(e)
            return fn

        db.step("save, key unchanged", save(note="saved"))
        db.step("save, key moved onto (2, 2)", save(course_id=2))
        db.step("save, key moved to free (2, 3)", save(course_id=3))

    out = both(enroll, mariadb, scenario)
    assert out["save, key unchanged"] == ("ok", (2, 1, "saved"))
    assert is_duplicate(out["save, key moved onto (2, 2)"], (2, 2))
    assert out["save, key moved to free (2, 3)"] == ("ok", (2, 3, "saved"))


def test_bulk_create_with_a_duplicate_is_all_or_nothing(enroll, mariadb):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1)

        def bulk(keys, **kw):
            return lambda: [row(o) for o in
                            db.objects.bulk_create([db.new(u, c) for u, c in keys], **kw)]
        db.step("new keys", bulk([(6, 1), (6, 2)]))
        db.step("existing key in the middle", bulk([(3, 1), (2, 1), (3, 2)]))
        db.step("same key twice", bulk([(4, 1), (4, 2), (4, 1)]))
        # Two INSERTs in one transaction: the first batch is rolled back with the second.
        db.step("duplicate in the second batch", bulk([(5, 1), (5, 2), (2, 1)], batch_size=2))
        db.step("the same keys without the duplicate", bulk([(3, 1), (3, 2), (5, 1), (5, 2)]))

    out = both(enroll, mariadb, scenario)
    assert out["new keys"] == ("ok", [(6, 1, ""), (6, 2, "")])
    assert is_duplicate(out["existing key in the middle"], (2, 1))
    assert is_duplicate(out["same key twice"], (4, 1))
    assert is_duplicate(out["duplicate in the second batch"], (2, 1))
    assert out["the same keys without the duplicate"][0] == "ok"
    assert out["rows left"] == ("ok", [(2, 1, ""), (3, 1, ""), (3, 2, ""), (5, 1, ""), (5, 2, ""),
                                       (6, 1, ""), (6, 2, "")])


def test_bulk_create_ignore_conflicts_drops_only_the_duplicates(enroll, mariadb):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1, note="kept")

        def bulk(keys, **kw):
            return lambda: [row(o) for o in db.objects.bulk_create(
                [db.new(u, c, "bulk") for u, c in keys], ignore_conflicts=True, **kw)]
        # INSERT IGNORE INTO … VALUES …: the existing key and the repeated one are dropped.
        db.step("ignore_conflicts", bulk([(2, 1), (2, 2), (2, 2), (2, 3)]))
        db.step("ignore_conflicts, batches", bulk([(2, 4), (2, 3), (2, 4), (2, 5)], batch_size=2))
        db.step("ignore_conflicts, all duplicates", bulk([(2, 1), (2, 2)]))

        def in_block():
            with db.atomic():
                db.step("in block: ignore_conflicts", bulk([(7, 1), (2, 1), (7, 1)]))
                raise RuntimeError("roll back")
        db.step("atomic block rolled back", in_block)

    out = both(enroll, mariadb, scenario)
    assert out["ignore_conflicts"][0] == "ok"
    kind, e = out["atomic block rolled back"]
    assert (kind, e["class"]) == ("error", "RuntimeError")
    assert out["rows left"] == ("ok", [(2, 1, "kept"), (2, 2, "bulk"), (2, 3, "bulk"),
                                       (2, 4, "bulk"), (2, 5, "bulk")])


def test_duplicate_inside_atomic_and_nested_savepoints(enroll, mariadb):
    def scenario(db):
        db.step("create (2, 1)", lambda: row(db.objects.create(user_id=2, course_id=1)))

        def block():
            with db.atomic():
                db.step("outer: create (6, 6)",
                        lambda: row(db.objects.create(user_id=6, course_id=6)))

                def inner():
                    with db.atomic():
                        db.step("inner: create (7, 7)",
                                lambda: row(db.objects.create(user_id=7, course_id=7)))
                        db.objects.create(user_id=2, course_id=1)
                db.step("inner block with (2, 1)", inner)
                # The savepoint rolled back: (7, 7) is free again, the outer block goes on.
                db.step("outer: create (7, 7)",
                        lambda: row(db.objects.create(user_id=7, course_id=7)))
            return "block exited"

        db.step("outer block", block)
        db.step("after commit: create (6, 6)",
                lambda: row(db.objects.create(user_id=6, course_id=6)))

        def rolled_back():
            with db.atomic():
                db.objects.create(user_id=8, course_id=8)
                db.step("outer: create (2, 1)",
                        lambda: row(db.objects.create(user_id=2, course_id=1)))
                # Django refuses further queries in a block whose statement failed.
                db.step("outer: count", lambda: db.objects.count())
            return "block exited"
        db.step("block rolled back", rolled_back)
        db.step("after rollback: create (8, 8)",
                lambda: row(db.objects.create(user_id=8, course_id=8)))

    out = both(enroll, mariadb, scenario)
    assert out["inner: create (7, 7)"] == ("ok", (7, 7, ""))
    assert is_duplicate(out["inner block with (2, 1)"], (2, 1))
    assert out["outer: create (7, 7)"] == ("ok", (7, 7, ""))
    assert out["outer block"] == ("ok", "block exited")
    assert is_duplicate(out["after commit: create (6, 6)"], (6, 6))
    assert is_duplicate(out["outer: create (2, 1)"], (2, 1))
    assert out["outer: count"][1]["class"] == "TransactionManagementError"
    assert out["after rollback: create (8, 8)"] == ("ok", (8, 8, ""))
    assert out["rows left"] == ("ok", [(2, 1, ""), (6, 6, ""), (7, 7, ""), (8, 8, "")])


def test_get_or_create_race_with_a_transaction_in_flight(enroll, mariadb):
    """Two application threads (Django's connections are per thread) run get_or_create of one
    key: the first inside atomic(), holding its transaction open after its INSERT; the second's
    INSERT waits (on the twin in InnoDB's unique index, through the proxy in the proxy's claim
    wait) until the first commits, then fails with 1062, and Django's get() finds the first's
    row. Both sides must give (created, not created) and one row."""
    results = {}
    for alias, kind in ((django_app.MYSQL_TWIN, "twin"), (django_app.MYSQL, "proxy")):
        first_created, let_first_commit = threading.Event(), threading.Event()
        outcome = {}

        def run(name, fn):
            try:
                outcome[name] = ("ok", fn())
            except Exception as e:  # noqa: BLE001 - the class is part of the outcome
                outcome[name] = ("error", described(e))
            finally:
                connections[alias].close()

        def first():
            with transaction.atomic(using=alias):
                _, created = Enroll.objects.using(alias).get_or_create(user_id=9, course_id=9)
                first_created.set()
                assert let_first_commit.wait(30)
            return created

        def second():
            _, created = Enroll.objects.using(alias).get_or_create(user_id=9, course_id=9)
            return created

        t1 = threading.Thread(target=run, args=("first", first), daemon=True)
        t1.start()
        assert first_created.wait(30), outcome
        t2 = threading.Thread(target=run, args=("second", second), daemon=True)
        t2.start()
        t2.join(timeout=1.0)
        # Still waiting for the first transaction: not answered before it ends.
        assert t2.is_alive() and "second" not in outcome, (kind, outcome)
        let_first_commit.set()
        t1.join(timeout=30)
        t2.join(timeout=30)
        assert not t1.is_alive() and not t2.is_alive(), (kind, outcome)
        results[kind] = (outcome["first"], outcome["second"])
        assert sorted(Enroll.objects.using(alias).values_list("user_id", "course_id")) == [(9, 9)]
    assert results["proxy"] == results["twin"] == (("ok", True), ("ok", False))
