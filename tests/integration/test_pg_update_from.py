"""UPDATE … FROM setting key columns (docs/guard.md, "Statements"): the guard's precheck joins the
same FROM list, so that a row moved onto a key another row has ends in 23505 as on the twin with
the real unique index, and the moved rows' new keys reach the key set."""
import psycopg
import psycopg2
import psycopg2.errors
import pytest

from harness.guarded import TWIN_DB, GuardedTable, assert_same_as_twin

ENROLL = "id int PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL, note text"


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "uf_" + request.node.name.replace("test_", "")[:40].lower()
    gt = GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])
    # The join's other side, the same in both databases.
    src = (f"DROP TABLE IF EXISTS {name}_src; CREATE TABLE {name}_src (tid int, c int, flag bool);"
           f"INSERT INTO {name}_src VALUES (1, 5, true), (2, 5, false), (3, 6, true), "
           f"(3, 6, false), (4, 1, true); GRANT SELECT ON {name}_src TO PUBLIC;")
    for db in ("app", TWIN_DB):
        pg.psql_admin(src, database=db)
    return gt


ROWS = "INSERT INTO {t} (id, user_id, course_id) VALUES (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 2)"


def test_update_from_as_the_index(enroll):
    outcomes, rows = assert_same_as_twin(enroll, [
        ROWS,
        # onto (1, 2), which row 2 keeps: a VALUES list joined by id
        "UPDATE {t} SET course_id = v.c FROM (VALUES (1, 2)) AS v(id, c) WHERE {t}.id = v.id",
        # rows 1 and 2 both onto (1, 5) through the other table
        "UPDATE {t} SET course_id = s.c FROM {t}_src s WHERE s.tid = {t}.id AND s.tid IN (1, 2)",
        # row 1 alone onto the free (1, 5), with an alias and RETURNING
        "UPDATE {t} AS e SET course_id = s.c FROM {t}_src s WHERE s.tid = e.id AND s.flag "
        "AND e.id = 1 RETURNING e.id, e.course_id, s.c",
        # the key set learned (1, 5) from the server
        "INSERT INTO {t} (id, user_id, course_id) VALUES (9, 1, 5)",
        # row 3 matched twice by the join, both times onto (2, 6): one row moved, no conflict
        "UPDATE {t} SET course_id = s.c FROM {t}_src s WHERE s.tid = {t}.id AND {t}.id = 3",
        "INSERT INTO {t} (id, user_id, course_id) VALUES (10, 2, 6)",
        # the whole key set to literals, for the rows the join selects: two rows onto (7, 7)
        "UPDATE {t} SET user_id = 7, course_id = 7 FROM {t}_src s WHERE s.tid = {t}.id "
        "AND s.tid IN (2, 4)",
        # one row onto (7, 7), then that key is taken
        "UPDATE {t} SET user_id = 7, course_id = 7 FROM {t}_src s WHERE s.tid = {t}.id "
        "AND s.tid = 4",
        "INSERT INTO {t} (id, user_id, course_id) VALUES (11, 7, 7)",
        # a JOIN with USING in the FROM list, part of the key: row 3 from (2, 6) to the free (1, 6)
        "UPDATE {t} SET user_id = 1 FROM {t}_src s JOIN {t}_src s2 USING (tid) "
        "WHERE s.tid = {t}.id AND s.tid = 3 AND s.flag AND s2.flag",
        "UPDATE {t} SET note = 'x' FROM {t}_src s WHERE s.tid = {t}.id",
    ])
    assert [o[1] if o[0] == "ok" else o[1]["sqlstate"] for o in outcomes] == [
        "INSERT 0 4", "23505", "23505", "UPDATE 1", "23505", "UPDATE 1", "23505", "23505",
        "UPDATE 1", "23505", "UPDATE 1", "UPDATE 4"]
    assert outcomes[1][1]["detail"] == "Key (user_id, course_id)=(1, 2) already exists."
    assert outcomes[3][2] == [(1, 5, 5)]
    assert rows == [(1, 2, "x"), (1, 5, "x"), (1, 6, "x"), (7, 7, "x")]


def test_bulk_updates_from_arrays_and_json(enroll):
    """The set-returning builtins bulk UPDATEs read their rows from (unnest of arrays, JSON
    record sets, generate_series), as on the twin."""
    outcomes, rows = assert_same_as_twin(enroll, [
        ROWS,
        "UPDATE {t} SET course_id = x.c FROM unnest(ARRAY[1, 3], ARRAY[5, 5]) AS x(id, c) "
        "WHERE {t}.id = x.id",
        # row 2 onto (1, 5), which row 1 has now
        "UPDATE {t} SET course_id = x.c FROM unnest(ARRAY[2], ARRAY[5]) AS x(id, c) "
        "WHERE {t}.id = x.id",
        "UPDATE {t} SET course_id = x.c FROM jsonb_to_recordset('[{{\"id\": 4, \"c\": 5}}]') "
        "AS x(id int, c int) WHERE {t}.id = x.id",
        "UPDATE {t} SET user_id = g FROM generate_series(7, 8) g WHERE {t}.id = g - 6",
        "INSERT INTO {t} (id, user_id, course_id) VALUES (9, 8, 2)",
    ])
    assert [o[1] if o[0] == "ok" else o[1]["sqlstate"] for o in outcomes] == [
        "INSERT 0 4", "UPDATE 2", "23505", "23505", "UPDATE 2", "23505"]
    assert rows == [(2, 2, None), (2, 5, None), (7, 5, None), (8, 2, None)]


def test_update_from_in_a_transaction_rolled_back(enroll):
    outcomes, rows = assert_same_as_twin(enroll, [
        ROWS,
        "UPDATE {t} SET course_id = s.c FROM {t}_src s WHERE s.tid = {t}.id AND s.tid = 1",
        "SAVEPOINT a",
        "UPDATE {t} SET course_id = s.c FROM {t}_src s WHERE s.tid = {t}.id AND s.tid = 2",
        "ROLLBACK TO a",
        "UPDATE {t} SET user_id = 1, course_id = 5 FROM {t}_src s WHERE s.tid = {t}.id "
        "AND s.tid = 2",
    ], autocommit=False)
    assert [o[1] if o[0] == "ok" else o[1]["sqlstate"] for o in outcomes] == [
        "INSERT 0 4", "UPDATE 1", "SAVEPOINT", "23505", "ROLLBACK", "23505"]
    assert rows == []


def test_update_from_with_server_side_parameters(enroll):
    t = enroll.name
    seen = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        out = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute(ROWS.format(t=t))
            for sql, params in [
                (f"UPDATE {t} SET course_id = v.c FROM (VALUES (%s::int, %s::int)) AS v(id, c) "
                 f"WHERE {t}.id = v.id", (1, 2)),
                (f"UPDATE {t} SET course_id = v.c FROM (SELECT %s::int AS c) v WHERE {t}.id = %s",
                 (8, 1)),
                (f"UPDATE {t} SET course_id = s.c FROM {t}_src s WHERE s.tid = {t}.id "
                 f"AND s.tid = %s", (2,)),
                (f"INSERT INTO {t} (id, user_id, course_id) VALUES (%s, %s, %s)", (20, 1, 8)),
                (f"UPDATE {t} SET course_id = v.c FROM (VALUES (%b::int, %b::int)) AS v(id, c) "
                 f"WHERE {t}.id = v.id", (2, 8)),
            ]:
                try:
                    cur.execute(sql, params, prepare=True)
                    out.append(cur.statusmessage)
                except psycopg.Error as e:
                    out.append((e.sqlstate, e.diag.message_detail))
            out.append(cur.execute(f"SELECT id, user_id, course_id FROM {t} ORDER BY 1")
                       .fetchall())
        seen.append(out)
    assert seen[0] == seen[1]
    assert seen[0][:5] == [("23505", "Key (user_id, course_id)=(1, 2) already exists."),
                           "UPDATE 1", "UPDATE 1",
                           ("23505", "Key (user_id, course_id)=(1, 8) already exists."),
                           ("23505", "Key (user_id, course_id)=(1, 8) already exists.")]


def test_update_from_a_function_the_check_cannot_repeat_runs_as_a_late_update(enroll):
    """A FROM list calling a volatile function, or a WITH list: the check cannot repeat it ahead
    of the UPDATE, so the server reports the new keys as it writes them (test_pg_late_update.py)."""
    outcomes, rows = assert_same_as_twin(enroll, [
        ROWS,
        "UPDATE {t} SET course_id = 10 FROM pg_catalog.random() g WHERE g < 2 AND {t}.id = 1",
        "UPDATE {t} SET course_id = v.c FROM (VALUES (2, floor(random() * 0)::int + 10)) "
        "v(id, c) WHERE {t}.id = v.id",
        "WITH s AS (SELECT 11 AS c) UPDATE {t} SET course_id = s.c FROM s WHERE {t}.id = 2",
    ], rows_sql="SELECT id, user_id, course_id FROM {t} ORDER BY 1")
    assert outcomes[1] == ("ok", "UPDATE 1", None)
    assert outcomes[2][1]["sqlstate"] == "23505"
    assert outcomes[2][1]["detail"] == "Key (user_id, course_id)=(1, 10) already exists."
    assert outcomes[3] == ("ok", "UPDATE 1", None)
    assert rows == [(1, 1, 10), (2, 1, 11), (3, 2, 1), (4, 2, 2)]


def test_a_row_the_join_matches_with_two_new_keys_gets_one_and_the_key_set_knows_it(enroll):
    """PostgreSQL updates such a row with one of the join rows, without saying which: the key set
    learns both candidates, so that an INSERT of the key written is checked (and refused)."""
    t = enroll.name
    enroll.pg.psql_admin(f"INSERT INTO {t}_src VALUES (1, 11, true), (1, 12, true)", database="app")
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t))
    cur.execute(f"UPDATE {t} SET course_id = s.c FROM {t}_src s WHERE s.tid = {t}.id AND s.c > 10")
    assert cur.statusmessage == "UPDATE 1"
    cur.execute(f"SELECT course_id FROM {t} WHERE id = 1")
    written = cur.fetchone()[0]
    assert written in (11, 12)
    with pytest.raises(psycopg2.errors.UniqueViolation) as e:
        cur.execute(f"INSERT INTO {t} (id, user_id, course_id) VALUES (30, 1, {written})")
    assert e.value.diag.message_detail == f"Key (user_id, course_id)=(1, {written}) already exists."
    # the other candidate is free: checked, then inserted
    cur.execute(f"INSERT INTO {t} (id, user_id, course_id) VALUES (31, 1, {23 - written})")
    assert cur.statusmessage == "INSERT 0 1"
    conn.close()


def test_an_update_the_check_cannot_read_is_refused_after_it_runs(enroll):
    """A role that may update the key columns but not read them: the check (which reads them)
    fails, the UPDATE would pass unjudged; the proxy refuses it once it ran (its effect undone
    with the failed statement), where it let it pass before."""
    t = enroll.name
    enroll.pg.psql_admin(
        "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'uf_narrow') "
        "THEN CREATE ROLE uf_narrow; END IF; END$$; "
        f"GRANT SELECT (id), UPDATE (course_id) ON {t} TO uf_narrow", database="app")
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=t))
    cur.execute("SET ROLE uf_narrow")
    for sql in [f"UPDATE {t} SET course_id = v.c FROM (VALUES (1, 2)) v(id, c) WHERE {t}.id = v.id",
                f"UPDATE {t} SET course_id = 2 WHERE id = 3",
                f"UPDATE {t} SET course_id = 9 WHERE id = 3"]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert e.value.diag.message_primary.startswith(
            f'uniqguard: UPDATE on table "{t}", guarded by "{enroll.constraint}", could not be '
            f"checked (42501 permission denied for table {t} in the check")
    # An UPDATE the role may not run at all is the server's to refuse, as on the twin.
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute(f"UPDATE {t} SET user_id = 2 WHERE id = 3")
    cur.execute("RESET ROLE")
    cur.execute(f"SELECT id, user_id, course_id FROM {t} ORDER BY 1")
    assert cur.fetchall() == [(1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 2)]
    conn.close()


def test_under_log_a_moved_rows_duplicate_is_logged_with_its_new_key(pg, make_proxy):
    gt = GuardedTable(pg, make_proxy, "uf_log", ENROLL, ["user_id", "course_id"], action="log")
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=gt.name))
    # Forwarded as it is: the server moves row 1 onto (1, 2), which row 2 has.
    cur.execute(f"UPDATE {gt.name} SET course_id = v.b FROM (VALUES (1, 2)) AS v(a, b) "
                f"WHERE {gt.name}.id = v.a")
    assert cur.statusmessage == "UPDATE 1"
    cur.execute(f"UPDATE {gt.name} SET course_id = course_id + 5 WHERE id = 3")
    cur.execute(f"UPDATE {gt.name} SET course_id = course_id + 4 WHERE id = 4")
    lines = gt.duplicate_lines(expected=2)
    assert [(line["action"], line["values"]) for line in lines] == [
        ("logged", ["1", "2"]), ("logged", ["2", "6"])]
    conn.close()
