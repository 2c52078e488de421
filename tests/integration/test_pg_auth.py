"""Authentication relayed through the proxy: cleartext, md5 and SCRAM-SHA-256, right and wrong
passwords, with libpq clients and with a hand-written client that sees the exact bytes."""
import psycopg
import psycopg2
import pytest

from harness import pgwire
from harness.pg_server import (CLEAR_PASSWORD, CLEAR_USER, MD5_PASSWORD, MD5_USER, SCRAM_PASSWORD,
                               SCRAM_USER)

USERS = {
    "md5": (MD5_USER, MD5_PASSWORD, pgwire.AUTH_MD5),
    "scram": (SCRAM_USER, SCRAM_PASSWORD, pgwire.AUTH_SASL),
    "cleartext": (CLEAR_USER, CLEAR_PASSWORD, pgwire.AUTH_CLEARTEXT),
}


@pytest.mark.parametrize("method", list(USERS))
def test_password_methods_psycopg2(proxy, method):
    user, password, _ = USERS[method]
    conn = psycopg2.connect(proxy.dsn(user=user, password=password, connect_timeout=10))
    try:
        cur = conn.cursor()
        cur.execute("SELECT current_user, session_user, current_database()")
        assert cur.fetchone() == (user, user, "app")
    finally:
        conn.close()


@pytest.mark.parametrize("method", list(USERS))
def test_password_methods_psycopg3(proxy, method):
    user, password, _ = USERS[method]
    with psycopg.connect(proxy.dsn(user=user, password=password, connect_timeout=10)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (user,)


@pytest.mark.parametrize("method", list(USERS))
def test_password_methods_raw(proxy, method):
    """The client sees the server's own authentication request for each method."""
    user, password, code = USERS[method]
    c = pgwire.RawClient(proxy.port)
    try:
        seen = c.startup(user=user, password=password)
        types = [t for t, _ in seen]
        assert types[-1] == "Z", seen
        auth_requests = [int.from_bytes(body[:4], "big") for t, body in seen if t == "R"]
        if method == "scram":
            assert auth_requests[0] == pgwire.AUTH_SASL
            # Plaintext client leg, plaintext server leg: the server offers no -PLUS.
            assert c.sasl_mechanisms == ["SCRAM-SHA-256"]
            assert auth_requests[1:] == [pgwire.AUTH_SASL_CONTINUE, pgwire.AUTH_SASL_FINAL,
                                         pgwire.AUTH_OK]
        else:
            assert auth_requests == [code, pgwire.AUTH_OK]
        assert c.backend_key is not None
        assert c.parameters["server_encoding"] == "UTF8"
        assert pgwire.rows_of(c.simple_query("SELECT current_user")) == [[user]]
    finally:
        c.close()


@pytest.mark.parametrize("method", list(USERS))
def test_wrong_password_psycopg2(proxy, method):
    user, _, _ = USERS[method]
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(user=user, password="wrong", connect_timeout=10))
    assert f'FATAL:  password authentication failed for user "{user}"' in str(err.value)


@pytest.mark.parametrize("method", list(USERS))
def test_wrong_password_raw_sqlstate(proxy, method):
    user, _, _ = USERS[method]
    c = pgwire.RawClient(proxy.port)
    try:
        seen = c.startup(user=user, password="wrong")
        assert seen[-1][0] == "E"
        fields = pgwire.error_of(seen)
        assert fields["S"] == "FATAL"
        assert fields["C"] == "28P01"
        assert fields["M"] == f'password authentication failed for user "{user}"'
        assert c.is_closed()
    finally:
        c.close()


def test_missing_password(proxy):
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(user=MD5_USER, connect_timeout=10, passfile="/dev/null"))
    assert "no password supplied" in str(err.value)
    # The proxy is still fine.
    conn = psycopg2.connect(proxy.dsn(user=MD5_USER, password=MD5_PASSWORD))
    conn.close()


def test_unknown_role(proxy):
    c = pgwire.RawClient(proxy.port)
    try:
        seen = c.startup(user="nobody_here", password="x")
        fields = pgwire.error_of(seen)
        assert fields["C"] == "28000"
        assert fields["M"] == 'role "nobody_here" does not exist'
    finally:
        c.close()


def test_unknown_database(proxy):
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(database="no_such_db"))
    assert 'database "no_such_db" does not exist' in str(err.value)
