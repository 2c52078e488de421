"""`uniqguard audit` and `uniqguard dedupe` against a real MariaDB 10.11: groups as the column's
collation makes them (_ci folds case and accents, PAD SPACE ignores trailing spaces, _nopad_
does not), NULLs, the plan, --apply with the real unique index as the oracle, foreign keys,
tables without a primary key, non-transactional engines, a trigger that fails half-way, and a
concurrent writer."""
import hashlib
import threading
import time

import pymysql
import pytest

from harness.mariadb_server import (DATABASE, NATIVE_PASSWORD, NATIVE_USER, TLS_PASSWORD, TLS_USER,
                                    MariaDbServer)
from harness.tools import audit_json, groups_of, guard_toml, run_tool, start_tool, write_config


def setup_db(mariadb, name, sql):
    mariadb.sql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}; USE {name}; {sql}")


def q(mariadb, sql):
    return mariadb.sql(sql).splitlines()


def config(mariadb, tmp_path, *guards):
    return write_config(tmp_path, "mysql", mariadb.port, guards)


ENROLL = """
    CREATE TABLE enroll (id INT PRIMARY KEY, user_id INT,
                         course VARCHAR(20) COLLATE utf8mb4_general_ci) ENGINE = InnoDB;
    INSERT INTO enroll VALUES (1, 1, 'algebra'), (2, 2, 'art'), (3, 1, 'Algebra'),
        (4, 1, 'algebra '), (5, NULL, 'art'), (6, NULL, 'art'), (7, 2, 'ART'),
        (8, 1, 'Älgebra'), (9, 3, NULL), (10, 3, NULL), (11, 4, 'algebra');"""


def snapshot(mariadb, table):
    return q(mariadb, f"SELECT * FROM {table} ORDER BY 1")


def test_audit_groups_by_the_columns_collation(mariadb, tmp_path):
    setup_db(mariadb, "mya", ENROLL)
    cfg = config(mariadb, tmp_path, guard_toml("mya.enroll", ["user_id", "course"]))
    r = run_tool(cfg, "audit")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout.splitlines()
    assert out[1].startswith("connected to MariaDB 10.11.") and \
        f'127.0.0.1:{mariadb.port} (database "{DATABASE}", user "{NATIVE_USER}")' in out[1]
    # utf8mb4_general_ci: 'algebra' = 'Algebra' = 'algebra ' = 'Älgebra'; NULLs never conflict.
    assert out[2:] == [
        "",
        "guard enroll_user_id_course_uniq (mya.enroll: user_id, course)",
        "  2 duplicate groups, 6 rows in them, 4 to remove to leave one row per key",
        "  user_id  course   rows  id",
        "  1        algebra  4     1 3 4 8",
        "  2        art      2     2 7",
        "",
        "audited 1 guard: 1 with duplicates (2 groups, 4 rows to remove)",
    ]


@pytest.mark.parametrize("collation,groups,kept", [
    # folds case and accents, ignores trailing spaces
    ("utf8mb4_general_ci", {("ab",): [("1",), ("2",), ("3",), ("4",), ("5",)]}, ["1"]),
    # bytes, but PAD SPACE: 'ab' = 'ab '
    ("utf8mb4_bin", {("ab",): [("1",), ("3",), ("5",)]}, ["1", "2", "4"]),
    # bytes exactly: 'ab' <> 'ab '
    ("utf8mb4_nopad_bin", {("ab",): [("1",), ("5",)]}, ["1", "2", "3", "4"]),
])
def test_collations_then_dedupe_lets_the_index_land(mariadb, tmp_path, collation, groups, kept):
    db = "myc_" + collation.replace("utf8mb4_", "")
    setup_db(mariadb, db, f"""
        CREATE TABLE words (id INT PRIMARY KEY, w VARCHAR(20) COLLATE {collation});
        INSERT INTO words VALUES (1, 'ab'), (2, 'Ab'), (3, 'ab '), (4, 'áb'), (5, 'ab');""")
    cfg = config(mariadb, tmp_path, guard_toml(f"{db}.words", ["w"], name="g"))
    status, doc = audit_json(cfg)
    assert status == 1
    assert groups_of(doc, "g") == groups
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 0, r.stdout + r.stderr
    assert q(mariadb, f"SELECT id FROM {db}.words ORDER BY id") == kept
    mariadb.sql(f"CREATE UNIQUE INDEX w_uniq ON {db}.words (w)")  # the oracle


def test_dry_run_changes_nothing_then_apply(mariadb, tmp_path):
    setup_db(mariadb, "myd", ENROLL)
    cfg = config(mariadb, tmp_path, guard_toml("myd.enroll", ["user_id", "course"], name="g"))
    before = snapshot(mariadb, "myd.enroll")
    r = run_tool(cfg, "dedupe", "--guard", "g")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[3:] == [
        "guard g (myd.enroll: user_id, course)",
        "  keep oldest: the row with the smallest id",
        "  2 duplicate groups, 4 rows to remove, 2 kept",
        "  user_id  course   keep id  remove id",
        "  1        algebra  1        3 4 8",
        "  2        art      2        7",
        "",
        "dry run: nothing changed; --apply moves 4 rows into myd.enroll__uniqguard_quarantine",
    ]
    assert snapshot(mariadb, "myd.enroll") == before
    assert q(mariadb, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'myd' "
                      "AND TABLE_NAME = 'enroll__uniqguard_quarantine'") == ["0"]

    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == ("moved 4 rows of myd.enroll into "
                                         "myd.enroll__uniqguard_quarantine; no duplicate group "
                                         "remains")
    assert q(mariadb, "SELECT id FROM myd.enroll ORDER BY id") == [
        "1", "2", "5", "6", "9", "10", "11"]
    assert q(mariadb, "SELECT id, user_id, course, guard, quarantined_at <= NOW(6) FROM "
                      "myd.enroll__uniqguard_quarantine ORDER BY id") == [
        "3\t1\tAlgebra\tg\t1", "4\t1\talgebra \tg\t1", "7\t2\tART\tg\t1", "8\t1\tÄlgebra\tg\t1"]
    assert q(mariadb, "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'myd' "
                      "AND TABLE_NAME = 'enroll__uniqguard_quarantine'") == ["InnoDB"]
    mariadb.sql("CREATE UNIQUE INDEX k ON myd.enroll (user_id, course)")
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 1


def test_foreign_keys_refuse_then_repoint(mariadb, tmp_path):
    setup_db(mariadb, "myf", """
        CREATE TABLE enroll (id INT PRIMARY KEY, user_id INT NOT NULL, course_id INT NOT NULL);
        INSERT INTO enroll VALUES (1, 1, 1), (2, 1, 1), (3, 2, 2), (4, 2, 2), (5, 3, 3);
        CREATE TABLE grade (id INT PRIMARY KEY, enroll_id INT, score INT,
                            CONSTRAINT grade_enroll FOREIGN KEY (enroll_id) REFERENCES enroll (id));
        INSERT INTO grade VALUES (10, 2, 90), (11, 1, 80), (12, 5, 70), (13, 4, 60), (14, 4, 50);""")
    cfg = config(mariadb, tmp_path, guard_toml("myf.enroll", ["user_id", "course_id"], name="g"))
    before = snapshot(mariadb, "myf.enroll") + snapshot(mariadb, "myf.grade")
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 2, r.stdout + r.stderr
    assert ("  3 rows of myf.grade (foreign key grade_enroll) point at rows to remove: refused "
            "without --repoint") in r.stdout.splitlines()
    assert r.stderr == ("uniqguard: rows to remove are referenced by myf.grade (foreign key "
                        "grade_enroll): nothing changed; --repoint moves the references to the "
                        "kept row\n")
    assert snapshot(mariadb, "myf.enroll") + snapshot(mariadb, "myf.grade") == before

    r = run_tool(cfg, "dedupe", "--guard", "g", "--repoint", "--apply")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == ("moved 2 rows of myf.enroll into "
                                         "myf.enroll__uniqguard_quarantine; repointed 3 rows of "
                                         "myf.grade; no duplicate group remains")
    assert q(mariadb, "SELECT id, enroll_id FROM myf.grade ORDER BY id") == [
        "10\t1", "11\t1", "12\t5", "13\t3", "14\t3"]
    assert q(mariadb, "SELECT id FROM myf.enroll ORDER BY id") == ["1", "3", "5"]
    mariadb.sql("CREATE UNIQUE INDEX k ON myf.enroll (user_id, course_id)")


def test_table_without_primary_key_needs_a_unique_order_by(mariadb, tmp_path):
    setup_db(mariadb, "myp", """
        CREATE TABLE log_entry (seq INT NOT NULL, user_id INT, course_id INT, note TEXT,
                                UNIQUE KEY (seq));
        INSERT INTO log_entry VALUES (3, 1, 1, 'first'), (1, 1, 1, 'second'), (2, 2, 2, 'x'),
                                     (4, 1, 1, 'third'), (5, NULL, 1, 'n1'), (6, NULL, 1, 'n2');""")
    cfg = config(mariadb, tmp_path, guard_toml("myp.log_entry", ["user_id", "course_id"],
                                               name="g"))
    status, doc = audit_json(cfg)
    assert status == 1
    g = doc["guards"][0]
    assert g["identity"] == [] and g["duplicate_groups"] == 1 and g["rows_in_groups"] == 3
    assert [x["key"] for x in g["groups"]] == [["1", "1"]]

    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 2
    assert r.stderr.startswith("uniqguard: myp.log_entry has no primary key: dedupe needs "
                               "--order-by")
    r = run_tool(cfg, "dedupe", "--guard", "g", "--order-by", "note", "--apply")
    assert r.returncode == 2
    assert "--order-by note is not a NOT NULL column with a unique index" in r.stderr
    r = run_tool(cfg, "dedupe", "--guard", "g", "--order-by", "seq", "--apply")
    assert r.returncode == 0, r.stdout + r.stderr
    assert q(mariadb, "SELECT seq, note FROM myp.log_entry ORDER BY seq") == [
        "1\tsecond", "2\tx", "5\tn1", "6\tn2"]
    assert q(mariadb, "SELECT seq FROM myp.log_entry__uniqguard_quarantine ORDER BY seq") == [
        "3", "4"]
    mariadb.sql("CREATE UNIQUE INDEX k ON myp.log_entry (user_id, course_id)")


@pytest.mark.parametrize("engine", ["MyISAM", "Aria"])
def test_non_transactional_engines_are_refused(mariadb, tmp_path, engine):
    db = "myn_" + engine.lower()
    setup_db(mariadb, db, f"CREATE TABLE t (id INT PRIMARY KEY, a INT) ENGINE = {engine}; "
                          "INSERT INTO t VALUES (1, 1), (2, 1);")
    cfg = config(mariadb, tmp_path, guard_toml(f"{db}.t", ["a"], name="g"))
    assert audit_json(cfg)[0] == 1  # audit reads any engine
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 2
    assert r.stderr == (f"uniqguard: {db}.t uses the {engine} engine, which has no transactions: "
                        "a failure half-way could not be rolled back, so dedupe refuses it\n")
    assert q(mariadb, f"SELECT COUNT(*) FROM {db}.t") == ["2"]


def test_failure_half_way_leaves_the_table_untouched(mariadb, tmp_path):
    setup_db(mariadb, "myt", ENROLL + """
        DELIMITER //
        CREATE TRIGGER refuse BEFORE DELETE ON enroll FOR EACH ROW
        BEGIN
          IF OLD.id = 8 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'row 8 is protected'; END IF;
        END//
        DELIMITER ;""")
    cfg = config(mariadb, tmp_path, guard_toml("myt.enroll", ["user_id", "course"], name="g"))
    before = snapshot(mariadb, "myt.enroll")
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == ("uniqguard: ERROR 1644 (45000): row 8 is protected; the table is "
                        "unchanged\n")
    assert snapshot(mariadb, "myt.enroll") == before
    assert q(mariadb, "SELECT COUNT(*) FROM myt.enroll__uniqguard_quarantine") == ["0"]


def test_concurrent_writer_cannot_leave_a_duplicate(mariadb, tmp_path):
    setup_db(mariadb, "myw", ENROLL)
    cfg = config(mariadb, tmp_path, guard_toml("myw.enroll", ["user_id", "course"], name="g"))
    writer = pymysql.connect(host="127.0.0.1", port=mariadb.port, user=NATIVE_USER,
                             password=NATIVE_PASSWORD, database="myw", autocommit=False)
    try:
        with writer.cursor() as cur:
            cur.execute("INSERT INTO enroll VALUES (100, 2, 'Art'), (101, 5, 'new')")
        proc = start_tool(cfg, "dedupe", "--guard", "g", "--apply")
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()  # waiting for the writer's row lock
        assert q(mariadb, "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                          "WHERE trx_state = 'LOCK WAIT'") == ["1"]
        writer.commit()
        out, err = proc.communicate(timeout=60)
    finally:
        writer.close()
    assert proc.returncode == 0, out + err
    assert out.splitlines()[-1].startswith("moved 5 rows of myw.enroll")
    assert q(mariadb, "SELECT id FROM myw.enroll__uniqguard_quarantine ORDER BY id") == [
        "3", "4", "7", "8", "100"]
    mariadb.sql("CREATE UNIQUE INDEX k ON myw.enroll (user_id, course)")


def test_a_writer_after_the_lock_waits_for_the_commit(mariadb, tmp_path):
    """The lock covers inserts of new keys anywhere in the table, not only the doomed rows:
    an insert that arrives while the transaction is open waits for its end."""
    setup_db(mariadb, "myg", ENROLL + "CREATE TABLE gate (id INT PRIMARY KEY); "
                                      "INSERT INTO gate VALUES (1);")
    cfg = config(mariadb, tmp_path, guard_toml("myg.enroll", ["user_id", "course"], name="g"))
    # A trigger on the quarantine copy would be simplest, but the quarantine table is created by
    # the run itself; instead, hold the run on a row lock its DELETE trigger needs.
    mariadb.sql("""USE myg;
        DELIMITER //
        CREATE TRIGGER hold BEFORE DELETE ON enroll FOR EACH ROW
        BEGIN DECLARE x INT; SELECT id INTO x FROM gate WHERE id = 1 FOR UPDATE; END//
        DELIMITER ;""")
    blocker = pymysql.connect(host="127.0.0.1", port=mariadb.port, user=NATIVE_USER,
                              password=NATIVE_PASSWORD, database="myg", autocommit=False)
    writer = pymysql.connect(host="127.0.0.1", port=mariadb.port, user=NATIVE_USER,
                             password=NATIVE_PASSWORD, database="myg", autocommit=True,
                             read_timeout=120)
    try:
        with blocker.cursor() as cur:
            cur.execute("SELECT id FROM gate WHERE id = 1 FOR UPDATE")
        proc = start_tool(cfg, "dedupe", "--guard", "g", "--apply")
        time.sleep(1.5)  # the run holds its table lock and waits on the gate
        assert proc.poll() is None
        done = {}

        def insert():
            with writer.cursor() as cur:
                cur.execute("INSERT INTO enroll VALUES (200, 1, 'ALGEBRA')")
            done["at"] = time.monotonic()

        t = threading.Thread(target=insert)
        t.start()
        time.sleep(1.0)
        assert "at" not in done  # the insert waits for the dedupe transaction
        released = time.monotonic()
        blocker.commit()
        out, err = proc.communicate(timeout=60)
        t.join(timeout=60)
    finally:
        blocker.close()
        writer.close()
    assert proc.returncode == 0, out + err
    assert done["at"] >= released
    # The late insert came after the commit: one new duplicate of a kept row, which audit shows
    # (the guard in front of the table is what stops such writes; see docs/audit.md).
    assert q(mariadb, "SELECT id FROM myg.enroll WHERE user_id = 1 ORDER BY id") == ["1", "200"]


def test_long_table_name_gets_a_hashed_quarantine_name(mariadb, tmp_path):
    table = "enrollment_records_imported_from_the_legacy_system_2019"  # 55 characters
    setup_db(mariadb, "myl", f"CREATE TABLE {table} (id INT PRIMARY KEY, a INT); "
                             f"INSERT INTO {table} VALUES (1, 1), (2, 1);")
    cfg = config(mariadb, tmp_path, guard_toml(f"myl.{table}", ["a"], name="g"))
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 0, r.stdout + r.stderr
    expected = (table[:33] + "_" + hashlib.sha256(table.encode()).hexdigest()[:8] +
                "__uniqguard_quarantine")
    assert len(expected) == 64
    assert q(mariadb, f"SELECT id FROM myl.{expected}") == ["2"]


@pytest.mark.parametrize("tls,extra,ok", [
    ("disable", "", False),  # the account requires TLS: refused, exit 2
    ("prefer", "", True),
    ("require", "", True),
    ("verify-full", "ca", True),
    ("verify-full", "cert", False),  # the server's own certificate is no CA: refused
])
def test_tls_modes_to_the_server(mariadb, certs, tmp_path, tls, extra, ok):
    setup_db(mariadb, "mys", "CREATE TABLE t (id INT PRIMARY KEY, a INT); "
                             "INSERT INTO t VALUES (1, 1), (2, 1);")
    cfg = write_config(tmp_path, "mysql", mariadb.port, [guard_toml("mys.t", ["a"], name="g")],
                       user=TLS_USER, password=TLS_PASSWORD, tls=tls,
                       extra_backend=f'tls_ca = "{certs[extra]}"\n' if extra else "")
    r = run_tool(cfg, "audit")
    if ok:
        assert r.returncode == 1, r.stdout + r.stderr
        assert "  1 duplicate groups, 2 rows in them, 1 to remove to leave one row per key" in \
            r.stdout.splitlines()
    else:
        assert r.returncode == 2
        assert ("ERROR 1045 (28000): Access denied" if tls == "disable" else
                "ERROR 2026 (HY000): TLS/SSL error") in r.stderr, r.stderr


def test_a_quarantine_table_without_transactions_is_refused(mariadb, tmp_path):
    setup_db(mariadb, "myq", ENROLL + """
        CREATE TABLE enroll__uniqguard_quarantine ENGINE = MyISAM
            AS SELECT e.*, NOW(6) AS quarantined_at, CAST('' AS CHAR(255)) AS guard
            FROM enroll e WHERE 1 = 0;""")
    cfg = config(mariadb, tmp_path, guard_toml("myq.enroll", ["user_id", "course"], name="g"))
    before = snapshot(mariadb, "myq.enroll")
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply")
    assert r.returncode == 2
    assert r.stderr == ("uniqguard: the quarantine table `myq`.`enroll__uniqguard_quarantine` "
                        "exists in an engine without transactions: a failure could not roll its "
                        "rows back; the table is unchanged\n")
    assert snapshot(mariadb, "myq.enroll") == before


def test_tls_prefer_falls_back_to_plaintext_on_a_server_without_tls(tmp_path):
    server = MariaDbServer(certs=None).start()
    try:
        server.sql("CREATE TABLE app.t (id INT PRIMARY KEY, a INT); "
                   "INSERT INTO app.t VALUES (1, 1), (2, 1);")
        guards = [guard_toml("app.t", ["a"], name="g")]
        r = run_tool(write_config(tmp_path, "mysql", server.port, guards, tls="prefer"), "audit")
        assert r.returncode == 1, r.stdout + r.stderr
        r = run_tool(write_config(tmp_path, "mysql", server.port, guards, tls="require"), "audit")
        assert r.returncode == 2
        assert r.stderr.endswith(": the server offers no TLS, which backend.tls requires\n")
    finally:
        server.stop()
