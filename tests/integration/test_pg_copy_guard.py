"""COPY … FROM STDIN into a guarded table (SPEC §4, issue 4 item 5): the rows are read as they
pass through the proxy and checked, and the client sees what it would see with a real unique
index: the same error fields (with the server's CONTEXT line) for reject, the same rows and
`COPY n` otherwise, one duplicate-log line per duplicate for log. Every test runs the same COPY
through the proxy onto the unindexed table and directly onto the twin with the real index
(harness/guarded.py)."""
import io
import os
import subprocess

import psycopg
import psycopg2
import pytest

from harness import pgwire

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


def test_duplicate_within_the_same_copy(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, columns=PLAIN)
    data = "1\t1\ta\n2\t2\tb\n1\t1\tc\n3\t3\td\n"
    via, twin = both_copy2(gt, f"COPY {gt.name} FROM STDIN", data)
    assert via == twin
    assert via[1]["sqlstate"] == "23505"
    assert via[1]["detail"] == "Key (user_id, course_id)=(1, 1) already exists."
    assert via[1]["context"] == f"COPY {gt.name}, line 3"
    assert same_rows(gt) == []
    # The keys of the failed COPY cost a check later, never a false duplicate.
    via, twin = both_copy2(gt, f"COPY {gt.name} FROM STDIN", "1\t1\ta\n2\t2\tb\n")
    assert via == twin == ("ok", 2)
    assert same_rows(gt) == [(1, 1, "a"), (2, 2, "b")]


def test_duplicate_of_a_key_inserted_earlier_in_the_transaction(pg, make_proxy, request):
    gt = make(pg, make_proxy, request)
    via, twin = both_copy2(
        gt, f"COPY {gt.name} (user_id, course_id, note) FROM STDIN", "8\t8\tx\n9\t9\tcopied\n",
        before=[f"INSERT INTO {gt.name} (user_id, course_id) VALUES (9, 9)"], autocommit=False)
    assert via == twin
    assert via[1]["detail"] == "Key (user_id, course_id)=(9, 9) already exists."
    assert via[1]["context"] == f"COPY {gt.name}, line 2"
    assert same_rows(gt) == []  # rolled back with the transaction


def test_key_deleted_earlier_in_the_transaction_may_be_copied(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, legacy="INSERT INTO {t} (user_id, course_id) VALUES (4, 4)",
              twin_rows="INSERT INTO {t} (user_id, course_id) VALUES (4, 4)")
    via, twin = both_copy2(
        gt, f"COPY {gt.name} (user_id, course_id, note) FROM STDIN", "4\t4\tagain\n",
        before=[f"DELETE FROM {gt.name} WHERE user_id = 4"], after=["COMMIT"], autocommit=False)
    assert via == twin == ("ok", 1)
    assert same_rows(gt) == [(4, 4, "again")]


def test_null_keys_never_conflict(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, columns="user_id int, course_id int, note text")
    data = "1\t\\N\ta\n1\t\\N\tb\n\\N\t\\N\tc\n\\N\t\\N\td\n"
    via, twin = both_copy2(gt, f"COPY {gt.name} FROM STDIN", data)
    assert via == twin == ("ok", 4)
    assert len(same_rows(gt)) == 4
    assert gt.duplicate_lines() == []


def test_a_copy_failing_on_its_own_data_is_the_servers_error(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, columns=PLAIN)
    data = "1\t1\ta\n2\tx\tb\n"
    results = []
    for connect in (gt.connect_proxy, gt.connect_twin):
        conn = connect()
        conn.autocommit = True
        out = copy2(conn, f"COPY {gt.name} FROM STDIN", data)
        cur = conn.cursor()
        cur.execute("SELECT 1")  # the session goes on
        results.append((out, cur.fetchall()))
        # Refused before its data (no such column): one answer, the session goes on.
        results.append(copy2(conn, f"COPY {gt.name} (nope) FROM STDIN", data))
        cur.execute("SELECT 2")
        results.append(cur.fetchall())
        conn.close()
    assert results[:3] == results[3:]
    assert results[0][0][1]["sqlstate"] == "22P02"
    assert results[0][0][1]["context"] == f'COPY {gt.name}, line 2, column course_id: "x"'
    assert results[1][1]["sqlstate"] == "42703"
    assert same_rows(gt) == []


def error_fields3(e):
    d = e.diag
    return {"sqlstate": d.sqlstate, "severity": d.severity, "message": d.message_primary,
            "detail": d.message_detail, "hint": d.message_hint, "context": d.context,
            "schema": d.schema_name, "table": d.table_name, "column": d.column_name,
            "constraint": d.constraint_name}


def copy3(dsn, sql, rows=None, data=None, types=None, before=(), autocommit=True):
    """psycopg 3's cursor.copy(): rows written one by one (write_row, with `types` for the
    binary format) or raw data; the tag, or the error's fields."""
    with psycopg.connect(dsn, autocommit=autocommit) as conn:
        cur = conn.cursor()
        for s in before:
            cur.execute(s)
        try:
            with cur.copy(sql) as copy:
                if types:
                    copy.set_types(types)
                if data is not None:
                    copy.write(data)
                for row in rows or ():
                    copy.write_row(row)
            tag = cur.statusmessage
            if not autocommit:
                conn.commit()
            return ("ok", tag)
        except psycopg.Error as e:
            return ("error", error_fields3(e))


def both_copy3(gt, sql, **kw):
    return (copy3(gt.proxy_dsn(), sql, **kw), copy3(gt.twin_dsn(), sql, **kw))


TEXT_KEY = "email text NOT NULL, org int NOT NULL, note text"


def test_csv_with_header_quotes_and_newlines(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, columns=TEXT_KEY, key=("email", "org"))
    sql = f"COPY {gt.name} FROM STDIN (FORMAT csv, HEADER)"
    data = ('email,org,note\n"a,b@x",1,"say ""hi"""\nc@x,1,"two\nlines"\n'
            '"a,b@x",2,x\n"a,b@x",1,dup\n')
    via, twin = both_copy3(gt, sql, data=data)
    assert via == twin
    assert via[1]["sqlstate"] == "23505"
    assert via[1]["detail"] == 'Key (email, org)=(a,b@x, 1) already exists.'
    assert via[1]["context"] == f"COPY {gt.name}, line 6"  # the quoted newline counts
    via, twin = both_copy3(gt, sql, data=data.rsplit('"a,b@x",1,dup\n', 1)[0])
    assert via == twin == ("ok", "COPY 3")
    with psycopg2.connect(pg.dsn(database="app")) as c, c.cursor() as cur:
        cur.execute(f"SELECT email, org, note FROM {gt.name} ORDER BY 1, 2")
        assert cur.fetchall() == [("a,b@x", 1, 'say "hi"'), ("a,b@x", 2, "x"),
                                  ("c@x", 1, "two\nlines")]


def test_csv_null_and_quoted_empty_keys(pg, make_proxy, request):
    # An unquoted empty field is NULL (never a duplicate); a quoted one is the empty string.
    gt = make(pg, make_proxy, request, columns="email text, org int, note text",
              key=("email", "org"))
    sql = f"COPY {gt.name} FROM STDIN (FORMAT csv)"
    via, twin = both_copy3(gt, sql, data=',1,a\n,1,b\n"",1,c\n"",1,d\n')
    assert via == twin
    assert via[1]["detail"] == "Key (email, org)=(, 1) already exists."
    assert via[1]["context"] == f"COPY {gt.name}, line 4"


def test_binary_format(pg, make_proxy, request):
    gt = make(pg, make_proxy, request,
              legacy="INSERT INTO {t} (user_id, course_id) VALUES (2, 1), (2, 1)",
              twin_rows="INSERT INTO {t} (user_id, course_id) VALUES (2, 1)")
    sql = f"COPY {gt.name} (user_id, course_id, note) FROM STDIN (FORMAT binary)"
    types = ["int4", "int4", "text"]
    via, twin = both_copy3(gt, sql, rows=[(7, 7, "a"), (8, 8, None)], types=types)
    assert via == twin == ("ok", "COPY 2")
    via, twin = both_copy3(gt, sql, rows=[(9, 9, "a"), (2, 1, "dup")], types=types)
    assert via == twin
    assert via[1]["detail"] == "Key (user_id, course_id)=(2, 1) already exists."
    assert via[1]["context"] == f"COPY {gt.name}, line 2"
    via, twin = both_copy3(gt, sql, rows=[(10, 10, "a"), (11, 1, None), (10, 10, "b")],
                           types=types)
    assert via == twin
    assert via[1]["detail"] == "Key (user_id, course_id)=(10, 10) already exists."
    assert via[1]["context"] == f"COPY {gt.name}, line 3"
    assert [r[:2] for r in table_rows(gt, pg.dsn(database="app"))] == [(2, 1), (2, 1), (7, 7),
                                                                       (8, 8)]


def test_psycopg3_copy_inside_a_transaction(pg, make_proxy, request):
    gt = make(pg, make_proxy, request)
    sql = f"COPY {gt.name} (user_id, course_id, note) FROM STDIN"
    before = [f"INSERT INTO {gt.name} (user_id, course_id) VALUES (5, 5)"]
    via, twin = both_copy3(gt, sql, rows=[(6, 6, "x"), (5, 5, "y")], before=before,
                           autocommit=False)
    assert via == twin
    assert via[1]["detail"] == "Key (user_id, course_id)=(5, 5) already exists."
    via, twin = both_copy3(gt, sql, rows=[(6, 6, "x")], before=before, autocommit=False)
    assert via == twin == ("ok", "COPY 1")
    assert same_rows(gt) == [(5, 5, None), (6, 6, "x")]


def psql_copy(port, database, command, data):
    r = subprocess.run(
        ["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
         "-c", command],
        input=data, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
    return r.returncode, r.stdout, r.stderr


def test_psql_backslash_copy(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, legacy="INSERT INTO {t} (user_id, course_id) VALUES (3, 3)",
              twin_rows="INSERT INTO {t} (user_id, course_id) VALUES (3, 3)")
    command = f"\\copy {gt.name} (user_id, course_id, note) from stdin with (delimiter '|')"
    ok = "1|1|one\n2|2|two\n"
    via = psql_copy(gt.proxy.port, "app", command, ok)
    assert via == psql_copy(pg.port, "twin", command, ok)
    assert via == (0, "COPY 2\n", "")
    dup = "4|4|x\n5|5|y\n3|3|dup\n"
    via = psql_copy(gt.proxy.port, "app", command, dup)
    assert via == psql_copy(pg.port, "twin", command, dup)
    assert via == (1, "", f'ERROR:  duplicate key value violates unique constraint '
                          f'"{gt.constraint}"\nDETAIL:  Key (user_id, course_id)=(3, 3) already '
                          f'exists.\nCONTEXT:  COPY {gt.name}, line 3\n')
    assert same_rows(gt) == [(1, 1, "one"), (2, 2, "two"), (3, 3, None)]


def test_log_action_forwards_and_logs_each_duplicate(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, action="log",
              legacy="INSERT INTO {t} (user_id, course_id) VALUES (2, 1)")
    conn = gt.connect_proxy()
    conn.autocommit = True
    data = "2\t1\tlegacy dup\n5\t5\ta\n5\t5\tstream dup\n6\t6\tb\n"
    assert copy2(conn, f"COPY {gt.name} (user_id, course_id, note) FROM STDIN", data) == ("ok", 4)
    conn.close()
    assert table_rows(gt, pg.dsn(database="app")) == [
        (2, 1, "legacy dup"), (2, 1, None), (5, 5, "a"), (5, 5, "stream dup"), (6, 6, "b")]
    lines = gt.duplicate_lines(expected=2)
    assert [(line["values"], line["action"]) for line in lines] == [
        (["2", "1"], "logged"), (["5", "5"], "logged")]
    assert lines[0]["statement"] == f"COPY {gt.name} (user_id, course_id, note) FROM STDIN"
    assert lines[0]["in_transaction"] is False


def test_refused_forms_name_the_guard(pg, make_proxy, request):
    gt = make(pg, make_proxy, request)
    conn = gt.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    with pytest.raises(psycopg2.Error) as e:
        cur.execute(f"SELECT 1; COPY {gt.name} (user_id, course_id) FROM STDIN")
    assert e.value.diag.sqlstate == "0A000"
    assert e.value.diag.message_primary == (
        f'uniqguard: COPY FROM STDIN in a query string with other statements on table '
        f'"public.{gt.name}" is not enforced by guard "{gt.constraint}" yet; the statement was '
        f'refused')
    out = copy2(conn, f"COPY {gt.name} (user_id, note) FROM STDIN", "1\tx\n")
    assert out[1]["sqlstate"] == "0A000"
    assert out[1]["message"] == (
        f'uniqguard: COPY FROM STDIN without key column "course_id" on table "public.{gt.name}" '
        f'is not enforced by guard "{gt.constraint}" yet; the statement was refused')
    conn.close()
    assert table_rows(gt, pg.dsn(database="app")) == []


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_large_copy_streams_through(pg, make_proxy, request):
    """200,000 rows of ~260 bytes (51 MB) per COPY: the proxy's peak memory grows by far less
    than one COPY's data, and the duplicate at the very end is still found."""
    # In the ASan build, freed blocks wait in ASan's quarantine (256 MiB by default) before they
    # are reused, so the peak would measure the quarantine's fill (it did: 41 MiB once, 31 MiB
    # another time) rather than what the proxy holds. A 1 MiB quarantine still catches a use
    # after free of a block freed just before; the option means nothing to a release build.
    gt = make(pg, make_proxy, request, columns=PLAIN,
              proxy_kw={"sanitizer_options": "quarantine_size_mb=1"})
    n = 200_000
    note = "n" * 250
    sql = f"COPY {gt.name} FROM STDIN"
    first = "".join(f"{i}\t{i % 7}\t{note}\n" for i in range(n))
    second = "".join(f"{i}\t{i % 7}\t{note}\n" for i in range(n, 2 * n)) + "0\t0\tdup\n"
    pid = gt.proxy.process.pid
    before = peak_rss_kib(pid)
    via, twin = both_copy2(gt, sql, first)
    assert via == twin == ("ok", n)
    via, twin = both_copy2(gt, sql, second)
    assert via == twin
    assert via[1]["detail"] == "Key (user_id, course_id)=(0, 0) already exists."
    assert via[1]["context"] == f"COPY {gt.name}, line {n + 1}"
    # Measured: 7.5 MiB (the key set's 400,000 keys) in a release build, 23.5 MiB with ASan (its
    # quarantine at 1 MiB); with the COPY's claims on its keys (issue 4: at most 65,536 per
    # session, about 80 bytes each), 35 MiB with ASan. The data that went through is 102 MB; a
    # proxy that held one COPY's 51 MB would be far past the bound.
    grown = peak_rss_kib(pid) - before
    assert grown < 46 * 1024, f"the proxy's peak memory grew by {grown} KiB"
    # Every row suspected (a re-import): the keys to check are bounded (16 MiB), and past that
    # the COPY fails with the proxy's reason rather than growing (the index would say 23505 at
    # line 1: a documented limit).
    conn = gt.connect_proxy()
    conn.autocommit = True
    out = copy2(conn, sql, first)
    conn.close()
    assert out[0] == "error"
    assert out[1]["sqlstate"] == "57014"
    assert out[1]["message"] == (
        f'COPY from stdin failed: uniqguard: too many rows of this COPY into table '
        f'"public.{gt.name}" may be duplicates for guard "{gt.constraint}" (over 16 MiB of keys '
        f'to check); split the COPY')
    # Measured: 12 MiB more in a release build, 18 MiB with ASan; unbounded, the keys of 200,000
    # suspected rows would take several times the 16 MiB bound.
    more = peak_rss_kib(pid) - before - grown
    assert more < 40 * 1024, f"the proxy's peak memory grew by {more} KiB more"
    with psycopg2.connect(pg.dsn(database="app")) as c, c.cursor() as cur:
        cur.execute(f"SELECT count(*), count(DISTINCT (user_id, course_id)) FROM {gt.name}")
        assert cur.fetchone() == (n, n)


def test_the_clients_copy_fail_is_the_servers_answer(pg, make_proxy, request):
    gt = make(pg, make_proxy, request)
    sql = f"COPY {gt.name} (user_id, course_id, note) FROM STDIN"
    results = []
    for dsn in (gt.proxy_dsn(), gt.twin_dsn()):
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            with pytest.raises(psycopg.Error) as e:
                with cur.copy(sql) as copy:
                    copy.write_row((1, 1, "a"))
                    raise RuntimeError("the client gave up")
            results.append(error_fields3(e.value))
            results.append(cur.execute("SELECT count(*) FROM " + gt.name).fetchall())
    assert results[:2] == results[2:]
    assert results[0]["sqlstate"] == "57014"
    assert results[1] == [(0,)]


def test_a_prepared_copy_in_the_extended_protocol(pg, make_proxy, request):
    """Parse/Bind/Execute/Sync of the COPY, its data, CopyDone and Sync (libpq's way): the
    check goes between CopyDone and the client's own Sync."""
    gt = make(pg, make_proxy, request, legacy="INSERT INTO {t} (user_id, course_id) VALUES (3, 3)",
              twin_rows="INSERT INTO {t} (user_id, course_id) VALUES (3, 3)")
    statement = f"COPY {gt.name} (user_id, course_id) FROM STDIN".encode()

    def run(port, database, rows):
        c = pgwire.RawClient(port)
        c.startup(database=database)
        c.send(b"".join([
            pgwire.message(b"P", b"\0" + statement + b"\0\0\0"),
            pgwire.message(b"B", b"\0\0\0\0\0\0\0\0"),
            pgwire.message(b"E", b"\0\0\0\0\0"),
            pgwire.message(b"S"),
        ]))
        first = [m for m, _ in c.read_until("G")]
        c.send(pgwire.message(b"d", rows) + pgwire.message(b"c") + pgwire.message(b"S"))
        replies = c.read_until("Z")
        after = pgwire.rows_of(c.simple_query("SELECT 41 + 1"))
        c.close()
        out = [m for m, _ in replies]
        if "E" in out:
            err = pgwire.error_of(replies)
            return first, out, {k: err.get(k) for k in "SVCMDWstn"}, after
        return first, out, [b for m, b in replies if m == "C"], after

    ok = run(gt.proxy.port, "app", b"1\t1\n2\t2\n")
    assert ok == run(pg.port, "twin", b"1\t1\n2\t2\n")
    assert ok == (["1", "2", "G"], ["C", "Z"], [b"COPY 2\0"], [["42"]])
    dup = run(gt.proxy.port, "app", b"4\t4\n3\t3\n")
    assert dup == run(pg.port, "twin", b"4\t4\n3\t3\n")
    assert dup[1] == ["E", "Z"]
    assert dup[2]["C"] == "23505"
    assert dup[2]["D"] == "Key (user_id, course_id)=(3, 3) already exists."
    assert dup[2]["W"] == f"COPY {gt.name}, line 2"
    assert same_rows(gt) == [(1, 1, None), (2, 2, None), (3, 3, None)]


def test_a_prepared_copy_with_action_ignore(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, action="ignore",
              legacy="INSERT INTO {t} (user_id, course_id) VALUES (3, 3)")
    c = pgwire.RawClient(gt.proxy.port)
    c.startup(database="app")
    c.send(b"".join([
        pgwire.message(b"P", f"\0COPY {gt.name} (user_id, course_id) FROM STDIN\0\0\0".encode()),
        pgwire.message(b"B", b"\0\0\0\0\0\0\0\0"),
        pgwire.message(b"E", b"\0\0\0\0\0"),
        pgwire.message(b"S"),
    ]))
    assert [m for m, _ in c.read_until("G")] == ["1", "2", "G"]
    c.send(pgwire.message(b"d", b"4\t4\n3\t3\n") + pgwire.message(b"d", b"5\t5\n4\t4\n") +
           pgwire.message(b"c") + pgwire.message(b"S"))
    replies = c.read_until("Z")
    assert [(m, b) for m, b in replies if m != "Z"] == [("C", b"COPY 2\0")]
    c.close()
    assert [r[:2] for r in table_rows(gt, pg.dsn(database="app"))] == [(3, 3), (4, 4), (5, 5)]
    assert [line["values"] for line in gt.duplicate_lines(expected=2)] == [["3", "3"], ["4", "4"]]


def twin_insert_ignoring(gt, rows, columns="user_id, course_id, note"):
    """What ON CONFLICT DO NOTHING on the real index makes of the same rows, one by one: the
    number that went in."""
    n = 0
    with psycopg2.connect(gt.twin_dsn()) as c, c.cursor() as cur:
        for row in rows:
            marks = ", ".join(["%s"] * len(row))
            cur.execute(f"INSERT INTO {gt.name} ({columns}) VALUES ({marks}) "
                        f"ON CONFLICT DO NOTHING", row)
            n += cur.rowcount
    return n


def test_ignore_drops_duplicate_rows_and_counts_the_rest(pg, make_proxy, request):
    gt = make(pg, make_proxy, request, action="ignore",
              legacy="INSERT INTO {t} (user_id, course_id) VALUES (2, 1), (2, 1)",
              twin_rows="INSERT INTO {t} (user_id, course_id) VALUES (2, 1)")
    rows = [(5, 5, "a"), (2, 1, "legacy dup"), (6, 6, "b"), (5, 5, "stream dup"), (7, 7, None),
            (2, 1, "again"), (8, 8, "c")]
    data = "".join(f"{u}\t{c}\t{chr(92) + 'N' if n is None else n}\n" for u, c, n in rows)
    sql = f"COPY {gt.name} (user_id, course_id, note) FROM STDIN"
    assert copy3(gt.proxy_dsn(), sql, data=data) == ("ok", "COPY 4")
    assert twin_insert_ignoring(gt, rows) == 4
    assert table_rows(gt, pg.dsn(database="app")) == [
        (2, 1, None), (2, 1, None), (5, 5, "a"), (6, 6, "b"), (7, 7, None), (8, 8, "c")]
    assert table_rows(gt, gt.twin_dsn()) == [
        (2, 1, None), (5, 5, "a"), (6, 6, "b"), (7, 7, None), (8, 8, "c")]
    lines = gt.duplicate_lines(expected=3)
    assert [(line["values"], line["action"]) for line in lines] == [
        (["2", "1"], "ignored"), (["5", "5"], "ignored"), (["2", "1"], "ignored")]


def test_ignore_inserts_held_rows_that_are_not_duplicates(pg, make_proxy, request):
    # (4, 4) is suspected (its key is in the key set) but was deleted earlier in the
    # transaction: held back, then inserted; psql's tag counts it.
    gt = make(pg, make_proxy, request, action="ignore",
              legacy="INSERT INTO {t} (user_id, course_id) VALUES (4, 4), (3, 3)")
    script = (f"BEGIN;\nDELETE FROM {gt.name} WHERE user_id = 4;\n"
              f"\\copy {gt.name} (user_id, course_id, note) from stdin\n"
              "4\t4\tback\n3\t3\tdup\n9\t9\tnew\n\\.\nCOMMIT;\n")
    r = subprocess.run(
        ["psql", "-X", "-h", "127.0.0.1", "-p", str(gt.proxy.port), "-U", "postgres", "-d",
         "app", "-f", "-"],
        input=script, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == ["BEGIN", "DELETE 1", "COPY 2", "COMMIT"]
    assert table_rows(gt, pg.dsn(database="app")) == [(3, 3, None), (4, 4, "back"), (9, 9, "new")]
    lines = gt.duplicate_lines(expected=1)
    assert [(line["values"], line["action"], line["in_transaction"]) for line in lines] == [
        (["3", "3"], "ignored", True)]


def test_ignore_in_csv_and_binary(pg, make_proxy, request):
    # Rows held back and then inserted (their keys were deleted earlier in the transaction) go
    # through the proxy's own COPY in the client's format and options.
    gt = make(pg, make_proxy, request, columns=TEXT_KEY, key=("email", "org"), action="ignore",
              legacy="INSERT INTO {t} (email, org) VALUES ('a;b', 1), ('z', 9), ('y', 8)")
    csv = ('email;org;note\n"a;b";1;"held, ""quoted"""\nc;1;"two\nlines"\n"c";1;x\n'
           '"a;b";2;""\n"z";9;"held ""q""; kept\n"\n')
    sql = f"COPY {gt.name} FROM STDIN (FORMAT csv, HEADER, DELIMITER ';', FORCE_NULL (note))"
    assert copy3(gt.proxy_dsn(), sql, data=csv, autocommit=False,
                 before=[f"DELETE FROM {gt.name} WHERE email = 'z'"]) == ("ok", "COPY 3")
    binary = f"COPY {gt.name} (org, email, note) FROM STDIN (FORMAT binary)"
    rows = [(3, "d", "x"), (1, "c", "dup"), (8, "y", "bin held"), (3, "d", "dup"), (4, "e", None)]
    assert copy3(gt.proxy_dsn(), binary, rows=rows, types=["int4", "text", "text"],
                 autocommit=False, before=[f"DELETE FROM {gt.name} WHERE email = 'y'"]) == \
        ("ok", "COPY 3")
    with psycopg2.connect(pg.dsn(database="app")) as c, c.cursor() as cur:
        cur.execute(f"SELECT email, org, note FROM {gt.name} ORDER BY 1, 2")
        assert cur.fetchall() == [("a;b", 1, None), ("a;b", 2, None), ("c", 1, "two\nlines"),
                                  ("d", 3, "x"), ("e", 4, None), ("y", 8, "bin held"),
                                  ("z", 9, 'held "q"; kept\n')]
    lines = gt.duplicate_lines(expected=4)
    assert [(line["values"], line["action"]) for line in lines] == [
        (["a;b", "1"], "ignored"), (["c", "1"], "ignored"),
        # binary values are logged as SQL, as binary Bind parameters are
        (["E'c'::text", "E'1'::int4"], "ignored"), (["E'd'::text", "E'3'::int4"], "ignored")]
