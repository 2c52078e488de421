from contextlib import closing
import pymysql
import pytest
from test_mysql_repeatable_read import connect, outcome, on_both, _loader_account  # noqa
from test_mysql_guard import make_tables, start_guarded

def cmp(mysql_root, make_mysql_proxy, mariadb, name, schedule, isolation="REPEATABLE READ"):
    p, t = on_both(mysql_root, make_mysql_proxy, mariadb, name, schedule, isolation)
    print("\nPROXY", p, "\nTWIN ", t)
    assert p == t

def test_idle_begin_after_insert_delete(mysql_root, make_mysql_proxy, mariadb):
    # B idle outside a transaction; A inserts and deletes key; then B BEGIN + INSERT: the
    # snapshot is taken after the delete.
    def s(a, b, t):
        return [
            outcome(b, f"SELECT 1"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'z')"),
            outcome(a, f"DELETE FROM {t} WHERE user_id = 7"),
            outcome(b, "BEGIN"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'z')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_idle", s)

def test_failed_insert_then_commit(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return [
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (100, 1, 'a')"),
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, "BEGIN"),
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (100, 7, 'q')"),
            outcome(a, "COMMIT"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_fail", s)

def test_insert_ignore_pk_drop(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return [
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (100, 1, 'a')"),
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, f"INSERT IGNORE INTO {t} (id, user_id, course_id) VALUES (100, 7, 'q')"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_ign", s)

def test_call_rollback(mysql_root, make_mysql_proxy, mariadb):
    with mysql_root.cursor() as cur:
        cur.execute("DROP PROCEDURE IF EXISTS r3_rb")
        cur.execute("CREATE PROCEDURE r3_rb() ROLLBACK")
    def s(a, b, t):
        return [
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, "BEGIN"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(a, "CALL r3_rb()"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_call", s)

def test_update_commit_miss(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return [
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (1, 'a')"),
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, f"UPDATE {t} SET course_id = 'q', user_id = 7 WHERE user_id = 1"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_upd", s)

def test_insert_then_delete_same_tx(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return [
            outcome(b, "BEGIN"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(a, "BEGIN"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(a, f"DELETE FROM {t} WHERE user_id = 7"),
            outcome(a, "COMMIT"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_insdel", s)
