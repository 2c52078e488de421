"""REPLACE and INSERT … ON DUPLICATE KEY UPDATE on a guarded table (issue 6 item 5) against a real
MariaDB 10.11: through uniqguard on a table without a unique index, and directly on a twin whose
key is a real UNIQUE key. Rows whose keys are new are the plain inserts they are then; an ON
DUPLICATE KEY UPDATE of one row whose key exists updates that row (the proxy names it by its
primary key), and a REPLACE of it deletes it and inserts the new row (under the old row's id,
where the twin's takes a new one); what the proxy cannot make exact is refused with ERR 1235
naming the guard (a key repeated inside the statement, legacy duplicates)."""
from contextlib import closing
import struct

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import COM_QUERY, lenenc_int
from test_mysql_guard import GUARD, make_tables, start_guarded, wire
from test_mysql_guard_ignore import log_lines, start
from test_mysql_guard_waits import Background, connect, run

LEGACY = [(1, "a"), (2, "a")]  # distinct: both tables give their rows the same ids


def ok_or_err(client, sql):
    """The first packet answering a COM_QUERY, decoded: ("ok", affected, insert id, status,
    warnings, info) with sequence id 1, or ("err", code, sqlstate, message)."""
    client.command(bytes([COM_QUERY]) + sql.encode())
    seq, p = client.read_packet()
    assert seq == 1
    if p[0] == 0x00:
        affected, pos = lenenc_int(p, 1)
        insert_id, pos = lenenc_int(p, pos)
        status, warnings = struct.unpack_from("<HH", p, pos)
        info = p[pos + 4:]
        if info:
            length, at = lenenc_int(info, 0)
            info = info[at:at + length]
        return ("ok", affected, insert_id, status, warnings, info.decode())
    assert p[0] == 0xFF, p
    return ("err", struct.unpack_from("<H", p, 1)[0], p[4:9].decode(), p[9:].decode())


def rows_of(mariadb, table):
    return mariadb.sql(f"SELECT id, user_id, course_id, IFNULL(note, '-') FROM {table} "
                       "ORDER BY id", DATABASE)


def refusal(what, key, repeated=False, table="g_up"):
    cause = "an earlier row of the statement writes" if repeated else "already exists"
    return ("err", 1235, "42000",
            f"uniqguard: {what} of a key that {cause} (Duplicate entry '{key}' for key "
            f"'{GUARD}') on table \"{DATABASE}.{table}\" is not enforced by guard \"{GUARD}\" yet; "
            "the statement was refused")


ODKU = "INSERT … ON DUPLICATE KEY UPDATE"

# (statement, what both answer): the guarded table through the proxy must answer exactly what
# the twin answers (affected rows, insert id, status flags, warnings, info).
SAME = [
    ("INSERT INTO {t} (user_id, course_id, note) VALUES (5, 'e', 'n') "
     "ON DUPLICATE KEY UPDATE note = VALUES(note)", (1, 3, "")),
    ("INSERT INTO {t} (user_id, course_id, note) VALUES (6, 'e', 'x'), (7, 'e', 'y') "
     "ON DUPLICATE KEY UPDATE note = VALUES(note)", (2, 4, "Records: 2  Duplicates: 0  Warnings: 0")),
    ("REPLACE INTO {t} (user_id, course_id, note) VALUES (8, 'e', 'r')", (1, 6, "")),
    ("REPLACE {t} SET user_id = 9, course_id = 'e'", (1, 7, "")),
    ("REPLACE INTO {t} (course_id, user_id) VALUES ('f', 10), ('f', 11)",
     (2, 8, "Records: 2  Duplicates: 0  Warnings: 0")),
    # An existing key (a legacy row; 'A' is 'a' under utf8mb4_general_ci): the row is updated,
    # affected rows 2 and its id as the insert id.
    ("INSERT INTO {t} (user_id, course_id, note) VALUES (1, 'A', 'u') "
     "ON DUPLICATE KEY UPDATE note = VALUES(note)", (2, 1, "")),
    # Nothing changes: 0, no insert id.
    ("INSERT INTO {t} (user_id, course_id, note) VALUES (1, 'a', 'u') "
     "ON DUPLICATE KEY UPDATE note = VALUES(note)", (0, 0, "")),
    ("INSERT INTO {t} (course_id, user_id) VALUE ('e', '5') "
     "ON DUPLICATE KEY UPDATE note = CONCAT(note, '+')", (2, 3, "")),
    # A key written earlier in the same session (in the transaction: its own uncommitted row).
    ("INSERT INTO {t} (user_id, course_id) VALUES (8, 'E ') ON DUPLICATE KEY UPDATE "
     "note = 'again'", (2, 6, "")),
]


@pytest.mark.parametrize("transaction", [False, True], ids=["autocommit", "transaction"])
def test_upserts_answer_as_on_a_unique_key(mysql_root, proxy_account, make_mysql_proxy,
                                           mariadb, transaction):
    make_tables(mysql_root, "g_up", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up")
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        if transaction:
            assert ok_or_err(through, "BEGIN")[0] == ok_or_err(direct, "BEGIN")[0] == "ok"
        status = 0x03 if transaction else 0x02
        for sql, (affected, insert_id, info) in SAME:
            got = ok_or_err(through, sql.format(t="g_up"))
            want = ok_or_err(direct, sql.format(t="g_up_twin"))
            assert got == want == ("ok", affected, insert_id, status, 0, info), sql
        if transaction:
            assert ok_or_err(through, "COMMIT")[0] == ok_or_err(direct, "COMMIT")[0] == "ok"
    finally:
        through.close()
        direct.close()
    # The same rows, ids included (the updates kept their rows' ids).
    assert rows_of(mariadb, "g_up") == rows_of(mariadb, "g_up_twin")
    assert rows_of(mariadb, "g_up").splitlines()[0].split("\t") == ["1", "1", "a", "u"]


# Several rows, some of existing keys (Django's bulk_create(update_conflicts=True), PyMySQL's
# executemany): each existing row updated by its id, the others inserted (DEFAULT ids). With
# what both answer: affected rows, info, and the insert id through the proxy, then on the twin.
# The insert ids part after the second statement, whose rows all exist: the twin's InnoDB takes
# two auto-increment values for its insert attempts, the proxy's statement names both rows by
# their ids and takes none (test_auto_increment_counter_differs_after_an_update).
SEVERAL = [
    ("INSERT INTO {t} (user_id, course_id, note) VALUES (20, 'm', 'n1'), (1, 'a', 'multi'), "
     "(21, 'm', 'n2') ON DUPLICATE KEY UPDATE note = VALUES(note)",
     (4, "Records: 3  Duplicates: 1  Warnings: 0", 3, 3)),
    ("INSERT INTO {t} (user_id, course_id, note) VALUES (2, 'A', 'm2'), (1, 'a', 'm1') "
     "ON DUPLICATE KEY UPDATE note = VALUES(note)",
     (4, "Records: 2  Duplicates: 2  Warnings: 0", 1, 1)),
    # Nothing changes in the first row: 0 for it.
    ("INSERT INTO {t} (user_id, course_id, note) VALUES (2, 'a', 'm2'), (22, 'm', 'n3'), "
     "(1, 'a', 'm3') ON DUPLICATE KEY UPDATE note = VALUES(note)",
     (3, "Records: 3  Duplicates: 1  Warnings: 0", 6, 8)),
    ("INSERT INTO {t} (user_id, course_id) VALUES (23, 'm'), (24, 'm') "
     "ON DUPLICATE KEY UPDATE note = 'x'", (2, "Records: 2  Duplicates: 0  Warnings: 0", 9, 11)),
    ("INSERT INTO {t} (user_id, course_id) VALUES (23, 'm'), (20, 'm') "
     "ON DUPLICATE KEY UPDATE note = CONCAT(IFNULL(note, ''), '+')",
     (4, "Records: 2  Duplicates: 2  Warnings: 0", 3, 3)),
]


@pytest.mark.parametrize("transaction", [False, True], ids=["autocommit", "transaction"])
def test_several_rows_update_their_existing_rows_as_on_a_unique_key(
        mysql_root, proxy_account, make_mysql_proxy, mariadb, transaction):
    make_tables(mysql_root, "g_up_many", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up_many")
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        if transaction:
            assert ok_or_err(through, "BEGIN")[0] == ok_or_err(direct, "BEGIN")[0] == "ok"
        status = 0x03 if transaction else 0x02
        for sql, (affected, info, proxy_id, twin_id) in SEVERAL:
            got = ok_or_err(through, sql.format(t="g_up_many"))
            want = ok_or_err(direct, sql.format(t="g_up_many_twin"))
            assert got == ("ok", affected, proxy_id, status, 0, info), sql
            assert want == ("ok", affected, twin_id, status, 0, info), sql
        if transaction:
            assert ok_or_err(through, "COMMIT")[0] == ok_or_err(direct, "COMMIT")[0] == "ok"
    finally:
        through.close()
        direct.close()
    rows = "SELECT user_id, course_id, IFNULL(note, '-') FROM {} ORDER BY user_id"
    assert mariadb.sql(rows.format("g_up_many"), DATABASE) == \
        mariadb.sql(rows.format("g_up_many_twin"), DATABASE) == (
            "1\ta\tm3\n2\ta\tm2\n20\tm\tn1+\n21\tm\tn2\n22\tm\tn3\n23\tm\t+\n24\tm\t-\n")
    # The existing rows kept their ids, as the updates of a unique key keep them.
    assert rows_of(mariadb, "g_up_many").splitlines()[:4] == \
        rows_of(mariadb, "g_up_many_twin").splitlines()[:4]


def test_what_the_proxy_cannot_make_exact_is_refused(mysql_root, proxy_account,
                                                     make_mysql_proxy, mariadb):
    make_tables(mysql_root, "g_up", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up")
    cases = [
        # REPLACE without a column list, or in its SET form: the rewrite has no list to name
        # the primary key in.
        ("REPLACE INTO {t} VALUES (NULL, 2, 'a', 'r')", refusal("REPLACE", "2-a"), (2, 3)),
        ("REPLACE {t} SET user_id = 2, course_id = 'a'", refusal("REPLACE", "2-a"), (2, 4)),
        # Several rows, one of them repeating an earlier row's new key.
        ("INSERT INTO {t} (user_id, course_id) VALUES (30, 'a'), (1, 'a'), (30, 'A') "
         "ON DUPLICATE KEY UPDATE note = 'm'", refusal(ODKU, "30-A", repeated=True), (5, 5)),
        # The same key twice in one statement.
        ("REPLACE INTO {t} (user_id, course_id) VALUES (31, 'a'), (31, 'A')",
         refusal("REPLACE", "31-A", repeated=True), (3, 8)),
        # The clause reads the primary key, which the rewrite would change.
        ("INSERT INTO {t} (user_id, course_id) VALUES (2, 'a') ON DUPLICATE KEY UPDATE note = id",
         refusal(ODKU, "2-a"), (2, 4)),
    ]
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        assert ok_or_err(through, "BEGIN")[0] == "ok"
        for sql, refused, (affected, insert_id) in cases:
            assert ok_or_err(through, sql.format(t="g_up")) == refused, sql
            # What the twin does instead.
            assert ok_or_err(direct, sql.format(t="g_up_twin"))[1:3] == (affected, insert_id), sql
        # The transaction goes on.
        assert through.query_text_rows("SELECT @@in_transaction") == [["1"]]
        # An assignment to a key column is refused before anything is asked.
        assert ok_or_err(through, "INSERT INTO g_up (user_id, course_id) VALUES (40, 'a') "
                                  "ON DUPLICATE KEY UPDATE course_id = 'b'") == (
            "err", 1235, "42000",
            f"uniqguard: {ODKU} that sets a key column on table \"{DATABASE}.g_up\" is not "
            f"enforced by guard \"{GUARD}\" yet; the statement was refused")
    finally:
        through.close()
        direct.close()
    assert rows_of(mariadb, "g_up") == "1\t1\ta\t-\n2\t2\ta\t-\n"


def test_legacy_duplicates_refuse_the_update_naming_the_guard(mysql_root, proxy_account,
                                                              make_mysql_proxy, mariadb):
    make_tables(mysql_root, "g_up_legacy", legacy=[(1, "a"), (1, "a "), (2, "a")])
    proxy = start_guarded(make_mysql_proxy, "g_up_legacy")
    through = wire(proxy.port)
    try:
        assert ok_or_err(through, "INSERT INTO g_up_legacy (user_id, course_id) VALUES (1, 'A') "
                                  "ON DUPLICATE KEY UPDATE note = 'x'") == (
            "err", 1235, "42000",
            f"uniqguard: {ODKU} on table \"{DATABASE}.g_up_legacy\" is refused by guard "
            f"\"{GUARD}\": 2 rows already have its key (Duplicate entry '1-A' for key '{GUARD}'); "
            "a unique key would allow one")
        assert ok_or_err(through, "REPLACE INTO g_up_legacy (user_id, course_id) VALUES (1, 'a')") \
            == ("err", 1235, "42000",
                f"uniqguard: REPLACE on table \"{DATABASE}.g_up_legacy\" is refused by guard "
                f"\"{GUARD}\": 2 rows already have its key (Duplicate entry '1-a' for key "
                f"'{GUARD}'); a unique key would allow one")
        # A key with one row is updated.
        assert ok_or_err(through, "INSERT INTO g_up_legacy (user_id, course_id) VALUES (2, 'a') "
                                  "ON DUPLICATE KEY UPDATE note = 'x'") == ("ok", 2, 3, 2, 0, "")
    finally:
        through.close()
    assert rows_of(mariadb, "g_up_legacy") == "1\t1\ta\t-\n2\t1\ta \t-\n3\t2\ta\tx\n"


def test_pymysql_rowcounts_found_rows_and_executemany(mysql_root, proxy_account,
                                                      make_mysql_proxy, mariadb):
    make_tables(mysql_root, "g_up_py", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up_py")

    def run(port, table):
        seen = []
        for found_rows in (False, True):
            conn = pymysql.connect(host="127.0.0.1", port=port, user=NATIVE_USER,
                                   password=NATIVE_PASSWORD, database=DATABASE, autocommit=True,
                                   client_flag=pymysql.constants.CLIENT.FOUND_ROWS if found_rows else 0)
            with closing(conn), conn.cursor() as cur:
                sql = (f"INSERT INTO {table} (user_id, course_id, note) VALUES (%s, %s, %s) "
                       "ON DUPLICATE KEY UPDATE note = VALUES(note)")
                seen.append(cur.executemany(sql, [(50 + found_rows * 2, "p", "n"),
                                                  (51 + found_rows * 2, "p", "n")]))
                seen.append(cur.execute(sql, (1, "a", f"v{found_rows}")))  # changed
                seen.append((cur.lastrowid, cur.execute(sql, (1, "a", f"v{found_rows}"))))
                seen.append(cur.execute(f"REPLACE INTO {table} (user_id, course_id) "
                                        "VALUES (%s, %s)", (60 + found_rows, "p")))
        return seen

    got = run(proxy.port, "g_up_py")
    want = run(mariadb.port, "g_up_py_twin")
    assert got == want == [2, 2, (1, 0), 1, 2, 2, (1, 1), 1]
    # The same rows; their ids differ after the updates (test_auto_increment_counter_…).
    rows = "SELECT user_id, course_id, IFNULL(note, '-') FROM {} ORDER BY user_id"
    assert mariadb.sql(rows.format("g_up_py"), DATABASE) == \
        mariadb.sql(rows.format("g_up_py_twin"), DATABASE) == (
            "1\ta\tvTrue\n2\ta\t-\n50\tp\tn\n51\tp\tn\n52\tp\tn\n53\tp\tn\n60\tp\t-\n"
            "61\tp\t-\n")


def test_pymysql_executemany_of_existing_and_new_keys(mysql_root, proxy_account,
                                                     make_mysql_proxy, mariadb):
    # PyMySQL's executemany sends one multi-row INSERT … ON DUPLICATE KEY UPDATE: the rows of
    # existing keys update them, the others are inserted, the rowcount is the server's (2 per
    # update, 1 per insert), as on the twin's unique key.
    make_tables(mysql_root, "g_up_many_py", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up_many_py")

    def run(port, table):
        conn = pymysql.connect(host="127.0.0.1", port=port, user=NATIVE_USER,
                               password=NATIVE_PASSWORD, database=DATABASE, autocommit=True)
        with closing(conn), conn.cursor() as cur:
            sql = (f"INSERT INTO {table} (user_id, course_id, note) VALUES (%s, %s, %s) "
                   "ON DUPLICATE KEY UPDATE note = VALUES(note)")
            return [cur.executemany(sql, [(1, "a", "e1"), (70, "p", "n"), (2, "A", "e2")]),
                    cur.lastrowid,
                    cur.executemany(sql, [(71, "p", "n"), (70, "p", "n2")]), cur.lastrowid]

    got = run(proxy.port, "g_up_many_py")
    want = run(mariadb.port, "g_up_many_py_twin")
    assert got == want == [5, 3, 3, 6]
    rows = "SELECT id, user_id, course_id, IFNULL(note, '-') FROM {} ORDER BY id"
    assert mariadb.sql(rows.format("g_up_many_py"), DATABASE) == \
        mariadb.sql(rows.format("g_up_many_py_twin"), DATABASE) == (
            "1\t1\ta\te1\n2\t2\ta\te2\n3\t70\tp\tn2\n6\t71\tp\tn\n")


@pytest.mark.parametrize("sql_mode", ["NO_AUTO_VALUE_ON_ZERO", "EMPTY_STRING_IS_NULL"])
def test_several_rows_under_sql_modes_that_change_ids_and_empty_strings(
        mysql_root, proxy_account, make_mysql_proxy, mariadb, sql_mode):
    # NO_AUTO_VALUE_ON_ZERO: a new row's id must still come from the counter (a review found
    # DEFAULT storing 0 there, and the next new row overwriting it). EMPTY_STRING_IS_NULL: the
    # probe's answer for a key without rows must not vanish (an '' placeholder became NULL).
    make_tables(mysql_root, "g_up_mode", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up_mode")
    through, direct = wire(proxy.port), wire(mariadb.port)
    statements = [
        "INSERT INTO {t} (user_id, course_id, note) VALUES (1, 'a', 'n1'), (5, 'm', 'n5'), "
        "(6, 'm', 'n6') ON DUPLICATE KEY UPDATE note = VALUES(note)",
        "INSERT INTO {t} (user_id, course_id, note) VALUES (7, 'm', 'n7'), (5, 'm', 'u5'), "
        "(1, 'a', 'u1') ON DUPLICATE KEY UPDATE note = VALUES(note)",
        # A key the key set still holds but no row has: its probe answers "no row".
        "DELETE FROM {t} WHERE user_id = 6",
        "INSERT INTO {t} (user_id, course_id, note) VALUES (6, 'm', 'back'), (1, 'a', 'u9') "
        "ON DUPLICATE KEY UPDATE note = VALUES(note)",
    ]
    try:
        for client in (through, direct):
            assert ok_or_err(client, "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,"
                                     f"ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,{sql_mode}'"
                             )[0] == "ok"
        for sql in statements:
            got = ok_or_err(through, sql.format(t="g_up_mode"))
            want = ok_or_err(direct, sql.format(t="g_up_mode_twin"))
            if sql.startswith("DELETE"):  # (only the twin's has an index to use: status bit)
                got, want = got[:2], want[:2]
            assert got == want, (sql, got, want)
    finally:
        through.close()
        direct.close()
    assert rows_of(mariadb, "g_up_mode") == rows_of(mariadb, "g_up_mode_twin") == (
        "1\t1\ta\tu9\n2\t2\ta\t-\n3\t5\tm\tu5\n6\t7\tm\tn7\n9\t6\tm\tback\n")


def test_a_before_insert_trigger_leaves_the_update_refused(mysql_root, proxy_account,
                                                           make_mysql_proxy, mariadb):
    # A BEFORE INSERT trigger may set the primary key itself (here from a sequence), and the id
    # the proxy names the row by would not reach the server's conflict: a second row with the
    # key. Such a table's primary key does not name rows: the update of an existing key is
    # refused. (MariaDB lists a table's triggers only to an account with the TRIGGER privilege
    # on it: docs/mysql.md.)
    make_tables(mysql_root, "g_up_trig", legacy=LEGACY)
    with mysql_root.cursor() as cur:
        cur.execute("CREATE OR REPLACE SEQUENCE g_up_trig_seq START WITH 100")
        cur.execute("CREATE TRIGGER g_up_trig_ids BEFORE INSERT ON g_up_trig FOR EACH ROW "
                    "SET NEW.id = NEXT VALUE FOR g_up_trig_seq")
        cur.execute(f"GRANT TRIGGER ON {DATABASE}.g_up_trig TO 'uniqguard'@'%'")
    proxy = start_guarded(make_mysql_proxy, "g_up_trig")
    through = wire(proxy.port)
    try:
        assert ok_or_err(through, "INSERT INTO g_up_trig (user_id, course_id) VALUES (1, 'a') "
                                  "ON DUPLICATE KEY UPDATE note = 'x'") == refusal(
            ODKU, "1-a", table="g_up_trig")
    finally:
        through.close()
    assert rows_of(mariadb, "g_up_trig") == "1\t1\ta\t-\n2\t2\ta\t-\n"


def test_auto_increment_counter_differs_after_an_update(mysql_root, proxy_account,
                                                        make_mysql_proxy, mariadb):
    """A known difference (docs/mysql.md): InnoDB takes an auto-increment value for the insert
    attempt an ON DUPLICATE KEY UPDATE turns into an update; the guarded statement names the row
    by its id, so nothing is taken, and the next insert's id is one lower than on the twin."""
    make_tables(mysql_root, "g_up_ai", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up_ai")
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        for client, table in ((through, "g_up_ai"), (direct, "g_up_ai_twin")):
            assert ok_or_err(client, f"INSERT INTO {table} (user_id, course_id) VALUES (1, 'a') "
                                     "ON DUPLICATE KEY UPDATE note = 'x'")[1:3] == (2, 1)
        assert ok_or_err(through, "INSERT INTO g_up_ai (user_id, course_id) VALUES (3, 'a')")[2] == 3
        assert ok_or_err(direct, "INSERT INTO g_up_ai_twin (user_id, course_id) VALUES (3, 'a')")[2] == 4
    finally:
        through.close()
        direct.close()


def test_log_forwards_upserts_and_logs_their_duplicates(mysql_root, proxy_account,
                                                        make_mysql_proxy, mariadb, tmp_path):
    make_tables(mysql_root, "g_up_log", legacy=LEGACY)
    duplicates = tmp_path / "duplicates.jsonl"
    proxy = start(make_mysql_proxy, "g_up_log", "log", duplicates)
    through = wire(proxy.port)
    try:
        # Without a unique key the server inserts: log changes nothing on the wire.
        assert ok_or_err(through, "REPLACE INTO g_up_log (user_id, course_id) VALUES (1, 'a')")[:3] \
            == ("ok", 1, 3)
        assert ok_or_err(through, "INSERT INTO g_up_log (user_id, course_id) VALUES (2, 'a') "
                                  "ON DUPLICATE KEY UPDATE note = 'x'")[:3] == ("ok", 1, 4)
    finally:
        through.close()
    lines = log_lines(duplicates, 2)
    assert [(line["values"], line["action"], line["statement"][:7]) for line in lines] == [
        (["1", "a"], "logged", "REPLACE"), (["2", "a"], "logged", "INSERT ")]
    assert mariadb.sql("SELECT COUNT(*) FROM g_up_log", DATABASE).strip() == "4"


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
def test_a_second_upsert_of_a_key_in_flight_waits_then_updates_or_inserts(
        mysql_root, proxy_account, make_mysql_proxy, mariadb, end):
    """Two sessions, one new key: the second waits for the first's transaction (on the twin for
    its row lock, through the proxy for its claim), then updates the committed row (2) or, after
    a rollback, inserts (1), as on a unique key."""
    make_tables(mysql_root, "g_up_wait", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_up_wait")
    sql = ("INSERT INTO {t} (user_id, course_id, note) VALUES (70, 'w', '{n}') "
           "ON DUPLICATE KEY UPDATE note = VALUES(note)")
    seen = []
    for port, table in ((proxy.port, "g_up_wait"), (mariadb.port, "g_up_wait_twin")):
        first, second = connect(port), connect(port)
        try:
            assert run(first, "BEGIN") == ("ok", 0)
            assert run(first, sql.format(t=table, n="first")) == ("ok", 1)
            waiting = Background(second, sql.format(t=table, n="second"))
            assert waiting.waiting()
            assert run(first, end) == ("ok", 0)
            seen.append(waiting.join())
        finally:
            first.close()
            second.close()
    assert seen[0] == seen[1] == ("ok", 2 if end == "COMMIT" else 1)
    rows = "SELECT user_id, course_id, note FROM {} WHERE user_id = 70"
    assert mariadb.sql(rows.format("g_up_wait"), DATABASE) == \
        mariadb.sql(rows.format("g_up_wait_twin"), DATABASE) == "70\tw\tsecond\n"


@pytest.mark.parametrize("primary_key,updated", [
    ("id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY", True),
    ("id INT AUTO_INCREMENT, PRIMARY KEY (id, user_id)", False),  # two columns
    ("id VARCHAR(10) DEFAULT 'x', PRIMARY KEY (id)", False),      # not an integer
    ("id INT", False),                                            # no primary key
    ("id INT NOT NULL PRIMARY KEY", False),                       # no AUTO_INCREMENT
], ids=["bigint", "composite", "varchar", "none", "no-counter"])
def test_only_a_one_column_integer_primary_key_names_the_row(
        mysql_root, proxy_account, make_mysql_proxy, mariadb, primary_key, updated):
    with mysql_root.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS g_up_pk")
        cur.execute(f"CREATE TABLE g_up_pk ({primary_key}, user_id INT NOT NULL, "
                    "course_id VARCHAR(20), note VARCHAR(20)) ENGINE=InnoDB")
        cur.execute("INSERT INTO g_up_pk (user_id, course_id) VALUES (1, 'a')"
                    if "NOT NULL" not in primary_key else
                    "INSERT INTO g_up_pk (id, user_id, course_id) VALUES (1, 1, 'a')")
    proxy = start_guarded(make_mysql_proxy, "g_up_pk")
    through = wire(proxy.port)
    try:
        got = ok_or_err(through, "INSERT INTO g_up_pk (user_id, course_id) VALUES (1, 'a') "
                                 "ON DUPLICATE KEY UPDATE note = 'x'")
    finally:
        through.close()
    if updated:
        assert got == ("ok", 2, 1, 2, 0, "")
    else:
        assert got == refusal(ODKU, "1-a", table="g_up_pk")
    assert mariadb.sql("SELECT COUNT(*), IFNULL(MAX(note), '-') FROM g_up_pk", DATABASE) == \
        ("1\tx\n" if updated else "1\t-\n")


def test_replace_of_an_existing_key_deletes_and_inserts(mysql_root, proxy_account,
                                                        make_mysql_proxy, mariadb):
    """The server's primary key conflict replaces the row the proxy names: affected rows, info,
    status and the rows after are the twin's; the new row keeps the old row's id, where the
    twin's REPLACE gives it the counter's next (and reports that as the insert id)."""
    make_tables(mysql_root, "g_rep", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_rep")
    steps = [
        # One row onto legacy row 2's key ('A' is 'a'), with a note.
        ("REPLACE INTO {t} (user_id, course_id, note) VALUES (2, 'A', 'r')", 2, 2, 3, ""),
        # Two rows: one existing key (row 1), one new (the counter's).
        ("REPLACE INTO {t} (user_id, course_id, note) VALUES (1, 'a', 'm'), (5, 'e', 'n')",
         3, 3, 4, "Records: 2  Duplicates: 1  Warnings: 0"),
        # Onto the row the last statement inserted.
        ("REPLACE INTO {t} (note, course_id, user_id) VALUES ('s', 'E', 5)", 2, 3, 6, ""),
    ]
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        for transaction in (False, True):
            status = 0x03 if transaction else 0x02
            if transaction:
                assert ok_or_err(through, "BEGIN")[0] == ok_or_err(direct, "BEGIN")[0] == "ok"
            for sql, affected, proxy_id, twin_id, info in steps:
                if transaction:
                    sql = sql.replace("'r'", "'r2'").replace("'m'", "'m2'").replace("'s'", "'s2'")
                got = ok_or_err(through, sql.format(t="g_rep"))
                want = ok_or_err(direct, sql.format(t="g_rep_twin"))
                assert got[:2] + got[3:] == want[:2] + want[3:], sql
                assert want[3] == status, sql
                if not transaction:  # (in the transaction every key exists: rolled back)
                    assert want[:2] + want[4:] == ("ok", affected, 0, info), sql
                    assert (got[2], want[2]) == (proxy_id, twin_id), sql
            if transaction:
                assert ok_or_err(through, "ROLLBACK")[0] == ok_or_err(direct, "ROLLBACK")[0]
    finally:
        through.close()
        direct.close()
    rows = "SELECT user_id, course_id, IFNULL(note, '-') FROM {} ORDER BY user_id"
    assert mariadb.sql(rows.format("g_rep"), DATABASE) == \
        mariadb.sql(rows.format("g_rep_twin"), DATABASE) == "1\ta\tm\n2\tA\tr\n5\tE\ts\n"
    # Ids: the proxy's rows keep theirs (1, 2; (5, 'e') took the counter's 3), the twin's took
    # new ones (the explicit id is the OK's insert id through the proxy).
    assert rows_of(mariadb, "g_rep") == "1\t1\ta\tm\n2\t2\tA\tr\n3\t5\tE\ts\n"
    assert rows_of(mariadb, "g_rep_twin") == "3\t2\tA\tr\n4\t1\ta\tm\n6\t5\tE\ts\n"


@pytest.mark.parametrize("change", ["course_id = 'zz'", "id = 100"])
def test_replace_of_a_row_another_transaction_is_changing(mysql_root, proxy_account,
                                                         make_mysql_proxy, mariadb, change):
    """A changes row 2's key (or its id) in an open transaction; B's REPLACE of row 2's old key
    waits for A (the proxy's probe is a locking read), then does what the twin's does: a new
    row beside A's (key moved away), or A's row replaced (id moved). No row of A's lost, no key
    twice."""
    make_tables(mysql_root, "g_rep_race", legacy=[(1, "a"), (2, "b")])
    proxy = start_guarded(make_mysql_proxy, "g_rep_race")

    def scenario(port, t):
        a, b = connect(port), connect(port)
        try:
            run(a, "BEGIN")
            assert run(a, f"UPDATE {t} SET {change} WHERE id = 2") == ("ok", 1)
            waiter = Background(b, f"REPLACE INTO {t} (user_id, course_id, note) "
                                   "VALUES (2, 'b', 'rep')")
            assert waiter.waiting()
            assert run(a, "COMMIT") == ("ok", 0)
            result = waiter.join()
            with a.cursor() as cur:
                cur.execute(f"SELECT user_id, course_id, IFNULL(note, '-') FROM {t} "
                            "ORDER BY user_id, course_id")
                return result, cur.fetchall()
        finally:
            a.close()
            b.close()

    got = scenario(proxy.port, "g_rep_race")
    want = scenario(mariadb.port, "g_rep_race_twin")
    if change.startswith("course_id"):
        assert want == (("ok", 1), ((1, "a", "-"), (2, "b", "rep"), (2, "zz", "-")))
    else:
        assert want == (("ok", 2), ((1, "a", "-"), (2, "b", "rep")))
    assert got == want
