"""The MySQL guard's dropping of duplicate rows against a real MariaDB 10.11: `action = "ignore"`
on plain INSERTs, and the client's own INSERT IGNORE under `reject` and `ignore`, through
uniqguard on a guarded table without an index, against INSERT IGNORE sent directly to a twin
table whose key is the real UNIQUE key `enroll_uniq` (the guard's name, so the messages are
equal byte for byte). What must be equal: affected rows, status flags, the rows in the table.
What differs, as docs/mysql.md says: when some rows are kept the proxy sends the INSERT without
the dropped rows, so its OK has no 1062 warnings and its info string counts the rows sent; when
every row is dropped it answers with one 1062 warning (the first dropped row's), whatever their
number. Each OK's warning count and SHOW WARNINGS agree on both sides."""
import json
import struct
import time

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import COM_QUERY, lenenc_int, lenenc_str
from test_mysql_guard import GUARD, guard_toml, make_tables, wire
from test_mysql_guard_prepared import both_node, execute, prepare

LEGACY = [(1, "a"), (1, "A "), (2, "a")]


def start(make_mysql_proxy, table, action, duplicates):
    # The harness writes [log] last, so `extra` starts inside it.
    proxy = make_mysql_proxy(extra=f'duplicates = "{duplicates}"\n' + guard_toml(table, action))
    deadline = time.monotonic() + 30
    while f"guard {GUARD}: ready" not in proxy.log_text():
        assert time.monotonic() < deadline, proxy.log_text()
        time.sleep(0.05)
    return proxy


def answer(client, payload):
    """The reply to one command: ("ok", affected, status, warnings, info) with the sequence id
    checked, ("err", code, sqlstate, message), or ("rows", [rows as str lists])."""
    client.command(payload)
    seq, p = client.read_packet()
    if p[0] == 0x00:
        assert seq == 1
        affected, pos = lenenc_int(p, 1)
        _, pos = lenenc_int(p, pos)
        status, warnings = struct.unpack_from("<HH", p, pos)
        info = p[pos + 4:]
        if info:
            length, at = lenenc_int(info, 0)
            info = info[at:at + length]
        return ("ok", affected, status, warnings, info.decode())
    if p[0] == 0xFF:
        assert seq == 1
        return ("err", struct.unpack_from("<H", p, 1)[0], p[4:9].decode(), p[9:].decode())
    # A result set (RETURNING): its column definitions, then rows to the closing OK.
    columns, _ = lenenc_int(p, 0)
    for _ in range(columns):
        client.read_packet()
    rows = []
    while True:
        _, p = client.read_packet()
        if p[0] == 0xFE and len(p) < 0xFFFFFF:
            return ("rows", rows)
        row, pos = [], 0
        while pos < len(p):
            value, pos = lenenc_str(p, pos)
            row.append(value.decode())
        rows.append(row)


def query(client, sql):
    if sql.startswith(("SHOW", "SELECT")):
        return ("rows", client.query_text_rows(sql))
    return answer(client, bytes([COM_QUERY]) + sql.encode())


def dup(key):
    return ["Warning", "1062", f"Duplicate entry '{key}' for key '{GUARD}'"]


def log_lines(path, count):
    deadline = time.monotonic() + 10
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)


# (statement, what the twin's INSERT IGNORE answers, what the proxy answers where it differs,
# SHOW WARNINGS on the twin, through the proxy where it differs). An OK is (affected, warnings,
# info); status flags are compared with the twin's.
STEPS = [
    ("INSERT {ig} INTO {t} (user_id, course_id) VALUES (10, 'x'), (1, 'a'), (10, 'X '), (11, 'y')",
     (2, 2, "Records: 4  Duplicates: 2  Warnings: 2"), (2, 0, "Records: 2  Duplicates: 0  Warnings: 0"),
     [dup("1-a"), dup("10-X ")], []),
    ("INSERT {ig} INTO {t} (user_id, course_id) VALUES (2, 'A')", (0, 1, ""), None,
     [dup("2-A")], None),
    ("INSERT {ig} INTO {t} (user_id, course_id) VALUES (1, 'a'), (11, 'Y')",
     (0, 2, "Records: 2  Duplicates: 2  Warnings: 2"), (0, 1, ""), [dup("1-a"), dup("11-Y")],
     [dup("1-a")]),
    ("INSERT {ig} {t} SET user_id = 10, course_id = 'x'", (0, 1, ""), None, [dup("10-x")], None),
    ("INSERT {ig} INTO {t} (user_id, course_id) VALUE (12, 'z'), (2, 'a')",
     (1, 1, "Records: 2  Duplicates: 1  Warnings: 1"), (1, 0, ""), [dup("2-a")], []),
    ("INSERT {ig} INTO {t} (user_id, course_id) VALUES (13, 'q'), (14, 'q')",
     (2, 0, "Records: 2  Duplicates: 0  Warnings: 0"), None, [], None),
    ("INSERT {ig} INTO {t} (course_id, user_id) VALUES ('w', 15)", (1, 0, ""), None, [], None),
    ("INSERT {ig} INTO {t} (course_id, user_id) VALUES ('W', 15), ('w', 16), ('w', 16)",
     (1, 2, "Records: 3  Duplicates: 2  Warnings: 2"), (1, 0, ""),
     [dup("15-W"), dup("16-w")], []),
]

FORMS = [("ignore", ""), ("ignore", "IGNORE"), ("reject", "IGNORE")]


@pytest.mark.parametrize("transaction", [False, True], ids=["autocommit", "transaction"])
@pytest.mark.parametrize("action,ig", FORMS, ids=[f"{a}-{i or 'plain'}" for a, i in FORMS])
def test_text_inserts_drop_the_duplicate_rows_as_a_unique_key(
        mysql_root, proxy_account, make_mysql_proxy, mariadb, tmp_path, action, ig,
        transaction):
    table = "gi_" + action + ("_ig" if ig else "") + ("_tx" if transaction else "")
    make_tables(mysql_root, table, legacy=LEGACY)
    duplicates = tmp_path / "duplicates.jsonl"
    proxy = start(make_mysql_proxy, table, action, duplicates)
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        if transaction:
            for c in (through, direct):
                assert query(c, "BEGIN")[0] == "ok"
        for sql, want, differs, want_warnings, differs_warnings in STEPS:
            got = query(through, sql.format(ig=ig, t=table))
            real = query(direct, sql.format(ig="IGNORE", t=table + "_twin"))
            assert real[0] == "ok" and (real[1], real[3], real[4]) == want, (sql, real)
            assert got[0] == "ok", (sql, got)
            assert got[2] == real[2] == (0x3 if transaction else 0x2)
            assert (got[1], got[3], got[4]) == (differs or want), (sql, got)
            assert query(direct, "SHOW WARNINGS") == ("rows", want_warnings)
            expected = want_warnings if differs_warnings is None else differs_warnings
            assert query(through, "SHOW WARNINGS") == ("rows", expected), sql
            assert len(expected) == got[3]  # the OK's count and SHOW WARNINGS agree
        if transaction:
            for c in (through, direct):
                assert query(c, "COMMIT")[0] == "ok"
        rows = [c.query_text_rows(f"SELECT user_id, course_id FROM {t} WHERE user_id >= 10 "
                                  "ORDER BY id")
                for c, t in ((through, table), (direct, table + "_twin"))]
        assert rows[0] == rows[1] == [["10", "x"], ["11", "y"], ["12", "z"], ["13", "q"],
                                      ["14", "q"], ["15", "w"], ["16", "w"]]
    finally:
        through.close()
        direct.close()
    # One line per dropped row, with its values, the action taken and the client's statement.
    lines = log_lines(duplicates, 9)
    assert [(line["values"], line["action"], line["in_transaction"]) for line in lines] == [
        (values, "ignored", transaction) for values in (
            ["1", "a"], ["10", "X "], ["2", "A"], ["1", "a"], ["11", "Y"], ["10", "x"], ["2", "a"],
            ["15", "W"], ["16", "w"])]
    assert lines[0]["statement"] == STEPS[0][0].format(ig=ig, t=table)
    assert {(line["guard"], line["table"], line["protocol"]) for line in lines} == {
        (GUARD, f"{DATABASE}.{table}", "mysql")}


def test_own_uncommitted_rows_count_and_rolled_back_ones_do_not(mysql_root, proxy_account,
                                                                make_mysql_proxy, mariadb,
                                                                tmp_path):
    make_tables(mysql_root, "gi_tx", legacy=LEGACY)
    proxy = start(make_mysql_proxy, "gi_tx", "ignore", tmp_path / "d.jsonl")
    steps = [
        "BEGIN",
        "INSERT {ig} INTO {t} (user_id, course_id) VALUES (20, 't')",
        "INSERT {ig} INTO {t} (user_id, course_id) VALUES (20, 'T'), (21, 't')",  # its own row
        "DELETE FROM {t} WHERE user_id = 2",
        "INSERT {ig} INTO {t} (user_id, course_id) VALUES (2, 'a'), (2, 'A')",  # deleted in it
        "ROLLBACK",
        "INSERT {ig} INTO {t} (user_id, course_id) VALUES (20, 't'), (21, 't')",  # rolled back
        "INSERT {ig} INTO {t} (user_id, course_id) VALUES (2, 'a')",  # the delete rolled back
    ]
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        got = [query(through, s.format(ig="", t="gi_tx")) for s in steps]
        real = [query(direct, s.format(ig="IGNORE", t="gi_tx_twin")) for s in steps]
    finally:
        through.close()
        direct.close()
    # (affected rows, status flags). The DELETE's flags differ by the tables alone: without the
    # twin's index it says "no index used" (0x20).
    assert got[3][1:3] == (1, 0x23) and real[3][1:3] == (1, 0x3)
    del got[3], real[3]
    assert [g[1:3] for g in got] == [r[1:3] for r in real] == [
        (0, 3), (1, 3), (1, 3), (1, 3), (0, 2), (2, 2), (0, 2)]
    assert got[6] == real[6] == ("ok", 0, 2, 1, "")


def test_other_errors_stay_errors_under_ignore_and_warnings_under_insert_ignore(
        mysql_root, proxy_account, make_mysql_proxy, mariadb, tmp_path):
    make_tables(mysql_root, "gi_err", legacy=LEGACY)
    proxy = start(make_mysql_proxy, "gi_err", "ignore", tmp_path / "d.jsonl")
    long = "x" * 25  # note is VARCHAR(20); the server's sql_mode is strict
    c = wire(proxy.port)
    try:
        # Not INSERT IGNORE: the kept row's own error is the server's (its row number counts
        # the rows sent).
        assert query(c, "INSERT INTO gi_err (user_id, course_id, note) VALUES "
                        f"(1, 'a', NULL), (30, 'a', '{long}')") == (
            "err", 1406, "22001", "Data too long for column 'note' at row 1")
        # The client's INSERT IGNORE keeps its IGNORE: the server truncates with a warning.
        assert query(c, "INSERT IGNORE INTO gi_err (user_id, course_id, note) VALUES "
                        f"(1, 'a', NULL), (30, 'a', '{long}')") == ("ok", 1, 2, 1, "")
        assert query(c, "SHOW WARNINGS") == (
            "rows", [["Warning", "1265", "Data truncated for column 'note' at row 1"]])
        # Every row a duplicate, under RETURNING: refused (a real one answers an empty result).
        assert query(c, "INSERT INTO gi_err (user_id, course_id) VALUES (1, 'a') RETURNING id") == (
            "err", 1235, "42000",
            f'uniqguard: an INSERT … RETURNING whose every row is a duplicate on table '
            f'"{DATABASE}.gi_err" is not enforced by guard "{GUARD}" yet; the statement was '
            "refused")
        # Rows inside an executable comment are SQL to the server: not cut, refused.
        assert query(c, "INSERT INTO gi_err (user_id, course_id) VALUES (1, 'a') "
                        "/*!, (32, 'c') */") == (
            "err", 1235, "42000",
            f'uniqguard: an INSERT whose rows the proxy cannot cut on table "{DATABASE}.gi_err" '
            f'is not enforced by guard "{GUARD}" yet; the statement was refused')
        # Some rows kept: RETURNING returns them.
        assert query(c, "INSERT INTO gi_err (user_id, course_id) VALUES (1, 'a'), (31, 'b') "
                        "RETURNING user_id, course_id") == ("rows", [["31", "b"]])
        assert c.query_text_rows("SELECT user_id, note FROM gi_err WHERE user_id >= 30 "
                                 "ORDER BY id") == [["30", "x" * 20], ["31", None]]
    finally:
        c.close()


def test_pymysql_executemany_drops_the_duplicates(mysql_root, proxy_account,
                                                  make_mysql_proxy, mariadb, tmp_path):
    make_tables(mysql_root, "gi_many", legacy=LEGACY)
    proxy = start(make_mysql_proxy, "gi_many", "ignore", tmp_path / "d.jsonl")
    batches = [[(40, "a"), (1, "a"), (41, "a"), (40, "A")], [(2, "a"), (1, "A")],
               [(42, "a")], [(42, "a"), (43, "a")]]

    def run(port, verb, table):
        conn = pymysql.connect(host="127.0.0.1", port=port, user=NATIVE_USER,
                               password=NATIVE_PASSWORD, database=DATABASE, charset="utf8mb4")
        with conn, conn.cursor() as cur:
            counts = [cur.executemany(f"{verb} INTO {table} (user_id, course_id) VALUES (%s, %s)",
                                      batch) for batch in batches]
            conn.commit()
            cur.execute(f"SELECT user_id, course_id FROM {table} WHERE user_id >= 40 ORDER BY id")
            return counts, cur.fetchall()

    got = run(proxy.port, "INSERT", "gi_many")
    want = run(mariadb.port, "INSERT IGNORE", "gi_many_twin")
    assert got == want == ([2, 0, 1, 1], ((40, "a"), (41, "a"), (42, "a"), (43, "a")))


def execute_answer(client, statement_id, values, bind=True):
    return answer(client, execute(statement_id, values, bind=bind))


@pytest.mark.parametrize("action,ig", FORMS, ids=[f"{a}-{i or 'plain'}" for a, i in FORMS])
def test_prepared_executes_dropped_whole_or_refused(mysql_root, proxy_account,
                                                    make_mysql_proxy, mariadb, tmp_path, action,
                                                    ig):
    table = "gi_prep_" + action + ("_ig" if ig else "")
    make_tables(mysql_root, table, legacy=LEGACY)
    duplicates = tmp_path / "duplicates.jsonl"
    proxy = start(make_mysql_proxy, table, action, duplicates)
    through, direct = wire(proxy.port), wire(mariadb.port)
    sides = [(through, table, ig), (direct, table + "_twin", "IGNORE")]
    try:
        one = [prepare(c, f"INSERT {i} INTO {t} (user_id, course_id) VALUES (?, ?)")[0]
               for c, t, i in sides]
        two = [prepare(c, f"INSERT {i} INTO {t} (user_id, course_id) VALUES (?, ?), (?, ?)")[0]
               for c, t, i in sides]
        assert None not in one + two

        def both(ids, values, bind=True, warnings=True):
            out = [execute_answer(c, sid, values, bind) for (c, _, _), sid in zip(sides, ids)]
            if warnings:
                out = [(r, query(c, "SHOW WARNINGS")) for (c, _, _), r in zip(sides, out)]
            return out

        got, want = both(one, [50, "p"])
        assert got == want == (("ok", 1, 2, 0, ""), ("rows", []))
        # The one row a duplicate: the execute's OK, with the server's own warning.
        got, want = both(one, [1, "A"])
        assert got == want == (("ok", 0, 2, 1, ""), ("rows", [dup("1-A")]))
        # The proxy answered that execute: the types it bound are written into the next one.
        got, want = both(one, [50, "P"], bind=False)
        assert got == want == (("ok", 0, 2, 1, ""), ("rows", [dup("50-P")]))
        got, want = both(one, [51, "p"], bind=False)
        assert got == want == (("ok", 1, 2, 0, ""), ("rows", []))
        # Every row of a multi-row execute: one warning for the first (the server's: two, and
        # its info string).
        got, want = both(two, [2, "a", 51, "P"])
        assert want == (("ok", 0, 2, 2, "Records: 2  Duplicates: 2  Warnings: 2"),
                        ("rows", [dup("2-a"), dup("51-P")]))
        assert got == (("ok", 0, 2, 1, ""), ("rows", [dup("2-a")]))
        # Some rows only: refused (the prepared statement's rows cannot be cut).
        got = execute_answer(through, two[0], [52, "p", 52, "P"])
        assert got == (
            "err", 1235, "42000",
            "uniqguard: an execute of a prepared multi-row INSERT with some rows duplicates and "
            f'some not on table "{DATABASE}.{table}" is not enforced by guard "{GUARD}" yet; '
            "the statement was refused")
        got, want = both(two, [53, "p", 54, "p"], warnings=False)
        assert got == want == ("ok", 2, 2, 0, "Records: 2  Duplicates: 0  Warnings: 0")
        rows = [c.query_text_rows(f"SELECT user_id, course_id FROM {t} WHERE user_id >= 50 "
                                  "ORDER BY id") for c, t, _ in sides]
        assert rows[0] == rows[1] == [["50", "p"], ["51", "p"], ["53", "p"], ["54", "p"]]
    finally:
        through.close()
        direct.close()
    lines = log_lines(duplicates, 4)
    assert [(line["values"], line["action"], line["statement"]) for line in lines] == [
        (["1", "A"], "ignored", f"INSERT {ig} INTO {table} (user_id, course_id) VALUES (?, ?)"),
        (["50", "P"], "ignored", f"INSERT {ig} INTO {table} (user_id, course_id) VALUES (?, ?)"),
        (["2", "a"], "ignored",
         f"INSERT {ig} INTO {table} (user_id, course_id) VALUES (?, ?), (?, ?)"),
        (["51", "P"], "ignored",
         f"INSERT {ig} INTO {table} (user_id, course_id) VALUES (?, ?), (?, ?)")]


def test_log_checks_insert_ignore_and_changes_nothing(mysql_root, proxy_account,
                                                      make_mysql_proxy, mariadb, tmp_path):
    make_tables(mysql_root, "gi_log", legacy=LEGACY)
    duplicates = tmp_path / "duplicates.jsonl"
    proxy = start(make_mysql_proxy, "gi_log", "log", duplicates)
    c = wire(proxy.port)
    try:
        # Forwarded as it is: no unique key, so the server inserts both rows.
        assert query(c, "INSERT IGNORE INTO gi_log (user_id, course_id) VALUES (1, 'a'), "
                        "(60, 'a')") == ("ok", 2, 2, 0, "Records: 2  Duplicates: 0  Warnings: 0")
    finally:
        c.close()
    lines = log_lines(duplicates, 1)
    assert [(line["values"], line["action"]) for line in lines] == [(["1", "a"], "logged")]


@pytest.mark.parametrize("action", ["reject", "ignore"])
def test_mysql2_execute_of_insert_ignore(node_steps, mysql_root, proxy_account,
                                         make_mysql_proxy, mariadb, tmp_path, action):
    table = "gi_node_" + action
    make_tables(mysql_root, table, legacy=LEGACY)
    proxy = start(make_mysql_proxy, table, action, tmp_path / "d.jsonl")
    one = "INSERT IGNORE INTO {t} (user_id, course_id) VALUES (?, ?)"
    two = "INSERT IGNORE INTO {t} (user_id, course_id) VALUES (?, ?), (?, ?)"
    steps = [
        ["execute", one, [70, "m"]],
        ["execute", one, [70, "M"]],                   # inserted earlier in the session
        ["query", "SHOW WARNINGS"],
        ["execute", one, [1, "a"]],                    # a legacy row
        ["execute", two, [1, "a", 2, "A"]],            # every row
        ["query", "SHOW WARNINGS"],
        ["execute", two, [71, "m", 72, "m"]],
        ["query", "SELECT user_id, course_id FROM {t} WHERE user_id >= 70 ORDER BY id"],
    ]
    got, want = both_node(node_steps, proxy, mariadb, steps, table)
    assert want[5] == {"ok": [list(dup("1-a")), list(dup("2-A"))]}
    assert got[5] == {"ok": [list(dup("1-a"))]}  # one warning: the first dropped row's
    del got[5], want[5]
    assert got == want == [
        {"ok": 1}, {"ok": 0}, {"ok": [list(dup("70-M"))]}, {"ok": 0}, {"ok": 0}, {"ok": 2},
        {"ok": [["70", "m"], ["71", "m"], ["72", "m"]]}]
