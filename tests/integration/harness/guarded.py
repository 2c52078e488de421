"""A guarded table behind a proxy, and its twin with a real unique index (the oracle).

The guarded table lives in database `app` (reached through the proxy, no unique index); the twin
has the same name, columns and constraint name in database `twin` (reached directly), so that a
real unique violation and the proxy's are compared field by field with nothing to translate.
"""
import json
import os
import time

import psycopg2

TWIN_DB = "twin"


def ensure_twin_database(pg):
    if pg.psql_admin("SELECT 1 FROM pg_database WHERE datname = 'twin'").strip() != "1":
        pg.psql_admin(f"CREATE DATABASE {TWIN_DB}")
        pg.psql_admin("GRANT ALL ON SCHEMA public TO PUBLIC;", database=TWIN_DB)


class GuardedTable:
    def __init__(self, pg, make_proxy, name, columns_sql, key, action="reject",
                 legacy_rows_sql=None, guard_extra="", proxy_kw=None, wait_ready=True):
        """`columns_sql`: the column definitions; `key`: the key column names; the constraint
        (guard) name is `<name>_key`."""
        self.pg = pg
        self.name = name
        self.key = key
        self.constraint = f"{name}_key"
        ensure_twin_database(pg)
        create = f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({columns_sql});"
        pg.psql_admin(create + f"GRANT SELECT ON {name} TO uniqguard;", database="app")
        if legacy_rows_sql:
            pg.psql_admin(legacy_rows_sql, database="app")
        pg.psql_admin(create + f"ALTER TABLE {name} ADD CONSTRAINT {self.constraint} "
                      f"UNIQUE ({', '.join(key)});", database=TWIN_DB)
        self.duplicates_path = os.path.join(
            os.environ.get("TMPDIR", "/tmp"), f"uniqguard-dups-{name}-{os.getpid()}.jsonl")
        if os.path.exists(self.duplicates_path):
            os.unlink(self.duplicates_path)
        columns = ", ".join(f'"{c}"' for c in key)
        extra = (f'duplicates = "{self.duplicates_path}"\n'
                 f'[[guard]]\ntable = "public.{name}"\ncolumns = [{columns}]\n'
                 f'action = "{action}"\nname = "{self.constraint}"\n{guard_extra}\n')
        self.proxy = make_proxy(extra=extra, **(proxy_kw or {}))
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if f"guard {self.constraint}: ready" in self.proxy.log_text():
                return
            time.sleep(0.05)
        raise TimeoutError("guard not ready:\n" + self.proxy.log_text())

    def proxy_dsn(self, **kw):
        return self.proxy.dsn(connect_timeout=10, **kw)

    def twin_dsn(self, **kw):
        return self.pg.dsn(database=TWIN_DB, connect_timeout=10, **kw)

    def connect_proxy(self, **kw):
        return psycopg2.connect(self.proxy_dsn(**kw))

    def connect_twin(self, **kw):
        return psycopg2.connect(self.twin_dsn(**kw))

    def rows(self, order_by="1"):
        """The guarded table's rows, read directly (not through the proxy)."""
        with psycopg2.connect(self.pg.dsn(database="app")) as c, c.cursor() as cur:
            cur.execute(f"SELECT * FROM {self.name} ORDER BY {order_by}")
            return cur.fetchall()

    def duplicate_lines(self, expected=None, timeout=5):
        """The duplicate log's lines as dicts; waits for `expected` lines when given."""
        deadline = time.monotonic() + timeout
        while True:
            lines = []
            if os.path.exists(self.duplicates_path):
                with open(self.duplicates_path) as f:
                    lines = [json.loads(line) for line in f if line.strip()]
            if expected is None or len(lines) >= expected or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


def error_fields(exc):
    """The fields of a psycopg2 error that a client can see, for comparing two errors."""
    d = exc.diag
    return {
        "sqlstate": d.sqlstate,
        "severity": d.severity,
        "message": d.message_primary,
        "detail": d.message_detail,
        "hint": d.message_hint,
        "context": d.context,
        "schema": d.schema_name,
        "table": d.table_name,
        "column": d.column_name,
        "constraint": d.constraint_name,
    }


def outcome(cur, sql, params=None):
    """What a client sees for one statement: rows and tag, or the error's fields."""
    try:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else None
        return ("ok", cur.statusmessage, rows)
    except psycopg2.Error as e:
        fields = error_fields(e)
        # "Failing row contains (id, ...)": serial values are not compared (a row skipped by
        # the proxy never draws one; one skipped by a real index does).
        if fields["detail"] and fields["detail"].startswith("Failing row contains ("):
            fields["detail"] = "Failing row contains (<id>," + fields["detail"].split(",", 1)[1]
        return ("error", fields)


def script_outcomes(connect, table, script, autocommit=True,
                    rows_sql="SELECT user_id, course_id, note FROM {t} ORDER BY 1, 2, 3"):
    """The outcome of each statement of `script` ({t}: `table`) on one new connection, and the
    rows `rows_sql` reads at the end (after a rollback when not in autocommit)."""
    conn = connect()
    conn.autocommit = autocommit
    cur = conn.cursor()
    seen = [outcome(cur, s.format(t=table)) for s in script]
    if not autocommit:
        conn.rollback()
    cur.execute(rows_sql.format(t=table))
    rows = cur.fetchall()
    conn.close()
    return seen, rows


def assert_same_as_twin(gt, script, twin_script=None, autocommit=True, **kw):
    """`script` through the proxy and `twin_script` (default: the same) on the twin with the
    real index: the same outcome statement by statement, and the same rows at the end. Returns
    the proxy's outcomes and rows."""
    via_proxy, proxy_rows = script_outcomes(gt.connect_proxy, gt.name, script, autocommit, **kw)
    twin, twin_rows = script_outcomes(gt.connect_twin, gt.name, twin_script or script, autocommit,
                                      **kw)
    for i, (a, b) in enumerate(zip(via_proxy, twin)):
        assert a == b, f"statement {i}: {script[i]}\nproxy: {a}\ntwin:  {b}"
    assert proxy_rows == twin_rows
    return via_proxy, proxy_rows


def second_waits_for_first(gt, first_sql, second_sql, end="commit", clear=True, setup=()):
    """Two sessions on each side (the proxy, the twin): A runs `first_sql` in an open
    transaction, then B (autocommit) runs `second_sql` ({t}: the table) in a thread; after a
    second A commits or rolls back (`end`). Per side: (whether B was still waiting when A
    ended, B's tag or (SQLSTATE, DETAIL)). `clear`: the table emptied after each side.
    `setup`: statements each session runs first (A's inside its transaction)."""
    import threading
    results = []
    for connect in (gt.connect_proxy, gt.connect_twin):
        a, b = connect(), connect()
        b.autocommit = True
        for s in setup:
            a.cursor().execute(s.format(t=gt.name))
            b.cursor().execute(s.format(t=gt.name))
        a.cursor().execute(first_sql.format(t=gt.name))
        box = {}

        def run_b():
            cur = b.cursor()
            try:
                cur.execute(second_sql.format(t=gt.name))
                box["result"] = cur.statusmessage
            except psycopg2.Error as e:
                box["result"] = (e.pgcode, e.diag.message_detail)
        th = threading.Thread(target=run_b, daemon=True)
        th.start()
        th.join(1.0)
        waited = th.is_alive()
        (a.commit if end == "commit" else a.rollback)()
        th.join(30)
        assert not th.is_alive(), "B still waits after A ended"
        results.append((waited, box.get("result")))
        a.close()
        b.close()
        if clear:
            drop = connect()
            drop.autocommit = True
            drop.cursor().execute(f"DELETE FROM {gt.name}")
            drop.close()
    return results
