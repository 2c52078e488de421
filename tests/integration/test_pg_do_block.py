"""DO blocks that write a guarded table are refused (0A000, naming the guard): what they write
may leave the transaction the proxy's scan looks in (docs/guard.md, "Statements run as written
and scanned after"). A review on 2026-11-28 showed it with real servers: a block that CALLs a
procedure which COMMITs, a function with an EXCEPTION block writing the row (its subtransaction
has another xmin), a row touched by a rolled-back subtransaction (its command id becomes a
combo id). A DO block that only reads the table is forwarded.
"""
import re

import psycopg2
import pytest

from harness.guarded import GuardedTable

ENROLL = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
          "note text")


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "do_" + re.sub(r"\W", "_", request.node.name.replace("test_", ""))[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def test_do_blocks_writing_the_table_are_refused_reading_it_is_not(enroll):
    t = enroll.name
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {t} (user_id, course_id) VALUES (1, 1)")
    for sql in [
        f"DO $$BEGIN INSERT INTO {t} (user_id, course_id) VALUES (1, 1); END$$",
        f"DO $$BEGIN EXECUTE 'UPDATE {t} SET course_id = 2'; END$$",
        f"DO LANGUAGE plpgsql $$BEGIN INSERT INTO public.{t} (user_id) VALUES (2); END$$",
    ]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert e.value.diag.message_primary == (
            f'uniqguard: a DO block writing to it on table "public.{t}" is not enforced by '
            f'guard "{enroll.constraint}" yet; the statement was refused')
        assert e.value.diag.context is None
    cur.execute(f"DO $$BEGIN PERFORM count(*) FROM {t}; END$$")
    assert cur.statusmessage == "DO"
    conn.close()
    assert [(r[1], r[2]) for r in enroll.rows()] == [(1, 1)]
