"""MySQL passthrough checked at the byte level with a hand-made client (harness/mysqlwire.py):
binary prepared statements, COM_CHANGE_USER, COM_RESET_CONNECTION, bad input costing one
session only, refusals, backpressure and graceful shutdown."""
import os
import signal
import socket
import struct
import threading
import time

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import (CLIENT_DEPRECATE_EOF, COM_CHANGE_USER, COM_PING, COM_QUERY, COM_RESET_CONNECTION,
                               COM_STMT_CLOSE, COM_STMT_EXECUTE, COM_STMT_PREPARE,
                               COM_STMT_RESET, COM_STMT_SEND_LONG_DATA, WireClient,
                               lenenc_str, native_password)
from harness.ports import free_port

MYSQL_TYPE_LONGLONG = 8
MYSQL_TYPE_VAR_STRING = 253


def wire(proxy, **kw):
    return WireClient(proxy.port, NATIVE_USER, NATIVE_PASSWORD, **kw)


def err_fields(payload):
    assert payload[0] == 0xFF, payload
    return struct.unpack_from("<H", payload, 1)[0], payload[4:9].decode(), payload[9:].decode()


def prepare(client, sql):
    client.command(bytes([COM_STMT_PREPARE]) + sql.encode())
    seq, ok = client.read_packet()
    assert seq == 1 and ok[0] == 0x00, ok
    statement_id, columns, params = struct.unpack_from("<IHH", ok, 1)
    eof = 0 if client.capabilities & CLIENT_DEPRECATE_EOF else 1
    for count in (params, columns):
        for _ in range(count + (eof if count else 0)):
            client.read_packet()  # definitions, and their EOF without CLIENT_DEPRECATE_EOF
    return statement_id, columns, params


def execute(statement_id, params):
    """COM_STMT_EXECUTE with new-params-bound and the given (type, bytes) parameters."""
    payload = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", statement_id, 0, 1)
    payload += b"\0" * ((len(params) + 7) // 8)  # NULL bitmap
    payload += b"\x01"
    payload += b"".join(struct.pack("<BB", t, 0) for t, _ in params)
    payload += b"".join(v for _, v in params)
    return payload


def test_binary_prepared_statement_round_trip(mysql_proxy):
    c = wire(mysql_proxy)
    try:
        sid, columns, params = prepare(c, "SELECT ? + 1, CONCAT(?, 'x')")
        assert (columns, params) == (2, 2)
        c.command(execute(sid, [(MYSQL_TYPE_LONGLONG, struct.pack("<q", 41)),
                                (MYSQL_TYPE_VAR_STRING, b"\x02ab")]))
        kind, rows, status = c.read_result()
        assert kind == "rows" and len(rows) == 1
        # Binary row: 0x00 header, NULL bitmap (2 columns + 2 offset bits: one byte), values.
        row = rows[0]
        assert row[:2] == b"\x00\x00"
        assert struct.unpack_from("<q", row, 2)[0] == 42
        value, end = lenenc_str(row, 10)
        assert value == b"abx" and end == len(row)

        # COM_STMT_SEND_LONG_DATA (no reply) for parameter 1, then execute with it.
        c.command(bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", sid, 1) + b"long-" * 1000)
        c.command(execute(sid, [(MYSQL_TYPE_LONGLONG, struct.pack("<q", 1)),
                                (MYSQL_TYPE_VAR_STRING, b"\x00")]))
        kind, rows, _ = c.read_result()
        value, _ = lenenc_str(rows[0], 10)
        assert value == b"long-" * 1000 + b"x"

        c.command(bytes([COM_STMT_RESET]) + struct.pack("<I", sid))
        assert c.read_result()[0] == "ok"

        # COM_STMT_CLOSE has no reply: the next reply the client reads is the ping's OK.
        c.command(bytes([COM_STMT_CLOSE]) + struct.pack("<I", sid))
        c.command(bytes([COM_PING]))
        seq, ok = c.read_packet()
        assert (seq, ok[0]) == (1, 0x00)
        c.command(execute(sid, [(MYSQL_TYPE_LONGLONG, struct.pack("<q", 1)),
                                (MYSQL_TYPE_VAR_STRING, b"\x00")]))
        _, err = c.read_packet()
        assert err_fields(err)[0] == 1243  # ER_UNKNOWN_STMT_HANDLER
    finally:
        c.close()


def test_prepared_insert_without_deprecate_eof(mysql_proxy, mariadb):
    mariadb.sql("DROP TABLE IF EXISTS ps; CREATE TABLE ps (id INT PRIMARY KEY, v VARCHAR(10))",
                DATABASE)
    c = wire(mysql_proxy, deprecate_eof=False)
    try:
        c.command(bytes([COM_STMT_PREPARE]) + b"INSERT INTO ps VALUES (?, ?)")
        _, ok = c.read_packet()
        sid, columns, params = struct.unpack_from("<IHH", ok, 1)
        assert (columns, params) == (0, 2)
        for _ in range(params + 1):  # two definitions and their EOF
            c.read_packet()
        for i in range(3):
            c.command(execute(sid, [(MYSQL_TYPE_LONGLONG, struct.pack("<q", i)),
                                    (MYSQL_TYPE_VAR_STRING, b"\x01" + str(i).encode())]))
            result = c.read_result()
            assert result[0] == "ok" and result[2] == 1
        assert c.query_text_rows("SELECT id, v FROM ps ORDER BY id") == [
            ["0", "0"], ["1", "1"], ["2", "2"]]
    finally:
        c.close()


def test_change_user_and_reset_connection(mysql_proxy, mariadb):
    mariadb.sql("CREATE DATABASE IF NOT EXISTS other")
    c = wire(mysql_proxy)
    try:
        c.query_text_rows("SELECT 1")
        c.command(bytes([COM_QUERY]) + b"SET @kept = 5")
        assert c.read_result()[0] == "ok"
        # COM_CHANGE_USER: user, auth (for the handshake's scramble), database, charset, plugin.
        auth = native_password(NATIVE_PASSWORD, c.scramble)
        payload = (bytes([COM_CHANGE_USER]) + NATIVE_USER.encode() + b"\0" + bytes([len(auth)]) +
                   auth + b"other\0" + struct.pack("<H", 45) + b"mysql_native_password\0")
        c.command(payload)
        seq, reply = c.read_packet()
        if reply[0] == 0xFE:  # the server may ask again with a fresh scramble
            name_end = reply.index(b"\0", 1)
            c.send_packet(seq + 1, native_password(NATIVE_PASSWORD, reply[name_end + 1:]))
            seq, reply = c.read_packet()
        assert reply[0] == 0x00, reply
        assert c.query_text_rows("SELECT DATABASE(), @kept") == [["other", None]]

        c.command(bytes([COM_QUERY]) + b"SET @gone = 7")
        assert c.read_result()[0] == "ok"
        c.command(bytes([COM_RESET_CONNECTION]))
        assert c.read_result()[0] == "ok"
        assert c.query_text_rows("SELECT @gone, DATABASE()") == [[None, "other"]]
    finally:
        c.close()


def test_oversized_packet_gets_err_1153_and_costs_one_session(make_mysql_proxy):
    proxy = make_mysql_proxy(max_message_bytes=1 << 20)
    bystander = pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                                password=NATIVE_PASSWORD, database=DATABASE)
    c = wire(proxy)
    try:
        # A header announcing 16 MiB - 1 bytes: refused from the header alone.
        c.sock.sendall(b"\xff\xff\xff\x00" + b"\x03SELECT")
        seq, err = c.read_packet()
        assert seq == 1
        assert err_fields(err) == (1153, "08S01",
                                   "Got a packet bigger than 'max_allowed_packet' bytes")
        with pytest.raises(ConnectionError):
            c.read_packet()
        # Just under the limit passes (the server answers it).
        ok = wire(proxy)
        assert ok.query_text_rows("SELECT LENGTH('" + "y" * ((1 << 20) - 100) + "')") == [
            [str((1 << 20) - 100)]]
        ok.close()
        with bystander.cursor() as cur:
            cur.execute("SELECT 'unaffected'")
            assert cur.fetchone() == ("unaffected",)
    finally:
        c.sock.close()
        bystander.close()


def test_garbage_and_out_of_order_packets_cost_one_session(mysql_proxy):
    bystander = wire(mysql_proxy)
    try:
        # Garbage in place of the HandshakeResponse.
        s = socket.create_connection(("127.0.0.1", mysql_proxy.port), timeout=10)
        s.recv(4096)  # the greeting
        s.sendall(b"\x05\x00\x00\x01garbage-bytes")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        assert data[3] == 2 and err_fields(data[4:])[:2] == (1043, "08S01")
        s.close()

        # A command that does not start at sequence id 0.
        c = wire(mysql_proxy)
        c.send_packet(5, bytes([COM_QUERY]) + b"SELECT 1")
        seq, err = c.read_packet()
        assert seq == 6 and err_fields(err) == (1156, "08S01", "Got packets out of order")
        with pytest.raises(ConnectionError):
            c.read_packet()
        c.sock.close()

        # Random bytes after login: whatever they announce, only that session pays.
        for seed in range(5):
            c = wire(mysql_proxy)
            c.sock.sendall(os.urandom(64) + b"\xff\xff\xff\x07")
            c.sock.settimeout(5)
            try:
                while c.sock.recv(65536):
                    pass
            except (ConnectionError, socket.timeout):
                pass
            c.sock.close()
        assert bystander.query_text_rows("SELECT 'fine'") == [["fine"]]
    finally:
        bystander.close()


def test_too_many_clients_gets_err_1040(make_mysql_proxy):
    proxy = make_mysql_proxy(extra_listen="max_clients = 2\n")
    proxy.wait_until_no_clients()
    first = wire(proxy)
    second = wire(proxy)
    try:
        with pytest.raises(pymysql.err.OperationalError) as e:
            pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                            password=NATIVE_PASSWORD, database=DATABASE, connect_timeout=5)
        assert e.value.args == (1040, "Too many connections")
        assert first.query_text_rows("SELECT 'first'") == [["first"]]
        assert second.query_text_rows("SELECT 'second'") == [["second"]]
    finally:
        first.close()
        second.close()


def test_unreachable_backend_is_a_connection_error(make_mysql_proxy):
    proxy = make_mysql_proxy(backend_port=free_port())
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                        password=NATIVE_PASSWORD, connect_timeout=5)
    assert e.value.args[0] == 2003
    assert "Can't connect to server on '127.0.0.1:" in e.value.args[1]
    # The proxy stays up.
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5):
        pass


def proxy_rss_kib(proxy):
    with open(f"/proc/{proxy.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_slow_client_does_not_grow_proxy_memory(mysql_proxy):
    c = wire(mysql_proxy)
    try:
        c.query_text_rows("SELECT 1")
        before = proxy_rss_kib(mysql_proxy)
        # About 300 MB of rows, and the client reads nothing for a while.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.command(bytes([COM_QUERY]) + b"SELECT REPEAT('x', 1000000) FROM seq_1_to_300")
        time.sleep(2)
        during = proxy_rss_kib(mysql_proxy)
        assert during - before < 16 * 1024, (before, during)
        kind, rows, _ = c.read_result()
        assert kind == "rows" and len(rows) == 300
        assert all(len(r) == 1000000 + 4 for r in rows)
        assert c.query_text_rows("SELECT 'after'") == [["after"]]
    finally:
        c.close()


def test_graceful_shutdown_lets_the_running_statement_finish(mysql_proxy):
    idle = wire(mysql_proxy)
    busy = wire(mysql_proxy)
    outcome = {}

    def run():
        outcome["rows"] = busy.query_text_rows("SELECT SLEEP(1), 'done'")

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    mysql_proxy.process.send_signal(signal.SIGTERM)
    t.join(10)
    assert outcome["rows"] == [["0", "done"]]
    assert mysql_proxy.process.wait(10) == 0
    with pytest.raises((ConnectionError, OSError)):
        idle.query_text_rows("SELECT 1")


def test_replies_of_every_command_kind_end_where_the_proxy_thinks(make_mysql_proxy, mariadb):
    """The command tracker must see every reply end: after a session has gone through each
    command kind, it is idle, so SIGTERM closes it at once instead of after the shutdown
    timeout (20 s here)."""
    mariadb.sql("DROP TABLE IF EXISTS kinds; CREATE TABLE kinds (a INT); "
                "INSERT INTO kinds VALUES (1), (2)", DATABASE)
    proxy = make_mysql_proxy(shutdown_timeout_ms=20000, log_level="debug")
    sessions = []
    for deprecate_eof in (True, False):
        c = wire(proxy, deprecate_eof=deprecate_eof, multi_statements=True)
        sessions.append(c)
        # Multi-statement results, with an OK in the middle.
        c.command(bytes([COM_QUERY]) + b"SELECT 1; UPDATE kinds SET a = a; SELECT a FROM kinds")
        kinds = [c.read_result()[0] for _ in range(3)]
        assert kinds == ["rows", "ok", "rows"]
        # A cursor: the execute ends after the definitions, the fetches with their own EOF.
        sid, columns, _ = prepare(c, "SELECT seq FROM seq_1_to_5")
        c.command(bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", sid, 1, 1))
        _, count = c.read_packet()
        assert count == b"\x01"
        c.read_packet()  # the definition
        seq, end = c.read_packet()
        assert end[0] == 0xFE and struct.unpack_from("<H", end, 3)[0] & 0x40  # cursor exists
        c.command(bytes([0x1C]) + struct.pack("<II", sid, 2))  # COM_STMT_FETCH
        rows, _ = c.read_rows()
        assert len(rows) == 2
        c.command(bytes([0x1C]) + struct.pack("<II", sid, 10))
        rows, status = c.read_rows()
        assert len(rows) == 3 and status & 0x80  # SERVER_STATUS_LAST_ROW_SENT
        c.command(bytes([COM_STMT_CLOSE]) + struct.pack("<I", sid))
        c.command(bytes([0x09]))  # COM_STATISTICS: one plain string
        _, stats = c.read_packet()
        assert stats.startswith(b"Uptime: ")
        c.command(bytes([0x04]) + b"kinds\0")  # COM_FIELD_LIST
        while True:
            _, p = c.read_packet()
            if p[0] in (0xFE, 0xFF) and len(p) < 9:
                break
        # LOAD DATA LOCAL: the server asks for the file, the client streams it, an empty
        # packet ends it, the server's OK ends the command.
        c.command(bytes([COM_QUERY]) + b"LOAD DATA LOCAL INFILE 'any.csv' INTO TABLE kinds")
        seq, request = c.read_packet()
        assert request == b"\xfbany.csv"
        c.send_packet(seq + 1, b"10\n11\n")
        c.send_packet(seq + 2, b"12\n")
        c.send_packet(seq + 3, b"")
        loaded = c.read_result()
        assert loaded[0] == "ok" and loaded[2] == 3
        c.command(bytes([0x0C]) + struct.pack("<I", 987654))  # COM_PROCESS_KILL, no such id
        assert err_fields(c.read_packet()[1])[0] == 1094  # ER_NO_SUCH_THREAD
        c.command(bytes([0x1B]) + struct.pack("<H", 0))  # COM_SET_OPTION: multi-statements on
        assert c.read_packet()[1][0] in (0x00, 0xFE)
        c.command(bytes([COM_PING]))
        assert c.read_packet()[1][0] == 0x00
    assert mariadb.sql("SELECT COUNT(*) FROM kinds", DATABASE) == "8\n"
    started = time.monotonic()
    assert proxy.stop() == 0
    assert time.monotonic() - started < 5, proxy.final_log
    assert proxy.final_log.count("closed (shutdown)") == 2, proxy.final_log


def test_client_that_never_logs_in_is_closed_with_its_server_connection(mysql_proxy, mariadb):
    def server_threads():
        return int(mariadb.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                               "WHERE USER = 'unauthenticated user'").strip() or 0)

    s = socket.create_connection(("127.0.0.1", mysql_proxy.port), timeout=30)
    try:
        assert s.recv(4096)[4] == 10  # the server's greeting, relayed
        started = time.monotonic()
        assert s.recv(4096) == b""  # closed without a word, as the server itself does
        # The server gave up on its side after its connect_timeout (10 s); the proxy, which
        # was waiting for the client, closes at its own deadline.
        assert 14 < time.monotonic() - started < 20
        time.sleep(0.5)
        assert server_threads() == 0
    finally:
        s.close()
    assert "no login within 15 s; closed" in mysql_proxy.log_text()


@pytest.mark.parametrize("setting", ["true", '"v1"', '"v2"'])
def test_proxy_protocol_header_gives_the_server_the_clients_address(make_mysql_proxy, mariadb,
                                                                    setting):
    def host_seen_by_server(proxy):
        conn = pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                               password=NATIVE_PASSWORD, database=DATABASE)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT HOST FROM information_schema.PROCESSLIST "
                            "WHERE ID = CONNECTION_ID()")
                return cur.fetchone()[0], conn._sock.getsockname()[1]
        finally:
            conn.close()

    mariadb.sql("SET GLOBAL proxy_protocol_networks = '127.0.0.1/32'")
    try:
        with_header = make_mysql_proxy(extra_listen=f"proxy_protocol = {setting}\n")
        host, client_port = host_seen_by_server(with_header)
        assert host == f"127.0.0.1:{client_port}"
        # Without the header the server sees the proxy's own connection.
        plain = make_mysql_proxy()
        host, client_port = host_seen_by_server(plain)
        assert host.startswith("127.0.0.1:") and host != f"127.0.0.1:{client_port}"
    finally:
        mariadb.sql("SET GLOBAL proxy_protocol_networks = ''")

