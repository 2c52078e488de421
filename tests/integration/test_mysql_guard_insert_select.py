"""INSERT … SELECT into a guarded table through the MySQL guard (issue 6 item 6), against a real
MariaDB 10.11: the same statements on a guarded table without an index, through uniqguard, and
directly on a twin table whose key is the real UNIQUE key `enroll_uniq` (the guard's name, so the
messages are equal byte for byte). The proxy stages the SELECT's rows in a temporary table of the
client's session, checks their keys and copies them (docs/mysql.md, "INSERT … SELECT"). Compared:
every reply (OK: affected rows, status flags, warnings, info "Records: …"; ERR: code, SQLSTATE,
message), the rows after, in and out of a transaction; INSERT IGNORE … SELECT and action "ignore",
whose duplicate rows the copy leaves out (the OK's affected rows and the rows are the twin's; its
"Records:" info and warnings are the copy's own). Also: the forms refused, a client without
the CREATE TEMPORARY TABLES privilege, action "log", and a second session's INSERT of a key an
open transaction's INSERT … SELECT wrote, which waits."""
import time

import pymysql
import pytest

from harness.mariadb_server import DATABASE
from harness.mariadb_server import NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import COM_QUERY, WireClient
from test_mysql_guard import GUARD, make_tables, start_guarded
from test_mysql_guard_ignore import answer, log_lines, start
from test_mysql_guard_update import AUTOCOMMIT, IN_TRANS, ended_by, steps_on, while_open
from test_mysql_guard_waits import Background, connect, run

# The rows the SELECTs read, by group: (grp, u, c).
SOURCE = [
    (1, 10, "x"), (1, 11, "y"),
    (2, 20, "p"), (2, 1, "A "),         # (1, 'A ') is the table's (1, 'a') under general_ci
    (3, 30, "q"), (3, 30, "Q"),         # one key twice in the statement
    (4, None, "n"), (4, None, "n"), (4, 40, None),  # NULLs never collide
]
ROWS = [(1, 1, "a"), (2, 2, "b")]


def fill(mysql_root, table, create=None):
    """`table` (no unique key) and its twin (the real one) with ROWS, and `table`_src."""
    if create is None:
        make_tables(mysql_root, table)
    with mysql_root.cursor() as cur:
        if create is not None:
            for t, unique in ((table, ""),
                              (table + "_twin", f", UNIQUE KEY {GUARD} (user_id, course_id)")):
                cur.execute(f"DROP TABLE IF EXISTS {t}")
                cur.execute(create.format(t=t, unique=unique))
        else:
            for t in (table, table + "_twin"):
                for row in ROWS:
                    cur.execute(f"INSERT INTO {t} (id, user_id, course_id) VALUES (%s, %s, %s)",
                                row)
        cur.execute(f"DROP TABLE IF EXISTS {table}_src")
        cur.execute(f"CREATE TABLE {table}_src (grp INT, u INT, c VARCHAR(20)) "
                    "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
        cur.executemany(f"INSERT INTO {table}_src VALUES (%s, %s, %s)", SOURCE)


def on_both(proxy, mariadb, table, steps):
    """`steps` on one connection each: through the proxy on `table`, directly on its twin; {s}
    is the source table (the same for both)."""
    def run(port, t):
        return steps_on(port, t, [s.replace("{s}", table + "_src") for s in steps])
    return run(proxy.port, table), run(mariadb.port, table + "_twin")


def err(key):
    return ("err", 1062, "23000", f"Duplicate entry '{key}' for key '{GUARD}'")


def ok(rows, status=AUTOCOMMIT, last_insert_info=True):
    info = f"Records: {rows}  Duplicates: 0  Warnings: 0" if last_insert_info else ""
    return ("ok", rows, status, 0, info)


COPY = "INSERT INTO {t} (user_id, course_id) SELECT u, c FROM {s} WHERE grp = %d ORDER BY u, c"

STEPS = [
    # New keys: the copy's OK is the statement's.
    (COPY % 1, ok(2)),
    # A row whose key the table has (in another case, with a trailing space): nothing inserted.
    (COPY % 2, err("1-A ")),
    # One key twice among the SELECT's rows.
    (COPY % 3, err("30-Q")),
    # NULL keys, twice.
    (COPY % 4, ok(3)),
    # No row at all.
    (COPY % 99, ok(0)),
    # Reading the table itself; the keys it writes are new.
    ("INSERT INTO {t} (user_id, course_id) SELECT user_id + 100, course_id FROM {t} "
     "WHERE id <= 2", ok(2)),
    # The keys an INSERT … SELECT wrote are known: an INSERT of one is checked.
    ("INSERT INTO {t} (user_id, course_id) VALUES (101, 'A')", err("101-A")),
    # Other SELECT forms: a parenthesised one, a UNION, a WITH.
    ("INSERT INTO {t} (user_id, course_id) (SELECT 50, 'z')", ok(1)),
    ("INSERT INTO {t} (user_id, course_id) SELECT 51, 'z' UNION ALL SELECT 50, 'Z'",
     err("50-Z")),
    ("INSERT INTO {t} (user_id, course_id) WITH w AS (SELECT 52 AS u) SELECT u, 'z' FROM w",
     ok(1)),
    # The SELECT's own errors are the statement's: an unknown column, a value the column
    # refuses (MariaDB names the table in that one), a NOT NULL or length violation.
    ("INSERT INTO {t} (user_id, course_id) SELECT nope, c FROM {s}",
     ("err", 1054, "42S22", "Unknown column 'nope' in 'SELECT'")),
    ("INSERT INTO {t} (user_id, course_id) SELECT 'abc', 'k'", "same"),
    ("INSERT INTO {t} (user_id, course_id) SELECT 53, REPEAT('k', 30)",
     ("err", 1406, "22001", "Data too long for column 'course_id' at row 1")),
    # The column list names a column twice.
    ("INSERT INTO {t} (user_id, user_id) SELECT 1, 2", "same"),
    ("SELECT user_id, course_id FROM {t} ORDER BY id",
     ("rows", [["1", "a"], ["2", "b"], ["10", "x"], ["11", "y"], [None, "n"], [None, "n"],
               ["40", None], ["101", "a"], ["102", "b"], ["50", "z"], ["52", "z"]])),
]


def test_insert_select_as_the_unique_key(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    fill(mysql_root, "gs_basic")
    proxy = start_guarded(make_mysql_proxy, "gs_basic")
    got, want = on_both(proxy, mariadb, "gs_basic", [s for s, _ in STEPS])
    for (sql, expected), w in zip(STEPS, want):
        if expected == "same":
            assert w[0] == "err", (sql, w)
        else:
            assert w == expected, sql
    # MariaDB names the column's table in 1366: the guarded table through the proxy (not the
    # proxy's stage), the twin directly.
    assert want[11] == ("err", 1366, "22007", "Incorrect integer value: 'abc' for column "
                        f"`{DATABASE}`.`gs_basic_twin`.`user_id` at row 1")
    assert got == [w if w[0] != "err" else w[:3] + (w[3].replace("gs_basic_twin", "gs_basic"),)
                   for w in want]
    # The proxy's stage is a temporary table of the client's session: none in the database.
    with mysql_root.cursor() as cur:
        cur.execute("SHOW TABLES LIKE 'uniqguard%'")
        assert cur.fetchall() == ()


TRANSACTION = [
    ("BEGIN", ("ok", 0, AUTOCOMMIT | IN_TRANS, 0, "")),
    # The transaction's own uncommitted row counts.
    ("INSERT INTO {t} (user_id, course_id) VALUES (60, 't')", ("ok", 1, AUTOCOMMIT | IN_TRANS, 0, "")),
    ("INSERT INTO {t} (user_id, course_id) SELECT 60, 'T'", err("60-T")),
    ("SELECT @@in_transaction", ("rows", [["1"]])),
    # Its own deleted row does not: the key is free in the transaction.
    ("DELETE FROM {t} WHERE id = 1", ("ok", 1, AUTOCOMMIT | IN_TRANS, 0, "")),
    ("INSERT INTO {t} (user_id, course_id) SELECT 1, 'a'", ok(1, AUTOCOMMIT | IN_TRANS)),
    ("ROLLBACK", ("ok", 0, AUTOCOMMIT, 0, "")),
    # Rolled back: (60, 't') is free again, (1, 'a') is row 1's again.
    ("INSERT INTO {t} (user_id, course_id) SELECT 60, 'T'", ok(1)),
    ("INSERT INTO {t} (user_id, course_id) SELECT 1, 'a'", err("1-a")),
    # (Ids differ: the twin's failed statements took AUTO_INCREMENT values.)
    ("SELECT user_id, course_id FROM {t} ORDER BY id",
     ("rows", [["1", "a"], ["2", "b"], ["60", "T"]])),
]


def test_in_a_transaction(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    fill(mysql_root, "gs_trans")
    proxy = start_guarded(make_mysql_proxy, "gs_trans")
    got, want = on_both(proxy, mariadb, "gs_trans", [s for s, _ in TRANSACTION])
    assert want == [w for _, w in TRANSACTION]
    assert got == want


def test_without_a_column_list_and_key_columns_left_to_defaults(mysql_root, proxy_account,
                                                                make_mysql_proxy, mariadb):
    # No AUTO_INCREMENT column: the SELECT gives every column. course_id has a default: an
    # INSERT … SELECT that leaves it out stores the default, checked as any value.
    fill(mysql_root, "gs_nolist",
         create="CREATE TABLE {t} (user_id INT, course_id VARCHAR(20) DEFAULT 'dflt', "
                "note VARCHAR(20) DEFAULT 'n'{unique}) DEFAULT CHARSET=utf8mb4 "
                "COLLATE=utf8mb4_general_ci")
    proxy = start_guarded(make_mysql_proxy, "gs_nolist")
    steps = [
        "INSERT INTO {t} SELECT u, c, 'copied' FROM {s} WHERE grp = 1",
        "INSERT INTO {t} SELECT 10, 'X', 'again'",
        "INSERT INTO {t} (user_id) SELECT 7",
        "INSERT INTO {t} (user_id) SELECT 7",
        "INSERT INTO {t} (note, user_id) SELECT 'm', 8 UNION ALL SELECT 'm', 8",
        "SELECT user_id, course_id, note FROM {t} ORDER BY user_id",
    ]
    got, want = on_both(proxy, mariadb, "gs_nolist", steps)
    assert want == [ok(2), err("10-X"), ok(1), err("7-dflt"), err("8-dflt"),
                    ("rows", [["7", "dflt", "n"], ["10", "x", "copied"], ["11", "y", "copied"]])]
    assert got == want


REFUSED = [
    ("REPLACE INTO {t} (user_id, course_id) SELECT 1, 'a'", "REPLACE … SELECT"),
    ("INSERT INTO {t} (user_id, course_id) SELECT 1, 'a' ON DUPLICATE KEY UPDATE note = 'u'",
     "INSERT … SELECT … ON DUPLICATE KEY UPDATE"),
    ("INSERT INTO {t} (user_id, course_id) SELECT 1, 'a' RETURNING id",
     "INSERT … SELECT … RETURNING"),
    ("INSERT INTO {t} SELECT 9, 1, 'a', 'n'",
     "INSERT … SELECT without a column list into a table with an AUTO_INCREMENT column (`id`)"),
    ("INSERT INTO {t} (id, user_id, course_id) SELECT 9, 1, 'a'",
     "INSERT … SELECT that gives the AUTO_INCREMENT column `id`"),
    ("SELECT 1; INSERT INTO {t} (user_id, course_id) SELECT 1, 'a'",
     "INSERT … SELECT in a string of several statements"),
]


@pytest.mark.parametrize("sql,what", REFUSED, ids=[w[:40] for _, w in REFUSED])
def test_forms_not_staged_are_refused(mysql_root, proxy_account, make_mysql_proxy, sql, what):
    fill(mysql_root, "gs_refused")
    proxy = start_guarded(make_mysql_proxy, "gs_refused")
    if sql.startswith("SELECT 1;"):
        # The whole string is refused: none of it runs.
        client = WireClient(proxy.port, NATIVE_USER, NATIVE_PASSWORD, DATABASE,
                            multi_statements=True)
        try:
            refusal = answer(client, bytes([COM_QUERY]) + sql.format(t="gs_refused").encode())
        finally:
            client.close()
    else:
        got = steps_on(proxy.port, "gs_refused",
                       ["BEGIN", sql, "SELECT @@in_transaction",
                        "SELECT id, user_id, course_id FROM {t} ORDER BY id"])
        assert got[2] == ("rows", [["1"]])  # the transaction goes on
        assert got[3] == ("rows", [[str(i), str(u), c] for i, u, c in ROWS])
        refusal = got[1]
    assert refusal == (
        "err", 1235, "42000",
        f'uniqguard: {what} on table "{DATABASE}.gs_refused" is not enforced by guard '
        f'"{GUARD}" yet; the statement was refused')


def test_a_client_that_may_not_create_temporary_tables_is_refused(mysql_root, proxy_account,
                                                                   make_mysql_proxy):
    fill(mysql_root, "gs_priv")
    with mysql_root.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS 'nostage'@'%' IDENTIFIED VIA "
                    "mysql_native_password USING PASSWORD('nostage-secret')")
        cur.execute(f"GRANT SELECT, INSERT ON {DATABASE}.* TO 'nostage'@'%'")
    proxy = start_guarded(make_mysql_proxy, "gs_priv")
    conn = pymysql.connect(host="127.0.0.1", port=proxy.port, user="nostage",
                           password="nostage-secret", database=DATABASE, autocommit=True)
    try:
        with conn.cursor() as cur:
            with pytest.raises(pymysql.MySQLError) as e:
                cur.execute("INSERT INTO gs_priv (user_id, course_id) SELECT 70, 'p'")
            assert e.value.args[0] == 1235
            assert e.value.args[1].startswith(
                f'uniqguard: guard "{GUARD}" could not stage the rows of an INSERT … SELECT on '
                f'table "{DATABASE}.gs_priv" (ERROR 1044: Access denied for user '
                "'nostage'@")
            cur.execute("SELECT COUNT(*) FROM gs_priv")
            assert cur.fetchall() == ((2,),)
    finally:
        conn.close()


def test_log_forwards_the_statement_and_logs_its_duplicates(mysql_root, proxy_account,
                                                            make_mysql_proxy, tmp_path):
    fill(mysql_root, "gs_log")
    duplicates = tmp_path / "logged.jsonl"
    proxy = start(make_mysql_proxy, "gs_log", "log", duplicates)
    got = steps_on(proxy.port, "gs_log", [
        (COPY % 2).replace("{s}", "gs_log_src"),
        (COPY % 1).replace("{s}", "gs_log_src"),
        "SELECT user_id, course_id FROM {t} ORDER BY id",
    ])
    # The statement's rows are in the table, the duplicate too, as without the proxy.
    assert got == [ok(2), ok(2), ("rows", [["1", "a"], ["2", "b"], ["1", "A "], ["20", "p"],
                                           ["10", "x"], ["11", "y"]])]
    # The SELECT ran once (in the stage; the copy reads the stage).
    got = steps_on(proxy.port, "gs_log", [
        "SET @n = 0",
        "INSERT INTO {t} (user_id, course_id) SELECT @n := @n + 1, 'v' UNION ALL "
        "SELECT @n := @n + 1, 'w'",
        "SELECT @n",
    ])
    assert got[1:] == [ok(2), ("rows", [["2"]])]
    lines = log_lines(duplicates, 1)
    assert [(line["values"], line["action"]) for line in lines] == [(["1", "A "], "logged")]
    assert lines[0]["statement"].startswith("INSERT INTO gs_log (user_id, course_id) SELECT")


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
def test_an_insert_of_a_key_an_open_insert_select_wrote_waits(mysql_root, proxy_account,
                                                              make_mysql_proxy, mariadb, end):
    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, f"gs_wait_{end.lower()}",
                           "INSERT INTO {t} (user_id, course_id) SELECT 80, 'w'",
                           "INSERT INTO {t} (user_id, course_id) VALUES (80, 'W')",
                           ended_by(end))
    assert want == (("err", 1062, "Duplicate entry '80-W' for key 'enroll_uniq'")
                    if end == "COMMIT" else ("ok", 1))
    assert got == want


def test_a_wait_inside_a_transaction_sees_the_others_commit(mysql_root, proxy_account,
                                                            make_mysql_proxy, mariadb):
    """B's transaction has its snapshot (its own INSERT … SELECT read) before A commits the
    key: the unique check reads the latest rows, so B gets the duplicate, as on the twin."""
    fill(mysql_root, "gs_rr")
    proxy = start_guarded(make_mysql_proxy, "gs_rr")

    def scenario(port, t):
        a, b = connect(port), connect(port)
        try:
            run(a, "BEGIN")
            assert run(a, f"INSERT INTO {t} (user_id, course_id) VALUES (90, 'w')") == ("ok", 1)
            run(b, "BEGIN")
            waiter = Background(b, f"INSERT INTO {t} (user_id, course_id) SELECT 90, 'W'")
            assert waiter.waiting()
            assert run(a, "COMMIT") == ("ok", 0)
            result = waiter.join()
            run(b, "COMMIT")
            return result, run(a, f"SELECT COUNT(*) FROM {t} WHERE user_id = 90")
        finally:
            a.close()
            b.close()

    got, want = scenario(proxy.port, "gs_rr"), scenario(mariadb.port, "gs_rr_twin")
    assert want == (("err", 1062, "Duplicate entry '90-W' for key 'enroll_uniq'"), ("ok", 1))
    assert got == want


def test_names_columns_and_session_state_as_the_twin(mysql_root, proxy_account,
                                                     make_mysql_proxy, mariadb):
    # A default evaluated per row (a sequence): once per row, in the stage.
    with mysql_root.cursor() as cur:
        for t in ("gs_misc", "gs_misc_twin"):
            cur.execute(f"DROP SEQUENCE IF EXISTS {t}_seq")
            cur.execute(f"CREATE SEQUENCE {t}_seq")
    fill(mysql_root, "gs_misc",
         create="CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT, "
                "course_id VARCHAR(20), n BIGINT DEFAULT (NEXT VALUE FOR {t}_seq){unique}) "
                "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
    proxy = start_guarded(make_mysql_proxy, "gs_misc")
    # A column added after the guard read the table is copied too.
    with mysql_root.cursor() as cur:
        for t in ("gs_misc", "gs_misc_twin"):
            cur.execute(f"ALTER TABLE {t} ADD COLUMN extra INT")
    steps = [
        "INSERT INTO {t} (user_id, course_id, extra) SELECT 1, 'a', 5",
        "INSERT INTO {t} (user_id, course_id) SELECT 2, 'b' UNION ALL SELECT 3, 'c'",
        # LAST_INSERT_ID() after a statement that did not run is the one before it (a
        # statement with rows inserted before its duplicate moves it on the twin: not compared).
        "INSERT INTO {t} (user_id, course_id) SELECT 1, 'A'",
        "SELECT LAST_INSERT_ID()",
        # The table in another case: another table (lower_case_table_names=0).
        "INSERT INTO {T} (user_id, course_id) SELECT 9, 'z'",
        # Under LOCK TABLES.
        "LOCK TABLES {t} WRITE, {t}_seq WRITE",
        "INSERT INTO {t} (user_id, course_id) SELECT 5, 'e'",
        "INSERT INTO {t} (user_id, course_id) SELECT 5, 'E'",
        "UNLOCK TABLES",
        # A READ ONLY transaction.
        "START TRANSACTION READ ONLY",
        "INSERT INTO {t} (user_id, course_id) SELECT 6, 'f'",
        "ROLLBACK",
        "SELECT user_id, course_id, n, extra FROM {t} ORDER BY id",
    ]

    def run_on(port, t):
        return steps_on(port, t, [s.replace("{T}", t.upper()) for s in steps])

    got, want = run_on(proxy.port, "gs_misc"), run_on(mariadb.port, "gs_misc_twin")
    assert want[2] == err("1-A")
    assert want[3] == ("rows", [["2"]])
    assert want[4] == ("err", 1146, "42S02", f"Table '{DATABASE}.GS_MISC_TWIN' doesn't exist")
    assert want[7] == err("5-E")
    assert want[10][:2] == ("err", 1792)
    assert want[12] == ("rows", [["1", "a", "1", "5"], ["2", "b", "2", None],
                                 ["3", "c", "3", None], ["5", "e", "5", None]])
    assert got == [w if w[0] != "err" else w[:3] + (w[3].replace("GS_MISC_TWIN", "GS_MISC"),)
                   for w in want]


def test_no_current_database(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    fill(mysql_root, "gs_nodb")
    proxy = start_guarded(make_mysql_proxy, "gs_nodb")
    results = []
    for port, t in ((proxy.port, "gs_nodb"), (mariadb.port, "gs_nodb_twin")):
        conn = pymysql.connect(host="127.0.0.1", port=port, user=NATIVE_USER,
                               password=NATIVE_PASSWORD, autocommit=True)
        try:
            results.append((run(conn, f"INSERT INTO {t} (user_id, course_id) SELECT 1, 'q'"),
                            run(conn, f"INSERT INTO {DATABASE}.{t} (user_id, course_id) "
                                      "SELECT 1, 'A'")))
        finally:
            conn.close()
    assert results[1] == (("err", 1046, "No database selected"),
                          ("err", 1062, "Duplicate entry '1-A' for key 'enroll_uniq'"))
    assert results[0] == results[1]


# The SOURCE rows of groups 1, 2 and 4 (no key twice among them; NULL keys never collide).
# Dropped on the twin: (1, 'A '), the table's (1, 'a').
IGNORE_ALL = ("INSERT IGNORE INTO {t} (user_id, course_id) SELECT u, c FROM {s} "
              "WHERE grp IN (1, 2, 4) ORDER BY grp, c COLLATE utf8mb4_bin, u")


def refused_repeat(table, form="an INSERT IGNORE … SELECT"):
    return ("err", 1235, "42000",
            f'uniqguard: {form} whose rows repeat a key among themselves on table '
            f'"{DATABASE}.{table}" is not enforced by guard "{GUARD}" yet; the statement was '
            "refused")


def ok_and_rows(answers):
    """An OK reduced to what the copy reports as the twin does: affected rows and status."""
    return [a[:3] if a[0] == "ok" else a for a in answers]


def warnings_agree(answers, warnings):
    """The OK's warning count is the number of rows SHOW WARNINGS lists after it."""
    assert answers[0] == "ok" and warnings[0] == "rows"
    assert answers[3] == len(warnings[1])


def test_insert_ignore_select_drops_the_duplicate_rows(mysql_root, proxy_account,
                                                       make_mysql_proxy, mariadb, tmp_path):
    fill(mysql_root, "gs_ign")
    duplicates = tmp_path / "ignored.jsonl"
    proxy = start(make_mysql_proxy, "gs_ign", "reject", duplicates)
    steps = [
        IGNORE_ALL, "SHOW WARNINGS",
        # Every row a duplicate now: nothing inserted.
        "INSERT IGNORE INTO {t} (user_id, course_id) SELECT u, c FROM {s} WHERE grp IN (1, 2)",
        # The plain form still refuses a duplicate.
        "INSERT INTO {t} (user_id, course_id) SELECT 10, 'X'",
        # In a transaction, with the transaction's own row.
        "BEGIN",
        "INSERT INTO {t} (user_id, course_id) VALUES (70, 'a')",
        "INSERT IGNORE INTO {t} (user_id, course_id) SELECT 70, 'A' UNION ALL SELECT 71, 'b'",
        "COMMIT",
        "SELECT user_id, course_id FROM {t} ORDER BY id",
    ]
    got, want = on_both(proxy, mariadb, "gs_ign", steps)
    assert want[0] == ("ok", 6, AUTOCOMMIT, 1, "Records: 7  Duplicates: 1  Warnings: 1")
    assert want[2][:4] == ("ok", 0, AUTOCOMMIT, 4)
    assert want[3] == err("10-X")
    assert want[6][:2] == ("ok", 1)
    assert want[8] == ("rows", [["1", "a"], ["2", "b"], ["10", "x"], ["11", "y"], ["20", "p"],
                                ["40", None], [None, "n"], [None, "n"], ["70", "a"], ["71", "b"]])
    assert ok_and_rows(got) == ok_and_rows(want[:1]) + [got[1]] + ok_and_rows(want[2:])
    # The proxy's OK is its copy's: the rows it inserted, no warning (SHOW WARNINGS agrees).
    assert got[0] == ("ok", 6, AUTOCOMMIT, 0, "Records: 6  Duplicates: 0  Warnings: 0")
    assert got[1] == ("rows", [])
    assert got[2] == ("ok", 0, AUTOCOMMIT, 0, "Records: 0  Duplicates: 0  Warnings: 0")
    # One line per duplicate key, as the check read it (a stage row's spelling), "ignored".
    lines = log_lines(duplicates, 7)
    assert sorted((tuple(line["values"]), line["action"]) for line in lines) == sorted([
        (("1", "A "), "ignored"), (("10", "x"), "ignored"), (("11", "y"), "ignored"),
        (("20", "p"), "ignored"), (("1", "A "), "ignored"), (("10", "X"), "rejected"),
        (("70", "A"), "ignored")])
    # A key twice among the rows, in no row of the table: which row a unique key keeps depends
    # on what else the copy would skip. Refused; a key twice that the table has is dropped.
    got = steps_on(proxy.port, "gs_ign", [
        "INSERT IGNORE INTO {t} (user_id, course_id) SELECT 30, 'q' UNION ALL SELECT 30, 'Q'",
        "INSERT IGNORE INTO {t} (user_id, course_id) SELECT 10, 'X' UNION ALL SELECT 10, 'x' "
        "UNION ALL SELECT 31, 'q'",
        "SELECT COUNT(*) FROM {t} WHERE user_id IN (10, 30, 31)"])
    assert got[0] == refused_repeat("gs_ign")
    assert got[1][:2] == ("ok", 1)
    assert got[2] == ("rows", [["2"]])


def test_insert_ignore_select_without_an_auto_increment_column(mysql_root, proxy_account,
                                                               make_mysql_proxy, mariadb):
    # A primary key the client gives makes INSERT IGNORE skip a row of that key too, as the
    # twin's; the transaction stays open (no DDL but the stage's CREATE/DROP TEMPORARY).
    fill(mysql_root, "gs_ignpk",
         create="CREATE TABLE {t} (id INT PRIMARY KEY, user_id INT, course_id VARCHAR(20){unique}) "
                "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
    proxy = start_guarded(make_mysql_proxy, "gs_ignpk")
    steps = [
        "INSERT INTO {t} VALUES (1, 1, 'a')",
        # (1, 'A') is row 1's key; id 1 is row 1's id.
        "INSERT IGNORE INTO {t} SELECT 9, 5, 'e' UNION ALL SELECT 7, 1, 'A' UNION ALL "
        "SELECT 1, 6, 'f' UNION ALL SELECT 6, 7, 'g'",
        "INSERT IGNORE INTO {t} (user_id, id, course_id) SELECT 5, 20, 'e' UNION ALL "
        "SELECT 21, 21, 'u'",
        # IGNORE's conversions ('abc' is 0, a string too long is cut) and a primary key repeated
        # inside the statement (skipped).
        "INSERT IGNORE INTO {t} SELECT 30, 'abc', REPEAT('z', 30) UNION ALL SELECT 30, 31, 'y'",
        "BEGIN",
        "INSERT INTO {t} VALUES (50, 50, 'x')",
        "INSERT IGNORE INTO {t} SELECT 51, 1, 'a' UNION ALL SELECT 52, 52, 'q'",
        "SELECT @@in_transaction",
        "ROLLBACK",
        "SELECT id, user_id, course_id FROM {t} ORDER BY id",
    ]
    got, want = on_both(proxy, mariadb, "gs_ignpk", steps)
    assert want[1][:3] == ("ok", 2, AUTOCOMMIT)
    assert want[2][:3] == ("ok", 1, AUTOCOMMIT)
    assert want[3][:4] == ("ok", 1, AUTOCOMMIT, 3)
    assert want[6][:3] == ("ok", 1, AUTOCOMMIT | IN_TRANS)
    assert want[7] == ("rows", [["1"]])
    assert want[9] == ("rows", [["1", "1", "a"], ["6", "7", "g"], ["9", "5", "e"],
                                ["21", "21", "u"], ["30", "0", "z" * 20]])
    assert ok_and_rows(got) == ok_and_rows(want)


def test_action_ignore_drops_only_the_guards_duplicates(mysql_root, proxy_account,
                                                         make_mysql_proxy, mariadb, tmp_path):
    """Under "ignore" a plain INSERT … SELECT skips the guard's duplicates as INSERT IGNORE on
    the twin does, and its other errors stay errors (the twin's plain INSERT's)."""
    fill(mysql_root, "gs_act")
    proxy = start(make_mysql_proxy, "gs_act", "ignore", tmp_path / "dup.jsonl")
    plain = [
        "INSERT INTO {t} (user_id, course_id) SELECT u, c FROM {s} WHERE grp IN (1, 2, 4) "
        "ORDER BY grp, c COLLATE utf8mb4_bin, u",
        "INSERT INTO {t} (user_id, course_id) SELECT 'abc', 'k'",
        "INSERT INTO {t} (user_id, course_id) SELECT 90, REPEAT('k', 30)",
        "SELECT user_id, course_id FROM {t} ORDER BY id",
    ]
    got = steps_on(proxy.port, "gs_act", [s.replace("{s}", "gs_act_src") for s in plain])
    twin = steps_on(mariadb.port, "gs_act_twin", [
        s.replace("{s}", "gs_act_src").replace("INSERT INTO", "INSERT IGNORE INTO", 1 if i == 0
                                               else 0) for i, s in enumerate(plain)])
    assert twin[0][:3] == ("ok", 6, AUTOCOMMIT)
    assert twin[1] == ("err", 1366, "22007", "Incorrect integer value: 'abc' for column "
                       f"`{DATABASE}`.`gs_act_twin`.`user_id` at row 1")
    assert twin[2] == ("err", 1406, "22001", "Data too long for column 'course_id' at row 1")
    assert ok_and_rows(got) == ok_and_rows(
        [twin[0], twin[1][:3] + (twin[1][3].replace("gs_act_twin", "gs_act"),)] + twin[2:])


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
def test_insert_ignore_select_of_a_key_in_flight_waits(mysql_root, proxy_account,
                                                      make_mysql_proxy, mariadb, end):
    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, f"gs_iwait_{end.lower()}",
                           "INSERT INTO {t} (user_id, course_id) VALUES (80, 'w')",
                           "INSERT IGNORE INTO {t} (user_id, course_id) SELECT 80, 'W' "
                           "UNION ALL SELECT 81, 'x'",
                           ended_by(end))
    assert want == ("ok", 1 if end == "COMMIT" else 2)
    assert got == want


def test_a_key_an_insert_ignore_select_dropped_is_not_held(mysql_root, proxy_account,
                                                          make_mysql_proxy, mariadb):
    """A's open transaction dropped (1, 'a') (the table's): B's INSERT of it meets the row at
    once (1062), as on the twin, instead of waiting for A."""
    fill(mysql_root, "gs_held")
    proxy = start_guarded(make_mysql_proxy, "gs_held")

    def scenario(port, t):
        a, b = connect(port), connect(port)
        try:
            run(a, "BEGIN")
            first = run(a, f"INSERT IGNORE INTO {t} (user_id, course_id) SELECT 1, 'a' "
                           "UNION ALL SELECT 9, 'z'")
            waiter = Background(b, f"INSERT INTO {t} (user_id, course_id) VALUES (1, 'A')")
            result = waiter.join()
            run(a, "ROLLBACK")
            return first, result, waiter.elapsed < 1
        finally:
            a.close()
            b.close()

    got, want = scenario(proxy.port, "gs_held"), scenario(mariadb.port, "gs_held_twin")
    assert want == (("ok", 1), ("err", 1062, "Duplicate entry '1-A' for key 'enroll_uniq'"), True)
    assert got == want


def test_a_key_an_insert_ignore_values_dropped_is_not_held(mysql_root, proxy_account,
                                                          make_mysql_proxy, mariadb):
    """The same for INSERT IGNORE … VALUES that keeps some rows: A's open transaction dropped
    (1, 'a') (the table's) and wrote (9, 'z'); B's INSERT of (1, 'A') meets the row at once
    (1062), as on the twin, where it waited for A's transaction (the dropped key stayed claimed
    until 2026-11-28); B's INSERT of (9, 'z'), which A did write, waits for A."""
    fill(mysql_root, "gv_held")
    proxy = start_guarded(make_mysql_proxy, "gv_held")

    def scenario(port, t):
        a, b = connect(port), connect(port)
        try:
            run(a, "BEGIN")
            first = run(a, f"INSERT IGNORE INTO {t} (user_id, course_id) VALUES (1, 'a'), "
                           "(9, 'z'), (1, 'a')")
            waiter = Background(b, f"INSERT INTO {t} (user_id, course_id) VALUES (1, 'A')")
            dropped = waiter.join()
            fast = waiter.elapsed < 1
            waiter = Background(b, f"INSERT INTO {t} (user_id, course_id) VALUES (9, 'z')")
            time.sleep(1.0)
            still_waiting = waiter.thread.is_alive()
            run(a, "ROLLBACK")
            written = waiter.join()
            return first, dropped, fast, still_waiting, written
        finally:
            a.close()
            b.close()

    got, want = scenario(proxy.port, "gv_held"), scenario(mariadb.port, "gv_held_twin")
    assert want == (("ok", 1), ("err", 1062, "Duplicate entry '1-A' for key 'enroll_uniq'"), True,
                    True, ("ok", 1))
    assert got == want
