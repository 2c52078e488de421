"""The MySQL guard under REPEATABLE READ, MariaDB's default (issue 6 item 7, SPEC §4): a key
another session committed after this session's transaction took its snapshot. InnoDB's unique
check reads the latest committed version of the key's row, whatever the snapshot: 1062. The
proxy's check read the snapshot and missed the row, so the duplicate was admitted (the expected
failure of test_mysql_concurrent_oracle.py until 2026-11-28). Now the sessions record the commits
of the keys they claimed (the commit ring), and a check of a key committed since the session was
last outside a transaction asks the session's isolation too: under REPEATABLE READ in a
transaction such a key the snapshot does not show is the duplicate (docs/mysql.md, "The check
and REPEATABLE READ"). Each schedule runs through the proxy on a table without an index and
directly on the twin with the real UNIQUE key.
"""
from contextlib import closing
import threading
import time

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import COM_QUERY, COM_QUIT, WireClient
from test_mysql_guard import make_tables, start_guarded


@pytest.fixture(autouse=True)
def _loader_account(proxy_account):
    """The account the guard loads its key set with."""


def connect(port, isolation="REPEATABLE READ"):
    conn = pymysql.connect(host="127.0.0.1", port=port, user=NATIVE_USER,
                           password=NATIVE_PASSWORD, database=DATABASE, charset="utf8mb4",
                           autocommit=True, read_timeout=30, write_timeout=30)
    with conn.cursor() as cur:
        cur.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {isolation}")
        cur.execute("SET SESSION innodb_lock_wait_timeout = 5")
    return conn


def outcome(cur, sql):
    try:
        return ("ok", cur.execute(sql))
    except pymysql.err.MySQLError as e:
        return ("err", e.args[0], e.args[1])


def query_frames(*sqls, quit=False):
    """COM_QUERY packets of `sqls` (sequence id 0 each), to be sent in one write before any
    answer is read; then COM_QUIT when `quit`."""
    out = b""
    for sql in sqls:
        payload = bytes([COM_QUERY]) + sql.encode()
        out += len(payload).to_bytes(3, "little") + b"\x00" + payload
    return out + (bytes([1, 0, 0, 0, COM_QUIT]) if quit else b"")


def on_both(mysql_root, make_mysql_proxy, mariadb, table, schedule, isolation="REPEATABLE READ"):
    """`schedule(a, b, t)` on two sessions of the proxy (table `table`) and of the twin
    (`table`_twin): what it returns, and the rows at the end, per side."""
    make_tables(mysql_root, table)
    proxy = start_guarded(make_mysql_proxy, table)
    results = []
    for port, t in ((proxy.port, table), (mariadb.port, table + "_twin")):
        with closing(connect(port, isolation)) as a, closing(connect(port, isolation)) as b:
            got = schedule(a.cursor(), b.cursor(), t)
        with mysql_root.cursor() as cur:
            cur.execute(f"SELECT user_id, course_id FROM {t} ORDER BY id")
            results.append((got, cur.fetchall()))
    return results


def pipelined_on_both(mysql_root, make_mysql_proxy, mariadb, table, alone, together, then):
    """B takes its snapshot (BEGIN, a read); A, a raw client, sends `alone` one by one, then
    `together` in one write before reading their answers; then B runs `then`. Per side (the
    proxy on `table`, the twin): A's answers (the kind, and the code of an ERR) and B's
    outcomes. Each SQL is a format string of the table, `{t}`."""
    make_tables(mysql_root, table)
    proxy = start_guarded(make_mysql_proxy, table)
    results = []
    for port, t in ((proxy.port, table), (mariadb.port, table + "_twin")):
        with closing(connect(port)) as b:
            cb = b.cursor()
            cb.execute("BEGIN")
            cb.execute(f"SELECT COUNT(*) FROM {t}")
            a = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
            got = []
            try:
                for sql in alone:
                    a.command(bytes([COM_QUERY]) + sql.format(t=t).encode())
                    got.append(a.read_result()[:2])
                a.sock.sendall(query_frames(*[sql.format(t=t) for sql in together]))
                got += [a.read_result()[:2] for _ in together]
            finally:
                a.close()
            got += [outcome(cb, sql.format(t=t)) for sql in then]
            cb.execute("COMMIT")
            results.append(got)
    return results


def test_a_key_committed_after_the_snapshot_is_a_duplicate(mysql_root, make_mysql_proxy,
                                                           mariadb):
    def schedule(a, b, t):
        return [
            outcome(a, "BEGIN"),
            outcome(a, f"SELECT COUNT(*) FROM {t}"),  # the snapshot
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (5, 'x')"),  # commits
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (5, 'X')"),
            # the snapshot still does not show the row: the key is another session's
            outcome(a, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (6, 'y'), (5, 'x ')"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (6, 'y')"),
            outcome(a, "COMMIT"),
        ]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_gap", schedule)
    assert proxy_side == twin_side
    got, rows = proxy_side
    assert got[3] == ("err", 1062, "Duplicate entry '5-X' for key 'enroll_uniq'")
    assert got[5] == ("err", 1062, "Duplicate entry '5-x ' for key 'enroll_uniq'")
    assert got[6] == ("ok", 1)
    assert rows == ((5, "x"), (6, "y"))


def test_a_key_committed_then_deleted_after_the_snapshot_is_a_false_duplicate(
        mysql_root, make_mysql_proxy, mariadb):
    """The documented cost: a key committed and deleted again since the snapshot is free on the
    unique key (its check reads the latest committed state), but the proxy cannot tell it from
    a row the snapshot hides: 1062 (as the PostgreSQL guard's refusal there)."""
    def schedule(a, b, t):
        return [
            outcome(a, "BEGIN"),
            outcome(a, f"SELECT COUNT(*) FROM {t}"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'z')"),
            outcome(b, f"DELETE FROM {t} WHERE user_id = 7"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'z')"),
            outcome(a, "COMMIT"),
        ]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_freed", schedule)
    assert twin_side[0][4] == ("ok", 1)
    assert proxy_side[0][4] == ("err", 1062, "Duplicate entry '7-z' for key 'enroll_uniq'")
    assert proxy_side[0][:4] == twin_side[0][:4]


@pytest.mark.parametrize("isolation", ["READ COMMITTED", "SERIALIZABLE"])
def test_other_isolation_levels(mysql_root, make_mysql_proxy, mariadb, isolation):
    def schedule(a, b, t):
        return [
            outcome(a, "BEGIN"),
            outcome(a, f"SELECT COUNT(*) FROM {t}"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (5, 'x')"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (5, 'x')"),
            outcome(a, "COMMIT"),
        ]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb,
                                    "rr_" + isolation.split()[0].lower(), schedule, isolation)
    assert proxy_side == twin_side
    if isolation == "READ COMMITTED":
        assert proxy_side[0][3] == ("err", 1062, "Duplicate entry '5-x' for key 'enroll_uniq'")
    else:
        # SERIALIZABLE: A's read locked the table's rows and gaps; B's INSERT waits for them
        assert proxy_side[0][2][:2] == ("err", 1205)
        assert proxy_side[0][3] == ("ok", 1)


def test_a_wait_ended_by_a_commit_after_the_snapshot(mysql_root, make_mysql_proxy, mariadb):
    """B waits for A's uncommitted key (inside the proxy, or on InnoDB's index); A commits; B's
    decision afresh must see A's row although B's snapshot is older: 1062."""
    make_tables(mysql_root, "rr_wait")
    proxy = start_guarded(make_mysql_proxy, "rr_wait")
    results = []
    for port, t in ((proxy.port, "rr_wait"), (mariadb.port, "rr_wait_twin")):
        with closing(connect(port)) as a, closing(connect(port)) as b:
            ca, cb = a.cursor(), b.cursor()
            cb.execute("BEGIN")
            cb.execute(f"SELECT COUNT(*) FROM {t}")
            ca.execute("BEGIN")
            ca.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (8, 'w')")
            box = {}
            th = threading.Thread(target=lambda: box.setdefault(
                "b", outcome(cb, f"INSERT INTO {t} (user_id, course_id) VALUES (8, 'w')")))
            th.start()
            th.join(1.0)
            waited = th.is_alive()
            ca.execute("COMMIT")
            th.join(30)
            assert not th.is_alive()
            cb.execute("COMMIT")
            results.append((waited, box["b"]))
    assert results[0] == results[1]
    assert results[0] == (True, ("err", 1062, "Duplicate entry '8-w' for key 'enroll_uniq'"))
    with mysql_root.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM rr_wait")
        assert cur.fetchone() == (1,)


def test_a_rolled_back_key_is_no_commit(mysql_root, make_mysql_proxy, mariadb):
    """B waits for A's uncommitted key; A rolls back (whole, or to a savepoint and commits): B's
    INSERT goes in, as on the unique key. A transaction that sent a ROLLBACK records no commit,
    or B's snapshot would make the key a false duplicate."""
    make_tables(mysql_root, "rr_rolled")
    proxy = start_guarded(make_mysql_proxy, "rr_rolled")
    results = []
    for port, t in ((proxy.port, "rr_rolled"), (mariadb.port, "rr_rolled_twin")):
        for end in (["ROLLBACK"], ["ROLLBACK TO SAVEPOINT s", "COMMIT"]):
            with closing(connect(port)) as a, closing(connect(port)) as b:
                ca, cb = a.cursor(), b.cursor()
                cb.execute("BEGIN")
                cb.execute(f"SELECT COUNT(*) FROM {t}")
                ca.execute("BEGIN")
                ca.execute("SAVEPOINT s")
                ca.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (9, 'v')")
                box = {}
                th = threading.Thread(target=lambda: box.setdefault(
                    "b", outcome(cb, f"INSERT INTO {t} (user_id, course_id) VALUES (9, 'v')")))
                th.start()
                th.join(1.0)
                waited = th.is_alive()
                for sql in end:
                    ca.execute(sql)
                th.join(30)
                assert not th.is_alive()
                cb.execute("ROLLBACK")
                results.append((waited, box["b"]))
    assert results[:2] == results[2:]
    assert results[:2] == [(True, ("ok", 1)), (True, ("ok", 1))]


def test_a_key_committed_and_deleted_while_the_session_idled_is_free(mysql_root,
                                                                     make_mysql_proxy, mariadb):
    """The snapshot's start is counted from the first command a session sends outside a
    transaction, not from its last answer: a key committed and deleted while a pooled session
    idled is free (a review found it a false duplicate), with autocommit on and off."""
    def schedule(a, b, t):
        return [
            outcome(b, "SELECT 1"),  # b idles
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'z')"),
            outcome(a, f"DELETE FROM {t} WHERE user_id = 7"),
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'z')"),
            outcome(b, "COMMIT"),
            outcome(b, "SET autocommit = 0"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(b, "COMMIT"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (8, 'y')"),
            outcome(a, f"DELETE FROM {t} WHERE user_id = 8"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (8, 'y')"),
            outcome(b, "COMMIT"),
        ]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_idle", schedule)
    assert proxy_side == twin_side
    assert proxy_side[0][5] == ("ok", 1) and proxy_side[0][13] == ("ok", 1)


def test_keys_an_insert_did_not_write_record_no_commit(mysql_root, make_mysql_proxy, mariadb):
    """A's INSERTs that write none of their keys (refused for the primary key inside a
    transaction that then commits; INSERT IGNORE skipping every row; ON DUPLICATE KEY UPDATE
    updating the primary key's row, or changing nothing) commit no row with those keys: B's
    transaction, whose snapshot is older, inserts them, as on the unique key. The proxy recorded
    those commits and answered B with false duplicates (docs/mysql.md listed them) until the
    answers that say so were read."""
    def schedule(a, b, t):
        return [
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (1, 1, 'a')"),
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),  # b's snapshot
            outcome(a, "BEGIN"),
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (1, 10, 'p')"),
            outcome(a, "COMMIT"),
            outcome(a, f"INSERT IGNORE INTO {t} (id, user_id, course_id) VALUES (1, 11, 'q')"),
            outcome(a, f"INSERT IGNORE INTO {t} (id, user_id, course_id) "
                       "VALUES (1, 12, 'r'), (1, 13, 's')"),
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (1, 14, 't') "
                       "ON DUPLICATE KEY UPDATE note = 'n'"),
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (1, 15, 'u') "
                       "ON DUPLICATE KEY UPDATE note = 'n'"),
            # written: still a duplicate in b's snapshot
            outcome(a, f"INSERT IGNORE INTO {t} (id, user_id, course_id) "
                       "VALUES (1, 16, 'v'), (2, 16, 'w')"),
            # both rows updated (2 each; found by a review)
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (1, 17, 'm'), "
                       "(2, 18, 'n') ON DUPLICATE KEY UPDATE note = 'k'"),
        ] + [outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, '{c}')")
             for k, c in ((10, "p"), (11, "q"), (12, "r"), (13, "s"), (14, "t"), (15, "u"),
                          (17, "m"), (18, "n"), (16, "w"))] + [outcome(b, "COMMIT")]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_unwritten",
                                    schedule)
    assert proxy_side == twin_side
    got, rows = proxy_side
    assert got[4] == ("err", 1062, "Duplicate entry '1' for key 'PRIMARY'")
    assert got[6:12] == [("ok", 0), ("ok", 0), ("ok", 2), ("ok", 0), ("ok", 1), ("ok", 4)]
    assert got[12:20] == [("ok", 1)] * 8
    assert got[20] == ("err", 1062, "Duplicate entry '16-w' for key 'enroll_uniq'")
    assert [r[0] for r in rows] == [1, 16, 10, 11, 12, 13, 14, 15, 17, 18]


def test_a_begin_inside_a_transaction_commits_its_keys(mysql_root, make_mysql_proxy, mariadb):
    """BEGIN (or START TRANSACTION) inside a transaction commits it first: its keys are
    another session's duplicates at once (1062), under REPEATABLE READ in an older snapshot
    too. The proxy kept the claims until the new transaction ended, so the other session's
    INSERT waited for them until the lock wait timeout (1205). COMMIT AND CHAIN likewise."""
    def schedule(a, b, t):
        return [
            outcome(a, "BEGIN"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (5, 'x')"),
            outcome(a, "BEGIN"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (5, 'x')"),
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),  # b's snapshot: (5, 'x')
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (6, 'y')"),
            outcome(a, "START TRANSACTION"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (6, 'y')"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'z')"),
            outcome(b, "COMMIT"),
            # COMMIT AND CHAIN opens the next transaction at once; its ROLLBACK leaves the
            # committed key committed (the proxy's ROLLBACK took its commit record with it)
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (8, 'w')"),
            outcome(a, "COMMIT AND CHAIN"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (9, 'v')"),
            outcome(a, "ROLLBACK"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (8, 'w')"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (9, 'v')"),
            outcome(b, "COMMIT"),
        ]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_begin", schedule)
    assert proxy_side == twin_side
    got, rows = proxy_side
    assert got[3] == ("err", 1062, "Duplicate entry '5-x' for key 'enroll_uniq'")
    assert got[8] == ("err", 1062, "Duplicate entry '6-y' for key 'enroll_uniq'")
    assert got[9] == ("ok", 1)
    assert got[17] == ("err", 1062, "Duplicate entry '8-w' for key 'enroll_uniq'")
    assert got[18] == ("ok", 1)
    assert [r for r in rows] == [(5, "x"), (6, "y"), (7, "z"), (8, "w"), (9, "v")]


def test_a_pipelined_insert_of_the_key_keeps_the_record(mysql_root, make_mysql_proxy, mariadb):
    """A sends two INSERTs of one key before the first is answered: the first writes nothing
    (refused for the primary key, skipped by IGNORE, an upsert changing nothing), the second
    writes the key. The first's answer must not take the commit record the second's claim made
    too: B's older snapshot then admitted the duplicate (found by a review)."""
    firsts = (
        "INSERT INTO {t} (id, user_id, course_id) VALUES (1, {k}, '{c}')",
        "INSERT IGNORE INTO {t} (id, user_id, course_id) VALUES (1, {k}, '{c}')",
        "INSERT INTO {t} (id, user_id, course_id) VALUES (1, {k}, '{c}') "
        "ON DUPLICATE KEY UPDATE note = note",
    )
    keys = ((5, "x"), (6, "y"), (7, "z"))
    make_tables(mysql_root, "rr_pipelined")
    proxy = start_guarded(make_mysql_proxy, "rr_pipelined")
    results = []
    for port, t in ((proxy.port, "rr_pipelined"), (mariadb.port, "rr_pipelined_twin")):
        with closing(connect(port)) as b:
            cb = b.cursor()
            cb.execute(f"INSERT INTO {t} (id, user_id, course_id) VALUES (1, 1, 'a')")
            cb.execute("BEGIN")
            cb.execute(f"SELECT COUNT(*) FROM {t}")  # b's snapshot
            a = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
            got = []
            try:
                a.command(bytes([COM_QUERY]) + b"BEGIN")
                got.append(a.read_result()[0])
                for first, (k, c) in zip(firsts, keys):
                    second = f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, '{c}')"
                    # the second before the first's answer
                    a.sock.sendall(query_frames(first.format(t=t, k=k, c=c), second))
                    got.append(a.read_result())
                    got.append(a.read_result())
                a.command(bytes([COM_QUERY]) + b"COMMIT")
                got.append(a.read_result()[0])
            finally:
                a.close()
            for k, c in keys:
                got.append(outcome(cb, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, '{c}')"))
            cb.execute("COMMIT")
        results.append([r[:1] + r[2:] if r[0] == "ok" else r for r in got[:-3]] + got[-3:])
    assert results[0] == results[1]
    assert results[0][-3:] == [
        ("err", 1062, f"Duplicate entry '{k}-{c}' for key 'enroll_uniq'") for k, c in keys]
    assert results[0][1][:2] == ("err", 1062)
    assert results[0][3] == ("ok", 0) and results[0][5] == ("ok", 0)
    with mysql_root.cursor() as cur:
        cur.execute("SELECT user_id, course_id FROM rr_pipelined ORDER BY id")
        assert cur.fetchall() == ((1, "a"), (5, "x"), (6, "y"), (7, "z"))


def test_a_commit_the_client_did_not_wait_for_is_recorded(mysql_root, make_mysql_proxy, mariadb):
    """A sends COMMIT (or, in autocommit, an INSERT) and closes its connection without reading
    the answer: the server still commits, and B's older snapshot must take the key for a
    duplicate. The proxy ended such claims without recording the commit, so the duplicate was
    admitted (a miss docs/mysql.md listed)."""
    make_tables(mysql_root, "rr_closed")
    proxy = start_guarded(make_mysql_proxy, "rr_closed")
    results = []

    for port, t in ((proxy.port, "rr_closed"), (mariadb.port, "rr_closed_twin")):
        with closing(connect(port)) as b:
            cb = b.cursor()
            cb.execute("BEGIN")
            cb.execute(f"SELECT COUNT(*) FROM {t}")  # b's snapshot
            a = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
            a.command(bytes([COM_QUERY]) + b"BEGIN")
            assert a.read_result()[0] == "ok"
            a.command(bytes([COM_QUERY]) + f"INSERT INTO {t} (user_id, course_id) "
                      "VALUES (5, 'x')".encode())
            assert a.read_result()[0] == "ok"
            a.sock.sendall(query_frames("COMMIT", quit=True))
            a.sock.close()
            a = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
            a.sock.sendall(query_frames(f"INSERT INTO {t} (user_id, course_id) VALUES (6, 'y')",
                                        quit=True))
            a.sock.close()
            deadline = time.monotonic() + 10
            while True:
                with closing(connect(port)) as c, c.cursor() as cc:
                    cc.execute(f"SELECT COUNT(*) FROM {t}")
                    if cc.fetchone() == (2,):
                        break
                assert time.monotonic() < deadline
                time.sleep(0.05)
            got = [outcome(cb, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, '{c}')")
                   for k, c in ((5, "x"), (6, "y"))]
            cb.execute("COMMIT")
            results.append(got)
    assert results[0] == results[1]
    assert results[0] == [("err", 1062, f"Duplicate entry '{k}-{c}' for key 'enroll_uniq'")
                          for k, c in ((5, "x"), (6, "y"))]


def test_an_update_of_the_key_keeps_its_record(mysql_root, make_mysql_proxy, mariadb):
    """A's UPDATE writes the key; an INSERT of it in the same transaction then fails (1062, or
    skipped by IGNORE). The commit still holds the UPDATE's row: B's older snapshot must take
    the key for a duplicate (found by a review: the failing INSERT took the record with it)."""
    def schedule(a, b, t):
        return [
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (2, 20, 'old'), "
                       "(3, 21, 'old')"),
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, "BEGIN"),
            outcome(a, f"UPDATE {t} SET course_id = 'k' WHERE id = 2"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (20, 'k')"),
            outcome(a, f"UPDATE {t} SET course_id = 'j' WHERE id = 3"),
            outcome(a, f"INSERT IGNORE INTO {t} (user_id, course_id) VALUES (21, 'j')"),
            outcome(a, "COMMIT"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (20, 'k')"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (21, 'j')"),
            outcome(b, "COMMIT"),
        ]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_updated",
                                    schedule)
    assert proxy_side == twin_side
    got, rows = proxy_side
    assert got[5] == ("err", 1062, "Duplicate entry '20-k' for key 'enroll_uniq'")
    assert got[7] == ("ok", 0)
    assert got[9:11] == [("err", 1062, "Duplicate entry '20-k' for key 'enroll_uniq'"),
                         ("err", 1062, "Duplicate entry '21-j' for key 'enroll_uniq'")]
    assert rows == ((20, "k"), (21, "j"))


def test_a_failed_begin_keeps_the_snapshot(mysql_root, make_mysql_proxy, mariadb):
    """`START TRANSACTION x` and `COMMIT WORK x` fail (1064) and end nothing: B's snapshot is
    the old one, so keys A committed since are duplicates (found by a review: the proxy moved
    B's snapshot clock when such a statement was sent, and admitted them)."""
    def schedule(a, b, t):
        return [
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (30, 's')"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (31, 's')"),
            outcome(b, "START TRANSACTION x"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (30, 's')"),
            outcome(b, "COMMIT WORK x"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (31, 's')"),
            outcome(b, "COMMIT"),
        ]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_failed_begin",
                                    schedule)
    assert proxy_side == twin_side
    got, rows = proxy_side
    assert got[4][:2] == ("err", 1064) and got[6][:2] == ("err", 1064)
    assert got[5] == ("err", 1062, "Duplicate entry '30-s' for key 'enroll_uniq'")
    assert got[7] == ("err", 1062, "Duplicate entry '31-s' for key 'enroll_uniq'")
    assert rows == ((30, "s"), (31, "s"))


def test_pipelined_transaction_ends_each_keep_their_own(mysql_root, make_mysql_proxy, mariadb):
    """A, in a transaction holding (40, 'p'), sends BEGIN (committing it), INSERT (41, 'p'),
    ROLLBACK AND CHAIN and ROLLBACK before any answer: (40, 'p') is committed and a duplicate
    in B's older snapshot, (41, 'p') rolled back and free (found by a review: one slot for the
    transaction's end, and one rollback flag, lost the BEGIN's commit)."""
    insert = "INSERT INTO {t} (user_id, course_id) VALUES (%d, 'p')"
    proxied, twin = pipelined_on_both(
        mysql_root, make_mysql_proxy, mariadb, "rr_ends", ["BEGIN", insert % 40],
        ["BEGIN", insert % 41, "ROLLBACK AND CHAIN", "ROLLBACK"], [insert % 40, insert % 41])
    assert proxied == twin
    assert [answer[0] for answer in proxied[:6]] == ["ok"] * 6
    assert proxied[6:] == [("err", 1062, "Duplicate entry '40-p' for key 'enroll_uniq'"),
                           ("ok", 1)]


def test_commands_the_client_did_not_wait_for_in_order(mysql_root, make_mysql_proxy, mariadb):
    """Sent together and not waited for: `ROLLBACK, COMMIT` commits nothing the ROLLBACK ended
    (the key is free), and an INSERT after a COMMIT commits itself in autocommit (a
    duplicate), though the last answer the proxy saw said a transaction was open (both found
    by a review of the first version)."""
    make_tables(mysql_root, "rr_closed_order")
    proxy = start_guarded(make_mysql_proxy, "rr_closed_order")
    results = []

    for port, t in ((proxy.port, "rr_closed_order"), (mariadb.port, "rr_closed_order_twin")):
        with closing(connect(port)) as b:
            cb = b.cursor()
            cb.execute("BEGIN")
            cb.execute(f"SELECT COUNT(*) FROM {t}")  # b's snapshot
            for key, then in ((50, ("ROLLBACK", "COMMIT")),
                              (53, ("COMMIT", f"INSERT INTO {t} (user_id, course_id) "
                                              "VALUES (54, 'q')"))):
                a = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
                for sql in ("BEGIN", f"INSERT INTO {t} (user_id, course_id) VALUES ({key}, 'q')"):
                    a.command(bytes([COM_QUERY]) + sql.encode())
                    assert a.read_result()[0] == "ok"
                a.sock.sendall(query_frames(*then, quit=True))
                a.sock.close()
            deadline = time.monotonic() + 10
            while True:
                with closing(connect(port)) as c, c.cursor() as cc:
                    cc.execute(f"SELECT user_id FROM {t} ORDER BY user_id")
                    if cc.fetchall() == ((53,), (54,)):
                        break
                assert time.monotonic() < deadline
                time.sleep(0.05)
            results.append([outcome(cb, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, 'q')")
                            for k in (50, 53, 54)])
            cb.execute("COMMIT")
    assert results[0] == results[1]
    assert results[0] == [("ok", 1)] + [
        ("err", 1062, f"Duplicate entry '{k}-q' for key 'enroll_uniq'") for k in (53, 54)]


def test_a_rollback_to_a_savepoint_undoes_only_what_came_after(mysql_root, make_mysql_proxy,
                                                               mariadb):
    """ROLLBACK TO a savepoint undoes only the writes after it, and the COMMIT commits those
    before: duplicates in B's older snapshot (found by a review: any ROLLBACK sent made the
    proxy record no commit of the whole transaction, and admitted them). The savepoints are
    followed as InnoDB follows them: a SAVEPOINT of a name set already moves it (the old one is
    gone), ROLLBACK TO deletes those set after its own, names ignore case."""
    def schedule(a, b, t):
        def insert(k):
            return outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, 'r')")
        return [
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),  # b's snapshot
            outcome(a, "BEGIN"),
            insert(60),
            outcome(a, "SAVEPOINT s1"),
            insert(61),
            outcome(a, "SAVEPOINT s2"),
            insert(62),
            outcome(a, "SAVEPOINT s1"),  # moved after 62
            insert(63),
            outcome(a, "ROLLBACK TO SAVEPOINT s2"),  # 62 and 63 undone, the new s1 deleted
            outcome(a, "ROLLBACK TO s1"),  # gone: 1305, nothing undone
            outcome(a, "SAVEPOINT S3"),
            insert(64),
            outcome(a, "ROLLBACK WORK TO s3"),
            insert(65),
            outcome(a, "RELEASE SAVEPOINT s2"),
            outcome(a, "COMMIT"),
        ] + [outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, 'r')")
             for k in range(60, 66)] + [outcome(b, "COMMIT")]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_undo_to",
                                    schedule)
    assert proxy_side == twin_side
    got, rows = proxy_side
    assert got[11] == ("err", 1305, "SAVEPOINT s1 does not exist")
    assert got[18:24] == [
        ("err", 1062, "Duplicate entry '60-r' for key 'enroll_uniq'"),
        ("err", 1062, "Duplicate entry '61-r' for key 'enroll_uniq'"),
        ("ok", 1), ("ok", 1), ("ok", 1),
        ("err", 1062, "Duplicate entry '65-r' for key 'enroll_uniq'")]
    assert rows == ((60, "r"), (61, "r"), (65, "r"), (62, "r"), (63, "r"), (64, "r"))


def test_pipelined_savepoints(mysql_root, make_mysql_proxy, mariadb):
    """A sends SAVEPOINT, INSERT (70), ROLLBACK TO it, INSERT (71) and COMMIT before reading any
    answer, in a transaction holding (72): 72 and 71 are committed (duplicates in B's older
    snapshot), 70 is free."""
    insert = "INSERT INTO {t} (user_id, course_id) VALUES (%d, 'p')"
    proxied, twin = pipelined_on_both(
        mysql_root, make_mysql_proxy, mariadb, "rr_pipelined_sp", ["BEGIN", insert % 72],
        ["SAVEPOINT sp", insert % 70, "ROLLBACK TO SAVEPOINT sp", insert % 71, "COMMIT"],
        [insert % k for k in (70, 71, 72)])
    assert proxied == twin
    assert [answer[0] for answer in proxied[:7]] == ["ok"] * 7
    assert proxied[7:] == [
        ("ok", 1), ("err", 1062, "Duplicate entry '71-p' for key 'enroll_uniq'"),
        ("err", 1062, "Duplicate entry '72-p' for key 'enroll_uniq'")]


def test_savepoints_set_where_the_proxy_does_not_read_them(mysql_root, make_mysql_proxy, mariadb):
    """A savepoint set in an executable comment is not followed. Moving one the proxy follows
    (`/*!SAVEPOINT s*/` again) makes its ROLLBACK TO undo less on the server than the proxy
    counts: the key between is committed and missed in B's older snapshot (the documented
    cost), never the reverse. A ROLLBACK TO a savepoint the proxy never saw counts the whole
    transaction as rolled back: its keys are missed too, as before savepoints were followed."""
    def schedule(a, b, t):
        def insert(k):
            return outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, 'm')")
        return [
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, "BEGIN"),
            insert(80),
            outcome(a, "SAVEPOINT s"),
            insert(81),
            outcome(a, "/*!SAVEPOINT s*/"),
            insert(82),
            outcome(a, "ROLLBACK TO SAVEPOINT s"),  # the server undoes 82 only
            outcome(a, "COMMIT AND CHAIN"),
            insert(83),
            outcome(a, "/*!SAVEPOINT u*/"),
            insert(84),
            outcome(a, "ROLLBACK TO u"),
            outcome(a, "COMMIT"),
        ] + [outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, 'm')")
             for k in range(80, 85)] + [outcome(b, "COMMIT")]
    proxy_side, twin_side = on_both(mysql_root, make_mysql_proxy, mariadb, "rr_unread",
                                    schedule)
    assert proxy_side[0][:15] == twin_side[0][:15]
    dup = [("err", 1062, f"Duplicate entry '{k}-m' for key 'enroll_uniq'") for k in (80, 81, 83)]
    assert twin_side[0][15:20] == [dup[0], dup[1], ("ok", 1), dup[2], ("ok", 1)]
    assert proxy_side[0][15:20] == [dup[0], ("ok", 1), ("ok", 1), ("ok", 1), ("ok", 1)]


def test_pipelined_rollbacks_to_unread_savepoints_record_no_undone_key(mysql_root,
                                                                      make_mysql_proxy, mariadb):
    """Found by a review of the first version: A pipelines an INSERT, a ROLLBACK TO a savepoint
    the proxy did not read (in an executable comment) and a COMMIT, and sends BEGIN once the
    INSERT's answer said a transaction is open (so only the BEGIN is a listed transaction end):
    the undone key (91) was recorded as committed, a false duplicate in B's older snapshot.
    Now such a ROLLBACK TO counts the transaction as rolled back: (90) is missed there instead
    (the documented cost); and A, pipelining again, makes a ROLLBACK TO a followed savepoint,
    then an INSERT of the undone key that fails on the primary key: that key (92) was kept
    recorded by the failing INSERT's claim."""
    make_tables(mysql_root, "rr_pipe_undo")
    proxy = start_guarded(make_mysql_proxy, "rr_pipe_undo")
    results = []
    for port, t in ((proxy.port, "rr_pipe_undo"), (mariadb.port, "rr_pipe_undo_twin")):
        def insert(k, id_=None):
            if id_ is None:
                return f"INSERT INTO {t} (user_id, course_id) VALUES ({k}, 'q')"
            return f"INSERT INTO {t} (id, user_id, course_id) VALUES ({id_}, {k}, 'q')"
        with closing(connect(port)) as b:
            cb = b.cursor()
            cb.execute(insert(1, id_=1))
            cb.execute("BEGIN")
            cb.execute(f"SELECT COUNT(*) FROM {t}")  # b's snapshot
            got = []
            a = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
            try:
                a.sock.sendall(query_frames("BEGIN", insert(90), "/*!SAVEPOINT x*/", insert(91),
                                            "DO SLEEP(1)", "ROLLBACK TO x", "COMMIT"))
                time.sleep(0.5)
                a.sock.sendall(query_frames("BEGIN"))
                got += [a.read_result()[0] for _ in range(8)]
                a.command(bytes([COM_QUERY]) + b"COMMIT")
                got.append(a.read_result()[0])
                a.command(bytes([COM_QUERY]) + b"BEGIN")
                got.append(a.read_result()[0])
                a.sock.sendall(query_frames(
                    "SAVEPOINT s", insert(92), insert(93), "ROLLBACK TO s", insert(92, id_=1),
                    f"UPDATE {t} SET user_id = 93, course_id = 'q' WHERE id = -5", "COMMIT"))
                got += [a.read_result()[:2] for _ in range(7)]
            finally:
                a.close()
            got += [outcome(cb, insert(k)) for k in (90, 91, 92, 93)]
            cb.execute("COMMIT")
            results.append(got)
    assert results[0][:17] == results[1][:17]
    assert results[0][:10] == ["ok"] * 10
    assert results[0][14][:2] == ("err", 1062)
    dup90 = ("err", 1062, "Duplicate entry '90-q' for key 'enroll_uniq'")
    assert results[1][17:] == [dup90, ("ok", 1), ("ok", 1), ("ok", 1)]
    assert results[0][17:] == [("ok", 1)] * 4


def test_a_commit_pipelined_with_an_insert_of_its_key_is_recorded(mysql_root, make_mysql_proxy,
                                                                  mariadb):
    """A sends COMMIT and, before its answer, an INSERT of the key it just wrote (autocommit:
    1062). The key stayed claimed for that INSERT past the COMMIT, and the commit's record was
    lost when the INSERT failed: B's older snapshot admitted the duplicate (found by a review of
    the PostgreSQL side, which shares the claims)."""
    insert = "INSERT INTO {t} (user_id, course_id) VALUES (95, 'c')"
    proxied, twin = pipelined_on_both(mysql_root, make_mysql_proxy, mariadb, "rr_pipe_commit",
                                      ["BEGIN", insert], ["COMMIT", insert], [insert])
    assert proxied == twin
    assert proxied[3] == ("err", 1062)
    assert proxied[4] == ("err", 1062, "Duplicate entry '95-c' for key 'enroll_uniq'")