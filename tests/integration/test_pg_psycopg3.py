"""psycopg 3 (extended protocol, server-side binding, pipeline mode, binary formats) through
the proxy."""
import datetime
import decimal
import os

import psycopg
import psycopg.errors
import pytest


@pytest.fixture
def conn(proxy):
    with psycopg.connect(proxy.dsn(connect_timeout=10), autocommit=True) as c:
        yield c


def direct(pg, sql):
    return pg.psql_admin(sql, database="app")


def test_server_side_binding(conn):
    cur = conn.cursor()
    cur.execute("SELECT current_query(), %s::int + %s::int, %s::text, %s::int IS NULL",
                (40, 2, "o'clock", None))
    query, total, text, isnull = cur.fetchone()
    # The server saw placeholders, not literals: the parameters travelled in Bind.
    assert query == "SELECT current_query(), $1::int + $2::int, $3::text, $4::int IS NULL"
    assert (total, text, isnull) == (42, "o'clock", True)


def test_prepared_statement(conn):
    cur = conn.cursor()
    sql = "SELECT %s::int * 2, %s::text || '!'"
    results = []
    for i in range(6):
        cur.execute(sql, (i, f"v{i}"), prepare=True)
        results.append(cur.fetchone())
    assert results == [(i * 2, f"v{i}!") for i in range(6)]
    cur.execute("SELECT name, statement FROM pg_prepared_statements")
    prepared = cur.fetchall()
    assert len(prepared) == 1
    name, statement = prepared[0]
    assert name.startswith("_pg3_")
    assert statement == "SELECT $1::int * 2, $2::text || '!'"
    # An error in a prepared statement's execution keeps the statement and the session.
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        cur.execute("SELECT %s::int", ("nope",), prepare=True)
    cur.execute(sql, (21, "x"), prepare=True)
    assert cur.fetchone() == (42, "x!")


def test_executemany(pg, conn):
    direct(pg, "DROP TABLE IF EXISTS p3_many; CREATE TABLE p3_many (id int PRIMARY KEY, v text)")
    cur = conn.cursor()
    cur.executemany("INSERT INTO p3_many VALUES (%s, %s)", [(i, f"row {i}") for i in range(1, 1001)])
    assert cur.rowcount == 1000
    assert direct(pg, "SELECT count(*), sum(id) FROM p3_many") == "1000|500500\n"
    cur.executemany("UPDATE p3_many SET v = %s WHERE id = %s RETURNING id, v",
                    [(f"new {i}", i) for i in (5, 6, 7)], returning=True)
    returned = []
    while True:
        returned.append(cur.fetchone())
        if not cur.nextset():
            break
    assert returned == [(5, "new 5"), (6, "new 6"), (7, "new 7")]
    # A failing row: the batch is one transaction outside autocommit.
    with psycopg.connect(conn.info.dsn) as tx:
        with pytest.raises(psycopg.errors.UniqueViolation):
            tx.cursor().executemany("INSERT INTO p3_many VALUES (%s, 'x')", [(2001,), (2002,), (1,)])
    assert direct(pg, "SELECT count(*) FROM p3_many WHERE id > 2000") == "0\n"


def test_pipeline(pg, conn):
    direct(pg, "DROP TABLE IF EXISTS p3_pipe; CREATE TABLE p3_pipe (id int PRIMARY KEY, v text)")
    with conn.pipeline():
        cursors = [conn.execute("INSERT INTO p3_pipe VALUES (%s, %s) RETURNING id * 10, v",
                                (i, f"p{i}")) for i in range(1, 201)]
        counts = conn.execute("SELECT count(*), sum(id) FROM p3_pipe")
    assert [c.fetchone() for c in cursors] == [(i * 10, f"p{i}") for i in range(1, 201)]
    assert counts.fetchone() == (200, 20100)
    assert direct(pg, "SELECT count(*) FROM p3_pipe") == "200\n"


def test_pipeline_error_aborts_rest(pg, conn):
    """psycopg's documented behaviour: the failing statement's error is raised, statements after
    it up to the next sync are not executed, and those before it in the same implicit
    transaction are rolled back; after the sync the pipeline runs normally."""
    direct(pg, "DROP TABLE IF EXISTS p3_pipe_err; CREATE TABLE p3_pipe_err (v text)")
    # psycopg raises the error at whichever call first finds it read: at the third execute when
    # the reply came back that fast, else when the block ends. The third statement is not
    # executed either way.
    later = []
    with pytest.raises(psycopg.errors.UndefinedTable) as err:
        with conn.pipeline():
            first = conn.execute("INSERT INTO p3_pipe_err VALUES (%s) RETURNING v", ["one"])
            conn.execute("INSERT INTO no_such_table VALUES (%s)", ["two"])
            later.append(conn.execute("INSERT INTO p3_pipe_err VALUES (%s)", ["three"]))
    assert err.value.sqlstate == "42P01"
    assert first.fetchone() == ("one",)
    for third in later:
        with pytest.raises(psycopg.ProgrammingError):
            third.fetchone()
    assert direct(pg, "SELECT count(*) FROM p3_pipe_err") == "0\n"

    with conn.pipeline() as p:
        conn.execute("INSERT INTO p3_pipe_err VALUES (%s)", ["a"])
        # psycopg raises the error at whichever call first sees its result: that depends on
        # timing, so the three calls are inside one raises-block.
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1/0")
            conn.execute("INSERT INTO p3_pipe_err VALUES (%s)", ["b"])
            p.sync()
        # psycopg stops processing results at the error: when it was raised before the sync was
        # sent, or before the sync's reply had come, the aborted INSERT's result is processed
        # later, and raises PipelineAborted there (at the pipeline's exit, if nothing else).
        # Also timing: another sync takes it here, whichever way it went.
        try:
            p.sync()
        except psycopg.errors.PipelineAborted:
            pass
        after = conn.execute("INSERT INTO p3_pipe_err VALUES (%s) RETURNING v", ["c"])
    assert after.fetchone() == ("c",)
    assert direct(pg, "SELECT string_agg(v, ',') FROM p3_pipe_err") == "c\n"
    assert conn.execute("SELECT 'still fine'").fetchone() == ("still fine",)


def test_copy_write_and_read(pg, conn):
    direct(pg, "DROP TABLE IF EXISTS p3_copy; "
               "CREATE TABLE p3_copy (id int, name text, data bytea, at timestamptz)")
    at = datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone.utc)
    rows = [(i, f"name {i}\t\\ é", os.urandom(i % 50), at) for i in range(1, 4001)]
    cur = conn.cursor()
    with cur.copy("COPY p3_copy (id, name, data, at) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    assert cur.rowcount == 4000
    assert direct(pg, "SELECT count(*), sum(id), sum(length(data)) FROM p3_copy") == \
        f"4000|8002000|{sum(len(r[2]) for r in rows)}\n"
    with cur.copy("COPY (SELECT id, name, data, at FROM p3_copy ORDER BY id) TO STDOUT") as copy:
        copy.set_types(["int4", "text", "bytea", "timestamptz"])
        got = list(copy.rows())
    assert got == rows
    # Binary COPY both ways.
    with cur.copy("COPY (SELECT id, data FROM p3_copy ORDER BY id) TO STDOUT (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "bytea"])
        binary = list(copy.rows())
    assert binary == [(r[0], r[2]) for r in rows]
    direct(pg, "TRUNCATE p3_copy")
    with cur.copy("COPY p3_copy (id, data) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "bytea"])
        for r in binary:
            copy.write_row(r)
    assert direct(pg, "SELECT count(*), sum(length(data)) FROM p3_copy") == \
        f"4000|{sum(len(r[2]) for r in rows)}\n"


def test_binary_parameters_and_results(conn):
    cur = conn.cursor(binary=True)
    blob = bytes(range(256)) * 40
    when = datetime.datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=datetime.timezone.utc)
    cur.execute("SELECT %b::int8, %b::bytea, %b::text, %b::numeric, %b::timestamptz, %b::float8",
                (2 ** 40, blob, "ünïcode", decimal.Decimal("12345.6789"), when, 0.25))
    res = cur.pgresult
    assert [res.fformat(i) for i in range(res.nfields)] == [1] * 6
    assert cur.fetchone() == (2 ** 40, blob, "ünïcode", decimal.Decimal("12345.6789"), when, 0.25)
    # Many rows in binary.
    cur.execute("SELECT g, g::text FROM generate_series(1, 5000) g")
    assert cur.fetchall() == [(g, str(g)) for g in range(1, 5001)]
