"""UPDATE of key columns to expressions through the MySQL guard (issue 6 item 6), against a real
MariaDB 10.11: the proxy stages the rows the UPDATE matches in a temporary table of the
client's session, applies the UPDATE's SET list there, checks the new keys against the rows it
leaves (and, in primary key order, against matched rows not moved yet, as InnoDB meets them),
then sends the UPDATE unchanged (docs/mysql.md, "UPDATE of key columns"). Every reply and the
rows after are compared with a twin table whose key is the real UNIQUE key `enroll_uniq`."""
from test_mysql_guard import GUARD
from test_mysql_guard_ignore import log_lines, start
from test_mysql_guard_update import (AUTOCOMMIT, IN_TRANS, ended_by, fill, on_both, ok,
                                     steps_on, while_open)
from test_mysql_guard import start_guarded
from test_mysql_guard_prepared import Pair, execute
from test_mysql_guard_waits import Background, connect, run

ROWS = [(1, 1, "a"), (2, 2, "a"), (3, 3, "b"), (4, None, "n"), (5, 20, "s"), (6, 21, "s"),
        (7, 30, "m")]


def err(key):
    return ("err", 1062, "23000", f"Duplicate entry '{key}' for key '{GUARD}'")


STEPS = [
    # An expression of the row's own columns: onto a new key, then onto a taken one.
    ("UPDATE {t} SET user_id = user_id + 10 WHERE id = 1", ok(1, AUTOCOMMIT, 1, 1)),
    ("UPDATE {t} SET user_id = user_id + 9 WHERE id = 2", err("11-a")),
    # The new key is known: an INSERT of it is checked.
    ("INSERT INTO {t} (user_id, course_id) VALUES (11, 'A')", err("11-A")),
    # A function of the row; a row onto its own key in another case.
    ("UPDATE {t} SET course_id = UPPER(course_id) WHERE id = 2", ok(1, AUTOCOMMIT, 1, 1)),
    # Every row, keys unchanged.
    ("UPDATE {t} SET course_id = CONCAT(course_id, '')", ok(0, AUTOCOMMIT, 7, 0)),
    ("UPDATE {t} SET user_id = 3, course_id = LOWER('B') WHERE id = 1", err("3-b")),
    # A shift over consecutive keys: InnoDB meets row 6's old key when it moves row 5.
    ("UPDATE {t} SET user_id = user_id + 1 WHERE course_id = 's'", err("21-s")),
    # The other way round each row moves onto a key already moved away.
    ("UPDATE {t} SET user_id = user_id - 1 WHERE course_id = 's'", ok(2, AUTOCOMMIT, 2, 2)),
    # Several rows onto one key.
    ("UPDATE {t} SET user_id = 50 + id % 2, course_id = 'm' WHERE id IN (5, 6, 7)",
     err("51-m")),
    # A key column set twice (left to right), DEFAULT.
    ("UPDATE {t} SET user_id = 60, user_id = user_id + 1 WHERE id = 1", ok(1, AUTOCOMMIT, 1, 1)),
    ("UPDATE {t} SET course_id = DEFAULT WHERE id = 4", ok(1, AUTOCOMMIT, 1, 1)),
    # The UPDATE's own errors: a value the column refuses, an unknown column.
    ("UPDATE {t} SET user_id = user_id * 10000000000 WHERE id = 1", "same"),
    ("UPDATE {t} SET user_id = user_id + 1 WHERE nope = 1", "same"),
    ("SELECT id, user_id, course_id FROM {t} ORDER BY id",
     ("rows", [["1", "61", "a"], ["2", "2", "A"], ["3", "3", "b"], ["4", None, None],
               ["5", "19", "s"], ["6", "20", "s"], ["7", "30", "m"]])),
]


def test_updates_to_expressions_as_the_unique_key(mysql_root, proxy_account, make_mysql_proxy,
                                                  mariadb):
    fill(mysql_root, "gx_steps", ROWS)
    proxy = start_guarded(make_mysql_proxy, "gx_steps")
    got, want = on_both(proxy, mariadb, "gx_steps", [s for s, _ in STEPS])
    for (sql, expected), w in zip(STEPS, want):
        if expected == "same":
            assert w[0] == "err", (sql, w)
        else:
            assert w == expected, sql
    assert got == want


TRANSACTION = [
    ("BEGIN", ("ok", 0, AUTOCOMMIT | IN_TRANS, 0, "")),
    ("INSERT INTO {t} (id, user_id, course_id) VALUES (10, 70, 't')",
     ("ok", 1, AUTOCOMMIT | IN_TRANS, 0, "")),
    # The transaction's own uncommitted row counts.
    ("UPDATE {t} SET user_id = 69 + id, course_id = 'T' WHERE id = 1", err("70-T")),
    # Its own deleted row does not.
    ("DELETE FROM {t} WHERE id = 2", ("ok", 1, AUTOCOMMIT | IN_TRANS, 0, "")),
    ("UPDATE {t} SET user_id = user_id + 1 WHERE id = 1", ok(1, AUTOCOMMIT | IN_TRANS, 1, 1)),
    ("ROLLBACK", ("ok", 0, AUTOCOMMIT, 0, "")),
    ("UPDATE {t} SET user_id = user_id + 1 WHERE id = 1", err("2-a")),
    ("SELECT @@in_transaction", ("rows", [["0"]])),
]


def test_in_a_transaction(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    fill(mysql_root, "gx_trans", ROWS)
    proxy = start_guarded(make_mysql_proxy, "gx_trans")
    got, want = on_both(proxy, mariadb, "gx_trans", [s for s, _ in TRANSACTION])
    assert want == [w for _, w in TRANSACTION]
    assert got == want


def test_refused_forms_and_log(mysql_root, proxy_account, make_mysql_proxy, tmp_path):
    fill(mysql_root, "gx_refused", ROWS)
    proxy = start_guarded(make_mysql_proxy, "gx_refused")
    got = steps_on(proxy.port, "gx_refused", [
        "UPDATE {t} SET user_id = FLOOR(RAND() * 3) WHERE id = 1",
        "UPDATE {t} SET user_id = (SELECT 5) WHERE id = 1",
    ])
    message = ('uniqguard: an UPDATE of a key column whose SET list holds {} (the proxy\'s check '
               'could compute other values than the UPDATE) on table "app.gx_refused" is not '
               f'enforced by guard "{GUARD}" yet; the statement was refused')
    assert got == [("err", 1235, "42000", message.format("the function RAND()")),
                   ("err", 1235, "42000", message.format("a subquery"))]

    fill(mysql_root, "gx_log", ROWS)
    duplicates = tmp_path / "logged.jsonl"
    proxy = start(make_mysql_proxy, "gx_log", "log", duplicates)
    got = steps_on(proxy.port, "gx_log", [
        "UPDATE {t} SET user_id = user_id + 1 WHERE id = 1",
        "SELECT id, user_id, course_id FROM {t} WHERE id <= 2 ORDER BY id",
    ])
    assert got == [ok(1, AUTOCOMMIT, 1, 1), ("rows", [["1", "2", "a"], ["2", "2", "a"]])]
    lines = log_lines(duplicates, 1)
    assert [(line["values"], line["action"]) for line in lines] == [(["2", "a"], "logged")]


def test_an_insert_of_the_key_an_open_staged_update_wrote_waits(mysql_root, proxy_account,
                                                                make_mysql_proxy, mariadb):
    got, want = while_open(mysql_root, make_mysql_proxy, mariadb, "gx_wait",
                           "UPDATE {t} SET user_id = user_id + 100 WHERE id = 1",
                           "INSERT INTO {t} (user_id, course_id) VALUES (101, 'A')",
                           ended_by("COMMIT"))
    assert want == ("err", 1062, "Duplicate entry '101-A' for key 'enroll_uniq'")
    assert got == want


def test_invisible_columns_zero_dates_and_session_errors(mysql_root, proxy_account,
                                                         make_mysql_proxy, mariadb):
    """A key set from an INVISIBLE column (which `SELECT *` leaves out), a row with a zero date
    written under another sql_mode, a READ ONLY transaction: as on the twin."""
    fill(mysql_root, "gx_misc", ROWS)
    with mysql_root.cursor() as cur:
        for t in ("gx_misc", "gx_misc_twin"):
            cur.execute(f"ALTER TABLE {t} ADD COLUMN secret VARCHAR(10) INVISIBLE DEFAULT 'zz', "
                        "ADD COLUMN d DATETIME NOT NULL DEFAULT '2020-01-01 00:00:00'")
            cur.execute(f"UPDATE {t} SET secret = 'b' WHERE id = 4")
            cur.execute("SET SESSION sql_mode = ''")
            cur.execute(f"UPDATE {t} SET d = '0000-00-00 00:00:00' WHERE id = 7")
            cur.execute("SET SESSION sql_mode = DEFAULT")
    proxy = start_guarded(make_mysql_proxy, "gx_misc")
    steps = [
        "UPDATE {t} SET user_id = 3, course_id = secret WHERE id = 4",
        "UPDATE {t} SET user_id = 3, course_id = secret WHERE id = 5",
        "SET SESSION sql_mode = 'TRADITIONAL'",
        "UPDATE {t} SET user_id = user_id + 100 WHERE id = 7",
        "START TRANSACTION READ ONLY",
        "UPDATE {t} SET user_id = user_id + 1 WHERE id = 1",
        "ROLLBACK",
        "SELECT id, user_id, course_id FROM {t} WHERE id IN (3, 4, 5, 7) ORDER BY id",
    ]
    got, want = on_both(proxy, mariadb, "gx_misc", steps)
    assert want[0] == err("3-b")
    assert want[1][0] == "ok"
    assert want[3][0] == "ok"
    assert want[5][:2] == ("err", 1792)
    assert want[7] == ("rows", [["3", "3", "b"], ["4", None, "n"], ["5", "3", "zz"],
                                ["7", "130", "m"]])
    assert got == want


def test_two_transactions_updating_other_rows_wait_and_do_not_deadlock(
        mysql_root, proxy_account, make_mysql_proxy, mariadb):
    fill(mysql_root, "gx_locks", ROWS)
    with mysql_root.cursor() as cur:
        for t in ("gx_locks", "gx_locks_twin"):
            cur.execute(f"UPDATE {t} SET note = IF(id % 2 = 0, 'x', 'y')")
    proxy = start_guarded(make_mysql_proxy, "gx_locks")

    def scenario(port, t):
        a, b = connect(port), connect(port)
        try:
            run(a, "BEGIN")
            run(b, "BEGIN")
            first = run(a, f"UPDATE {t} SET user_id = user_id + 1000 WHERE note = 'x'")
            waiter = Background(b, f"UPDATE {t} SET user_id = user_id + 2000 WHERE note = 'y'")
            waiter.waiting(0.5)
            again = run(a, f"UPDATE {t} SET user_id = user_id + 1000 WHERE note = 'x'")
            run(a, "COMMIT")
            second = waiter.join()
            run(b, "COMMIT")
            return first, again, second, run(a, f"SELECT SUM(user_id) FROM {t}")
        finally:
            a.close()
            b.close()

    got, want = scenario(proxy.port, "gx_locks"), scenario(mariadb.port, "gx_locks_twin")
    assert want[:3] == (("ok", 2), ("ok", 2), ("ok", 4))
    assert got == want


def test_a_key_another_session_moved_away_is_free_inside_a_transaction(
        mysql_root, proxy_account, make_mysql_proxy, mariadb):
    fill(mysql_root, "gx_snap", ROWS)
    proxy = start_guarded(make_mysql_proxy, "gx_snap")

    def scenario(port, t):
        a, b = connect(port), connect(port)
        try:
            run(a, "BEGIN")
            run(a, f"SELECT COUNT(*) FROM {t}")  # A's snapshot: (2, 'a') held by row 2
            assert run(b, f"UPDATE {t} SET user_id = user_id + 200 WHERE id = 2") == ("ok", 1)
            result = run(a, f"UPDATE {t} SET user_id = user_id + 1 WHERE id = 1")
            run(a, "COMMIT")
            return result
        finally:
            a.close()
            b.close()

    got, want = scenario(proxy.port, "gx_snap"), scenario(mariadb.port, "gx_snap_twin")
    assert want == ("ok", 1)
    assert got == want


def test_prepared_updates_to_expressions_are_staged_at_each_execute(mysql_root, proxy_account,
                                                                     make_mysql_proxy, mariadb):
    """COM_STMT_PREPARE / COM_STMT_EXECUTE (npm's mysql2 `.execute`, Go's placeholders): each
    execute is staged as its text with its values written in, then goes as it came; the replies
    and the rows are the twin's."""
    fill(mysql_root, "gx_prep", ROWS)
    proxy = start_guarded(make_mysql_proxy, "gx_prep")
    p = Pair(proxy, mariadb, table="gx_prep")
    try:
        shift = p.prepare("UPDATE {t} SET user_id = user_id + ? WHERE course_id = ?")
        rename = p.prepare("UPDATE {t} SET course_id = CONCAT(?, course_id) WHERE id = ?")
        outcomes = []
        for ids, values in ((shift, [10, "a"]),    # rows 1 and 2 onto new keys
                            (shift, [1, "s"]),     # 20 → 21 meets row 6's old key: 1062
                            (shift, [-1, "s"]),    # 20 → 19, 21 → 20: fine
                            (rename, ["", 3]),     # row 3 onto its own key
                            (rename, ["x", 1]),    # new key (11, 'xa')
                            (shift, [None, "m"]),  # NULL keys never collide
                            (rename, ["", 7])):    # row 7's key is NULL now: no collision
            got, want = p.both(lambda i, ids=ids, values=values: execute(ids[i], values))
            outcomes.append(want)
            assert got == want, values
        assert [w[1][:1] for w in outcomes] == [b"\x00", b"\xff", b"\x00", b"\x00", b"\x00",
                                                b"\x00", b"\x00"]
        assert outcomes[1][1][3:] == b"#23000Duplicate entry '21-s' for key 'enroll_uniq'"
        # Types bound once: a later execute without them, and a duplicate the proxy answers
        # (its statement never reached the server: the next execute has the types written in).
        twice = p.prepare("UPDATE {t} SET user_id = ?, user_id = user_id + ? WHERE id = ?")
        got, want = p.both(lambda i: execute(twice[i], [0, 19, 6]))  # onto row 5's (19, 's')
        assert got == want and want[1][3:] == b"#23000Duplicate entry '19-s' for key 'enroll_uniq'"
        got, want = p.both(lambda i: execute(twice[i], [0, 100, 2], bind=False))
        assert got == want == (1, b"\x00")
        for c, t in p.sides:
            assert c.query_text_rows(f"SELECT id, user_id, course_id FROM {t} ORDER BY id") == [
                ["1", "11", "xa"], ["2", "100", "a"], ["3", "3", "b"], ["4", None, "n"],
                ["5", "19", "s"], ["6", "20", "s"], ["7", None, "m"]]
    finally:
        p.close()
