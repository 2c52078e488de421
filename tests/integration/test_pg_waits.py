"""Two sessions writing the same new key wait as on a real unique index (SPEC §4, "Transactions
and concurrency"): the second waits for the first's transaction; the first commits → the second
gets the duplicate error; the first rolls back (its savepoint, its failed statement, its lost
connection) → the second succeeds. A wait ends with 55P03 after the guard's lock_wait_timeout_ms
and with 57014 on a CancelRequest.

Every schedule runs twice with the same client calls: through the proxy on the guarded table, and
directly on the twin table with the real unique constraint (harness/guarded.py). The second
session runs in a thread; the schedule goes on once that session is seen waiting (the twin:
pg_stat_activity says it waits for a lock; the proxy: its /metrics gauge
uniqguard_guard_waits_current), and every join has a timeout, so a hang fails the test.
"""
import re
import threading
import time
import urllib.request
import zlib

import psycopg
import psycopg2
import pytest

import django_app
from harness.guarded import GuardedTable, error_fields

ENROLL = "id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL"
KEY = ["user_id", "course_id"]
JOIN_TIMEOUT = 20

# Every connection a test opens, so that one left open by a failing test (its transaction holding
# a lock on a table a later test drops) is cancelled and closed, never left to hang the run.
_open_connections = []


def track(conn):
    _open_connections.append(conn)
    return conn


def close_without_blocking(conn):
    """Closes `conn` even while another thread's statement on it still waits for a reply
    (psycopg2's close() would wait for that thread's hold of the connection forever): the
    statement cancelled first, the close on a thread of its own, given 5 s."""
    if conn.closed:
        return
    try:
        conn.cancel()  # a statement still waiting ends, so that close() can take the lock
    except Exception:  # noqa: BLE001 - best effort
        pass
    closer = threading.Thread(target=conn.close, daemon=True)
    closer.start()
    closer.join(5)


@pytest.fixture(autouse=True)
def close_leftover_connections():
    yield
    while _open_connections:
        close_without_blocking(_open_connections.pop())


def insert_sql(gt, user_id=1, course_id=1):
    return f"INSERT INTO {gt.name} (user_id, course_id) VALUES ({user_id}, {course_id})"


def seen(exc, with_context=True):
    fields = error_fields(exc)
    if not with_context:
        # A real index's lock wait adds "while inserting index tuple … in relation …"; the
        # proxy's wait happens before the statement reaches the server.
        fields.pop("context")
    return fields


class Side:
    """One way of running a schedule: `proxy` (guarded table) or `twin` (real index)."""

    def __init__(self, gt, kind):
        self.gt = gt
        self.kind = kind

    def connect(self, **kw):
        if self.kind == "proxy":
            return track(psycopg2.connect(self.gt.proxy_dsn(**kw)))
        return track(psycopg2.connect(self.gt.twin_dsn(**kw)))

    def dsn(self):
        return self.gt.proxy_dsn() if self.kind == "proxy" else self.gt.twin_dsn()

    def waiting(self, pid):
        if self.kind == "twin":
            with psycopg2.connect(self.gt.twin_dsn()) as c, c.cursor() as cur:
                cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
                row = cur.fetchone()
            c.close()
            return row is not None and row[0] == "Lock"
        return self.proxy_waits_current() >= 1

    def proxy_waits_current(self):
        url = f"http://127.0.0.1:{self.gt.proxy.admin_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        m = re.search(r'^uniqguard_guard_waits_current\{guard="' + re.escape(self.gt.constraint)
                      + r'"\} (\d+)$', text, re.M)
        return int(m.group(1)) if m else 0

    def wait_until_waiting(self, pid, worker, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.waiting(pid):
            if not worker.thread.is_alive():
                raise AssertionError(f"{self.kind}: the second session did not wait: "
                                     f"{worker.outcome}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.kind}: the second session is not seen waiting")
            time.sleep(0.02)


class Worker:
    """Runs fn() in a thread; outcome: ("ok", value) or ("error", the exception)."""

    def __init__(self, fn):
        self.outcome = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.outcome = ("ok", fn())
        except Exception as e:  # noqa: BLE001 - compared by the test
            self.outcome = ("error", e)

    def join(self):
        self.thread.join(JOIN_TIMEOUT)
        assert not self.thread.is_alive(), "the second session is still waiting"
        return self.outcome


def described(outcome, with_context=True):
    kind, value = outcome
    if kind == "error" and isinstance(value, (psycopg2.Error, psycopg.Error)):
        if isinstance(value, psycopg.Error):
            d = value.diag
            return ("error", {"sqlstate": d.sqlstate, "message": d.message_primary,
                              "detail": d.message_detail, "constraint": d.constraint_name})
        return ("error", seen(value, with_context))
    if kind == "error":
        raise value
    return outcome


@pytest.fixture
def enroll(pg, make_proxy, request):
    # One table per test and parameter (the name's end is a hash of the whole test id).
    slug = re.sub(r"[^a-z0-9_]", "_", request.node.name.replace("test_", "")[:24].lower())
    name = f"wt_{slug}_{zlib.crc32(request.node.nodeid.encode()) & 0xffff:04x}"
    extra = getattr(request, "param", "")
    return GuardedTable(pg, make_proxy, name, ENROLL, KEY, guard_extra=extra)


def second_inserts(conn, sql, after=None):
    """The second session: the INSERT (which waits), its commit; `after` runs next."""
    def run():
        cur = conn.cursor()
        try:
            cur.execute(sql)
            conn.commit()
            return cur.statusmessage
        finally:
            if after:
                after(cur)
    return run


def run_schedule(side, release, b_sql=None, first_sql=None, b_setup=None, with_context=True):
    """The first session writes key (1, 1) in an open transaction (`first_sql`: statements
    before and including it); the second writes the same key and waits; `release(a)` ends the
    wait. Returns what each saw and the rows left."""
    gt = side.gt
    a = side.connect()
    b = side.connect()
    try:
        ca = a.cursor()
        for sql in first_sql or [insert_sql(gt)]:
            ca.execute(sql)
        if b_setup:
            b_setup(b)
        worker = Worker(second_inserts(b, b_sql or insert_sql(gt)))
        side.wait_until_waiting(b.get_backend_pid(), worker)
        first = release(a, worker)
        second = described(worker.join(), with_context)
        if second[0] == "error":
            # The second's transaction failed as after the server's own error.
            with pytest.raises(psycopg2.errors.InFailedSqlTransaction):
                b.cursor().execute("SELECT 1")
            b.rollback()
    finally:
        # Not b.close(): after a failed join the second session's thread still holds b, and the
        # test must fail, not hang.
        close_without_blocking(a)
        close_without_blocking(b)
    with side.connect() as c, c.cursor() as cur:
        cur.execute(f"SELECT user_id, course_id FROM {gt.name} ORDER BY 1, 2")
        rows = cur.fetchall()
    c.close()
    if side.kind == "twin":
        with side.connect() as c, c.cursor() as cur:
            cur.execute(f"DELETE FROM {gt.name}")
        c.close()
    return {"first": first, "second": second, "rows": rows}


def both(gt, **kw):
    """The schedule on the twin, then through the proxy: the same outcome."""
    twin = run_schedule(Side(gt, "twin"), **kw)
    proxied = run_schedule(Side(gt, "proxy"), **kw)
    assert proxied == twin
    return proxied


def commit(a, worker):
    a.commit()
    return "COMMIT"


def rollback(a, worker):
    a.rollback()
    return "ROLLBACK"


def finishes_while_first_is_open(worker, timeout=5):
    """Whether the second session's statement ends before the first's transaction does."""
    worker.thread.join(timeout)
    return not worker.thread.is_alive()


def commit_after_the_second_ends(a, worker):
    """Commits once the second session's statement has ended (a timeout), or after 3 s: whether
    it ended while the first's transaction was open."""
    released = finishes_while_first_is_open(worker, timeout=3)
    a.commit()
    return released


def test_first_commits_second_gets_the_duplicate(enroll):
    out = both(enroll, release=commit)
    assert out["second"][0] == "error"
    assert out["second"][1]["sqlstate"] == "23505"
    assert out["second"][1]["detail"] == "Key (user_id, course_id)=(1, 1) already exists."
    assert out["rows"] == [(1, 1)]


def test_first_rolls_back_second_succeeds(enroll):
    out = both(enroll, release=rollback)
    assert out["second"] == ("ok", "INSERT 0 1")
    assert out["rows"] == [(1, 1)]


def test_first_rolls_back_its_savepoint_second_succeeds(enroll):
    def rollback_to_savepoint(a, worker):
        cur = a.cursor()
        cur.execute("ROLLBACK TO SAVEPOINT s")
        # The second is released by the savepoint's rollback, before this transaction ends.
        released = finishes_while_first_is_open(worker)
        a.commit()
        return released

    out = both(enroll, release=rollback_to_savepoint,
               first_sql=["SELECT 1", "SAVEPOINT s", insert_sql(enroll)])
    assert out["first"] is True
    assert out["second"] == ("ok", "INSERT 0 1")
    assert out["rows"] == [(1, 1)]


def test_rollback_to_and_an_insert_in_one_query_keeps_the_inserts_key(enroll):
    """`ROLLBACK TO s; INSERT k` in one Query: the ROLLBACK TO frees what was written since s,
    not the INSERT after it, whose key the second session waits for (the proxy once applied
    the ROLLBACK TO after the INSERT had claimed, and let the second through)."""
    out = both(enroll, release=commit,
               first_sql=["SAVEPOINT s", f"INSERT INTO {enroll.name} (user_id, course_id) "
                          f"VALUES (1, 2)", f"ROLLBACK TO SAVEPOINT s; {insert_sql(enroll)}"])
    assert out["second"][0] == "error"
    assert out["second"][1]["sqlstate"] == "23505"
    assert out["rows"] == [(1, 1)]


def test_a_savepoint_rolled_back_in_the_extended_protocol_frees_its_key(enroll):
    """The first session's SAVEPOINT and ROLLBACK TO as prepared statements (Parse/Bind/
    Execute, as JDBC sends them)."""
    results = {}
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = track(psycopg.connect(side.dsn()))
        a.execute("SELECT 1")
        a.execute("SAVEPOINT s", prepare=True)
        a.execute(insert_sql(enroll, 8, 8), prepare=True)
        b = side.connect()
        worker = Worker(second_inserts(b, insert_sql(enroll, 8, 8)))
        side.wait_until_waiting(b.get_backend_pid(), worker)
        a.execute("ROLLBACK TO SAVEPOINT s", prepare=True)
        released = finishes_while_first_is_open(worker)
        a.commit()
        results[kind] = (released, described(worker.join()))
        a.close()
        b.close()
        with side.connect() as c, c.cursor() as cur:
            cur.execute(f"SELECT user_id, course_id FROM {enroll.name}")
            results[kind] += (cur.fetchall(),)
            if kind == "twin":
                cur.execute(f"DELETE FROM {enroll.name}")
        c.close()
    assert results["proxy"] == results["twin"]
    assert results["proxy"] == (True, ("ok", "INSERT 0 1"), [(8, 8)])


def test_a_released_savepoint_still_holds_the_key(enroll):
    def release_then_commit(a, worker):
        cur = a.cursor()
        cur.execute("RELEASE SAVEPOINT s")
        released = finishes_while_first_is_open(worker, timeout=0.5)
        a.commit()
        return released

    out = both(enroll, release=release_then_commit,
               first_sql=["SAVEPOINT s", insert_sql(enroll)])
    assert out["first"] is False
    assert out["second"][1]["sqlstate"] == "23505"
    assert out["rows"] == [(1, 1)]


@pytest.mark.parametrize("release", [commit, rollback], ids=["commit", "rollback"])
def test_on_conflict_do_nothing_waits_then_skips_or_inserts(enroll, release):
    out = both(enroll, release=release,
               b_sql=insert_sql(enroll) + " ON CONFLICT (user_id, course_id) DO NOTHING")
    assert out["second"] == ("ok", "INSERT 0 0" if release is commit else "INSERT 0 1")
    assert out["rows"] == [(1, 1)]


@pytest.mark.parametrize("release", [commit, rollback], ids=["commit", "rollback"])
def test_an_update_moving_a_row_onto_the_key_waits(enroll, release):
    def own_row(b):
        b.cursor().execute(insert_sql(enroll, 9, 9))
        b.commit()

    out = both(enroll, release=release, b_setup=own_row,
               b_sql=f"UPDATE {enroll.name} SET user_id = 1, course_id = 1 WHERE user_id = 9")
    if release is commit:
        assert out["second"][1]["sqlstate"] == "23505"
        assert out["rows"] == [(1, 1), (9, 9)]
    else:
        assert out["second"] == ("ok", "UPDATE 1")
        assert out["rows"] == [(1, 1)]


def test_first_statement_fails_second_succeeds(enroll):
    def failing_statement(a, worker):
        with pytest.raises(psycopg2.errors.DivisionByZero):
            a.cursor().execute("SELECT 1/0")
        # The transaction block is failed ('E') but not ended: whether the second goes on
        # before the ROLLBACK is the server's answer (the twin's), held against the proxy.
        released = finishes_while_first_is_open(worker)
        a.rollback()
        return released

    out = both(enroll, release=failing_statement)
    assert out["second"] == ("ok", "INSERT 0 1")
    assert out["rows"] == [(1, 1)]


def test_a_statement_failing_inside_a_savepoint_frees_only_that_savepoints_keys(enroll):
    def failing_statement(a, worker):
        with pytest.raises(psycopg2.errors.DivisionByZero):
            a.cursor().execute("SELECT 1/0")
        released = finishes_while_first_is_open(worker)
        a.cursor().execute("ROLLBACK TO SAVEPOINT s")
        a.commit()
        return released

    # The first session's (2, 2), written before the savepoint, stays and is committed.
    out = both(enroll, release=failing_statement,
               first_sql=[insert_sql(enroll, 2, 2), "SAVEPOINT s", insert_sql(enroll)])
    assert out["first"] is True
    assert out["second"] == ("ok", "INSERT 0 1")
    assert out["rows"] == [(1, 1), (2, 2)]


def test_first_disconnects_second_succeeds(enroll):
    def disconnect(a, worker):
        a.close()
        return "closed"

    out = both(enroll, release=disconnect)
    assert out["second"] == ("ok", "INSERT 0 1")
    assert out["rows"] == [(1, 1)]


def test_an_implicit_transaction_that_fails_frees_its_key(enroll):
    # The first's INSERT of key (1, 1) and a failing statement in one simple-query string: the
    # implicit transaction rolls back, nothing is held afterwards; a second session is not made
    # to wait at all (its INSERT is checked and succeeds).
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = side.connect()
        a.autocommit = True
        with pytest.raises(psycopg2.errors.DivisionByZero):
            a.cursor().execute(insert_sql(enroll) + "; SELECT 1/0")
        b = side.connect()
        b.autocommit = True

        def second():
            b.cursor().execute(insert_sql(enroll))
            return "INSERT"

        assert Worker(second).join() == ("ok", "INSERT")  # at once: nothing is held
        a.close()
        b.close()
    assert [r[1:3] for r in enroll.rows()] == [(1, 1)]
    assert Side(enroll, "proxy").proxy_waits_current() == 0


@pytest.mark.parametrize("first_commits", [True, False])
def test_an_autocommit_insert_waits(enroll, first_commits):
    """The second session in autocommit: after its wait, its INSERT is its own transaction (the
    proxy's question about lock_timeout, sent before it, leaves nothing open)."""
    results = {}
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = side.connect()
        a.cursor().execute(insert_sql(enroll, 6, 6))
        b = side.connect()
        b.autocommit = True

        def run():
            cur = b.cursor()
            cur.execute(insert_sql(enroll, 6, 6))
            return cur.statusmessage

        worker = Worker(run)
        side.wait_until_waiting(b.get_backend_pid(), worker)
        a.commit() if first_commits else a.rollback()
        outcome = described(worker.join())
        cur = b.cursor()
        cur.execute("SELECT pg_current_xact_id_if_assigned() IS NULL, now() = statement_timestamp()")
        after = cur.fetchone()  # no transaction left open by the wait
        a.close()
        b.close()
        with side.connect() as c, c.cursor() as cur:
            cur.execute(f"SELECT user_id, course_id FROM {enroll.name}")
            results[kind] = (outcome, after, cur.fetchall())
            if kind == "twin":
                cur.execute(f"DELETE FROM {enroll.name}")
        c.close()
    assert results["proxy"] == results["twin"]
    assert results["proxy"][1] == (True, True)
    assert results["proxy"][2] == [(6, 6)]


def test_different_keys_do_not_wait(enroll):
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = side.connect()
        b = side.connect()
        a.cursor().execute(insert_sql(enroll, 5, 5))
        worker = Worker(second_inserts(b, insert_sql(enroll, 5, 6)))
        assert worker.join() == ("ok", "INSERT 0 1")  # while the first is still open
        a.commit()
        a.close()
        b.close()
    assert sorted(r[1:] for r in enroll.rows()) == [(5, 5), (5, 6)]


def test_the_same_session_does_not_wait_for_itself(enroll):
    side = Side(enroll, "proxy")
    a = side.connect()
    cur = a.cursor()

    def twice():
        cur.execute(insert_sql(enroll, 7, 7))
        cur.execute(insert_sql(enroll, 7, 7))

    outcome = Worker(twice).join()
    assert outcome[0] == "error" and isinstance(outcome[1], psycopg2.errors.UniqueViolation)
    a.rollback()
    a.close()


@pytest.mark.parametrize("enroll", ["lock_wait_timeout_ms = 300"], indirect=True)
def test_a_wait_past_lock_wait_timeout_ms_fails_with_55P03(enroll):
    def setup(b):
        # The twin: the server's own limit; the proxy: the guard's.
        if "dbname=twin" in b.dsn:
            b.cursor().execute("SET lock_timeout = '300ms'")

    def commit_late(a, worker):
        # Only once the second session's wait has ended (by its timeout): under load a fixed
        # sleep could commit first and turn the expected 55P03 into 23505.
        worker.thread.join(timeout=30)
        a.commit()
        return "COMMIT"

    out = both(enroll, release=commit_late, b_setup=setup, with_context=False)
    assert out["second"][0] == "error"
    assert out["second"][1]["sqlstate"] == "55P03"
    assert out["second"][1]["message"] == "canceling statement due to lock timeout"
    assert out["rows"] == [(1, 1)]


def test_the_clients_own_lock_timeout_ends_a_wait_with_55P03(enroll):
    """lock_wait_timeout_ms = 0 (the default): as the server, the session's lock_timeout."""
    def setup(b):
        b.cursor().execute("SET lock_timeout = '300ms'")

    out = both(enroll, release=commit_after_the_second_ends, b_setup=setup, with_context=False)
    assert out["first"] is True
    assert out["second"][0] == "error"
    assert out["second"][1]["sqlstate"] == "55P03"
    assert out["second"][1]["message"] == "canceling statement due to lock timeout"
    assert out["rows"] == [(1, 1)]


@pytest.mark.parametrize("settings,sqlstate,message", [
    ("SET statement_timeout = '300ms'", "57014", "canceling statement due to statement timeout"),
    # both set: the first to pass ends the wait, as on the server
    ("SET statement_timeout = '300ms'; SET lock_timeout = '5s'", "57014",
     "canceling statement due to statement timeout"),
    ("SET statement_timeout = '5s'; SET lock_timeout = '300ms'", "55P03",
     "canceling statement due to lock timeout"),
])
def test_the_clients_statement_timeout_ends_a_wait_with_57014(enroll, settings, sqlstate, message):
    def setup(b):
        b.cursor().execute(settings)

    out = both(enroll, release=commit_after_the_second_ends, b_setup=setup, with_context=False)
    assert out["first"] is True
    assert out["second"][0] == "error"
    assert out["second"][1]["sqlstate"] == sqlstate
    assert out["second"][1]["message"] == message
    assert out["rows"] == [(1, 1)]


@pytest.mark.parametrize("enroll", ["lock_wait_timeout_ms = 5000"], indirect=True)
def test_statement_timeout_ends_a_wait_under_a_guards_longer_lock_wait_timeout(enroll):
    def setup(b):
        # The twin: the guard's limit as the server's own.
        if "dbname=twin" in b.dsn:
            b.cursor().execute("SET lock_timeout = '5s'")
        b.cursor().execute("SET statement_timeout = '300ms'")

    out = both(enroll, release=commit_after_the_second_ends, b_setup=setup, with_context=False)
    assert out["first"] is True
    assert out["second"][1]["sqlstate"] == "57014"
    assert out["second"][1]["message"] == "canceling statement due to statement timeout"


def test_without_lock_timeout_a_wait_has_no_limit(enroll):
    def commit_late(a, worker):
        released = finishes_while_first_is_open(worker, timeout=1.5)
        a.commit()
        return released

    out = both(enroll, release=commit_late)
    assert out["first"] is False
    assert out["second"][1]["sqlstate"] == "23505"


def test_the_clients_lock_timeout_ends_a_waiting_execute(enroll):
    results = {}
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = side.connect()
        a.cursor().execute(insert_sql(enroll, 3, 3))
        b = track(psycopg.connect(side.dsn()))
        b.execute("SET lock_timeout = '300ms'")
        b.commit()

        def run():
            with b.cursor() as cur:
                cur.execute(f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (%s, %s)",
                            (3, 3), prepare=True)
                b.commit()
                return cur.statusmessage

        worker = Worker(run)
        results[kind] = finishes_while_first_is_open(worker, timeout=3)
        a.commit()
        outcome = described(worker.join())
        results[kind] = (results[kind], outcome[0], outcome[1]["sqlstate"],
                         outcome[1]["message"])
        b.close()
        a.close()
        if kind == "twin":
            with side.connect() as c, c.cursor() as cur:
                cur.execute(f"DELETE FROM {enroll.name}")
            c.close()
    assert results["proxy"] == results["twin"]
    assert results["proxy"] == (True, "error", "55P03", "canceling statement due to lock timeout")


def test_a_waiting_insert_is_cancelled_with_57014(enroll):
    holder = {}

    def setup(b):
        holder["b"] = b

    def cancel_then_commit(a, worker):
        holder["b"].cancel()  # the CancelRequest, from this thread
        worker.thread.join(timeout=30)  # its wait has ended (57014) before the first commits
        a.commit()
        return "COMMIT"

    out = both(enroll, release=cancel_then_commit, b_setup=setup, with_context=False)
    assert out["second"][0] == "error"
    assert out["second"][1]["sqlstate"] == "57014"
    assert out["second"][1]["message"] == "canceling statement due to user request"
    assert out["rows"] == [(1, 1)]


@pytest.mark.parametrize("first_commits", [True, False])
def test_extended_protocol_execute_waits(enroll, first_commits):
    """The second session's INSERT as Parse/Bind/Execute (psycopg 3, prepared)."""
    results = {}
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = side.connect()
        a.cursor().execute(insert_sql(enroll, 3, 3))
        b = track(psycopg.connect(side.dsn()))

        def run():
            with b.cursor() as cur:
                cur.execute(f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (%s, %s)",
                            (3, 3), prepare=True)
                b.commit()
                return cur.statusmessage

        worker = Worker(run)
        side.wait_until_waiting(b.info.backend_pid, worker)
        if first_commits:
            a.commit()
        else:
            a.rollback()
        results[kind] = described(worker.join())
        b.close()
        a.close()
        with side.connect() as c, c.cursor() as cur:
            cur.execute(f"SELECT user_id, course_id FROM {enroll.name}")
            results[kind] = (results[kind], cur.fetchall())
            if kind == "twin":
                cur.execute(f"DELETE FROM {enroll.name}")
        c.close()
    assert results["proxy"] == results["twin"]
    assert results["proxy"][1] == [(3, 3)]
    if first_commits:
        assert results["proxy"][0][1]["sqlstate"] == "23505"
    else:
        assert results["proxy"][0] == ("ok", "INSERT 0 1")


@pytest.mark.parametrize("first_commits", [True, False])
def test_an_insert_waits_for_a_copy_of_its_key(enroll, first_commits):
    """COPY FROM STDIN claims its rows' keys: an INSERT of one waits for the COPY's transaction.
    (The COPY itself never waits: docs/guard.md.)"""
    import io

    results = {}
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = side.connect()
        a.cursor().copy_expert(f"COPY {enroll.name} (user_id, course_id) FROM STDIN",
                               io.StringIO("4\t4\n1\t1\n"))
        b = side.connect()
        worker = Worker(second_inserts(b, insert_sql(enroll)))
        side.wait_until_waiting(b.get_backend_pid(), worker)
        if first_commits:
            a.commit()
        else:
            a.rollback()
        results[kind] = described(worker.join())
        a.close()
        b.close()
        with side.connect() as c, c.cursor() as cur:
            cur.execute(f"SELECT user_id, course_id FROM {enroll.name} ORDER BY 1")
            results[kind] = (results[kind], cur.fetchall())
            if kind == "twin":
                cur.execute(f"DELETE FROM {enroll.name}")
        c.close()
    assert results["proxy"] == results["twin"]
    if first_commits:
        assert results["proxy"][0][1]["sqlstate"] == "23505"
        assert results["proxy"][1] == [(1, 1), (4, 4)]
    else:
        assert results["proxy"] == (("ok", "INSERT 0 1"), [(1, 1)])


def test_two_sessions_waiting_for_each_other_end_as_a_deadlock(enroll):
    """A holds (1, 1) and waits for (2, 2), which B holds; B then waits for (1, 1). As on the
    server, the session whose wait first lasts deadlock_timeout (1 s: A's) finds the cycle and
    fails with 40P01; its keys are then free and B goes on."""
    results = {}
    for kind in ("twin", "proxy"):
        side = Side(enroll, kind)
        a = side.connect()
        b = side.connect()
        a.cursor().execute(insert_sql(enroll, 1, 1))
        b.cursor().execute(insert_sql(enroll, 2, 2))
        wa = Worker(second_inserts(a, insert_sql(enroll, 2, 2)))
        side.wait_until_waiting(a.get_backend_pid(), wa)
        wb = Worker(second_inserts(b, insert_sql(enroll, 1, 1)))
        outcome_a, outcome_b = wa.join(), wb.join()
        if outcome_a[0] == "error":
            fields = error_fields(outcome_a[1])
            outcome_a = ("error", {k: fields[k] for k in ("sqlstate", "message", "hint")})
        results[kind] = (outcome_a, described(outcome_b))
        a.close()
        b.close()
        with side.connect() as c, c.cursor() as cur:
            cur.execute(f"SELECT user_id, course_id FROM {enroll.name} ORDER BY 1")
            results[kind] += (cur.fetchall(),)
            if kind == "twin":
                cur.execute(f"DELETE FROM {enroll.name}")
        c.close()
    assert results["proxy"] == results["twin"]
    assert results["proxy"] == (
        ("error", {"sqlstate": "40P01", "message": "deadlock detected",
                   "hint": "See server log for query details."}),
        ("ok", "INSERT 0 1"), [(1, 1), (2, 2)])


def test_waits_are_counted_in_metrics(enroll):
    run_schedule(Side(enroll, "proxy"), release=rollback)
    url = f"http://127.0.0.1:{enroll.proxy.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    assert f'uniqguard_guard_waits_total{{guard="{enroll.constraint}"}} 1\n' in text
    assert f'uniqguard_guard_waits_current{{guard="{enroll.constraint}"}} 0\n' in text


# Item 3 of issue 4: Django's get_or_create from two sessions at once.

django_app.setup()
from django.db import connections, transaction  # noqa: E402

from django_app.models import Enroll  # noqa: E402


def test_django_get_or_create_race(pg, make_proxy):
    gt = GuardedTable(pg, make_proxy, django_app.TABLE,
                      ENROLL + ", note text NOT NULL DEFAULT ''", KEY)
    django_app.point_at(gt.proxy.port, pg.port)
    results = {}
    try:
        for alias, kind in (("twin", "twin"), ("default", "proxy")):
            side = Side(gt, kind)
            first_created = threading.Event()
            let_first_commit = threading.Event()
            pids = {}

            def first():
                try:
                    with transaction.atomic(using=alias):
                        obj, created = Enroll.objects.using(alias).get_or_create(
                            user_id=9, course_id=9)
                        first_created.set()
                        assert let_first_commit.wait(JOIN_TIMEOUT)
                    return created
                finally:
                    connections[alias].close()

            def second():
                try:
                    connections[alias].ensure_connection()
                    pids["second"] = connections[alias].connection.get_backend_pid()
                    obj, created = Enroll.objects.using(alias).get_or_create(
                        user_id=9, course_id=9)
                    return created
                finally:
                    connections[alias].close()

            w1 = Worker(first)
            assert first_created.wait(JOIN_TIMEOUT), w1.outcome
            w2 = Worker(second)
            deadline = time.monotonic() + 10
            while "second" not in pids and time.monotonic() < deadline:
                time.sleep(0.01)
            side.wait_until_waiting(pids["second"], w2)
            let_first_commit.set()
            results[kind] = (described(w1.join()), described(w2.join()))
        assert results["proxy"] == results["twin"]
        assert results["proxy"] == (("ok", True), ("ok", False))
        assert [r[1:3] for r in gt.rows()] == [(9, 9)]
    finally:
        django_app.close_all()


def test_many_sessions_racing_for_few_keys_never_write_a_duplicate(enroll):
    """Six sessions write 160 keys in random orders, alone or two or three per transaction,
    all at once, through the proxy: whatever errors they get (23505, 40P01), no key is
    committed twice and the table holds exactly the committed keys. Seeded; every wait
    bounded."""
    import random

    keys = [(k // 8 + 1, k % 8 + 1) for k in range(160)]
    errors = []
    committed = []

    def session(seed):
        rng = random.Random(seed)
        conn = track(enroll.connect_proxy())
        try:
            cur = conn.cursor()
            for _ in range(80):
                batch = rng.sample(keys, rng.choice([1, 1, 2, 3]))
                try:
                    for k in batch:
                        cur.execute(insert_sql(enroll, *k))
                        time.sleep(rng.random() * 0.004)  # a transaction stays open a while
                    conn.commit()
                    committed.extend(batch)
                except psycopg2.Error as e:
                    errors.append(e.pgcode)
                    conn.rollback()
        finally:
            conn.close()

    workers = [Worker(lambda s=s: session(s)) for s in range(6)]
    deadline = time.monotonic() + 120
    for w in workers:
        w.thread.join(max(0.1, deadline - time.monotonic()))
        assert not w.thread.is_alive(), "a session is stuck"
        assert w.outcome[0] == "ok", w.outcome
    assert set(errors) <= {"23505", "40P01"}, errors
    rows = [tuple(r[1:3]) for r in enroll.rows()]
    assert len(rows) == len(set(rows)), "a key was written twice"
    assert len(committed) == len(set(committed)), "two sessions committed one key"
    assert sorted(rows) == sorted(committed)
