"""The MySQL guard's first slice against a real MariaDB 10.11: plain INSERTs into a guarded table
without a unique index, through uniqguard, against the same statements sent directly to a twin
table whose key is a real UNIQUE key. The client must see what the twin gives it: errno, SQLSTATE,
message bytes and sequence id of the ERR (raw protocol), the exception and affected rows with
PyMySQL and mysqlclient (MySQLdb), whose executemany sends the rows as one multi-row INSERT.
Also: the key set loaded from a table with legacy duplicates, rows deleted on the server (never a
false duplicate), the forms this slice refuses, and action = "log"."""
from contextlib import closing
import json
import signal
import time
import urllib.request

import MySQLdb
import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import COM_QUERY, WireClient

GUARD = "enroll_uniq"
PROXY_USER, PROXY_PASSWORD = "uniqguard", "proxy-secret"  # harness/proxy.py's backend account


def guard_toml(table, action="reject", name=GUARD, columns=("user_id", "course_id")):
    cols = ", ".join(f'"{c}"' for c in columns)
    return (f'[[guard]]\ntable = "{DATABASE}.{table}"\ncolumns = [{cols}]\n'
            f'action = "{action}"\nname = "{name}"\n')


def make_tables(mysql_root, name, legacy=()):
    """`name` without a unique key (legacy rows as given, duplicates included) and
    `name`_twin with the real UNIQUE key `enroll_uniq` and the legacy rows' distinct keys."""
    with mysql_root.cursor() as cur:
        for table, unique in ((name, ""), (name + "_twin", f", UNIQUE KEY {GUARD} (user_id, course_id)")):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT, "
                        f"course_id VARCHAR(20), note VARCHAR(20){unique}) ENGINE=InnoDB "
                        "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
        for row in legacy:
            cur.execute(f"INSERT INTO {name} (user_id, course_id) VALUES (%s, %s)", row)
            cur.execute(f"INSERT IGNORE INTO {name}_twin (user_id, course_id) VALUES (%s, %s)", row)


def start_guarded(make_mysql_proxy, table, action="reject", extra="",
                  columns=("user_id", "course_id")):
    proxy = make_mysql_proxy(extra=guard_toml(table, action, columns=columns) + extra)
    deadline = time.monotonic() + 30
    while f"guard {GUARD}: ready" not in proxy.log_text():
        assert time.monotonic() < deadline, proxy.log_text()
        time.sleep(0.05)
    return proxy


def wire(port):
    return WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)


def raw_reply(client, sql):
    """The first packet answering a COM_QUERY, as (sequence id, payload bytes)."""
    client.command(bytes([COM_QUERY]) + sql.encode())
    seq, payload = client.read_packet()
    if payload[0] == 0xFF:
        return seq, payload
    client.buffer = b""  # not an error: the rest of the reply is not compared here
    return seq, payload[:1]


def err_of(payload):
    return int.from_bytes(payload[1:3], "little"), payload[4:9].decode(), payload[9:]


@pytest.fixture
def enroll(mysql_root, proxy_account, make_mysql_proxy):
    make_tables(mysql_root, "g_enroll", legacy=[(1, "a"), (1, "A "), (2, "a")])
    return start_guarded(make_mysql_proxy, "g_enroll")


def guard_checks(proxy, family="uniqguard_guard_checks_total"):
    """A counter of the guard (by default uniqguard_guard_checks_total), from the proxy's admin
    endpoint."""
    url = f"http://127.0.0.1:{proxy.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(family + "{") and f'"{GUARD}"' in line:
                return int(float(line.rsplit(" ", 1)[1]))
    raise AssertionError(f"no {family} for {GUARD}")


def both(proxy, mariadb, sql, table="g_enroll"):
    """The same statement on the guarded table through the proxy and on the twin directly (two
    fresh raw connections): their first reply packets."""
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        return (raw_reply(through, sql.format(t=table)),
                raw_reply(direct, sql.format(t=table + "_twin")))
    finally:
        through.close()
        direct.close()


def test_duplicate_of_a_legacy_row_is_the_servers_own_error(enroll, mariadb):
    got, want = both(enroll, mariadb, "INSERT INTO {t} (user_id, course_id) VALUES (1, 'a ')")
    assert want[1][0] == 0xFF and err_of(want[1])[0] == 1062
    # Only the key name differs from the twin's: it is the guard's, and the twin's index has it.
    assert got == want
    assert err_of(got[1]) == (1062, "23000", b"Duplicate entry '1-a ' for key 'enroll_uniq'")
    count = mariadb.sql("SELECT COUNT(*) FROM g_enroll", DATABASE)
    assert count.strip() == "3"  # the statement did not run


def test_new_keys_pass_and_a_later_duplicate_of_them_is_caught(enroll, mariadb):
    got, want = both(enroll, mariadb, "INSERT INTO {t} (user_id, course_id) VALUES (7, 'x')")
    assert got[1][:1] == want[1][:1] == b"\x00"
    got, want = both(enroll, mariadb, "INSERT INTO {t} VALUES (NULL, '7', 'X', 'again')")
    assert got == want
    assert err_of(got[1])[2] == b"Duplicate entry '7-X' for key 'enroll_uniq'"


def test_duplicate_within_one_multi_row_insert_inserts_nothing(enroll, mariadb):
    sql = "INSERT INTO {t} (user_id, course_id) VALUES (8, 'b'), (9, 'b'), (8, 'B')"
    got, want = both(enroll, mariadb, sql)
    assert got == want
    assert err_of(got[1])[2] == b"Duplicate entry '8-B' for key 'enroll_uniq'"
    assert mariadb.sql("SELECT COUNT(*) FROM g_enroll WHERE user_id IN (8, 9)", DATABASE).strip() == "0"
    # A NULL never conflicts.
    got, want = both(enroll, mariadb,
                     "INSERT INTO {t} (user_id, course_id) VALUES (NULL, 'n'), (NULL, 'n')")
    assert got[1][:1] == want[1][:1] == b"\x00"


def test_first_row_in_order_wins_between_existing_and_repeated_keys(enroll, mariadb):
    sql = "INSERT INTO {t} (user_id, course_id) VALUES (10, 'q'), (10, 'q'), (2, 'a')"
    got, want = both(enroll, mariadb, sql)
    assert got == want
    sql = "INSERT INTO {t} (user_id, course_id) VALUES (11, 'q'), (2, 'A'), (11, 'q')"
    got, want = both(enroll, mariadb, sql)
    assert got == want
    assert err_of(got[1])[2] == b"Duplicate entry '2-A' for key 'enroll_uniq'"


def test_introduced_strings_key_as_the_session_reads_them(enroll, mariadb):
    # The raw client's session is utf8mb4: _utf8mb4, _utf8 (utf8mb3) and N'…' (utf8mb3) read
    # these bytes as it does, so the proxy keys them; the server's answers are the twin's.
    for sql, entry in [
            ("INSERT INTO {t} (user_id, course_id) VALUES (1, _utf8mb4'A')", b"1-A"),
            ("INSERT INTO {t} (user_id, course_id) VALUES (2, N'A ')", b"2-A "),
            ("INSERT INTO {t} (user_id, course_id) VALUES (2, _UTF8'\u00e1')", "2-á".encode())]:
        got, want = both(enroll, mariadb, sql)
        assert got == want, sql
        assert err_of(got[1]) == (1062, "23000",
                                  b"Duplicate entry '" + entry + b"' for key 'enroll_uniq'")
    # A new key written with an introducer joins the key set: the plain duplicate is caught.
    got, want = both(enroll, mariadb,
                     "INSERT INTO {t} (user_id, course_id) VALUES (3, _utf8'stra\u00dfe')")
    assert got[1][:1] == want[1][:1] == b"\x00"
    got, want = both(enroll, mariadb, "INSERT INTO {t} (user_id, course_id) VALUES (3, 'STRASSE')")
    assert got == want  # general_ci: ß = s, so 'strasse' is another key: both insert
    assert got[1][:1] == b"\x00"
    got, want = both(enroll, mariadb, "INSERT INTO {t} (user_id, course_id) VALUES (3, 'STRAßE')")
    assert got == want
    assert err_of(got[1])[0] == 1062
    # An introducer that converts the bytes (latin1) or a 4-byte character under utf8mb3 is
    # still the server's to read: refused.
    for sql in ("INSERT INTO g_enroll (user_id, course_id) VALUES (4, _latin1'a')",
                "INSERT INTO g_enroll (user_id, course_id) VALUES (4, _utf8'\U0001F600')"):
        through = wire(enroll.port)
        try:
            seq, payload = raw_reply(through, sql)
        finally:
            through.close()
        assert err_of(payload)[0] == 1235, sql


def test_empty_string_is_null_mode_reads_empty_strings_as_null(enroll, mariadb):
    # sql_mode EMPTY_STRING_IS_NULL: '' is NULL to the server, so (6, '') twice is two NULL
    # keys, never a duplicate (and never a key to check: read as the string '', the second
    # would cost a check with the server); the same statements on the twin agree. Then, with
    # the mode off again, '' is a string key: the second is the index's duplicate. (The mode is
    # turned off with a non-empty value: under it, `sql_mode = ''` is NULL, which the proxy
    # does not follow.)
    through, direct = wire(enroll.port), wire(mariadb.port)
    try:
        for mode, uid, second in (("EMPTY_STRING_IS_NULL", 6, b"\x00"),
                                  ("STRICT_TRANS_TABLES", 7, b"\xff")):
            for c in (through, direct):
                assert raw_reply(c, f"SET SESSION sql_mode = '{mode}'")[1][:1] == b"\x00"
            insert = "INSERT INTO {t} (user_id, course_id) VALUES (%d, %s)"
            for table, c in (("g_enroll", through), ("g_enroll_twin", direct)):
                first = raw_reply(c, insert.format(t=table) % (uid, "_utf8mb4''"))
                assert first[1][:1] == b"\x00", (mode, table, first)
            checks_before = guard_checks(enroll)
            got = raw_reply(through, insert.format(t="g_enroll") % (uid, "''"))
            want = raw_reply(direct, insert.format(t="g_enroll_twin") % (uid, "''"))
            assert got == want, mode
            assert got[1][:1] == second, mode
            assert guard_checks(enroll) - checks_before == (0 if uid == 6 else 1), mode
    finally:
        through.close()
        direct.close()
    assert mariadb.sql("SELECT COUNT(*) FROM g_enroll WHERE user_id = 6 AND course_id IS NULL",
                       DATABASE).strip() == "2"


def test_a_shape_seen_before_is_keyed_as_the_full_way_keys_it(enroll, mariadb):
    # One connection each way, so that every text after the first of its shape is keyed from
    # its tokens (proxy/mysql_insert_shape.hpp), not parsed. Whatever path a text takes, its
    # key must be the one the full way gives: a new key keyed otherwise would let its
    # duplicate in, or miss a later one. Each answer is the twin's (ERR bytes, sequence id).
    through, direct = wire(enroll.port), wire(mariadb.port)
    shape = "INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)"
    other = "INSERT INTO {t} (course_id, note, user_id) VALUES (%s, 'n', %s)"

    def send(sql, *values, ok):
        got = raw_reply(through, sql.format(t="g_enroll") % values)
        want = raw_reply(direct, sql.format(t="g_enroll_twin") % values)
        assert got == want, (sql, values)
        assert (got[1][:1] == b"\x00") == ok, (sql, values, got)

    try:
        send(shape, 30, "'first'", ok=True)  # the shape's first text: the full way
        send(shape, 31, "'it''s'", ok=True)
        send(shape, 31, "'IT\\'S '", ok=False)  # 'IT\'S ': general_ci, PAD SPACE
        send(other, "'It''s'", 31, ok=False)
        send(shape, 32, "'a\\\\b'", ok=True)  # a\b: one backslash
        send(other, "'A\\\\B'", 32, ok=False)
        send(shape, -33, "'neg'", ok=True)  # a sign: its own shape, first text
        send(shape, -34, "'neg'", ok=True)
        send(other, "'NEG'", -34, ok=False)
        send(shape, 35, "'stra\u00dfe'", ok=True)
        send(shape, 35, "'STRASE'", ok=False)  # general_ci: ß = s
        send(shape, 35, "'strasse'", ok=True)
        # The same text reads otherwise under NO_BACKSLASH_ESCAPES: 'x\\' is two backslashes.
        for c in (through, direct):
            assert raw_reply(c, "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")[1][:1] == b"\x00"
        send(shape, 36, "'x\\\\'", ok=True)
        send(shape, 36, "'X\\'", ok=True)  # one backslash: another key
        send(other, "'x\\\\'", 36, ok=False)
        send(shape, 37, "'y\\'", ok=True)
        send(shape, 37, "'Y\\ '", ok=False)
        # Legacy keys, on a path that never saw them inserted.
        send(shape, 1, "'a'", ok=False)
        send(shape, 2, "'A  '", ok=False)
        # The new keys after a shape's first text passed without a parse: 31, 32, -34, 35 (twice)
        # and, under NO_BACKSLASH_ESCAPES (a shape of its own), 36 and 37.
        assert guard_checks(enroll, "uniqguard_guard_shape_passes_total") == 7
    finally:
        through.close()
        direct.close()
    assert mariadb.sql("SELECT COUNT(*) FROM g_enroll WHERE user_id BETWEEN -40 AND 40",
                       DATABASE).strip() == mariadb.sql(
                           "SELECT COUNT(*) + 1 FROM g_enroll_twin WHERE user_id BETWEEN -40 AND 40",
                           DATABASE).strip()


@pytest.mark.parametrize("driver", ["pymysql", "MySQLdb"])
def test_clients_executemany_and_transactions(mysql_root, proxy_account, make_mysql_proxy,
                                              mariadb, driver):
    table = f"g_{driver.lower()}"
    make_tables(mysql_root, table, legacy=[(1, "a"), (1, "a")])
    proxy = start_guarded(make_mysql_proxy, table)
    module = pymysql if driver == "pymysql" else MySQLdb

    def connect(port):
        kw = dict(host="127.0.0.1", port=port, user=NATIVE_USER, database=DATABASE,
                  charset="utf8mb4")
        if driver == "pymysql":
            return pymysql.connect(password=NATIVE_PASSWORD, **kw)
        return MySQLdb.connect(password=NATIVE_PASSWORD, **kw)

    def run(conn, target, steps):
        """Each step: ("many", rows) or ("one", sql); returns what the client saw per step."""
        seen = []
        cur = conn.cursor()
        for kind, arg in steps:
            try:
                if kind == "many":
                    n = cur.executemany(
                        f"INSERT INTO {target} (user_id, course_id) VALUES (%s, %s)", arg)
                else:
                    n = cur.execute(arg.format(t=target))
                seen.append(("ok", n))
            except module.Error as e:
                seen.append(("error", type(e).__name__, e.args[0], e.args[1]))
        conn.rollback()
        return seen

    steps = [
        ("many", [(20, "a"), (21, "a"), (22, "a")]),     # new: one multi-row INSERT
        ("many", [(23, "a"), (1, "A"), (24, "a")]),      # a legacy key in the middle
        ("many", [(25, "a"), (26, "a"), (25, "a ")]),    # the same key twice
        ("one", "INSERT INTO {t} (user_id, course_id) VALUES (30, 'z')"),
        ("one", "INSERT INTO {t} (user_id, course_id) VALUES (30, 'Z')"),  # same transaction
        ("one", "DELETE FROM {t} WHERE user_id = 30"),
        ("one", "INSERT INTO {t} (user_id, course_id) VALUES (30, 'z')"),  # after the DELETE
    ]
    with closing(connect(proxy.port)) as through, closing(connect(mariadb.port)) as direct:
        got = run(through, table, steps)
        want = run(direct, table + "_twin", steps)
    assert got == want
    assert got[1][:3] == ("error", "IntegrityError", 1062)
    assert got[1][3] == "Duplicate entry '1-A' for key 'enroll_uniq'"
    assert got[4][3] == "Duplicate entry '30-Z' for key 'enroll_uniq'"
    assert got[6] == ("ok", 1)
    # Everything rolled back: the keys the proxy learnt stay in its key set, which only costs a
    # check (the server then finds no row).
    with closing(connect(proxy.port)) as through:
        assert run(through, table, [("one", "INSERT INTO {t} (user_id, course_id) VALUES (20, 'a')")]) \
            == [("ok", 1)]


def test_a_row_deleted_directly_on_the_server_is_no_duplicate(enroll, mariadb):
    mariadb.sql("DELETE FROM g_enroll WHERE user_id = 2", DATABASE)
    through = wire(enroll.port)
    try:
        seq, payload = raw_reply(through, "INSERT INTO g_enroll (user_id, course_id) VALUES (2, 'a')")
        assert payload[:1] == b"\x00"
    finally:
        through.close()


def test_key_set_loaded_from_legacy_duplicates(enroll):
    log = enroll.log_text()
    assert f"guard {GUARD}: loading the key set of {DATABASE}.g_enroll (user_id, course_id)" in log
    # Three rows, two keys ('a' and 'A ' are one key under utf8mb4_general_ci).
    assert f"guard {GUARD}: ready: 3 rows, 2 distinct keys" in log


REFUSED = [
    # test_mysql_guard_upsert.py: the REPLACE and ON DUPLICATE KEY UPDATE the guard enforces.
    ("REPLACE INTO g_enroll (user_id, course_id) VALUES (7, 'q'), (7, 'Q')",
     f"REPLACE of a key that an earlier row of the statement writes (Duplicate entry '7-Q' for "
     f"key '{GUARD}')"),
    ("INSERT INTO g_enroll (user_id, course_id) VALUES (1, 'a') ON DUPLICATE KEY UPDATE course_id = 'x'",
     "INSERT … ON DUPLICATE KEY UPDATE that sets a key column"),
    # A plain INSERT … SELECT is staged (test_mysql_guard_insert_select.py); not REPLACE.
    ("REPLACE INTO g_enroll (user_id, course_id) SELECT user_id, course_id FROM g_enroll",
     "REPLACE … SELECT"),
    ("UPDATE g_enroll SET course_id = 'b' WHERE user_id = 2 LIMIT 1",
     "an UPDATE … ORDER BY / LIMIT that sets a key column"),
    ("INSERT INTO g_enroll (user_id, course_id) VALUES (1 + 0, 'a')",
     "an INSERT with a value of key column `user_id` the proxy cannot read (an expression, "
     "DEFAULT, a character set introducer, a value the server may convert)"),
    ("INSERT INTO g_enroll (user_id) VALUES (5)",
     "an INSERT with a value of key column `course_id` the proxy cannot read (an expression, "
     "DEFAULT, a character set introducer, a value the server may convert)"),
    ("PREPARE s FROM 'INSERT INTO g_enroll (user_id, course_id) VALUES (?, ?)'", "PREPARE"),
]


@pytest.mark.parametrize("sql,what", REFUSED, ids=[w for _, w in REFUSED])
def test_forms_not_enforced_yet_are_refused(enroll, mariadb, sql, what):
    through = wire(enroll.port)
    try:
        through.command(b"\x03BEGIN")
        assert through.read_result()[0] == "ok"
        seq, payload = raw_reply(through, sql)
        assert seq == 1
        assert err_of(payload) == (
            1235, "42000",
            f'uniqguard: {what} on table "{DATABASE}.g_enroll" is not enforced by guard '
            f'"{GUARD}" yet; the statement was refused'.encode())
        # The transaction goes on.
        assert through.query_text_rows("SELECT @@in_transaction") == [["1"]]
    finally:
        through.close()
    assert mariadb.sql("SELECT COUNT(*) FROM g_enroll", DATABASE).strip() == "3"


def test_prepared_and_multi_statement_writes_are_refused(enroll):
    # test_mysql_guard_multi.py: the strings of several statements the guard enforces.
    conn = pymysql.connect(host="127.0.0.1", port=enroll.port, user=NATIVE_USER,
                           password=NATIVE_PASSWORD, database=DATABASE,
                           client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    with conn, conn.cursor() as cur:
        with pytest.raises(pymysql.err.NotSupportedError) as e:
            cur.execute("DELETE FROM g_enroll WHERE id = 0; "
                        "INSERT INTO g_enroll (user_id, course_id) VALUES (40, 'a')")
        assert e.value.args == (1235, "uniqguard: a write in a string of several statements "
                                "(another statement names a guarded table) on "
                                f'table "{DATABASE}.g_enroll" is not enforced by guard "{GUARD}" '
                                "yet; the statement was refused")
        cur.execute("SELECT 1; SELECT COUNT(*) FROM g_enroll")  # reads pass
    # COM_STMT_PREPARE (MySQLdb has no server-side prepared statements; the raw protocol has) of
    # a write the guard does not key (test_mysql_guard_prepared.py: the prepared INSERTs it does).
    through = wire(enroll.port)
    try:
        through.command(b"\x16UPDATE g_enroll SET user_id = ? WHERE id = 1; DELETE FROM g_enroll")
        seq, payload = through.read_packet()
        assert seq == 1 and err_of(payload)[:2] == (1235, "42000")
        assert b"a prepared statement (COM_STMT_PREPARE) that writes" in payload
        # (A prepared UPDATE to an expression is staged at each execute:
        # test_mysql_guard_update_staged.py.)
        through.command(b"\x16INSERT INTO g_enroll (user_id, course_id) VALUES (? + 1, ?)")
        seq, payload = through.read_packet()
        assert seq == 1 and err_of(payload)[:2] == (1235, "42000")
        assert b"a prepared INSERT with a value of key column `user_id`" in payload
    finally:
        through.close()


def test_log_action_forwards_and_writes_the_duplicate_line(mysql_root, proxy_account,
                                                           make_mysql_proxy, mariadb, tmp_path):
    make_tables(mysql_root, "g_logged", legacy=[(1, "a"), (1, "a")])
    duplicates = tmp_path / "duplicates.jsonl"
    # The harness writes [log] last, so `extra` starts inside it.
    proxy = make_mysql_proxy(extra=f'duplicates = "{duplicates}"\n' + guard_toml("g_logged", "log"))
    deadline = time.monotonic() + 30
    while f"guard {GUARD}: ready" not in proxy.log_text():
        assert time.monotonic() < deadline, proxy.log_text()
        time.sleep(0.05)
    conn = pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                           password=NATIVE_PASSWORD, database=DATABASE, autocommit=True)
    with conn, conn.cursor() as cur:
        assert cur.execute("INSERT INTO g_logged (user_id, course_id) VALUES (1, 'A'), (3, 'c')") == 2
        # INSERT IGNORE too is checked and forwarded as it is (test_mysql_guard_ignore.py).
        assert cur.execute("INSERT IGNORE INTO g_logged (user_id, course_id) VALUES (1, 'a')") == 1
    assert mariadb.sql("SELECT COUNT(*) FROM g_logged", DATABASE).strip() == "5"
    deadline = time.monotonic() + 10
    while not duplicates.exists() or not duplicates.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    deadline = time.monotonic() + 10
    while len(duplicates.read_text().splitlines()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lines = [json.loads(line) for line in duplicates.read_text().splitlines()]
    assert [(line["values"], line["action"]) for line in lines] == [
        (["1", "A"], "logged"), (["1", "a"], "logged")]
    line = lines[0]
    assert (line["guard"], line["table"], line["columns"], line["values"], line["action"],
            line["user"], line["database"], line["protocol"]) == (
        GUARD, f"{DATABASE}.g_logged", ["user_id", "course_id"], ["1", "A"], "logged",
        NATIVE_USER, DATABASE, "mysql")
    assert line["statement"].startswith("INSERT INTO g_logged")
    assert lines[1]["statement"].startswith("INSERT IGNORE INTO g_logged")


def test_writes_wait_for_the_key_set_as_when_unready_says(proxy_account, make_mysql_proxy):
    # A table that does not exist: the key set cannot load (retried every 5 s), the guard is
    # not ready, and its table's writes are refused; other tables are not affected.
    proxy = make_mysql_proxy(extra=guard_toml("g_missing"))
    deadline = time.monotonic() + 30
    while f"guard {GUARD}: table {DATABASE}.g_missing does not exist" not in proxy.log_text():
        assert time.monotonic() < deadline, proxy.log_text()
        time.sleep(0.05)
    through = wire(proxy.port)
    try:
        seq, payload = raw_reply(through, "INSERT INTO g_missing (user_id, course_id) VALUES (1, 'a')")
        assert seq == 1
        code, state, message = err_of(payload)
        assert (code, state) == (1235, "42000")
        assert message.startswith(
            f'uniqguard: writes to table "{DATABASE}.g_missing" are refused until guard '
            f'"{GUARD}" is ready (its key set could not be loaded: table {DATABASE}.g_missing '
            "does not exist".encode())
        assert through.query_text_rows("SELECT 1") == [["1"]]
    finally:
        through.close()


def test_a_reload_that_changes_the_guards_is_refused(enroll):
    with open(enroll.config_path, "a") as f:
        f.write(guard_toml("g_enroll", name="second", columns=("user_id",)))
    enroll.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "nothing changed" not in enroll.log_text():
        assert time.monotonic() < deadline, enroll.log_text()
        time.sleep(0.05)
    assert ("[[guard]] sections (and the account that loads their key sets) cannot change by a "
            "reload on MySQL/MariaDB yet; restart the proxy to change them; nothing changed"
            in enroll.log_text())
    # The guard in force goes on.
    through = wire(enroll.port)
    try:
        _, payload = raw_reply(through, "INSERT INTO g_enroll (user_id, course_id) VALUES (2, 'A')")
        assert err_of(payload)[2] == b"Duplicate entry '2-A' for key 'enroll_uniq'"
    finally:
        through.close()


def test_decimal_char_and_unsigned_keys_show_as_the_server_shows_them(mysql_root, proxy_account,
                                                                       make_mysql_proxy, mariadb):
    with mysql_root.cursor() as cur:
        for table, unique in (("g_typed", ""), ("g_typed_twin", f", UNIQUE KEY {GUARD} (a, b, c)")):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, "
                        f"a DECIMAL(6,2), b CHAR(5) COLLATE latin1_swedish_ci, "
                        f"c BIGINT UNSIGNED{unique}) CHARSET latin1")
            cur.execute(f"INSERT INTO {table} (a, b, c) VALUES (1.5, 'ab', 18446744073709551615)")
    proxy = make_mysql_proxy(extra=guard_toml("g_typed", columns=("a", "b", "c")))
    deadline = time.monotonic() + 30
    while f"guard {GUARD}: ready" not in proxy.log_text():
        assert time.monotonic() < deadline, proxy.log_text()
        time.sleep(0.05)
    for values in ("('1.50', 'AB  ', 18446744073709551615)", "(1.499, 'åb', 1), (1.499, 'Åb ', 1.0)",
                   "(2, 'x', 0x10), ('2.001', 'X', 16)"):
        got, want = both(proxy, mariadb, "INSERT INTO {t} (a, b, c) VALUES " + values, "g_typed")
        got_err = err_of(got[1]) if got[1][0] == 0xFF else got[1]
        want_err = err_of(want[1]) if want[1][0] == 0xFF else want[1]
        # Only the table differs: both name the key enroll_uniq.
        assert got == want, (values, got_err, want_err)
        assert got[1][0] == 0xFF


def test_a_global_no_backslash_escapes_is_followed(mysql_root, proxy_account, make_mysql_proxy,
                                                   mariadb):
    make_tables(mysql_root, "g_nbe", legacy=[(1, "a\\")])
    before = mariadb.sql("SELECT @@GLOBAL.sql_mode").strip()
    mariadb.sql("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')")
    try:
        proxy = start_guarded(make_mysql_proxy, "g_nbe")
        # 'a\' is a string of two characters under NO_BACKSLASH_ESCAPES: the first statement of
        # the session already reads it so (the login's OK carries the flag).
        got, want = both(proxy, mariadb, "INSERT INTO {t} (user_id, course_id) VALUES (1, 'A\\')",
                         "g_nbe")
        assert got == want
        assert err_of(got[1]) == (1062, "23000", b"Duplicate entry '1-A\\' for key 'enroll_uniq'")
    finally:
        mariadb.sql(f"SET GLOBAL sql_mode = '{before}'")
