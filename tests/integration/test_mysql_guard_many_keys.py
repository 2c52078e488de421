"""Statements with more suspected keys than one check query asks about (100, kMaxProbesPerCheck
in proxy/mysql_guard.cpp) against a real MariaDB 10.11: the proxy asks in several queries, one
after the other in the client's session, and the client sees what the twin with a real UNIQUE
key answers. Keys are "suspected" when the key set has them: the legacy rows it loaded, some
deleted since directly on the server (stale fingerprints), so only the server can tell."""
import pytest

from harness.mariadb_server import DATABASE
from test_mysql_guard import err_of, make_tables, raw_reply, start_guarded, wire
from test_mysql_guard_upsert import ok_or_err

LEGACY = [(u, "k") for u in range(1, 251)]  # distinct: both tables give them the same ids


@pytest.fixture
def many(mysql_root, proxy_account, make_mysql_proxy):
    make_tables(mysql_root, "g_many", legacy=LEGACY)
    proxy = start_guarded(make_mysql_proxy, "g_many")
    # Deleted on the server, not through the proxy: every key stays in the key set.
    with mysql_root.cursor() as cur:
        for table in ("g_many", "g_many_twin"):
            cur.execute(f"DELETE FROM {table} WHERE user_id < 250 AND user_id <> 230")
    return proxy


def both(proxy, mariadb, sql):
    through, direct = wire(proxy.port), wire(mariadb.port)
    try:
        return (raw_reply(through, sql.format(t="g_many")),
                raw_reply(direct, sql.format(t="g_many_twin")))
    finally:
        through.close()
        direct.close()


def values(keys, course="K"):
    return ", ".join(f"({u}, '{course}')" for u in keys)


def test_the_one_existing_key_in_the_third_query_is_the_duplicate(many, mariadb):
    # 250 suspected keys: three queries of 100, 100 and 50; only 230 ('K' = 'k') exists.
    sql = "INSERT INTO {t} (user_id, course_id) VALUES " + values(range(1, 251))
    got, want = both(many, mariadb, sql)
    assert got == want
    assert err_of(got[1]) == (1062, "23000", b"Duplicate entry '230-K' for key 'enroll_uniq'")
    # Every stale key in many queries: none exists, all are inserted.
    sql = "INSERT INTO {t} (user_id, course_id) VALUES " + values(
        u for u in range(1, 250) if u != 230)
    got, want = both(many, mariadb, sql)
    assert got == want and got[1][:1] == b"\x00"
    count = "SELECT COUNT(*) FROM {} WHERE course_id = 'K'"
    assert mariadb.sql(count.format("g_many"), DATABASE).strip() == \
        mariadb.sql(count.format("g_many_twin"), DATABASE).strip() == "250"  # and the two legacy rows


def test_an_upsert_of_many_existing_keys_updates_each_row(many, mariadb):
    # 248 stale keys and the two that exist (230 and 250), in several probe queries: the two
    # rows are updated in place, the others inserted; the OK is the twin's but for the insert id
    # (docs/mysql.md: the proxy's statement names the updated rows).
    sql = ("INSERT INTO {t} (user_id, course_id, note) VALUES "
           + ", ".join(f"({u}, 'K', 'n{u}')" for u in range(1, 251))
           + " ON DUPLICATE KEY UPDATE note = CONCAT(VALUES(note), '+')")
    through, direct = wire(many.port), wire(mariadb.port)
    try:
        got = ok_or_err(through, sql.format(t="g_many"))
        want = ok_or_err(direct, sql.format(t="g_many_twin"))
    finally:
        through.close()
        direct.close()
    assert got[0] == want[0] == "ok"
    assert got[1] == want[1] == 248 + 2 * 2  # affected rows: 1 per insert, 2 per update
    assert got[3:] == want[3:]  # status, warnings, info
    rows = "SELECT user_id, course_id, note FROM {} WHERE user_id IN (229, 230, 231, 250) " \
           "ORDER BY user_id, id"
    assert mariadb.sql(rows.format("g_many"), DATABASE) == \
        mariadb.sql(rows.format("g_many_twin"), DATABASE) == (
            "229\tK\tn229\n230\tk\tn230+\n231\tK\tn231\n250\tk\tn250+\n")
    # The updated rows kept their ids, as on the unique key.
    ids = "SELECT id FROM {} WHERE user_id IN (230, 250) ORDER BY user_id"
    assert mariadb.sql(ids.format("g_many"), DATABASE) == \
        mariadb.sql(ids.format("g_many_twin"), DATABASE)
