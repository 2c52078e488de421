"""Concurrent writes of one key through the MySQL guard (issue 6 item 7) against a real MariaDB
10.11: each scenario runs once through uniqguard on a guarded table without a unique key and once
directly on a twin table whose key is a real UNIQUE key, and both must end alike: a second
inserter waits for the first's transaction and ends with 1062 (first committed) or success
(first rolled back, or its connection gone), a lock wait timeout ends with 1205, two sessions
waiting for each other end with 1213 for one of them (its transaction rolled back), and
`KILL QUERY` ends a wait with 1317. Also: a COM_STMT_EXECUTE sent in the same write as the
COM_STMT_PREPARE whose statement id it guesses is decided on that statement."""
import struct
import threading
import time
import urllib.request

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import CLIENT_DEPRECATE_EOF, COM_QUERY, COM_STMT_PREPARE, WireClient
from test_mysql_guard import GUARD, make_tables, start_guarded
from test_mysql_guard_prepared import execute, prepare

TABLE = "gw_enroll"


@pytest.fixture
def waits(mysql_root, proxy_account, make_mysql_proxy):
    make_tables(mysql_root, TABLE, legacy=[(1, "a")])
    return start_guarded(make_mysql_proxy, TABLE)


def connect(port):
    return pymysql.connect(host="127.0.0.1", port=port, user=NATIVE_USER, password=NATIVE_PASSWORD,
                           database=DATABASE, autocommit=True, charset="utf8mb4",
                           read_timeout=60)


def run(conn, sql):
    """('ok', affected rows) or ('err', errno, message)."""
    try:
        with conn.cursor() as cur:
            return ("ok", cur.execute(sql))
    except pymysql.MySQLError as e:
        return ("err", e.args[0], e.args[1])


class Background:
    """A statement on its own thread (it may wait)."""

    def __init__(self, conn, sql):
        self.result = None
        self.started = time.monotonic()
        self.elapsed = None
        self.thread = threading.Thread(target=self._run, args=(conn, sql), daemon=True)
        self.thread.start()

    def _run(self, conn, sql):
        self.result = run(conn, sql)
        self.elapsed = time.monotonic() - self.started

    def waiting(self, seconds=0.6):
        self.thread.join(seconds)
        return self.thread.is_alive()

    def join(self, seconds=30):
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "still waiting"
        return self.result


class RawBackground(Background):
    """A COM_QUERY on a raw connection on its own thread: result = (sequence id, ERR payload) or
    (sequence id, the reply's first byte)."""

    def _run(self, client, sql):
        client.command(bytes([COM_QUERY]) + sql.encode())
        seq, payload = client.read_packet()
        self.result = (seq, payload if payload[0] == 0xFF else payload[:1])
        self.elapsed = time.monotonic() - self.started


def insert(table, user, course):
    return f"INSERT INTO {table} (user_id, course_id) VALUES ({user}, '{course}')"


def keys(port, table):
    conn = connect(port)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT user_id, course_id FROM {table} ORDER BY user_id, course_id")
            return cur.fetchall()
    finally:
        conn.close()


def on_both(proxy, mariadb, scenario):
    """scenario(port, table) through the proxy on the guarded table and directly on the twin."""
    return scenario(proxy.port, TABLE), scenario(mariadb.port, TABLE + "_twin")


def second_inserter(end):
    """A holds key (5, 'z') in an open transaction; B inserts it and must wait; A ends with
    `end` (COMMIT, ROLLBACK, or closing its connection)."""

    def scenario(port, table):
        a, b = connect(port), connect(port)
        run(a, "BEGIN")
        assert run(a, insert(table, 5, "z")) == ("ok", 1)
        waiter = Background(b, insert(table, 5, "Z"))
        assert waiter.waiting(), waiter.result  # as on the unique index: B waits for A
        if end == "close":
            a.close()
        else:
            assert run(a, end) == ("ok", 0)
            a.close()
        result = waiter.join()
        b.close()
        return result, keys(port, table)

    return scenario


def test_second_inserter_waits_then_gets_1062_when_the_first_commits(waits, mariadb):
    got, want = on_both(waits, mariadb, second_inserter("COMMIT"))
    assert want[0] == ("err", 1062, "Duplicate entry '5-Z' for key 'enroll_uniq'")
    assert got == want


@pytest.mark.parametrize("end", ["ROLLBACK", "close"])
def test_second_inserter_succeeds_when_the_first_rolls_back_or_disconnects(waits, mariadb, end):
    got, want = on_both(waits, mariadb, second_inserter(end))
    assert want == (("ok", 1), ((1, "a"), (5, "Z")))
    assert got == want
    # The guard counted one wait, over now.
    with urllib.request.urlopen(f"http://127.0.0.1:{waits.admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    assert f'uniqguard_guard_waits_total{{guard="{GUARD}"}} 1\n' in text
    assert f'uniqguard_guard_waits_current{{guard="{GUARD}"}} 0\n' in text


def test_lock_wait_timeout_ends_the_statement_with_1205_and_the_transaction_goes_on(waits, mariadb):
    def scenario(port, table):
        a, b = connect(port), connect(port)
        run(a, "BEGIN")
        run(a, insert(table, 6, "t"))
        run(b, "SET SESSION innodb_lock_wait_timeout = 1")
        run(b, "BEGIN")
        assert run(b, insert(table, 7, "own")) == ("ok", 1)
        raw = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
        raw.command(bytes([COM_QUERY]) + b"SET SESSION innodb_lock_wait_timeout = 1")
        raw.read_packet()
        started = time.monotonic()
        raw_result = RawBackground(raw, insert(table, 6, "t")).join()
        raw_elapsed = time.monotonic() - started
        raw.close()
        waiter = Background(b, insert(table, 6, "T"))
        result = waiter.join()
        # Only the statement failed: B's transaction holds its first row and commits it.
        assert run(b, "COMMIT") == ("ok", 0)
        run(a, "ROLLBACK")
        a.close()
        b.close()
        return (raw_result, result, 0.9 <= raw_elapsed < 5, 0.9 <= waiter.elapsed < 5,
                keys(port, table))

    got, want = on_both(waits, mariadb, scenario)
    assert want[0] == (1, b"\xff" + struct.pack("<H", 1205) + b"#HY000" +
                       b"Lock wait timeout exceeded; try restarting transaction")
    assert got == want


@pytest.mark.parametrize("settings", [
    ["SET SESSION max_statement_time = 0.5"],
    # both: the first to pass ends the wait, as in InnoDB
    ["SET SESSION max_statement_time = 0.5", "SET SESSION innodb_lock_wait_timeout = 5"],
    ["SET SESSION max_statement_time = 5", "SET SESSION innodb_lock_wait_timeout = 1"],
    # below a millisecond: a limit still (not "none")
    ["SET SESSION max_statement_time = 0.0004", "SET SESSION innodb_lock_wait_timeout = 4"],
])
def test_max_statement_time_ends_a_wait_with_1969(waits, mariadb, settings):
    """MariaDB's max_statement_time ends a lock wait with ER_STATEMENT_TIMEOUT; the proxy reads
    it with innodb_lock_wait_timeout when a wait begins."""
    def scenario(port, table):
        a, b = connect(port), connect(port)
        run(a, "BEGIN")
        run(a, insert(table, 6, "t"))
        for sql in settings:
            run(b, sql)
        waiter = Background(b, insert(table, 6, "T"))
        result = waiter.join()
        run(a, "ROLLBACK")
        a.close()
        b.close()
        return result, waiter.elapsed < 4.5, keys(port, table)

    got, want = on_both(waits, mariadb, scenario)
    if len(settings) == 2 and "= 1" in settings[1]:
        assert want[0] == ("err", 1205, "Lock wait timeout exceeded; try restarting transaction")
    else:
        assert want[0] == ("err", 1969,
                           "Query execution was interrupted (max_statement_time exceeded)")
    assert got == want


def test_configured_lock_wait_timeout_ms(mysql_root, proxy_account, make_mysql_proxy):
    make_tables(mysql_root, TABLE)
    proxy = start_guarded(make_mysql_proxy, TABLE, extra="lock_wait_timeout_ms = 300\n")
    a, b = connect(proxy.port), connect(proxy.port)
    run(a, "BEGIN")
    run(a, insert(TABLE, 8, "m"))
    waiter = Background(b, insert(TABLE, 8, "m"))
    assert waiter.join() == ("err", 1205, "Lock wait timeout exceeded; try restarting transaction")
    assert 0.25 <= waiter.elapsed < 5  # the guard's 300 ms, not the server's 50 s
    run(a, "COMMIT")
    assert run(b, insert(TABLE, 8, "m"))[:2] == ("err", 1062)


def test_two_sessions_waiting_for_each_other_end_with_1213_for_one(waits, mariadb):
    def scenario(port, table):
        a, b = connect(port), connect(port)
        run(a, "BEGIN")
        run(b, "BEGIN")
        assert run(a, insert(table, 10, "k1")) == ("ok", 1)
        assert run(b, insert(table, 10, "k2")) == ("ok", 1)
        first = Background(a, insert(table, 10, "k2"))
        assert first.waiting()
        second = Background(b, insert(table, 10, "k1"))
        results = {"a": first.join(), "b": second.join()}
        victims = [s for s, r in results.items() if r[0] == "err"]
        assert len(victims) == 1, results
        victim, survivor = (a, b) if victims == ["a"] else (b, a)
        # The victim's whole transaction was rolled back: it is in none now.
        with victim.cursor() as cur:
            cur.execute("SELECT @@in_transaction")
            victim_in_transaction = cur.fetchone()[0]
        assert run(survivor, "COMMIT") == ("ok", 0)
        a.close()
        b.close()
        return (results[victims[0]], victim_in_transaction, keys(port, table))

    got, want = on_both(waits, mariadb, scenario)
    assert want == (("err", 1213, "Deadlock found when trying to get lock; try restarting transaction"),
                    0, ((1, "a"), (10, "k1"), (10, "k2")))
    assert got == want


def test_kill_query_ends_a_wait_with_1317(waits, mariadb):
    def scenario(port, table):
        a, killer = connect(port), connect(port)
        run(a, "BEGIN")
        run(a, insert(table, 11, "q"))
        b = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
        waiter = RawBackground(b, insert(table, 11, "q"))
        assert waiter.waiting()
        killed = run(killer, f"KILL QUERY {b.connection_id}")
        result = waiter.join()
        # B's connection goes on.
        b.command(bytes([COM_QUERY]) + b"SELECT 1")
        alive = b.read_packet()[1][:1] != b"\xff"
        run(a, "ROLLBACK")
        for c in (a, killer, b):
            c.close()
        return killed, result, alive

    got, want = on_both(waits, mariadb, scenario)
    assert want == (("ok", 0), (1, b"\xff" + struct.pack("<H", 1317) + b"#70100" +
                                b"Query execution was interrupted"), True)
    assert got == want


def read_prepare_answer(client):
    seq, ok = client.read_packet()
    assert ok[0] == 0x00, ok
    statement_id, columns, params = struct.unpack_from("<IHH", ok, 1)
    eof = 0 if client.capabilities & CLIENT_DEPRECATE_EOF else 1
    for count in (params, columns):
        for _ in range(count + (eof if count else 0)):
            client.read_packet()
    return statement_id


@pytest.mark.parametrize("guess", ["next id", "-1"])
def test_execute_sent_with_the_prepare_it_guesses_is_checked(waits, mariadb, guess):
    def scenario(port, table):
        c = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
        probe, _ = prepare(c, "SELECT 1")
        statement = probe + 1 if guess == "next id" else 0xFFFFFFFF
        wire = b""
        for payload in (bytes([COM_STMT_PREPARE]) +
                        f"INSERT INTO {table} (user_id, course_id) VALUES (?, ?)".encode(),
                        execute(statement, [1, "a"])):  # a legacy key: a duplicate
            wire += len(payload).to_bytes(3, "little") + b"\x00" + payload
        c.sock.sendall(wire)  # one write: the execute comes before the prepare's answer
        assert read_prepare_answer(c) == probe + 1
        seq, reply = c.read_packet()
        c.close()
        return seq, reply if reply[0] == 0xFF else reply[:1], keys(port, table)

    got, want = on_both(waits, mariadb, scenario)
    assert want == (1, b"\xff" + struct.pack("<H", 1062) + b"#23000" +
                    f"Duplicate entry '1-a' for key '{GUARD}'".encode(), ((1, "a"),))
    assert got == want


def test_a_kill_query_the_server_refuses_ends_no_wait(waits, mariadb, mysql_root):
    with mysql_root.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS 'weak'@'%' IDENTIFIED BY 'weak-secret'")
        cur.execute(f"GRANT ALL ON {DATABASE}.* TO 'weak'@'%'")  # no PROCESS, no SUPER

    def scenario(port, table):
        a = connect(port)
        weak = pymysql.connect(host="127.0.0.1", port=port, user="weak", password="weak-secret",
                               database=DATABASE, autocommit=True)
        run(a, "BEGIN")
        run(a, insert(table, 12, "w"))
        b = WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)
        waiter = RawBackground(b, insert(table, 12, "w"))
        assert waiter.waiting()
        refused = run(weak, f"KILL QUERY {b.connection_id}")
        still_waiting = waiter.waiting(1.0)
        run(a, "COMMIT")  # the wait ends as on the index: a duplicate
        result = waiter.join()
        for c in (a, weak, b):
            c.close()
        return refused, still_waiting, result

    got, want = on_both(waits, mariadb, scenario)
    assert want[0] == ("err", 1095, f"You are not owner of thread {want[0][2].split()[-1]}")
    assert want[1:] == (True, (1, b"\xff" + struct.pack("<H", 1062) + b"#23000" +
                                b"Duplicate entry '12-w' for key 'enroll_uniq'"))
    assert got[0][:2] == want[0][:2] and got[1:] == want[1:]


def test_xa_prepare_of_a_transaction_that_wrote_guarded_keys_is_refused(waits):
    a, b = connect(waits.port), connect(waits.port)
    run(a, "XA START 'x1'")
    assert run(a, insert(TABLE, 13, "x")) == ("ok", 1)
    run(a, "XA END 'x1'")
    code, message = run(a, "XA PREPARE 'x1'")[1:]
    assert code == 1235 and "XA PREPARE is refused" in message
    # Still its own: another session waits for the key until the XA transaction ends.
    waiter = Background(b, insert(TABLE, 13, "x"))
    assert waiter.waiting()
    assert run(a, "XA COMMIT 'x1' ONE PHASE") == ("ok", 0)
    assert waiter.join() == ("err", 1062, "Duplicate entry '13-x' for key 'enroll_uniq'")
