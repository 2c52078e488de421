"""psql through the proxy: its output must be what the server itself gives psql."""
import os
import subprocess

import pytest


def psql(port, *args, stdin=None, database="app", check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGCONNECT_TIMEOUT="10", PGAPPNAME="psql-test")
    r = subprocess.run(
        ["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
         "-P", "pager=off", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert r.returncode == 0, f"psql failed ({r.returncode}): {r.stderr}"
    return r


@pytest.fixture(scope="module")
def meta_table(pg):
    pg.psql_admin("""
        DROP TABLE IF EXISTS psql_meta;
        CREATE TABLE psql_meta (
            id serial PRIMARY KEY,
            email text NOT NULL UNIQUE,
            score numeric(10,2) CHECK (score >= 0),
            created timestamptz DEFAULT now()
        );
        CREATE INDEX psql_meta_created ON psql_meta (created);
        COMMENT ON TABLE psql_meta IS 'a table for meta-commands';
    """, database="app")
    return "psql_meta"


def test_simple_query(proxy):
    r = psql(proxy.port, "-At", "-c", "SELECT 6 * 7, 'through the proxy'")
    assert r.stdout == "42|through the proxy\n"


def test_aligned_output_identical(pg, proxy):
    sql = "SELECT g AS n, md5(g::text) AS h, g % 3 = 0 AS fizz FROM generate_series(1, 50) g"
    via = psql(proxy.port, "-c", sql)
    direct = psql(pg.port, "-c", sql)
    assert via.stdout == direct.stdout
    assert via.stdout.rstrip().endswith("(50 rows)")


@pytest.mark.parametrize("command", ["\\dt", "\\d psql_meta", "\\d+ psql_meta", "\\l", "\\dn",
                                     "\\di"])
def test_meta_command_identical(pg, proxy, meta_table, command):
    via = psql(proxy.port, "-c", command)
    direct = psql(pg.port, "-c", command)
    assert via.stdout == direct.stdout
    assert via.stderr == direct.stderr == ""
    if command == "\\dt":
        assert "psql_meta" in via.stdout
    elif command.startswith("\\d "):
        assert 'Table "public.psql_meta"' in via.stdout
        assert '"psql_meta_email_key" UNIQUE CONSTRAINT, btree (email)' in via.stdout
    elif command == "\\l":
        assert " app " in via.stdout and " postgres " in via.stdout


def _copy_text_escape(value):
    if value is None:
        return "\\N"
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _copy_rows(n):
    lines = []
    for i in range(1, n + 1):
        name = f"name-{i}"
        if i % 7 == 0:
            note = None
        elif i % 5 == 0:
            note = f"tab\there\\back\nnewline é ü 日本 {i}"
        else:
            note = "x" * (i % 97)
        lines.append("\t".join([str(i), _copy_text_escape(name), _copy_text_escape(note)]))
    return "\n".join(lines) + "\n"


def test_copy_from_stdin_and_to_stdout(pg, proxy):
    pg.psql_admin("DROP TABLE IF EXISTS psql_copy; "
                  "CREATE TABLE psql_copy (id int PRIMARY KEY, name text, note text)",
                  database="app")
    data = _copy_rows(3000)
    script = "\\copy psql_copy from stdin\n" + data + "\\.\n"
    r = psql(proxy.port, "-v", "ON_ERROR_STOP=1", "-f", "-", stdin=script)
    assert r.stdout == "COPY 3000\n"
    # What arrived at the server, read directly.
    assert pg.psql_admin("SELECT count(*), count(note), sum(id) FROM psql_copy",
                         database="app") == "3000|2572|4501500\n"
    # ... and back out through the proxy, byte for byte.
    out = psql(proxy.port, "-c", "\\copy (SELECT * FROM psql_copy ORDER BY id) to stdout")
    assert out.stdout == data
    direct = psql(pg.port, "-c", "\\copy (SELECT * FROM psql_copy ORDER BY id) to stdout")
    assert direct.stdout == out.stdout
    # A whole table out (no query), CSV with a header.
    csv = psql(proxy.port, "-c", "\\copy psql_copy to stdout with (format csv, header)")
    lines = csv.stdout.splitlines()
    assert lines[0] == "id,name,note"
    assert csv.stdout == psql(pg.port, "-c",
                              "\\copy psql_copy to stdout with (format csv, header)").stdout


def test_copy_from_stdin_error_keeps_session(pg, proxy):
    """A COPY that fails in the middle (duplicate key) is reported and the session goes on."""
    pg.psql_admin("DROP TABLE IF EXISTS psql_copy_err; CREATE TABLE psql_copy_err (id int PRIMARY KEY)",
                  database="app")
    rows = "".join(f"{i}\n" for i in range(1, 2001)) + "5\n"
    script = ("\\set VERBOSITY verbose\n\\copy psql_copy_err from stdin\n" + rows + "\\.\n"
              "SELECT count(*) FROM psql_copy_err;\n")
    r = psql(proxy.port, "-At", "-f", "-", stdin=script, check=False)
    assert r.returncode == 0
    assert "23505" in r.stderr and "duplicate key value" in r.stderr
    assert r.stdout == "0\n"


def test_multi_statement_query_string(proxy, pg):
    sql = ("CREATE TEMP TABLE m (a int); INSERT INTO m VALUES (1), (2), (3); "
           "SELECT sum(a) FROM m; UPDATE m SET a = a * 10; SELECT string_agg(a::text, ',' ORDER BY a) FROM m")
    via = psql(proxy.port, "-At", "-c", sql)
    direct = psql(pg.port, "-At", "-c", sql)
    # psql 15 shows every result of a multi-statement string.
    assert via.stdout == "CREATE TABLE\nINSERT 0 3\n6\nUPDATE 3\n10,20,30\n"
    assert via.stdout == direct.stdout


def test_error_then_session_continues(proxy):
    script = ("\\set VERBOSITY verbose\n"
              "SELECT 1;\n"
              "SELECT 1/0;\n"
              "SELECT 2;\n"
              "BEGIN;\n"
              "SELECT no_such_column FROM pg_class;\n"
              "SELECT 3;\n"          # in an aborted transaction: 25P02
              "ROLLBACK;\n"
              "SELECT 4;\n")
    r = psql(proxy.port, "-At", "-f", "-", stdin=script, check=False)
    assert r.returncode == 0
    assert r.stdout == "1\n2\nBEGIN\nROLLBACK\n4\n"
    errors = [line for line in r.stderr.splitlines() if "ERROR:" in line]
    assert len(errors) == 3, r.stderr
    assert "22012: division by zero" in errors[0]
    assert '42703: column "no_such_column" does not exist' in errors[1]
    assert "25P02: current transaction is aborted" in errors[2]


def test_on_error_stop_exit_status(proxy):
    r = psql(proxy.port, "-v", "ON_ERROR_STOP=1", "-At", "-c", "SELECT 1/0", check=False)
    assert r.returncode == 1
    assert "ERROR:  division by zero" in r.stderr
