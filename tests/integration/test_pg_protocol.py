"""Protocol details seen in raw bytes: NegotiateProtocolVersion, multi-statement simple queries,
the extended protocol pipelined before Sync, and CancelRequest routing."""
import os
import signal
import struct
import subprocess
import threading
import time

import psycopg2
import pytest

from harness import pgwire


def raw_session(port, **kw):
    c = pgwire.RawClient(port)
    seen = c.startup(**kw)
    assert seen[-1] == ("Z", b"I"), seen
    return c


# ----------------------------------------------------------------- NegotiateProtocolVersion

def _startup_replies(port, version, params):
    c = pgwire.RawClient(port)
    try:
        c.send(pgwire.startup_message(params, version))
        return c.read_until("Z"), c
    except Exception:
        c.close()
        raise


def test_negotiate_protocol_version_unknown_option(pg, proxy):
    params = {"user": "postgres", "database": "app", "_pq_.foo": "bar"}
    seen, c = _startup_replies(proxy.port, pgwire.PROTOCOL_3_0, params)
    try:
        assert seen[0] == ("v", struct.pack("!II", pgwire.PROTOCOL_3_0, 1) + b"_pq_.foo\0")
        assert seen[1] == ("R", struct.pack("!I", pgwire.AUTH_OK))
        assert seen[-1] == ("Z", b"I")
        assert pgwire.rows_of(c.simple_query("SELECT 'negotiated'")) == [["negotiated"]]
    finally:
        c.close()
    # The server says the same thing to a direct client (the proxy relayed, not invented).
    direct, d = _startup_replies(pg.port, pgwire.PROTOCOL_3_0, params)
    d.close()
    assert [t for t, _ in direct] == [t for t, _ in seen]
    assert direct[:2] == seen[:2]


def test_negotiate_protocol_version_newer_minor(pg, proxy):
    params = {"user": "postgres", "database": "app"}
    seen, c = _startup_replies(proxy.port, (3 << 16) | 7, params)
    c.close()
    assert seen[0] == ("v", struct.pack("!II", pgwire.PROTOCOL_3_0, 0))
    assert seen[1] == ("R", struct.pack("!I", pgwire.AUTH_OK))
    direct, d = _startup_replies(pg.port, (3 << 16) | 7, params)
    d.close()
    assert direct[0] == seen[0]


def _all_bytes_until_close(port, packet):
    c = pgwire.RawClient(port)
    try:
        c.send(packet)
        assert c.is_closed(timeout=5)
        return c.buf
    finally:
        c.close()


def test_unsupported_major_version_relayed(pg, proxy):
    """A StartupMessage for protocol 2.0 is relayed (the proxy relays any version, see
    negotiate_startup); the server refuses it in the only format a 2.0 client can read, a
    protocol-2 error ('E' then a C string, no length), and the client must get those bytes."""
    packet = pgwire.startup_message({"user": "postgres", "database": "app"}, 2 << 16)
    direct = _all_bytes_until_close(pg.port, packet)
    assert direct == b"EFATAL:  unsupported frontend protocol 2.0: server supports 3.0 to 3.0\n\0"
    assert _all_bytes_until_close(proxy.port, packet) == direct


# ----------------------------------------------------------------- simple and extended query

def test_multi_statement_simple_query(proxy):
    c = raw_session(proxy.port)
    try:
        seen = c.simple_query("SELECT 1 AS a; SELECT 2 AS b, 3 AS c; SHOW server_encoding")
        assert [t for t, _ in seen] == ["T", "D", "C", "T", "D", "C", "T", "D", "C", "Z"]
        assert pgwire.rows_of(seen) == [["1"], ["2", "3"], ["UTF8"]]
        # An error in the middle: the rest of the string is not run, the session continues.
        seen = c.simple_query("SELECT 1; SELECT 1/0; SELECT 3")
        assert [t for t, _ in seen] == ["T", "D", "C", "E", "Z"]
        assert pgwire.error_of(seen)["C"] == "22012"
        assert seen[-1] == ("Z", b"I")
        # Implicit transaction of a multi-statement string is rolled back as a whole.
        seen = c.simple_query("CREATE TEMP TABLE ms (v int); INSERT INTO ms VALUES (1); SELECT 1/0")
        assert pgwire.error_of(seen)["C"] == "22012"
        seen = c.simple_query("SELECT count(*) FROM pg_class WHERE relname = 'ms'")
        assert pgwire.rows_of(seen) == [["0"]]
        assert c.simple_query("")[0][0] == "I"  # EmptyQueryResponse
    finally:
        c.close()


def _parse(name, sql):
    return pgwire.message(b"P", name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0))


def _bind(portal, statement, params):
    body = portal.encode() + b"\0" + statement.encode() + b"\0" + struct.pack("!H", 0)
    body += struct.pack("!H", len(params))
    for p in params:
        body += struct.pack("!I", len(p)) + p.encode()
    body += struct.pack("!H", 0)
    return pgwire.message(b"B", body)


def _execute(portal, max_rows=0):
    return pgwire.message(b"E", portal.encode() + b"\0" + struct.pack("!I", max_rows))


def _describe(kind, name):
    return pgwire.message(b"D", kind + name.encode() + b"\0")


SYNC = pgwire.message(b"S")
FLUSH = pgwire.message(b"H")


def test_extended_protocol_pipelined(proxy):
    c = raw_session(proxy.port)
    try:
        batch = _parse("s1", "SELECT $1::int * 10")
        for i in range(50):
            batch += _bind("", "s1", [str(i)]) + _execute("")
        batch += SYNC
        c.send(batch)
        seen = c.read_until("Z")
        assert [t for t, _ in seen].count("2") == 50
        assert pgwire.rows_of(seen) == [[str(i * 10)] for i in range(50)]
        # Named portal read in pieces, Flush without Sync, then Sync.
        c.send(pgwire.query("BEGIN"))
        c.read_until("Z")
        c.send(_parse("s2", "SELECT g FROM generate_series(1, 5) g") + _bind("p1", "s2", []) +
               _describe(b"P", "p1") + _execute("p1", 2) + FLUSH)
        seen = c.read_until("s")  # PortalSuspended: answered at Flush, without a Sync
        assert [t for t, _ in seen] == ["1", "2", "T", "D", "D", "s"]
        assert pgwire.rows_of(seen) == [["1"], ["2"]]
        c.send(_execute("p1", 0) + FLUSH)
        seen = c.read_until("C")
        assert pgwire.rows_of(seen) == [["3"], ["4"], ["5"]]
        assert seen[-1] == ("C", b"SELECT 3\0")
        c.send(pgwire.message(b"C", b"Pp1\0") + SYNC + pgwire.query("COMMIT"))
        assert [t for t, _ in c.read_until("Z")] == ["3", "Z"]
        assert c.read_until("Z") == [("C", b"COMMIT\0"), ("Z", b"I")]
        # An error inside a pipeline skips to Sync.
        c.send(_bind("", "s1", ["not a number"]) + _execute("") +
               _bind("", "s1", ["1"]) + _execute("") + SYNC)
        seen = c.read_until("Z")
        assert [t for t, _ in seen] == ["E", "Z"]  # Bind fails; the rest is skipped to Sync
        assert pgwire.error_of(seen)["C"] == "22P02"
        assert pgwire.rows_of(c.simple_query("SELECT 'after'")) == [["after"]]
    finally:
        c.close()


def test_terminate(proxy, pg):
    c = raw_session(proxy.port, extra={"application_name": "raw-terminate"})
    c.send(pgwire.terminate())
    assert c.is_closed()
    c.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        n = pg.psql_admin("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'raw-terminate'")
        if n == "0\n":
            break
        time.sleep(0.05)
    assert n == "0\n"


# ----------------------------------------------------------------- cancel routing

def test_cancel_with_real_key_raw(proxy):
    a = raw_session(proxy.port)
    try:
        pid, secret = a.backend_key
        a.send(pgwire.query("SELECT pg_sleep(10)"))
        time.sleep(0.3)
        b = pgwire.RawClient(proxy.port)
        sent = time.monotonic()
        b.send(pgwire.cancel_request(pid, secret))
        assert b.is_closed(timeout=5)   # no reply to a CancelRequest, only the close
        assert b.buf == b""
        b.close()
        seen = a.read_until("Z", timeout=5)
        assert time.monotonic() - sent < 2.0
        fields = pgwire.error_of(seen)
        assert fields["C"] == "57014"
        assert fields["M"] == "canceling statement due to user request"
        assert pgwire.rows_of(a.simple_query("SELECT 'alive'")) == [["alive"]]
    finally:
        a.close()


@pytest.mark.parametrize("key", ["made_up", "real_pid_wrong_secret"])
def test_cancel_with_wrong_key_cancels_nothing(proxy, key):
    conn = psycopg2.connect(proxy.dsn())
    try:
        pid = conn.info.backend_pid
        outcome = {}

        def run():
            try:
                cur = conn.cursor()
                started = time.monotonic()
                cur.execute("SELECT 7 FROM pg_sleep(1)")
                outcome["row"] = cur.fetchone()
                outcome["took"] = time.monotonic() - started
            except psycopg2.Error as e:
                outcome["error"] = e

        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)
        raw = pgwire.RawClient(proxy.port)
        target = (12345, 67890) if key == "made_up" else (pid, 0x5EC2E7)
        raw.send(pgwire.cancel_request(*target))
        assert raw.is_closed(timeout=5)
        assert raw.buf == b""
        raw.close()
        t.join(timeout=10)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["row"] == (7,)
        assert outcome["took"] >= 0.95
        assert proxy.process.poll() is None
    finally:
        conn.close()


def test_psql_cancel_with_sigint(pg, proxy):
    """psql sends a CancelRequest on SIGINT; the server cancels the statement."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGAPPNAME"] = "psql-cancel-test"
    p = subprocess.Popen(
        ["psql", "-X", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "postgres", "-d", "app",
         "-v", "VERBOSITY=verbose", "-c", "SELECT pg_sleep(10)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # SIGINT only once the statement runs on the server (psql has its handler by then).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and pg.psql_admin(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'psql-cancel-test' "
                "AND state = 'active'") != "1\n":
            time.sleep(0.05)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=5)
        assert time.monotonic() - sent < 2.0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, (out, err)
    assert "Cancel request sent" in err
    assert "57014" in err and "canceling statement due to user request" in err
