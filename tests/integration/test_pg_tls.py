"""TLS on each leg: toward the client (listen.tls_cert) and toward the server (backend.tls)."""
import tempfile

import psycopg2
import pytest

from harness import pgwire
from harness.certs import make_certificates
from harness.pg_server import PgServer

SERVER_SSL = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="module")
def plain_pg():
    """A second server with ssl off."""
    server = PgServer(certs=None).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def other_certs():
    """A second, unrelated certificate authority."""
    return make_certificates(tempfile.mkdtemp(prefix="uniqguard-othercerts-"))


def query_one(dsn, sql):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchone(), conn.info.ssl_in_use
    finally:
        conn.close()


def test_client_tls_require(make_proxy, certs):
    proxy = make_proxy(certs=certs)
    (server_ssl,), client_ssl = query_one(proxy.dsn(sslmode="require"), SERVER_SSL)
    assert client_ssl is True
    assert server_ssl is False  # backend.tls = "disable": the server leg is plaintext


def test_client_tls_verify_full(make_proxy, certs):
    proxy = make_proxy(certs=certs)
    conn = psycopg2.connect(proxy.dsn(sslmode="verify-full", sslrootcert=certs["ca"]))
    try:
        assert conn.info.ssl_in_use
        assert conn.info.ssl_attribute("protocol") in ("TLSv1.2", "TLSv1.3")
        cur = conn.cursor()
        cur.execute("SELECT repeat('t', 1000000)")  # a large result over TLS
        assert len(cur.fetchone()[0]) == 1000000
    finally:
        conn.close()


def test_client_tls_wrong_root_rejected_by_client(make_proxy, certs, other_certs):
    proxy = make_proxy(certs=certs)
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(sslmode="verify-full", sslrootcert=other_certs["ca"]))
    assert "certificate verify failed" in str(err.value)


def test_client_plaintext_on_tls_proxy(make_proxy, certs):
    proxy = make_proxy(certs=certs)
    (server_ssl,), client_ssl = query_one(proxy.dsn(sslmode="disable"), SERVER_SSL)
    assert (client_ssl, server_ssl) == (False, False)


def test_client_requires_tls_proxy_without(proxy):
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(sslmode="require"))
    assert "server does not support SSL, but SSL was required" in str(err.value)


def test_raw_tls_client(make_proxy, certs):
    proxy = make_proxy(certs=certs)
    c = pgwire.RawClient(proxy.port)
    try:
        assert c.start_tls(ca=certs["ca"]) == b"S"
        seen = c.startup()
        assert seen[-1] == ("Z", b"I")
        assert pgwire.rows_of(c.simple_query(SERVER_SSL)) == [["f"]]
    finally:
        c.close()


def test_backend_tls_require(make_proxy):
    proxy = make_proxy(backend_tls="require")
    (server_ssl,), client_ssl = query_one(proxy.dsn(sslmode="disable"), SERVER_SSL)
    assert (client_ssl, server_ssl) == (False, True)


def test_backend_tls_verify_full(make_proxy, certs):
    proxy = make_proxy(backend_tls="verify-full", tls_ca=certs["ca"])
    (server_ssl,), _ = query_one(proxy.dsn(sslmode="disable"), SERVER_SSL)
    assert server_ssl is True


def test_both_legs_tls(make_proxy, certs):
    proxy = make_proxy(certs=certs, backend_tls="verify-full", tls_ca=certs["ca"])
    (server_ssl,), client_ssl = query_one(proxy.dsn(sslmode="require"), SERVER_SSL)
    assert (client_ssl, server_ssl) == (True, True)


def test_backend_verify_full_wrong_ca(make_proxy, other_certs):
    proxy = make_proxy(backend_tls="verify-full", tls_ca=other_certs["ca"])
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(connect_timeout=10))
    assert "SSL" in str(err.value)
    c = pgwire.RawClient(proxy.port)
    try:
        fields = pgwire.error_of(c.startup())
        assert fields["S"] == "FATAL"
        assert fields["C"] == "08006"
        assert "SSL" in fields["M"]
        assert "certificate verify failed" in fields["M"]
        assert c.is_closed()
    finally:
        c.close()
    assert proxy.process.poll() is None


def test_backend_tls_require_server_without_ssl(make_proxy, plain_pg):
    proxy = make_proxy(backend_port=plain_pg.port, backend_tls="require")
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(connect_timeout=10))
    assert "does not support SSL" in str(err.value)
    c = pgwire.RawClient(proxy.port)
    try:
        fields = pgwire.error_of(c.startup())
        assert fields["C"] == "08006"
        assert fields["M"] == (f"uniqguard: the database server at 127.0.0.1:{plain_pg.port} does "
                               "not support SSL, but backend.tls requires it")
    finally:
        c.close()
    assert proxy.process.poll() is None


def test_backend_tls_prefer_server_without_ssl(make_proxy, plain_pg):
    proxy = make_proxy(backend_port=plain_pg.port, backend_tls="prefer")
    (server_ssl,), _ = query_one(proxy.dsn(), SERVER_SSL)
    assert server_ssl is False
