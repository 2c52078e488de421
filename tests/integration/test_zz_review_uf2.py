"""Review of 9bf532c, part 2."""
import psycopg
import psycopg2
import pytest

from harness.guarded import TWIN_DB, GuardedTable, script_outcomes

ENROLL = "id int PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL, note text"
ROWS = "INSERT INTO {t} (id, user_id, course_id) VALUES (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 2)"


def make(pg, make_proxy, request, action="reject", extra_sql=""):
    name = "rw_" + str(abs(hash(request.node.name)) % 10**8)
    gt = GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"], action=action)
    src = (f"DROP TABLE IF EXISTS {name}_src; CREATE TABLE {name}_src (tid int, c int, flag bool);"
           f"INSERT INTO {name}_src VALUES (1, 5, true), (2, 5, false), (3, 6, true), "
           f"(3, 6, false), (4, 1, true); GRANT SELECT ON {name}_src TO PUBLIC;" +
           extra_sql.format(t=name))
    for db in ("app", TWIN_DB):
        pg.psql_admin(src, database=db)
    return gt


def short(o):
    return [x[1] if x[0] == "ok" else (x[1]["sqlstate"], (x[1]["message"] or "")[:100],
                                       x[1]["detail"]) for x in o]


def compare(gt, script, label):
    p, prow = script_outcomes(gt.connect_proxy, gt.name, script)
    t, trow = script_outcomes(gt.connect_twin, gt.name, script)
    print(f"\nRESULT {label} same={(p, prow) == (t, trow)}\n  proxy: {short(p)} {prow}\n"
          f"  twin:  {short(t)} {trow}")
    return (p, prow) == (t, trow)


CONFLICT = ("UPDATE {t} SET course_id = v.b FROM {t}_src s JOIN (VALUES (1, 2)) v(a, b) "
            "ON v.a = s.tid WHERE {t}.id = s.tid")


@pytest.mark.parametrize("action", ["log", "ignore"])
def test_actions(pg, make_proxy, request, action):
    gt = make(pg, make_proxy, request, action=action)
    compare(gt, [ROWS, CONFLICT, "INSERT INTO {t} (id, user_id, course_id) VALUES (9, 2, 2)"],
            action)
    print("LOGLINES", gt.duplicate_lines(expected=1 if action == "log" else None, timeout=2))


EXT = [
    ("sub_where_int", "UPDATE {t} SET course_id = s.c FROM (SELECT tid, c FROM {t}_src WHERE c = %s) s "
     "WHERE s.tid = {t}.id AND s.tid IN (1, 2)", (5,)),
    ("sub_where_str", "UPDATE {t} SET course_id = s.c FROM (SELECT tid, c FROM {t}_src WHERE c = %s) s "
     "WHERE s.tid = {t}.id AND s.tid IN (1, 2)", ("5",)),
    ("join_values", "UPDATE {t} SET course_id = v.b FROM {t}_src s JOIN (VALUES (%s, %s)) v(a, b) "
     "ON v.a = s.tid WHERE {t}.id = s.tid", (1, 2)),
    ("join_on_param", "UPDATE {t} SET course_id = s.c - 3 FROM {t}_src s JOIN {t}_src s2 "
     "ON s2.tid = s.tid AND s2.c = %s WHERE {t}.id = s.tid AND s.tid = 1", (5,)),
    ("lateral_param", "UPDATE {t} SET course_id = l.c FROM (VALUES (1)) v(x), "
     "LATERAL (SELECT v.x + %s AS c) l WHERE {t}.id = v.x", (1,)),
    ("same_param", "UPDATE {t} SET course_id = v.c FROM (VALUES (%(a)s, 2)) v(id, c) WHERE {t}.id = %(a)s",
     {"a": 1}),
    ("big_param", "UPDATE {t} SET course_id = v.c - 3000000000 FROM (VALUES (1, %s)) v(id, c) "
     "WHERE {t}.id = v.id", (3000000002,)),
    ("str_key_src", "UPDATE {t} SET course_id = v.c FROM (VALUES (1, %s)) v(id, c) WHERE {t}.id = v.id",
     ("2",)),
    ("str_key_src_cast", "UPDATE {t} SET course_id = v.c::int FROM (VALUES (1, %s)) v(id, c) "
     "WHERE {t}.id = v.id", ("2",)),
    ("str_in_join", "UPDATE {t} SET course_id = v.c FROM (VALUES (1, 2, 'x')) v(id, c, n) "
     "JOIN (SELECT %s AS n) w ON w.n = v.n WHERE {t}.id = v.id", ("x",)),
    ("param_in_select_list", "UPDATE {t} SET course_id = s.c FROM (SELECT %s AS c) s WHERE {t}.id = 1",
     (2,)),
    ("param_untyped_select_list", "UPDATE {t} SET course_id = s.c::int FROM (SELECT %s AS c) s "
     "WHERE {t}.id = 1", ("2",)),
    ("binary_values", "UPDATE {t} SET course_id = v.c FROM (VALUES (%b, %b)) v(id, c) WHERE {t}.id = v.id",
     (1, 2)),
    ("binary_str", "UPDATE {t} SET course_id = v.c FROM (VALUES (1, 2, 'x')) v(id, c, n) "
     "WHERE {t}.id = v.id AND v.n = %b", ("x",)),
    ("binary_str_from", "UPDATE {t} SET course_id = v.c FROM (VALUES (1, 2, 'x')) v(id, c, n) "
     "JOIN (SELECT %b::text AS n) w ON w.n = v.n WHERE {t}.id = v.id", ("x",)),
    ("learn", "UPDATE {t} SET course_id = v.c FROM (VALUES (%s, %s)) v(id, c) WHERE {t}.id = v.id",
     (1, 40)),
]


@pytest.mark.parametrize("case", [c[0] for c in EXT])
def test_extended(pg, make_proxy, request, case):
    gt = make(pg, make_proxy, request)
    _, sql, params = next(c for c in EXT if c[0] == case)
    t = gt.name
    seen = []
    for dsn in (gt.proxy_dsn(), gt.twin_dsn()):
        out = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute(ROWS.format(t=t))
            for s, pr in [(sql.format(t=t), params),
                          (f"INSERT INTO {t} (id, user_id, course_id) VALUES (9, 1, 40)", None)]:
                try:
                    cur.execute(s, pr, prepare=True)
                    out.append(cur.statusmessage)
                except psycopg.Error as e:
                    out.append((e.sqlstate, str(e).splitlines()[0][:100], e.diag.message_detail))
            out.append(cur.execute(f"SELECT id, user_id, course_id FROM {t} ORDER BY 1").fetchall())
        seen.append(out)
    print(f"\nRESULT ext {case} same={seen[0] == seen[1]}\n  proxy: {seen[0]}\n  twin:  {seen[1]}")


@pytest.mark.parametrize("order", ["7,2", "2,7"])
def test_two_candidates(pg, make_proxy, request, order):
    a, b = order.split(",")
    gt = make(pg, make_proxy, request,
              extra_sql=f"CREATE TABLE {{t}}_two (tid int, c int); INSERT INTO {{t}}_two VALUES "
                        f"(1, {a}), (1, {b}); GRANT SELECT ON {{t}}_two TO PUBLIC;")
    compare(gt, [ROWS, "UPDATE {t} SET course_id = s.c FROM {t}_two s WHERE s.tid = {t}.id"],
            "two " + order)


def test_operator_bypass(pg, make_proxy, request):
    gt = make(pg, make_proxy, request)
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(ROWS.format(t=gt.name))
    res = []
    for i in range(30):
        try:
            cur.execute(f"UPDATE {gt.name} SET course_id = s.c FROM (SELECT floor((0) "
                        f"OPERATOR(pg_catalog.+) random() * 3)::int + 10 AS c) s WHERE {gt.name}.id = 1")
            res.append(cur.statusmessage)
        except psycopg2.Error as e:
            res.append(e.pgcode)
        try:
            cur.execute(f"INSERT INTO {gt.name} (id, user_id, course_id) VALUES ({100 + i}, 1, 11)")
            res.append("ins")
        except psycopg2.Error as e:
            res.append(e.pgcode)
            conn.rollback() if not conn.autocommit else None
    cur.execute(f"SELECT user_id, course_id, count(*) FROM {gt.name} GROUP BY 1, 2 HAVING count(*) > 1")
    print("\nRESULT operator_bypass", res[:12], "dups:", cur.fetchall())


def test_view_nextval(pg, make_proxy, request):
    gt = make(pg, make_proxy, request,
              extra_sql="CREATE SEQUENCE {t}_seq START 10; CREATE VIEW {t}_nv AS SELECT "
                        "nextval('{t}_seq')::int AS c; GRANT SELECT ON {t}_nv TO PUBLIC; "
                        "GRANT USAGE, SELECT, UPDATE ON {t}_seq TO PUBLIC;")
    compare(gt, [ROWS, "UPDATE {t} SET course_id = nv.c FROM {t}_nv nv WHERE {t}.id = 1",
                 "INSERT INTO {t} (id, user_id, course_id) VALUES (9, 1, 10)",
                 "INSERT INTO {t} (id, user_id, course_id) VALUES (10, 1, 11)"], "view_nextval")


DIV = {
    "div_scan": "UPDATE {t} SET course_id = 10 / v.d FROM (VALUES (1, 5), (2, 0)) v(id, d) "
                "WHERE {t}.id = v.id AND v.d <> 0",
    "div_join": "UPDATE {t} SET course_id = 100 / ({t}.course_id - v.x) FROM (VALUES (1, 1), (2, 1)) "
                "v(id, x) WHERE {t}.id = v.id AND {t}.course_id <> v.x",
    "div_case": "UPDATE {t} SET course_id = 100 / ({t}.course_id - v.x) FROM (VALUES (1, 1), (2, 1)) "
                "v(id, x) WHERE {t}.id = v.id AND CASE WHEN {t}.course_id = v.x THEN false ELSE "
                "lower({t}.note || v.x::text) IS DISTINCT FROM 'zz' END",
    "div_costly": "UPDATE {t} SET course_id = 2 / ({t}.course_id - v.x) FROM (VALUES (1, 1), (2, 1)) "
                  "v(id, x) WHERE {t}.id = v.id AND {t}.course_id <> v.x AND "
                  "length(repeat(md5({t}.id::text), 3)) > 0",
}


@pytest.mark.parametrize("case", list(DIV))
def test_div(pg, make_proxy, request, case):
    gt = make(pg, make_proxy, request)
    compare(gt, [ROWS, DIV[case],
                 "INSERT INTO {t} (id, user_id, course_id) VALUES (9, 1, 50)"], case)


def test_column_privileges(pg, make_proxy, request):
    gt = make(pg, make_proxy, request,
              extra_sql="DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rw_limited') THEN "
                        "CREATE ROLE rw_limited LOGIN PASSWORD 'x'; END IF; END$$;"
                        "GRANT SELECT (id) ON {t} TO rw_limited; GRANT UPDATE (course_id) ON {t} "
                        "TO rw_limited; GRANT SELECT ON {t}_src TO rw_limited;")
    print("DSN", gt.proxy_dsn())
    gt.connect_proxy().cursor().execute(ROWS.format(t=gt.name)) if False else None
    for dsn in (gt.proxy_dsn(), gt.twin_dsn()):
        c = psycopg2.connect(dsn)
        c.autocommit = True
        c.cursor().execute(ROWS.format(t=gt.name))
        c.close()
    out = []
    for dsn in (gt.proxy_dsn(user="rw_limited", password="x"), gt.twin_dsn(user="rw_limited", password="x")):
        c = psycopg2.connect(dsn)
        c.autocommit = True
        cur = c.cursor()
        r = []
        for s in [f"UPDATE {gt.name} SET course_id = v.c FROM (VALUES (1, 2)) v(id, c) "
                  f"WHERE {gt.name}.id = v.id",
                  f"UPDATE {gt.name} SET course_id = 2 WHERE id = 3"]:
            try:
                cur.execute(s)
                r.append(cur.statusmessage)
            except psycopg2.Error as e:
                r.append((e.pgcode, e.diag.message_primary))
        out.append(r)
        c.close()
    print("\nRESULT privileges\n  proxy:", out[0], gt.rows(), "\n  twin: ", out[1])
