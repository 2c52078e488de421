"""UPDATEs whose new keys the check cannot evaluate ahead of them (issue 4 item 6, SPEC §4): a
key column set to DEFAULT, to a volatile function (random(), nextval()), to a subquery; a FROM
list or condition calling one; a read-only WITH list. The server reports the moved rows' new
keys as it writes them, as for an INSERT whose keys come late (docs/guard.md, "Keys that come
late"). Every script runs through the proxy on a table without a unique index and directly on a
twin with the real index (harness/guarded.py): the same outcome statement by statement, and the
same rows at the end.
"""
import re
import threading
import time

import psycopg
import psycopg2
import pytest

from harness.guarded import GuardedTable, assert_same_as_twin as assert_same

ENROLL = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
          "note text")
ROWS = ("INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'a'), (1, 2, 'b'), "
        "(2, 7, 'c'), (3, 1, 'd'), (3, 2, 'e')")
# A volatile expression that always gives `n`: the check cannot evaluate it ahead of the UPDATE.
VOLATILE = "({n} + floor(random())::int)"


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "lu_" + re.sub(r"\W", "_", request.node.name.replace("test_", ""))[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def test_a_key_column_set_to_default(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "UPDATE {t} SET course_id = DEFAULT WHERE user_id = 1 AND course_id = 1",
        # (1, 7) is now row 1's: row 2 cannot take it
        "UPDATE {t} SET course_id = DEFAULT WHERE user_id = 1 AND course_id = 2",
        "UPDATE {t} SET course_id = DEFAULT WHERE user_id = 9",
        # the key set learnt (1, 7): an INSERT of it is checked, and refused
        "INSERT INTO {t} (user_id, course_id) VALUES (1, 7)",
        "INSERT INTO {t} (user_id, course_id) VALUES (1, 1)",
    ])
    assert outcomes[1] == ("ok", "UPDATE 1", None)
    err = outcomes[2][1]
    assert err["sqlstate"] == "23505"
    assert err["message"] == f'duplicate key value violates unique constraint "{enroll.constraint}"'
    assert err["detail"] == "Key (user_id, course_id)=(1, 7) already exists."
    assert err["table"] == enroll.name and err["constraint"] == enroll.constraint
    assert err["context"] is None
    assert outcomes[3] == ("ok", "UPDATE 0", None)
    assert outcomes[4][1]["detail"] == "Key (user_id, course_id)=(1, 7) already exists."
    assert outcomes[5] == ("ok", "INSERT 0 1", None)
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (1, 2), (1, 7), (2, 7), (3, 1), (3, 2)]


def test_volatile_functions_and_subqueries_in_key_columns(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        # two rows onto one new key: the second is the duplicate, as on the index
        "UPDATE {t} SET course_id = " + VOLATILE.format(n=5) + " WHERE user_id = 3",
        "UPDATE {t} SET course_id = " + VOLATILE.format(n=5) + " WHERE user_id = 3 AND "
        "course_id = 2",
        # onto a key another row has
        "UPDATE {t} SET user_id = " + VOLATILE.format(n=1) + " WHERE note = 'd'",
        "UPDATE {t} SET course_id = (SELECT max(course_id) FROM {t}) + 1 WHERE note = 'a'",
        "UPDATE {t} SET course_id = (SELECT max(course_id) FROM {t}) WHERE note = 'b'",
        "UPDATE {t} SET (user_id, course_id) = (SELECT 4, " + VOLATILE.format(n=4) + ") "
        "WHERE note = 'c'",
        "SELECT user_id, course_id FROM {t} ORDER BY 1, 2",
    ])
    assert outcomes[1][1]["sqlstate"] == "23505"
    assert outcomes[1][1]["detail"] == "Key (user_id, course_id)=(3, 5) already exists."
    assert outcomes[2] == ("ok", "UPDATE 1", None)
    assert outcomes[3][1]["detail"] == "Key (user_id, course_id)=(1, 1) already exists."
    assert outcomes[4] == ("ok", "UPDATE 1", None)
    assert outcomes[5][1]["detail"] == "Key (user_id, course_id)=(1, 8) already exists."
    assert outcomes[6] == ("ok", "UPDATE 1", None)
    assert outcomes[7][2] == [(1, 2), (1, 8), (3, 1), (3, 5), (4, 4)]


def test_returning_and_a_from_list_with_the_key_columns_own_names(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'a' RETURNING id, user_id, "
        "course_id, note",
        "UPDATE {t} AS e SET course_id = DEFAULT WHERE e.note = 'b' RETURNING *",
        # s has user_id and course_id too: the proxy's own RETURNING columns must be the table's
        "UPDATE {t} SET course_id = s.course_id FROM (SELECT 3 AS user_id, "
        + VOLATILE.format(n=40) + " AS course_id) s WHERE {t}.user_id = s.user_id "
        "RETURNING {t}.user_id, {t}.course_id, s.course_id AS from_s",
        "UPDATE {t} SET course_id = s.course_id FROM (SELECT 2 AS user_id, "
        + VOLATILE.format(n=50) + " AS course_id) s WHERE {t}.user_id = s.user_id",
        "UPDATE {t} e SET course_id = v.c FROM (VALUES (1, " + VOLATILE.format(n=1) + ")) "
        "AS v(u, c) WHERE e.user_id = v.u AND e.note = 'a' RETURNING e.note",
    ])
    assert outcomes[1] == ("ok", "UPDATE 1", [(1, 1, 7, "a")])
    assert outcomes[2][1]["detail"] == "Key (user_id, course_id)=(1, 7) already exists."
    # two rows of user 3 onto (3, 40): the second is refused
    assert outcomes[3][1]["detail"] == "Key (user_id, course_id)=(3, 40) already exists."
    assert outcomes[4] == ("ok", "UPDATE 1", None)
    assert outcomes[5] == ("ok", "UPDATE 1", [("a",)])
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (1, 2), (2, 50), (3, 1), (3, 2)]


def test_a_read_only_with_list_and_a_volatile_condition(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "WITH s AS (SELECT 20 AS c) UPDATE {t} SET course_id = s.c FROM s WHERE {t}.note = 'a'",
        "WITH s AS (SELECT 20 AS c) UPDATE {t} SET course_id = s.c FROM s WHERE {t}.note = 'b'",
        # the literal key is known, but the condition could pick other rows in a check ahead
        "UPDATE {t} SET course_id = 30 WHERE note = 'd' AND random() < 2",
        "UPDATE {t} SET course_id = 30, user_id = 3 WHERE note = 'e' AND random() < 2",
    ])
    assert outcomes[1] == ("ok", "UPDATE 1", None)
    assert outcomes[2][1]["detail"] == "Key (user_id, course_id)=(1, 20) already exists."
    assert outcomes[3] == ("ok", "UPDATE 1", None)
    assert outcomes[4][1]["detail"] == "Key (user_id, course_id)=(3, 30) already exists."
    assert [(r[0], r[1]) for r in rows] == [(1, 2), (1, 20), (2, 7), (3, 2), (3, 30)]


def test_in_a_transaction_the_duplicate_fails_it_and_its_own_errors_come_first(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'a'",
        # NOT NULL of the UPDATE itself before anything else
        "UPDATE {t} SET course_id = NULLIF(" + VOLATILE.format(n=0) + ", 0) WHERE note = 'b'",
    ], autocommit=False)
    assert outcomes[1] == ("ok", "UPDATE 1", None)
    assert outcomes[2][1]["sqlstate"] == "23502"
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'a'",
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'b'",
        "SELECT 1",
    ], autocommit=False)
    assert outcomes[2][1]["sqlstate"] == "23505"
    assert outcomes[3][1]["sqlstate"] == "25P02"
    assert rows == []


@pytest.mark.parametrize("prepare", [True, False])
def test_psycopg3_server_side_parameters(enroll, prepare):
    results = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        seen = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(ROWS.format(t=enroll.name))
            for note in ("a", "b"):
                try:
                    cur = conn.execute(
                        f"UPDATE {enroll.name} SET course_id = DEFAULT WHERE note = %s "
                        f"RETURNING user_id, course_id", (note,), prepare=prepare)
                    seen.append((cur.statusmessage, cur.fetchall()))
                except psycopg.Error as e:
                    seen.append((e.sqlstate, e.diag.message_detail))
            cur = conn.execute(f"UPDATE {enroll.name} SET user_id = %s + floor(random())::int "
                               f"WHERE note = %s", (9, "c"), prepare=prepare)
            seen.append(cur.statusmessage)
            seen.append(conn.execute(f"SELECT user_id, course_id FROM {enroll.name} "
                                     f"ORDER BY 1, 2").fetchall())
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][0] == ("UPDATE 1", [(1, 7)])
    assert results[0][1] == ("23505", "Key (user_id, course_id)=(1, 7) already exists.")
    assert results[0][2] == "UPDATE 1"
    assert results[0][3] == [(1, 2), (1, 7), (3, 1), (3, 2), (9, 7)]


def run_in_thread(fn):
    box = {}

    def target():
        try:
            box["result"] = fn()
        except Exception as e:  # noqa: BLE001 - handed to the main thread
            box["error"] = e
    th = threading.Thread(target=target, daemon=True)
    th.start()
    return th, box


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_late_update_waits_for_another_transaction_writing_its_new_key(enroll, end):
    """As on the index: B's UPDATE onto (5, 7), which A inserted and has not committed, waits
    for A; A commits: 23505; A rolls back: B's UPDATE goes through."""
    results = []
    for connect in (enroll.connect_proxy, enroll.connect_twin):
        setup = connect()
        setup.autocommit = True
        setup.cursor().execute(f"INSERT INTO {enroll.name} (user_id, course_id, note) "
                               f"VALUES (5, 1, 'b')")
        setup.close()
        a, b = connect(), connect()
        b.autocommit = True
        a.cursor().execute(f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (5, 7)")

        def b_updates():
            cur = b.cursor()
            try:
                cur.execute(f"UPDATE {enroll.name} SET course_id = DEFAULT WHERE note = 'b'")
                return cur.statusmessage
            except psycopg2.Error as e:
                return (e.pgcode, e.diag.message_detail)
        th, box = run_in_thread(b_updates)
        th.join(1.0)
        waited = th.is_alive()
        (a.commit if end == "commit" else a.rollback)()
        th.join(30)
        assert not th.is_alive(), "B's UPDATE still waits after A ended"
        results.append((waited, box.get("result", box.get("error"))))
        a.close()
        b.close()
        drop = connect()
        drop.autocommit = True
        drop.cursor().execute(f"DELETE FROM {enroll.name}")
        drop.close()
    assert results[0] == results[1]
    expected = (("23505", "Key (user_id, course_id)=(5, 7) already exists.")
                if end == "commit" else "UPDATE 1")
    assert results[0] == (True, expected)


def test_an_insert_waits_for_a_late_update_that_took_its_key(enroll):
    """The late UPDATE's new key is claimed for its transaction: a plain INSERT of it from
    another session waits, and gets 23505 once the UPDATE commits."""
    conn = enroll.connect_proxy()
    conn.autocommit = True
    conn.cursor().execute(ROWS.format(t=enroll.name))
    conn.close()
    a, b = enroll.connect_proxy(), enroll.connect_proxy()
    b.autocommit = True
    a.cursor().execute(f"UPDATE {enroll.name} SET course_id = DEFAULT WHERE note = 'a'")

    def b_inserts():
        cur = b.cursor()
        try:
            cur.execute(f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (1, 7)")
            return cur.statusmessage
        except psycopg2.Error as e:
            return (e.pgcode, e.diag.message_detail)
    th, box = run_in_thread(b_inserts)
    th.join(1.0)
    assert th.is_alive(), "B's INSERT did not wait for A's UPDATE"
    a.commit()
    th.join(30)
    assert box.get("result") == ("23505", "Key (user_id, course_id)=(1, 7) already exists.")
    a.close()
    b.close()
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 7), (1, 2), (2, 7), (3, 1), (3, 2)]


def test_forms_still_refused(enroll):
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=enroll.name))
    t = enroll.name
    for sql in [f"WITH d AS (DELETE FROM {t} WHERE note = 'e' RETURNING 1) "
                f"UPDATE {t} SET course_id = DEFAULT WHERE note = 'a'",
                f"WITH uniqguard_s AS (SELECT 1) UPDATE {t} SET course_id = DEFAULT"]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert f'guard "{enroll.constraint}"' in e.value.diag.message_primary
    conn.close()
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 1), (1, 2), (2, 7), (3, 1), (3, 2)]


def test_under_log_a_late_update_is_forwarded_with_a_warning(pg, make_proxy):
    t = GuardedTable(pg, make_proxy, "lu_log", ENROLL, ["user_id", "course_id"], action="log")
    conn = t.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t.name))
    cur.execute(f"UPDATE {t.name} SET course_id = DEFAULT WHERE user_id = 1")
    assert cur.statusmessage == "UPDATE 2"
    conn.close()
    assert sorted((r[1], r[2]) for r in t.rows()) == [(1, 7), (1, 7), (2, 7), (3, 1), (3, 2)]
    deadline = time.monotonic() + 5
    while "not enforced" not in t.proxy.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 'UPDATE that sets key column "course_id" to DEFAULT' in t.proxy.log_text()


def test_prepared_late_writes_warn_of_backslashes_once_as_the_server_does(enroll):
    """Under standard_conforming_strings off the server warns (22P06) of a backslash in a plain
    string when it reads a statement: once, at the Parse. The proxy's own statement in place of
    each Execute must not make it warn again."""
    t = enroll.name
    results = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        notices, seen = [], []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(ROWS.format(t=t))
            conn.execute("SET standard_conforming_strings = off")
            conn.execute("SET escape_string_warning = on")
            conn.add_notice_handler(lambda d: notices.append(d.sqlstate))
            for sql, params in [
                (f"UPDATE {t} SET course_id = DEFAULT, note = 'a\\\\b' WHERE note = %s "
                 f"RETURNING note", ("a",)),
                (f"INSERT INTO {t} (user_id, note) SELECT %s, 'c\\\\d'", (8,)),
                (f"UPDATE {t} SET course_id = DEFAULT, note = 'e\\\\f' WHERE note = %s", ("b",)),
            ]:
                try:
                    cur = conn.execute(sql, params, prepare=True)
                    seen.append((cur.statusmessage, cur.fetchall() if cur.description else None))
                except psycopg.Error as e:
                    seen.append((e.sqlstate, e.diag.message_detail))
                seen.append(list(notices))
                notices.clear()
            seen.append(conn.execute(f"SELECT user_id, course_id, note FROM {t} ORDER BY 1, 2")
                        .fetchall())
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][0] == ("UPDATE 1", [("a\\b",)])
    assert results[0][1] == ["22P06"]
    assert results[0][2] == ("INSERT 0 1", None)
    assert results[0][3] == ["22P06"]
    assert results[0][4] == ("23505", "Key (user_id, course_id)=(1, 7) already exists.")
    assert results[0][5] == ["22P06"]
