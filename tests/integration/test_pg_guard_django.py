"""The guard under Django's ORM (Debian's python3-django, psycopg2): the motivating story's
`Enroll(user, course)` with `unique_together` that cannot be migrated (SPEC §4).

Every scenario runs twice with the same ORM calls: once through the proxy onto the guarded table
(no unique index, alias `default`), once directly on the twin table with the real constraint
(alias `twin`). What the application sees must be the same: the values returned (without serial
ids, which differ because a rejected INSERT does not advance the guarded table's sequence), the
exception's class, text and PostgreSQL fields, and the rows left in the table. On a mismatch the
assertion message shows each step's outcome and the SQL Django sent for it on both sides.
"""
import psycopg2
import pytest

import django_app
from harness.guarded import GuardedTable, error_fields

django_app.setup()

from django.db import connections, transaction  # noqa: E402

from django_app.models import Enroll  # noqa: E402

T = django_app.TABLE
CONSTRAINT = f"{T}_key"
ENROLL = "id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL, note text NOT NULL DEFAULT ''"
KEY = ["user_id", "course_id"]


def guarded(pg, make_proxy, legacy_rows_sql=None):
    gt = GuardedTable(pg, make_proxy, T, ENROLL, KEY, legacy_rows_sql=legacy_rows_sql)
    django_app.point_at(gt.proxy.port, pg.port)
    return gt


@pytest.fixture
def enroll(pg, make_proxy):
    gt = guarded(pg, make_proxy)
    yield gt
    django_app.close_all()  # before make_proxy stops the proxy


def row(obj):
    return (obj.user_id, obj.course_id, obj.note)


def described(exc):
    """What an application can see of an exception: class, text, and the server's fields."""
    out = {"class": type(exc).__name__, "text": str(exc)}
    cause = exc.__cause__
    if isinstance(cause, psycopg2.Error):
        out["pgcode"] = cause.pgcode
        out["psycopg2_class"] = type(cause).__name__
        out["fields"] = error_fields(cause)
    return out


class Db:
    """One side of a scenario: the ORM on one alias, with every step's outcome and SQL kept."""

    def __init__(self, alias):
        self.alias = alias
        self.steps = []

    @property
    def objects(self):
        return Enroll.objects.using(self.alias)

    def atomic(self, **kw):
        return transaction.atomic(using=self.alias, **kw)

    def new(self, user_id, course_id, note=""):
        return Enroll(user_id=user_id, course_id=course_id, note=note)

    def step(self, label, fn):
        """Runs fn(); returns ("ok", value) or ("error", described exception), and records it."""
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


def report(proxy_db, twin_db):
    lines = []
    for (label, p, p_sql), (_, t, t_sql) in zip(proxy_db.steps, twin_db.steps):
        lines.append(f"{'==' if p == t else '!='} {label}")
        lines.append(f"   proxy: {p}")
        for s in p_sql:
            lines.append(f"          | {s}")
        if p != t:
            lines.append(f"   twin:  {t}")
            for s in t_sql:
                lines.append(f"          | {s}")
    return "\n".join(lines)


def both(scenario):
    """Runs scenario(db) through the proxy and on the twin; asserts the outcomes are the same
    step by step; returns the proxy side's outcomes (labels → outcome)."""
    sides = []
    for alias in ("default", django_app.TWIN):
        db = Db(alias)
        db.step("scenario", lambda: scenario(db))  # an escaping exception is an outcome too
        db.step("rows left", db.keys)
        sides.append(db)
    proxy_db, twin_db = sides
    print(report(proxy_db, twin_db))  # shown with pytest -rP, or on a failure
    assert [(l, o) for l, o, _ in proxy_db.steps] == [(l, o) for l, o, _ in twin_db.steps], \
        "\n" + report(proxy_db, twin_db)
    return {label: outcome for label, outcome, _ in proxy_db.steps}


def is_duplicate(outcome, key, trace=""):
    """The ORM raised IntegrityError for a unique violation of the declared key, with the
    fields the server sends for one."""
    kind, e = outcome
    msg = f"{outcome}{trace}"
    assert kind == "error", msg
    assert e["class"] == "IntegrityError", msg
    assert e.get("pgcode") == "23505", msg
    assert e["psycopg2_class"] == "UniqueViolation", msg
    f = e["fields"]
    assert f["message"] == f'duplicate key value violates unique constraint "{CONSTRAINT}"', msg
    assert f["detail"] == f"Key (user_id, course_id)=({key[0]}, {key[1]}) already exists.", msg
    assert (f["schema"], f["table"], f["constraint"]) == ("public", T, CONSTRAINT), msg
    assert f["context"] is None, msg
    assert e["text"] == (f'duplicate key value violates unique constraint "{CONSTRAINT}"\n'
                         f"DETAIL:  {f['detail']}\n"), msg
    return True


def test_create_new_key_and_duplicate_key(enroll):
    def scenario(db):
        db.step("create (2, 1)", lambda: row(db.objects.create(user_id=2, course_id=1)))
        db.step("create (2, 2)", lambda: row(db.objects.create(user_id=2, course_id=2, note="b")))
        db.step("create (2, 1) again", lambda: row(db.objects.create(user_id=2, course_id=1)))
        db.step("create (1, 2)", lambda: row(db.objects.create(user_id=1, course_id=2)))

    out = both(scenario)
    assert out["create (2, 1)"] == ("ok", (2, 1, ""))
    assert is_duplicate(out["create (2, 1) again"], (2, 1))
    assert out["rows left"] == ("ok", [(1, 2, ""), (2, 1, ""), (2, 2, "b")])
    lines = enroll.duplicate_lines(expected=1)
    assert [(l["values"], l["action"], l["in_transaction"]) for l in lines] == [
        (["2", "1"], "rejected", False)]
    assert lines[0]["statement"].startswith(f'INSERT INTO "{T}" ("user_id", "course_id", "note") '
                                            "VALUES (2, 1, '')")


def test_duplicate_inside_atomic_rolls_the_block_back(enroll):
    def scenario(db):
        db.step("create (2, 1)", lambda: row(db.objects.create(user_id=2, course_id=1)))

        def block():
            with db.atomic():
                db.step("in block: create (5, 5)",
                        lambda: row(db.objects.create(user_id=5, course_id=5)))
                db.step("in block: create (2, 1)",
                        lambda: row(db.objects.create(user_id=2, course_id=1)))
                # Django refuses further queries in a block whose statement failed.
                db.step("in block: count", lambda: db.objects.count())
            return "block exited normally"

        db.step("atomic block", block)
        db.step("after block: create (5, 5)",
                lambda: row(db.objects.create(user_id=5, course_id=5)))

    out = both(scenario)
    assert is_duplicate(out["in block: create (2, 1)"], (2, 1))
    kind, e = out["in block: count"]
    assert (kind, e["class"]) == ("error", "TransactionManagementError")
    assert out["atomic block"] == ("ok", "block exited normally")
    assert out["after block: create (5, 5)"] == ("ok", (5, 5, ""))
    assert out["rows left"] == ("ok", [(2, 1, ""), (5, 5, "")])


def test_nested_atomic_savepoint_recovers_after_a_duplicate(enroll):
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
        db.step("after commit: create (7, 7)",
                lambda: row(db.objects.create(user_id=7, course_id=7)))

    out = both(scenario)
    assert out["inner: create (7, 7)"] == ("ok", (7, 7, ""))
    assert is_duplicate(out["inner block with (2, 1)"], (2, 1))
    assert out["outer: create (7, 7)"] == ("ok", (7, 7, ""))
    assert out["outer block"] == ("ok", "block exited")
    assert is_duplicate(out["after commit: create (6, 6)"], (6, 6))
    assert is_duplicate(out["after commit: create (7, 7)"], (7, 7))
    assert out["rows left"] == ("ok", [(2, 1, ""), (6, 6, ""), (7, 7, "")])


def test_duplicate_in_the_outer_block_after_a_savepoint_rolls_everything_back(enroll):
    def scenario(db):
        db.step("create (2, 1)", lambda: row(db.objects.create(user_id=2, course_id=1)))

        def block():
            with db.atomic():
                db.objects.create(user_id=6, course_id=6)
                with db.atomic():
                    db.objects.create(user_id=7, course_id=7)
                db.step("outer: create (2, 1)",
                        lambda: row(db.objects.create(user_id=2, course_id=1)))
            return "block exited"

        db.step("outer block", block)
        db.step("after rollback: create (6, 6)",
                lambda: row(db.objects.create(user_id=6, course_id=6)))
        db.step("after rollback: create (7, 7)",
                lambda: row(db.objects.create(user_id=7, course_id=7)))

    out = both(scenario)
    assert is_duplicate(out["outer: create (2, 1)"], (2, 1))
    assert out["outer block"] == ("ok", "block exited")  # Django rolled it back, silently
    assert out["after rollback: create (6, 6)"] == ("ok", (6, 6, ""))
    assert out["after rollback: create (7, 7)"] == ("ok", (7, 7, ""))
    assert out["rows left"] == ("ok", [(2, 1, ""), (6, 6, ""), (7, 7, "")])


def test_get_or_create(enroll):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1, note="first")
        goc = lambda **kw: (lambda: (lambda r: (row(r[0]), r[1]))(db.objects.get_or_create(**kw)))
        db.step("existing key", goc(user_id=2, course_id=1, defaults={"note": "other"}))
        db.step("new key", goc(user_id=2, course_id=2, defaults={"note": "new"}))
        # The lookup misses (note differs), the INSERT is a duplicate, the second lookup misses
        # too: Django re-raises the IntegrityError after rolling back its savepoint.
        db.step("lookup misses, key exists", goc(user_id=2, course_id=1, note="different"))

        def in_block():
            with db.atomic():
                r = goc(user_id=2, course_id=1, note="different")
                db.step("in block: lookup misses, key exists", r)
                db.step("in block: new key", goc(user_id=3, course_id=1))
            return "committed"

        db.step("atomic block", in_block)

    out = both(scenario)
    assert out["existing key"] == ("ok", ((2, 1, "first"), False))
    assert out["new key"] == ("ok", ((2, 2, "new"), True))
    assert is_duplicate(out["lookup misses, key exists"], (2, 1))
    assert is_duplicate(out["in block: lookup misses, key exists"], (2, 1))
    assert out["atomic block"] == ("ok", "committed")
    assert out["rows left"] == ("ok", [(2, 1, "first"), (2, 2, "new"), (3, 1, "")])


def test_save_of_an_existing_row(enroll):
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
        db.step("create the freed (2, 1)", lambda: row(db.objects.create(user_id=2, course_id=1)))
        db.step("create (2, 3) now taken", lambda: row(db.objects.create(user_id=2, course_id=3)))

        def in_block():
            with db.atomic():
                db.step("in block: save, key unchanged", save(note="in block"))
                db.step("in block: save onto (2, 1)", save(course_id=1))
            return "block exited"
        db.step("atomic block", in_block)

    out = both(scenario)
    assert out["save, key unchanged"] == ("ok", (2, 1, "saved"))
    assert is_duplicate(out["save, key moved onto (2, 2)"], (2, 2))
    assert out["save, key moved to free (2, 3)"] == ("ok", (2, 3, "saved"))
    assert out["create the freed (2, 1)"] == ("ok", (2, 1, ""))
    assert is_duplicate(out["create (2, 3) now taken"], (2, 3))
    assert is_duplicate(out["in block: save onto (2, 1)"], (2, 1))
    assert out["atomic block"] == ("ok", "block exited")  # rolled back: the note stays "saved"
    assert out["rows left"] == ("ok", [(2, 1, ""), (2, 2, ""), (2, 3, "saved")])


def test_bulk_create_with_a_duplicate_is_all_or_nothing(enroll):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1)
        bulk = lambda keys, **kw: (lambda: [
            (row(o), o.pk is not None)
            for o in db.objects.bulk_create([db.new(u, c) for u, c in keys], **kw)])
        db.step("existing key in the middle", bulk([(3, 1), (2, 1), (3, 2)]))
        db.step("same key twice", bulk([(4, 1), (4, 2), (4, 1)]))
        # Two INSERTs in one transaction: the first batch is rolled back with the second.
        db.step("duplicate in the second batch", bulk([(5, 1), (5, 2), (2, 1)], batch_size=2))
        db.step("the same keys without the duplicate", bulk([(3, 1), (3, 2), (5, 1), (5, 2)]))

    out = both(scenario)
    assert is_duplicate(out["existing key in the middle"], (2, 1))
    assert is_duplicate(out["same key twice"], (4, 1))
    assert is_duplicate(out["duplicate in the second batch"], (2, 1))
    assert out["the same keys without the duplicate"] == (
        "ok", [((3, 1, ""), True), ((3, 2, ""), True), ((5, 1, ""), True), ((5, 2, ""), True)])
    assert out["rows left"] == ("ok", [(2, 1, ""), (3, 1, ""), (3, 2, ""), (5, 1, ""), (5, 2, "")])


def test_bulk_create_ignore_conflicts_drops_only_the_duplicates(enroll):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1, note="kept")
        bulk = lambda keys, **kw: (lambda: [
            (row(o), o.pk is not None)
            for o in db.objects.bulk_create([db.new(u, c, "bulk") for u, c in keys], **kw)])
        # INSERT ... VALUES ... ON CONFLICT DO NOTHING
        db.step("ignore_conflicts", bulk([(2, 1), (2, 2), (2, 2), (2, 3)], ignore_conflicts=True))
        db.step("ignore_conflicts, batches",
                bulk([(2, 4), (2, 3), (2, 4), (2, 5)], ignore_conflicts=True, batch_size=2))

    out = both(scenario)
    assert out["ignore_conflicts"] == ("ok", [
        ((2, 1, "bulk"), False), ((2, 2, "bulk"), False), ((2, 2, "bulk"), False),
        ((2, 3, "bulk"), False)])
    assert out["rows left"] == ("ok", [(2, 1, "kept"), (2, 2, "bulk"), (2, 3, "bulk"),
                                       (2, 4, "bulk"), (2, 5, "bulk")])


def test_update_or_create(enroll):
    def scenario(db):
        db.objects.create(user_id=2, course_id=1)
        db.objects.create(user_id=2, course_id=2)
        uoc = lambda **kw: (lambda: (lambda r: (row(r[0]), r[1]))(db.objects.update_or_create(**kw)))
        db.step("existing key", uoc(user_id=2, course_id=1, defaults={"note": "updated"}))
        db.step("new key", uoc(user_id=3, course_id=1, defaults={"note": "created"}))
        db.step("key moved onto (2, 2)", uoc(user_id=2, course_id=1, defaults={"course_id": 2}))
        db.step("key moved to free (2, 9)", uoc(user_id=2, course_id=1, defaults={"course_id": 9}))
        db.step("the freed key", uoc(user_id=2, course_id=1, defaults={"note": "again"}))

    out = both(scenario)
    assert out["existing key"] == ("ok", ((2, 1, "updated"), False))
    assert out["new key"] == ("ok", ((3, 1, "created"), True))
    assert is_duplicate(out["key moved onto (2, 2)"], (2, 2))
    assert out["key moved to free (2, 9)"] == ("ok", ((2, 9, "updated"), False))
    assert out["the freed key"] == ("ok", ((2, 1, "again"), True))
    assert out["rows left"] == ("ok", [(2, 1, "again"), (2, 2, ""), (2, 9, "updated"),
                                       (3, 1, "created")])


def test_queryset_update(enroll):
    """`.update()` sets only the columns named: here one of the two key columns."""
    def scenario(db):
        for u, c in [(2, 1), (2, 2), (3, 1)]:
            db.objects.create(user_id=u, course_id=c)
        db.step("no key column", lambda: db.objects.update(note="all"))
        db.step("(2, 2) to free (2, 5)",
                lambda: db.objects.filter(user_id=2, course_id=2).update(course_id=5))
        db.step("(3, 1) to free (3, 5)", lambda: db.objects.filter(user_id=3).update(course_id=5))
        db.step("(2, 5) onto (2, 1)",
                lambda: db.objects.filter(user_id=2, course_id=5).update(course_id=1))
        db.step("two rows onto one key (2, 7)",
                lambda: db.objects.filter(user_id=2).update(course_id=7))
        db.step("the freed (2, 2)", lambda: row(db.objects.create(user_id=2, course_id=2)))

    out = both(scenario)
    assert out["no key column"] == ("ok", 3)
    assert out["(2, 2) to free (2, 5)"] == ("ok", 1)
    assert is_duplicate(out["(2, 5) onto (2, 1)"], (2, 1))
    assert out["two rows onto one key (2, 7)"][1]["pgcode"] == "23505"
    assert out["the freed (2, 2)"] == ("ok", (2, 2, ""))
    assert out["rows left"] == ("ok", [(2, 1, "all"), (2, 2, ""), (2, 5, "all"), (3, 5, "all")])


def test_legacy_duplicates_save_with_the_key_unchanged_passes(pg, make_proxy):
    """Two rows (2, 1) inserted directly, before the guard: no twin can hold them, so the
    expectations are SPEC §4's: an UPDATE leaving a row's key unchanged passes."""
    guarded(pg, make_proxy, legacy_rows_sql=(
        f"INSERT INTO {T} (user_id, course_id) VALUES (2, 1), (2, 1), (3, 1)"))
    try:
        db = Db("default")
        first, second = db.objects.filter(user_id=2, course_id=1).order_by("id")

        def save(e, **changes):
            def fn():
                for k, v in changes.items():
                    setattr(e, k, v)
                e.save()
                return row(e)
            return fn

        outcomes = [
            db.step("save first, key unchanged", save(first, note="first")),
            db.step("save second, key unchanged", save(second, note="second")),
            db.step("update() of both, no key column",
                    lambda: db.objects.filter(user_id=2, course_id=1).update(note="both")),
        ]

        def in_block():
            with db.atomic():
                save(first, note="in block")()
                save(second, note="in block")()
            return "block exited"
        outcomes.append(db.step("both saved in one atomic block", in_block))
        outcomes.append(db.step("save first onto (3, 1)", save(first, user_id=3)))
        first.user_id = 2
        # Moving the second away leaves the first on (2, 1): the key is still taken.
        outcomes.append(db.step("save second to free (2, 2)", save(second, course_id=2)))
        outcomes.append(db.step("create (2, 1)",
                                lambda: row(db.objects.create(user_id=2, course_id=1))))
        outcomes.append(db.step("rows left", db.keys))
        trace = "\n" + report(db, db)
        print(trace)
        assert outcomes[0] == ("ok", (2, 1, "first")), trace
        assert outcomes[1] == ("ok", (2, 1, "second")), trace
        assert outcomes[2] == ("ok", 2), trace
        assert outcomes[3] == ("ok", "block exited"), trace
        assert is_duplicate(outcomes[4], (3, 1), trace)
        assert outcomes[5] == ("ok", (2, 2, "in block")), trace
        assert is_duplicate(outcomes[6], (2, 1), trace)
        assert outcomes[7] == ("ok", [(2, 1, "in block"), (2, 2, "in block"), (3, 1, "")]), trace
    finally:
        django_app.close_all()
