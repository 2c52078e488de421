import re, time, threading
import psycopg, psycopg2, pytest
from harness.guarded import GuardedTable, script_outcomes

ENROLL = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
          "note text")
ROWS = ("INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'a'), (1, 2, 'b'), "
        "(2, 7, 'c'), (3, 1, 'd'), (3, 2, 'e')")
PI = ("PREPARE ins (int, int, text) AS "
      "INSERT INTO {t} (user_id, course_id, note) VALUES ($1, $2, $3)")


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "rv_" + re.sub(r"\W", "_", request.node.name.replace("test_", ""))[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def compare(gt, script, autocommit=True, pre_twin=None):
    p, pr = script_outcomes(gt.connect_proxy, gt.name, script, autocommit)
    t, tr = script_outcomes(gt.connect_twin, gt.name, script, autocommit)
    diffs = []
    for i, (a, b) in enumerate(zip(p, t)):
        if a != b:
            diffs.append(f"#{i} {script[i]}\n   proxy: {a}\n   twin:  {b}")
    if pr != tr:
        diffs.append(f"rows differ\n   proxy: {pr}\n   twin:  {tr}")
    with open("/tmp/rv/out.txt", "a") as f:
        f.write(f"==== {gt.name}\n" + ("\n".join(diffs) or "same") + "\n")
    return diffs


def test_unicode_long_name(enroll):
    long = "é" * 32
    short = "é" * 31
    compare(enroll, [ROWS,
                     PI.replace("ins", long),
                     f"EXECUTE {short}(1, 1, 'x')",
                     f"EXECUTE {long}(1, 1, 'y')",
                     f'PREPARE "{"a"*62}é" (int, int, text) AS INSERT INTO {{t}} (user_id, course_id, note) VALUES ($1, $2, $3)',
                     f'EXECUTE "{"a"*62}"(3, 2, \'z\')',
                     ])


def test_ctas_execute(enroll):
    compare(enroll, [ROWS,
                     "DROP TABLE IF EXISTS {t}_x1", "DROP TABLE IF EXISTS {t}_x2",
                     "PREPARE wl (int, int) AS WITH x AS (INSERT INTO {t} (user_id, course_id) "
                     "VALUES ($1, $2) RETURNING course_id) SELECT course_id FROM x",
                     "CREATE TABLE {t}_x1 AS EXECUTE wl(1, 1)",
                     "CREATE TEMP TABLE {t}_x2 AS EXECUTE wl(1, 2)",
                     "EXPLAIN ANALYZE CREATE TEMP TABLE {t}_x3 AS EXECUTE wl(3, 1)",
                     "DROP TABLE IF EXISTS {t}_x1",
                     ])


def test_keyword_and_unicode_escape_names(enroll):
    compare(enroll, [ROWS,
                     PI.replace("ins", "insert"),
                     "EXECUTE insert(1, 1, 'x')",
                     PI.replace("ins", 'U&"\\0069ns2"'),
                     "EXECUTE ins2(1, 1, 'y')",
                     PI.replace("ins", '"Ins"'),
                     'EXECUTE "Ins"(3, 1, \'z\')',
                     'EXECUTE ins(3, 1, \'z\')',
                     ])


def test_errors_and_positions(enroll):
    res = {}
    for side, connect in (("proxy", enroll.connect_proxy), ("twin", enroll.connect_twin)):
        c = connect(); c.autocommit = True; cur = c.cursor()
        cur.execute(ROWS.format(t=enroll.name))
        cur.execute(PI.format(t=enroll.name))
        out = []
        for s in ["EXECUTE ins(1, 'x', 'a')", "EXECUTE ins(1, 2)", "EXECUTE  ins(1, 1/0, 'a')",
                  "EXECUTE ins(1, 1, 'a')", "EXECUTE nosuch(1)",
                  "EXECUTE ins(9, 9, 'x') -- c", "/* c */ EXECUTE ins(9, 9, 'x');",
                  "EXECUTE ins(10, 10, 'x');;", "EXECUTE ins(11, 11, (SELECT 'q'))"]:
            try:
                cur.execute(s)
                out.append(("ok", cur.statusmessage, cur.description is not None, list(c.notices)))
            except psycopg2.Error as e:
                out.append(("err", e.pgcode, e.diag.message_primary, e.diag.statement_position,
                            e.diag.context, e.diag.message_detail, list(c.notices)))
            c.notices.clear()
            res.setdefault(side, []).append(out[-1])
        c.close()
    with open("/tmp/rv/out.txt", "a") as f:
        for a, b in zip(res["proxy"], res["twin"]):
            f.write(("SAME " if a == b else "DIFF ") + f"{a}\n     {b}\n")


def test_reprepare_via_protocol(enroll):
    # the name deallocated and prepared by a Parse (psycopg 3 low level)
    res = {}
    for side, dsn in (("proxy", enroll.proxy_dsn()), ("twin", enroll.twin_dsn())):
        out = []
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(ROWS.format(t=enroll.name))
            c.execute(PI.format(t=enroll.name))
            c.execute("DEALLOCATE ins")
            pgc = c.pgconn
            r = pgc.prepare(b"ins", f"SELECT $1::int, $2::int, $3::text".encode())
            out.append(("prep", r.status))
            for s in ["EXECUTE ins(1, 1, 'x')"]:
                try:
                    cur = c.execute(s)
                    out.append(("ok", cur.statusmessage, cur.fetchall() if cur.description else None))
                except psycopg.Error as e:
                    out.append(("err", e.sqlstate, str(e)))
            c.execute("DEALLOCATE ins")
            r = pgc.prepare(b"ins", f"INSERT INTO {enroll.name} (user_id, course_id) VALUES ($1::int, $2::int)".encode())
            out.append(("prep2", r.status, r.error_message))
            for s in ["EXECUTE ins(1, 1, 'x')", "EXECUTE ins(1, 1)"]:
                try:
                    cur = c.execute(s)
                    out.append(("ok", cur.statusmessage, cur.fetchall() if cur.description else None))
                except psycopg.Error as e:
                    out.append(("err", e.sqlstate, str(e)))
        res[side] = out
    with open("/tmp/rv/out.txt", "a") as f:
        f.write(f"reprepare proxy {res['proxy']}\n          twin  {res['twin']}\n")


def test_psycopg3_repeat(enroll):
    res = {}
    for side, dsn in (("proxy", enroll.proxy_dsn()), ("twin", enroll.twin_dsn())):
        out = []
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(ROWS.format(t=enroll.name))
            c.execute(PI.format(t=enroll.name))
            for i in range(8):
                try:
                    cur = c.execute("EXECUTE ins(20, 20, 'x')")
                    out.append(("ok", cur.statusmessage))
                except psycopg.Error as e:
                    out.append(("err", e.sqlstate))
            c.execute("PREPARE sel AS SELECT 1")  # not kept
        res[side] = out
    with open("/tmp/rv/out.txt", "a") as f:
        f.write(f"psycopg3 repeat proxy {res['proxy']}\n                twin  {res['twin']}\n")


def two(gt, setup, a_sqls, b_sql, end):
    results = []
    for connect in (gt.connect_proxy, gt.connect_twin):
        a, b = connect(), connect()
        b.autocommit = True
        for s in setup:
            a.cursor().execute(s.format(t=gt.name))
            b.cursor().execute(s.format(t=gt.name))
        a.commit()
        for s in a_sqls:
            a.cursor().execute(s.format(t=gt.name))
        box = {}

        def run_b():
            cur = b.cursor()
            try:
                cur.execute(b_sql.format(t=gt.name))
                box["result"] = cur.statusmessage
            except psycopg2.Error as e:
                box["result"] = (e.pgcode, e.diag.message_detail)
        th = threading.Thread(target=run_b, daemon=True)
        th.start()
        th.join(1.0)
        waited = th.is_alive()
        (a.commit if end == "commit" else a.rollback)()
        th.join(30)
        results.append((waited, box.get("result", "HANG")))
        a.close(); b.close()
        d = connect(); d.autocommit = True
        d.cursor().execute(f"DELETE FROM {gt.name}"); d.close()
    return results


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_two_sessions(enroll, end):
    out = []
    out.append(("exec/exec", two(enroll, [PI], ["EXECUTE ins(5, 5, 'a')"], "EXECUTE ins(5, 5, 'b')", end)))
    out.append(("sp exec/exec", two(enroll, [PI], ["SAVEPOINT s", "EXECUTE ins(5, 5, 'a')", "RELEASE s"], "EXECUTE ins(5, 5, 'b')", end)))
    out.append(("sp-rb exec/exec", two(enroll, [PI], ["SAVEPOINT s", "EXECUTE ins(5, 5, 'a')", "ROLLBACK TO s"], "EXECUTE ins(5, 5, 'b')", end)))
    UP = "PREPARE up (int, int) AS UPDATE {t} SET course_id = $2 WHERE user_id = $1"
    out.append(("ins/up", two(enroll, [UP, "INSERT INTO {t} (user_id, course_id) VALUES (6, 1)"], ["INSERT INTO {t} (user_id, course_id) VALUES (6, 6)"], "EXECUTE up(6, 6)", end)))
    out.append(("up/ins", two(enroll, [UP, "INSERT INTO {t} (user_id, course_id) VALUES (6, 1)"], ["EXECUTE up(6, 6)"], "INSERT INTO {t} (user_id, course_id) VALUES (6, 6)", end)))
    out.append(("exec/copy", two(enroll, [PI], ["EXECUTE ins(5, 5, 'a')"], "INSERT INTO {t} (user_id, course_id) SELECT 5, 5", end)))
    with open("/tmp/rv/out.txt", "a") as f:
        for name, r in out:
            f.write(("SAME " if r[0] == r[1] else "DIFF ") + f"{end} {name}: proxy {r[0]} twin {r[1]}\n")


def test_txn_variants(enroll):
    compare(enroll, [ROWS, PI,
                     "BEGIN ISOLATION LEVEL REPEATABLE READ",
                     "EXECUTE ins(1, 1, 'x')",
                     "ROLLBACK",
                     "BEGIN",
                     "SAVEPOINT a",
                     "EXECUTE ins(8, 8, 'x')",
                     "SAVEPOINT b",
                     "EXECUTE ins(8, 8, 'y')",
                     "ROLLBACK TO b",
                     "RELEASE a",
                     "EXECUTE ins(8, 8, 'z')",
                     "ROLLBACK",
                     "BEGIN",
                     "EXECUTE ins(8, 8, 'x')",
                     "ROLLBACK",
                     "EXECUTE ins(8, 8, 'w')",
                     "DISCARD ALL",
                     "EXECUTE ins(9, 9, 'x')",
                     "PREPARE ins (int, int, text) AS SELECT $1 + $2, $3",
                     "EXECUTE ins(9, 9, 'x')",
                     "DEALLOCATE ALL",
                     "PREPARE ins (int, int, text) AS DELETE FROM {t} WHERE user_id = $1 RETURNING course_id, note",
                     "EXECUTE ins(8, 0, '')",
                     "DEALLOCATE ins",
                     "PREPARE ins (int, int, text) AS UPDATE {t} SET course_id = course_id + $2 WHERE user_id = $1 RETURNING *",
                     "EXECUTE ins(1, 1, '')",
                     "EXECUTE ins(3, 1, '')",
                     "BEGIN", "SELECT 1/0", "EXECUTE ins(3, 1, '')", "ROLLBACK",
                     "BEGIN READ ONLY", "EXECUTE ins(3, 5, '')", "ROLLBACK",
                     ])
