"""listen.auth = "terminate": SCRAM-SHA-256 ends at the proxy (src/proxy/pg_scram_terminate.cpp,
docs/authentication.md).

The proxy reads the role's verifier with its own account (listen.auth_query, here through a
SECURITY DEFINER function, the least-privilege setup the docs describe), runs the SCRAM exchange
with the client itself (offering SCRAM-SHA-256-PLUS bound to its own certificate on a TLS client
connection), recovers the ClientKey from the client's proof and logs in to the server with it.
md5 stays relayed.

The matrix {md5, SCRAM} x client TLS x backend TLS x channel_binding is run twice per cell,
straight to the server and through the proxy, with psycopg2 and with psql (both libpq): every
cell the server accepts directly must be accepted through the proxy, and every refusal must be
the same refusal. The proxy has a certificate of its own (not the server's), so a client that
binds through the proxy binds to the proxy's certificate.
"""
import os
import subprocess
import tempfile

import psycopg2
import pytest

from harness import pgwire
from harness.certs import make_certificates
from harness.pg_server import MD5_PASSWORD, MD5_USER, SCRAM_PASSWORD, SCRAM_USER, PgServer
from harness.proxy import Proxy

NOPASS_USER = "nopassuser"  # a role without a password, under a scram-sha-256 hba line
GHOST_USER = "ghostuser"    # no such role, under a scram-sha-256 hba line
ROTATING_USER = "rotatinguser"  # made and dropped by one test
MD5_SCRAM_USER, MD5_SCRAM_PASSWORD = "md5scramuser", "md5-under-scram"  # md5 verifier, scram line
AUTH_QUERY = "SELECT rolname, rolpassword FROM uniqguard_auth.lookup($1)"
CREDENTIALS = {"md5": (MD5_USER, MD5_PASSWORD), "scram": (SCRAM_USER, SCRAM_PASSWORD)}


def failed_for(user):
    return f'password authentication failed for user "{user}"'


@pytest.fixture(scope="module")
def server(certs):
    """A PostgreSQL of its own: its pg_hba.conf asks SCRAM of the two extra roles, and its app
    database holds the lookup function."""
    pg = PgServer(certs=certs,
                  extra_hba=f"host all {NOPASS_USER},{GHOST_USER},{ROTATING_USER},{MD5_SCRAM_USER} "
                            "127.0.0.1/32 scram-sha-256\n")
    pg.start()
    pg.psql_admin(f"CREATE ROLE {NOPASS_USER} LOGIN")
    pg.psql_admin(f"SET password_encryption = 'md5'; "
                  f"CREATE ROLE {MD5_SCRAM_USER} LOGIN PASSWORD '{MD5_SCRAM_PASSWORD}'")
    pg.psql_admin("""
        CREATE SCHEMA uniqguard_auth;
        CREATE FUNCTION uniqguard_auth.lookup(role_name text)
            RETURNS TABLE (rolname text, rolpassword text)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS
            $$ SELECT rolname::text, rolpassword FROM pg_catalog.pg_authid
               WHERE rolname = role_name AND rolcanlogin $$;
        REVOKE ALL ON FUNCTION uniqguard_auth.lookup(text) FROM PUBLIC;
        GRANT USAGE ON SCHEMA uniqguard_auth TO uniqguard;
        GRANT EXECUTE ON FUNCTION uniqguard_auth.lookup(text) TO uniqguard;
    """, database="app")
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def proxy_certs():
    """A certificate of the proxy's own, from another authority than the server's."""
    return make_certificates(tempfile.mkdtemp(prefix="uniqguard-proxy-certs-"))


def start_terminating(server, proxy_certs, backend_tls, auth_query=AUTH_QUERY):
    """auth_query None: the loader's default (pg_authid)."""
    extra = 'auth = "terminate"\n'
    if auth_query is not None:
        extra += f'auth_query = "{auth_query}"\n'
    return Proxy(server.port, backend_tls=backend_tls, certs=proxy_certs,
                 extra_listen=extra).start()


@pytest.fixture(scope="module")
def proxies(server, proxy_certs):
    started = {"on": start_terminating(server, proxy_certs, "require"),
               "off": start_terminating(server, proxy_certs, "disable")}
    yield started
    for p in started.values():
        assert p.stop() == 0


def _connect_psycopg2(dsn):
    """(True, (current_user, backend ssl)) or (False, error text)."""
    try:
        conn = psycopg2.connect(dsn)
    except psycopg2.OperationalError as e:
        return False, str(e)
    try:
        cur = conn.cursor()
        cur.execute("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return True, cur.fetchone()
    finally:
        conn.close()


def _connect_psql(dsn):
    r = subprocess.run(["psql", "-X", "-At", "-F", ",", "-d", dsn, "-c",
                        "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, PGPASSFILE="/dev/null"))
    if r.returncode != 0:
        return False, r.stderr
    user, ssl = r.stdout.strip().split(",")
    return True, (user, ssl == "t")


CONNECT = {"psycopg2": _connect_psycopg2, "psql": _connect_psql}

CELLS = [(m, c, b, cb) for m in ("md5", "scram") for c in ("off", "on") for b in ("off", "on")
         for cb in ("disable", "prefer", "require")]


def _libpq_reason(text):
    """The part of a libpq error that is the same whichever server it talks to (libpq prefixes
    'connection to server at "127.0.0.1", port N failed: ')."""
    return text.split("failed: ", 1)[-1].strip()


@pytest.mark.parametrize("client", list(CONNECT))
@pytest.mark.parametrize("cell", CELLS, ids=["-".join(c) for c in CELLS])
def test_matrix_as_direct(server, proxies, client, cell):
    method, client_tls, backend_tls, channel_binding = cell
    user, password = CREDENTIALS[method]
    params = dict(user=user, password=password, connect_timeout=10,
                  sslmode="require" if client_tls == "on" else "disable",
                  channel_binding=channel_binding)
    connect = CONNECT[client]
    direct_ok, direct = connect(server.dsn(**params))
    proxied_ok, proxied = connect(proxies[backend_tls].dsn(**params))
    assert proxied_ok == direct_ok, (direct, proxied)
    if direct_ok:
        assert direct == (user, client_tls == "on")
        assert proxied == (user, backend_tls == "on")
    else:
        assert _libpq_reason(proxied) == _libpq_reason(direct)
    # Cells libpq refuses by itself, direct and through the proxy alike.
    refused = channel_binding == "require" and (method == "md5" or client_tls == "off")
    assert direct_ok is not refused, direct


@pytest.mark.parametrize("client", list(CONNECT))
def test_channel_binding_require_over_tls_binds_to_the_proxy(proxies, client):
    """SCRAM-SHA-256-PLUS through the proxy, on both kinds of server leg; libpq checks the
    binding against the certificate it sees, which is the proxy's."""
    for backend_tls in ("on", "off"):
        ok, result = CONNECT[client](proxies[backend_tls].dsn(
            user=SCRAM_USER, password=SCRAM_PASSWORD, sslmode="require",
            channel_binding="require", connect_timeout=10))
        assert ok, result
        assert result == (SCRAM_USER, backend_tls == "on")


@pytest.mark.parametrize("client", list(CONNECT))
@pytest.mark.parametrize("user", [SCRAM_USER, GHOST_USER, NOPASS_USER])
def test_wrong_password_and_unknown_roles_fail_as_on_the_server(server, proxies, client, user):
    params = dict(user=user, password="wrong", connect_timeout=10, sslmode="require")
    ok_direct, direct = CONNECT[client](server.dsn(**params))
    ok_proxied, proxied = CONNECT[client](proxies["on"].dsn(**params))
    assert not ok_direct and not ok_proxied
    assert f"FATAL:  {failed_for(user)}" in direct
    assert f"FATAL:  {failed_for(user)}" in proxied


@pytest.mark.parametrize("client", list(CONNECT))
def test_md5_verifier_under_a_scram_line_fails_as_on_the_server(server, proxies, client):
    """The server cannot run SCRAM against an md5 hash, so even the right password fails; the
    proxy's auth query finds no SCRAM verifier and fails the same way, at the same step."""
    params = dict(user=MD5_SCRAM_USER, password=MD5_SCRAM_PASSWORD, connect_timeout=10,
                  sslmode="require")
    ok_direct, direct = CONNECT[client](server.dsn(**params))
    ok_proxied, proxied = CONNECT[client](proxies["on"].dsn(**params))
    assert not ok_direct and not ok_proxied
    assert f"FATAL:  {failed_for(MD5_SCRAM_USER)}" in direct
    assert f"FATAL:  {failed_for(MD5_SCRAM_USER)}" in proxied


@pytest.mark.parametrize("user", [SCRAM_USER, GHOST_USER, NOPASS_USER])
@pytest.mark.parametrize("client_tls", [False, True])
def test_wrong_password_raw_fields(proxies, certs, user, client_tls):
    """The exact ErrorResponse: FATAL, 28P01, the server's text; for a role that does not exist
    the exchange looks the same (a salt, 4096 iterations) and fails the same."""
    c = pgwire.RawClient(proxies["on"].port)
    try:
        if client_tls:
            assert c.start_tls() == b"S"
        seen = c.startup(user=user, password="wrong")
        assert c.sasl_mechanisms == (["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"] if client_tls
                                     else ["SCRAM-SHA-256"])
        auth = [int.from_bytes(body[:4], "big") for t, body in seen if t == "R"]
        assert auth == [pgwire.AUTH_SASL, pgwire.AUTH_SASL_CONTINUE]
        server_first = [body[4:].decode() for t, body in seen if t == "R"][1]
        assert server_first.endswith(",i=4096")
        fields = pgwire.error_of(seen)
        assert (fields["S"], fields["C"], fields["M"]) == ("FATAL", "28P01", failed_for(user))
        assert seen[-1][0] == "E"
        assert c.is_closed()
    finally:
        c.close()


def test_right_password_raw_exchange(proxies):
    c = pgwire.RawClient(proxies["off"].port)
    try:
        seen = c.startup(user=SCRAM_USER, password=SCRAM_PASSWORD)
        auth = [int.from_bytes(body[:4], "big") for t, body in seen if t == "R"]
        assert auth == [pgwire.AUTH_SASL, pgwire.AUTH_SASL_CONTINUE, pgwire.AUTH_SASL_FINAL,
                        pgwire.AUTH_OK]
        assert seen[-1] == ("Z", b"I")
        assert c.backend_key is not None
        assert pgwire.rows_of(c.simple_query("SELECT current_user")) == [[SCRAM_USER]]
    finally:
        c.close()


def test_downgrade_flag_refused_as_the_server_does(proxies, certs):
    """gs2 'y' on a TLS connection, where -PLUS was offered: the server's own answer."""
    c = pgwire.RawClient(proxies["on"].port)
    try:
        assert c.start_tls() == b"S"
        seen = c.startup(user=SCRAM_USER, password=SCRAM_PASSWORD, sasl_gs2=b"y,,")
        fields = pgwire.error_of(seen)
        assert (fields["S"], fields["C"], fields["M"]) == (
            "FATAL", "28000", "SCRAM channel binding negotiation error")
        assert fields["D"] == ("The client supports SCRAM channel binding but thinks the server "
                               "does not.  However, this server does support channel binding.")
    finally:
        c.close()


def test_md5_is_relayed(proxies):
    c = pgwire.RawClient(proxies["on"].port)
    try:
        seen = c.startup(user=MD5_USER, password=MD5_PASSWORD)
        auth = [int.from_bytes(body[:4], "big") for t, body in seen if t == "R"]
        assert auth == [pgwire.AUTH_MD5, pgwire.AUTH_OK]
        assert seen[-1] == ("Z", b"I")
    finally:
        c.close()


def test_changed_password_applies_at_once(server, proxies):
    """Nothing is cached: the next login reads the new verifier."""
    server.psql_admin(f"CREATE ROLE {ROTATING_USER} LOGIN PASSWORD 'first'")
    try:
        dsn = dict(user=ROTATING_USER, sslmode="disable", connect_timeout=10)
        assert _connect_psycopg2(proxies["off"].dsn(password="first", **dsn)) == (
            True, (ROTATING_USER, False))
        server.psql_admin(f"ALTER ROLE {ROTATING_USER} PASSWORD 'second'")
        ok, text = _connect_psycopg2(proxies["off"].dsn(password="first", **dsn))
        assert not ok
        assert f"FATAL:  {failed_for(ROTATING_USER)}" in text
        assert _connect_psycopg2(proxies["off"].dsn(password="second", **dsn)) == (
            True, (ROTATING_USER, False))
    finally:
        server.psql_admin(f"DROP ROLE {ROTATING_USER}")


def test_auth_query_without_privilege_fails_clearly(server, proxy_certs):
    """The default query reads pg_authid, which only a superuser may: the client is told to
    look at the proxy's log, the log says why; no password or verifier is in either."""
    p = start_terminating(server, proxy_certs, "disable", auth_query=None)
    try:
        ok, text = _connect_psycopg2(p.dsn(user=SCRAM_USER, password=SCRAM_PASSWORD,
                                           sslmode="disable", connect_timeout=10))
        assert not ok
        assert "FATAL:  uniqguard: cannot authenticate at the proxy now; see its log" in text
        log = p.log_text()
        assert "listen.auth_query failed: ERROR 42501: permission denied for table pg_authid" in log
    finally:
        assert p.stop() == 0
    assert SCRAM_PASSWORD not in p.final_log
    assert "SCRAM-SHA-256$" not in p.final_log


def test_no_secret_in_the_log_at_trace(server, proxy_certs):
    """Also: which mechanism each leg used. The client binds to the proxy's certificate with
    channel_binding=prefer, the proxy binds to the server's on a TLS server leg (the server
    checks that binding itself), and neither binds over plaintext."""
    logs = {}
    for backend_tls in ("require", "disable"):
        p = Proxy(server.port, backend_tls=backend_tls, certs=proxy_certs, log_level="trace",
                  extra_listen=f'auth = "terminate"\nauth_query = "{AUTH_QUERY}"\n').start()
        try:
            for password in (SCRAM_PASSWORD, "wrong"):
                _connect_psycopg2(p.dsn(user=SCRAM_USER, password=password, sslmode="require",
                                        connect_timeout=10))
            _connect_psycopg2(p.dsn(user=SCRAM_USER, password=SCRAM_PASSWORD,
                                    sslmode="disable", connect_timeout=10))
        finally:
            assert p.stop() == 0
        logs[backend_tls] = p.final_log
    assert logs["require"].count("SCRAM authenticated at the proxy (client: SCRAM-SHA-256-PLUS; "
                                 "server: SCRAM-SHA-256-PLUS)") == 1
    assert logs["require"].count("SCRAM authenticated at the proxy (client: SCRAM-SHA-256; "
                                 "server: SCRAM-SHA-256-PLUS)") == 1
    assert logs["disable"].count("SCRAM authenticated at the proxy (client: SCRAM-SHA-256-PLUS; "
                                 "server: SCRAM-SHA-256)") == 1
    assert logs["disable"].count("SCRAM authenticated at the proxy (client: SCRAM-SHA-256; "
                                 "server: SCRAM-SHA-256)") == 1
    for log in logs.values():
        assert log.count(f"authentication at the proxy failed: {failed_for(SCRAM_USER)} "
                         "(28P01)") == 1
    verifier = server.psql_admin(
        f"SELECT rolpassword FROM pg_authid WHERE rolname = '{SCRAM_USER}'").strip()
    stored, server_key = verifier.split("$")[2].split(":")
    for secret in (SCRAM_PASSWORD, verifier, stored, server_key, "SCRAM-SHA-256$"):
        for log in logs.values():
            assert secret not in log, secret


@pytest.mark.parametrize("sent, message", [
    (pgwire.query("SELECT 1"), "expected SASL response, got message type 81"),
    (b"p\x00\x00\x00\x02", "invalid message length"),
    # A SASLInitialResponse with a byte after its response (the server: pq_getmsgend).
    (pgwire.message(b"p", b"SCRAM-SHA-256\x00" + (14).to_bytes(4, "big") + b"n,,n=,r=abcdefx"),
     "invalid message format"),
])
def test_not_a_sasl_response_gets_08P01(proxies, sent, message):
    c = pgwire.RawClient(proxies["off"].port)
    try:
        c.send(pgwire.startup_message({"user": SCRAM_USER, "database": "app"}))
        t, body = c.read_message()
        assert (t, int.from_bytes(body[:4], "big")) == ("R", pgwire.AUTH_SASL)
        c.send(sent)
        t, body = c.read_message()
        assert t == "E"
        fields = pgwire.parse_fields(body)
        assert (fields["S"], fields["C"], fields["M"]) == ("FATAL", "08P01", message)
        assert c.is_closed()
    finally:
        c.close()
