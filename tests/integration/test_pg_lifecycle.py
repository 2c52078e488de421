"""The proxy's own lifecycle: an unreachable backend, max_clients, graceful shutdown."""
import signal
import socket
import threading
import time

import psycopg2
import pytest

from harness import pgwire
from harness.ports import free_port


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def server_backends(pg, application_name):
    return int(pg.psql_admin(
        f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application_name}'"))


def running_sleep(pg, application_name):
    return int(pg.psql_admin(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        f"AND application_name = '{application_name}' AND query LIKE '%pg_sleep%'")) == 1


# ----------------------------------------------------------------- unreachable backend

def test_unreachable_backend(make_proxy):
    dead_port = free_port()  # nobody listens here
    proxy = make_proxy(backend_port=dead_port)
    for attempt in range(2):
        with pytest.raises(psycopg2.OperationalError) as err:
            psycopg2.connect(proxy.dsn(connect_timeout=10))
        # libpq does not expose the SQLSTATE of a failed connection to psycopg2.
        assert err.value.pgcode in (None, "08006")
        assert "could not connect to the database server" in str(err.value)
        assert proxy.process.poll() is None, f"the proxy exited after attempt {attempt + 1}"
    c = pgwire.RawClient(proxy.port)
    try:
        fields = pgwire.error_of(c.startup())
        assert fields["S"] == "FATAL"
        assert fields["C"] == "08006"
        assert fields["M"] == (f"uniqguard: could not connect to the database server at "
                               f"127.0.0.1:{dead_port}: Connection refused")
        assert c.is_closed()
    finally:
        c.close()
    assert proxy.process.poll() is None
    assert "could not connect to the database server" in proxy.log_text()


# ----------------------------------------------------------------- max_clients

def _third_connection_refused(proxy, sslmode):
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(proxy.dsn(connect_timeout=10, sslmode=sslmode))
    assert "FATAL:  sorry, too many clients already" in str(err.value)


def test_max_clients(make_proxy):
    proxy = make_proxy(extra_listen="max_clients = 2")
    proxy.wait_until_no_clients()
    first = psycopg2.connect(proxy.dsn())
    second = psycopg2.connect(proxy.dsn())
    try:
        _third_connection_refused(proxy, "disable")
        c = pgwire.RawClient(proxy.port)
        try:
            c.send(pgwire.startup_message({"user": "postgres", "database": "app"}))
            t, body = c.read_message()
            assert t == "E"
            fields = pgwire.parse_fields(body)
            assert (fields["S"], fields["C"], fields["M"]) == (
                "FATAL", "53300", "sorry, too many clients already")
            assert c.is_closed()
        finally:
            c.close()
        # The two admitted sessions are unaffected.
        for conn in (first, second):
            cur = conn.cursor()
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        first.close()
    # A slot is free again once a session ends.
    def third_gets_in():
        try:
            psycopg2.connect(proxy.dsn()).close()
            return True
        except psycopg2.OperationalError:
            return False
    try:
        assert wait_for(third_gets_in, 3, 0.1)
    finally:
        second.close()


def test_max_clients_message_with_default_sslmode(make_proxy):
    """libpq's default sslmode=prefer opens with SSLRequest. The server answers the SSLRequest
    and only then says "sorry, too many clients already"; libpq (since the CVE-2024-10977 fix)
    no longer reads an error sent in place of the SSL answer byte, so a refusal written before
    the negotiation reaches the user as "server sent an error response during SSL exchange"."""
    proxy = make_proxy(extra_listen="max_clients = 1")
    proxy.wait_until_no_clients()
    first = psycopg2.connect(proxy.dsn())
    try:
        _third_connection_refused(proxy, "prefer")
    finally:
        first.close()


# ----------------------------------------------------------------- graceful shutdown

def test_graceful_shutdown(pg, make_proxy):
    proxy = make_proxy(shutdown_timeout_ms=5000)
    app = "uniqguard-shutdown-test"
    idle = psycopg2.connect(proxy.dsn(application_name=app))
    idle.autocommit = True
    idle.cursor().execute("SELECT 1")
    raw_idle = pgwire.RawClient(proxy.port)
    assert raw_idle.startup(extra={"application_name": app})[-1] == ("Z", b"I")
    busy = psycopg2.connect(proxy.dsn(application_name=app))
    busy.autocommit = True
    outcome = {}

    def run_busy():
        try:
            cur = busy.cursor()
            cur.execute("SELECT 42 FROM pg_sleep(2)")
            outcome["row"] = cur.fetchone()
        except Exception as e:  # reported by the assertions below
            outcome["error"] = e
        outcome["done"] = time.monotonic()

    thread = threading.Thread(target=run_busy)
    thread.start()
    try:
        assert wait_for(lambda: running_sleep(pg, app), 5)
        assert server_backends(pg, app) == 3
        signalled = time.monotonic()
        proxy.process.send_signal(signal.SIGTERM)

        # New connections are refused once the signal is handled. (A SYN that meets the
        # listener as it closes can go unanswered until the client resends it, 1 s later:
        # that attempt is given up and made again, as a client would.)
        def refused():
            try:
                socket.create_connection(("127.0.0.1", proxy.port), timeout=0.2).close()
                return False
            except (ConnectionRefusedError, ConnectionResetError):
                return True
            except TimeoutError:
                return False
        assert wait_for(refused, 1.0)

        # The idle raw session is told why, at once, and closed.
        t, body = raw_idle.read_message(timeout=2)
        assert t == "E"
        fields = pgwire.parse_fields(body)
        assert (fields["S"], fields["C"], fields["M"]) == (
            "FATAL", "57P01", "terminating connection due to administrator command")
        assert raw_idle.is_closed(timeout=2)
        assert time.monotonic() - signalled < 1.5

        # The idle libpq session's next query fails: the connection is gone. (libpq reports
        # "server closed the connection unexpectedly" here, exactly as when the server itself
        # terminates an idle session; the 57P01 message is checked on the raw session above.)
        with pytest.raises(psycopg2.OperationalError) as err:
            idle.cursor().execute("SELECT 1")
        assert ("terminating connection due to administrator command" in str(err.value)
                or "server closed the connection unexpectedly" in str(err.value))
        assert idle.closed != 0

        # The statement in flight completes and returns its result.
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert "error" not in outcome, outcome.get("error")
        assert outcome["row"] == (42,)
        # ... and then that session is closed too.
        with pytest.raises(psycopg2.OperationalError):
            busy.cursor().execute("SELECT 1")

        status = proxy.process.wait(timeout=6)
        exited = time.monotonic()
        assert status == 0
        assert exited - signalled < 4.5, "did not exit once the last statement had finished"
        assert "received SIGTERM" in proxy.log_text()
        # The proxy said goodbye to the server: no server session is left behind.
        assert wait_for(lambda: server_backends(pg, app) == 0, 3)
    finally:
        thread.join(timeout=30)
        for c in (idle, busy):
            c.close()
        raw_idle.close()


def test_shutdown_timeout_cuts_long_statement(pg, make_proxy):
    proxy = make_proxy(shutdown_timeout_ms=1000)
    app = "uniqguard-shutdown-timeout"
    busy = psycopg2.connect(proxy.dsn(application_name=app))
    busy.autocommit = True
    outcome = {}

    def run_busy():
        try:
            busy.cursor().execute("SELECT pg_sleep(30)")
            outcome["row"] = "finished"
        except psycopg2.Error as e:
            outcome["error"] = e
        outcome["done"] = time.monotonic()

    thread = threading.Thread(target=run_busy)
    thread.start()
    try:
        assert wait_for(lambda: running_sleep(pg, app), 5)
        signalled = time.monotonic()
        proxy.process.send_signal(signal.SIGTERM)
        status = proxy.process.wait(timeout=10)
        elapsed = time.monotonic() - signalled
        assert status == 0
        assert 0.9 <= elapsed <= 3.0, f"exited {elapsed:.2f} s after SIGTERM"
        thread.join(timeout=5)
        assert not thread.is_alive()
        assert isinstance(outcome.get("error"), psycopg2.OperationalError)
        assert outcome["done"] - signalled < 3.5
        assert "shutdown timeout: closing 1 sessions still busy" in proxy.log_text()
    finally:
        pg.psql_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      f"WHERE application_name = '{app}'")
        thread.join(timeout=30)
        busy.close()


def test_sigint_idle_proxy_exits_zero(make_proxy):
    proxy = make_proxy()
    psycopg2.connect(proxy.dsn()).close()
    proxy.process.send_signal(signal.SIGINT)
    assert proxy.process.wait(timeout=5) == 0
    assert "received SIGINT" in proxy.log_text()
