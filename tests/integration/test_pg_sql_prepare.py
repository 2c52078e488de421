"""SQL-level PREPARE / EXECUTE of writes to a guarded table (issue 4, SPEC §4). `EXECUTE p(…)`
does not name the table its statement writes: the proxy keeps the body of each PREPARE that
writes to a guarded table and runs each EXECUTE of that name as written, scanned after, as a
MERGE (docs/guard.md, "SQL-level PREPARE and EXECUTE"). Every script runs through the proxy on a
table without a unique index and directly on a twin with the real index (harness/guarded.py):
the same outcome statement by statement, and the same rows at the end. Refused until
2026-11-28 (the PREPARE, with 0A000).
"""
import re
import time

import psycopg
import psycopg2
import pytest

from harness.guarded import GuardedTable, assert_same_as_twin as assert_same, \
    second_waits_for_first

ENROLL = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
          "note text")
ROWS = ("INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'a'), (1, 2, 'b'), "
        "(2, 7, 'c'), (3, 1, 'd'), (3, 2, 'e')")
PREPARE_INSERT = ("PREPARE ins (int, int, text) AS "
                  "INSERT INTO {t} (user_id, course_id, note) VALUES ($1, $2, $3)")


def detail(u, c):
    return f"Key (user_id, course_id)=({u}, {c}) already exists."


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "sp_" + re.sub(r"\W", "_", request.node.name.replace("test_", ""))[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def test_execute_of_a_prepared_insert_is_judged_as_on_the_index(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        PREPARE_INSERT,
        "EXECUTE ins(4, 1, 'f')",
        "EXECUTE ins(4, 1, 'g')",
        # a key the rows above hold (loaded into the key set as the proxy saw them written)
        "EXECUTE ins(1, 1, 'h')",
        # the key the first EXECUTE wrote was learnt: a plain INSERT of it is refused
        "INSERT INTO {t} (user_id, course_id) VALUES (4, 1)",
        # the name in another spelling (identifiers fold to lower case)
        "execute INS(4, 2, 'i')",
        'EXECUTE "ins"(4, 2, \'j\')',
        # RETURNING: the rows are the client's, held until the check
        "PREPARE ret AS INSERT INTO {t} (user_id, course_id) VALUES ($1, $2) "
        "RETURNING user_id, course_id",
        "EXECUTE ret(5, 5)",
        "EXECUTE ret(5, 5)",
        # deallocated and prepared again with the same statement
        "DEALLOCATE ins",
        PREPARE_INSERT,
        "EXECUTE ins(4, 2, 'k')",
        "EXECUTE ins(6, 1, 'l')",
    ])
    assert outcomes[2] == ("ok", "INSERT 0 1", None)
    err = outcomes[3][1]
    assert err["sqlstate"] == "23505"
    assert err["message"] == f'duplicate key value violates unique constraint "{enroll.constraint}"'
    assert err["detail"] == detail(4, 1)
    assert err["table"] == enroll.name and err["constraint"] == enroll.constraint
    assert err["schema"] == "public" and err["context"] is None
    assert outcomes[4][1]["detail"] == detail(1, 1)
    assert outcomes[5][1]["detail"] == detail(4, 1)
    assert outcomes[6] == ("ok", "INSERT 0 1", None)
    assert outcomes[7][1]["detail"] == detail(4, 2)
    assert outcomes[9] == ("ok", "INSERT 0 1", [(5, 5)])
    assert outcomes[10][1]["detail"] == detail(5, 5)
    assert outcomes[13][1]["detail"] == detail(4, 2)
    assert outcomes[14] == ("ok", "INSERT 0 1", None)
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (1, 2), (2, 7), (3, 1), (3, 2), (4, 1),
                                            (4, 2), (5, 5), (6, 1)]
    lines = enroll.duplicate_lines(expected=6)
    assert [line["values"] for line in lines] == [
        ["4", "1"], ["1", "1"], ["4", "1"], ["4", "2"], ["5", "5"], ["4", "2"]]
    assert {line["action"] for line in lines} == {"rejected"}
    assert lines[0]["statement"] == "EXECUTE ins(4, 1, 'g')"


def test_execute_of_updates_merges_and_insert_select(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "PREPARE up (int, int) AS UPDATE {t} SET course_id = $2 "
        "WHERE user_id = $1 AND course_id = 1",
        "EXECUTE up(3, 2)",
        "EXECUTE up(3, 9)",
        "PREPARE mg (int, int) AS MERGE INTO {t} AS e USING (VALUES ($1, $2)) AS s(u, c) "
        "ON e.user_id = s.u AND e.course_id = s.c "
        "WHEN MATCHED THEN UPDATE SET course_id = s.c + 1 "
        "WHEN NOT MATCHED THEN INSERT (user_id, course_id) VALUES (s.u, s.c)",
        "EXECUTE mg(6, 6)",
        "EXECUTE mg(6, 6)",
        "EXECUTE mg(1, 1)",
        "PREPARE copy (int) AS INSERT INTO {t} (user_id, course_id, note) "
        "SELECT user_id, course_id + 100, 'copy' FROM {t} WHERE user_id = $1 ORDER BY course_id",
        "EXECUTE copy(2)",
        "EXECUTE copy(2)",
        "PREPARE wl (int, int) AS WITH x AS (INSERT INTO {t} (user_id, course_id) "
        "VALUES ($1, $2) RETURNING course_id) SELECT course_id FROM x",
        "EXECUTE wl(8, 8)",
        "EXECUTE wl(8, 8)",
    ])
    assert outcomes[2][1]["detail"] == detail(3, 2)
    assert outcomes[3] == ("ok", "UPDATE 1", None)
    assert outcomes[5] == ("ok", "MERGE 1", None)
    assert outcomes[6] == ("ok", "MERGE 1", None)  # (6, 6) moved to (6, 7)
    assert outcomes[7][1]["detail"] == detail(1, 2)
    assert outcomes[9] == ("ok", "INSERT 0 1", None)
    assert outcomes[10][1]["detail"] == detail(2, 107)
    assert outcomes[12] == ("ok", "SELECT 1", [(8,)])
    assert outcomes[13][1]["detail"] == detail(8, 8)
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (1, 2), (2, 7), (2, 107), (3, 2), (3, 9),
                                            (6, 7), (8, 8)]


def test_in_a_transaction_a_refused_execute_fails_it(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        PREPARE_INSERT,
        "EXECUTE ins(7, 1, 'x')",
        "SAVEPOINT s",
        "EXECUTE ins(7, 1, 'y')",
        "ROLLBACK TO SAVEPOINT s",
        "DELETE FROM {t} WHERE user_id = 1 AND course_id = 1",
        "EXECUTE ins(1, 1, 'again')",
        "SELECT user_id, course_id, note FROM {t} WHERE user_id IN (1, 7) ORDER BY 1, 2",
        "EXECUTE ins(3, 2, 'z')",
        "SELECT 1",
    ], autocommit=False)
    assert outcomes[4][1]["detail"] == detail(7, 1)
    assert outcomes[7] == ("ok", "INSERT 0 1", None)
    assert outcomes[8][2] == [(1, 1, "again"), (1, 2, "b"), (7, 1, "x")]
    assert outcomes[9][1]["detail"] == detail(3, 2)
    assert outcomes[10][1]["sqlstate"] == "25P02"
    # (rolled back at the end: only the rows written before the block)
    assert len(rows) == 0


def test_a_read_only_transaction_names_the_prepared_command(enroll):
    outcomes, _ = assert_same(enroll, [
        PREPARE_INSERT,
        "SET TRANSACTION READ ONLY",
        "EXECUTE ins(1, 1, 'a')",
    ], autocommit=False)
    err = outcomes[2][1]
    assert err["sqlstate"] == "25006"
    assert err["message"] == "cannot execute INSERT in a read-only transaction"
    assert err["context"] is None


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_an_execute_waits_for_an_insert_of_its_key_in_an_open_transaction(enroll, end):
    results = second_waits_for_first(
        enroll, "INSERT INTO {t} (user_id, course_id) VALUES (5, 5)",
        "EXECUTE ins(5, 5, 'b')", end, setup=[PREPARE_INSERT])
    assert results[0] == results[1]
    assert results[0] == (True, ("23505", detail(5, 5)) if end == "commit" else "INSERT 0 1")


def test_an_insert_waits_for_the_key_an_execute_wrote(enroll):
    results = second_waits_for_first(
        enroll, "EXECUTE ins(6, 6, 'a')",
        "INSERT INTO {t} (user_id, course_id) VALUES (6, 6)", setup=[PREPARE_INSERT])
    assert results[0] == results[1]
    assert results[0] == (True, ("23505", detail(6, 6)))


def refusal(cur, sql):
    with pytest.raises(psycopg2.Error) as e:
        cur.execute(sql)
    return e.value.pgcode, e.value.diag.message_primary


def test_forms_refused(enroll):
    t = enroll.name
    guard = enroll.constraint
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t))
    # skipping and upserting on the key need a rewrite the proxy cannot make of an EXECUTE
    for body in ["INSERT INTO {t} (user_id, course_id) VALUES ($1, $2) "
                 "ON CONFLICT (user_id, course_id) DO NOTHING",
                 "INSERT INTO {t} (user_id, course_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                 "INSERT INTO {t} (user_id, course_id) VALUES ($1, $2) "
                 "ON CONFLICT (user_id, course_id) DO UPDATE SET note = 'u'"]:
        assert refusal(cur, ("PREPARE sk (int, int) AS " + body).format(t=t)) == (
            "0A000",
            f'uniqguard: PREPARE of a statement that skips duplicates or updates the row a key '
            f'names (action "ignore", ON CONFLICT on the key) on table "public.{t}" is not '
            f'enforced by guard "{guard}" yet; the statement was refused')
    # none of them was prepared
    assert refusal(cur, "EXECUTE sk(1, 1)")[0] == "26000"
    cur.execute(PREPARE_INSERT.format(t=t))
    # among other statements of one Query the scan cannot wait
    assert refusal(cur, "SELECT 1; EXECUTE ins(9, 9, 'x')") == (
        "0A000",
        f'uniqguard: EXECUTE of a prepared INSERT, in a query string with other statements, on '
        f'table "public.{t}" is not enforced by guard "{guard}" yet; the statement was refused '
        f'(send it as a query of its own)')
    assert refusal(cur, "EXPLAIN ANALYZE EXECUTE ins(9, 9, 'x')") == (
        "0A000",
        f'uniqguard: EXPLAIN ANALYZE of EXECUTE of a prepared write on table "public.{t}" is '
        f'not enforced by guard "{guard}" yet; the statement was refused')
    # EXPLAIN without ANALYZE runs nothing
    cur.execute("EXPLAIN EXECUTE ins(9, 9, 'x')")
    assert cur.fetchall()
    conn.close()
    # The extended protocol: an EXECUTE through a Parse is judged as a simple Query's (the
    # server cannot type parameters of an EXECUTE: 42P18, as on the twin).
    with psycopg.connect(enroll.proxy_dsn(), autocommit=True) as c3:
        c3.execute(PREPARE_INSERT.format(t=t))
        c3.execute("EXECUTE ins(9, 9, 'x')", prepare=True)
        with pytest.raises(psycopg.errors.UniqueViolation):
            c3.execute("EXECUTE ins(9, 9, 'y')", prepare=True)
        with pytest.raises(psycopg.errors.IndeterminateDatatype):
            c3.execute("EXECUTE ins(%s, %s, %s)", (9, 9, "z"))
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 1), (1, 2), (2, 7), (3, 1), (3, 2),
                                                    (9, 9)]


def test_a_name_prepared_again_with_another_statement(enroll):
    """Which statement the server holds under a name the proxy cannot tell from the client's
    text alone (a DEALLOCATE or PREPARE may have failed): an EXECUTE of a name once prepared as
    a guarded write is scanned whatever it runs, and its rows (or none) reach the client as
    they would. A name prepared with writes to two guarded tables is refused."""
    outcomes, rows = assert_same(enroll, [
        ROWS,
        PREPARE_INSERT,
        "DEALLOCATE ins",
        "PREPARE ins (int, int, text) AS SELECT $1, $2, $3",
        "EXECUTE ins(9, 9, 'x')",
        "DEALLOCATE ins",
        "PREPARE ins (int, int, text) AS UPDATE {t} SET note = $3 WHERE user_id = $1",
        "EXECUTE ins(1, 0, 'u')",
        "DEALLOCATE ins",
        "PREPARE ins (int, int, text) AS INSERT INTO {t} (user_id, course_id, note) "
        "SELECT $1, $2, $3 RETURNING note",
        "EXECUTE ins(2, 7, 'dup')",
        "EXECUTE ins(2, 8, 'new')",
        # (a PREPARE of a name in use fails: the old statement stays)
        "PREPARE ins (int, int, text) AS SELECT 1",
        "EXECUTE ins(2, 9, 'still the insert')",
    ])
    assert outcomes[4] == ("ok", "SELECT 1", [(9, 9, "x")])
    assert outcomes[7] == ("ok", "UPDATE 2", None)
    assert outcomes[10][1]["detail"] == detail(2, 7)
    assert outcomes[11] == ("ok", "INSERT 0 1", [("new",)])
    assert outcomes[12][1]["sqlstate"] == "42P05"
    assert outcomes[13] == ("ok", "INSERT 0 1", [("still the insert",)])
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, 1, "u"), (1, 2, "u"), (2, 7, "c"), (2, 8, "new"), (2, 9, "still the insert"),
        (3, 1, "d"), (3, 2, "e")]


def test_a_name_prepared_with_writes_to_two_guarded_tables_is_refused(pg, make_proxy):
    pg.psql_admin("DROP TABLE IF EXISTS sp_two_b; CREATE TABLE sp_two_b (" + ENROLL + ");"
                  "GRANT SELECT ON sp_two_b TO uniqguard;", database="app")
    t = GuardedTable(pg, make_proxy, "sp_two", ENROLL, ["user_id", "course_id"],
                     guard_extra='[[guard]]\ntable = "public.sp_two_b"\n'
                                 'columns = ["user_id", "course_id"]\nname = "sp_two_b_key"\n')
    conn = t.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    deadline = time.monotonic() + 30
    while True:
        try:
            cur.execute("INSERT INTO sp_two_b (user_id, course_id) VALUES (0, 0)")
            break
        except psycopg2.errors.FeatureNotSupported:  # still loading (when_unready)
            assert time.monotonic() < deadline
            time.sleep(0.1)
    cur.execute(PREPARE_INSERT.format(t="sp_two"))
    cur.execute("DEALLOCATE ins")
    cur.execute(PREPARE_INSERT.format(t="sp_two_b"))
    assert refusal(cur, "EXECUTE ins(1, 1, 'x')") == (
        "0A000",
        'uniqguard: EXECUTE of prepared statement "ins", prepared more than once with '
        'statements writing to table "public.sp_two" and to table "public.sp_two_b", is not '
        'enforced by guard "sp_two_key"; the statement was refused (prepare it under a new '
        'name)')
    conn.close()


def test_ignore_refuses_inserts_and_judges_updates_and_log_forwards(pg, make_proxy):
    """Under `ignore` an INSERT's duplicates are dropped, which an EXECUTE cannot be rewritten
    to do: its PREPARE is refused. An UPDATE has no ON CONFLICT: its duplicate is the index's
    23505 under `ignore` too. Under `log` the EXECUTE is forwarded with a warning."""
    t = GuardedTable(pg, make_proxy, "sp_ignore", ENROLL, ["user_id", "course_id"],
                     action="ignore")
    conn = t.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t.name))
    assert refusal(cur, PREPARE_INSERT.format(t=t.name))[0] == "0A000"
    cur.execute(f"PREPARE up (int, int) AS UPDATE {t.name} SET course_id = $2 "
                f"WHERE user_id = $1 AND course_id = 1")
    with pytest.raises(psycopg2.errors.UniqueViolation) as e:
        cur.execute("EXECUTE up(1, 2)")
    assert e.value.diag.message_detail == detail(1, 2)
    cur.execute("EXECUTE up(1, 5)")
    assert cur.statusmessage == "UPDATE 1"
    conn.close()
    t = GuardedTable(pg, make_proxy, "sp_log", ENROLL, ["user_id", "course_id"], action="log")
    conn = t.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t.name))
    cur.execute(PREPARE_INSERT.format(t=t.name))
    cur.execute("EXECUTE ins(1, 1, 'dup')")
    assert cur.statusmessage == "INSERT 0 1"
    conn.close()
    assert len(t.rows()) == 6
    deadline = time.monotonic() + 5
    while "not enforced" not in t.proxy.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ('uniqguard: EXECUTE of a prepared INSERT on table "public.sp_log" is not enforced'
            in t.proxy.log_text())


def test_review_cases_a_multibyte_name_cut_and_a_setting_moved(enroll):
    """Found by a review on 2026-11-28, both duplicates admitted: the server cuts a name past 63
    bytes at a character boundary (32 two-byte characters are 62 bytes there); a body read under
    standard_conforming_strings off did not parse again under on."""
    e = "é"
    outcomes, _ = assert_same(enroll, [
        ROWS,
        PREPARE_INSERT.replace("ins ", e * 32 + " "),
        f"EXECUTE {e * 31}(1, 1, 'x')",
        "SET standard_conforming_strings = off",
        "PREPARE bs (int, int) AS INSERT INTO {t} (user_id, course_id, note) "
        "VALUES ($1, $2, 'it\\'s')",
        "SET standard_conforming_strings = on",
        "EXECUTE bs(1, 2)",
        "EXECUTE bs(30, 30)",
        "EXECUTE bs(30, 30)",
    ])
    assert outcomes[2][1]["detail"] == detail(1, 1)
    assert outcomes[6][1]["detail"] == detail(1, 2)
    assert outcomes[7] == ("ok", "INSERT 0 1", None)
    assert outcomes[8][1]["detail"] == detail(30, 30)


def test_review_cases_a_kept_name_run_from_another_statement_is_refused(enroll):
    """CREATE TABLE AS EXECUTE, and a DO block's dynamic EXECUTE, of a kept name: no scan holds
    them (found by a review on 2026-11-28: forwarded unchecked, their duplicates admitted)."""
    t = enroll.name
    guard = enroll.constraint
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t))
    cur.execute(f"PREPARE wl (int, int) AS WITH x AS (INSERT INTO {t} (user_id, course_id) "
                f"VALUES ($1, $2) RETURNING course_id) SELECT course_id FROM x")
    cur.execute(PREPARE_INSERT.format(t=t))
    for sql, name in [("CREATE TABLE sp_ctas AS EXECUTE wl(1, 1)", "wl"),
                      ("EXPLAIN ANALYZE CREATE TEMP TABLE sp_ctas2 AS EXECUTE wl(1, 2)", "wl"),
                      ("DO $$ BEGIN EXECUTE 'EXECUTE ins(1, 1, ''z'')'; END $$", "ins"),
                      # (a second review: comments, an E'' string, a tab)
                      ("CREATE TEMP TABLE sp_ctas4 AS EXECUTE/**/wl(1, 1)", "wl"),
                      ("CREATE TEMP TABLE sp_ctas5 AS EXECUTE --c\n wl(1, 1)", "wl"),
                      ("EXPLAIN (ANALYZE, COSTS OFF) CREATE TEMP TABLE sp_ctas6 AS "
                       "EXECUTE/**/wl(1, 1)", "wl"),
                      ("DO $$ BEGIN EXECUTE 'EXECUTE/**/ins(1, 1, ''z'')'; END $$", "ins"),
                      ("DO $$ BEGIN EXECUTE E'EXECUTE\\tins(1, 1, ''z'')'; END $$", "ins")]:
        assert refusal(cur, sql) == (
            "0A000",
            f'uniqguard: a statement running prepared statement "{name}", which writes to table '
            f'"public.{t}", other than EXECUTE itself (CREATE TABLE AS, a DO block) is not '
            f'enforced by guard "{guard}" yet; the statement was refused')
    # a name the proxy cannot read
    assert refusal(cur, 'CREATE TEMP TABLE sp_ctas7 AS EXECUTE U&"\\0077l"(1, 1)')[0] == "0A000"
    # EXPLAIN without ANALYZE runs nothing
    cur.execute("EXPLAIN CREATE TABLE sp_ctas3 AS EXECUTE wl(1, 1)")
    conn.close()
    assert len(enroll.rows()) == 5
    # Names beyond ASCII under another client_encoding: the server folds and cuts them in its
    # own encoding (a second review: 40 LATIN1 bytes kept where the server keeps 31 characters).
    conn = enroll.connect_proxy()
    conn.autocommit = True
    conn.set_client_encoding("LATIN1")
    cur = conn.cursor()
    assert refusal(cur, PREPARE_INSERT.replace("ins ", "é" * 40 + " ").format(t=t)) == (
        "0A000",
        f'uniqguard: PREPARE of a write to table "public.{t}" (guard "{guard}") under a '
        f'client_encoding other than UTF8 with a name beyond ASCII is refused')
    cur.execute(PREPARE_INSERT.format(t=t))
    assert refusal(cur, "EXECUTE é(1, 1, 'x')")[0] == "0A000"
    conn.close()
    assert len(enroll.rows()) == 5


def test_psycopg3_prepares_an_execute_it_ran_five_times(enroll):
    """psycopg 3 prepares a query on the server once it has run it 5 times (a Parse of the
    EXECUTE text): each Execute of it is scanned as the simple Query's (a review found the Parse
    refused)."""
    results = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        seen = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(PREPARE_INSERT.format(t=enroll.name))
            for _ in range(8):
                try:
                    seen.append(conn.execute("EXECUTE ins(20, 20, 'x')").statusmessage)
                except psycopg.Error as e:
                    seen.append((e.sqlstate, e.diag.message_detail))
            # prepared at once, then run from the prepared statement
            for _ in range(2):
                try:
                    cur = conn.execute("EXECUTE ins(21, 21, 'y')", prepare=True)
                    seen.append(cur.statusmessage)
                except psycopg.Error as e:
                    seen.append((e.sqlstate, e.diag.message_detail))
        results.append(seen)
    assert results[0] == results[1]
    assert results[0] == ["INSERT 0 1"] + [("23505", detail(20, 20))] * 7 + [
        "INSERT 0 1", ("23505", detail(21, 21))]


def test_psycopg3_prepared_an_execute_before_its_name_wrote(enroll):
    """A Parse of EXECUTE made while the name was a SELECT, run again after the name became a
    guarded INSERT (psycopg 3 keeps its prepared statement across a DEALLOCATE): checked at each
    Execute (a second review found it run unchecked). EXECUTE with Bind parameters: the server's
    own error, as on the twin (the proxy's run wrote them in)."""
    results = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        seen = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(ROWS.format(t=enroll.name))
            conn.execute("PREPARE ins (int, int, text) AS SELECT $1, $2, $3")
            for _ in range(7):
                seen.append(conn.execute("EXECUTE ins(1, 1, 'z')").fetchall())
            conn.execute("DEALLOCATE ins")
            conn.execute(PREPARE_INSERT.format(t=enroll.name))
            for sql, params in [("EXECUTE ins(1, 1, 'z')", None), ("EXECUTE ins(1, 1, 'z')", None),
                                ("EXECUTE ins(%s, %s, 'q')", (30, 30)),
                                ("EXECUTE ins(%s, %s, 'q')", (31, 31))]:
                try:
                    seen.append(conn.execute(sql, params).statusmessage)
                except psycopg.Error as e:
                    seen.append((e.sqlstate, e.diag.message_detail))
            seen.append(conn.execute(f"SELECT count(*) FROM {enroll.name}").fetchall())
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][7:9] == [("23505", detail(1, 1))] * 2
    assert results[0][9][0] in ("42P02", "42P18") and results[0][10][0] == results[0][9][0]
    assert results[0][11] == [(5,)]
