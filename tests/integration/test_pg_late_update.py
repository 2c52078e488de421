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

from harness import pgwire
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
    for sql in [f"WITH uniqguard_s AS (SELECT 1) UPDATE {t} SET course_id = DEFAULT"]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert f'guard "{enroll.constraint}"' in e.value.diag.message_primary
    conn.close()
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 1), (1, 2), (2, 7), (3, 1), (3, 2)]


def test_a_data_modifying_with_list_runs_as_written_and_is_scanned_after(enroll):
    """An UPDATE of key columns with a data-modifying WITH list (refused until 2026-11-28: no
    wrapper holds one) runs as written; the rows it moved are found after it by the scan."""
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "WITH d AS (DELETE FROM {t} WHERE note = 'e' RETURNING 1) "
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'a'",
        "WITH d AS (DELETE FROM {t} WHERE note = 'zz' RETURNING 1) "
        "UPDATE {t} SET course_id = 7 WHERE note = 'b'",
        "WITH d AS (DELETE FROM {t} WHERE note = 'd' RETURNING 1) "
        "UPDATE {t} SET user_id = 3, course_id = 2 WHERE note = 'b' RETURNING user_id",
    ])
    assert outcomes[1] == ("ok", "UPDATE 1", None)
    assert outcomes[2][1]["detail"] == "Key (user_id, course_id)=(1, 7) already exists."
    # (3, 2) was row 'e', deleted by the first statement
    assert outcomes[3] == ("ok", "UPDATE 1", [(3,)])
    assert [(r[0], r[1]) for r in rows] == [(1, 7), (2, 7), (3, 2)]


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


def raw_both(enroll, messages, setup=None):
    """`messages` (raw frontend messages, ending in a Sync) on a fresh raw connection through
    the proxy and one to the twin: per side, (the backend messages up to the ReadyForQuery, as
    (type, text of a CommandComplete / code of an error / the row)), and the table's rows)."""
    out = []
    for port, database in ((enroll.proxy.port, "app"), (enroll.pg.port, "twin")):
        c = pgwire.RawClient(port)
        c.startup(database=database)
        if setup:
            c.simple_query(setup.format(t=enroll.name))
        c.send(b"".join(messages))
        seen = []
        for t, body in c.read_until("Z"):
            if t == "C":
                seen.append(("C", body.rstrip(b"\0").decode()))
            elif t == "E":
                seen.append(("E", pgwire.parse_fields(body)["C"]))
            elif t == "D":
                seen.append(("D", pgwire.parse_data_row(body)))
            elif t in "s":
                seen.append((t, None))
        c.close()
        out.append((seen, [(r[1], r[2], r[3]) for r in (
            enroll.rows() if database == "app" else twin_rows(enroll))]))
    return out


def twin_rows(enroll):
    conn = enroll.connect_twin()
    cur = conn.cursor()
    cur.execute(f"SELECT * FROM {enroll.name} ORDER BY 1")
    rows = cur.fetchall()
    conn.close()
    return rows


def parse(name, sql):
    return pgwire.message(b"P", name.encode() + b"\0" + sql.encode() + b"\0\0\0")


def bind(portal, statement):
    return pgwire.message(b"B", portal.encode() + b"\0" + statement.encode() +
                          b"\0\0\0\0\0\0\0")


def execute(portal, max_rows=0):
    return pgwire.message(b"E", portal.encode() + b"\0" + max_rows.to_bytes(4, "big"))


SYNC = pgwire.message(b"S")


def test_a_late_portal_runs_once_and_a_row_limit_is_refused(enroll):
    """The proxy's statement runs the client's late UPDATE whole, in place of its Execute: a
    second Execute of the portal must not write again (the server's own answer without
    RETURNING: 55000), and a row limit with RETURNING (the server would suspend the portal) is
    refused rather than answered otherwise."""
    t = enroll.name
    upd = f"UPDATE {t} SET course_id = course_id + 10 + floor(random())::int WHERE note = 'a'"
    setup = ROWS
    # Without RETURNING: the second Execute is the server's 55000, nothing written twice.
    (proxy, proxy_rows), (twin, twin_rows_) = raw_both(
        enroll, [parse("s", upd), bind("p", "s"), execute("p"), execute("p"), SYNC], setup)
    assert proxy == twin == [("C", "UPDATE 1"), ("E", "55000")]
    assert proxy_rows == twin_rows_
    # Which undid the first in the implicit transaction: (1, 1) as before.
    assert (1, 1, "a") in proxy_rows
    for side in (enroll.connect_proxy(), enroll.connect_twin()):
        side.autocommit = True
        side.cursor().execute(f"DELETE FROM {t}")
        side.close()
    # With RETURNING and a row limit: refused through the proxy, nothing written.
    (proxy, proxy_rows), _ = raw_both(
        enroll, [parse("s", upd + " RETURNING course_id"), bind("p", "s"), execute("p", 1), SYNC],
        setup)
    assert proxy == [("E", "0A000")]
    assert (1, 1, "a") in proxy_rows
    # Without a limit it is answered whole, as by the server.
    for side in (enroll.connect_proxy(), enroll.connect_twin()):
        side.autocommit = True
        side.cursor().execute(f"DELETE FROM {t}")
        side.close()
    (proxy, proxy_rows), (twin, twin_rows_) = raw_both(
        enroll, [parse("s", upd + " RETURNING course_id"), bind("p", "s"), execute("p"), SYNC],
        setup)
    assert proxy == twin == [("D", ["11"]), ("C", "UPDATE 1")]
    assert proxy_rows == twin_rows_


def test_explain(enroll):
    t = enroll.name
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t))
    # Without ANALYZE nothing runs: the server's plan (refused until now).
    cur.execute(f"EXPLAIN (COSTS OFF) UPDATE {t} SET course_id = DEFAULT WHERE note = 'a'")
    assert cur.fetchall()[0][0].startswith("Update on")
    cur.execute(f"EXPLAIN (COSTS OFF) INSERT INTO {t} (user_id, course_id) SELECT 1, 1")
    assert cur.fetchall()[0][0].startswith("Insert on")
    # With ANALYZE the statement runs: a late one is refused, by name.
    for sql in [f"EXPLAIN ANALYZE UPDATE {t} SET course_id = DEFAULT WHERE note = 'a'",
                f"EXPLAIN (ANALYZE, COSTS OFF) INSERT INTO {t} (user_id, course_id) SELECT 1, 1"]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert "EXPLAIN ANALYZE" in e.value.diag.message_primary
    conn.close()
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 1), (1, 2), (2, 7), (3, 1), (3, 2)]


def test_in_a_read_only_transaction_the_statements_own_refusal(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "BEGIN READ ONLY",
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'c'",
        "ROLLBACK",
        "BEGIN READ ONLY",
        "INSERT INTO {t} (user_id, course_id) SELECT 9, 9",
        "ROLLBACK",
        # once the session's keys table exists too
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'a'",
        "BEGIN READ ONLY",
        "UPDATE {t} SET course_id = DEFAULT WHERE note = 'b'",
        "ROLLBACK",
    ])
    for i, command in ((2, "UPDATE"), (5, "INSERT"), (9, "UPDATE")):
        err = outcomes[i][1]
        assert err["sqlstate"] == "25006"
        assert err["message"] == f"cannot execute {command} in a read-only transaction"
        assert err["context"] is None


def test_a_late_write_naming_the_proxys_own_names_is_refused(enroll):
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=enroll.name))
    with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
        cur.execute(f"UPDATE {enroll.name} SET course_id = DEFAULT WHERE note = 'a' "
                    f"RETURNING user_id AS uniqguard_k1")
    assert f'guard "{enroll.constraint}"' in e.value.diag.message_primary
    conn.close()
