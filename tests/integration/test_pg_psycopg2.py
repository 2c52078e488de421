"""psycopg2 (libpq, simple query protocol with client-side parameters) through the proxy."""
import hashlib
import io
import os
import select
import threading
import time

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest


@pytest.fixture
def conn(proxy):
    c = psycopg2.connect(proxy.dsn(connect_timeout=10))
    yield c
    c.close()


def direct(pg, sql):
    return pg.psql_admin(sql, database="app")


def test_parameters_inlined(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s::int + %s, %s, %s IS NULL, %s::text",
                (40, 2, "o'clock \\ \"q\" é", None, b"\x00\xff".hex()))
    assert cur.fetchone() == (42, "o'clock \\ \"q\" é", True, "00ff")
    # psycopg2 quotes client-side: the server received one literal query string.
    assert cur.query == b"SELECT 40::int + 2, 'o''clock \\ \"q\" \xc3\xa9', NULL IS NULL, '00ff'::text"
    cur.execute("SELECT %(a)s || %(b)s", {"a": "x", "b": "y"})
    assert cur.fetchone() == ("xy",)


def test_transactions_commit_and_rollback(pg, proxy, conn):
    direct(pg, "DROP TABLE IF EXISTS p2_tx; CREATE TABLE p2_tx (id int PRIMARY KEY, v text)")
    cur = conn.cursor()
    cur.execute("INSERT INTO p2_tx VALUES (1, 'rolled back')")
    assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
    conn.rollback()
    assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    assert direct(pg, "SELECT count(*) FROM p2_tx") == "0\n"

    cur.execute("INSERT INTO p2_tx VALUES (2, 'committed')")
    # Not visible to others before COMMIT.
    assert direct(pg, "SELECT count(*) FROM p2_tx") == "0\n"
    conn.commit()
    assert direct(pg, "SELECT id, v FROM p2_tx") == "2|committed\n"

    # An error aborts the transaction; rollback recovers it.
    with pytest.raises(psycopg2.errors.UniqueViolation) as err:
        cur.execute("INSERT INTO p2_tx VALUES (2, 'duplicate')")
    assert err.value.pgcode == "23505"
    assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
    with pytest.raises(psycopg2.errors.InFailedSqlTransaction):
        cur.execute("SELECT 1")
    conn.rollback()
    cur.execute("SELECT count(*) FROM p2_tx")
    assert cur.fetchone() == (1,)

    # Savepoints.
    cur.execute("INSERT INTO p2_tx VALUES (3, 'kept')")
    cur.execute("SAVEPOINT s")
    cur.execute("INSERT INTO p2_tx VALUES (4, 'undone')")
    cur.execute("ROLLBACK TO SAVEPOINT s")
    conn.commit()
    assert direct(pg, "SELECT string_agg(id::text, ',' ORDER BY id) FROM p2_tx") == "2,3\n"


def test_server_side_cursor(conn):
    cur = conn.cursor(name="big_scan")
    cur.itersize = 1000
    cur.execute("SELECT g, md5(g::text) FROM generate_series(1, 10000) g ORDER BY g")
    chunks = []
    while True:
        rows = cur.fetchmany(1500)
        if not rows:
            break
        chunks.append(rows)
    assert [len(c) for c in chunks] == [1500] * 6 + [1000]
    rows = [r for c in chunks for r in c]
    assert [r[0] for r in rows] == list(range(1, 10001))
    assert rows[9999] == (10000, hashlib.md5(b"10000").hexdigest())
    cur.close()
    # Iteration with itersize fetches in chunks of 1000 (FETCH FORWARD 1000).
    cur = conn.cursor(name="iter_scan")
    cur.itersize = 1000
    cur.execute("SELECT g FROM generate_series(1, 10000) g")
    total = sum(r[0] for r in cur)
    assert total == 50005000
    cur.close()
    conn.commit()


def test_large_bytea_round_trip(pg, conn):
    direct(pg, "DROP TABLE IF EXISTS p2_blob; CREATE TABLE p2_blob (id int, b bytea)")
    payload = os.urandom(5 * 1024 * 1024)
    cur = conn.cursor()
    cur.execute("INSERT INTO p2_blob VALUES (1, %s)", (psycopg2.Binary(payload),))
    conn.commit()
    assert direct(pg, "SELECT length(b), md5(b) FROM p2_blob") == \
        f"{len(payload)}|{hashlib.md5(payload).hexdigest()}\n"
    cur.execute("SELECT b FROM p2_blob WHERE id = 1")
    got = cur.fetchone()[0]
    assert bytes(got) == payload


def test_large_text_result(conn):
    cur = conn.cursor()
    size = 20 * 1024 * 1024
    cur.execute("SELECT repeat('abcdefgh', %s) || 'END'", (size // 8,))
    value = cur.fetchone()[0]
    assert len(value) == size + 3
    assert value.startswith("abcdefghabcdefgh") and value.endswith("abcdefghEND")
    # The session is usable afterwards.
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)


def test_copy_expert_both_ways(pg, conn):
    direct(pg, "DROP TABLE IF EXISTS p2_copy; CREATE TABLE p2_copy (id int, t text, n numeric)")
    lines = [f"{i}\tvalue {i} with \\\\ backslash\t{i / 8}" for i in range(1, 5001)]
    data = "\n".join(lines) + "\n"
    cur = conn.cursor()
    cur.copy_expert("COPY p2_copy FROM STDIN", io.StringIO(data))
    assert cur.rowcount == 5000
    conn.commit()
    assert direct(pg, "SELECT count(*), sum(id), sum(n) FROM p2_copy") == "5000|12502500|1562812.500\n"
    out = io.StringIO()
    cur.copy_expert("COPY (SELECT * FROM p2_copy ORDER BY id) TO STDOUT", out)
    assert out.getvalue() == data
    out = io.StringIO()
    cur.copy_expert("COPY p2_copy TO STDOUT WITH (FORMAT csv)", out)
    assert len(out.getvalue().splitlines()) == 5000
    # A COPY that fails leaves a usable session.
    conn.rollback()
    with pytest.raises(psycopg2.errors.InvalidTextRepresentation):
        cur.copy_expert("COPY p2_copy FROM STDIN", io.StringIO("1\tx\t1\nnot-a-number\tx\t1\n"))
    conn.rollback()
    cur.execute("SELECT count(*) FROM p2_copy")
    assert cur.fetchone() == (5000,)


def test_listen_notify(proxy):
    listener = psycopg2.connect(proxy.dsn())
    notifier = psycopg2.connect(proxy.dsn())
    try:
        listener.autocommit = True
        notifier.autocommit = True
        listener.cursor().execute("LISTEN uniqguard_channel")
        ncur = notifier.cursor()
        ncur.execute("NOTIFY uniqguard_channel, 'payload one'")
        ncur.execute("SELECT pg_notify('uniqguard_channel', 'payload ' || 'two')")
        ncur.execute("SELECT pg_backend_pid()")
        notifier_pid = ncur.fetchone()[0]
        received = []
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:
            # The notifications arrive asynchronously: nothing is asked of the listener.
            if select.select([listener], [], [], 0.5)[0]:
                listener.poll()
                while listener.notifies:
                    received.append(listener.notifies.pop(0))
        assert [(n.channel, n.payload, n.pid) for n in received] == [
            ("uniqguard_channel", "payload one", notifier_pid),
            ("uniqguard_channel", "payload two", notifier_pid),
        ]
    finally:
        listener.close()
        notifier.close()


def test_notice_response(conn):
    cur = conn.cursor()
    cur.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$")
    assert conn.notices == ["NOTICE:  hello 42\n", "WARNING:  careful\n"]
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)


def test_parameter_status(conn):
    assert conn.get_parameter_status("server_version").startswith("15.")
    assert conn.get_parameter_status("client_encoding") == "UTF8"
    # psycopg2 sends SET client_encoding outside any transaction.
    conn.set_client_encoding("LATIN1")
    assert conn.get_parameter_status("client_encoding") == "LATIN1"
    cur = conn.cursor()
    cur.execute("SELECT %s, convert_to(%s, 'UTF8')", ("café", "é"))
    assert cur.fetchone()[0] == "café"
    conn.commit()
    assert conn.get_parameter_status("application_name") == ""
    cur.execute("SET application_name = 'uniqguard-test'")
    assert conn.get_parameter_status("application_name") == "uniqguard-test"
    cur.execute("SET TimeZone = 'Asia/Tokyo'")
    assert conn.get_parameter_status("TimeZone") == "Asia/Tokyo"
    cur.execute("SET DateStyle = 'SQL, DMY'")
    assert conn.get_parameter_status("DateStyle") == "SQL, DMY"
    # SETs in a rolled-back transaction are undone, and the server reports the old values.
    conn.rollback()
    assert conn.get_parameter_status("application_name") == ""
    assert conn.get_parameter_status("DateStyle") == "ISO, MDY"
    assert conn.get_parameter_status("client_encoding") == "LATIN1"
    cur.execute("SHOW application_name")
    assert cur.fetchone() == ("",)


def test_cancel(conn):
    cur = conn.cursor()
    cancelled_at = []

    def cancel_later():
        time.sleep(0.5)
        cancelled_at.append(time.monotonic())
        conn.cancel()

    t = threading.Thread(target=cancel_later)
    t.start()
    with pytest.raises(psycopg2.errors.QueryCanceled) as err:
        cur.execute("SELECT pg_sleep(10)")
    raised_at = time.monotonic()
    t.join()
    assert err.value.pgcode == "57014"
    assert "canceling statement due to user request" in str(err.value)
    assert raised_at - cancelled_at[0] < 2.0
    conn.rollback()
    cur.execute("SELECT 'after cancel'")
    assert cur.fetchone() == ("after cancel",)
