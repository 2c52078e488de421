"""MySQL passthrough with real client libraries (PyMySQL, MySQLdb over libmariadb, the mariadb
command-line client, sysbench) against a real MariaDB 10.11: values, result sets, blobs both
ways, LOAD DATA LOCAL, the current database, KILL."""
import hashlib
from decimal import Decimal
import os
import subprocess
import tempfile
import threading
import time

import MySQLdb
import pymysql
import pytest
from pymysql.constants import CLIENT

from harness.mariadb_server import (DATABASE, ED25519_PASSWORD, ED25519_USER, NATIVE_PASSWORD,
                                    NATIVE_USER)


def connect(proxy, user=NATIVE_USER, password=NATIVE_PASSWORD, **kw):
    kw.setdefault("database", DATABASE)
    return pymysql.connect(host="127.0.0.1", port=proxy.port, user=user, password=password,
                           connect_timeout=10, read_timeout=60, write_timeout=60, **kw)


def cli(proxy, sql, user=NATIVE_USER, password=NATIVE_PASSWORD, *extra):
    return subprocess.run(
        ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{proxy.port}", f"-u{user}",
         f"-p{password}", "--skip-ssl", "-N", "-B", *extra, DATABASE, "-e", sql],
        capture_output=True, text=True, timeout=60)


def test_pymysql_native_user_reads_exact_values(mysql_proxy):
    with connect(mysql_proxy) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 + 1, 'héllo', NULL, CAST(2.50 AS DECIMAL(5,2)), DATABASE(), "
                    "CURRENT_USER()")
        assert cur.fetchone() == (2, "héllo", None, Decimal("2.50"),
                                  DATABASE, f"{NATIVE_USER}@%")
        cur.execute("SELECT seq FROM seq_1_to_1000")
        rows = cur.fetchall()
        assert len(rows) == 1000 and rows[0] == (1,) and rows[-1] == (1000,)


def test_mariadb_cli_with_ed25519_user(mysql_proxy):
    r = cli(mysql_proxy, "SELECT CURRENT_USER(); SELECT 6 * 7", ED25519_USER, ED25519_PASSWORD)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{ED25519_USER}@%\n42\n"


def test_mariadb_cli_wrong_password_gets_the_servers_error(mysql_proxy):
    r = cli(mysql_proxy, "SELECT 1", NATIVE_USER, "wrong")
    assert r.returncode == 1
    assert f"ERROR 1045 (28000): Access denied for user '{NATIVE_USER}'@'127.0.0.1'" in r.stderr


def test_mysqldb_with_ed25519_and_native_users(mysql_proxy):
    for user, password in ((ED25519_USER, ED25519_PASSWORD), (NATIVE_USER, NATIVE_PASSWORD)):
        conn = MySQLdb.connect(host="127.0.0.1", port=mysql_proxy.port, user=user,
                               password=password, database=DATABASE)
        try:
            cur = conn.cursor()
            cur.execute("SELECT CURRENT_USER(), %s", ("x'y",))
            assert cur.fetchone() == (f"{user}@%", "x'y")
        finally:
            conn.close()


def test_multi_statements_return_every_result_set(mysql_proxy, mariadb):
    mariadb.sql("DROP TABLE IF EXISTS multi; CREATE TABLE multi (id INT PRIMARY KEY, v TEXT)",
                DATABASE)
    with connect(mysql_proxy, client_flag=CLIENT.MULTI_STATEMENTS) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1; INSERT INTO multi VALUES (1, 'a'), (2, 'b'); "
                    "SELECT id, v FROM multi ORDER BY id; SELECT 'last'")
        assert cur.fetchall() == ((1,),)
        assert cur.nextset()
        assert cur.rowcount == 2
        assert cur.nextset()
        assert cur.fetchall() == ((1, "a"), (2, "b"))
        assert cur.nextset()
        assert cur.fetchall() == (("last",),)
        assert not cur.nextset()
        # An error in the middle ends the reply there; the session goes on.
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELECT 1; SELECT * FROM no_such_table; SELECT 3")
            while cur.nextset():
                pass
        assert e.value.args[0] == 1146
        cur.execute("SELECT COUNT(*) FROM multi")
        assert cur.fetchone() == (2,)


def test_twenty_megabyte_blob_both_ways(mysql_proxy, mariadb):
    mariadb.sql("DROP TABLE IF EXISTS blobs; CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB)",
                DATABASE)
    blob = os.urandom(20 << 20)
    with connect(mysql_proxy) as conn, conn.cursor() as cur:
        # Sent as one COM_QUERY of over 16 MiB: several frames through the proxy.
        cur.execute("INSERT INTO blobs VALUES (1, %s)", (blob,))
        conn.commit()
        cur.execute("SELECT LENGTH(b), SHA2(b, 256) FROM blobs WHERE id = 1")
        assert cur.fetchone() == (len(blob), hashlib.sha256(blob).hexdigest())
        cur.execute("SELECT b FROM blobs WHERE id = 1")
        (back,) = cur.fetchone()
        assert back == blob
        cur.execute("SELECT 'still in sync'")
        assert cur.fetchone() == ("still in sync",)


def test_load_data_local_infile(mysql_proxy, mariadb):
    mariadb.sql("DROP TABLE IF EXISTS loaded; CREATE TABLE loaded (a INT, b VARCHAR(20))",
                DATABASE)
    rows = 200_000  # a few MB: many packets from the client
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        for i in range(rows):
            f.write(f"{i},row{i}\n")
        path = f.name
    try:
        with connect(mysql_proxy, local_infile=True) as conn, conn.cursor() as cur:
            cur.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE loaded "
                        "FIELDS TERMINATED BY ','")
            assert cur.rowcount == rows
            conn.commit()
            cur.execute("SELECT COUNT(*), SUM(a), MAX(b) FROM loaded")
            assert cur.fetchone() == (rows, rows * (rows - 1) // 2, "row99999")
            # A file that does not exist: the client sends the empty packet at once.
            with pytest.raises(pymysql.err.OperationalError):
                cur.execute("LOAD DATA LOCAL INFILE '/nonexistent.csv' INTO TABLE loaded")
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        os.unlink(path)


def test_init_db_and_use_are_tracked(make_mysql_proxy, mariadb):
    mariadb.sql("CREATE DATABASE IF NOT EXISTS other; CREATE DATABASE IF NOT EXISTS third")
    proxy = make_mysql_proxy(log_level="debug")
    with connect(proxy) as conn, conn.cursor() as cur:
        conn.select_db("other")  # COM_INIT_DB
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("other",)
        cur.execute("USE `third`")
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("third",)
        with pytest.raises(pymysql.err.OperationalError):
            conn.select_db("no_such_db")
        conn.ping(reconnect=False)  # COM_PING
    time.sleep(0.3)
    proxy.stop()
    closed = [line for line in proxy.final_log.splitlines() if ": closed (" in line]
    assert len(closed) == 1 and "database=third" in closed[0], proxy.final_log


def test_kill_query_from_another_session(mysql_proxy):
    with connect(mysql_proxy) as victim, connect(mysql_proxy) as killer:
        vcur = victim.cursor()
        vcur.execute("SELECT CONNECTION_ID()")
        (victim_id,) = vcur.fetchone()
        outcome = {}

        def sleep():
            started = time.monotonic()
            try:
                vcur.execute("SELECT SLEEP(30)")
                outcome["result"] = vcur.fetchone()
            except pymysql.err.OperationalError as e:
                outcome["error"] = e.args[0]
            outcome["seconds"] = time.monotonic() - started

        t = threading.Thread(target=sleep)
        t.start()
        time.sleep(0.5)
        with killer.cursor() as kcur:
            kcur.execute(f"KILL QUERY {victim_id}")
        t.join(20)
        # MariaDB ends a killed SLEEP() with the value 1 rather than an error.
        assert outcome.get("result") == (1,) or outcome.get("error") == 1317, outcome
        assert outcome["seconds"] < 10
        vcur.execute("SELECT 'alive'")
        assert vcur.fetchone() == ("alive",)


def test_sysbench_prepared_and_text_transactions(mysql_proxy, mariadb):
    """sysbench's libmariadb uses binary prepared statements (COM_STMT_PREPARE/EXECUTE/CLOSE)
    when --db-ps-mode=auto, and text queries with disable."""
    mariadb.sql("DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest")
    common = ["--db-driver=mysql", "--mysql-host=127.0.0.1", f"--mysql-port={mysql_proxy.port}",
              f"--mysql-user={NATIVE_USER}", f"--mysql-password={NATIVE_PASSWORD}",
              "--mysql-db=sbtest", "--mysql-ssl=off", "--tables=1", "--table-size=1000"]
    prepare = subprocess.run(["sysbench", "oltp_read_write", *common, "prepare"],
                             capture_output=True, text=True, timeout=120)
    assert prepare.returncode == 0, prepare.stderr
    def executes():
        out = mariadb.sql("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'")
        return int(out.split()[1])

    for mode in ("auto", "disable"):
        before = executes()
        # One thread: concurrent read-write transactions may deadlock on the server, which
        # sysbench counts as ignored errors; this test wants none at all.
        run = subprocess.run(["sysbench", "oltp_read_write", *common, "--threads=1",
                              "--events=200", "--time=0", f"--db-ps-mode={mode}", "run"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "transactions:                        200 " in run.stdout, run.stdout
        assert "ignored errors:                      0 " in run.stdout, run.stdout
        # 200 transactions of 18 statements each: binary executes only in "auto".
        assert (executes() - before >= 200 * 18) if mode == "auto" else executes() == before
    count = mariadb.sql("SELECT COUNT(*) FROM sbtest.sbtest1")
    assert count == "1000\n"
