"""INSERTs whose keys come late and that skip duplicates (issue 4: "the late INSERT forms that
skip duplicates"): `INSERT … SELECT … ON CONFLICT DO NOTHING`, bare or on the guard's key, and
any late INSERT under action "ignore". The proxy runs the client's rows into a stage and inserts
those whose key is new (docs/guard.md, "Keys that come late"). Every script runs through the
proxy on a table without a unique index and directly on a twin with the real index: what the
client sees must be the same, statement by statement, and so must the rows left.
"""
import threading
import time

import psycopg2
import pytest

from harness.guarded import GuardedTable, assert_same_as_twin as assert_same

ENROLL = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
          "note text")


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "s_" + request.node.name.replace("test_", "")[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


@pytest.fixture
def enroll_ignore(pg, make_proxy, request):
    name = "si_" + request.node.name.replace("test_", "")[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"], action="ignore")


def test_existing_and_repeated_keys_are_skipped_the_first_row_of_a_key_kept(enroll):
    outcomes, rows = assert_same(enroll, [
        "INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'old')",
        # g = 0..6 gives keys (0,1) (1,1) (2,1) (0,1) (1,1) (2,1) (0,1): (1,1) exists; the first
        # row of (0,1) and of (2,1) is kept, with its note.
        "INSERT INTO {t} (user_id, course_id, note) SELECT g % 3, 1, 'n' || g "
        "FROM generate_series(0, 6) g ON CONFLICT DO NOTHING",
        "INSERT INTO {t} (course_id, user_id, note) SELECT 1, g, 'k' || g "
        "FROM generate_series(2, 4) g ON CONFLICT (user_id, course_id) DO NOTHING "
        "RETURNING user_id, course_id, note",
        "INSERT INTO {t} AS e (user_id, course_id) SELECT 1, 1 "
        "ON CONFLICT ON CONSTRAINT {t}_key DO NOTHING RETURNING e.note",
        "WITH s AS (SELECT g AS u FROM generate_series(4, 6) g) "
        "INSERT INTO {t} (user_id, course_id) SELECT u, 1 FROM s ON CONFLICT DO NOTHING",
        # NULL in a NOT NULL column: 23502 even on a row whose key exists, as on the index
        "INSERT INTO {t} (user_id, course_id, note) SELECT 1, 1, NULL UNION ALL "
        "SELECT NULL, 1, 'x' ON CONFLICT DO NOTHING",
        # untyped literals are assigned to the columns' types, as by the table
        "INSERT INTO {t} (user_id, course_id, note) SELECT '8', '8', 'lit' "
        "ON CONFLICT DO NOTHING",
        "INSERT INTO {t} (user_id, course_id) SELECT 'x', 1 ON CONFLICT DO NOTHING",
        "INSERT INTO {t} (user_id, course_id) SELECT 1.6, 9 UNION ALL SELECT 2, 9 "
        "ON CONFLICT DO NOTHING RETURNING user_id",
        "SELECT count(*) FROM {t}",
    ])
    assert outcomes[1] == ("ok", "INSERT 0 2", None)
    assert outcomes[2] == ("ok", "INSERT 0 2", [(3, 1, "k3"), (4, 1, "k4")])
    assert outcomes[3] == ("ok", "INSERT 0 0", [])
    assert outcomes[4] == ("ok", "INSERT 0 2", None)
    assert outcomes[5][1]["sqlstate"] == "23502"
    assert outcomes[6] == ("ok", "INSERT 0 1", None)
    assert outcomes[7][1]["sqlstate"] == "22P02"
    # 1.6 is assigned as 2: the second row repeats its key
    assert outcomes[8] == ("ok", "INSERT 0 1", [(2,)])
    assert outcomes[9] == ("ok", "SELECT 1", [(9,)])
    assert rows[:3] == [(0, 1, "n0"), (1, 1, "old"), (2, 1, "n2")]


def test_each_skipped_row_is_logged_and_the_new_keys_are_known(enroll):
    t = enroll.name
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1)")
    cur.execute(f"INSERT INTO {t} (user_id, course_id) SELECT g % 2, 1 "
                f"FROM generate_series(0, 3) g ON CONFLICT DO NOTHING")
    assert cur.statusmessage == "INSERT 0 1"
    lines = enroll.duplicate_lines(expected=3)
    assert [(line["action"], line["values"]) for line in lines] == [
        ("ignored", ["1", "1"]), ("ignored", ["0", "1"]), ("ignored", ["1", "1"])]
    assert all(line["statement"].endswith("ON CONFLICT DO NOTHING") for line in lines)
    # (0, 1) went in through the stage: a plain INSERT of it is the index's 23505
    with pytest.raises(psycopg2.Error) as e:
        cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (0, 1)")
    assert e.value.pgcode == "23505"
    assert e.value.diag.message_detail == "Key (user_id, course_id)=(0, 1) already exists."
    conn.close()


def test_in_a_transaction_block_and_rolled_back(enroll):
    outcomes, rows = assert_same(enroll, [
        "BEGIN",
        "INSERT INTO {t} (user_id, course_id) SELECT g, 2 FROM generate_series(1, 3) g "
        "ON CONFLICT DO NOTHING",
        "INSERT INTO {t} (user_id, course_id) SELECT g, 2 FROM generate_series(2, 5) g "
        "ON CONFLICT DO NOTHING",
        "SAVEPOINT a",
        "INSERT INTO {t} (user_id, course_id) SELECT g, 2 FROM generate_series(5, 7) g "
        "ON CONFLICT DO NOTHING",
        "ROLLBACK TO a",
        "INSERT INTO {t} (user_id, course_id) SELECT g, 2 FROM generate_series(6, 7) g "
        "ON CONFLICT DO NOTHING",
        "COMMIT",
        "INSERT INTO {t} (user_id, course_id) SELECT g, 2 FROM generate_series(1, 8) g "
        "ON CONFLICT DO NOTHING",
    ], autocommit=True)
    assert [o[1] for o in outcomes[1:]] == [
        "INSERT 0 3", "INSERT 0 2", "SAVEPOINT", "INSERT 0 2", "ROLLBACK", "INSERT 0 2",
        "COMMIT", "INSERT 0 1"]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_among_other_statements_of_one_query_string_it_is_refused(enroll):
    """There the proxy could not wait for a key a plain INSERT of another transaction holds
    (the rest of the string is sent with it), and both rows could commit: refused, naming the
    guard; the string's implicit transaction fails whole."""
    t = enroll.name
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    with pytest.raises(psycopg2.Error) as e:
        cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (3, 3); "
                    f"INSERT INTO {t} (user_id, course_id) SELECT g, 3 FROM generate_series(2, 4) g "
                    f"ON CONFLICT DO NOTHING; SELECT count(*) FROM {t}")
    assert e.value.pgcode == "0A000"
    assert "in a query string with other statements" in e.value.diag.message_primary
    assert f'guard "{enroll.constraint}"' in e.value.diag.message_primary
    cur.execute(f"SELECT count(*) FROM {t}")
    assert cur.fetchone() == (0,)
    # Alone in its Query it runs.
    cur.execute(f"INSERT INTO {t} (user_id, course_id) SELECT g, 3 FROM generate_series(2, 4) g "
                f"ON CONFLICT DO NOTHING")
    assert cur.statusmessage == "INSERT 0 3"
    conn.close()


def test_an_error_position_points_into_the_clients_text(enroll):
    t = enroll.name
    sql = (f"INSERT INTO {t} (user_id, course_id) SELECT 1, 'y' "
           f"ON CONFLICT DO NOTHING RETURNING nosuch")
    positions = []
    for connect in (enroll.connect_proxy, enroll.connect_twin):
        conn = connect()
        conn.autocommit = True
        for s in (sql, sql.replace("'y'", "1")):
            with pytest.raises(psycopg2.Error) as e:
                conn.cursor().execute(s)
            positions.append((e.value.pgcode, e.value.diag.statement_position))
        conn.close()
    assert positions[:2] == positions[2:]
    assert positions[0] == ("22P02", str(sql.index("'y'") + 1))
    assert positions[1] == ("42703", str(sql.replace("'y'", "1").index("nosuch") + 1))


def test_action_ignore_skips_the_rows_of_a_plain_insert_select(enroll_ignore):
    script = [
        "INSERT INTO {t} (user_id, course_id) VALUES (1, 1)",
        "INSERT INTO {t} (user_id, course_id, note) SELECT g % 2, 1, 'n' || g "
        "FROM generate_series(0, 3) g",
        "INSERT INTO {t} (user_id, course_id) VALUES (1, abs(-1)), (5, abs(-5))",
        "INSERT INTO {t} (user_id, course_id) SELECT 9, 9 RETURNING user_id",
        "INSERT INTO {t} (user_id, course_id) SELECT 9, 9 RETURNING user_id",
    ]
    # On the twin, with its real index: the same rows skipped by ON CONFLICT DO NOTHING.
    twin = [
        script[0],
        script[1] + " ON CONFLICT DO NOTHING",
        script[2] + " ON CONFLICT DO NOTHING",
        "INSERT INTO {t} (user_id, course_id) SELECT 9, 9 ON CONFLICT DO NOTHING RETURNING user_id",
        "INSERT INTO {t} (user_id, course_id) SELECT 9, 9 ON CONFLICT DO NOTHING RETURNING user_id",
    ]
    outcomes, rows = assert_same(enroll_ignore, script, twin)
    assert [o[1] for o in outcomes] == ["INSERT 0 1", "INSERT 0 1", "INSERT 0 1", "INSERT 0 1",
                                        "INSERT 0 0"]
    assert rows == [(0, 1, "n0"), (1, 1, None), (5, 5, None), (9, 9, None)]


def test_prepared_with_server_side_binding_and_a_pipeline(enroll):
    import psycopg
    t = enroll.name
    script = [
        (f"INSERT INTO {t} (user_id, course_id) SELECT %s, g FROM generate_series(1, %s) g "
         f"ON CONFLICT (user_id, course_id) DO NOTHING", (1, 3)),
        (f"INSERT INTO {t} (user_id, course_id) SELECT %s, g FROM generate_series(2, %s) g "
         f"ON CONFLICT (user_id, course_id) DO NOTHING RETURNING course_id", (1, 5)),
        (f"INSERT INTO {t} (user_id, course_id, note) SELECT %s, %s, %s "
         f"ON CONFLICT DO NOTHING", (2, 2, "p")),
        (f"SELECT count(*) FROM {t}", None),
    ]
    results = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        seen = []
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as conn:
            for sql, params in script:
                cur = conn.execute(sql, params)
                seen.append((cur.statusmessage, cur.fetchall() if cur.description else None))
            with conn.pipeline():
                conn.execute(f"INSERT INTO {t} (user_id, course_id) SELECT %s, 9 "
                             f"ON CONFLICT DO NOTHING", (4,))
                conn.execute(f"INSERT INTO {t} (user_id, course_id) SELECT %s, 9 "
                             f"ON CONFLICT DO NOTHING", (4,))
            seen.append(conn.execute(f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2").fetchall())
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][0] == ("INSERT 0 3", None)
    assert results[0][1] == ("INSERT 0 2", [(4,), (5,)])
    assert results[0][-1] == [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 2), (4, 9)]


def test_forms_the_stage_cannot_take_are_refused_naming_the_guard(enroll):
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    for sql, why in [
        (f"INSERT INTO {enroll.name} (user_id, note) SELECT 1, 'x' ON CONFLICT DO NOTHING",
         'leaves key column "course_id" to its default'),
    ]:
        with pytest.raises(psycopg2.Error) as e:
            cur.execute(sql)
        assert e.value.pgcode == "0A000"
        assert f'guard "{enroll.constraint}"' in e.value.diag.message_primary
        assert why in e.value.diag.message_primary
    conn.close()


def second_session_outcome(gt, connect, key, first_ends):
    """A inserts `key` through a skipping INSERT … SELECT in a transaction; B does the same
    meanwhile; A ends with `first_ends`. B's outcome (its tag or SQLSTATE), whether B waited,
    and how many rows hold the key at the end."""
    sql = (f"INSERT INTO {gt.name} (user_id, course_id) SELECT {key}, 1 "
           f"ON CONFLICT DO NOTHING")
    a, b = connect(), connect()
    a.autocommit = b.autocommit = True
    ca, cb = a.cursor(), b.cursor()
    ca.execute("BEGIN")
    ca.execute(sql)
    done = {}

    def second():
        try:
            cb.execute(sql)
            done["outcome"] = cb.statusmessage
        except psycopg2.Error as e:
            done["outcome"] = e.pgcode

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.5)
    waited = "outcome" not in done
    ca.execute(first_ends)
    t.join(10)
    assert not t.is_alive(), "the second session still waits"
    ca.execute(f"SELECT count(*) FROM {gt.name} WHERE user_id = {key} AND course_id = 1")
    count = ca.fetchone()[0]
    a.close()
    b.close()
    return done["outcome"], waited, count


def test_two_sessions_skipping_one_new_key_wait_and_skip_as_on_an_index(enroll):
    """The second session's rows are staged and its keys claimed before any is written: it
    waits for the first's transaction, then skips the key (COMMIT) or inserts it (ROLLBACK)."""
    for key, first_ends in ((100, "COMMIT"), (200, "ROLLBACK")):
        via_proxy = second_session_outcome(enroll, enroll.connect_proxy, key, first_ends)
        twin = second_session_outcome(enroll, enroll.connect_twin, key, first_ends)
        assert via_proxy == twin
        assert via_proxy == ("INSERT 0 0" if first_ends == "COMMIT" else "INSERT 0 1", True, 1)


def test_identity_key_under_overriding_user_value_is_refused(pg, make_proxy):
    gt = GuardedTable(pg, make_proxy, "s_identity_key",
                      "id int GENERATED BY DEFAULT AS IDENTITY, note text", ["id"])
    conn = gt.connect_proxy()
    conn.autocommit = True
    with pytest.raises(psycopg2.Error) as e:
        conn.cursor().execute(f"INSERT INTO {gt.name} (id, note) OVERRIDING USER VALUE "
                              f"SELECT 5, 'c' ON CONFLICT DO NOTHING")
    assert e.value.pgcode == "0A000"
    assert 'OVERRIDING USER VALUE on identity key column "id"' in e.value.diag.message_primary
    conn.close()


def test_a_not_null_column_left_out_and_filled_by_its_domains_default(pg, make_proxy):
    """A NOT NULL column the list leaves out may be filled by its domain's default (or by a
    trigger), which the proxy does not see: the rows whose key exists are skipped as on the
    index, never written twice (a review found them written twice while the proxy took such a
    column as NULL in every row)."""
    for database in ("app", "twin"):
        pg.psql_admin("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = "
                      "'ug_skip_d5') THEN CREATE DOMAIN ug_skip_d5 AS int DEFAULT 5; END IF; END$$",
                      database=database)
    gt = GuardedTable(pg, make_proxy, "s_domain_default",
                      "user_id int NOT NULL, course_id int NOT NULL, req ug_skip_d5 NOT NULL, "
                      "note text", ["user_id", "course_id"])
    outcomes, rows = assert_same(gt, [
        "INSERT INTO {t} (user_id, course_id) VALUES (1, 1)",
        "INSERT INTO {t} (user_id, course_id) VALUES (1, 1), (2, 1) ON CONFLICT DO NOTHING "
        "RETURNING *",
        "INSERT INTO {t} (user_id, course_id) SELECT 1, 1 UNION ALL SELECT 3, 1 "
        "ON CONFLICT DO NOTHING RETURNING *",
    ], rows_sql="SELECT user_id, course_id, req FROM {t} ORDER BY 1, 2")
    assert outcomes[1] == ("ok", "INSERT 0 1", [(2, 1, 5, None)])
    assert outcomes[2] == ("ok", "INSERT 0 1", [(3, 1, 5, None)])
    assert rows == [(1, 1, 5), (2, 1, 5), (3, 1, 5)]

def test_a_session_that_changes_its_role_keeps_using_the_proxys_tables(enroll):
    for db in ("app", "twin"):
        enroll.pg.psql_admin(
            "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ug_role_a') "
            "THEN CREATE ROLE ug_role_a; CREATE ROLE ug_role_b; END IF; END$$; "
            f"GRANT ALL ON {enroll.name} TO ug_role_a, ug_role_b; "
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ug_role_a, ug_role_b; "
            f"GRANT TEMP ON DATABASE {db} TO ug_role_a, ug_role_b", database=db)
    outcomes, rows = assert_same(enroll, [
        "SET ROLE ug_role_a",
        "INSERT INTO {t} (user_id, course_id) SELECT 1, 1 ON CONFLICT DO NOTHING",
        "SET ROLE ug_role_b",
        "INSERT INTO {t} (user_id, course_id) SELECT g, 1 FROM generate_series(1, 2) g "
        "ON CONFLICT DO NOTHING",
        "INSERT INTO {t} (user_id, course_id) SELECT 3, 1",
        "RESET ROLE",
    ])
    assert [o[1] for o in outcomes[1:5]] == ["INSERT 0 1", "SET", "INSERT 0 1", "INSERT 0 1"]
    assert [r[:2] for r in rows] == [(1, 1), (2, 1), (3, 1)]


def test_without_a_column_list_the_rows_fill_the_first_columns_and_defaults_the_rest(pg,
                                                                                    make_proxy):
    """`INSERT INTO t SELECT * FROM …` skips as on the index: the stage is made LIKE the table
    with its defaults, so the columns the rows leave out get the table's defaults."""
    gt = GuardedTable(pg, make_proxy, "s_no_column_list",
                      "id serial, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
                      "note text DEFAULT 'dflt', added boolean NOT NULL DEFAULT true",
                      ["user_id", "course_id"])
    outcomes, rows = assert_same(gt, [
        "INSERT INTO {t} VALUES (1, 1, 1, 'first')",
        "INSERT INTO {t} SELECT g + 10, g % 2, 1 FROM generate_series(0, 3) g "
        "ON CONFLICT DO NOTHING RETURNING id, user_id, note, added",
        "INSERT INTO {t} SELECT 20, 1, 1, 'x', false ON CONFLICT (user_id, course_id) DO NOTHING",
        "INSERT INTO {t} SELECT 21, 5, NULL ON CONFLICT DO NOTHING",
        "INSERT INTO {t} (user_id, course_id) VALUES (8, 8) RETURNING id",
    ], rows_sql="SELECT id, user_id, course_id, note, added FROM {t} ORDER BY 1, 2")
    assert outcomes[1] == ("ok", "INSERT 0 1", [(10, 0, "dflt", True)])
    assert outcomes[2] == ("ok", "INSERT 0 0", None)
    assert outcomes[3][1]["sqlstate"] == "23502"
    assert outcomes[4] == ("ok", "INSERT 0 1", [(1,)])
    assert rows == [(1, 1, 1, "first", True), (1, 8, 8, "dflt", True), (10, 0, 1, "dflt", True)]


def test_without_a_column_list_after_the_table_changed_it_is_refused(enroll):
    """Without a list the rows fill the table's columns as they are now, which the proxy names
    as it read them: after an ALTER TABLE … ADD COLUMN the value of the new column would be
    lost, so such an INSERT is refused until a reload; one with a column list of the columns
    the guard knows goes on (naming the new one is refused too)."""
    t = enroll.name
    enroll.pg.psql_admin(f"ALTER TABLE {t} ADD COLUMN extra text", database="app")
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    with pytest.raises(psycopg2.Error) as e:
        cur.execute(f"INSERT INTO {t} SELECT 1, 1, 1, 'n', 'kept?' ON CONFLICT DO NOTHING")
    assert e.value.pgcode == "0A000"
    assert e.value.diag.message_primary == (
        f'uniqguard: the columns of table "public.{t}" changed since guard "{enroll.constraint}" '
        "read them: an INSERT without a column list that skips duplicates is refused until a "
        "reload (SIGHUP) reads them again")
    with pytest.raises(psycopg2.Error) as e:
        cur.execute(f"INSERT INTO {t} (user_id, course_id, extra) SELECT 2, 2, 'x' "
                    f"ON CONFLICT DO NOTHING")
    assert e.value.pgcode == "0A000"
    assert 'naming column "extra", which the guard does not know' in e.value.diag.message_primary
    cur.execute(f"INSERT INTO {t} (user_id, course_id) SELECT 2, 2 ON CONFLICT DO NOTHING")
    assert cur.statusmessage == "INSERT 0 1"
    cur.execute(f"SELECT user_id, course_id, extra FROM {t}")
    assert cur.fetchall() == [(2, 2, None)]
    conn.close()


def test_without_a_column_list_the_defaults_are_the_tables_as_they_are_now(pg, make_proxy):
    """The stage is made again at each such INSERT: a default changed since the session's
    previous one is the new one (a review found the session's first stage kept the old)."""
    gt = GuardedTable(pg, make_proxy, "s_defaults_now",
                      "user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
                      "note text DEFAULT 'a'", ["user_id", "course_id"])
    sql = f"INSERT INTO {gt.name} SELECT 1 ON CONFLICT DO NOTHING RETURNING *"
    seen = []
    for connect, database in ((gt.connect_proxy, "app"), (gt.connect_twin, "twin")):
        conn = connect()
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute(sql)
        first = (cur.statusmessage, cur.fetchall())
        pg.psql_admin(f"ALTER TABLE {gt.name} ALTER course_id SET DEFAULT 8, "
                      f"ALTER note SET DEFAULT 'b'", database=database)
        cur.execute(sql)
        seen.append((first, (cur.statusmessage, cur.fetchall())))
        conn.close()
    assert seen[0] == seen[1]
    assert seen[0] == (("INSERT 0 1", [(1, 7, "a")]), ("INSERT 0 1", [(1, 8, "b")]))
