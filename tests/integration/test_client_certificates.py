"""Client-certificate logins cannot pass through TLS termination (docs/authentication.md,
"Client certificates"): the client's certificate ends at the proxy, and the server sees the
proxy's connection, which presents none. The server's refusal reaches the client with the proxy's
explanation: a HINT on PostgreSQL, words after the server's message on MariaDB. A direct
connection with the same certificate succeeds, so the refusal is the proxy's doing, and said so.
"""
import os
import socket
import ssl
import tempfile

import psycopg2
import pymysql
import pytest

from harness import pgwire
from harness.certs import make_certificates, make_client_certificate
from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.pg_server import PgServer

CERT_USER = "certuser"
EXPLANATION = (
    "uniqguard terminates TLS, so a client certificate cannot reach the database server, which "
    "sees the proxy's connection: if this user is to log in with a certificate, give it a "
    "password for the proxy's address instead (see uniqguard's docs/authentication.md, \"Client "
    "certificates\")")


@pytest.fixture(scope="module")
def cert_pg():
    """A PostgreSQL that checks client certificates against the test CA, with a `cert` login
    for CERT_USER over TLS."""
    certs = make_certificates(tempfile.mkdtemp(prefix="uniqguard-certauth-"))
    server = PgServer(certs=certs, extra_conf="ssl_ca_file = 'ca.crt'",
                      extra_hba=f"hostssl all {CERT_USER} 127.0.0.1/32 cert\n")
    server.start()
    server.psql_admin(f"CREATE ROLE {CERT_USER} LOGIN")
    server.certs = certs
    server.client = make_client_certificate(os.path.dirname(certs["ca"]), CERT_USER)
    yield server
    server.stop()


def pg_cert_dsn(port, server):
    return (f"host=127.0.0.1 port={port} user={CERT_USER} dbname=app sslmode=verify-ca "
            f"sslrootcert={server.certs['ca']} sslcert={server.client['cert']} "
            f"sslkey={server.client['key']} connect_timeout=10")


def test_postgres_cert_login_is_refused_with_the_reason(cert_pg, make_proxy):
    with psycopg2.connect(pg_cert_dsn(cert_pg.port, cert_pg)) as direct:
        with direct.cursor() as cur:
            cur.execute("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert cur.fetchone() == (CERT_USER, True)
    direct.close()
    proxy = make_proxy(backend_port=cert_pg.port, backend_tls="require",
                       certs=cert_pg.certs)
    with pytest.raises(psycopg2.OperationalError) as e:
        psycopg2.connect(pg_cert_dsn(proxy.port, cert_pg))
    assert e.value.pgcode is None  # libpq reports a failed connection without a SQLSTATE
    text = str(e.value)
    assert text.endswith("FATAL:  connection requires a valid client certificate\n"
                         f"HINT:  {EXPLANATION}.\n"), text
    assert ("the server requires a client certificate, which cannot pass through the proxy"
            in proxy.log_text())


def test_postgres_other_refusals_stay_the_servers(cert_pg, make_proxy):
    """A wrong password under another hba line keeps the server's text and no hint."""
    proxy = make_proxy(backend_port=cert_pg.port, backend_tls="require", certs=cert_pg.certs)
    dsn = proxy.dsn(user="md5user", password="wrong", sslmode="require", connect_timeout=10)
    with pytest.raises(psycopg2.OperationalError) as e:
        psycopg2.connect(dsn)
    assert str(e.value).endswith('FATAL:  password authentication failed for user "md5user"\n')


@pytest.fixture(scope="module")
def x509_user(mariadb, certs):
    """A MariaDB account that must log in with a certificate from the test CA (the shared
    server's --ssl-ca)."""
    client = make_client_certificate(os.path.dirname(certs["ca"]), "x509user")
    mariadb.sql(f"CREATE USER IF NOT EXISTS 'x509user'@'%' REQUIRE X509;"
                f"GRANT SELECT ON {DATABASE}.* TO 'x509user'@'%';")
    yield client
    mariadb.sql("DROP USER IF EXISTS 'x509user'@'%';")


def mysql_connect(port, certs, client=None):
    ssl = {"ca": certs["ca"]}
    if client:
        ssl.update(cert=client["cert"], key=client["key"])
    return pymysql.connect(host="127.0.0.1", port=port, user="x509user", password="",
                           database=DATABASE, ssl=ssl, connect_timeout=10)


def test_mariadb_require_x509_is_refused_with_the_reason(mariadb, certs, x509_user,
                                                          make_mysql_proxy):
    with mysql_connect(mariadb.port, certs, x509_user) as direct, direct.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == ("x509user@%",)
    # Without a certificate the server's own refusal, straight or through the proxy.
    with pytest.raises(pymysql.err.OperationalError) as straight:
        mysql_connect(mariadb.port, certs)
    proxy = make_mysql_proxy(certs=certs, backend_tls="require")
    with pytest.raises(pymysql.err.OperationalError) as plain:
        mysql_connect(proxy.port, certs)
    assert plain.value.args == straight.value.args
    assert straight.value.args[0] == 1045
    # With one: the same refusal, and why.
    with pytest.raises(pymysql.err.OperationalError) as e:
        mysql_connect(proxy.port, certs, x509_user)
    assert e.value.args == (1045, straight.value.args[1] + "; " + EXPLANATION)


def test_a_wrong_password_with_a_certificate_keeps_the_servers_words(mariadb, certs, x509_user,
                                                                      make_mysql_proxy):
    """The proxy cannot tell an X509 account's refusal from a wrong password (both are 1045): a
    client that presents a certificate and mistypes its password gets the server's text, then
    the explanation, which says when it applies."""
    ssl = {"ca": certs["ca"], "cert": x509_user["cert"], "key": x509_user["key"]}
    with pytest.raises(pymysql.err.OperationalError) as straight:
        pymysql.connect(host="127.0.0.1", port=mariadb.port, user=NATIVE_USER, password="wrong",
                        database=DATABASE, ssl=ssl, connect_timeout=10)
    proxy = make_mysql_proxy(certs=certs, backend_tls="require")
    with pytest.raises(pymysql.err.OperationalError) as via:
        pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER, password="wrong",
                        database=DATABASE, ssl=ssl, connect_timeout=10)
    assert straight.value.args == (
        1045, f"Access denied for user '{NATIVE_USER}'@'127.0.0.1' (using password: YES)")
    assert via.value.args == (1045, straight.value.args[1] + "; " + EXPLANATION)


def test_a_client_certificate_does_not_disturb_a_password_login(mariadb, certs, x509_user,
                                                                 make_mysql_proxy, make_proxy):
    """The proxy asks TLS clients for a certificate without requiring or checking one: a client
    that sends one and logs in by password is served as before, on both protocols."""
    proxy = make_mysql_proxy(certs=certs, backend_tls="require")
    conn = pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                           password=NATIVE_PASSWORD, database=DATABASE,
                           ssl={"ca": certs["ca"], "cert": x509_user["cert"],
                                "key": x509_user["key"]}, connect_timeout=10)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 'with a certificate'")
        assert cur.fetchone() == ("with a certificate",)
    pg_proxy = make_proxy(certs=certs, backend_tls="require")
    with psycopg2.connect(pg_proxy.dsn(user="postgres", sslmode="verify-ca",
                                       sslrootcert=certs["ca"], sslcert=x509_user["cert"],
                                       sslkey=x509_user["key"], connect_timeout=10)) as c:
        with c.cursor() as cur:
            cur.execute("SELECT 'pg with a certificate'")
            assert cur.fetchone() == ("pg with a certificate",)
    c.close()


def test_tls_sessions_resume_although_a_certificate_is_asked_for(make_proxy, certs):
    """Asking for a client certificate needs a session id context, without which OpenSSL aborts
    a resumed handshake: a client resumes its TLS session on its second connection, with and
    without a certificate of its own."""
    proxy = make_proxy(certs=certs)
    mine = make_client_certificate(os.path.dirname(certs["ca"]), "resumer")
    for cert in (None, mine):
        ctx = ssl.create_default_context(cafile=certs["ca"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the session is known after the handshake
        if cert:
            ctx.load_cert_chain(cert["cert"], cert["key"])
        session = None
        for attempt in range(2):
            raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
            raw.sendall(pgwire.ssl_request())
            assert raw.recv(1) == b"S"
            tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
            tls.sendall(pgwire.startup_message({"user": "postgres", "database": "app"}))
            assert tls.recv(1) == b"R"  # the server's first authentication message
            assert tls.session_reused == (attempt == 1)
            session = tls.session
            tls.close()
