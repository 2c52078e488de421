"""INSERTs under REPEATABLE READ and SERIALIZABLE (docs/guard.md, "Concurrency between
sessions"): a key another transaction committed after this one's snapshot is not in that
snapshot, so the proxy's check, which reads the table in the client's own transaction, cannot see
its row; a unique index sees it and answers 23505 (PostgreSQL 15, tested on the twin). The proxy
remembers the commits of the keys it claimed (KeyClaims::committed_after) and refuses such a key
under those isolation levels. Every schedule runs through the proxy on a table without an index
and directly on the twin with the real one: the same outcomes, statement by statement.
"""
import re
import zlib

import psycopg2
import pytest

from harness import pgwire
from harness.guarded import GuardedTable, error_fields

ENROLL = "id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL"


@pytest.fixture
def enroll(pg, make_proxy, request):
    slug = re.sub(r"[^a-z0-9_]", "_", request.node.name.replace("test_", "")[:24].lower())
    name = f"rr_{slug}_{zlib.crc32(request.node.nodeid.encode()) & 0xffff:04x}"
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def run(cur, sql):
    try:
        cur.execute(sql)
        return ("ok", cur.statusmessage)
    except psycopg2.Error as e:
        f = error_fields(e)
        return ("error", f["sqlstate"], f["detail"])


def schedule(enroll, steps):
    """`steps`: (session, sql) in order, sessions "a" and "b" (autocommit; "b" opens its own
    blocks). Run through the proxy and on the twin; returns both lists of outcomes."""
    results = []
    for connect in (enroll.connect_proxy, enroll.connect_twin):
        conns = {name: connect() for name in ("a", "b", "c", "c1", "c2", "c3")}
        for c in conns.values():
            c.autocommit = True
        seen = [run(conns[who].cursor(), sql.format(t=enroll.name)) for who, sql in steps]
        cur = conns["c"].cursor()
        cur.execute(f"SELECT user_id, course_id FROM {enroll.name} ORDER BY 1, 2")
        seen.append(cur.fetchall())
        cur.execute(f"DELETE FROM {enroll.name}")
        for c in conns.values():
            c.close()
        results.append(seen)
    return results


INSERT_11 = "INSERT INTO {t} (user_id, course_id) VALUES (1, 1)"
DUPLICATE_11 = ("error", "23505", "Key (user_id, course_id)=(1, 1) already exists.")


@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_a_key_committed_after_the_snapshot_is_a_duplicate(enroll, level):
    proxied, twin = schedule(enroll, [
        ("b", f"BEGIN ISOLATION LEVEL {level}"),
        ("b", "SELECT count(*) FROM {t}"),  # the snapshot
        ("a", INSERT_11),
        ("b", INSERT_11),
        ("b", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[3] == DUPLICATE_11
    assert proxied[5] == [(1, 1)]


def test_a_multi_row_insert_names_the_first_such_row(enroll):
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("b", "SELECT count(*) FROM {t}"),
        ("a", "INSERT INTO {t} (user_id, course_id) VALUES (1, 1), (2, 2)"),
        ("b", "INSERT INTO {t} (user_id, course_id) VALUES (3, 3), (2, 2), (1, 1)"),
        ("b", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[3] == ("error", "23505", "Key (user_id, course_id)=(2, 2) already exists.")


def test_under_read_committed_the_row_is_seen_anyway(enroll):
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN"),
        ("b", "SELECT count(*) FROM {t}"),
        ("a", INSERT_11),
        ("b", INSERT_11),
        ("b", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[3] == DUPLICATE_11


def test_a_key_rolled_back_or_failed_is_free(enroll):
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("b", "SELECT count(*) FROM {t}"),
        ("a", "BEGIN"),
        ("a", INSERT_11),
        ("a", "ROLLBACK"),
        # an implicit transaction that fails at its second row
        ("a", "INSERT INTO {t} (user_id, course_id) VALUES (2, 2), (NULL, 3)"),
        # a block whose COMMIT answers ROLLBACK (it failed)
        ("a", "BEGIN"),
        ("a", "INSERT INTO {t} (user_id, course_id) VALUES (3, 3)"),
        ("a", "SELECT 1/0"),
        ("a", "COMMIT"),
        ("b", INSERT_11),
        ("b", "INSERT INTO {t} (user_id, course_id) VALUES (2, 2)"),
        ("b", "INSERT INTO {t} (user_id, course_id) VALUES (3, 3)"),
        ("b", "COMMIT"),
    ])
    assert proxied == twin
    assert proxied[9] == ("ok", "ROLLBACK")
    assert proxied[10:13] == [("ok", "INSERT 0 1")] * 3
    assert proxied[14] == [(1, 1), (2, 2), (3, 3)]


def test_a_key_committed_before_the_snapshot_is_seen_and_may_be_deleted_and_written_again(
        enroll):
    proxied, twin = schedule(enroll, [
        ("a", INSERT_11),
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        # committed after the BEGIN but before the transaction's first statement: in the
        # snapshot
        ("a", "INSERT INTO {t} (user_id, course_id) VALUES (2, 2)"),
        ("b", "SELECT count(*) FROM {t}"),
        ("b", "DELETE FROM {t} WHERE user_id = 2"),
        ("b", "INSERT INTO {t} (user_id, course_id) VALUES (2, 2)"),
        ("b", INSERT_11),
        ("b", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[5] == ("ok", "INSERT 0 1")
    assert proxied[6] == DUPLICATE_11


def test_the_same_session_after_its_own_commit(enroll):
    proxied, twin = schedule(enroll, [
        ("b", INSERT_11),
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("b", "SELECT count(*) FROM {t}"),
        ("b", "DELETE FROM {t}"),
        ("b", INSERT_11),
        ("b", "COMMIT"),
    ])
    assert proxied == twin
    assert proxied[4] == ("ok", "INSERT 0 1")


def test_extended_protocol_on_both_sides(enroll):
    """psycopg 3 (Parse/Bind/Execute/Sync): A's commit is read from its ReadyForQuery after a
    Sync; B's INSERT is a prepared statement in a REPEATABLE READ transaction."""
    import psycopg
    t = enroll.name
    results = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        seen = []
        with psycopg.connect(dsn, autocommit=True) as a, \
                psycopg.connect(dsn, autocommit=False) as b:
            b.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            b.execute(f"SELECT count(*) FROM {t}")
            with a.transaction():
                a.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)", (1, 1),
                          prepare=True)
            with a.transaction():
                a.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)", (2, 2),
                          prepare=True)
            try:
                with a.transaction():
                    a.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)", (3, 3))
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            for key in ((3, 3), (2, 2), (1, 1)):
                try:
                    with b.transaction():
                        b.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)", key,
                                  prepare=True)
                    seen.append("ok")
                except psycopg.Error as e:
                    seen.append((e.sqlstate, e.diag.message_detail))
            b.rollback()
            seen.append(a.execute(f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2").fetchall())
            a.execute(f"DELETE FROM {t}")
        results.append(seen)
    assert results[0] == results[1]
    assert results[0] == ["ok", ("23505", "Key (user_id, course_id)=(2, 2) already exists."),
                          ("23505", "Key (user_id, course_id)=(1, 1) already exists."),
                          [(1, 1), (2, 2)]]


# From the review of the first version: keys the proxy claimed but that no committed row holds,
# and the transaction's start, were taken for commits after the snapshot (false duplicates).

def test_a_claim_without_a_row_is_no_commit(enroll):
    proxied, twin = schedule(enroll, [
        ("a", "INSERT INTO {t} (id, user_id, course_id) VALUES (1000000, 5, 5)"),
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("b", "SELECT count(*) FROM {t}"),
        # claims (1, 1) and (2, 2) but writes no row with them
        ("a", "INSERT INTO {t} (id, user_id, course_id) VALUES (1000000, 1, 1) "
              "ON CONFLICT (id) DO NOTHING"),
        ("a", "UPDATE {t} SET user_id = 2, course_id = 2 WHERE id = -5"),
        ("b", INSERT_11),
        ("b", "INSERT INTO {t} (user_id, course_id) VALUES (2, 2)"),
        ("b", "COMMIT"),
    ])
    assert proxied == twin
    assert proxied[3] == ("ok", "INSERT 0 0") and proxied[4] == ("ok", "UPDATE 0")
    assert proxied[5:7] == [("ok", "INSERT 0 1")] * 2


@pytest.mark.parametrize("undo", [
    ["BEGIN", "INSERT INTO {t} (user_id, course_id) VALUES (1, 1)", "ROLLBACK AND CHAIN",
     "COMMIT"],
    ["BEGIN", "SAVEPOINT s; INSERT INTO {t} (user_id, course_id) VALUES (1, 1); "
              "ROLLBACK TO SAVEPOINT s", "COMMIT"],
    ["BEGIN", "SAVEPOINT s", "INSERT INTO {t} (user_id, course_id) VALUES (1, 1); "
                             "ROLLBACK TO SAVEPOINT s", "COMMIT"],
], ids=["rollback_and_chain", "savepoint_in_one_string", "rollback_to_after_the_insert"])
def test_a_key_undone_inside_a_block_that_commits_is_free(enroll, undo):
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("b", "SELECT count(*) FROM {t}"),
        *[("a", sql) for sql in undo],
        ("b", INSERT_11),
        ("b", "COMMIT"),
    ])
    assert proxied == twin
    assert proxied[-3] == ("ok", "INSERT 0 1")


def test_begin_and_a_read_in_one_string_take_the_snapshot(enroll):
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM {t}"),
        ("a", INSERT_11),
        ("b", INSERT_11),
        ("b", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[2] == DUPLICATE_11


def test_an_extended_protocol_begin_takes_no_snapshot(enroll):
    """A BEGIN sent as Parse/Bind/Execute (psycopg 3 in a pipeline, JDBC) takes no snapshot: a
    key committed after it and before the transaction's first statement is in the snapshot."""
    from harness import pgwire
    t = enroll.name
    results = []
    for port, database, connect in ((enroll.proxy.port, "app", enroll.connect_proxy),
                                    (enroll.pg.port, "twin", enroll.connect_twin)):
        b = pgwire.RawClient(port)
        b.startup(database=database)
        sql = b"BEGIN ISOLATION LEVEL REPEATABLE READ"
        b.send(pgwire.message(b"P", b"\0" + sql + b"\0\0\0") +
               pgwire.message(b"B", b"\0\0\0\0\0\0\0\0") +
               pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))
        b.read_until("Z")
        a = connect()
        a.autocommit = True
        a.cursor().execute(INSERT_11.format(t=t))
        seen = []
        for statement in (f"DELETE FROM {t} WHERE user_id = 1", INSERT_11.format(t=t),
                          "COMMIT"):
            replies = b.simple_query(statement)
            seen.append([m for m, _ in replies if m in "CE"])
        b.close()
        cur = a.cursor()
        cur.execute(f"SELECT user_id, course_id FROM {t}")
        seen.append(cur.fetchall())
        cur.execute(f"DELETE FROM {t}")
        a.close()
        results.append(seen)
    assert results[0] == results[1]
    assert results[0] == [["C"], ["C"], ["C"], [(1, 1)]]


@pytest.mark.parametrize("writer", [
    "INSERT INTO {t} (user_id, course_id) SELECT 1, 1",
    "MERGE INTO {t} USING (SELECT 1) s ON false WHEN NOT MATCHED THEN INSERT (user_id, "
    "course_id) VALUES (1, 1)",
    "WITH x AS (INSERT INTO {t} (user_id, course_id) VALUES (1, 1) RETURNING 1) SELECT * FROM x",
])
def test_a_key_a_late_write_committed_after_the_snapshot_is_a_duplicate(enroll, writer):
    """The keys a late write (INSERT … SELECT, MERGE, a WITH list) read back are rows written:
    their commit is recorded as a plain INSERT's (since 2026-11-28), so a plain INSERT of one
    in a transaction whose snapshot is older is the index's 23505."""
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("b", "SELECT count(*) FROM {t}"),  # the snapshot
        ("a", writer),
        ("b", INSERT_11),
        ("b", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[3] == DUPLICATE_11
    assert proxied[5] == [(1, 1)]


@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
@pytest.mark.parametrize("writer", [
    "INSERT INTO {t} (user_id, course_id) SELECT 2, 2 UNION ALL SELECT 1, 1",
    "MERGE INTO {t} USING (VALUES (2, 2), (1, 1)) s(u, c) ON false WHEN NOT MATCHED THEN "
    "INSERT (user_id, course_id) VALUES (s.u, s.c)",
    "WITH x AS (INSERT INTO {t} (user_id, course_id) VALUES (2, 2), (1, 1) RETURNING 1) "
    "SELECT count(*) FROM x",
    "UPDATE {t} SET course_id = 1 + floor(random())::int WHERE course_id = 9",
])
def test_a_late_write_of_a_key_committed_after_the_snapshot_is_a_duplicate(enroll, writer,
                                                                            level):
    """The other direction (since 2026-11-28): a late write (INSERT … SELECT, MERGE, a WITH
    list, a late UPDATE) of a key another transaction committed after this one's snapshot:
    the check's snapshot does not see it, the index does (23505)."""
    proxied, twin = schedule(enroll, [
        ("a", "INSERT INTO {t} (user_id, course_id) VALUES (1, 9)"),
        ("b", f"BEGIN ISOLATION LEVEL {level}"),
        ("b", "SELECT count(*) FROM {t}"),  # the snapshot
        ("a", INSERT_11),
        ("b", writer),
        ("b", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[4][:2] == ("error", "23505") or proxied[4][:2] == ("error", "40001")
    assert proxied[6] == [(1, 1), (1, 9)]


@pytest.mark.parametrize("writer", [INSERT_11, "INSERT INTO {t} (user_id, course_id) SELECT 1, 1"])
def test_read_uncommitted_runs_as_read_committed(enroll, writer):
    """READ UNCOMMITTED takes a snapshot per statement, as READ COMMITTED: a key committed and
    deleted since the transaction began is free (found by a review: the check treated every
    level but 'read committed' as one snapshot)."""
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN ISOLATION LEVEL READ UNCOMMITTED"),
        ("b", "SELECT count(*) FROM {t}"),
        ("a", INSERT_11),
        ("a", "DELETE FROM {t}"),
        ("b", writer),
        ("b", "COMMIT"),
    ])
    assert proxied == twin
    assert proxied[4] == ("ok", "INSERT 0 1")
    assert proxied[6] == [(1, 1)]


def test_a_commit_and_chain_commits_its_keys(enroll):
    """`COMMIT AND CHAIN` commits the keys before it though its ReadyForQuery says a
    transaction is open (the chained one): B's INSERT of such a key is a duplicate at once, and
    a ROLLBACK of the chained transaction leaves the commit standing, so C's older snapshot
    refuses it too. Before, the claims lasted until the chained transaction ended: B waited
    (here until its lock_timeout, 55P03) and C's INSERT went in."""
    proxied, twin = schedule(enroll, [
        ("b", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("b", "SET LOCAL lock_timeout = '3s'"),
        ("b", "SELECT count(*) FROM {t}"),
        ("c", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        ("c", "SELECT count(*) FROM {t}"),
        ("a", "BEGIN"),
        ("a", INSERT_11),
        ("a", "commit work and chain"),
        ("b", INSERT_11),
        ("a", "INSERT INTO {t} (user_id, course_id) VALUES (2, 2)"),
        ("a", "ROLLBACK AND CHAIN"),
        ("a", "INSERT INTO {t} (user_id, course_id) VALUES (3, 3)"),
        ("a", "END"),
        ("c", "INSERT INTO {t} (user_id, course_id) VALUES (2, 2)"),
        ("c", INSERT_11),
        ("b", "ROLLBACK"),
        ("c", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[8] == DUPLICATE_11
    assert proxied[13] == ("ok", "INSERT 0 1")
    assert proxied[14] == DUPLICATE_11
    assert proxied[-1] == [(1, 1), (3, 3)]


def test_a_commit_pipelined_with_a_write_of_its_key_is_recorded(enroll):
    """A raw client sends a transaction's COMMIT (chained or not) and a later write of the same
    key before reading any answer; the later write fails, or its transaction rolls back. The
    key stays claimed for that write past the commit, and the commit's record was lost with it
    (found by a review): C's older snapshot admitted the duplicate the index refuses."""
    def tags(messages):
        return [body.rstrip(b"\0").decode() if t == "C" else
                pgwire.parse_fields(body)["C"] if t == "E" else t + body.decode()
                for t, body in messages if t in "CEZ"]

    sides = []
    for port, database, connect in ((enroll.proxy.port, "app", enroll.connect_proxy),
                                    (enroll.pg.port, "twin", enroll.connect_twin)):
        older = []
        for _ in range(2):
            c = connect()
            c.autocommit = True
            cur = c.cursor()
            for sql in ("SET lock_timeout = '3s'", "BEGIN ISOLATION LEVEL REPEATABLE READ",
                        f"SELECT count(*) FROM {enroll.name}"):
                cur.execute(sql)
            older.append(c)
        raw = pgwire.RawClient(port)
        assert raw.startup(user="postgres", database=database)[-1] == ("Z", b"I")
        insert = f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (%d, %d)"
        pipelines = [
            ["BEGIN", insert % (1, 1), "COMMIT AND CHAIN", f"DELETE FROM {enroll.name}",
             insert % (1, 1), "ROLLBACK"],
            ["BEGIN", insert % (2, 2), "COMMIT", insert % (2, 2)],
        ]
        seen = []
        for sqls in pipelines:
            raw.send(b"".join(pgwire.query(sql) for sql in sqls))
            for _ in sqls:
                seen += tags(raw.read_until("Z"))
        raw.close()
        for c, key in zip(older, (1, 2)):
            seen.append(run(c.cursor(), insert % (key, key)))
            c.close()
        sides.append(seen)
    proxied, twin = sides
    assert proxied == twin
    assert proxied[-2:] == [
        DUPLICATE_11, ("error", "23505", "Key (user_id, course_id)=(2, 2) already exists.")]


def test_a_rollback_to_a_savepoint_keeps_the_commit_of_what_came_before(enroll):
    """Django's atomic() around an INSERT that fails: SAVEPOINT, the failing INSERT (23505),
    ROLLBACK TO the savepoint; and a savepoint rolled back without an error. The transaction
    then commits what it wrote outside them: duplicates in C's older snapshot. Before, any
    error or ROLLBACK tag counted the whole transaction as rolled back, and C's INSERTs of
    (1, 1) and (2, 2) went in."""
    insert = "INSERT INTO {t} (user_id, course_id) VALUES (%d, %d)"
    older = [step for key in (1, 2, 3) for step in (
        (f"c{key}", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        (f"c{key}", "SELECT count(*) FROM {t}"))]
    proxied, twin = schedule(enroll, older + [
        ("a", "BEGIN"),
        ("a", insert % (1, 1)),
        ("a", 'SAVEPOINT "s1_x1"'),
        ("a", insert % (1, 1)),
        ("a", 'ROLLBACK TO SAVEPOINT "s1_x1"'),
        ("a", insert % (2, 2)),
        ("a", "SAVEPOINT t"),
        ("a", insert % (3, 3)),
        ("a", "ROLLBACK TO t"),
        ("a", "COMMIT"),
    ] + [(f"c{key}", insert % (key, key)) for key in (1, 2, 3)]
      + [(f"c{key}", "ROLLBACK") for key in (1, 2, 3)])
    assert proxied == twin
    assert proxied[9] == DUPLICATE_11
    assert proxied[16:19] == [
        DUPLICATE_11, ("error", "23505", "Key (user_id, course_id)=(2, 2) already exists."),
        ("ok", "INSERT 0 1")]
    assert proxied[-1] == [(1, 1), (2, 2)]


def test_a_rollback_to_a_savepoint_the_proxy_cannot_place_counts_as_a_rollback(enroll):
    """Found by a review of the first version: where the savepoint the proxy follows may not
    be the server's innermost of that name (a SAVEPOINT in a string that fails, a SAVEPOINT
    and RELEASE in one string, a SAVEPOINT Executed after an error in the same Sync), a
    ROLLBACK TO it undid a key the proxy still held and then recorded as committed: a false
    23505 in an older snapshot. Such a ROLLBACK TO counts as a rollback of the whole
    transaction again (its keys are not recorded: the documented miss)."""
    insert = "INSERT INTO {t} (user_id, course_id) VALUES (%d, %d)"
    older = [step for key in (1, 2) for step in (
        (f"c{key}", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        (f"c{key}", "SELECT count(*) FROM {t}"))]
    proxied, twin = schedule(enroll, older + [
        ("a", "BEGIN"),
        ("a", "SAVEPOINT sp"),
        ("a", insert % (1, 1)),
        ("a", "SAVEPOINT sp; SELEC 1"),
        ("a", "ROLLBACK TO sp"),
        ("a", insert % (3, 3)),
        ("a", "COMMIT"),
        ("b", "BEGIN"),
        ("b", "SAVEPOINT sp"),
        ("b", insert % (2, 2)),
        ("b", "SAVEPOINT sp; RELEASE sp"),
        ("b", "ROLLBACK TO sp"),
        ("b", insert % (4, 4)),
        ("b", "COMMIT"),
        ("c1", insert % (1, 1)),
        ("c2", insert % (2, 2)),
        ("c1", "ROLLBACK"),
        ("c2", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[7][:2] == ("error", "42601")
    assert proxied[18:20] == [("ok", "INSERT 0 1")] * 2
    assert proxied[-1] == [(3, 3), (4, 4)]

    def execute(sql):
        return (pgwire.message(b"P", b"\0" + sql.encode() + b"\0\0\0") +
                pgwire.message(b"B", b"\0\0\0\0\0\0\0\0") + pgwire.message(b"E", b"\0\0\0\0\0"))

    sides = []
    for port, database, connect in ((enroll.proxy.port, "app", enroll.connect_proxy),
                                    (enroll.pg.port, "twin", enroll.connect_twin)):
        c = connect()
        c.autocommit = True
        cur = c.cursor()
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        cur.execute(f"SELECT count(*) FROM {enroll.name}")
        raw = pgwire.RawClient(port)
        assert raw.startup(user="postgres", database=database)[-1] == ("Z", b"I")
        seen = []
        for sql in ("BEGIN", "SAVEPOINT sp", insert.format(t=enroll.name) % (5, 5)):
            seen.append(raw.simple_query(sql)[-1])
        raw.send(execute("SELECT 1/0") + execute("SAVEPOINT sp") + pgwire.message(b"S"))
        seen.append([t for t, _ in raw.read_until("Z")])
        for sql in ("ROLLBACK TO sp", insert.format(t=enroll.name) % (6, 6), "COMMIT"):
            seen.append(raw.simple_query(sql)[-1])
        raw.close()
        seen.append(run(cur, insert.format(t=enroll.name) % (5, 5)))
        c.close()
        sides.append(seen)
    assert sides[0] == sides[1]
    assert sides[0][-1] == ("ok", "INSERT 0 1")


def test_savepoint_names_the_server_reads_otherwise_count_as_a_rollback(enroll):
    """Found by a second review: a U&"…" name (the proxy read `u`) and names past 63 bytes (the
    server cuts them, so four names were one) made the proxy place a ROLLBACK TO after a key
    the server undid, recorded as committed: a false 23505 in an older snapshot."""
    insert = "INSERT INTO {t} (user_id, course_id) VALUES (%d, %d)"
    long = "x" * 63
    older = [step for key in (1, 2) for step in (
        (f"c{key}", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
        (f"c{key}", "SELECT count(*) FROM {t}"))]
    proxied, twin = schedule(enroll, older + [
        ("a", "BEGIN"),
        ("a", "SAVEPOINT a"),
        ("a", 'SAVEPOINT U&"a"'),
        ("a", "RELEASE a"),
        ("a", insert % (1, 1)),
        ("a", "SAVEPOINT u"),
        ("a", 'ROLLBACK TO U&"a"'),
        ("a", "COMMIT"),
        ("b", "BEGIN"),
        ("b", f"SAVEPOINT {long}x"),
        ("b", f"SAVEPOINT {long}y"),
        ("b", f"RELEASE {long}x"),
        ("b", insert % (2, 2)),
        ("b", f"SAVEPOINT {long}z"),
        ("b", f"RELEASE {long}q"),
        ("b", f"ROLLBACK TO {long}z"),
        ("b", "COMMIT"),
        ("c1", insert % (1, 1)),
        ("c2", insert % (2, 2)),
        ("c1", "ROLLBACK"),
        ("c2", "ROLLBACK"),
    ])
    assert proxied == twin
    assert proxied[21:23] == [("ok", "INSERT 0 1")] * 2
    assert proxied[-1] == []
