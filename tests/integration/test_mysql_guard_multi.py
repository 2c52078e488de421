"""A guarded INSERT inside a string of several statements (COM_QUERY with
CLIENT_MULTI_STATEMENTS; issue 6 item 3) against a real MariaDB 10.11: each string goes through
uniqguard to a guarded table without a unique key, and directly to a twin table whose key is a
real UNIQUE key, and the client must get the same replies, packet by packet: the results of the
statements before the duplicate (with SERVER_MORE_RESULTS_EXISTS), then ERR 1062 with its
sequence id, the statements after it not run. Also: INSERT IGNORE inside a string, a second
session waiting inside a string, and the strings the proxy still refuses (nothing of them runs)."""
import struct
import threading

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import COM_QUERY, WireClient, lenenc_int
from test_mysql_guard import GUARD, make_tables, start_guarded

TABLE = "gm_enroll"
MORE_RESULTS = 0x0008


@pytest.fixture
def multi(mysql_root, proxy_account, make_mysql_proxy):
    make_tables(mysql_root, TABLE, legacy=[(1, "a"), (1, "a"), (2, "b")])
    return start_guarded(make_mysql_proxy, TABLE)


def client(port):
    return WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE, multi_statements=True)


def whole_reply(c):
    """Every packet of a COM_QUERY's answer, through the last result (one without
    SERVER_MORE_RESULTS_EXISTS, or an ERR), as (sequence id, what) where `what` is the payload,
    except an OK's last insert id, left out (the guarded table and its twin count ids apart)."""
    out = []
    while True:
        seq, p = c.read_packet()
        if p[0] == 0xFF:
            out.append((seq, p))
            return out
        if p[0] == 0x00:
            affected, pos = lenenc_int(p, 1)
            _, pos = lenenc_int(p, pos)
            status = struct.unpack_from("<H", p, pos)[0]
            out.append((seq, ("ok", affected, p[pos:])))
        else:
            out.append((seq, p))
            columns, _ = lenenc_int(p, 0)
            for _ in range(columns):
                out.append(c.read_packet())
            while True:  # CLIENT_DEPRECATE_EOF: rows until an OK packet headed 0xFE
                seq, p = c.read_packet()
                out.append((seq, p))
                if p[0] == 0xFE and len(p) < 0xFFFFFF:
                    _, pos = lenenc_int(p, 1)
                    _, pos = lenenc_int(p, pos)
                    status = struct.unpack_from("<H", p, pos)[0]
                    break
        if not status & MORE_RESULTS:
            return out


def query(c, sql):
    c.command(bytes([COM_QUERY]) + sql.encode())
    return whole_reply(c)


def both(proxy, mariadb, sql, before=()):
    """`sql` (with {t} for the table) through the proxy on the guarded table and directly on
    the twin, each on a fresh connection after the statements `before`: their whole replies."""
    replies = []
    for port, table in ((proxy.port, TABLE), (mariadb.port, TABLE + "_twin")):
        c = client(port)
        try:
            for b in before:
                query(c, b.format(t=table))
            replies.append(query(c, sql.format(t=table)))
            replies.append(c.query_text_rows("SELECT @@in_transaction"))
        finally:
            c.close()
    return replies[0], replies[2], replies[1], replies[3]


def kinds(reply):
    """The kind of each result: 'ok', 'rows' or the ERR's errno."""
    out = []
    for _, what in reply:
        if isinstance(what, tuple):
            out.append("ok")
        elif what[0] == 0xFF:
            out.append(int.from_bytes(what[1:3], "little"))
    return out


def count(mariadb, where):
    return int(mariadb.sql(f"SELECT COUNT(*) FROM {TABLE} WHERE {where}", DATABASE).strip())


def test_a_duplicate_after_other_statements_is_the_servers_error_in_its_place(multi, mariadb):
    sql = "SELECT 1; DO 1; INSERT INTO {t} (user_id, course_id) VALUES (1, 'A'); SELECT 2"
    got, want, got_tx, want_tx = both(multi, mariadb, sql)
    assert got == want
    assert got[-1][1][9:] == b"Duplicate entry '1-A' for key 'enroll_uniq'"
    assert got_tx == want_tx == [["0"]]
    # A new key: every result is the server's, the row is there once.
    sql = "SELECT 1; INSERT INTO {t} (user_id, course_id) VALUES (31, 'y'), (32, 'y'); SELECT 2"
    got, want, _, _ = both(multi, mariadb, sql)
    assert got == want and kinds(got) == ["ok"]  # rows, OK (2 rows, Records: 2), rows
    assert [w for _, w in got if isinstance(w, tuple)][0][:2] == ("ok", 2)
    assert count(mariadb, "user_id IN (31, 32)") == 2
    # And then a duplicate of it, as the first statement: the later ones do not run.
    got, want, _, _ = both(multi, mariadb,
                           "INSERT INTO {t} (user_id, course_id) VALUES (31, 'Y '); SELECT 1")
    assert got == want and kinds(got) == [1062] and len(got) == 1


def test_an_earlier_statements_error_stops_the_string_before_the_duplicate(multi, mariadb):
    got, want, _, _ = both(multi, mariadb,
                           "SELECT * FROM no_such_table; INSERT INTO {t} (user_id, course_id) "
                           "VALUES (1, 'a')")
    assert got == want and kinds(got) == [1146]


def test_a_duplicate_inside_a_transaction_in_one_string(multi, mariadb):
    # BEGIN runs, the INSERT fails, COMMIT is not run: the transaction stays open, as on the twin.
    sql = "BEGIN; INSERT INTO {t} (user_id, course_id) VALUES (2, 'B'); COMMIT"
    got, want, got_tx, want_tx = both(multi, mariadb, sql)
    assert got == want and kinds(got) == ["ok", 1062]
    assert got_tx == want_tx == [["1"]]
    # A key written and committed inside one string, then the same key again.
    sql = "BEGIN; INSERT INTO {t} (user_id, course_id) VALUES (40, 'c'); COMMIT"
    got, want, got_tx, want_tx = both(multi, mariadb, sql)
    assert got == want and kinds(got) == ["ok", "ok", "ok"] and got_tx == want_tx == [["0"]]
    got, want, _, _ = both(multi, mariadb, "DO 1; INSERT INTO {t} (user_id, course_id) VALUES "
                                           "(40, 'C')")
    assert got == want and kinds(got) == ["ok", 1062]
    # Rolled back inside its string: the key is free again.
    sql = "BEGIN; INSERT INTO {t} (user_id, course_id) VALUES (41, 'c'); ROLLBACK"
    got, want, _, _ = both(multi, mariadb, sql)
    assert got == want and kinds(got) == ["ok", "ok", "ok"]
    got, want, _, _ = both(multi, mariadb, "DO 1; INSERT INTO {t} (user_id, course_id) VALUES "
                                           "(41, 'c')")
    assert got == want and kinds(got) == ["ok", "ok"]
    assert count(mariadb, "user_id = 41") == 1


def test_insert_ignore_inside_a_string(multi, mariadb):
    # Every row a duplicate: OK with one warning, and the string goes on, as on the twin.
    sql = "SELECT 1; INSERT IGNORE INTO {t} (user_id, course_id) VALUES (2, 'b'); SELECT 3"
    got, want, _, _ = both(multi, mariadb, sql)
    assert got == want and kinds(got) == ["ok"] and len(got) == 9  # 4 + 1 + 4 packets
    # Some rows dropped: the same affected rows and status flags (the twin's OK also counts the
    # dropped row's warning and says so in its info: docs/mysql.md).
    sql = ("SELECT 1; INSERT IGNORE INTO {t} (user_id, course_id) VALUES (2, 'b'), (50, 'i'); "
           "SELECT 3")
    got, want, _, _ = both(multi, mariadb, sql)
    assert [w[:2] if isinstance(w, tuple) else w for _, w in got] == \
           [w[:2] if isinstance(w, tuple) else w for _, w in want]
    ok = [w for _, w in got if isinstance(w, tuple)][0]
    assert ok[1] == 1 and struct.unpack_from("<H", ok[2])[0] & MORE_RESULTS
    assert count(mariadb, "user_id IN (2, 50)") == 2  # the legacy (2, 'b') and (50, 'i')


def test_a_second_session_waits_inside_its_string(multi, mariadb):
    def scenario(port, table):
        first, second = client(port), client(port)
        try:
            assert kinds(query(first, f"BEGIN; INSERT INTO {table} (user_id, course_id) "
                                      "VALUES (60, 'w')")) == ["ok", "ok"]
            box = {}
            t = threading.Thread(target=lambda: box.setdefault(
                "reply", query(second, f"SELECT 1; INSERT INTO {table} (user_id, course_id) "
                                       "VALUES (60, 'W'); SELECT 2")), daemon=True)
            t.start()
            t.join(0.8)
            assert t.is_alive(), "the second session did not wait"
            query(first, "COMMIT")
            t.join(30)
            assert not t.is_alive()
            return box["reply"]
        finally:
            first.close()
            second.close()

    got = scenario(multi.port, TABLE)
    want = scenario(mariadb.port, TABLE + "_twin")
    assert got == want and kinds(got) == [1062]
    assert count(mariadb, "user_id = 60") == 1


@pytest.mark.parametrize("sql,why", [
    ("DELETE FROM {t} WHERE user_id = 1; INSERT INTO {t} (user_id, course_id) VALUES (1, 'a')",
     "another statement names a guarded table"),
    ("SELECT COUNT(*) FROM {t}; INSERT INTO {t} (user_id, course_id) VALUES (70, 'a')",
     "another statement names a guarded table"),
    ("INSERT INTO {t} (user_id, course_id) VALUES (70, 'a'); "
     "INSERT INTO {t} (user_id, course_id) VALUES (71, 'a')",
     "more than one statement writes to or names a guarded table"),
    ("ROLLBACK; INSERT INTO {t} (user_id, course_id) VALUES (70, 'a')", "a ROLLBACK before it"),
    ("SET NAMES latin1; INSERT INTO {t} (user_id, course_id) VALUES (70, 'a')",
     "SET or USE changes how the write reads"),
    ("INSERT INTO {t} (user_id, course_id) VALUES (70, 'a'); USE mysql",
     "SET or USE changes how the write reads"),
    ("DO 1; UPDATE {t} SET course_id = 'z' WHERE id = 1", "an UPDATE of key columns"),
    ("DO 1; REPLACE INTO {t} (user_id, course_id) VALUES (70, 'a')",
     "REPLACE or ON DUPLICATE KEY UPDATE"),
    ("DO 1 /*! + 1 */; INSERT INTO {t} (user_id, course_id) VALUES (70, 'a')",
     "an executable comment in the string"),
    # A loop runs the INSERT twice; its pieces look like statements of their own.
    ("BEGIN NOT ATOMIC FOR i IN 1..2 DO DO 0; INSERT INTO {t} (user_id, course_id) "
     "VALUES (70, 'a'); END FOR; END", "a compound statement or loop"),
    ("CALL mysql.no_such_procedure(); INSERT INTO {t} (user_id, course_id) VALUES (70, 'a')",
     "a statement before it that the proxy does not follow"),
])
def test_strings_still_refused_run_nothing(multi, mariadb, sql, why):
    c = client(multi.port)
    try:
        reply = query(c, sql.format(t=TABLE))
    finally:
        c.close()
    assert len(reply) == 1 and reply[0][0] == 1
    payload = reply[0][1]
    assert int.from_bytes(payload[1:3], "little") == 1235 and payload[4:9] == b"42000"
    assert payload[9:].decode() == (
        f"uniqguard: a write in a string of several statements ({why}) on table "
        f'"{DATABASE}.{TABLE}" is not enforced by guard "{GUARD}" yet; the statement was refused')
    assert count(mariadb, "user_id = 70") == 0
    assert count(mariadb, "user_id = 1") == 2  # the DELETE did not run either


def test_pymysql_multi_statement_string(multi, mariadb):
    conn = pymysql.connect(host="127.0.0.1", port=multi.port, user=NATIVE_USER,
                           password=NATIVE_PASSWORD, database=DATABASE, autocommit=True,
                           client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT 1; INSERT INTO {TABLE} (user_id, course_id) VALUES (80, 'p')")
        assert cur.fetchall() == ((1,),)
        assert cur.nextset() and cur.rowcount == 1
        cur.execute(f"SELECT 1; INSERT INTO {TABLE} (user_id, course_id) VALUES (80, 'P')")
        assert cur.fetchall() == ((1,),)
        with pytest.raises(pymysql.err.IntegrityError) as e:
            cur.nextset()
        assert e.value.args == (1062, "Duplicate entry '80-P' for key 'enroll_uniq'")
    assert count(mariadb, "user_id = 80") == 1


def test_strings_the_proxy_cannot_decide_before_they_run(multi, mariadb):
    c = client(multi.port)
    try:
        # A lexical error after the INSERT: the server would run the INSERT first.
        reply = query(c, f"INSERT INTO {TABLE} (user_id, course_id) VALUES (1, 'a'); SELECT X'1'")
        assert reply[0][1][9:].decode() == (
            f'uniqguard: a statement the proxy cannot read on table "{DATABASE}.{TABLE}" is not '
            f'enforced by guard "{GUARD}" yet; the statement was refused')
        # In an open transaction, a COMMIT before the INSERT: the check would read the
        # transaction's old snapshot.
        assert kinds(query(c, "BEGIN")) == ["ok"]
        reply = query(c, f"COMMIT; INSERT INTO {TABLE} (user_id, course_id) VALUES (1, 'a')")
        assert b"a COMMIT or BEGIN before it ends the open transaction" in reply[0][1]
        assert c.query_text_rows("SELECT @@in_transaction") == [["1"]]  # the COMMIT did not run
    finally:
        c.close()
    assert count(mariadb, "user_id = 1") == 2
