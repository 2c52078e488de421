"""`uniqguard audit` and `uniqguard dedupe` (SPEC §1, §6) against a real PostgreSQL 15: the
duplicate groups exactly as the server's equality makes them, the plan, --apply with the real
unique index as the oracle (CREATE UNIQUE INDEX must succeed afterwards, and the kept and
quarantined rows must be exactly the expected ones), foreign keys, a table without a primary
key, a failure half-way, and a concurrent writer."""
import hashlib
import threading
import time

import psycopg2

from harness.pg_server import SCRAM_PASSWORD, SCRAM_USER
from harness.tools import audit_json, groups_of, guard_toml, run_tool, start_tool, write_config

ADMIN = ("--user", "postgres")  # trust on loopback: may CREATE and DELETE


def setup_schema(pg, schema, sql):
    pg.recreate_schema(schema, sql)


def q(pg, sql):
    return pg.psql_admin(sql, database="app").splitlines()


def config(pg, tmp_path, *guards):
    return write_config(tmp_path, "postgres", pg.port, guards)


ENROLL = """
    CREATE TABLE enroll (id int PRIMARY KEY, user_id int, course text);
    INSERT INTO enroll VALUES (1, 1, 'algebra'), (2, 2, 'art'), (3, 1, 'algebra'),
        (4, 1, 'Algebra'), (5, NULL, 'art'), (6, NULL, 'art'), (7, 2, 'art'),
        (8, 1, 'algebra'), (9, 3, NULL), (10, 3, NULL)"""


# ------------------------------------------------------------------------------ audit

def test_audit_lists_groups_as_a_unique_index_would_see_them(pg, tmp_path):
    setup_schema(pg, "pga", ENROLL)
    cfg = config(pg, tmp_path, guard_toml("pga.enroll", ["user_id", "course"]))
    r = run_tool(cfg, "audit")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout.splitlines()
    assert out[0] == f"uniqguard audit: {cfg}"
    assert out[1].startswith('connected to PostgreSQL 15.') and \
        f'127.0.0.1:{pg.port} (database "app", user "uniqguard")' in out[1]
    # 'Algebra' differs from 'algebra' (C.UTF-8 compares bytes); keys with a NULL never conflict.
    assert out[2:] == [
        "",
        "guard enroll_user_id_course_uniq (pga.enroll: user_id, course)",
        "  2 duplicate groups, 5 rows in them, 3 to remove to leave one row per key",
        "  user_id  course   rows  id",
        "  1        algebra  3     1 3 8",
        "  2        art      2     2 7",
        "",
        "audited 1 guard: 1 with duplicates (2 groups, 3 rows to remove)",
    ]


def test_audit_json_and_nulls_not_distinct(pg, tmp_path):
    setup_schema(pg, "pgn", ENROLL + "; CREATE TABLE enroll2 (LIKE enroll INCLUDING ALL); "
                                     "INSERT INTO enroll2 SELECT * FROM enroll")
    cfg = config(pg, tmp_path, guard_toml("pgn.enroll", ["user_id", "course"]),
                 guard_toml("pgn.enroll2", ["user_id", "course"], name="enroll_nnd",
                            nulls_distinct=False))
    status, doc = audit_json(cfg)
    assert status == 1
    assert groups_of(doc, "enroll_user_id_course_uniq") == {
        ("1", "algebra"): [("1",), ("3",), ("8",)], ("2", "art"): [("2",), ("7",)]}
    # NULLS NOT DISTINCT: NULL equals NULL, as PostgreSQL 15's index would have it.
    assert groups_of(doc, "enroll_nnd") == {
        ("1", "algebra"): [("1",), ("3",), ("8",)], ("2", "art"): [("2",), ("7",)],
        ("3", None): [("9",), ("10",)], (None, "art"): [("5",), ("6",)]}
    [g] = [g for g in doc["guards"] if g["guard"] == "enroll_nnd"]
    assert (g["duplicate_groups"], g["rows_in_groups"], g["rows_to_remove"]) == (4, 9, 5)
    assert g["identity"] == ["id"] and g["table"] == "pgn.enroll2"
    assert [x["key"] for x in g["groups"]] == [["1", "algebra"], ["2", "art"], ["3", None],
                                               [None, "art"]]
    assert (doc["guards_with_duplicates"], doc["duplicate_groups"], doc["rows_to_remove"],
            doc["errors"]) == (2, 6, 8, 0)


def test_audit_uses_the_servers_equality_and_limit_keeps_totals(pg, tmp_path):
    setup_schema(pg, "pgq", """
        CREATE TABLE price (id int PRIMARY KEY, amount numeric, code char(4));
        INSERT INTO price VALUES (1, 1.0, 'ab'), (2, 1.00, 'ab  '), (3, 2, 'cd'), (4, 2.000, 'cd'),
                                 (5, 3, 'ef')""")
    cfg = config(pg, tmp_path, guard_toml("pgq.price", ["amount"]),
                 guard_toml("pgq.price", ["code"]))
    status, doc = audit_json(cfg, "--limit", "1")
    assert status == 1
    # numeric 1.0 = 1.00; char(4) ignores trailing spaces. The key is shown as the group's
    # first row has it.
    assert groups_of(doc, "price_amount_uniq") == {("1.0",): [("1",), ("2",)]}
    [g] = [g for g in doc["guards"] if g["guard"] == "price_amount_uniq"]
    assert (g["duplicate_groups"], g["groups_shown"], g["rows_to_remove"]) == (2, 1, 2)
    assert groups_of(doc, "price_code_uniq") == {("ab  ",): [("1",), ("2",)]}

    r = run_tool(cfg, "audit", "--guard", "price_amount_uniq", "--limit", "1")
    assert r.returncode == 1
    assert r.stdout.splitlines()[3:] == [
        "guard price_amount_uniq (pgq.price: amount)",
        "  2 duplicate groups, 4 rows in them, 2 to remove to leave one row per key",
        "  amount  rows  id",
        "  1.0     2     1 2",
        "  (1 of 2 groups shown; --limit shows more)",
        "",
        "audited 1 guard: 1 with duplicates (2 groups, 2 rows to remove)",
    ]


def test_audit_clean_table_exits_0_and_missing_table_exits_2(pg, tmp_path):
    setup_schema(pg, "pgc", "CREATE TABLE t (id int PRIMARY KEY, a int); "
                            "INSERT INTO t VALUES (1, 1), (2, 2), (3, NULL), (4, NULL)")
    r = run_tool(config(pg, tmp_path, guard_toml("pgc.t", ["a"])), "audit")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[3:] == ["guard t_a_uniq (pgc.t: a)", "  no duplicates", "",
                                         "audited 1 guard: 0 with duplicates (0 groups, 0 rows to remove)"]
    r = run_tool(config(pg, tmp_path, guard_toml("pgc.nope", ["a"]), guard_toml("pgc.t", ["b"])),
                 "audit")
    assert r.returncode == 2
    assert "  error: table pgc.nope does not exist" in r.stdout.splitlines()
    assert '  error: key column "b" is not a column of pgc.t' in r.stdout.splitlines()


def test_accounts_user_and_password_env(pg, tmp_path):
    setup_schema(pg, "pgu", ENROLL)
    cfg = config(pg, tmp_path, guard_toml("pgu.enroll", ["user_id", "course"]))
    r = run_tool(cfg, "audit", "--user", SCRAM_USER, "--password-env", "UG_TEST_PW",
                 env={"UG_TEST_PW": SCRAM_PASSWORD})
    assert r.returncode == 1, r.stderr
    assert f'user "{SCRAM_USER}")' in r.stdout.splitlines()[1]
    r = run_tool(cfg, "audit", "--user", SCRAM_USER, "--password-env", "UG_TEST_UNSET")
    assert r.returncode == 2
    assert r.stderr == ("uniqguard: --password-env: the environment variable UG_TEST_UNSET is "
                        "not set\n")
    r = run_tool(cfg, "audit", "--user", SCRAM_USER, "--password-env", "UG_TEST_PW",
                 env={"UG_TEST_PW": "wrong"})
    assert r.returncode == 2
    assert "28P01" in r.stderr
    # serve's read-only account cannot apply: the error comes back, nothing changes.
    before = q(pg, "SELECT count(*) FROM pgu.enroll")
    r = run_tool(cfg, "dedupe", "--guard", "enroll_user_id_course_uniq", "--apply")
    assert r.returncode == 2
    assert "permission denied" in r.stderr and "the table is unchanged" in r.stderr
    assert q(pg, "SELECT count(*) FROM pgu.enroll") == before == ["10"]


# ------------------------------------------------------------------------------ dedupe

def snapshot(pg, table, order="id"):
    return q(pg, f"SELECT t::text FROM {table} t ORDER BY {order}")


def test_dry_run_changes_nothing_then_apply_lets_the_index_land(pg, tmp_path):
    setup_schema(pg, "pgd", ENROLL)
    cfg = config(pg, tmp_path, guard_toml("pgd.enroll", ["user_id", "course"]))
    before = snapshot(pg, "pgd.enroll")
    r = run_tool(cfg, "dedupe", "--guard", "enroll_user_id_course_uniq", *ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[3:] == [
        "guard enroll_user_id_course_uniq (pgd.enroll: user_id, course)",
        "  keep oldest: the row with the smallest id",
        "  2 duplicate groups, 3 rows to remove, 2 kept",
        "  user_id  course   keep id  remove id",
        "  1        algebra  1        3 8",
        "  2        art      2        7",
        "",
        "dry run: nothing changed; --apply moves 3 rows into pgd.enroll__uniqguard_quarantine",
    ]
    assert snapshot(pg, "pgd.enroll") == before
    assert q(pg, "SELECT to_regclass('pgd.enroll__uniqguard_quarantine') IS NULL") == ["t"]

    r = run_tool(cfg, "dedupe", "--guard", "enroll_user_id_course_uniq", "--apply", *ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == ("moved 3 rows of pgd.enroll into "
                                         "pgd.enroll__uniqguard_quarantine; no duplicate group "
                                         "remains")
    assert q(pg, "SELECT id FROM pgd.enroll ORDER BY id") == ["1", "2", "4", "5", "6", "9", "10"]
    assert q(pg, "SELECT id, user_id, course, guard, quarantined_at <= now() "
                 "FROM pgd.enroll__uniqguard_quarantine ORDER BY id") == [
        "3|1|algebra|enroll_user_id_course_uniq|t", "7|2|art|enroll_user_id_course_uniq|t",
        "8|1|algebra|enroll_user_id_course_uniq|t"]
    q(pg, "CREATE UNIQUE INDEX ON pgd.enroll (user_id, course)")  # the oracle
    r = run_tool(cfg, "dedupe", "--guard", "enroll_user_id_course_uniq", "--apply", *ADMIN)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == ("guard enroll_user_id_course_uniq (pgd.enroll): no "
                                         "duplicates, nothing to do")


def test_keep_newest_and_order_by(pg, tmp_path):
    setup_schema(pg, "pgk", """
        CREATE TABLE enroll (id int PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL,
                             created date);
        INSERT INTO enroll VALUES (1, 1, 1, '2020-01-03'), (2, 1, 1, '2020-01-01'),
            (3, 1, 1, NULL), (4, 2, 2, '2020-01-01'), (5, 2, 2, '2020-01-01')""")
    cfg = config(pg, tmp_path, guard_toml("pgk.enroll", ["user_id", "course_id"], name="g"))

    def plan(*args):
        r = run_tool(cfg, "dedupe", "--guard", "g", *args, *ADMIN)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout.splitlines()[4:9]

    assert plan("--keep", "newest") == [
        "  keep newest: the row with the largest id",
        "  2 duplicate groups, 3 rows to remove, 2 kept",
        "  user_id  course_id  keep id  remove id",
        "  1        1          3        2 1",
        "  2        2          5        4"]
    # NULLs last in both directions; ties broken by the primary key in the same direction.
    assert plan("--order-by", "created") == [
        "  keep oldest: the row with the smallest created (ties: smallest id)",
        "  2 duplicate groups, 3 rows to remove, 2 kept",
        "  user_id  course_id  keep id  remove id",
        "  1        1          2        1 3",
        "  2        2          4        5"]
    assert plan("--order-by", "created", "--keep", "newest")[3:] == [
        "  1        1          1        2 3",
        "  2        2          5        4"]
    r = run_tool(cfg, "dedupe", "--guard", "g", "--order-by", "created", "--keep", "newest",
                 "--apply", *ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert q(pg, "SELECT id FROM pgk.enroll ORDER BY id") == ["1", "5"]
    assert q(pg, "SELECT id FROM pgk.enroll__uniqguard_quarantine ORDER BY id") == ["2", "3", "4"]
    q(pg, "CREATE UNIQUE INDEX ON pgk.enroll (user_id, course_id)")
    r = run_tool(cfg, "dedupe", "--guard", "g", "--order-by", "nope", *ADMIN)
    assert r.returncode == 2
    assert '--order-by "nope" is not a column of pgk.enroll' in r.stderr


FK_SCHEMA = """
    CREATE TABLE enroll (id int PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL);
    INSERT INTO enroll VALUES (1, 1, 1), (2, 1, 1), (3, 2, 2), (4, 2, 2), (5, 3, 3);
    CREATE TABLE grade (id int PRIMARY KEY, enroll_id int REFERENCES enroll (id), score int);
    INSERT INTO grade VALUES (10, 2, 90), (11, 1, 80), (12, 5, 70), (13, 4, 60), (14, 4, 50)"""


def test_foreign_keys_refuse_then_repoint(pg, tmp_path):
    setup_schema(pg, "pgf", FK_SCHEMA)
    cfg = config(pg, tmp_path, guard_toml("pgf.enroll", ["user_id", "course_id"], name="g"))
    before = snapshot(pg, "pgf.enroll") + snapshot(pg, "pgf.grade")
    for args in ((), ("--apply",)):
        r = run_tool(cfg, "dedupe", "--guard", "g", *args, *ADMIN)
        assert r.returncode == 2, r.stdout + r.stderr
        assert ("  3 rows of pgf.grade (foreign key grade_enroll_id_fkey) point at rows to "
                "remove: refused without --repoint") in r.stdout.splitlines()
        assert r.stderr == ("uniqguard: rows to remove are referenced by pgf.grade (foreign key "
                            "grade_enroll_id_fkey): nothing changed; --repoint moves the "
                            "references to the kept row\n")
    assert snapshot(pg, "pgf.enroll") + snapshot(pg, "pgf.grade") == before

    r = run_tool(cfg, "dedupe", "--guard", "g", "--repoint", "--apply", *ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == ("moved 2 rows of pgf.enroll into "
                                         "pgf.enroll__uniqguard_quarantine; repointed 3 rows of "
                                         "pgf.grade; no duplicate group remains")
    assert q(pg, "SELECT id, enroll_id FROM pgf.grade ORDER BY id") == [
        "10|1", "11|1", "12|5", "13|3", "14|3"]
    assert q(pg, "SELECT id FROM pgf.enroll ORDER BY id") == ["1", "3", "5"]
    q(pg, "CREATE UNIQUE INDEX ON pgf.enroll (user_id, course_id)")


def test_table_without_primary_key_uses_ctid(pg, tmp_path):
    setup_schema(pg, "pgp", """
        CREATE TABLE log_entry (user_id int, course_id int, note text);
        INSERT INTO log_entry VALUES (1, 1, 'first'), (1, 1, 'second'), (2, 2, 'x'),
                                     (1, 1, 'third'), (NULL, 1, 'n1'), (NULL, 1, 'n2')""")
    cfg = config(pg, tmp_path, guard_toml("pgp.log_entry", ["user_id", "course_id"], name="g"))
    status, doc = audit_json(cfg)
    assert status == 1
    assert groups_of(doc, "g") == {("1", "1"): [("(0,1)",), ("(0,2)",), ("(0,4)",)]}
    assert doc["guards"][0]["identity"] == ["ctid"]
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply", *ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert q(pg, "SELECT note FROM pgp.log_entry ORDER BY note") == ["first", "n1", "n2", "x"]
    assert q(pg, "SELECT note FROM pgp.log_entry__uniqguard_quarantine ORDER BY note") == [
        "second", "third"]
    q(pg, "CREATE UNIQUE INDEX ON pgp.log_entry (user_id, course_id)")


def test_failure_half_way_leaves_the_table_untouched(pg, tmp_path):
    setup_schema(pg, "pgt", ENROLL + """;
        CREATE FUNCTION pgt.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF OLD.id = 8 THEN RAISE EXCEPTION 'row 8 is protected'; END IF; RETURN OLD; END $$;
        CREATE TRIGGER refuse BEFORE DELETE ON enroll FOR EACH ROW EXECUTE FUNCTION pgt.refuse()""")
    cfg = config(pg, tmp_path, guard_toml("pgt.enroll", ["user_id", "course"], name="g"))
    before = snapshot(pg, "pgt.enroll")
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply", *ADMIN)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "row 8 is protected" in r.stderr and r.stderr.endswith("; the table is unchanged\n")
    assert snapshot(pg, "pgt.enroll") == before
    # The quarantine table was created first (SPEC §6), and holds nothing.
    assert q(pg, "SELECT count(*) FROM pgt.enroll__uniqguard_quarantine") == ["0"]


def test_concurrent_writer_cannot_leave_a_duplicate(pg, tmp_path):
    setup_schema(pg, "pgw", ENROLL)
    cfg = config(pg, tmp_path, guard_toml("pgw.enroll", ["user_id", "course"], name="g"))
    writer = psycopg2.connect(pg.dsn())
    try:
        cur = writer.cursor()
        # Inserted and not yet committed when dedupe starts: its lock must wait for it, then
        # see the row, and remove it with the others.
        cur.execute("INSERT INTO pgw.enroll VALUES (100, 2, 'art'), (101, 4, 'new')")
        proc = start_tool(cfg, "dedupe", "--guard", "g", "--apply", *ADMIN)
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()  # waiting for the table lock
        assert q(pg, "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
                     "mode = 'ShareRowExclusiveLock'") == ["1"]
        writer.commit()
        out, err = proc.communicate(timeout=60)
    finally:
        writer.close()
    assert proc.returncode == 0, out + err
    assert out.splitlines()[-1].startswith("moved 4 rows of pgw.enroll")
    assert q(pg, "SELECT id FROM pgw.enroll__uniqguard_quarantine ORDER BY id") == [
        "3", "7", "8", "100"]
    q(pg, "CREATE UNIQUE INDEX ON pgw.enroll (user_id, course)")


def test_long_table_name_gets_a_hashed_quarantine_name(pg, tmp_path):
    table = "enrollment_records_imported_from_the_legacy_system_2019"  # 55 bytes
    setup_schema(pg, "pgl", f"CREATE TABLE {table} (id int PRIMARY KEY, a int); "
                            f"INSERT INTO {table} VALUES (1, 1), (2, 1)")
    cfg = config(pg, tmp_path, guard_toml(f"pgl.{table}", ["a"], name="g"))
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply", *ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    expected = (table[:32] + "_" + hashlib.sha256(table.encode()).hexdigest()[:8] +
                "__uniqguard_quarantine")
    assert len(expected) == 63
    assert q(pg, f"SELECT id FROM pgl.{expected}") == ["2"]


def test_a_writer_after_the_lock_waits_for_the_commit(pg, tmp_path):
    """SHARE ROW EXCLUSIVE stops inserts of any key while the transaction is open, not only
    those of doomed rows: an insert that arrives meanwhile runs after the commit."""
    setup_schema(pg, "pgg", ENROLL + """;
        CREATE FUNCTION pgg.hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN OLD; END $$;
        CREATE TRIGGER hold BEFORE DELETE ON enroll FOR EACH ROW EXECUTE FUNCTION pgg.hold()""")
    cfg = config(pg, tmp_path, guard_toml("pgg.enroll", ["user_id", "course"], name="g"))
    blocker = psycopg2.connect(pg.dsn())
    writer = psycopg2.connect(pg.dsn())
    writer.autocommit = True
    try:
        blocker.cursor().execute("SELECT pg_advisory_lock(4242)")
        blocker.commit()
        proc = start_tool(cfg, "dedupe", "--guard", "g", "--apply", *ADMIN)
        time.sleep(1.5)  # the run holds its table lock and waits in its DELETE trigger
        assert proc.poll() is None
        done = {}

        def insert():
            writer.cursor().execute("INSERT INTO pgg.enroll VALUES (200, 1, 'algebra')")
            done["at"] = time.monotonic()

        t = threading.Thread(target=insert)
        t.start()
        time.sleep(1.0)
        assert "at" not in done  # the insert waits for the dedupe transaction
        released = time.monotonic()
        blocker.cursor().execute("SELECT pg_advisory_unlock(4242)")
        blocker.commit()
        out, err = proc.communicate(timeout=60)
        t.join(timeout=60)
    finally:
        blocker.close()
        writer.close()
    assert proc.returncode == 0, out + err
    assert done["at"] >= released
    # The late insert came after the commit: a new duplicate of a kept row, which the next
    # audit shows (stopping such writes is the guard's job; see docs/audit.md).
    assert q(pg, "SELECT id FROM pgg.enroll WHERE user_id = 1 AND course = 'algebra' "
                 "ORDER BY id") == ["1", "200"]


def test_dedupe_with_nulls_not_distinct(pg, tmp_path):
    setup_schema(pg, "pgnn", ENROLL)
    cfg = config(pg, tmp_path, guard_toml("pgnn.enroll", ["user_id", "course"], name="g",
                                          nulls_distinct=False))
    r = run_tool(cfg, "dedupe", "--guard", "g", "--keep", "newest", "--apply", *ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert q(pg, "SELECT id FROM pgnn.enroll ORDER BY id") == ["4", "6", "7", "8", "10"]
    assert q(pg, "SELECT id FROM pgnn.enroll__uniqguard_quarantine ORDER BY id") == [
        "1", "2", "3", "5", "9"]
    q(pg, "CREATE UNIQUE INDEX ON pgnn.enroll (user_id, course) NULLS NOT DISTINCT")


def test_a_column_the_quarantine_table_adds_is_refused(pg, tmp_path):
    setup_schema(pg, "pgr", "CREATE TABLE t (id int PRIMARY KEY, a int, guard text); "
                            "INSERT INTO t VALUES (1, 1, 'x'), (2, 1, 'y')")
    cfg = config(pg, tmp_path, guard_toml("pgr.t", ["a"], name="g"))
    r = run_tool(cfg, "dedupe", "--guard", "g", "--apply", *ADMIN)
    assert r.returncode == 2
    assert r.stderr == ("uniqguard: pgr.t has a column named guard, which the quarantine table "
                        "adds itself\n")
    assert q(pg, "SELECT count(*) FROM pgr.t") == ["2"]


def test_an_unknown_guard_name_is_an_error(pg, tmp_path):
    setup_schema(pg, "pgx", "CREATE TABLE t (id int PRIMARY KEY, a int)")
    cfg = config(pg, tmp_path, guard_toml("pgx.t", ["a"], name="g"))
    for args in (("audit", "--guard", "nope"), ("dedupe", "--guard", "nope")):
        r = run_tool(cfg, *args)
        assert r.returncode == 2
        assert r.stderr == f"uniqguard: {cfg}: no guard named nope\n"
    r = run_tool(cfg, "dedupe")  # --guard is required
    assert r.returncode == 2
    assert "--guard is required" in r.stderr
