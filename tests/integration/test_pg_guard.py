"""The guard on PostgreSQL, statement by statement (SPEC §4): through the proxy onto a table
without a unique index, compared with the same statements run directly on a twin table that has
the real unique index (harness/guarded.py)."""
import datetime
import io

import psycopg
import psycopg2
import psycopg2.errors
import pytest

from harness import pgwire
from harness.guarded import GuardedTable, outcome

ENROLL = "id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL, note text"


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "g_" + request.node.name.replace("test_", "")[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def paris_session(port, database, insert):
    """A raw wire connection under TimeZone Europe/Paris that has run `insert` (one statement,
    answered by CommandComplete)."""
    c = pgwire.RawClient(port)
    c.startup(database=database)
    assert [m for m, _ in c.simple_query("SET TimeZone = 'Europe/Paris'")][-1] == "Z"
    assert [m for m, _ in c.simple_query(insert)] == ["C", "Z"]
    return c


def both(gt, script, autocommit=True):
    """Runs `script` (a list of SQL strings) on one proxy connection and one twin connection;
    returns the two lists of outcomes."""
    results = []
    for connect in (gt.connect_proxy, gt.connect_twin):
        conn = connect()
        conn.autocommit = autocommit
        cur = conn.cursor()
        results.append([outcome(cur, s) for s in script])
        conn.close()
    return results


def test_new_keys_pass_and_a_duplicate_is_rejected_as_by_a_unique_index(enroll):
    script = [
        "INSERT INTO {t} (user_id, course_id) VALUES (2, 1)",
        "INSERT INTO {t} (user_id, course_id) VALUES (2, 2)",
        "INSERT INTO {t} (user_id, course_id) VALUES (2, 1)",
        "INSERT INTO {t} (course_id, user_id, note) VALUES ('1', '2', 'x') RETURNING user_id, note",
        "SELECT user_id, course_id FROM {t} ORDER BY 1, 2",
    ]
    via_proxy, twin = both(enroll, [s.format(t=enroll.name) for s in script])
    assert via_proxy == twin
    err = via_proxy[2][1]
    assert err["sqlstate"] == "23505"
    assert err["message"] == f'duplicate key value violates unique constraint "{enroll.constraint}"'
    assert err["detail"] == "Key (user_id, course_id)=(2, 1) already exists."
    assert err["context"] is None
    assert (err["schema"], err["table"], err["constraint"]) == ("public", enroll.name, enroll.constraint)
    assert via_proxy[4] == ("ok", "SELECT 2", [(2, 1), (2, 2)])


def test_a_legacy_duplicate_in_the_table_is_a_key_that_exists(pg, make_proxy):
    gt = GuardedTable(pg, make_proxy, "g_legacy", ENROLL, ["user_id", "course_id"],
                      legacy_rows_sql="INSERT INTO g_legacy (user_id, course_id) "
                                      "VALUES (2, 1), (2, 1), (3, 1)")
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    with pytest.raises(psycopg2.errors.UniqueViolation) as e:
        cur.execute("INSERT INTO g_legacy (user_id, course_id) VALUES (2, 1)")
    assert e.value.diag.message_detail == "Key (user_id, course_id)=(2, 1) already exists."
    cur.execute("INSERT INTO g_legacy (user_id, course_id) VALUES (4, 1)")
    assert [r[1:3] for r in gt.rows()] == [(2, 1), (2, 1), (3, 1), (4, 1)]
    lines = gt.duplicate_lines(expected=1)
    assert len(lines) == 1
    line = lines[0]
    assert line["guard"] == "g_legacy_key"
    assert line["table"] == "public.g_legacy"
    assert line["columns"] == ["user_id", "course_id"]
    assert line["values"] == ["2", "1"]
    assert line["action"] == "rejected"
    assert line["user"] == "postgres"
    assert line["database"] == "app"
    assert line["in_transaction"] is False
    assert line["statement"] == "INSERT INTO g_legacy (user_id, course_id) VALUES (2, 1)"


def test_transaction_block_fails_after_a_duplicate(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        "BEGIN",
        f"INSERT INTO {t} (user_id, course_id) VALUES (7, 7)",
        f"INSERT INTO {t} (user_id, course_id) VALUES (7, 7)",
        "SELECT 1",
        "ROLLBACK",
        f"SELECT count(*) FROM {t}",
    ])
    assert via_proxy == twin
    assert via_proxy[2][1]["sqlstate"] == "23505"
    assert via_proxy[3][1]["sqlstate"] == "25P02"
    assert via_proxy[5] == ("ok", "SELECT 1", [(0,)])


def test_own_uncommitted_delete_frees_the_key(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        f"INSERT INTO {t} (user_id, course_id) VALUES (5, 5)",
        "BEGIN",
        f"DELETE FROM {t} WHERE user_id = 5",
        f"INSERT INTO {t} (user_id, course_id) VALUES (5, 5)",
        "COMMIT",
        f"SELECT user_id, course_id FROM {t}",
    ])
    assert via_proxy == twin
    assert via_proxy[3][:2] == ("ok", "INSERT 0 1")


def test_rolled_back_key_is_free_again(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        "BEGIN",
        f"INSERT INTO {t} (user_id, course_id) VALUES (6, 6)",
        "ROLLBACK",
        f"INSERT INTO {t} (user_id, course_id) VALUES (6, 6)",
        "BEGIN",
        "SAVEPOINT s",
        f"INSERT INTO {t} (user_id, course_id) VALUES (6, 7)",
        "ROLLBACK TO SAVEPOINT s",
        f"INSERT INTO {t} (user_id, course_id) VALUES (6, 7)",
        "COMMIT",
        f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2",
    ])
    assert via_proxy == twin
    assert via_proxy[-1] == ("ok", "SELECT 2", [(6, 6), (6, 7)])


def test_multi_row_insert_with_one_duplicate_inserts_nothing(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1)",
        f"INSERT INTO {t} (user_id, course_id) VALUES (1, 2), (1, 1), (1, 3)",
        f"INSERT INTO {t} (user_id, course_id) VALUES (9, 1), (9, 2), (9, 1)",
        f"INSERT INTO {t} (user_id, course_id) VALUES (8, 1), (1, 1), (8, 1)",
        f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2",
    ])
    assert via_proxy == twin
    assert via_proxy[1][1]["detail"] == "Key (user_id, course_id)=(1, 1) already exists."
    assert via_proxy[2][1]["detail"] == "Key (user_id, course_id)=(9, 1) already exists."
    # The existing (1, 1) conflicts at the second row, before the repeated (8, 1) at the third.
    assert via_proxy[3][1]["detail"] == "Key (user_id, course_id)=(1, 1) already exists."
    assert via_proxy[4] == ("ok", "SELECT 1", [(1, 1)])


def test_simple_query_string_rolls_back_together(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        f"INSERT INTO {t} (user_id, course_id) VALUES (3, 3)",
        f"INSERT INTO {t} (user_id, course_id) VALUES (3, 4); "
        f"INSERT INTO {t} (user_id, course_id) VALUES (3, 3); SELECT 1",
        f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2",
        f"INSERT INTO {t} (user_id, course_id) VALUES (3, 4)",
    ])
    assert via_proxy == twin
    assert via_proxy[2] == ("ok", "SELECT 1", [(3, 3)])
    assert via_proxy[3][:2] == ("ok", "INSERT 0 1")


def test_not_null_is_reported_before_the_duplicate(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        f"INSERT INTO {t} (user_id, course_id) VALUES (4, 4)",
        f"INSERT INTO {t} (user_id, course_id, note) VALUES (4, 4, NULL)",
        f"INSERT INTO {t} (user_id, course_id) VALUES (NULL, 4)",
    ])
    assert via_proxy == twin
    assert via_proxy[2][1]["sqlstate"] == "23502"


def test_key_equality_is_the_servers(pg, make_proxy):
    gt = GuardedTable(pg, make_proxy, "g_types",
                      "id serial, n numeric, c char(5), u uuid, t timestamptz",
                      ["n", "c", "u", "t"])
    via_proxy, twin = both(gt, [
        "INSERT INTO g_types (n, c, u, t) VALUES (1.0, 'ab', "
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '2024-01-01 00:00:00+00')",
        "INSERT INTO g_types (n, c, u, t) VALUES (1.000, 'ab   ', "
        "'a0eebc999c0b4ef8bb6d6bb9bd380a11', '2024-01-01 02:00:00+02')",
        "SET TIME ZONE 'UTC'",
        "INSERT INTO g_types (n, c, u, t) VALUES ('1', 'ab', "
        "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '2024-01-01 00:00:00')",
        "INSERT INTO g_types (n, c, u, t) VALUES (1, 'ab', NULL, '2024-01-01')",
        "INSERT INTO g_types (n, c, u, t) VALUES (1, 'ab', NULL, '2024-01-01')",
    ])
    assert via_proxy == twin
    assert [o[1]["sqlstate"] if o[0] == "error" else o[1] for o in via_proxy] == [
        "INSERT 0 1", "23505", "SET", "23505", "INSERT 0 1", "INSERT 0 1"]


def test_update_of_key_columns(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        f"INSERT INTO {t} (id, user_id, course_id) VALUES (1, 1, 1), (2, 1, 2)",
        # Django's save(): every column set, the key unchanged
        f"UPDATE {t} SET user_id = 1, course_id = 1, note = 'saved' WHERE id = 1",
        # onto an existing key
        f"UPDATE {t} SET user_id = 1, course_id = 2 WHERE id = 1",
        # to a free key, which frees the old one
        f"UPDATE {t} SET user_id = 1, course_id = 3 WHERE id = 1",
        f"INSERT INTO {t} (id, user_id, course_id) VALUES (3, 1, 1)",
        # two rows onto one key
        f"UPDATE {t} SET user_id = 5, course_id = 5 WHERE id IN (2, 3)",
        f"SELECT id, user_id, course_id, note FROM {t} ORDER BY 1",
    ])
    assert via_proxy == twin
    assert via_proxy[2][1]["detail"] == "Key (user_id, course_id)=(1, 2) already exists."
    assert via_proxy[5][1]["sqlstate"] == "23505"
    assert via_proxy[6][2] == [(1, 1, 3, "saved"), (2, 1, 2, None), (3, 1, 1, None)]


def test_forms_not_enforced_yet_are_refused_naming_the_guard(enroll):
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    # (INSERT ... SELECT, RETURNING included, and expressions in key columns are enforced:
    # test_pg_late_keys.py; the table written inside a WITH list: test_pg_writable_cte.py.)
    # (ON CONFLICT (id) DO UPDATE runs as written and is scanned after: test_pg_merge.py.)
    for sql in [f"INSERT INTO {enroll.name} (user_id) SELECT 1 "
                f"ON CONFLICT DO NOTHING",
                f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (1, 1) "
                f"ON CONFLICT (user_id, course_id) WHERE note IS NULL DO UPDATE SET note = 'x'"]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert enroll.constraint in e.value.diag.message_primary
        assert e.value.diag.context is None
    assert enroll.rows() == []
    # Reads and deletes are not writes of keys.
    cur.execute(f"SELECT id FROM {enroll.name} FOR NO KEY UPDATE")
    cur.execute(f"DELETE FROM {enroll.name}")


def test_extended_protocol_duplicate_skips_to_sync_as_the_server_does(enroll):
    t = enroll.name
    results = []
    for port, db in ((enroll.proxy.port, "app"), (enroll.pg.port, "twin")):
        c = pgwire.RawClient(port)
        c.startup(database=db)
        c.simple_query(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1)")
        ins = f"INSERT INTO {t} (user_id, course_id) VALUES ($1, $2)".encode()
        batch = b"".join([
            pgwire.message(b"P", b"s1\0" + ins + b"\0\0\0"),
            pgwire.message(b"B", b"\0s1\0\0\0\0\x02\0\0\0\x011\0\0\0\x011\0\0"),
            pgwire.message(b"E", b"\0\0\0\0\0"),
            pgwire.message(b"P", b"s2\0SELECT 1\0\0\0"),
            pgwire.message(b"B", b"\0s2\0\0\0\0\0\0\0"),
            pgwire.message(b"E", b"\0\0\0\0\0"),
            pgwire.message(b"S"),
        ])
        c.send(batch)
        first = c.read_until("Z")
        c.send(pgwire.message(b"B", b"\0s2\0\0\0\0\0\0\0") + pgwire.message(b"S"))
        second = c.read_until("Z")
        c.close()
        results.append(([t for t, _ in first], pgwire.error_of(first), [t for t, _ in second],
                        pgwire.error_of(second)))
    (p_types, p_err, p2_types, p2_err), (t_types, t_err, t2_types, t2_err) = results
    assert p_types == t_types == ["1", "2", "E", "Z"]
    for f in ("S", "V", "C", "M", "D", "s", "t", "n"):
        assert p_err[f] == t_err[f], f
    assert set(p_err) == {"S", "V", "C", "M", "D", "s", "t", "n"}
    assert p2_types == t2_types == ["E", "Z"]
    assert p2_err["C"] == t2_err["C"] == "26000"


def test_prepared_on_conflict_do_update_without_another_constraint_is_refused_at_parse(
        pg, make_proxy):
    """The server refuses such a Parse itself (42P10: no index for the guard's key), and the
    table has no other constraint the proxy could parse it naming (test_pg_late_keys.py): the
    guard's refusal takes its place, and the session goes on as after a failed Parse:
    everything up to Sync skipped, no statement made (26000 at its Bind), the next Parse
    works."""
    enroll = GuardedTable(pg, make_proxy, "g_upsert_without_pk",
                          "user_id int NOT NULL, course_id int NOT NULL, note text",
                          ["user_id", "course_id"])
    t = enroll.name
    c = pgwire.RawClient(enroll.proxy.port)
    c.startup(database="app")
    for target in (b"(course_id, user_id)", f"ON CONSTRAINT {enroll.constraint}".encode()):
        upsert = (f"INSERT INTO {t} (user_id, course_id) VALUES ($1, $2) ON CONFLICT ".encode()
                  + target + b" DO UPDATE SET note = 'x'")
        c.send(b"".join([
            pgwire.message(b"P", b"up\0" + upsert + b"\0\0\0"),
            pgwire.message(b"B", b"\0up\0\0\0\0\x02\0\0\0\x011\0\0\0\x011\0\0"),
            pgwire.message(b"E", b"\0\0\0\0\0"),
            pgwire.message(b"S"),
        ]))
        first = c.read_until("Z")
        assert [m for m, _ in first] == ["E", "Z"]
        err = pgwire.error_of(first)
        assert err["C"] == "0A000"
        assert enroll.constraint in err["M"] and "DO UPDATE" in err["M"]
        assert "W" not in err and "s" not in err
        c.send(pgwire.message(b"B", b"\0up\0\0\0\0\x02\0\0\0\x011\0\0\0\x011\0\0")
               + pgwire.message(b"S"))
        second = c.read_until("Z")
        assert [m for m, _ in second] == ["E", "Z"]
        assert pgwire.error_of(second)["C"] == "26000"
    insert = f"INSERT INTO {t} (user_id, course_id) VALUES ($1, $2)".encode()
    c.send(b"".join([
        pgwire.message(b"P", b"up\0" + insert + b"\0\0\0"),
        pgwire.message(b"B", b"\0up\0\0\0\0\x02\0\0\0\x011\0\0\0\x011\0\0"),
        pgwire.message(b"E", b"\0\0\0\0\0"),
        pgwire.message(b"S"),
    ]))
    assert [m for m, _ in c.read_until("Z")] == ["1", "2", "C", "Z"]
    c.close()
    assert enroll.rows() == [(1, 1, None)]


def test_psycopg3_server_side_binding_and_pipeline(enroll):
    import psycopg
    t = enroll.name
    seen = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        out = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)", (1, 1))
            for params in [(1, 1), (1, 2)]:
                try:
                    cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s) "
                                "RETURNING user_id, course_id", params, prepare=True)
                    out.append(cur.fetchall())
                except psycopg.errors.UniqueViolation as e:
                    out.append((e.sqlstate, e.diag.message_detail, e.diag.context))
            cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%b, %b)", (2, 2))
            try:
                cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (%b, %b)", (2, 2))
            except psycopg.errors.UniqueViolation as e:
                out.append((e.sqlstate, e.diag.message_detail))
            try:
                cur.executemany(f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)",
                                [(3, 1), (3, 2), (3, 1), (3, 3)])
            except psycopg.errors.UniqueViolation as e:
                out.append((e.sqlstate, e.diag.message_detail))
            cur.execute(f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2")
            out.append(cur.fetchall())
        seen.append(out)
    assert seen[0] == seen[1]
    assert seen[0][0] == ("23505", "Key (user_id, course_id)=(1, 1) already exists.", None)


def test_log_action_forwards_and_logs(pg, make_proxy):
    gt = GuardedTable(pg, make_proxy, "g_logonly", ENROLL, ["user_id", "course_id"], action="log")
    conn = gt.connect_proxy(application_name="hunt")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("INSERT INTO g_logonly (user_id, course_id) VALUES (1, 1)")
    cur.execute("INSERT INTO g_logonly (user_id, course_id) VALUES (1, 1), (1, 2)")
    assert cur.statusmessage == "INSERT 0 2"
    assert [r[1:3] for r in gt.rows()] == [(1, 1), (1, 1), (1, 2)]
    lines = gt.duplicate_lines(expected=1)
    assert [(l["action"], l["values"], l["application_name"]) for l in lines] == [
        ("logged", ["1", "1"], "hunt")]


def test_on_conflict_do_nothing_forms_skip_guard_duplicates(enroll):
    t, c = enroll.name, enroll.constraint
    via_proxy, twin = both(enroll, [
        f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1)",
        f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1) ON CONFLICT DO NOTHING",
        f"INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'a'), (1, 2, 'b'), (1, 2, 'c') "
        f"ON CONFLICT (course_id, user_id) DO NOTHING RETURNING user_id, course_id, note",
        f"INSERT INTO {t} AS e (user_id, course_id) VALUES (1, 2), (1, 3) "
        f"ON CONFLICT ON CONSTRAINT {c} DO NOTHING RETURNING e.course_id",
        f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1), (1, 2) "
        f"ON CONFLICT ON CONSTRAINT {c} DO NOTHING RETURNING user_id",
        # NOT NULL is checked before the conflict, as on the real index
        f"INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'x'), (NULL, 1, 'y') "
        f"ON CONFLICT DO NOTHING",
        # another index named: the guard's duplicate still raises
        f"INSERT INTO {t} (id, user_id, course_id) VALUES (1000, 1, 1) ON CONFLICT (id) DO NOTHING",
        f"SELECT user_id, course_id, note FROM {t} ORDER BY 1, 2",
    ])
    assert via_proxy == twin
    assert via_proxy[1] == ("ok", "INSERT 0 0", None)
    assert via_proxy[2] == ("ok", "INSERT 0 1", [(1, 2, "b")])
    assert via_proxy[3] == ("ok", "INSERT 0 1", [(3,)])
    assert via_proxy[4] == ("ok", "INSERT 0 0", [])
    assert via_proxy[5][1]["sqlstate"] == "23502"
    assert via_proxy[6][1]["sqlstate"] == "23505"
    # One line per duplicate row attempted; the NOT NULL statement's duplicate row is one too
    # (the log records attempts, whatever else failed).
    lines = enroll.duplicate_lines(expected=8)
    assert [l["action"] for l in lines] == ["ignored"] * 7 + ["rejected"]


def test_on_conflict_do_nothing_with_server_side_parameters(enroll):
    import psycopg
    t = enroll.name
    seen = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        out = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            for params in [(4, 1, "a"), (4, 1, "b"), (4, 2, "c")]:
                cur.execute(f"INSERT INTO {t} (user_id, course_id, note) VALUES (%s, %s, %s) "
                            f"ON CONFLICT (user_id, course_id) DO NOTHING RETURNING note",
                            params, prepare=True)
                out.append((cur.statusmessage, cur.fetchall()))
            cur.execute(f"INSERT INTO {t} (user_id, course_id, note) VALUES (%b, %b, %b), "
                        f"(%b, %b, %b) ON CONFLICT DO NOTHING RETURNING note",
                        (4, 2, "d", 4, 3, "e"))
            out.append((cur.statusmessage, cur.fetchall()))
        seen.append(out)
    assert seen[0] == seen[1]
    assert seen[0] == [("INSERT 0 1", [("a",)]), ("INSERT 0 0", []), ("INSERT 0 1", [("c",)]),
                       ("INSERT 0 1", [("e",)])]


ENROLL_CODE = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL, "
               "code text UNIQUE, note text")


def test_ignore_keeps_an_on_conflict_clause_naming_another_index(pg, make_proxy):
    # Under ignore, `ON CONFLICT (code) DO NOTHING` (a real unique index) skips code conflicts as
    # the client asked and the guard's duplicates as ignore does: on the twin that is a bare ON
    # CONFLICT DO NOTHING while no third index conflicts. The client's clause is kept as
    # written (alias, inference WHERE): a primary-key conflict, which it does not name, still
    # fails the statement, where a bare clause would have skipped it.
    gt = GuardedTable(pg, make_proxy, "g_ignore_other", ENROLL_CODE, ["user_id", "course_id"],
                      action="ignore")
    t = gt.name
    script = [
        "INSERT INTO {t} (user_id, course_id, code, note) VALUES (1, 1, 'x', 'first')",
        # the guard's duplicate, a code conflict, a new row, a repeat inside the statement
        "INSERT INTO {t} AS e (user_id, course_id, code, note) VALUES (1, 1, 'y', 'dup'), "
        "(2, 2, 'x', 'code taken'), (3, 3, 'z', 'new'), (3, 3, 'w', 'dup in statement') "
        "{conflict} RETURNING e.code, note",
        # NOT NULL still reported first
        "INSERT INTO {t} (user_id, course_id, code) VALUES (1, 1, 'v'), (NULL, 9, 'u') {conflict}",
        "SELECT user_id, course_id, code, note FROM {t} ORDER BY 1, 2",
    ]
    proxy_script = [s.format(t=t, conflict="ON CONFLICT (code) WHERE e.code <> '' DO NOTHING"
                             if "AS e" in s else "ON CONFLICT (code) DO NOTHING") for s in script]
    twin_script = [s.format(t=t, conflict="ON CONFLICT DO NOTHING") for s in script]
    results = []
    for connect, statements in ((gt.connect_proxy, proxy_script), (gt.connect_twin, twin_script)):
        conn = connect()
        conn.autocommit = True
        cur = conn.cursor()
        results.append([outcome(cur, s) for s in statements])
        conn.close()
    via_proxy, twin = results
    assert via_proxy == twin
    assert via_proxy[1] == ("ok", "INSERT 0 1", [("z", "new")])
    assert via_proxy[2][1]["sqlstate"] == "23502"
    assert via_proxy[3][2] == [(1, 1, "x", "first"), (3, 3, "z", "new")]
    # The clause is the client's: a guard duplicate dropped, then an id conflict that the
    # clause does not cover fails the statement (a bare ON CONFLICT would skip it).
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    got = outcome(cur, f"INSERT INTO {t} (id, user_id, course_id, code) VALUES "
                       f"(100, 1, 1, 'a'), (1, 4, 4, 'b') ON CONFLICT (code) DO NOTHING")
    assert got[0] == "error" and got[1]["sqlstate"] == "23505", got
    assert got[1]["constraint"] == f"{t}_pkey"
    # An error inside the kept clause points into the client's text.
    sql = (f"INSERT INTO {t} (user_id, course_id, code) VALUES (1, 1, 'c') "
           f"ON CONFLICT (nosuch) DO NOTHING")
    with pytest.raises(psycopg2.errors.UndefinedColumn) as raised:
        cur.execute(sql)  # (1, 1) is a guard duplicate: the statement is rewritten
    # (the server points at the inference list's parenthesis, as it does on the twin)
    assert raised.value.diag.statement_position == str(sql.index("(nosuch)") + 1)
    conn.close()
    # Each dropped guard duplicate is logged as ignored (the code conflict is the server's),
    # also in the statements that then failed: 2 + 1 + 1 + 1.
    lines = gt.duplicate_lines(expected=5)
    assert [l["action"] for l in lines] == ["ignored"] * 5


def test_ignore_keeps_another_indexes_conflict_clause_with_server_side_parameters(pg,
                                                                                make_proxy):
    # The same with psycopg 3's server-side binding: the clause's own parameter is written in.
    import psycopg
    gt = GuardedTable(pg, make_proxy, "g_ignore_other_ps", ENROLL_CODE, ["user_id", "course_id"],
                      action="ignore")
    t = gt.name
    seen = []
    for dsn, clause in ((gt.proxy_dsn(), "ON CONFLICT (code) WHERE code <> %s DO NOTHING"),
                        (gt.twin_dsn(), "ON CONFLICT DO NOTHING")):
        out = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            for params in [(1, 1, "x", 1, 2, "y"),    # two new rows
                           (1, 1, "z", 3, 3, "w"),    # a guard duplicate (rewritten), a new row
                           (4, 4, "x", 1, 2, "v"),    # a code conflict, a guard duplicate
                           (5, 5, "u", 5, 5, "t")]:   # a repeat inside the statement
                extra = ("",) if "%s DO" in clause else ()
                cur.execute(f"INSERT INTO {t} (user_id, course_id, code) VALUES (%s, %s, %s), "
                            f"(%s, %s, %s) {clause} RETURNING code", params + extra,
                            prepare=True)
                out.append((cur.statusmessage, cur.fetchall()))
        seen.append(out)
    assert seen[0] == seen[1]
    assert seen[0] == [("INSERT 0 2", [("x",), ("y",)]), ("INSERT 0 1", [("w",)]),
                       ("INSERT 0 0", []), ("INSERT 0 1", [("u",)])]


def test_binary_parameters_of_unspecified_type_are_read_as_the_server_types_them(pg, make_proxy):
    # asyncpg and pgx send Parse without types and binary values: the server types `$2` of
    # `$2::timestamptz` as timestamptz, a bare `$3` as its column's timestamp. In the skipping
    # rewrite (a duplicate under ignore) the proxy writes the parameters into its own SQL; read
    # as the column's timestamp, those 8 bytes would be written an hour off under TimeZone
    # Europe/Paris. Compared with the twin's ON CONFLICT DO NOTHING: the same command tag,
    # RETURNING rows and table. A binary parameter the proxy cannot type (an argument of
    # coalesce) is refused, 0A000, nothing written, where the twin writes the row.
    gt = GuardedTable(pg, make_proxy, "g_ignore_cast", "id serial PRIMARY KEY, "
                      "user_id int NOT NULL, at timestamp NOT NULL, note text",
                      ["user_id", "at"], action="ignore")
    t = gt.name
    # 2026-01-01 11:00 UTC (12:00 in Paris: the existing key) in microseconds since 2000-01-01.
    instant = (9497 * 86400 + 11 * 3600) * 1_000_000
    wall = (9497 * 86400 + 13 * 3600) * 1_000_000   # a new key: 13:00
    values = [(1).to_bytes(4, "big"), instant.to_bytes(8, "big"), wall.to_bytes(8, "big"), b"n"]

    def execute(c, insert):
        c.send(pgwire.unnamed_execution(insert, values, binary=True, describe=True))
        return c.read_until("Z")

    results = []
    for port, database, conflict in ((gt.proxy.port, "app", ""),
                                     (pg.port, "twin", " ON CONFLICT DO NOTHING")):
        c = paris_session(port, database,
                          f"INSERT INTO {t} (user_id, at) VALUES (1, '2026-01-01 12:00')")
        reply = execute(c, f"INSERT INTO {t} (user_id, at, note) VALUES "
                           f"($1, $2::timestamptz, $4), ($1, $3, $4){conflict} "
                           f"RETURNING user_id, at::text, note")
        untyped = execute(c, f"INSERT INTO {t} (user_id, at, note) VALUES "
                             f"($1, $2::timestamptz, $4), (2, $3, coalesce($4, 'x')){conflict}")
        c.close()
        results.append((reply, untyped))
    (via_proxy, refused), (twin, twin_untyped) = results
    assert [m for m, _ in via_proxy] == ["1", "2", "T", "D", "C", "Z"], via_proxy
    # (RowDescription names the table by OID, another in the twin's database)
    assert [m for m in via_proxy if m[0] != "T"] == [m for m in twin if m[0] != "T"]
    assert pgwire.rows_of(via_proxy) == [["1", "2026-01-01 13:00:00", "n"]]
    assert [m for m, _ in refused] == ["1", "2", "n", "E", "Z"], refused
    assert pgwire.error_of(refused)["C"] == "0A000"
    assert [m for m, _ in twin_untyped] == ["1", "2", "n", "C", "Z"], twin_untyped
    assert dict(twin_untyped)["C"] == b"INSERT 0 1\0"
    assert [r[1:] for r in gt.rows()] == [(1, datetime.datetime(2026, 1, 1, 12, 0), None),
                                          (1, datetime.datetime(2026, 1, 1, 13, 0), "n")]


def test_binary_parameters_compared_with_the_target_in_a_subquery_or_its_own_select(pg,
                                                                                   make_proxy):
    # A binary parameter of unspecified type compared with a column of a SELECT whose FROM is
    # the guarded table (INSERT … SELECT's own, or a subquery of an UPDATE's WHERE) is typed as
    # that column: the 8 bytes of a timestamp, not read as timestamptz an hour off under
    # Europe/Paris. Before, refused (0A000). Compared with the twin's real index: the same
    # replies and rows; a subquery reading another table still refuses such a parameter.
    gt = GuardedTable(pg, make_proxy, "g_binary_subquery", "id serial PRIMARY KEY, "
                      "user_id int NOT NULL, at timestamp NOT NULL", ["user_id", "at"])
    t = gt.name
    noon = (9497 * 86400 + 12 * 3600) * 1_000_000  # 2026-01-01 12:00, as the timestamp stores it

    def execute(c, statement):
        c.send(pgwire.unnamed_execution(statement, [noon.to_bytes(8, "big")], binary=True))
        return c.read_until("Z")

    copy = f"INSERT INTO {t} (user_id, at) SELECT user_id + 10, at FROM {t} WHERE at = $1"
    move = (f"UPDATE {t} SET user_id = 2 WHERE id IN (SELECT e.id FROM {t} AS e WHERE "
            f"e.at = $1 AND user_id = 1)")
    other = (f"UPDATE {t} SET user_id = 2 WHERE id IN (SELECT pid FROM pg_stat_activity "
             f"WHERE backend_start = $1)")  # a timestamptz there
    results = []
    for port, database in ((gt.proxy.port, "app"), (pg.port, "twin")):
        c = paris_session(port, database, f"INSERT INTO {t} (user_id, at) VALUES "
                                          f"(1, '2026-01-01 12:00'), (2, '2026-01-01 12:00')")
        results.append([pgwire.comparable(execute(c, s)) for s in (copy, copy, move)])
        c.close()
    via_proxy, twin = results
    assert via_proxy == twin
    assert [[m for m, _ in r] for r in via_proxy] == [["1", "2", "C", "Z"], ["1", "2", "E", "Z"],
                                                     ["1", "2", "E", "Z"]]
    assert [r[1]["C"] for r in (via_proxy[1][2], via_proxy[2][2])] == ["23505", "23505"]
    assert sorted(r[1] for r in gt.rows()) == [1, 2, 11, 12]
    c = paris_session(gt.proxy.port, "app", f"DELETE FROM {t} WHERE false")
    refused = execute(c, other)
    c.close()
    assert [m for m, _ in refused] == ["1", "2", "E", "Z"], refused
    assert pgwire.error_of(refused)["C"] == "0A000"


def test_a_parameter_of_unspecified_type_used_twice_is_read_as_all_its_uses_agree(pg,
                                                                                   make_proxy):
    # The server types a parameter once, at the first use it analyses (an UPDATE's WHERE
    # before its SET): in `SET at = $1 … AND $1::timestamptz > …` the 8 bytes are a timestamptz,
    # stored converted into the timestamp column. The proxy reads each use alone, so such an
    # UPDATE is refused (0A000, nothing changed); where every use gives the column's type
    # (`SET at = $1 … OR at = $1`) it is checked as the twin's index decides.
    gt = GuardedTable(pg, make_proxy, "g_param_twice", "id serial PRIMARY KEY, "
                      "user_id int NOT NULL, at timestamp NOT NULL", ["user_id", "at"])
    t = gt.name
    noon = (9497 * 86400 + 12 * 3600) * 1_000_000   # 2026-01-01 12:00 as a timestamp
    values = [noon.to_bytes(8, "big"), (2).to_bytes(4, "big")]

    def execute(c, sql):
        c.send(pgwire.unnamed_execution(sql, values, binary=True))
        return c.read_until("Z")

    results = []
    for port, database in ((gt.proxy.port, "app"), (pg.port, "twin")):
        c = paris_session(port, database,
                          f"INSERT INTO {t} (user_id, at) VALUES (1, '2026-01-01 12:00'), "
                          f"(2, '2026-01-01 09:00')")
        # Both rows would end on (1, 12:00).
        agreeing = execute(c, f"UPDATE {t} SET user_id = 1, at = $1 WHERE user_id = $2 "
                              f"OR at = $1")
        # The twin moves row 2 to (1, 13:00): 12:00 UTC is 13:00 in Paris.
        disagreeing = execute(c, f"UPDATE {t} SET user_id = 1, at = $1 WHERE user_id = $2 "
                                 f"AND $1::timestamptz > '2000-01-01'")
        c.close()
        results.append((agreeing, disagreeing))
    (via_proxy, refused), (twin, twin_disagreeing) = results
    assert [m for m, _ in via_proxy] == [m for m, _ in twin] == ["1", "2", "E", "Z"]
    assert pgwire.error_of(via_proxy)["C"] == pgwire.error_of(twin)["C"] == "23505"
    assert pgwire.error_of(via_proxy)["D"] == pgwire.error_of(twin)["D"]
    assert [m for m, _ in refused] == ["1", "2", "E", "Z"], refused
    assert pgwire.error_of(refused)["C"] == "0A000"
    assert dict(twin_disagreeing)["C"] == b"UPDATE 1\0"
    assert sorted(r[1:] for r in gt.rows()) == [(1, datetime.datetime(2026, 1, 1, 12, 0)),
                                                (2, datetime.datetime(2026, 1, 1, 9, 0))]


def test_a_write_sent_before_a_setting_change_is_confirmed_is_refused(enroll):
    # The proxy learns standard_conforming_strings, client_encoding, TimeZone and DateStyle from
    # the server's ParameterStatus, which comes with the ReadyForQuery after the change: a
    # guarded write pipelined before that would be read under the old value. It is refused
    # (0A000), in a pipeline and in one query string; once the change is answered, writes pass.
    t = enroll.name
    c = pgwire.RawClient(enroll.proxy.port)
    c.startup(database="app")

    def extended(*sqls):
        msgs = []
        for sql in sqls:
            msgs += [pgwire.message(b"P", b"\0" + sql.encode() + b"\0\0\0"),
                     pgwire.message(b"B", b"\0\0\0\0\0\0\0\0"),
                     pgwire.message(b"E", b"\0\0\0\0\0")]
        c.send(b"".join(msgs + [pgwire.message(b"S")]))
        return c.read_until("Z")

    insert = f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1)"
    reply = extended("SET standard_conforming_strings = off", insert)
    # (the failed write rolls the SET back with it: no ParameterStatus)
    assert [m for m, _ in reply] == ["1", "2", "C", "1", "2", "E", "Z"], reply
    assert pgwire.error_of(reply)["C"] == "0A000"
    assert "sent before the server confirmed a change" in pgwire.error_of(reply)["M"]
    reply = c.simple_query(f"SET TimeZone = 'UTC'; {insert}")
    assert [m for m, _ in reply] == ["C", "E", "Z"], reply
    assert pgwire.error_of(reply)["C"] == "0A000"
    # Answered: the same writes pass; a setting the guard does not read changes nothing; a
    # write before the change in the string runs before it.
    assert [m for m, _ in extended(insert)] == ["1", "2", "C", "Z"]
    reply = c.simple_query(f"SET application_name = 'x'; "
                           f"INSERT INTO {t} (user_id, course_id) VALUES (1, 2)")
    assert [m for m, _ in reply] == ["C", "C", "S", "Z"], reply
    reply = c.simple_query(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 3); "
                           f"SET TimeZone = 'UTC'")
    assert [m for m, _ in reply] == ["C", "C", "S", "Z"], reply
    # The end of a transaction puts back its SET LOCAL: a change too.
    assert [m for m, _ in c.simple_query("BEGIN; SET LOCAL TimeZone = 'Asia/Tokyo'")] == [
        "C", "C", "S", "Z"]
    reply = c.simple_query(f"COMMIT; INSERT INTO {t} (user_id, course_id) VALUES (1, 4)")
    assert [m for m, _ in reply] == ["C", "E", "S", "Z"], reply
    assert pgwire.error_of(reply)["C"] == "0A000"
    assert [m for m, _ in extended("BEGIN", "SET LOCAL TimeZone = 'Asia/Tokyo'")] == [
        "1", "2", "C", "1", "2", "C", "S", "Z"]
    reply = extended("ROLLBACK", f"INSERT INTO {t} (user_id, course_id) VALUES (1, 5)")
    assert [m for m, _ in reply] == ["1", "2", "C", "1", "2", "E", "S", "Z"], reply
    assert pgwire.error_of(reply)["C"] == "0A000"
    # A transaction without a change ends as any other: its writes after it pass.
    assert [m for m, _ in c.simple_query("BEGIN")] == ["C", "Z"]
    reply = c.simple_query(f"COMMIT; INSERT INTO {t} (user_id, course_id) VALUES (1, 6)")
    assert [m for m, _ in reply] == ["C", "C", "Z"], reply
    c.close()
    assert sorted(r[1:3] for r in enroll.rows()) == [(1, 1), (1, 2), (1, 3), (1, 6)]


def test_a_statement_prepared_under_other_settings_is_refused_where_its_literals_differ(
        pg, make_proxy):
    # The server reads a prepared statement's literals at its Parse: 'é' sent under LATIN1 is
    # 'Ã©', whatever client_encoding the session has when it executes it. The proxy reads them
    # at the Execute, so there it refuses (0A000) when the setting has moved since and the
    # text holds bytes beyond ASCII (standard_conforming_strings: a backslash). Found by the
    # wire oracle: the statement inserted a duplicate of (Ã©, 1).
    gt = GuardedTable(pg, make_proxy, "g_parse_settings", "id serial PRIMARY KEY, code text",
                      ["code"])
    t = gt.name
    c = pgwire.RawClient(gt.proxy.port)
    c.startup(database="app")

    def prepare(name, sql):
        c.send(pgwire.message(b"P", name + b"\0" + sql.encode() + b"\0\0\0") +
               pgwire.message(b"S"))
        # (a backslash under standard_conforming_strings off: the server's warning first)
        assert [m for m, _ in c.read_until("Z") if m != "N"] == ["1", "Z"]

    def execute(name):
        c.send(pgwire.message(b"B", b"\0" + name + b"\0\0\0\0\0\0\0") +
               pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))
        return c.read_until("Z")

    c.simple_query("SET client_encoding = 'LATIN1'")
    prepare(b"latin", f"INSERT INTO {t} (code) VALUES ('é')")
    prepare(b"ascii", f"INSERT INTO {t} (code) VALUES ('e')")
    c.simple_query("SET standard_conforming_strings = off")
    prepare(b"escaped", f"INSERT INTO {t} (code) VALUES ('a\\\\b')")
    # Parsed right behind a change the server had not answered: under which setting is not
    # known to the proxy.
    c.send(pgwire.query("SET standard_conforming_strings = on") +
           pgwire.message(b"P", b"unknown\0" + f"INSERT INTO {t} (code) VALUES ('c\\\\d')".encode()
                          + b"\0\0\0") + pgwire.message(b"S"))
    assert [m for m, _ in c.read_until("Z")] == ["C", "S", "Z"]
    assert [m for m, _ in c.read_until("Z")] == ["1", "Z"]
    c.simple_query("SET standard_conforming_strings = off")
    # A date written at the Parse reads under that session's DateStyle.
    c.simple_query("SET DateStyle = 'ISO, MDY'")
    prepare(b"dated", f"INSERT INTO {t} (code) VALUES ('01/02/2024'::date::text)")
    # Unchanged since the Parse: read as the server read them (the client's bytes are UTF-8
    # é, two LATIN1 characters to the server).
    assert [m for m, _ in execute(b"latin")] == ["2", "C", "Z"]
    assert [m for m, _ in execute(b"latin")][1] == "E"
    c.simple_query("SET client_encoding = 'UTF8'")
    c.simple_query("SET standard_conforming_strings = on")
    c.simple_query("SET DateStyle = 'ISO, DMY'")
    for name in (b"latin", b"escaped", b"unknown", b"dated"):
        reply = execute(name)
        assert [m for m, _ in reply] == ["2", "E", "Z"], reply
        assert pgwire.error_of(reply)["C"] == "0A000"
        assert "a statement prepared under " in pgwire.error_of(reply)["M"]
    assert [m for m, _ in execute(b"ascii")] == ["2", "C", "Z"]  # ASCII reads alike
    c.close()
    assert sorted(r[1] for r in gt.rows()) == ["e", "Ã©"]


def test_text_parameters_used_twice_typed_by_the_target_tables_columns(enroll, pg):
    # node-postgres sends every parameter as text of unspecified type. INSERT … SELECT's bare
    # select items are typed by the server after the rest of the statement, so with a typed use
    # elsewhere the value is written untyped at each use as before: the same replies as the
    # twin's. Its users' `… WHERE NOT EXISTS (SELECT 1 FROM t WHERE user_id = $1)` compares with
    # the column of a subquery: typed as that column, the same replies as the twin's too (a key
    # the subquery lets through is the guard's 23505). Another table's column of another type
    # than the bare item's column: the server's own 42P08 at Parse. An operand the server may
    # type first (`$1 + 0`) is not read: refused, 0A000, nothing written.
    t = enroll.name

    def run(port, database, insert, values):
        c = pgwire.RawClient(port)
        c.startup(database=database)
        c.send(pgwire.unnamed_execution(insert, values))
        reply = c.read_until("Z")
        c.close()
        return reply

    cast = (f"INSERT INTO {t} (user_id, course_id) SELECT $1, $2 WHERE $1::int4 > 0 "
            f"AND $2::int4 > 0")
    for values in ([b"7", b"1"], [b"7", b"1"], [b"07", b"2"]):
        got, want = run(enroll.proxy.port, "app", cast, values), run(pg.port, "twin", cast, values)
        assert pgwire.comparable(got) == pgwire.comparable(want), (values, got, want)
    not_exists = (f"INSERT INTO {t} (user_id, course_id) SELECT $1, $2 WHERE NOT EXISTS "
                  f"(SELECT 1 FROM {t} WHERE user_id = $1 AND course_id = $2)")
    # The subquery lets a key through when the row has a note: the guard's duplicate.
    noted = (f"INSERT INTO {t} AS x (user_id, course_id) SELECT $1, $2 WHERE NOT EXISTS "
             f"(SELECT 1 FROM {t} e WHERE e.user_id = $1 AND (course_id = $2) AND note IS "
             f"NOT NULL)")
    other_table = (f"INSERT INTO {t} (user_id, course_id) SELECT $1, $2 WHERE NOT EXISTS "
                   f"(SELECT 1 FROM pg_class c WHERE c.relpages = $1 AND relname = 'no such')")
    other_type = (f"INSERT INTO {t} (user_id, course_id) SELECT $1, $2 WHERE NOT EXISTS "
                  f"(SELECT 1 FROM pg_class WHERE oid = $1)")
    commands = []
    for insert, values in ((not_exists, [b"8", b"1"]), (not_exists, [b"8", b"1"]),
                           (not_exists, [b"08", b"2"]), (noted, [b"7", b"1"]),
                           (noted, [b"9", b"3"]), (noted, [b"9", b"3"]),
                           (other_table, [b"9", b"3"]), (other_table, [b"9", b"4"]),
                           (other_type, [b"9", b"5"])):
        got = run(enroll.proxy.port, "app", insert, values)
        want = run(pg.port, "twin", insert, values)
        assert pgwire.comparable(got) == pgwire.comparable(want), (insert, values, got, want)
        commands.append([m for m, _ in got])
    ok, error = ["1", "2", "C", "Z"], ["1", "2", "E", "Z"]
    assert commands == [ok, ok, ok, error, ok, error, error, ok, ["E", "Z"]]
    operand = (f"INSERT INTO {t} (user_id, course_id) SELECT $1, $2 WHERE NOT EXISTS "
               f"(SELECT 1 FROM {t} WHERE user_id = $1 + 0)")
    refused = run(enroll.proxy.port, "app", operand, [b"10", b"1"])
    assert [m for m, _ in refused] == ["1", "2", "E", "Z"], refused
    assert pgwire.error_of(refused)["C"] == "0A000"
    assert sorted(r[1:3] for r in enroll.rows()) == [
        (7, 1), (7, 2), (8, 1), (8, 2), (9, 3), (9, 4)]


@pytest.mark.parametrize("encoding", ["UTF8", "LATIN1"])
def test_an_invalid_key_literal_is_the_servers_error_at_its_position(pg, make_proxy, encoding):
    # '2.5' for an integer key in a skipping INSERT: the server's 22P02 at the literal's place
    # in the client's text, also under LATIN1 (an ASCII literal reads the same in every
    # encoding; the proxy's probe of existing keys used to fail first, at its own position:
    # wire oracle, seeds 33, 88, 99, 321).
    gt = GuardedTable(pg, make_proxy, "g_invalid_literal", ENROLL, ["user_id", "course_id"])
    t = gt.name
    for sql in (f"INSERT INTO {t} (course_id, note, user_id) VALUES (4, 'n1'::text, '2.5'), "
                f"('4'::integer, 'it''s', '2.5') ON CONFLICT ON CONSTRAINT {t}_key DO NOTHING",
                f"INSERT INTO {t} (user_id, course_id) VALUES (CAST('4' AS integer), '1'), "
                f"('2.5', '4') ON CONFLICT DO NOTHING"):
        replies = []
        for port, database in ((gt.proxy.port, "app"), (pg.port, "twin")):
            c = pgwire.RawClient(port)
            c.startup(database=database)
            c.simple_query(f"SET client_encoding = '{encoding}'")
            replies.append(c.simple_query(sql))
            c.close()
        got, want = replies
        assert [m for m, _ in got] == [m for m, _ in want] == ["E", "Z"]
        assert pgwire.error_of(got) == pgwire.error_of(want)
        assert pgwire.error_of(got)["P"] == str(sql.index("'2.5'") + 1)
    assert gt.rows() == []


def test_a_prepared_upsert_warns_of_backslashes_once_as_the_server_does(pg, make_proxy):
    """Each Execute of a prepared ON CONFLICT (key) DO UPDATE is answered by the proxy's own
    statement; under standard_conforming_strings off the server warns (22P06) of a backslash in
    a plain string at the Parse only, and so must the proxy's statement not warn again."""
    gt = GuardedTable(pg, make_proxy, "g_upsert_warn",
                      "id serial PRIMARY KEY, code text, n int, note text", ["code", "n"])
    sql = ("INSERT INTO g_upsert_warn (code, n, note) VALUES (%s, 1, 'a\\b') "
           "ON CONFLICT (code, n) DO UPDATE SET note = 'c\\d' WHERE g_upsert_warn.note <> "
           "'e\\f' RETURNING note, 'g\\h' AS x")
    results = []
    for dsn in (gt.proxy_dsn(), gt.twin_dsn()):
        seen, notices = [], []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET standard_conforming_strings = off")
            conn.execute("SET escape_string_warning = on")
            conn.add_notice_handler(lambda d: notices.append(d.sqlstate))
            for _ in range(3):
                cur = conn.execute(sql, ["k"], prepare=True)
                seen.append((cur.statusmessage, cur.fetchall(), len(notices)))
                notices.clear()
        results.append(seen)
    assert results[0] == results[1]
    # four backslash strings: four warnings at the Parse, none after
    # (`\b` a backspace, `\d` and `\h` the letters, read with the setting off)
    assert results[0] == [("INSERT 0 1", [("a\x08", "gh")], 4),
                          ("INSERT 0 1", [("cd", "gh")], 0),
                          ("INSERT 0 1", [("cd", "gh")], 0)]


def test_backslash_strings_under_standard_conforming_strings_off(pg, make_proxy):
    # With standard_conforming_strings off the server reads 'it\'s' as one string; libpg_query
    # (always on) would read a syntax error, and such a statement passed the guard unread. Now
    # the same outcomes as the twin's real index, in the simple and the extended protocol.
    gt = GuardedTable(pg, make_proxy, "g_scs_off", "id int PRIMARY KEY, code text, note text",
                      ["code"])
    t = gt.name
    script = [
        "SET standard_conforming_strings = off",
        f"INSERT INTO {t} VALUES (1, 'it\\'s', 'a\\\\b')",
        f"INSERT INTO {t} VALUES (2, 'it''s', 'same key')",       # a duplicate
        f"INSERT INTO {t} VALUES (3, E'it\\'s')",                 # a duplicate
        f"INSERT INTO {t} VALUES (4, 'x\\\\y'), (5, 'x\\\\y')",     # a repeat inside
        f"INSERT INTO {t} VALUES (6, 'x\\\\y')",
        f"INSERT INTO {t} VALUES (7, 'x\\\\y\\'')",                # a new key: x\y'
        f"UPDATE {t} SET code = 'it\\'s' WHERE id = 6",            # a duplicate
        f"UPDATE {t} SET code = 'new\\'' WHERE id = 6",
        f"INSERT INTO {t} VALUES (8, E'new\\'')",                  # a duplicate of it
        # EXCLUDED.code inside a string is not a reference (read as the server reads it)
        f"INSERT INTO {t} VALUES (9, 'q\\'') ON CONFLICT (code) DO UPDATE "
        f"SET note = 'not excluded.code, it\\'s' RETURNING id, note",
        f"INSERT INTO {t} VALUES (10, 'q\\'') ON CONFLICT (code) DO UPDATE "
        f"SET note = 'not excluded.code, it\\'s' RETURNING id, note",
        f"SELECT id, code, note FROM {t} ORDER BY 1",
    ]
    via_proxy, twin = both(gt, script)
    assert via_proxy == twin
    assert [o[0] if o[0] == "ok" else o[1]["sqlstate"] for o in via_proxy] == [
        "ok", "ok", "23505", "23505", "23505", "ok", "ok", "23505", "ok", "23505", "ok", "ok", "ok"]
    assert via_proxy[10][2] == [(9, None)] and via_proxy[11][2] == [(9, "not excluded.code, it's")]
    assert via_proxy[2][1]["detail"] == "Key (code)=(it's) already exists."
    assert via_proxy[-1][2] == [(1, "it's", "a\\b"), (6, "new'", None), (7, "x\\y'", None),
                                (9, "q'", "not excluded.code, it's")]
    # A volatile function in a key column's new value, also between such strings (where a
    # reader under the setting on would take it for part of a string): a late UPDATE, the new
    # key reported by the server (test_pg_late_update.py), as the twin's index answers.
    via_proxy, twin = both(gt, [
        "SET standard_conforming_strings = off",
        f"UPDATE {t} SET code = 'it\\'' || substr(random()::text, 1, 0) || 's' WHERE id = 9",
        f"UPDATE {t} SET code = 'p\\'' || substr(random()::text, 1, 0) || 'r\\'s' WHERE id = 9",
        f"INSERT INTO {t} VALUES (11, 'p\\'r\\'s')",
    ])
    assert via_proxy == twin
    assert via_proxy[1][1]["detail"] == "Key (code)=(it's) already exists."
    assert via_proxy[2] == ("ok", "UPDATE 1", None)
    assert via_proxy[3][1]["detail"] == "Key (code)=(p'r's) already exists."
    # The extended protocol (psycopg 3, server-side binding): a literal beside a parameter.
    outcomes = []
    for dsn in (gt.proxy_dsn(), gt.twin_dsn()):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET standard_conforming_strings = off")
            for i in (20, 21):
                try:
                    conn.execute(f"INSERT INTO {t} (id, code) VALUES (%s, 'ext\\'s')", [i])
                    outcomes.append("ok")
                except psycopg.errors.UniqueViolation as e:
                    outcomes.append(e.diag.message_detail)
    assert outcomes == ["ok", "Key (code)=(ext's) already exists."] * 2
    # A COPY whose options hold such a string is refused: they are not read yet.
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET standard_conforming_strings = off")
    with pytest.raises(psycopg2.errors.FeatureNotSupported) as refused:
        cur.copy_expert(f"COPY {t} (id, code) FROM STDIN WITH (DELIMITER '\\t')",
                        io.StringIO("30\tz\n"))
    assert "standard_conforming_strings off" in str(refused.value)
    conn.close()


def test_ignore_action_drops_only_duplicate_rows(pg, make_proxy):
    gt = GuardedTable(pg, make_proxy, "g_ignore", ENROLL, ["user_id", "course_id"],
                      action="ignore")
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("INSERT INTO g_ignore (user_id, course_id, note) VALUES (1, 1, 'first')")
    cur.execute("INSERT INTO g_ignore (user_id, course_id, note) VALUES (1, 1, 'dup'), "
                "(1, 2, 'new'), (1, 2, 'dup in statement') RETURNING note")
    assert cur.statusmessage == "INSERT 0 1"
    assert cur.fetchall() == [("new",)]
    cur.execute("INSERT INTO g_ignore (user_id, course_id) VALUES (1, 1)")
    assert cur.statusmessage == "INSERT 0 0"
    with pytest.raises(psycopg2.errors.NotNullViolation):
        cur.execute("INSERT INTO g_ignore (user_id, course_id) VALUES (1, NULL)")
    assert [r[1:] for r in gt.rows()] == [(1, 1, "first"), (1, 2, "new")]
    lines = gt.duplicate_lines(expected=3)
    assert [(l["action"], l["values"]) for l in lines] == [
        ("ignored", ["1", "1"]), ("ignored", ["1", "2"]), ("ignored", ["1", "1"])]


def test_update_of_part_of_the_key_reads_each_rows_key(enroll):
    t = enroll.name
    via_proxy, twin = both(enroll, [
        f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1), (2, 1), (3, 1)",
        f"UPDATE {t} SET course_id = 2 WHERE user_id = 1",
        # (2, 2) and (3, 2) would be new keys, but (2, 2)... is free: both move
        f"UPDATE {t} SET course_id = 2 WHERE user_id IN (2, 3)",
        f"UPDATE {t} SET user_id = 1 WHERE user_id = 2",          # onto (1, 2)
        f"UPDATE {t} SET user_id = 9 WHERE course_id = 2",        # three rows onto (9, 2)
        # the key set learned the moved rows' new keys from the server
        f"INSERT INTO {t} (user_id, course_id) VALUES (3, 2)",
        f"SELECT user_id, course_id FROM {t} ORDER BY 1, 2",
    ])
    assert via_proxy == twin
    assert via_proxy[3][1]["detail"] == "Key (user_id, course_id)=(1, 2) already exists."
    assert via_proxy[4][1]["sqlstate"] == "23505"
    assert via_proxy[5][1]["detail"] == "Key (user_id, course_id)=(3, 2) already exists."


def test_update_with_server_side_parameters(enroll):
    import psycopg
    t = enroll.name
    seen = []
    for dsn in (enroll.proxy_dsn(), enroll.twin_dsn()):
        out = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute(f"INSERT INTO {t} (id, user_id, course_id) VALUES (101, 1, 1), (102, 1, 2)")
            for sql, params in [
                (f"UPDATE {t} SET user_id = %s, course_id = %s, note = %s WHERE id = %s", (1, 1, "same", 101)),
                (f"UPDATE {t} SET user_id = %s, course_id = %s WHERE id = %s", (1, 2, 101)),
                (f"UPDATE {t} SET course_id = %b WHERE id = %b", (2, 101)),
                (f"UPDATE {t} SET course_id = %s WHERE id = %s", (7, 101)),
                (f"INSERT INTO {t} (user_id, course_id) VALUES (%s, %s)", (1, 7)),
            ]:
                try:
                    cur.execute(sql, params, prepare=True)
                    out.append(cur.statusmessage)
                except psycopg.Error as e:
                    out.append((e.sqlstate, e.diag.message_detail))
        seen.append(out)
    assert seen[0] == seen[1]
    assert seen[0] == ["UPDATE 1", ("23505", "Key (user_id, course_id)=(1, 2) already exists."),
                       ("23505", "Key (user_id, course_id)=(1, 2) already exists."), "UPDATE 1",
                       ("23505", "Key (user_id, course_id)=(1, 7) already exists.")]


def test_copy_in_the_extended_protocol_keeps_replies_in_step(enroll):
    """libpq sends a Sync after Execute and another after CopyDone; the server ignores the first
    (it is reading COPY data): one ReadyForQuery for both."""
    t = enroll.name
    enroll.pg.psql_admin("DROP TABLE IF EXISTS g_copy_side; CREATE TABLE g_copy_side (v int)",
                         database="app")
    c = pgwire.RawClient(enroll.proxy.port)
    c.startup(database="app")
    c.simple_query(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1)")
    c.send(b"".join([
        pgwire.message(b"P", b"\0COPY g_copy_side FROM STDIN\0\0\0"),
        pgwire.message(b"B", b"\0\0\0\0\0\0\0\0"),
        pgwire.message(b"D", b"P\0"),
        pgwire.message(b"E", b"\0\0\0\0\0"),
        pgwire.message(b"S"),
    ]))
    assert [m for m, _ in c.read_until("G")] == ["1", "2", "n", "G"]
    c.send(pgwire.message(b"d", b"7\n") + pgwire.message(b"c") + pgwire.message(b"S"))
    assert [m for m, _ in c.read_until("Z")] == ["C", "Z"]
    dup = c.simple_query(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1) RETURNING 1")
    assert [m for m, _ in dup] == ["E", "Z"]
    assert pgwire.error_of(dup)["C"] == "23505"
    after = c.simple_query("SELECT 41 + 1")
    assert [m for m, _ in after] == ["T", "D", "C", "Z"]
    assert pgwire.rows_of(after) == [["42"]]
    c.close()


def test_a_statement_name_reused_after_deallocate_is_read_again(enroll):
    t = enroll.name
    c = pgwire.RawClient(enroll.proxy.port)
    c.startup(database="app")
    c.simple_query(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 2)")

    def prepare(sql):
        c.send(pgwire.message(b"P", b"s1\0" + sql.encode() + b"\0\0\0") + pgwire.message(b"S"))
        return [m for m, _ in c.read_until("Z")]

    def execute(a, b):
        params = b"\0\x02" + b"\0\0\0\x01" + a + b"\0\0\0\x01" + b
        c.send(pgwire.message(b"B", b"\0s1\0\0\0" + params + b"\0\0") +
               pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))
        return c.read_until("Z")

    assert prepare(f"INSERT INTO {t} (user_id, course_id) VALUES ($1, $2)") == ["1", "Z"]
    c.simple_query("DEALLOCATE s1")
    assert prepare(f"INSERT INTO {t} (course_id, user_id) VALUES ($1, $2)") == ["1", "Z"]
    # (course_id, user_id) = (2, 1): the key (1, 2) exists
    out = execute(b"2", b"1")
    assert pgwire.error_of(out)["C"] == "23505"
    assert pgwire.error_of(out)["D"] == "Key (user_id, course_id)=(1, 2) already exists."
    c.close()


def test_truncate_rebuilds_the_key_set_and_keeps_keys_still_in_flight(pg, make_proxy):
    """After a TRUNCATE commits through the proxy, the guard rebuilds its key set from the table:
    keys of the removed rows stop costing checks, and a key another session wrote while the
    TRUNCATE held its lock (committed after it) is kept."""
    import threading
    import time
    gt = GuardedTable(pg, make_proxy, "g_truncate_rebuild", ENROLL, ["user_id", "course_id"],
                      proxy_kw={"log_level": "trace"})
    t = gt.name
    checks = lambda: gt.proxy.log_text().count("guard: query rewritten")  # noqa: E731
    rebuilt = lambda: [l for l in gt.proxy.log_text().splitlines()  # noqa: E731
                       if "key set rebuilt after a TRUNCATE" in l]
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1), (1, 2), (1, 3)")
    cur.execute(f"DELETE FROM {t} WHERE course_id = 3")
    before = checks()
    cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 3)")  # a stale key: checked
    assert checks() == before + 1

    truncating = gt.connect_proxy()
    truncating.cursor().execute(f"TRUNCATE {t}")  # in a transaction: holds its lock
    writer = gt.connect_proxy()
    inserted = threading.Event()

    def insert_while_truncating():
        writer.cursor().execute(f"INSERT INTO {t} (user_id, course_id) VALUES (5, 5)")
        inserted.set()

    thread = threading.Thread(target=insert_while_truncating)
    thread.start()
    assert not inserted.wait(0.5)  # waits for the TRUNCATE's lock
    truncating.commit()
    assert inserted.wait(10)
    thread.join()
    # The writer's transaction is still open: its row may yet commit, so the rebuild waits.
    time.sleep(1.0)
    assert rebuilt() == []
    writer.commit()
    deadline = time.monotonic() + 10
    while not rebuilt() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rebuilt()) == 1
    assert "key set rebuilt after a TRUNCATE: 1 keys (was 4), 1 rows read" in rebuilt()[0]

    # The key written during the TRUNCATE is still a duplicate, as on the real index.
    with pytest.raises(psycopg2.errors.UniqueViolation) as e:
        cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (5, 5)")
    assert e.value.diag.message_detail == "Key (user_id, course_id)=(5, 5) already exists."
    # The keys of the truncated rows are new again: no check.
    before = checks()
    cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1), (1, 2), (1, 3)")
    assert checks() == before
    assert [r[1:3] for r in gt.rows("2, 3")] == [(1, 1), (1, 2), (1, 3), (5, 5)]
    for c in (conn, truncating, writer):
        c.close()


def test_key_learned_from_the_server_counts_for_the_next_statement_of_the_pipeline(enroll):
    """A key the proxy cannot fingerprint ($1::int over an int8 parameter) is learned from the
    server after its INSERT; a second INSERT of that key in the same pipeline, read by the proxy
    before that reply came, must still be refused as by the index."""
    t = enroll.name
    results = []
    for port, db in ((enroll.proxy.port, "app"), (enroll.pg.port, "twin")):
        c = pgwire.RawClient(port)
        c.startup(database=db)
        cast = f"INSERT INTO {t} (user_id, course_id) VALUES ($1::int, $2)".encode()
        plain = f"INSERT INTO {t} (user_id, course_id) VALUES ($1, $2)".encode()
        int8_oid = (20).to_bytes(4, "big")
        c.send(b"".join([
            pgwire.message(b"P", b"\0" + cast + b"\0\0\x01" + int8_oid),
            # formats: binary, text; values: int8 2, '4'
            pgwire.message(b"B", b"\0\0" + b"\0\x02\0\x01\0\0" + b"\0\x02"
                           + b"\0\0\0\x08" + (2).to_bytes(8, "big") + b"\0\0\0\x014" + b"\0\0"),
            pgwire.message(b"E", b"\0\0\0\0\0"),
            pgwire.message(b"P", b"\0" + plain + b"\0\0\0"),
            pgwire.message(b"B", b"\0\0\0\0\0\x02\0\0\0\x012\0\0\0\x014\0\0"),
            pgwire.message(b"E", b"\0\0\0\0\0"),
            pgwire.message(b"S"),
        ]))
        replies = c.read_until("Z")
        c.close()
        results.append(([m for m, _ in replies], pgwire.error_of(replies)))
    (p_types, p_err), (t_types, t_err) = results
    assert p_types == t_types == ["1", "2", "C", "1", "2", "E", "Z"]
    assert p_err["C"] == t_err["C"] == "23505"
    assert p_err["D"] == t_err["D"] == "Key (user_id, course_id)=(2, 4) already exists."
    assert enroll.rows() == []  # one implicit transaction: both rolled back
