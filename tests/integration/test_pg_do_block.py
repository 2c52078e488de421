"""DO blocks that write a guarded table (docs/guard.md, "Statements run as written and scanned
after"): run as the client wrote them, the rows they wrote found after them by the scan, and
judged as the real unique index judges them on the twin. Refused (0A000) where their writes
could leave the statement's (sub)transaction (EXCEPTION, COMMIT, ROLLBACK) or are not read
(another language, ON CONFLICT).
"""
import re

import psycopg2
import pytest

from harness.guarded import GuardedTable, script_outcomes

ENROLL = ("id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL DEFAULT 7, "
          "note text")
ROWS = ("INSERT INTO {t} (user_id, course_id, note) VALUES (1, 1, 'a'), (1, 2, 'b'), "
        "(2, 7, 'c')")


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "do_" + re.sub(r"\W", "_", request.node.name.replace("test_", ""))[:40].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def without_context(outcome):
    """An error's fields but its CONTEXT: the server's names the DO block's statement and line,
    which the proxy's check, run after the block, cannot know."""
    if outcome[0] != "error":
        return outcome
    fields = dict(outcome[1])
    fields.pop("context")
    return ("error", fields)


def test_do_blocks_writing_the_table_are_judged_as_by_the_index(enroll):
    script = [
        ROWS,
        "DO $$BEGIN INSERT INTO {t} (user_id, course_id) VALUES (3, 3); END$$",
        "DO $$BEGIN INSERT INTO {t} (user_id, course_id) VALUES (1, 1); END$$",
        # a loop: the first duplicate it writes is reported
        "DO $$BEGIN FOR i IN 4..6 LOOP INSERT INTO {t} (user_id, course_id) VALUES (i, 1); "
        "END LOOP; INSERT INTO {t} (user_id, course_id) VALUES (5, 1); END$$",
        # dynamic SQL, an UPDATE onto a taken key
        "DO $$BEGIN EXECUTE 'UPDATE {t} SET course_id = 2 WHERE note = ''a'''; END$$",
        "DO LANGUAGE plpgsql $$BEGIN UPDATE {t} SET course_id = 9 WHERE note = 'a'; END$$",
        # the key set learnt (3, 3) and (1, 9): plain INSERTs of them are refused
        "INSERT INTO {t} (user_id, course_id) VALUES (3, 3)",
        "INSERT INTO {t} (user_id, course_id) VALUES (1, 9)",
        "SELECT user_id, course_id FROM {t} ORDER BY 1, 2",
    ]
    proxy, proxy_rows = script_outcomes(enroll.connect_proxy, enroll.name, script)
    twin, twin_rows = script_outcomes(enroll.connect_twin, enroll.name, script)
    assert [without_context(o) for o in proxy] == [without_context(o) for o in twin]
    assert proxy_rows == twin_rows
    assert proxy[1] == ("ok", "DO", None)
    for i, key in ((2, "(1, 1)"), (3, "(5, 1)"), (4, "(1, 2)"), (6, "(3, 3)"), (7, "(1, 9)")):
        assert proxy[i][1]["sqlstate"] == "23505", i
        assert proxy[i][1]["detail"] == f"Key (user_id, course_id)={key} already exists.", i
        assert proxy[i][1]["constraint"] == enroll.constraint
    assert proxy[5] == ("ok", "DO", None)
    assert proxy[8][2] == [(1, 2), (1, 9), (2, 7), (3, 3)]


def test_do_blocks_the_scan_cannot_follow_are_refused(enroll):
    t = enroll.name
    conn = enroll.connect_proxy()
    conn.autocommit = True
    cur = conn.cursor()
    for sql, why in [
        (f"DO $$BEGIN INSERT INTO {t} (user_id, course_id) VALUES (1, 1); "
         f"EXCEPTION WHEN unique_violation THEN NULL; END$$", "EXCEPTION"),
        (f"DO $$BEGIN INSERT INTO {t} (user_id, course_id) VALUES (1, 1); COMMIT; END$$",
         "COMMIT"),
        (f"DO $$BEGIN INSERT INTO {t} (user_id, course_id) VALUES (1, 1) ON CONFLICT DO "
         f"NOTHING; END$$", "CONFLICT"),
    ]:
        with pytest.raises(psycopg2.errors.FeatureNotSupported) as e:
            cur.execute(sql)
        assert e.value.diag.message_primary == (
            f'uniqguard: a DO block writing to it with {why} on table "public.{t}" is not '
            f'enforced by guard "{enroll.constraint}" yet; the statement was refused')
    # Reading it only: forwarded.
    cur.execute(f"DO $$BEGIN PERFORM count(*) FROM {t}; END$$")
    assert cur.statusmessage == "DO"
    conn.close()
    assert enroll.rows() == []
