"""The MariaDB authentication matrix: {mysql_native_password, ed25519, a REQUIRE SSL account} x
client TLS x backend TLS x {PyMySQL, MySQLdb (MariaDB Connector/C), the mariadb CLI}, each cell
run straight to the server and through the proxy (docs/authentication.md, "MariaDB").

The proxy relays the login untouched but for the TLS of each leg, so every cell succeeds when
the server would accept the account over the server leg's security: native and ed25519 always,
REQUIRE SSL only when the server leg is TLS (the server sees the proxy's connection, whatever the
client's). A wrong password fails with the server's own 1045 and text, exactly as straight.
caching_sha2_password, which MariaDB 10.11 does not have, is covered by exchange-level unit tests
(tests/unit/protocol/mysql/auth_relay_test.cpp: fast path, full path on each pair of legs).
"""
import subprocess

import MySQLdb
import pymysql
import pytest

from harness.mariadb_server import (DATABASE, ED25519_PASSWORD, ED25519_USER, NATIVE_PASSWORD,
                                    NATIVE_USER, TLS_PASSWORD, TLS_USER)

ACCOUNTS = {
    "native": (NATIVE_USER, NATIVE_PASSWORD),
    "ed25519": (ED25519_USER, ED25519_PASSWORD),
    "require_ssl": (TLS_USER, TLS_PASSWORD),
}
CLIENTS = ["pymysql", "mysqldb", "cli"]


def login(client, port, user, password, client_tls, ca):
    """Logs in and answers ("ok", CURRENT_USER(), the server's Ssl_version for this session,
    whether the client's own socket is TLS: None where the client does not tell) or ("error",
    code, text, SQLSTATE: None where the client does not tell)."""
    sql = "SELECT CURRENT_USER(), VARIABLE_VALUE FROM information_schema.SESSION_STATUS " \
          "WHERE VARIABLE_NAME = 'SSL_VERSION'"
    if client == "cli":
        args = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", f"-u{user}",
                f"-p{password}", "-N", "-B", "--connect-timeout=10", DATABASE, "-e", sql]
        args += ["--ssl", f"--ssl-ca={ca}", "--ssl-verify-server-cert"] if client_tls else \
                ["--skip-ssl"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            # "ERROR 1045 (28000): Access denied for user ..."
            head, _, text = r.stderr.strip().partition(": ")
            _, code, sqlstate = head.split()
            return ("error", int(code), text, sqlstate.strip("()"))
        current, version = r.stdout.rstrip("\n").split("\t")
        return ("ok", current, version, None)
    try:
        if client == "pymysql":
            conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password=password,
                                   database=DATABASE, connect_timeout=10,
                                   ssl={"ca": ca} if client_tls else None)
        else:
            kw = {"ssl": {"ca": ca}} if client_tls else {}  # Connector/C 3.3: no TLS unasked
            conn = MySQLdb.connect(host="127.0.0.1", port=port, user=user, password=password,
                                   database=DATABASE, connect_timeout=10, **kw)
    except (pymysql.err.OperationalError, MySQLdb.OperationalError) as e:
        return ("error", e.args[0], e.args[1], None)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        current, version = cur.fetchone()
        client_leg = hasattr(conn._sock, "version") if client == "pymysql" else None
        return ("ok", current, version, client_leg)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def proxies(make_mysql_proxy_module):
    return {leg: make_mysql_proxy_module(leg) for leg in ("disable", "require")}


@pytest.fixture(scope="module")
def make_mysql_proxy_module(mariadb, certs):
    """Proxies shared by the module's cells, one per backend TLS setting (each cell is a login,
    not a proxy start)."""
    from harness.proxy import Proxy
    started = []

    def factory(backend_tls):
        p = Proxy(backend_port=mariadb.port, protocol="mysql", certs=certs,
                  backend_tls=backend_tls).start()
        started.append(p)
        return p

    yield factory
    # An ASan report or a crash during any cell fails the module, as make_mysql_proxy does.
    assert [p.stop() for p in started] == [0] * len(started)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("client_tls", [False, True], ids=["client-plain", "client-tls"])
@pytest.mark.parametrize("backend_tls", ["disable", "require"])
@pytest.mark.parametrize("account", list(ACCOUNTS))
def test_cell(account, backend_tls, client_tls, client, mariadb, certs, proxies):
    user, password = ACCOUNTS[account]
    via = login(client, proxies[backend_tls].port, user, password, client_tls, certs["ca"])
    server_leg_tls = backend_tls == "require"
    # Straight to the server with the security of the proxy's server leg: what the server is
    # asked to accept in this cell.
    straight = login(client, mariadb.port, user, password, server_leg_tls, certs["ca"])
    if account == "require_ssl" and not server_leg_tls:
        assert straight[:2] == ("error", 1045)
        assert via == straight
        return
    assert straight[:2] == ("ok", f"{user}@%")
    assert via[:2] == ("ok", f"{user}@%"), via
    # The server's session is TLS exactly when the proxy's server leg is.
    assert via[2].startswith("TLSv1.") if server_leg_tls else via[2] == "", via
    if client == "pymysql":
        assert via[3] == client_tls


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("client_tls", [False, True], ids=["client-plain", "client-tls"])
@pytest.mark.parametrize("account", ["native", "ed25519"])
def test_wrong_password_is_the_servers_refusal(account, client_tls, client, mariadb, certs,
                                               proxies):
    user, _ = ACCOUNTS[account]
    straight = login(client, mariadb.port, user, "not-the-password", client_tls, certs["ca"])
    via = login(client, proxies["require"].port, user, "not-the-password", client_tls,
                certs["ca"])
    assert straight == ("error", 1045,
                        f"Access denied for user '{user}'@'127.0.0.1' (using password: YES)",
                        "28000" if client == "cli" else None)
    assert via == straight
