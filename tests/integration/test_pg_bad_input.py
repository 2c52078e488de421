"""Malformed and hostile input: the offending connection gets 08P01 and is closed; every other
session is unaffected. Also the startup-phase negotiation bytes (SSLRequest, GSSENCRequest)."""
import struct

import psycopg2
import pytest

from harness import pgwire


@pytest.fixture
def bystander(proxy):
    """A psycopg2 session opened before the bad input, checked before and after."""
    conn = psycopg2.connect(proxy.dsn(connect_timeout=10))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE TEMP TABLE keep (v int); INSERT INTO keep VALUES (1)")
    cur.execute("SELECT sum(v) FROM keep")
    assert cur.fetchone() == (1,)
    yield conn
    cur.execute("INSERT INTO keep VALUES (2); SELECT sum(v) FROM keep")
    assert cur.fetchone() == (3,)
    conn.close()


def started(proxy):
    c = pgwire.RawClient(proxy.port)
    seen = c.startup(user="postgres", database="app")
    assert seen[-1] == ("Z", b"I")
    return c


def expect_fatal(client, sqlstate, timeout=5.0):
    t, body = client.read_message(timeout=timeout)
    assert t == "E", (t, body)
    fields = pgwire.parse_fields(body)
    assert fields["S"] == "FATAL"
    if "V" in fields:
        assert fields["V"] == "FATAL"
    assert fields["C"] == sqlstate, fields
    assert client.is_closed(), "the proxy kept the connection open after the protocol error"
    return fields


# ----------------------------------------------------------------- after startup

def test_message_length_two(proxy, bystander):
    c = started(proxy)
    try:
        c.send(b"Q" + struct.pack("!I", 2))
        fields = expect_fatal(c, "08P01")
        assert fields["M"] == "invalid message length"
    finally:
        c.close()
    assert "invalid message length" in proxy.log_text()


def test_message_length_zero_unknown_type(proxy, bystander):
    c = started(proxy)
    try:
        c.send(b"\x07" + struct.pack("!I", 0))
        assert expect_fatal(c, "08P01")["M"] == "invalid message length"
    finally:
        c.close()


def test_two_gib_message_announced(proxy, bystander):
    c = started(proxy)
    try:
        c.send(b"Q" + struct.pack("!I", 0x7FFFFFFF))  # the body never follows
        fields = expect_fatal(c, "08P01")
        assert "max_message_bytes" in fields["M"]
        assert fields["M"] == ("message of 2147483647 bytes exceeds listen.max_message_bytes "
                               "(1073741824)")
    finally:
        c.close()


def test_max_message_bytes_configured(make_proxy):
    proxy = make_proxy(max_message_bytes=4096)
    ok = psycopg2.connect(proxy.dsn())
    try:
        cur = ok.cursor()
        cur.execute("SELECT %s", ("x" * 3000,))
        assert len(cur.fetchone()[0]) == 3000
        with pytest.raises(psycopg2.OperationalError):
            cur.execute("SELECT %s", ("x" * 5000,))
    finally:
        ok.close()
    c = started(proxy)
    try:
        c.send(pgwire.query("SELECT '" + "y" * 5000 + "'"))
        fields = expect_fatal(c, "08P01")
        assert fields["M"] == "message of 5014 bytes exceeds listen.max_message_bytes (4096)"
    finally:
        c.close()


def test_garbage_after_valid_statement_in_same_write(pg, proxy, bystander):
    """A valid statement and garbage in one write. The proxy forwards the statement, so the
    server executes it; the client must see its result (as it does talking to the server
    directly, which answers the statement and then closes) before the 08P01."""
    pg.psql_admin("DROP TABLE IF EXISTS bad_input_tail; CREATE TABLE bad_input_tail (v int)",
                  database="app")
    c = started(proxy)
    try:
        c.send(pgwire.query("INSERT INTO bad_input_tail VALUES (42)") + b"Q" + struct.pack("!I", 1))
        seen = c.read_until("Z", stop_on_error=True)
        assert [(t, body) for t, body in seen] == [("C", b"INSERT 0 1\0"), ("Z", b"I")], seen
        assert expect_fatal(c, "08P01")["M"] == "invalid message length"
    finally:
        c.close()
        # The statement was executed either way.
        assert pg.psql_admin("SELECT count(*) FROM bad_input_tail", database="app") == "1\n"


# ----------------------------------------------------------------- startup phase

def test_startup_length_three(proxy, bystander):
    """Only the 4-byte length arrives, announcing 3 bytes: nothing valid can follow."""
    c = pgwire.RawClient(proxy.port)
    try:
        c.send(struct.pack("!I", 3))
        fields = expect_fatal(c, "08P01")
        assert fields["M"] == "invalid length of startup packet"
    finally:
        c.close()


def test_startup_length_three_with_more_bytes(proxy, bystander):
    c = pgwire.RawClient(proxy.port)
    try:
        c.send(struct.pack("!I", 3) + b"\x00\x03\x00\x00")
        assert expect_fatal(c, "08P01")["M"] == "invalid length of startup packet"
    finally:
        c.close()


def test_startup_length_huge(proxy, bystander):
    c = pgwire.RawClient(proxy.port)
    try:
        c.send(struct.pack("!II", 0x7FFFFFFF, pgwire.PROTOCOL_3_0))
        assert expect_fatal(c, "08P01")["M"] == "invalid length of startup packet"
    finally:
        c.close()


def test_ssl_request_then_plaintext_in_same_write(make_proxy, certs):
    proxy = make_proxy(certs=certs)
    c = pgwire.RawClient(proxy.port)
    try:
        c.send(pgwire.ssl_request() + pgwire.startup_message({"user": "postgres", "database": "app"}))
        fields = expect_fatal(c, "08P01")
        assert fields["M"] == "received unencrypted data after SSL request"
        # No 'S' came before the error: the first byte read was the ErrorResponse.
    finally:
        c.close()
    assert proxy.process.poll() is None


def test_gssenc_request_declined(proxy):
    c = pgwire.RawClient(proxy.port)
    try:
        c.send(pgwire.gssenc_request())
        assert c.read_exact(1) == b"N"
        # Exactly one byte: the connection then carries a normal startup.
        seen = c.startup()
        assert seen[-1] == ("Z", b"I")
        assert pgwire.rows_of(c.simple_query("SELECT 'after GSSENC'")) == [["after GSSENC"]]
    finally:
        c.close()


def test_ssl_request_without_tls_declined(proxy):
    c = pgwire.RawClient(proxy.port)
    try:
        assert c.start_tls() == b"N"
        seen = c.startup()
        assert seen[-1] == ("Z", b"I")
        assert pgwire.rows_of(c.simple_query("SELECT 1")) == [["1"]]
    finally:
        c.close()


def test_gssenc_then_ssl_with_tls(make_proxy, certs):
    """libpq's order when it has GSS credentials: GSSENCRequest, then SSLRequest."""
    proxy = make_proxy(certs=certs)
    c = pgwire.RawClient(proxy.port)
    try:
        c.send(pgwire.gssenc_request())
        assert c.read_exact(1) == b"N"
        assert c.start_tls(ca=certs["ca"]) == b"S"
        assert c.startup()[-1] == ("Z", b"I")
    finally:
        c.close()


def test_too_many_negotiation_requests(proxy):
    c = pgwire.RawClient(proxy.port)
    try:
        for _ in range(4):
            c.send(pgwire.gssenc_request())
            assert c.read_exact(1) == b"N"
        c.send(pgwire.gssenc_request())
        fields = expect_fatal(c, "08P01")
        assert fields["M"] == "too many negotiation requests before the startup packet"
    finally:
        c.close()


def test_client_disconnects_mid_startup(proxy, bystander):
    c = pgwire.RawClient(proxy.port)
    c.send(struct.pack("!I", 100) + b"\x00\x03")  # half a startup packet
    c.close()
    c = pgwire.RawClient(proxy.port)
    c.send(pgwire.startup_message({"user": "postgres", "database": "app"})[:-3])
    c.close()
    # The proxy is fine.
    ok = started(proxy)
    ok.close()
