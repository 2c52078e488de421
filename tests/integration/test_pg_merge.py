"""MERGE into a guarded table (issue 4 item 6, SPEC §4). PostgreSQL 15's MERGE has no RETURNING
to wrap: the proxy runs it as the client wrote it, between a mark it writes in the same
transaction and a scan for the rows written after the mark, then claims and checks their keys
as a late INSERT's (docs/guard.md, "Keys that come late"). Every script runs through the proxy
on a table without a unique index and directly on a twin with the real index
(harness/guarded.py): the same outcome statement by statement, and the same rows at the end.
"""
import re
import time

import psycopg
import psycopg2
import psycopg2.extensions
import pytest

from harness.guarded import GuardedTable, assert_same_as_twin as assert_same, \
    second_waits_for_first

ENROLL = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
          "note text")
ROWS = ("INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'a'), (1, 2, 'b'), "
        "(2, 7, 'c'), (3, 1, 'd'), (3, 2, 'e')")


def merge_from(values, *whens):
    """MERGE INTO {t} from a VALUES list of (user_id, course_id, note), matched on the key."""
    return ("MERGE INTO {t} AS e USING (VALUES " + values + ") AS s(u, c, n) "
            "ON e.user_id = s.u AND e.course_id = s.c " + " ".join(whens))


INSERT_NEW = "WHEN NOT MATCHED THEN INSERT (user_id, course_id, note) VALUES (s.u, s.c, s.n)"


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "mg_" + re.sub(r"\W", "_", request.node.name.replace("test_", ""))[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def test_merge_inserts_new_keys_and_refuses_a_duplicate(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        merge_from("(4, 1, 'f'), (4, 2, 'g')", INSERT_NEW),
        # matched rows are left alone: nothing inserted, nothing refused
        merge_from("(1, 1, 'x'), (4, 2, 'y')", INSERT_NEW),
        # two source rows with one new key: the second is the duplicate, as on the index
        merge_from("(5, 1, 'h'), (5, 1, 'i')", INSERT_NEW),
        # the ON condition on another column: the new row's key exists
        "MERGE INTO {t} AS e USING (VALUES (1, 2)) AS s(u, c) ON e.note = 'zz' "
        "WHEN NOT MATCHED THEN INSERT (user_id, course_id) VALUES (s.u, s.c)",
        # the key set learnt (4, 1): an INSERT of it is checked, and refused
        "INSERT INTO {t} (user_id, course_id) VALUES (4, 1)",
        "INSERT INTO {t} (user_id, course_id) VALUES (5, 1)",
    ])
    assert outcomes[1] == ("ok", "MERGE 2", None)
    assert outcomes[2] == ("ok", "MERGE 0", None)
    err = outcomes[3][1]
    assert err["sqlstate"] == "23505"
    assert err["message"] == f'duplicate key value violates unique constraint "{enroll.constraint}"'
    assert err["detail"] == "Key (user_id, course_id)=(5, 1) already exists."
    assert err["table"] == enroll.name and err["constraint"] == enroll.constraint
    assert err["schema"] == "public" and err["context"] is None
    assert outcomes[4][1]["detail"] == "Key (user_id, course_id)=(1, 2) already exists."
    assert outcomes[5][1]["detail"] == "Key (user_id, course_id)=(4, 1) already exists."
    assert outcomes[6] == ("ok", "INSERT 0 1", None)
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (1, 2), (2, 7), (3, 1), (3, 2), (4, 1),
                                            (4, 2), (5, 1)]


def test_merge_updates_keys_and_deletes(enroll):
    outcomes, rows = assert_same(enroll, [
        ROWS,
        # a matched row moved onto a free key, then onto a taken one
        merge_from("(1, 1, '')", "WHEN MATCHED THEN UPDATE SET course_id = 9"),
        merge_from("(1, 9, '')", "WHEN MATCHED THEN UPDATE SET course_id = 2"),
        # a non-key column: the key stays, no conflict
        merge_from("(3, 1, 'new')", "WHEN MATCHED THEN UPDATE SET note = s.n"),
        # DELETE and INSERT in one MERGE: (3, 2) deleted, (3, 2) cannot be re-inserted by a
        # NOT MATCHED row of the same source (it matched), but a new key can
        merge_from("(3, 2, ''), (6, 6, 'z')", "WHEN MATCHED THEN DELETE", INSERT_NEW),
        # the freed key (1, 1) is free again
        "INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'again')",
        # a moved key and an inserted one colliding inside one MERGE
        merge_from("(2, 7, ''), (2, 8, 'q')",
                   "WHEN MATCHED THEN UPDATE SET course_id = 8", INSERT_NEW),
        # by a function the proxy cannot evaluate ahead: onto (6, 6), taken
        merge_from("(1, 9, '')", "WHEN MATCHED THEN UPDATE SET user_id = 6, "
                   "course_id = 6 + floor(random())::int"),
    ])
    assert outcomes[1] == ("ok", "MERGE 1", None)
    assert outcomes[2][1]["detail"] == "Key (user_id, course_id)=(1, 2) already exists."
    assert outcomes[3] == ("ok", "MERGE 1", None)
    assert outcomes[4] == ("ok", "MERGE 2", None)
    assert outcomes[5] == ("ok", "INSERT 0 1", None)
    assert outcomes[6][1]["sqlstate"] == "23505"
    assert outcomes[6][1]["detail"] == "Key (user_id, course_id)=(2, 8) already exists."
    assert outcomes[7][1]["detail"] == "Key (user_id, course_id)=(6, 6) already exists."
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, 1, "again"), (1, 2, "b"), (1, 9, "a"), (2, 7, "c"), (3, 1, "new"), (6, 6, "z")]


def test_in_a_transaction_earlier_writes_are_not_judged_again(enroll):
    """Rows the transaction wrote before the MERGE (a legacy-style duplicate written while the
    proxy was not looking is out of reach here; an UPDATE of a non-key column is) keep their
    earlier command ids: only the MERGE's rows are checked. A refused MERGE fails the
    transaction (25P02), as on the index; inside a savepoint it rolls back to it."""
    outcomes, rows = assert_same(enroll, [
        ROWS,
        "UPDATE {t} SET note = 'touched' WHERE user_id = 1",
        merge_from("(7, 1, 'm')", INSERT_NEW),
        "SAVEPOINT s",
        merge_from("(7, 2, 'n')", INSERT_NEW),
        merge_from("(7, 1, 'o')", "WHEN MATCHED THEN UPDATE SET course_id = 2"),
        "ROLLBACK TO SAVEPOINT s",
        merge_from("(7, 3, 'p')", INSERT_NEW),
        "SELECT user_id, course_id, note FROM {t} ORDER BY 1, 2",
        merge_from("(1, 1, '')", "WHEN MATCHED THEN UPDATE SET course_id = 3"),
        merge_from("(1, 2, '')", "WHEN MATCHED THEN UPDATE SET course_id = 3"),
        "SELECT 1",
    ], autocommit=False)
    assert outcomes[2] == ("ok", "MERGE 1", None)
    assert outcomes[4] == ("ok", "MERGE 1", None)
    assert outcomes[5][1]["detail"] == "Key (user_id, course_id)=(7, 2) already exists."
    assert outcomes[7] == ("ok", "MERGE 1", None)
    assert outcomes[8][2] == [(1, 1, "touched"), (1, 2, "touched"), (2, 7, "c"), (3, 1, "d"),
                              (3, 2, "e"), (7, 1, "m"), (7, 3, "p")]
    assert outcomes[9] == ("ok", "MERGE 1", None)
    assert outcomes[10][1]["detail"] == "Key (user_id, course_id)=(1, 3) already exists."
    assert outcomes[11][1]["sqlstate"] == "25P02"
    assert rows == []


def test_the_merge_own_errors_come_first_with_their_positions(enroll):
    outcomes, _ = assert_same(enroll, [
        ROWS,
        # NOT NULL of the MERGE itself
        merge_from("(8, 1, 'a')", "WHEN NOT MATCHED THEN INSERT (user_id, course_id) "
                   "VALUES (NULL, s.c)"),
        # a row matched twice: the server's 21000
        "MERGE INTO {t} AS e USING (VALUES (1), (1)) AS s(u) ON e.user_id = s.u AND "
        "e.course_id = 1 WHEN MATCHED THEN UPDATE SET note = 'twice'",
        # an error with a position in the client's text
        merge_from("(9, 1, 'a')", "WHEN NOT MATCHED THEN INSERT (user_id, course_id) "
                   "VALUES (s.u, 'x' || s.c)"),
    ])
    assert outcomes[1][1]["sqlstate"] == "23502"
    assert outcomes[2][1]["sqlstate"] == "21000"
    assert outcomes[3][1]["sqlstate"] == "42804"
    # The position of the error (psycopg2 leaves it out of the compared fields): in the
    # client's text, after a multi-byte character, on both sides.
    sql = ("/* é */ " + merge_from("(9, 1, 'a')", "WHEN NOT MATCHED THEN INSERT (user_id, "
                                   "course_id) VALUES (s.u, 'x' || s.c)")).format(t=enroll.name)
    positions = []
    for connect in (enroll.connect_proxy, enroll.connect_twin):
        conn = connect()
        conn.autocommit = True
        with pytest.raises(psycopg2.errors.DatatypeMismatch) as e:
            conn.cursor().execute(sql)
        positions.append(e.value.diag.statement_position)
        conn.close()
    assert positions[0] == positions[1]
    assert positions[0] is not None and int(positions[0]) > 100


def test_a_merge_among_other_statements_of_one_query_is_refused(enroll):
    """Among other statements of one Query string the proxy cannot hold the rest of the string
    while the MERGE's keys wait for another transaction's claim of them: refused (0A000, the
    whole string undone as after any error), as an INSERT that skips duplicates and whose keys
    come late. Alone in its Query the same MERGE is judged as usual."""
    outcomes, rows = assert_same(enroll, [
        ROWS,
        merge_from("(10, 2, 'x')", INSERT_NEW),
        "MERGE INTO {t} USING (VALUES (11, 4), (11, 3)) AS s(u, c) ON false "
        "WHEN NOT MATCHED THEN INSERT (user_id, course_id) VALUES (s.u, s.c)",
        "MERGE INTO {t} USING (VALUES (11, 5), (11, 3)) AS s(u, c) ON false "
        "WHEN NOT MATCHED THEN INSERT (user_id, course_id) VALUES (s.u, s.c)",
    ])
    assert outcomes[1] == ("ok", "MERGE 1", None)
    assert outcomes[2] == ("ok", "MERGE 2", None)
    assert outcomes[3][1]["detail"] == "Key (user_id, course_id)=(11, 3) already exists."
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    for sql in ["INSERT INTO {t} (user_id, course_id) VALUES (10, 1); "
                + merge_from("(10, 2, 'x')", INSERT_NEW),
                "BEGIN; " + merge_from("(10, 2, 'x')", INSERT_NEW) + "; COMMIT"]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql.format(t=enroll.name))
        assert e.value.diag.message_primary == (
            f'uniqguard: MERGE, in a query string with other statements, on table '
            f'"public.{enroll.name}" is not enforced by guard "{enroll.constraint}" yet; the '
            f'statement was refused (send it as a query of its own)')
    # (the block the string began is failed, as after the server's own error)
    assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
    cur.execute("ROLLBACK")
    conn.close()
    assert len(enroll.rows()) == 8
    lines = enroll.duplicate_lines(expected=1)
    assert len(lines) == 1
    assert lines[0]["values"] == ["11", "3"]
    assert lines[0]["action"] == "rejected"
    assert lines[0]["statement"].startswith(f"MERGE INTO {enroll.name} USING (VALUES (11, 5)")


def test_with_several_duplicates_the_first_written_is_reported(enroll):
    """The index meets the MERGE's rows in the order it writes them: the first duplicate is
    the one reported. The proxy reads the written rows back in their physical order, which is
    that order for rows it appended (found by a review: they came back in reverse)."""
    outcomes, _ = assert_same(enroll, [
        ROWS,
        "MERGE INTO {t} AS e USING (VALUES (3, 1), (1, 1)) AS s(u, c) ON false "
        "WHEN NOT MATCHED THEN INSERT (user_id, course_id) VALUES (s.u, s.c)",
        "MERGE INTO {t} AS e USING (VALUES (8, 1), (8, 2), (8, 2), (8, 1)) AS s(u, c) "
        "ON false WHEN NOT MATCHED THEN INSERT (user_id, course_id) VALUES (s.u, s.c)",
    ])
    assert outcomes[1][1]["detail"] == "Key (user_id, course_id)=(3, 1) already exists."
    assert outcomes[2][1]["detail"] == "Key (user_id, course_id)=(8, 2) already exists."


def test_a_merge_waits_for_an_insert_of_its_key_in_an_open_transaction(enroll):
    """B's MERGE of (1, 1), which A inserted and has not committed: B waits, and gets 23505
    when A commits (the review's case, sent alone in its Query)."""
    results = second_waits_for_first(
        enroll, "INSERT INTO {t} (user_id, course_id) VALUES (1, 1)",
        merge_from("(1, 1, 'b')", INSERT_NEW), clear=False)
    assert results[0] == results[1]
    assert results[0] == (True, ("23505", "Key (user_id, course_id)=(1, 1) already exists."))
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 1)]


def test_a_read_only_transaction_names_merge(enroll):
    outcomes, _ = assert_same(enroll, [
        "SET TRANSACTION READ ONLY",
        merge_from("(1, 1, 'a')", INSERT_NEW),
    ], autocommit=False)
    err = outcomes[1][1]
    assert err["sqlstate"] == "25006"
    assert err["message"] == "cannot execute MERGE in a read-only transaction"
    assert err["context"] is None


@pytest.mark.parametrize("prepare", [True, False])
def test_psycopg3_server_side_parameters(enroll, prepare):
    results = []
    t = enroll.name
    sql = (f"MERGE INTO {t} AS e USING (SELECT %s::int AS u, %s::int AS c) AS s "
           f"ON e.user_id = s.u AND e.course_id = s.c "
           f"WHEN MATCHED THEN UPDATE SET course_id = %s "
           f"WHEN NOT MATCHED THEN INSERT (user_id, course_id, note) VALUES (s.u, s.c, %s)")
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        seen = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(ROWS.format(t=t))
            for params in [(4, 4, 0, "new"), (4, 4, 2, ""), (1, 1, 2, ""), (1, 1, 5, ""),
                           (8, 8, 0, "x")]:
                try:
                    cur = conn.execute(sql, params, prepare=prepare)
                    seen.append(cur.statusmessage)
                except psycopg.Error as e:
                    seen.append((e.sqlstate, e.diag.message_detail))
            seen.append(conn.execute(f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2")
                        .fetchall())
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][:5] == [
        "MERGE 1", "MERGE 1", ("23505", "Key (user_id, course_id)=(1, 2) already exists."),
        "MERGE 1", "MERGE 1"]
    assert results[0][5] == [(1, 2), (1, 5), (2, 7), (3, 1), (3, 2), (4, 2), (8, 8)]


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_an_insert_waits_for_a_merge_that_wrote_its_key(enroll, end):
    """The MERGE's new key is claimed for its transaction: a plain INSERT of it from another
    session waits for that transaction, as on the index: 23505 after its commit, success after
    its rollback."""
    results = second_waits_for_first(enroll, merge_from("(5, 5, 'a')", INSERT_NEW),
                                     "INSERT INTO {t} (user_id, course_id) VALUES (5, 5)", end)
    assert results[0] == results[1]
    expected = (("23505", "Key (user_id, course_id)=(5, 5) already exists.")
                if end == "commit" else "INSERT 0 1")
    assert results[0] == (True, expected)


def test_two_merges_of_one_new_key_wait_for_each_other(enroll):
    """B's MERGE inserting (6, 6), which A's MERGE inserted and has not committed: B waits for
    A and gets 23505 when A commits."""
    results = second_waits_for_first(
        enroll, merge_from("(6, 6, 'a')", INSERT_NEW),
        merge_from("(6, 6, 'b')", "WHEN NOT MATCHED AND s.u > 0 THEN INSERT (user_id, "
                   "course_id, note) VALUES (s.u, s.c, s.n)"), clear=False)
    assert results[0] == results[1]
    assert results[0] == (True, ("23505", "Key (user_id, course_id)=(6, 6) already exists."))
    assert [(r[1], r[2], r[3]) for r in enroll.rows()] == [(6, 6, "a")]


def test_ignore_refuses_as_reject_and_log_forwards_with_a_warning(pg, make_proxy):
    """MERGE has no ON CONFLICT: under `ignore` its duplicate is the index's 23505 too (as a
    late UPDATE's); under `log` it is forwarded with a warning."""
    t = GuardedTable(pg, make_proxy, "mg_ignore", ENROLL, ["user_id", "course_id"],
                     action="ignore")
    conn = t.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t.name))
    with pytest.raises(psycopg2.errors.UniqueViolation) as e:
        cur.execute(merge_from("(9, 9, 'a'), (9, 9, 'b')", INSERT_NEW).format(t=t.name))
    assert e.value.diag.message_detail == "Key (user_id, course_id)=(9, 9) already exists."
    conn.close()
    assert len(t.rows()) == 5
    t = GuardedTable(pg, make_proxy, "mg_log", ENROLL, ["user_id", "course_id"], action="log")
    conn = t.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t.name))
    cur.execute(merge_from("(9, 9, 'a'), (9, 9, 'b')", INSERT_NEW).format(t=t.name))
    assert cur.statusmessage == "MERGE 2"
    conn.close()
    assert len(t.rows()) == 7
    deadline = time.monotonic() + 5
    while "not enforced" not in t.proxy.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 'uniqguard: MERGE on table "public.mg_log" is not enforced' in t.proxy.log_text()


def test_forms_still_refused(enroll):
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=enroll.name))
    t = enroll.name
    # a name of the proxy's own, EXPLAIN ANALYZE (it would show the proxy's statements)
    for sql in [f"MERGE INTO {t} AS uniqguard_e USING (SELECT 1 AS u) AS s "
                f"ON uniqguard_e.user_id = s.u WHEN MATCHED THEN DELETE",
                f"EXPLAIN ANALYZE MERGE INTO {t} AS e USING (SELECT 1 AS u) AS s "
                f"ON e.user_id = s.u WHEN MATCHED THEN DELETE"]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert f'guard "{enroll.constraint}"' in e.value.diag.message_primary
    conn.close()
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 1), (1, 2), (2, 7), (3, 1), (3, 2)]


def test_upserts_on_another_index_run_as_written_and_are_scanned(enroll):
    """`INSERT … ON CONFLICT (id) DO UPDATE` (Django's bulk_create(update_conflicts=True,
    unique_fields=["id"])): the server infers the primary key; a row it inserts with a key the
    table holds is the guard's 23505, as on the index; a row it updates keeps or moves its key
    (refused until 2026-11-28, now run as written and scanned after)."""
    outcomes, rows = assert_same(enroll, [
        "INSERT INTO {t} (id, user_id, course_id, note) VALUES (1, 1, 1, 'a'), (2, 1, 2, 'b')",
        # id 1 exists: its note updated, its key kept
        "INSERT INTO {t} (id, user_id, course_id, note) VALUES (1, 1, 1, 'a2') "
        "ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.note",
        # id 3 is new, its key (1, 2) is row 2's: the index's 23505
        "INSERT INTO {t} (id, user_id, course_id) VALUES (3, 1, 2) "
        "ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.note",
        # id 2 exists: moved onto row 1's key
        "INSERT INTO {t} (id, user_id, course_id) VALUES (2, 1, 1) "
        "ON CONFLICT (id) DO UPDATE SET course_id = EXCLUDED.course_id",
        # moved onto a free key, and a new row, RETURNING
        "INSERT INTO {t} (id, user_id, course_id) VALUES (2, 1, 5), (4, 4, 4) "
        "ON CONFLICT ON CONSTRAINT {t}_pkey DO UPDATE SET course_id = EXCLUDED.course_id "
        "RETURNING id, user_id, course_id",
        # the key set learnt (1, 5): a plain INSERT of it is refused
        "INSERT INTO {t} (id, user_id, course_id) VALUES (9, 1, 5)",
        "INSERT INTO {t} (id, user_id, course_id) SELECT 5, 4, 4 "
        "ON CONFLICT (id) DO UPDATE SET note = 'x'",
    ])
    assert outcomes[1] == ("ok", "INSERT 0 1", None)
    assert outcomes[2][1]["detail"] == "Key (user_id, course_id)=(1, 2) already exists."
    assert outcomes[3][1]["detail"] == "Key (user_id, course_id)=(1, 1) already exists."
    assert outcomes[4] == ("ok", "INSERT 0 2", [(2, 1, 5), (4, 4, 4)])
    assert outcomes[5][1]["detail"] == "Key (user_id, course_id)=(1, 5) already exists."
    assert outcomes[6][1]["detail"] == "Key (user_id, course_id)=(4, 4) already exists."
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, 1, "a2"), (1, 5, "b"), (4, 4, None)]
