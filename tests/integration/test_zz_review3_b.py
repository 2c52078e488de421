from contextlib import closing
import pymysql
import pytest
from test_mysql_repeatable_read import connect, outcome, on_both, _loader_account  # noqa
from test_mysql_guard import make_tables, start_guarded

def cmp(mysql_root, make_mysql_proxy, mariadb, name, schedule, isolation="REPEATABLE READ"):
    p, t = on_both(mysql_root, make_mysql_proxy, mariadb, name, schedule, isolation)
    print("\nPROXY", p, "\nTWIN ", t)
    assert p == t

def snap(b, t):
    return [outcome(b, "BEGIN"), outcome(b, f"SELECT COUNT(*) FROM {t}")]

def test_insert_select_miss(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return snap(b, t) + [
            outcome(a, f"INSERT INTO {t} (user_id, course_id) SELECT 7, 'q'"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_insel", s)

def test_commit_and_chain_rollback(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return snap(b, t) + [
            outcome(a, "BEGIN"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(a, "COMMIT AND CHAIN"),
            outcome(a, "ROLLBACK"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_chain", s)

def test_begin_begin_rollback(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return snap(b, t) + [
            outcome(a, "BEGIN"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(a, "BEGIN"),
            outcome(a, "ROLLBACK"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_bbr", s)

def test_odku_pk(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return [outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (100, 1, 'a')")] + snap(b, t) + [
            outcome(a, f"INSERT INTO {t} (id, user_id, course_id) VALUES (100, 7, 'q') ON DUPLICATE KEY UPDATE note = 'n'"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_odku", s)

def test_ignore_in_rr(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return snap(b, t) + [
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, f"INSERT IGNORE INTO {t} (user_id, course_id) VALUES (7, 'q'), (8, 'r')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_igrr", s)

def test_xa_one_phase(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return snap(b, t) + [
            outcome(a, "XA START 'r3'"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(a, "XA END 'r3'"),
            outcome(a, "XA COMMIT 'r3' ONE PHASE"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_xa", s)

def test_autocommit0_pool(mysql_root, make_mysql_proxy, mariadb):
    def s(a, b, t):
        return [
            outcome(b, "SET autocommit = 0"),
            outcome(b, f"SELECT COUNT(*) FROM {t}"),
            outcome(b, "COMMIT"),
            outcome(a, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(a, f"DELETE FROM {t} WHERE user_id = 7"),
            outcome(b, f"INSERT INTO {t} (user_id, course_id) VALUES (7, 'q')"),
            outcome(b, "COMMIT"),
            outcome(b, "SET autocommit = 1"),
        ]
    cmp(mysql_root, make_mysql_proxy, mariadb, "r3_ac0", s)
