"""TLS on each MySQL leg, chosen independently: toward the client as listen.tls_* say (the
client's SSLRequest), toward the server as backend.tls says."""
import subprocess
import tempfile

import MySQLdb
import pymysql
import pytest

from harness.certs import make_certificates
from harness.mariadb_server import (DATABASE, ED25519_PASSWORD, ED25519_USER, NATIVE_PASSWORD,
                                    NATIVE_USER, TLS_PASSWORD, TLS_USER)


def connect(proxy, user=NATIVE_USER, password=NATIVE_PASSWORD, ssl=None):
    return pymysql.connect(host="127.0.0.1", port=proxy.port, user=user, password=password,
                           database=DATABASE, ssl=ssl, connect_timeout=10)


def server_leg_cipher(conn):
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return cur.fetchone()[1]


def test_tls_on_both_legs_with_verified_certificates(make_mysql_proxy, certs):
    proxy = make_mysql_proxy(certs=certs, backend_tls="verify-full", tls_ca=certs["ca"])
    with connect(proxy, ssl={"ca": certs["ca"]}) as conn:
        assert conn._sock.version() in ("TLSv1.2", "TLSv1.3")  # the client leg
        assert server_leg_cipher(conn) != ""                   # the server leg
        with conn.cursor() as cur:
            cur.execute("SELECT REPEAT('t', 100000)")
            assert cur.fetchone() == ("t" * 100000,)


def test_ed25519_and_cli_over_tls_both_legs(make_mysql_proxy, certs):
    proxy = make_mysql_proxy(certs=certs, backend_tls="require")
    r = subprocess.run(
        ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{proxy.port}", f"-u{ED25519_USER}",
         f"-p{ED25519_PASSWORD}", "--ssl", f"--ssl-ca={certs['ca']}", "--ssl-verify-server-cert",
         "-N", "-B", DATABASE, "-e",
         "SELECT CURRENT_USER(); SHOW SESSION STATUS LIKE 'Ssl_version'"],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{ED25519_USER}@%"
    assert lines[1].startswith("Ssl_version\tTLSv1.")


def test_tls_client_over_plaintext_server_leg(make_mysql_proxy, certs):
    proxy = make_mysql_proxy(certs=certs, backend_tls="disable")
    with connect(proxy, ssl={"ca": certs["ca"]}) as conn:
        assert conn._sock.version() in ("TLSv1.2", "TLSv1.3")
        assert server_leg_cipher(conn) == ""
    # An account that REQUIRE SSL sees a plaintext connection on the server's side.
    with pytest.raises(pymysql.err.OperationalError) as e:
        connect(proxy, TLS_USER, TLS_PASSWORD, ssl={"ca": certs["ca"]})
    assert e.value.args[0] == 1045


def test_plaintext_client_over_tls_server_leg(make_mysql_proxy):
    proxy = make_mysql_proxy(backend_tls="prefer")
    with connect(proxy, TLS_USER, TLS_PASSWORD) as conn:
        assert not hasattr(conn._sock, "version")
        assert server_leg_cipher(conn) != ""
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            assert cur.fetchone() == (f"{TLS_USER}@%",)


def test_mysqldb_over_tls(make_mysql_proxy, certs):
    proxy = make_mysql_proxy(certs=certs, backend_tls="require")
    conn = MySQLdb.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                           password=NATIVE_PASSWORD, database=DATABASE, ssl={"ca": certs["ca"]})
    try:
        cur = conn.cursor()
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()[1].startswith("TLSv1.")
        cur.execute("SELECT 'over tls'")
        assert cur.fetchone() == ("over tls",)
    finally:
        conn.close()


def test_server_certificate_from_another_ca_is_refused(make_mysql_proxy):
    other = make_certificates(tempfile.mkdtemp(prefix="uniqguard-other-ca-"))
    proxy = make_mysql_proxy(backend_tls="verify-full", tls_ca=other["ca"])
    with pytest.raises(pymysql.err.OperationalError) as e:
        connect(proxy)
    assert e.value.args[0] == 2003
    assert "SSL handshake with the database server at 127.0.0.1:" in e.value.args[1]
    assert "certificate verify failed" in e.value.args[1]
