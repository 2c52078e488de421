"""The authentication matrix: {md5, SCRAM} x client TLS x backend TLS x libpq channel_binding.

How the proxy relays SCRAM (src/proxy/pg_session.cpp, connect_and_authenticate; SPEC §3 and
docs/authentication.md): TLS ends at the proxy, so a client can never bind to the server's TLS
channel. The proxy therefore never lets SCRAM-SHA-256-PLUS reach the client. A libpq client on
TLS with channel_binding=prefer then answers with gs2 flag 'y' ("I could bind, you offered no
PLUS"); a server reached over TLS takes that for a downgrade attack, so the proxy refuses it
itself with a clear 08P01. channel_binding=require fails inside libpq whenever there is no PLUS
on offer (or no SSL on the client leg, or the method is md5). Every other cell succeeds.

The same table is in docs/authentication.md; keep the two in step.
"""
import psycopg2
import pytest

from harness import pgwire
from harness.pg_server import MD5_PASSWORD, MD5_USER, SCRAM_PASSWORD, SCRAM_USER

OK = ("ok",)
RELAY_REFUSED = ("proxy", "08P01", "uniqguard: SCRAM channel binding cannot be relayed")
NO_SSL = ("libpq", "channel binding required, but SSL not in use")
NO_PLUS = ("libpq", "channel binding is required, but server did not offer an authentication "
                    "method that supports channel binding")
NOT_SASL = ("libpq", "channel binding required but not supported by server's authentication request")

# (method, client TLS, backend TLS, channel_binding) -> expected outcome
MATRIX = [
    # md5: no channel binding exists; only "require" refuses (in libpq).
    ("md5", "off", "off", "disable", OK),
    ("md5", "off", "off", "prefer", OK),
    ("md5", "off", "off", "require", NOT_SASL),
    ("md5", "off", "on", "disable", OK),
    ("md5", "off", "on", "prefer", OK),
    ("md5", "off", "on", "require", NOT_SASL),
    ("md5", "on", "off", "disable", OK),
    ("md5", "on", "off", "prefer", OK),
    ("md5", "on", "off", "require", NOT_SASL),
    ("md5", "on", "on", "disable", OK),
    ("md5", "on", "on", "prefer", OK),
    ("md5", "on", "on", "require", NOT_SASL),
    # SCRAM, plaintext client leg: the client cannot bind (gs2 'n'); the server accepts that.
    ("scram", "off", "off", "disable", OK),
    ("scram", "off", "off", "prefer", OK),
    ("scram", "off", "off", "require", NO_SSL),
    ("scram", "off", "on", "disable", OK),
    ("scram", "off", "on", "prefer", OK),
    ("scram", "off", "on", "require", NO_SSL),
    # SCRAM, TLS client leg, plaintext server leg: gs2 'y' is fine for a server without TLS.
    ("scram", "on", "off", "disable", OK),
    ("scram", "on", "off", "prefer", OK),
    ("scram", "on", "off", "require", NO_PLUS),
    # SCRAM, TLS on both legs: only channel_binding=disable can be relayed.
    ("scram", "on", "on", "disable", OK),
    ("scram", "on", "on", "prefer", RELAY_REFUSED),
    ("scram", "on", "on", "require", NO_PLUS),
]

CREDENTIALS = {"md5": (MD5_USER, MD5_PASSWORD), "scram": (SCRAM_USER, SCRAM_PASSWORD)}


@pytest.fixture(scope="module")
def proxies(pg, certs):
    """Both proxies offer TLS to clients; they differ in the server leg."""
    from harness.proxy import Proxy
    started = {"on": Proxy(pg.port, backend_tls="require", certs=certs).start(),
               "off": Proxy(pg.port, backend_tls="disable", certs=certs).start()}
    yield started
    for p in started.values():
        p.stop()


def _id(cell):
    method, client, backend, cb, _ = cell
    return f"{method}-client_tls_{client}-backend_tls_{backend}-cb_{cb}"


@pytest.mark.parametrize("cell", MATRIX, ids=[_id(c) for c in MATRIX])
def test_matrix(proxies, cell):
    method, client_tls, backend_tls, channel_binding, expected = cell
    user, password = CREDENTIALS[method]
    proxy = proxies[backend_tls]
    dsn = proxy.dsn(user=user, password=password, connect_timeout=10,
                    sslmode="require" if client_tls == "on" else "disable",
                    channel_binding=channel_binding)
    if expected == OK:
        conn = psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            cur.execute("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert cur.fetchone() == (user, backend_tls == "on")
            assert conn.info.ssl_in_use is (client_tls == "on")
        finally:
            conn.close()
        return
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(dsn)
    text = str(err.value)
    if expected[0] == "proxy":
        assert f"FATAL:  {expected[2]}" in text
        assert "HINT:  Connect with channel_binding=disable" in text
    else:
        assert expected[1] in text
        assert "FATAL" not in text  # libpq gave up by itself, before the server said anything
    assert proxy.process.poll() is None


def test_matrix_is_complete():
    cells = {(m, c, b, cb) for m, c, b, cb, _ in MATRIX}
    assert len(cells) == len(MATRIX) == 2 * 2 * 2 * 3


def test_docs_table_matches(pg):
    """docs/authentication.md carries the same table."""
    import os
    from harness.proxy import REPO
    with open(os.path.join(REPO, "docs", "authentication.md")) as f:
        doc = f.read()
    words = {OK: "succeeds", RELAY_REFUSED: "proxy refuses: `08P01`", NO_SSL: "libpq refuses",
             NO_PLUS: "libpq refuses", NOT_SASL: "libpq refuses"}
    for method, client, backend, cb, expected in MATRIX:
        row = (f"| {'SCRAM-SHA-256' if method == 'scram' else 'md5'} | {client} | {backend} | "
               f"`{cb}` | {words[expected]}")
        assert row in doc, f"docs/authentication.md lacks the row starting {row!r}"


# ------------------------------------------------------------------ the same, in raw bytes

def _raw_scram(proxy, client_tls, gs2, certs):
    c = pgwire.RawClient(proxy.port)
    if client_tls:
        assert c.start_tls(ca=certs["ca"]) == b"S"
    seen = c.startup(user=SCRAM_USER, password=SCRAM_PASSWORD, sasl_gs2=gs2)
    return c, seen


def test_raw_two_tls_legs_gs2_y_refused_with_08P01(proxies, certs):
    c, seen = _raw_scram(proxies["on"], True, b"y,,", certs)
    try:
        assert c.sasl_mechanisms == ["SCRAM-SHA-256"]  # the server's -PLUS was taken out
        fields = pgwire.error_of(seen)
        assert fields["S"] == "FATAL"
        assert fields["C"] == "08P01"
        assert fields["M"] == ("uniqguard: SCRAM channel binding cannot be relayed when both the "
                               "client and the database server connections use TLS")
        assert "channel_binding=disable" in fields["H"]
        assert 'set listen.auth = "terminate" on the proxy' in fields["H"]
        assert c.is_closed()
    finally:
        c.close()


def test_raw_two_tls_legs_gs2_n_relayed(proxies, certs):
    c, seen = _raw_scram(proxies["on"], True, b"n,,", certs)
    try:
        assert seen[-1] == ("Z", b"I")
        assert pgwire.rows_of(c.simple_query(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) == [["t"]]
    finally:
        c.close()


def test_raw_tls_client_plain_server_gs2_y_relayed(proxies, certs):
    c, seen = _raw_scram(proxies["off"], True, b"y,,", certs)
    try:
        assert c.sasl_mechanisms == ["SCRAM-SHA-256"]
        assert seen[-1] == ("Z", b"I")
    finally:
        c.close()


def test_raw_plain_client_tls_server_offer_has_no_plus(proxies, certs):
    """A client on a plaintext leg must not be offered SCRAM-SHA-256-PLUS either: it cannot
    bind to the server's channel, and libpq refuses a PLUS offer over a non-SSL connection."""
    c, seen = _raw_scram(proxies["on"], False, b"n,,", certs)
    try:
        assert c.sasl_mechanisms == ["SCRAM-SHA-256"]
        assert seen[-1] == ("Z", b"I")
    finally:
        c.close()
