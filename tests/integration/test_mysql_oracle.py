"""A differential oracle for the MySQL guard, one session, exact: a seeded random workload of the
statements the guard enforces on MySQL today (docs/mysql.md, "The guard (first slice)"), sent by
PyMySQL through uniqguard to a guarded table without a unique index and, in lockstep, directly to
a twin table with the real UNIQUE key `enroll_uniq` (the guard's name, so the 1062 messages are
equal). After every statement both sides' outcomes must be equal (("ok", affected rows) or
("error", errno, message)); now and then, and at the end, the rows (auto ids left out: dropped
and rejected rows spend ids differently) must be equal too.

The workload: INSERT of one row or 2-4 rows (VALUES, VALUE, SET), INSERT IGNORE, DELETE by key or
by user_id, UPDATE of the note (never a key column), BEGIN / COMMIT / ROLLBACK, SAVEPOINT /
ROLLBACK TO SAVEPOINT / RELEASE SAVEPOINT, a SELECT of the rows. Keys come from a small space
(user_id 1-3 or now and then NULL; course_id among strings equal under utf8mb4_general_ci but for
case and trailing spaces), so most INSERTs collide with a committed row, an uncommitted row of the
session's own transaction, a row deleted in it, a row of a rolled-back savepoint, or an earlier
row of the same statement. INSERT … ON DUPLICATE KEY UPDATE of 1-3 rows of distinct users (an
existing key's row updated by its id). Not in it: the forms the guard refuses with ERR 1235
(REPLACE of an existing key, ON DUPLICATE KEY UPDATE repeating a key inside the statement,
UPDATE of a key column, INSERT … SELECT), and what the proxy documents as different on purpose
(warning counts and info strings of INSERT IGNORE, auto ids).

UNIQGUARD_MYSQL_ORACLE_STATEMENTS (default 4000) and UNIQGUARD_MYSQL_ORACLE_SEED set the run; a
mismatch names the seed, the statement number and the last statements sent, so it can be replayed.
"""
from contextlib import closing
import os
import random

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from test_mysql_guard import make_tables, start_guarded

# The proxy's backend account (it loads the key set), a module fixture of test_mysql_guard.py.
pytestmark = pytest.mark.usefixtures("proxy_account")

STATEMENTS = int(os.environ.get("UNIQGUARD_MYSQL_ORACLE_STATEMENTS", "4000"))
SEED = int(os.environ.get("UNIQGUARD_MYSQL_ORACLE_SEED", "20261126"))

USERS = [1, 2, 3]
# Under utf8mb4_general_ci (PAD SPACE): 'a' = 'A' = 'a ' = 'A  ' = 'Ä'; 'é' = 'E'; 'ß' = 's' =
# 'S '. Other collations (test_oracle_collations) split or join them otherwise: 'ß' = 'ss' under
# unicode_ci, trailing spaces count under NO PAD, case under _bin.
COURSES = ["a", "A", "a ", "A  ", "b", "B ", "é", "E", "Ä", "ß", "s", "ss", "S "]


def connect(port):
    return pymysql.connect(host="127.0.0.1", port=port, user=NATIVE_USER,
                           password=NATIVE_PASSWORD, database=DATABASE, charset="utf8mb4",
                           autocommit=True)


class Workload:
    """The statement stream: a function of the seed and of the transaction state, which the
    generator follows itself from the statements it sends (both sides must agree on it)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.in_tx = False
        self.savepoints = []
        self.n = 0

    def key(self):
        r = self.rng
        user = "NULL" if r.random() < 0.04 else str(r.choice(USERS))
        course = r.choice(COURSES)
        return user, course

    def row(self):
        user, course = self.key()
        self.n += 1
        return f"({user}, '{course}', 'n{self.n}')"

    def next(self):
        r = self.rng
        x = r.random()
        if not self.in_tx and x < 0.08:
            self.in_tx, self.savepoints = True, []
            return r.choice(["BEGIN", "START TRANSACTION"])
        if self.in_tx and x < 0.05:
            self.in_tx = False
            return r.choice(["COMMIT", "ROLLBACK"])
        if self.in_tx and x < 0.09:
            name = f"s{r.randint(1, 3)}"
            # A savepoint of an existing name moves it (both sides do so).
            self.savepoints = [s for s in self.savepoints if s != name] + [name]
            return f"SAVEPOINT {name}"
        if self.in_tx and self.savepoints and x < 0.12:
            name = r.choice(self.savepoints)
            if r.random() < 0.7:
                # Savepoints set after it are gone.
                self.savepoints = self.savepoints[:self.savepoints.index(name) + 1]
                return f"ROLLBACK TO SAVEPOINT {name}"
            self.savepoints = self.savepoints[:self.savepoints.index(name)]
            return f"RELEASE SAVEPOINT {name}"
        ig = "IGNORE " if r.random() < 0.3 else ""
        if x < 0.45:
            return f"INSERT {ig}INTO {{t}} (user_id, course_id, note) VALUES {self.row()}"
        if x < 0.62:
            rows = ", ".join(self.row() for _ in range(r.randint(2, 4)))
            return f"INSERT {ig}INTO {{t}} (user_id, course_id, note) {r.choice(['VALUES', 'VALUE'])} {rows}"
        if x < 0.67:
            user, course = self.key()
            self.n += 1
            return f"INSERT {ig}{{t}} SET course_id = '{course}', note = 's{self.n}', user_id = {user}"
        if x < 0.70:
            # Column order other than the key's.
            user, course = self.key()
            return f"INSERT {ig}INTO {{t}} (course_id, user_id) VALUES ('{course}', {user})"
        if x < 0.82:
            user, course = self.key()
            if r.random() < 0.25:
                return f"DELETE FROM {{t}} WHERE user_id = {r.choice(USERS)}"
            return f"DELETE FROM {{t}} WHERE user_id <=> {user} AND course_id = '{course}'"
        if x < 0.92:
            self.n += 1
            return f"UPDATE {{t}} SET note = 'u{self.n}' WHERE user_id = {r.choice(USERS)}"
        if x < 0.97:
            # ON DUPLICATE KEY UPDATE of 1-3 rows, each of another user (a key repeated inside
            # the statement is refused by design), now and then a NULL user (never a conflict).
            rows = []
            for user in r.sample(USERS, r.randint(1, 3)):
                self.n += 1
                user = "NULL" if r.random() < 0.05 else user
                rows.append(f"({user}, '{r.choice(COURSES)}', 'k{self.n}')")
            update = r.choice(["note = VALUES(note)", "note = 'odku'"])
            return (f"INSERT INTO {{t}} (user_id, course_id, note) VALUES {', '.join(rows)} "
                    f"ON DUPLICATE KEY UPDATE {update}")
        return "SELECT"


def rows(cur, table):
    cur.execute(f"SELECT user_id, course_id, note FROM {table}")
    # Python's order: the server's collation would order equal keys arbitrarily.
    return sorted(cur.fetchall(), key=lambda r: (r[0] is None, r[0] or 0, r[1], r[2] or ""))


def outcome(cur, sql):
    try:
        return ("ok", cur.execute(sql))
    except pymysql.Error as e:
        return ("error",) + tuple(e.args)


def as_insert_ignore(sql):
    """The twin's statement when the guard's action is "ignore": a plain INSERT through the proxy
    drops its duplicate rows as INSERT IGNORE does on a unique key (SPEC §4, docs/mysql.md)."""
    if sql.startswith("INSERT INTO ") or sql.startswith("INSERT {t} "):
        return "INSERT IGNORE " + sql[len("INSERT "):]
    return sql


def run_oracle(through_port, direct_port, table, seed, count, stats=None, twin_ignore=False):
    """Runs the workload in lockstep; returns None, or a description of the first mismatch.
    `stats` (a dict) counts the outcomes, to show the workload exercised the guard.
    twin_ignore: the twin gets every INSERT as INSERT IGNORE (the proxy's action "ignore")."""
    w = Workload(seed)
    history = []
    stats = {} if stats is None else stats
    with closing(connect(through_port)) as through, closing(connect(direct_port)) as direct:
        pc, dc = through.cursor(), direct.cursor()
        for i in range(count):
            sql = w.next()
            if sql == "SELECT":
                got, want = rows(pc, table), rows(dc, table + "_twin")
            else:
                got = outcome(pc, sql.format(t=table))
                want = outcome(dc, (as_insert_ignore(sql) if twin_ignore else sql)
                               .format(t=table + "_twin"))
                if want[0] == "error" and want[1] not in (1062,):
                    # The workload is meant to give only duplicates: anything else is a bug in it.
                    return f"statement {i}: the twin answered {want} to {sql}"
            history.append((i, sql, got))
            kind = sql.split()[0] + (" IGNORE" if sql.startswith("INSERT IGNORE") else "")
            what = (kind, "rows" if sql == "SELECT" else "error" if got[0] == "error" else got[1] > 0)
            if "ON DUPLICATE KEY UPDATE" in sql:  # affected rows: 2 per update, 1 per insert
                what = ("ODKU", "error" if got[0] == "error" else got[1])
            stats[what] = stats.get(what, 0) + 1
            if got != want:
                last = "\n".join(f"  {j}: {s} -> {o}" for j, s, o in history[-15:])
                return (f"seed {seed}, statement {i}: {sql}\n  through the proxy: {got}\n"
                        f"  the twin:          {want}\nlast statements:\n{last}")
        for c in (pc, dc):
            c.execute("ROLLBACK" if w.in_tx else "COMMIT")
        got, want = rows(pc, table), rows(dc, table + "_twin")
        if got != want:
            return f"seed {seed}, the rows at the end differ:\n  proxy {got}\n  twin  {want}"
    return None


def test_oracle_through_the_guard_equals_the_unique_key(mysql_root,
                                                        make_mysql_proxy, mariadb):
    # Legacy rows without duplicates: a DELETE of a key duplicated on the guarded table only
    # would count more rows there (test_mysql_guard.py covers loading legacy duplicates).
    make_tables(mysql_root, "or_enroll", legacy=[(1, "a"), (2, "b")])
    proxy = start_guarded(make_mysql_proxy, "or_enroll")
    stats = {}
    mismatch = run_oracle(proxy.port, mariadb.port, "or_enroll", SEED, STATEMENTS, stats)
    print(sorted(stats.items(), key=str))
    assert mismatch is None, mismatch
    # The workload did test something: rejections, INSERTs and INSERT IGNOREs that wrote rows and
    # INSERT IGNOREs that dropped every row (0 affected).
    assert stats[("INSERT", "error")] > STATEMENTS // 20, stats
    assert stats[("INSERT", True)] > STATEMENTS // 50, stats
    assert stats[("INSERT IGNORE", True)] > STATEMENTS // 100, stats
    assert stats[("INSERT IGNORE", False)] > STATEMENTS // 100, stats
    # ON DUPLICATE KEY UPDATE: statements that updated rows (an even count of 2 or more with
    # nothing inserted, odd with inserts beside updates) and never an error.
    odku = {n: c for (kind, n), c in stats.items() if kind == "ODKU"}
    assert "error" not in odku, stats
    assert sum(c for n, c in odku.items() if n >= 2) > STATEMENTS // 100, stats
    assert sum(c for n, c in odku.items() if n >= 3 and n % 2 == 1) > STATEMENTS // 400, stats


COLLATIONS = [("utf8mb4_unicode_ci", "VARCHAR(20)"), ("utf8mb4_unicode_520_ci", "VARCHAR(20)"),
              ("utf8mb4_bin", "VARCHAR(20)"), ("utf8mb4_general_nopad_ci", "VARCHAR(20)"),
              ("utf8mb4_nopad_bin", "VARCHAR(20)"),
              # CHAR: trailing spaces cut when stored, and in the 1062 message.
              ("utf8mb4_general_ci", "CHAR(8)"), ("utf8mb4_nopad_bin", "CHAR(8)")]


@pytest.mark.parametrize("collation,course_type", COLLATIONS,
                         ids=[f"{c}-{t.split('(')[0]}" for c, t in COLLATIONS])
def test_oracle_collations(mysql_root, make_mysql_proxy, mariadb, collation, course_type):
    table = "or_" + collation.replace("utf8mb4_", "") + "_" + course_type.split("(")[0].lower()
    with mysql_root.cursor() as cur:
        for t, unique in ((table, ""), (table + "_twin", ", UNIQUE KEY enroll_uniq (user_id, course_id)")):
            cur.execute(f"DROP TABLE IF EXISTS {t}")
            cur.execute(f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT, "
                        f"course_id {course_type}, note VARCHAR(20){unique}) ENGINE=InnoDB "
                        f"DEFAULT CHARSET=utf8mb4 COLLATE={collation}")
    proxy = start_guarded(make_mysql_proxy, table)
    mismatch = run_oracle(proxy.port, mariadb.port, table, SEED + 5, STATEMENTS // 4)
    assert mismatch is None, mismatch


@pytest.mark.parametrize("seed", [SEED + 1, SEED + 2])
def test_oracle_other_seeds(mysql_root, make_mysql_proxy, mariadb,
                            seed):
    table = f"or_seed{seed % 10}"
    make_tables(mysql_root, table)
    proxy = start_guarded(make_mysql_proxy, table)
    mismatch = run_oracle(proxy.port, mariadb.port, table, seed, STATEMENTS // 4)
    assert mismatch is None, mismatch


def test_oracle_action_ignore_equals_insert_ignore(mysql_root, make_mysql_proxy, mariadb):
    make_tables(mysql_root, "or_ignore", legacy=[(1, "a"), (2, "b")])
    proxy = start_guarded(make_mysql_proxy, "or_ignore", action="ignore")
    stats = {}
    mismatch = run_oracle(proxy.port, mariadb.port, "or_ignore", SEED + 3, STATEMENTS // 2,
                          stats, twin_ignore=True)
    assert mismatch is None, mismatch
    # Under "ignore" a plain INSERT never fails with 1062: its duplicates are dropped.
    assert ("INSERT", "error") not in stats, stats
    assert stats[("INSERT", False)] > STATEMENTS // 100, stats  # every row dropped
    assert stats[("INSERT", True)] > STATEMENTS // 100, stats


def test_oracle_detects_log_mode(mysql_root, make_mysql_proxy, mariadb):
    # With action = "log" duplicates go through: the oracle must see it, or its pass means nothing.
    make_tables(mysql_root, "or_logged", legacy=[(1, "a"), (2, "b")])
    proxy = start_guarded(make_mysql_proxy, "or_logged", action="log")
    mismatch = run_oracle(proxy.port, mariadb.port, "or_logged", SEED, STATEMENTS)
    assert mismatch is not None
    # The first difference is an INSERT that wrote the duplicate (or more rows) through the proxy.
    assert mismatch.startswith(f"seed {SEED}, statement "), mismatch
    statement = mismatch.splitlines()[0]
    assert " INSERT " in statement, mismatch
    got, want = (eval(line.split(":", 1)[1]) for line in mismatch.splitlines()[1:3])
    assert got[0] == "ok" and (want[0] == "error" and want[1] == 1062 or got[1] > want[1]), mismatch
