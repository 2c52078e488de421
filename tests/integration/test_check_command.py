"""`uniqguard check -c FILE` (SPEC §1) against a real PostgreSQL 15: what it prints for each guard
(types and collations, counts, duplicate groups, the unique index that has landed, covering
indexes, writers out of the proxy's sight), its exit status, and the accounts it logs in with."""
import os
import subprocess

import pytest

from harness.pg_server import (CLEAR_PASSWORD, CLEAR_USER, MD5_PASSWORD, MD5_USER, SCRAM_PASSWORD,
                               SCRAM_USER)
from harness.ports import free_port
from harness.proxy import BINARY


def run_check(pg, tmp_path, guards, *, port=None, tls="prefer", extra_backend="", args=(),
              env=None, raw_config=None):
    """Writes a config with `guards` (TOML text) and runs `uniqguard check` on it."""
    path = tmp_path / "uniqguard.toml"
    if raw_config is None:
        raw_config = (
            "[backend]\n"
            f'address = "127.0.0.1:{port or pg.port}"\n'
            f'tls = "{tls}"\n'
            'user = "uniqguard"\n'
            'password = "proxy-secret"\n'
            'database = "app"\n' + extra_backend + "\n" + guards)
    path.write_text(raw_config)
    run_env = dict(os.environ)
    run_env.update(env or {})
    result = subprocess.run([BINARY, "check", "-c", str(path), *args], capture_output=True,
                            text=True, timeout=60, env=run_env)
    return result


def guard(table, columns, **options):
    text = f'[[guard]]\ntable = "{table}"\ncolumns = [{", ".join(f"{c!r}" for c in columns)}]\n'
    for key, value in options.items():
        text += f"{key} = {value!r}\n" if isinstance(value, str) else \
            f"{key} = {str(value).lower()}\n"
    return text.replace("'", '"')


def lines(result):
    return result.stdout.splitlines()


def block(result, guard_name):
    """The lines of one guard's block, without the indentation."""
    out, inside = [], False
    for line in lines(result):
        if line.startswith("guard "):
            inside = line.startswith(f"guard {guard_name} ")
            continue
        if inside:
            if not line.startswith("  "):
                break
            out.append(line[2:])
    assert out, f"no block for {guard_name} in:\n{result.stdout}\n{result.stderr}"
    return out


def setup_schema(pg, schema, sql):
    pg.recreate_schema(schema, sql)


# ------------------------------------------------------------------------ counts

def test_clean_table_can_be_enforced(pg, tmp_path):
    setup_schema(pg, "chk_clean", """
        CREATE TABLE enroll (id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL);
        INSERT INTO enroll (user_id, course_id) VALUES (1, 1), (1, 2), (2, 1)""")
    r = run_check(pg, tmp_path, guard("chk_clean.enroll", ["user_id", "course_id"]))
    assert r.returncode == 0, r.stdout + r.stderr
    assert lines(r)[0] == f"uniqguard check: {tmp_path / 'uniqguard.toml'}"
    assert lines(r)[1].startswith(f'connected to the database server at 127.0.0.1:{pg.port} '
                                  '(database "app", user "uniqguard"), PostgreSQL 15.')
    assert "guard enroll_user_id_course_id_uniq (chk_clean.enroll: user_id, course_id)" in lines(r)
    assert block(r, "enroll_user_id_course_id_uniq") == [
        "table: chk_clean.enroll",
        "column user_id: integer",
        "column course_id: integer",
        "rows: 3",
        "distinct keys: 3",
        "rows with a NULL in the key: 0 (never duplicates: nulls_distinct = true)",
        "duplicate groups: 0",
        "unique index enforcing the key: none",
        "CREATE UNIQUE INDEX would succeed now",
        "covering index: none (confirmations and dedupe scan the table)",
        "writers out of the proxy's sight: none",
        "verdict: can be enforced",
    ]
    assert lines(r)[-1] == "checked 1 guard: 1 can be enforced, 0 cannot"


DUPLICATES = """
    CREATE TABLE enroll (id serial PRIMARY KEY, user_id int, course_id int, title text);
    INSERT INTO enroll (user_id, course_id) VALUES
        (1, 1), (1, 1), (1, 1),   -- a group of 3
        (2, 1), (2, 1),           -- a group of 2
        (3, 1), (4, 2),
        (NULL, 1), (NULL, 1)      -- NULL keys: duplicates only with nulls_distinct = false
"""


def test_legacy_duplicates_are_counted(pg, tmp_path):
    setup_schema(pg, "chk_dups", DUPLICATES)
    r = run_check(pg, tmp_path, guard("chk_dups.enroll", ["user_id", "course_id"], name="dups"))
    assert r.returncode == 0, r.stdout + r.stderr  # duplicates do not stop the guard
    b = block(r, "dups")
    assert "rows: 9" in b
    assert "distinct keys: 4" in b
    assert "rows with a NULL in the key: 2 (never duplicates: nulls_distinct = true)" in b
    assert "duplicate groups: 2 (5 rows; dedupe would remove 3)" in b
    assert "CREATE UNIQUE INDEX would fail now: 2 duplicate groups" in b
    assert "unique index enforcing the key: none" in b
    assert b[-1] == "verdict: can be enforced"


def test_nulls_not_distinct_counts_null_keys_as_duplicates(pg, tmp_path):
    setup_schema(pg, "chk_dupsnull", DUPLICATES)
    r = run_check(pg, tmp_path, guard("chk_dupsnull.enroll", ["user_id", "course_id"],
                                      name="dupsnull", nulls_distinct=False))
    assert r.returncode == 0, r.stdout + r.stderr
    b = block(r, "dupsnull")
    assert "distinct keys: 5" in b
    assert "rows with a NULL in the key: 2 (NULLs compare equal: nulls_distinct = false)" in b
    assert "duplicate groups: 3 (7 rows; dedupe would remove 4)" in b
    assert "CREATE UNIQUE INDEX would fail now: 3 duplicate groups" in b


def test_counts_use_the_collation_equality_of_the_server(pg, tmp_path):
    # char(n) ignores trailing spaces, numeric 1.0 = 1.00: grouped by the server, as an index.
    setup_schema(pg, "chk_eq", """
        CREATE TABLE t (code char(5), amount numeric);
        INSERT INTO t VALUES ('ab', 1.0), ('ab  ', 1.00), ('ab', 2)""")
    r = run_check(pg, tmp_path, guard("chk_eq.t", ["code", "amount"], name="eq"))
    b = block(r, "eq")
    assert "column code: character(5), collation \"default\" (deterministic)" in b
    assert "column amount: numeric" in b
    assert "duplicate groups: 1 (2 rows; dedupe would remove 1)" in b


# ---------------------------------------------------------------- unique indexes

def test_real_unique_index_is_reported_as_landed(pg, tmp_path):
    setup_schema(pg, "chk_landed", """
        CREATE TABLE by_index (user_id int, course_id int);
        CREATE UNIQUE INDEX by_index_uq ON by_index (course_id, user_id);
        CREATE TABLE by_constraint (user_id int, course_id int,
                                    CONSTRAINT by_constraint_key UNIQUE (user_id, course_id));
        CREATE TABLE by_pkey (user_id int, course_id int, PRIMARY KEY (user_id, course_id));
        CREATE TABLE by_subset (user_id int UNIQUE, course_id int)""")
    guards = (guard("chk_landed.by_index", ["user_id", "course_id"], name="g_index") +
              guard("chk_landed.by_constraint", ["user_id", "course_id"], name="g_constraint") +
              guard("chk_landed.by_pkey", ["user_id", "course_id"], name="g_pkey") +
              guard("chk_landed.by_subset", ["user_id", "course_id"], name="g_subset"))
    r = run_check(pg, tmp_path, guards)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("unique index enforcing the key: by_index_uq (unique index): "
            "the migration has landed") in block(r, "g_index")
    assert ("unique index enforcing the key: by_constraint_key (unique constraint): "
            "the migration has landed") in block(r, "g_constraint")
    assert ("unique index enforcing the key: by_pkey_pkey (primary key): "
            "the migration has landed") in block(r, "g_pkey")
    assert ("unique index enforcing the key: by_subset_user_id_key (unique constraint, on a "
            "subset of the key: stricter): the migration has landed") in block(r, "g_subset")
    # A unique index is also an index the proxy's lookups can use.
    assert "covering index: by_index_uq" in block(r, "g_index")


def test_partial_and_nulls_distinct_unique_indexes_do_not_count(pg, tmp_path):
    setup_schema(pg, "chk_partial", """
        CREATE TABLE partial (user_id int, course_id int, active bool);
        CREATE UNIQUE INDEX partial_uq ON partial (user_id, course_id) WHERE active;
        CREATE TABLE nulls (user_id int, course_id int);
        CREATE UNIQUE INDEX nulls_uq ON nulls (user_id, course_id);
        CREATE TABLE nnd (user_id int, course_id int);
        CREATE UNIQUE INDEX nnd_uq ON nnd (user_id, course_id) NULLS NOT DISTINCT""")
    guards = (guard("chk_partial.partial", ["user_id", "course_id"], name="g_partial") +
              guard("chk_partial.nulls", ["user_id", "course_id"], name="g_nulls",
                    nulls_distinct=False) +
              guard("chk_partial.nnd", ["user_id", "course_id"], name="g_nnd",
                    nulls_distinct=False))
    r = run_check(pg, tmp_path, guards)
    b = block(r, "g_partial")
    assert "unique index enforcing the key: none" in b
    assert "unique index not counted: partial_uq (unique index): partial (WHERE active)" in b
    b = block(r, "g_nulls")
    assert "unique index enforcing the key: none" in b
    assert ("unique index not counted: nulls_uq (unique index): its NULLs are distinct, but the "
            "guard has nulls_distinct = false") in b
    assert ("unique index enforcing the key: nnd_uq (unique index): the migration has landed"
            in block(r, "g_nnd"))


# --------------------------------------------------------------- covering index

def test_covering_index_yes_and_no(pg, tmp_path):
    setup_schema(pg, "chk_cover", """
        CREATE TABLE covered (user_id int, course_id int, at date);
        CREATE INDEX covered_idx ON covered (course_id, user_id, at);
        CREATE TABLE half (user_id int, course_id int);
        CREATE INDEX half_user ON half (user_id);
        CREATE INDEX half_partial ON half (user_id, course_id) WHERE user_id > 0""")
    r = run_check(pg, tmp_path,
                  guard("chk_cover.covered", ["user_id", "course_id"], name="g_covered") +
                  guard("chk_cover.half", ["user_id", "course_id"], name="g_half"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "covering index: covered_idx" in block(r, "g_covered")
    assert "covering index: none (confirmations and dedupe scan the table)" in block(r, "g_half")


# ----------------------------------------------------------- cannot be enforced

def test_missing_table_and_column_exit_1(pg, tmp_path):
    setup_schema(pg, "chk_missing", "CREATE TABLE present (a int, b int)")
    guards = (guard("chk_missing.absent", ["a"], name="g_table") +
              guard("chk_missing.present", ["a", "nosuch"], name="g_column") +
              guard("chk_missing.Present", ["a"], name="g_case"))
    r = run_check(pg, tmp_path, guards)
    assert r.returncode == 1, r.stdout + r.stderr
    assert block(r, "g_table") == [
        "table: chk_missing.absent: does not exist",
        "verdict: cannot be enforced: table chk_missing.absent does not exist",
    ]
    b = block(r, "g_column")
    assert "column a: integer" in b
    assert "column nosuch: missing" in b
    assert b[-1] == "verdict: cannot be enforced: column nosuch does not exist"
    assert block(r, "g_case")[0] == ("table: chk_missing.Present: does not exist "
                                     "(did you mean chk_missing.present?)")
    assert lines(r)[-1] == "checked 3 guards: 0 can be enforced, 3 cannot"


def test_unqualified_table_follows_search_path(pg, tmp_path):
    pg.psql_admin("DROP TABLE IF EXISTS public.chk_unqualified; "
                  "CREATE TABLE public.chk_unqualified (a int); "
                  "GRANT SELECT ON public.chk_unqualified TO PUBLIC", database="app")
    r = run_check(pg, tmp_path, guard("chk_unqualified", ["a"], name="g_unq"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert block(r, "g_unq")[0] == "table: public.chk_unqualified"


@pytest.mark.parametrize("sql_type,shown", [("jsonb", "jsonb"), ("float8", "double precision")])
def test_unsupported_type_exit_1(pg, tmp_path, sql_type, shown):
    schema = f"chk_type_{sql_type}"
    setup_schema(pg, schema, f"CREATE TABLE t (id int, data {sql_type})")
    r = run_check(pg, tmp_path, guard(f"{schema}.t", ["id", "data"], name="g_type"))
    assert r.returncode == 1, r.stdout + r.stderr
    b = block(r, "g_type")
    assert f"column data: {shown} (not supported: the proxy cannot compare it)" in b
    assert b[-1] == (f"verdict: cannot be enforced: column data has type {shown}, which the "
                     "proxy cannot compare")


def test_nondeterministic_collation_exit_1(pg, tmp_path):
    setup_schema(pg, "chk_coll", """
        CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
        CREATE TABLE t (name text COLLATE ci, code text COLLATE "C")""")
    r = run_check(pg, tmp_path, guard("chk_coll.t", ["name"], name="g_ci") +
                  guard("chk_coll.t", ["code"], name="g_c"))
    assert r.returncode == 1, r.stdout + r.stderr
    b = block(r, "g_ci")
    assert "column name: text, collation chk_coll.ci (nondeterministic: the proxy cannot compare it)" in b
    assert b[-1] == "verdict: cannot be enforced: column name has the nondeterministic collation chk_coll.ci"
    b = block(r, "g_c")
    assert 'column code: text, collation "C" (deterministic)' in b
    assert b[-1] == "verdict: can be enforced"


def test_unreadable_table_cannot_be_enforced(pg, tmp_path):
    # serve loads the key set with SELECT (SPEC §6): an account that cannot read the table
    # cannot enforce its guard.
    setup_schema(pg, "chk_priv", "CREATE TABLE t (a int)")
    pg.psql_admin("REVOKE SELECT ON chk_priv.t FROM PUBLIC", database="app")
    r = run_check(pg, tmp_path, guard("chk_priv.t", ["a"], name="g_priv"),
                  args=["--user", MD5_USER, "--password-env", "PW"], env={"PW": MD5_PASSWORD})
    assert r.returncode == 1, r.stdout + r.stderr
    b = block(r, "g_priv")
    assert "rows: not counted: ERROR 42501: permission denied for table t" in b
    assert b[-1] == ("verdict: cannot be enforced: the table cannot be read: "
                     "ERROR 42501: permission denied for table t")


# ------------------------------------------------------------- hidden writers

def test_writers_out_of_sight_are_named(pg, tmp_path):
    setup_schema(pg, "chk_writers", """
        CREATE TABLE enroll (user_id int, course_id int);
        CREATE TABLE legacy_enroll (user_id int, course_id int);
        CREATE FUNCTION copy_enroll() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO chk_writers.enroll VALUES (NEW.user_id, NEW.course_id); RETURN NEW; END $$;
        CREATE TRIGGER legacy_copy AFTER INSERT ON legacy_enroll
            FOR EACH ROW EXECUTE FUNCTION copy_enroll();
        CREATE FUNCTION enroll_user(u int) RETURNS void LANGUAGE sql AS
            'INSERT INTO chk_writers.enroll VALUES (u, 1)';
        -- a name that only contains the table's name is not the table
        CREATE FUNCTION other() RETURNS int LANGUAGE sql AS 'SELECT count(*)::int FROM chk_writers.legacy_enroll';
        CREATE VIEW enroll_view AS SELECT * FROM enroll;
        CREATE VIEW enroll_view_2 AS SELECT * FROM enroll_view WHERE course_id > 1;
        CREATE VIEW enroll_counts AS SELECT course_id, count(*) FROM enroll GROUP BY course_id""")
    r = run_check(pg, tmp_path, guard("chk_writers.enroll", ["user_id", "course_id"], name="g_w"))
    assert r.returncode == 0, r.stdout + r.stderr
    b = block(r, "g_w")
    start = b.index("writers out of the proxy's sight: 5")
    assert b[start + 1:start + 6] == [
        "  trigger legacy_copy on chk_writers.legacy_enroll (function chk_writers.copy_enroll())",
        "  updatable view chk_writers.enroll_view (INSERT, UPDATE)",
        "  updatable view chk_writers.enroll_view_2 (INSERT, UPDATE)",
        "  function chk_writers.copy_enroll()",
        "  function chk_writers.enroll_user(u integer)",
    ]
    assert not any("enroll_counts" in line or "other()" in line for line in b)


def test_partitions_are_writers_in_both_directions(pg, tmp_path):
    setup_schema(pg, "chk_parts", """
        CREATE TABLE events (user_id int, day date) PARTITION BY RANGE (day);
        CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
            PARTITION BY RANGE (day);
        CREATE TABLE events_2025_h1 PARTITION OF events_2025
            FOR VALUES FROM ('2025-01-01') TO ('2025-07-01')""")
    r = run_check(pg, tmp_path,
                  guard("chk_parts.events", ["user_id", "day"], name="g_parent") +
                  guard("chk_parts.events_2025_h1", ["user_id", "day"], name="g_leaf"))
    assert r.returncode == 0, r.stdout + r.stderr
    b = block(r, "g_parent")
    assert b[0] == "table: chk_parts.events (partitioned)"
    assert "writers out of the proxy's sight: 3" in b
    for name in ("events_2024", "events_2025", "events_2025_h1"):
        assert f"  partition chk_parts.{name}" in b
    b = block(r, "g_leaf")
    assert "writers out of the proxy's sight: 2" in b
    assert "  partitioned table chk_parts.events (rows inserted there land here)" in b
    assert "  partitioned table chk_parts.events_2025 (rows inserted there land here)" in b


def test_rules_and_cascading_foreign_keys_are_writers(pg, tmp_path):
    setup_schema(pg, "chk_rules", """
        CREATE TABLE users (id int PRIMARY KEY);
        CREATE TABLE enroll (user_id int REFERENCES users ON UPDATE CASCADE, course_id int);
        CREATE TABLE intake (user_id int, course_id int);
        CREATE RULE intake_copy AS ON INSERT TO intake
            DO ALSO INSERT INTO enroll VALUES (NEW.user_id, NEW.course_id)""")
    r = run_check(pg, tmp_path, guard("chk_rules.enroll", ["user_id", "course_id"], name="g_r"))
    b = block(r, "g_r")
    assert "  rule intake_copy on chk_rules.intake (ON INSERT)" in b
    assert ("  foreign key enroll_user_id_fkey to chk_rules.users: ON UPDATE CASCADE rewrites "
            "user_id") in b


def test_identifiers_are_quoted(pg, tmp_path):
    setup_schema(pg, "chk_quote", """
        CREATE TABLE "Odd ""Name""; DROP TABLE x" ("User Id" int, "select" int);
        INSERT INTO "Odd ""Name""; DROP TABLE x" VALUES (1, 1), (1, 1)""")
    r = run_check(pg, tmp_path, guard('chk_quote.Odd \\"Name\\"; DROP TABLE x',
                                      ["User Id", "select"], name="g_q"))
    assert r.returncode == 0, r.stdout + r.stderr
    b = block(r, "g_q")
    assert b[0] == 'table: chk_quote."Odd ""Name""; DROP TABLE x"'
    assert "duplicate groups: 1 (2 rows; dedupe would remove 1)" in b


# ------------------------------------------------------------------- accounts

ACCOUNTS = {
    "md5": (MD5_USER, MD5_PASSWORD),
    "scram": (SCRAM_USER, SCRAM_PASSWORD),
    "cleartext": (CLEAR_USER, CLEAR_PASSWORD),
}


@pytest.mark.parametrize("method", list(ACCOUNTS))
@pytest.mark.parametrize("tls", ["disable", "require"])
def test_user_and_password_env(pg, tmp_path, method, tls):
    user, password = ACCOUNTS[method]
    setup_schema(pg, "chk_acct", "CREATE TABLE t (a int)")
    r = run_check(pg, tmp_path, guard("chk_acct.t", ["a"], name="g_a"), tls=tls,
                  args=["--user", user, "--password-env", "CHECK_PW"], env={"CHECK_PW": password})
    assert r.returncode == 0, r.stdout + r.stderr
    assert f'(database "app", user "{user}")' in lines(r)[1]
    assert password not in r.stdout + r.stderr


@pytest.mark.parametrize("method", list(ACCOUNTS))
def test_wrong_password_exit_2_with_server_message(pg, tmp_path, method):
    user, _ = ACCOUNTS[method]
    r = run_check(pg, tmp_path, guard("t", ["a"]), args=["--user", user, "--password-env", "PW"],
                  env={"PW": "not-the-password"})
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith(f"uniqguard: cannot connect to the database server at "
                               f'127.0.0.1:{pg.port} (database "app", user "{user}"): ')
    assert f'FATAL 28P01: password authentication failed for user "{user}"' in r.stderr
    assert "not-the-password" not in r.stderr


def test_proxy_account_from_config_uses_scram(pg, tmp_path):
    # PROXY_USER authenticates with SCRAM-SHA-256 (harness pg_hba.conf); a wrong configured
    # password is the server's 28P01.
    r = run_check(pg, tmp_path, "", extra_backend="",
                  raw_config=f'[backend]\naddress = "127.0.0.1:{pg.port}"\nuser = "uniqguard"\n'
                             'password = "wrong"\ndatabase = "app"\n')
    assert r.returncode == 2
    assert 'password authentication failed for user "uniqguard"' in r.stderr
    r = run_check(pg, tmp_path, "")
    assert r.returncode == 0, r.stdout + r.stderr
    assert lines(r)[-1] == "no [[guard]] in the configuration: nothing to check"


def test_missing_password_env_exit_2(pg, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "UNIQGUARD_NO_SUCH_VAR"}
    path = tmp_path / "c.toml"
    path.write_text(f'[backend]\naddress = "127.0.0.1:{pg.port}"\n')
    r = subprocess.run([BINARY, "check", "-c", str(path), "--user", MD5_USER, "--password-env",
                        "UNIQGUARD_NO_SUCH_VAR"], capture_output=True, text=True, env=env,
                       timeout=30)
    assert r.returncode == 2
    assert r.stderr == ("uniqguard: --password-env: the environment variable "
                        "UNIQGUARD_NO_SUCH_VAR is not set\n")


def test_unreachable_backend_exit_2(pg, tmp_path):
    dead = free_port()
    r = run_check(pg, tmp_path, guard("t", ["a"]), port=dead)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"uniqguard: cannot connect to the database server at "
                               f"127.0.0.1:{dead}")
    assert "Connection refused" in r.stderr


def test_unknown_database_exit_2(pg, tmp_path):
    r = run_check(pg, tmp_path, "", raw_config=f'[backend]\naddress = "127.0.0.1:{pg.port}"\n'
                                               'user = "postgres"\ndatabase = "nosuchdb"\n')
    assert r.returncode == 2
    assert 'FATAL 3D000: database "nosuchdb" does not exist' in r.stderr


def test_bad_config_exit_2_with_loader_message(pg, tmp_path):
    r = run_check(pg, tmp_path, "", raw_config='[backend]\naddress = "127.0.0.1:1"\nbogus = 1\n')
    assert r.returncode == 2
    assert r.stdout == ""
    path = tmp_path / "uniqguard.toml"
    assert r.stderr.startswith(f"uniqguard: {path}:3: backend.bogus")


def test_missing_config_file_exit_2(tmp_path):
    r = subprocess.run([BINARY, "check", "-c", str(tmp_path / "absent.toml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert str(tmp_path / "absent.toml") in r.stderr


# ------------------------------------------- the internal client's own live tests

UNIT_TESTS = os.environ.get(
    "UNIQGUARD_UNIT_TESTS",
    os.path.join(os.path.dirname(BINARY), "tests", "unit_tests"))


def test_pgclient_against_the_server(pg):
    """PgConnection's hidden Catch2 cases ([live]): every login method, queries, COPY out."""
    assert os.path.exists(UNIT_TESTS), f"{UNIT_TESTS} is not built (scripts/test builds it)"
    r = subprocess.run([UNIT_TESTS, "[live]"], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, UNIQGUARD_TEST_PG_PORT=str(pg.port)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All tests passed" in r.stdout
