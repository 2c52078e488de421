"""COPY … FROM STDIN into a guarded table (SPEC §4, issue 4 item 5): the rows are read as they
pass through the proxy and checked, and the client sees what it would see with a real unique
index: the same error fields (with the server's CONTEXT line) for reject, the same rows and
`COPY n` otherwise, one duplicate-log line per duplicate for log. Every test runs the same COPY
through the proxy onto the unindexed table and directly onto the twin with the real index
(harness/guarded.py)."""
import io
import os
import subprocess
import time

import psycopg
import psycopg2
import pytest

from harness.guarded import GuardedTable, error_fields

# `id serial` is left out of the COPY: the server then inserts row by row (a volatile default).
# PLAIN has no default: the server inserts rows in batches. The CONTEXT is the same.
ENROLL = "id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL, note text"
PLAIN = "user_id int NOT NULL, course_id int NOT NULL, note text"


def make(pg, make_proxy, request, columns=ENROLL, key=("user_id", "course_id"), legacy=None,
         twin_rows=None, **kw):
    """The guarded table (`legacy`: SQL run on it first, `{t}` its name) and its twin
    (`twin_rows`: SQL run on the twin, which cannot hold the legacy duplicates)."""
    name = "c_" + request.node.name.replace("test_", "")[:40].lower()
    gt = GuardedTable(pg, make_proxy, name, columns, list(key),
                      legacy_rows_sql=legacy.format(t=name) if legacy else None, **kw)
    if twin_rows:
        with psycopg2.connect(gt.twin_dsn()) as c, c.cursor() as cur:
            cur.execute(twin_rows.format(t=name))
    return gt


def copy2(conn, sql, data):
    """psycopg2's copy_expert: what the client sees (the row count from the tag, or the error's
    fields)."""
    cur = conn.cursor()
    try:
        cur.copy_expert(sql, io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data))
        return ("ok", cur.rowcount)
    except psycopg2.Error as e:
        return ("error", error_fields(e))


def both_copy2(gt, sql, data, before=(), after=(), autocommit=True):
    """The same statements and COPY on a proxy connection and a twin connection."""
    results = []
    for connect in (gt.connect_proxy, gt.connect_twin):
        conn = connect()
        conn.autocommit = autocommit
        cur = conn.cursor()
        for s in before:
            cur.execute(s)
        out = copy2(conn, sql, data)
        for s in after:
            cur.execute(s)
        conn.close()
        results.append(out)
    return results


def table_rows(gt, dsn, columns="user_id, course_id, note"):
    with psycopg2.connect(dsn) as c, c.cursor() as cur:
        cur.execute(f"SELECT {columns} FROM {gt.name} ORDER BY 1, 2, 3")
        return cur.fetchall()


def same_rows(gt):
    direct = table_rows(gt, gt.pg.dsn(database="app"))
    assert direct == table_rows(gt, gt.twin_dsn())
    return direct


def test_new_rows_pass_unchanged(pg, make_proxy, request):
    gt = make(pg, make_proxy, request)
    data = "1\t1\tone\n2\t1\t\\N\n1\t2\ttab\\there\n"
    via, twin = both_copy2(gt, f"COPY {gt.name} (user_id, course_id, note) FROM STDIN", data)
    assert via == twin
    assert via == ("ok", 3)
    assert same_rows(gt) == [(1, 1, "one"), (1, 2, "tab\there"), (2, 1, None)]
    assert gt.duplicate_lines() == []


def test_duplicate_of_a_legacy_key_fails_the_copy_as_the_index(pg, make_proxy, request):
    gt = make(pg, make_proxy, request,
              legacy="INSERT INTO {t} (user_id, course_id) VALUES (2, 1), (2, 1), (3, 3)",
              twin_rows="INSERT INTO {t} (user_id, course_id) VALUES (2, 1), (3, 3)")
    data = "5\t5\tnew\n2\t1\tdup\n6\t6\tnew\n"
    via, twin = both_copy2(gt, f"COPY {gt.name} (user_id, course_id, note) FROM STDIN", data)
    assert via == twin
    err = via[1]
    assert err["sqlstate"] == "23505"
    assert err["message"] == f'duplicate key value violates unique constraint "{gt.constraint}"'
    assert err["detail"] == "Key (user_id, course_id)=(2, 1) already exists."
    assert err["context"] == f"COPY {gt.name}, line 2"
    assert (err["schema"], err["table"], err["constraint"]) == ("public", gt.name, gt.constraint)
    assert table_rows(gt, pg.dsn(database="app")) == [(2, 1, None), (2, 1, None), (3, 3, None)]
    lines = gt.duplicate_lines(expected=1)
    assert len(lines) == 1
    assert lines[0]["values"] == ["2", "1"]
    assert lines[0]["action"] == "rejected"
    assert lines[0]["statement"] == f"COPY {gt.name} (user_id, course_id, note) FROM STDIN"
