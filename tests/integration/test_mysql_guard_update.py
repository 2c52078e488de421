"""UPDATE of key columns through the MySQL guard (issue 6 item 6, text COM_QUERY) against a real
MariaDB 10.11: the same statements on a guarded table without an index, through uniqguard, and
directly on a twin table whose key is the real UNIQUE key `enroll_uniq` (the guard's name, so the
messages are equal byte for byte). Compared: every reply (OK: affected rows, status flags,
warnings, info "Rows matched: … Changed: …"; ERR: code, SQLSTATE, message, sequence id), the rows
after, in and out of a transaction. Also: legacy duplicates, the forms refused, action "log", and
a second session's INSERT of the key an open transaction's UPDATE wrote, which waits."""
import pytest

from harness.mariadb_server import DATABASE
from test_mysql_guard import GUARD, make_tables, start_guarded, wire
from test_mysql_guard_ignore import log_lines, query, start
from test_mysql_guard_waits import Background, connect, run

ROWS = [(1, 1, "a"), (2, 2, "a"), (3, 3, "b"), (4, None, "n")]


def fill(mysql_root, table, rows=ROWS):
    """`table` and its twin with the same rows (ids given, so a WHERE on id means the same row)."""
    make_tables(mysql_root, table)
    with mysql_root.cursor() as cur:
        for t in (table, table + "_twin"):
            for row in rows:
                cur.execute(f"INSERT INTO {t} (id, user_id, course_id) VALUES (%s, %s, %s)", row)


# SERVER_QUERY_NO_GOOD_INDEX_USED / NO_INDEX_USED: the server sets them when it scans the guarded
# table, which has no index on the key, where the twin uses its unique key: not the proxy's doing.
INDEX_FLAGS = 0x0010 | 0x0020


def steps_on(port, table, steps):
    client = wire(port)
    try:
        answers = [query(client, sql.format(t=table)) for sql in steps]
    finally:
        client.close()
    return [(a[0], a[1], a[2] & ~INDEX_FLAGS) + a[3:] if a[0] == "ok" else a for a in answers]


def on_both(proxy, mariadb, table, steps):
    return steps_on(proxy.port, table, steps), steps_on(mariadb.port, table + "_twin", steps)


def err(key):
    return ("err", 1062, "23000", f"Duplicate entry '{key}' for key '{GUARD}'")


def ok(affected, status, matched, changed):
    return ("ok", affected, status, 0, f"Rows matched: {matched}  Changed: {changed}  Warnings: 0")


AUTOCOMMIT = 0x0002
IN_TRANS = 0x0001

# (statement, what both answer), run in order on one connection in autocommit mode.
WHOLE_KEY = [
    # Onto another row's key (general_ci: 'A' is 'a'): the unique key's error, nothing changed.
    ("UPDATE {t} SET user_id = 2, course_id = 'A' WHERE id = 1", err("2-A")),
    # Onto a new key: one row matched.
    ("UPDATE {t} SET note = 'moved', user_id = 9, course_id = 'z' WHERE id = 1",
     ok(1, AUTOCOMMIT, 1, 1)),
    # A row updated to its own key (also in another case: the row is not its own duplicate).
    ("UPDATE {t} SET user_id = 9, course_id = 'z' WHERE id = 1", ok(0, AUTOCOMMIT, 1, 0)),
    ("UPDATE {t} SET course_id = 'Z', user_id = '9' WHERE id = 1", ok(1, AUTOCOMMIT, 1, 1)),
    # WHERE matching no row, onto a new key and onto an existing one.
    ("UPDATE {t} SET user_id = 8, course_id = 'q' WHERE id > 100", ok(0, AUTOCOMMIT, 0, 0)),
    ("UPDATE {t} SET user_id = 3, course_id = 'b' WHERE id > 100", ok(0, AUTOCOMMIT, 0, 0)),
    # WHERE matching two rows: both would hold the key.
    ("UPDATE {t} SET user_id = 7, course_id = 'x' WHERE id IN (2, 3)", err("7-x")),
    # A WHERE that is NULL for a row leaves it (user_id NULL on row 4).
    ("UPDATE {t} SET user_id = 7, course_id = 'x' WHERE user_id > 2 OR id = 2",
     err("7-x")),
    ("UPDATE {t} SET user_id = 7, course_id = 'x' WHERE user_id > 2 AND user_id < 9",
     ok(1, AUTOCOMMIT, 1, 1)),
    # A NULL in the new key never collides.
    ("UPDATE {t} SET user_id = NULL, course_id = 'x' WHERE id IN (2, 4)", ok(2, AUTOCOMMIT, 2, 2)),
    # An alias, trailing spaces under PAD SPACE.
    ("UPDATE {t} AS e SET e.user_id = 7, e.course_id = 'X ' WHERE e.id = 2", err("7-X ")),
    ("UPDATE {t} AS e SET e.user_id = 6, e.course_id = 'X ' WHERE e.id = 2",
     ok(1, AUTOCOMMIT, 1, 1)),
    # Every row matched (no WHERE).
    ("UPDATE {t} SET user_id = 5, course_id = 'all'", err("5-all")),
    ("SELECT id, user_id, course_id, note FROM {t} ORDER BY id",
     ("rows", [["1", "9", "Z", "moved"], ["2", "6", "X ", None], ["3", "7", "x", None],
               ["4", None, "x", None]])),
]


def test_whole_key_set_as_the_unique_key(mysql_root, proxy_account, make_mysql_proxy,
                                         mariadb):
    fill(mysql_root, "gu_whole")
    proxy = start_guarded(make_mysql_proxy, "gu_whole")
    got, want = on_both(proxy, mariadb, "gu_whole", [s for s, _ in WHOLE_KEY])
    assert want == [w for _, w in WHOLE_KEY]
    assert got == want


# Part of the key set: each matched row's new key takes its other part from the row.
PART_OF_KEY = [
    # Onto another row's key (one resulting key: the message is the index's).
    ("UPDATE {t} SET course_id = 'a' WHERE id = 5", err("1-a")),
    # A row onto its own key in another case.
    ("UPDATE {t} SET course_id = 'A' WHERE id = 1", ok(1, AUTOCOMMIT, 1, 1)),
    # The other part: the row's own spelling ('A') is in the message.
    ("UPDATE {t} SET user_id = 2 WHERE id = 1", err("2-A")),
    # Two rows, two distinct new keys.
    ("UPDATE {t} SET course_id = 'z' WHERE id IN (1, 2)", ok(2, AUTOCOMMIT, 2, 2)),
    # Three rows, two of them onto one key.
    ("UPDATE {t} SET course_id = 'q' WHERE user_id IN (1, 3)", err("1-q")),
    # WHERE matching no row; a NULL part (the row's own, or set) never collides.
    ("UPDATE {t} SET course_id = 'z' WHERE id > 100", ok(0, AUTOCOMMIT, 0, 0)),
    ("UPDATE {t} SET course_id = 'a' WHERE id = 4", ok(1, AUTOCOMMIT, 1, 1)),
    ("UPDATE {t} SET user_id = NULL WHERE id = 3", ok(1, AUTOCOMMIT, 1, 1)),
    # The keys the UPDATEs made are known to the key set: an INSERT of one is checked.
    ("INSERT INTO {t} (user_id, course_id) VALUES (2, 'Z')", err("2-Z")),
    ("SELECT id, user_id, course_id FROM {t} ORDER BY id",
     ("rows", [["1", "1", "z"], ["2", "2", "z"], ["3", None, "b"], ["4", None, "a"],
               ["5", "1", "c"]])),
]


def test_part_of_the_key_set_as_the_unique_key(mysql_root, proxy_account,
                                               make_mysql_proxy, mariadb):
    fill(mysql_root, "gu_part", ROWS + [(5, 1, "c")])
    proxy = start_guarded(make_mysql_proxy, "gu_part")
    got, want = on_both(proxy, mariadb, "gu_part", [s for s, _ in PART_OF_KEY])
    assert want == [w for _, w in PART_OF_KEY]
    assert got == want


IN_TRANSACTION = [
    ("BEGIN", None),
    ("INSERT INTO {t} (id, user_id, course_id) VALUES (10, 50, 't')", None),
    # The transaction's own uncommitted row counts.
    ("UPDATE {t} SET user_id = 50, course_id = 'T' WHERE id = 1", err("50-T")),
    ("SELECT @@in_transaction", ("rows", [["1"]])),
    # Part of the key, onto an uncommitted row's key.
    ("INSERT INTO {t} (id, user_id, course_id) VALUES (11, 60, 'b')", None),
    ("UPDATE {t} SET user_id = 60 WHERE id = 3", err("60-b")),
    ("DELETE FROM {t} WHERE id IN (10, 11)", None),
    ("UPDATE {t} SET user_id = 60 WHERE id = 3", ok(1, AUTOCOMMIT | IN_TRANS, 1, 1)),
    # Its own deleted row does not.
    ("UPDATE {t} SET user_id = 50, course_id = 'T' WHERE id = 1", ok(1, AUTOCOMMIT | IN_TRANS, 1, 1)),
    ("UPDATE {t} SET user_id = 50, course_id = 't' WHERE id = 3", err("50-t")),
    ("COMMIT", None),
    # Committed: another session sees the key.
    ("INSERT INTO {t} (user_id, course_id) VALUES (50, 't')", err("50-t")),
    ("INSERT INTO {t} (user_id, course_id) VALUES (60, 'B')", err("60-B")),
    ("SELECT id, user_id, course_id FROM {t} ORDER BY id",
     ("rows", [["1", "50", "T"], ["2", "2", "a"], ["3", "60", "b"], ["4", None, "n"]])),
]


def test_inside_a_transaction_own_rows_count(mysql_root, proxy_account,
                                            make_mysql_proxy, mariadb):
    fill(mysql_root, "gu_trans")
    proxy = start_guarded(make_mysql_proxy, "gu_trans")
    got, want = on_both(proxy, mariadb, "gu_trans", [s for s, _ in IN_TRANSACTION])
    for (sql, expected), answer in zip(IN_TRANSACTION, want):
        if expected is not None:
            assert answer == expected, sql
    assert got == want


def test_legacy_duplicates(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    # The guarded table holds key (1, 'a') twice (ids 1 and 2); the twin cannot.
    make_tables(mysql_root, "gu_legacy", legacy=[(1, "a"), (1, "a"), (2, "b")])
    proxy = start_guarded(make_mysql_proxy, "gu_legacy")
    got = steps_on(proxy.port, "gu_legacy", [
        # Both legacy rows would hold the new key: refused, as any UPDATE of two rows to one key.
        "UPDATE {t} SET user_id = 5, course_id = 'e' WHERE user_id = 1",
        # One of them onto its own key: the other still holds it (as an INSERT of it is refused).
        "UPDATE {t} SET user_id = 1, course_id = 'a' WHERE id = 1",
        # Moving one away passes; then the other onto its own key passes too.
        "UPDATE {t} SET user_id = 6, course_id = 'f' WHERE id = 1",
        "UPDATE {t} SET user_id = 1, course_id = 'a' WHERE id = 2",
        "SELECT id, user_id, course_id FROM {t} ORDER BY id",
    ])
    assert got == [
        err("5-e"), err("1-a"), ok(1, AUTOCOMMIT, 1, 1), ok(0, AUTOCOMMIT, 1, 0),
        ("rows", [["1", "6", "f"], ["2", "1", "a"], ["3", "2", "b"]]),
    ]


REFUSED = [
    # A key column set twice, or to an expression, is staged (test_mysql_guard_update_staged.py).
    ("UPDATE {t} SET user_id = 5, course_id = 'b' ORDER BY id LIMIT 1",
     "an UPDATE … ORDER BY / LIMIT that sets a key column"),
    ("UPDATE {t} SET user_id = 5, course_id = 'b' LIMIT 1",
     "an UPDATE … ORDER BY / LIMIT that sets a key column"),
    ("UPDATE {t} JOIN {t}_twin AS w ON w.id = {t}.id SET {t}.user_id = 5, {t}.course_id = 'b'",
     "a multi-table UPDATE that sets a key column"),
    ("UPDATE IGNORE {t} SET user_id = 5, course_id = 'b' WHERE id = 1",
     "UPDATE IGNORE of a key column"),
    # The guarded table not first in a multi-table UPDATE.
    ("UPDATE {t}_twin AS w JOIN {t} ON w.id = {t}.id SET {t}.user_id = 5, {t}.course_id = 'b'",
     "a multi-table UPDATE that sets a key column"),
    ("SET STATEMENT time_zone = '+01:00' FOR UPDATE {t} SET user_id = 5, course_id = 'b' "
     "WHERE id = 1", "SET STATEMENT … FOR UPDATE"),
    # A WHERE the proxy's check could read otherwise than the UPDATE then does.
    ("UPDATE {t} SET user_id = 5, course_id = 'b' WHERE (@n := @n + 1) > 2",
     "an UPDATE of a key column whose WHERE holds a variable (the proxy's check could read "
     "other rows than the UPDATE)"),
    ("UPDATE {t} SET user_id = 5, course_id = 'b' WHERE RAND() < 0.5",
     "an UPDATE of a key column whose WHERE holds the function RAND() (the proxy's check could "
     "read other rows than the UPDATE)"),
    ("UPDATE {t} SET user_id = 5, course_id = 'b' WHERE id = (SELECT MAX(id) FROM {t}_twin)",
     "an UPDATE of a key column whose WHERE holds a subquery (the proxy's check could read "
     "other rows than the UPDATE)"),
]


@pytest.mark.parametrize("sql,what", REFUSED, ids=[w for _, w in REFUSED])
def test_forms_not_enforced_are_refused(mysql_root, proxy_account, make_mysql_proxy,
                                        mariadb, sql, what):
    fill(mysql_root, "gu_refused")
    proxy = start_guarded(make_mysql_proxy, "gu_refused")
    got = steps_on(proxy.port, "gu_refused",
                   ["BEGIN", sql, "SELECT @@in_transaction",
                    "SELECT id, user_id, course_id FROM {t} ORDER BY id"])
    assert got[1] == (
        "err", 1235, "42000",
        f'uniqguard: {what} on table "{DATABASE}.gu_refused" is not enforced by guard '
        f'"{GUARD}" yet; the statement was refused')
    assert got[2] == ("rows", [["1"]])  # the transaction goes on
    assert got[3] == ("rows", [[str(i), None if u is None else str(u), c] for i, u, c in ROWS])


def test_raw_err_packet_is_the_twins(mysql_root, proxy_account, make_mysql_proxy,
                                     mariadb):
    fill(mysql_root, "gu_raw")
    proxy = start_guarded(make_mysql_proxy, "gu_raw")
    sql = "UPDATE {t} SET user_id = 3, course_id = 'B' WHERE id = 1"
    replies = []
    for port, table in ((proxy.port, "gu_raw"), (mariadb.port, "gu_raw_twin")):
        client = wire(port)
        try:
            client.command(b"\x03" + sql.format(t=table).encode())
            replies.append(client.read_packet())
        finally:
            client.close()
    assert replies[0] == replies[1] == (
        1, b"\xff\x26\x04#23000Duplicate entry '3-B' for key 'enroll_uniq'")


def test_ignore_action_judges_as_the_key_and_log_forwards_and_logs(
        mysql_root, proxy_account, make_mysql_proxy, mariadb, tmp_path):
    """`ignore` is what INSERT IGNORE gives; a plain UPDATE has no IGNORE: under `ignore` its
    duplicate is the unique key's 1062, as under `reject` (refused until 2026-11-28). UPDATE
    IGNORE, which skips the rows that collide, stays refused."""
    fill(mysql_root, "gu_ignore")
    duplicates = tmp_path / "ignored.jsonl"
    proxy = start(make_mysql_proxy, "gu_ignore", "ignore", duplicates)
    steps = ["UPDATE {t} SET user_id = 2, course_id = 'a' WHERE id = 1",
             "UPDATE {t} SET course_id = 'b' WHERE id = 3",
             "UPDATE {t} SET course_id = 'a' WHERE id = 3",
             "UPDATE {t} SET user_id = user_id + 1 WHERE id = 1",
             "UPDATE {t} SET user_id = 5, course_id = 'e' WHERE id = 1",
             "SELECT id, user_id, course_id FROM {t} ORDER BY id"]
    got, want = on_both(proxy, mariadb, "gu_ignore", steps)
    assert got == want
    assert want == [err("2-a"), ok(0, AUTOCOMMIT, 1, 0), ok(1, AUTOCOMMIT, 1, 1), err("2-a"),
                    ok(1, AUTOCOMMIT, 1, 1),
                    ("rows", [["1", "5", "e"], ["2", "2", "a"], ["3", "3", "a"],
                              ["4", None, "n"]])]
    lines = log_lines(duplicates, 2)
    assert [(line["values"], line["action"]) for line in lines] == [
        (["2", "a"], "rejected"), (["2", "a"], "rejected")]
    assert steps_on(proxy.port, "gu_ignore",
                    ["UPDATE IGNORE {t} SET user_id = 2, course_id = 'a' WHERE id = 1"]) == [(
        "err", 1235, "42000",
        f'uniqguard: UPDATE IGNORE of a key column on table "{DATABASE}.gu_ignore" is not '
        f'enforced by guard "{GUARD}" yet; the statement was refused')]

    fill(mysql_root, "gu_log")
    duplicates = tmp_path / "logged.jsonl"
    proxy = start(make_mysql_proxy, "gu_log", "log", duplicates)
    got = steps_on(proxy.port, "gu_log", [
        "UPDATE {t} SET user_id = 2, course_id = 'A' WHERE id = 1",
        "UPDATE {t} SET user_id = 8, course_id = 'h' WHERE id = 3",
        "SELECT id, user_id, course_id FROM {t} ORDER BY id",
    ])
    assert got == [ok(1, AUTOCOMMIT, 1, 1), ok(1, AUTOCOMMIT, 1, 1),
                   ("rows", [["1", "2", "A"], ["2", "2", "a"], ["3", "8", "h"],
                             ["4", None, "n"]])]
    lines = log_lines(duplicates, 1)
    assert [(line["values"], line["action"]) for line in lines] == [(["2", "A"], "logged")]
    assert lines[0]["statement"].startswith("UPDATE gu_log SET user_id = ")


def while_open(mysql_root, make_mysql_proxy, mariadb, table, first, second, then,
               b_setup=()):
    """Session A runs `first` in an open transaction, session B then `second` ({t}: the table),
    which must wait as on the unique index; `then(a, b, waiter, port)` ends the scenario and
    returns what is compared. Through the proxy on `table`, then directly on its twin: both
    results."""
    fill(mysql_root, table)
    proxy = start_guarded(make_mysql_proxy, table)

    def scenario(port, t):
        a, b = connect(port), connect(port)
        try:
            run(a, "BEGIN")
            assert run(a, first.format(t=t)) == ("ok", 1)
            for sql in b_setup:
                run(b, sql)
            waiter = Background(b, second.format(t=t))
            assert waiter.waiting(), waiter.result  # as on the unique index: B waits for A
            return then(a, b, waiter, port)
        finally:
            a.close()
            b.close()

    return scenario(proxy.port, table), scenario(mariadb.port, table + "_twin")


def ended_by(end):
    def then(a, b, waiter, port):
        assert run(a, end) == ("ok", 0)
        return waiter.join()
    return then


def test_an_insert_of_the_key_an_open_update_wrote_waits(mysql_root, proxy_account,
                                                         make_mysql_proxy, mariadb):
    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, "gu_wait",
                           "UPDATE {t} SET user_id = 40, course_id = 'w' WHERE id = 1",
                           "INSERT INTO {t} (user_id, course_id) VALUES (40, 'W')",
                           ended_by("COMMIT"))
    assert want == ("err", 1062, "Duplicate entry '40-W' for key 'enroll_uniq'")
    assert got == want


def test_an_insert_of_the_key_an_open_part_key_update_wrote_waits(mysql_root, proxy_account,
                                                                  make_mysql_proxy, mariadb):
    # Part of the key: row 1's new key is (41, 'a'), known to the proxy after its check.
    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, "gu_pwait",
                           "UPDATE {t} SET user_id = 41 WHERE id = 1",
                           "INSERT INTO {t} (user_id, course_id) VALUES (41, 'A')",
                           ended_by("COMMIT"))
    assert want == ("err", 1062, "Duplicate entry '41-A' for key 'enroll_uniq'")
    assert got == want


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
def test_a_part_key_update_onto_a_key_an_open_insert_wrote_waits(mysql_root, proxy_account,
                                                                 make_mysql_proxy, mariadb, end):
    # B's check cannot see A's row (not committed): its claim of (42, 'a') waits.
    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, f"gu_pwait_{end.lower()}",
                           "INSERT INTO {t} (user_id, course_id) VALUES (42, 'a')",
                           "UPDATE {t} SET user_id = 42 WHERE id = 1", ended_by(end))
    assert want == (("err", 1062, "Duplicate entry '42-a' for key 'enroll_uniq'")
                    if end == "COMMIT" else ("ok", 1))
    assert got == want


def test_a_waiting_part_key_update_ends_with_the_lock_wait_timeout(mysql_root, proxy_account,
                                                                   make_mysql_proxy, mariadb):
    def then(a, b, waiter, port):
        result = waiter.join(20)  # the wait ends by itself, after about a second
        assert 0.9 < waiter.elapsed < 10, waiter.elapsed
        run(a, "ROLLBACK")
        return result

    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, "gu_ptimeout",
                           "INSERT INTO {t} (user_id, course_id) VALUES (43, 'a')",
                           "UPDATE {t} SET user_id = 43 WHERE id = 1", then,
                           b_setup=["SET SESSION innodb_lock_wait_timeout = 1"])
    assert want == ("err", 1205, "Lock wait timeout exceeded; try restarting transaction")
    assert got == want


def test_a_waiting_part_key_update_ends_with_kill_query(mysql_root, proxy_account,
                                                       make_mysql_proxy, mariadb):
    def then(a, b, waiter, port):
        killer = connect(port)
        try:
            killed = run(killer, f"KILL QUERY {b.thread_id()}")
            result = waiter.join(20)
            run(a, "ROLLBACK")
            return killed, result, run(b, "SELECT 1")
        finally:
            killer.close()

    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, "gu_pkill",
                           "INSERT INTO {t} (user_id, course_id) VALUES (44, 'a')",
                           "UPDATE {t} SET user_id = 44 WHERE id = 1", then)
    assert want == (("ok", 0), ("err", 1317, "Query execution was interrupted"), ("ok", 1))
    assert got == want


def test_a_check_answer_cut_at_group_concat_max_len_is_refused(mysql_root, proxy_account,
                                                                make_mysql_proxy):
    # Part of the key set: the check lists each matched row's new key; cut inside its last key
    # (the count still matching), the proxy would learn a shortened key and miss the real one.
    fill(mysql_root, "gu_cut")
    proxy = start_guarded(make_mysql_proxy, "gu_cut")
    got = steps_on(proxy.port, "gu_cut", [
        "SET SESSION group_concat_max_len = 5",
        "UPDATE {t} SET course_id = 'zz' WHERE user_id = 3",
        "SELECT course_id FROM {t} WHERE id = 3",
    ])
    assert got[1] == (
        "err", 1235, "42000",
        f'uniqguard: guard "{GUARD}" could not check the statement\'s keys on the server (an '
        "unexpected reply); the statement was refused")
    assert got[2] == ("rows", [["b"]])
