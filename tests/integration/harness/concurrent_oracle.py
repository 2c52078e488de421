"""The concurrent oracle's machinery (SPEC §4, "Transactions and concurrency"): a seeded random
workload from several sessions at once, through uniqguard, onto guarded tables that have no
unique index (action "reject"); the server's own record of what was committed, and in which
order; and the checks of the three invariants against that record. Used by
test_pg_concurrent_oracle.py (CI) and bench/pg-oracle (a million statements).

What each session sends (psycopg2, libpq's simple query protocol, autocommit mode so that the
workload writes BEGIN/COMMIT itself; READ COMMITTED, the default):
- INSERT of one row or of 2-3 rows (now and then the same key twice in one statement), INSERT …
  ON CONFLICT DO NOTHING and ON CONFLICT (key columns) DO NOTHING, INSERT … ON CONFLICT (key
  columns) DO UPDATE SET note = EXCLUDED.note (the proxy's upsert), INSERT … SELECT FROM VALUES
  (keys that come late: the proxy's two-part rewrite), UPDATE setting the whole key
  (and now and then the note) of rows chosen by rid or rid IN (…) (rows whose INSERT committed, or
  the session's own), DELETE of rows chosen by rid, rid IN (…), key or one key column, a SELECT
  now and then; every write with RETURNING, so that the session knows its transaction's own
  effects;
- autocommit statements (each its own implicit transaction), query strings of 2-3 INSERTs (the
  first now and then a DELETE by key) run as one implicit transaction, explicit transactions: BEGIN,
  1-6 statements, SAVEPOINT / ROLLBACK TO SAVEPOINT / RELEASE SAVEPOINT, COMMIT or ROLLBACK; after
  an error inside a block the session rolls back (to its last savepoint, or all), as an
  application does.
Keys come from a small space (4 × 4 int keys for `conc_enroll`, 4 codes (one with a trailing
space, one upper-case, one non-ASCII) plus NULL × 2 for `conc_code`), so the 8 sessions write the
same keys all the time. Not in it: the forms the proxy refuses (docs/guard.md: INSERT … SELECT,
DEFAULT or expressions in key columns, ON CONFLICT … DO UPDATE, UPDATE setting part of the key...),
REPEATABLE READ / SERIALIZABLE blocks and the extended protocol (docs/guard.md, "Known gaps":
after a wait, the check runs in a snapshot taken before the other transaction committed, and both
rows commit), TRUNCATE (it takes the table's lock: a different test), multi-statement query
strings with savepoint commands. UPDATEs setting the key of rows chosen by key or by a key column
are in: the gap this oracle found there is mended (UPDATE_BY_KEY_GAP below).
The sessions' statement streams are a function of the seed and of each session's outcomes; the
interleaving is the scheduler's, so a run is not replayed exactly: a failure prints the statements
of every session around it, with their send and answer times, and the server's commit times.

The server's own record. The guarded tables (in database `app`) carry two triggers, invisible to
the clients and to the proxy:
- `oracle_effect`, AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW: one row in `oracle_effects`
  (txid, table, I/U/D, rid, key, note) per row written, in the transaction that wrote it: it
  commits with it, and rolls back with it, its savepoint or its failed statement;
- `oracle_commit`, a deferred constraint trigger (it runs inside COMMIT, the last thing the
  transaction does): the first of a transaction increments the one row of `oracle_counter` and
  writes (n, txid) to `oracle_commits`. The counter's row lock is held until the transaction has
  committed, and the next transaction's increment waits for it, so **n is the commit order** of
  the transactions that wrote to a guarded table, autocommit statements included (commit n is
  visible before commit n+1, and reading `oracle_counter` gives the number of commits visible).
  Only COMMIT waits for that lock, and a transaction holding it waits for nothing else, so it
  adds no deadlock.

The invariants:
(a) No duplicate key ever admitted: the guarded tables, read directly (not through the proxy)
    every checkpoint and at the end, have no key twice (`GROUP BY key HAVING count(*) > 1`; NULL
    never conflicts).
(b) Every 23505 a session gets is a true duplicate at that moment, by the server's own view.
    Before each write the session reads the counter (directly): n_before, a lower bound of the
    commits its statement can see. After a 23505 it reads it again: n_after, an upper bound. The
    statement ran, and was checked (by the proxy, or by the server after a wait), against one of
    the committed states S_j, n_before ≤ j ≤ n_after, plus its own transaction's uncommitted
    effects (which the session knows exactly from RETURNING, per savepoint). S_j is rebuilt from
    `oracle_effects` and `oracle_commits` after the run. The rejection is true when, in some S_j
    of that window with the session's own effects applied, a row other than the statement's own
    targets holds the key the error's DETAIL names, or the statement itself puts that key twice
    (two VALUES rows; an UPDATE matching two rows). The DETAIL must name a key the statement
    wrote (with no NULL in it). INSERT … ON CONFLICT DO NOTHING with the guard key as arbiter
    never gets 23505 on a real index, so any is a violation.
    Why it is sound: a real index raises 23505 only when a conflicting row is visible to the
    checking statement or was committed by a transaction it waited for; both are in S_j plus own
    effects for some j in the window, since the window brackets the statement in time and commit
    numbers only grow. So a true rejection always passes (no flake: nothing is read at a moment
    that could have moved on), and a rejection passes only if a conflicting row existed in the
    server's view at some moment of the statement's life: a rejection for a key held only by
    another session's uncommitted transaction that later rolled back, for a key freed by a
    committed DELETE before the statement began, or for a key held only by the very row being
    updated, fails.
(c) The committed history is one a real unique index accepts, and the final contents are the
    twin's: each committed transaction's row effects (from `oracle_effects`, in statement order),
    replayed transaction by transaction in commit order (n) onto the twin tables in database
    `twin`, which have the real UNIQUE constraint, must each succeed and touch exactly one row;
    the twin's final rows (rid, key, note) equal the guarded table's. A replay in commit order of
    whole transactions succeeds on a real index for any history a real index admitted (if T
    writes key k while a row with k committed before T's commit is live, a real index made T
    wait for or fail on that row), so a 23505 in the replay is a duplicate the proxy let through
    somewhere, even one deleted again before any checkpoint looked. Statements are replayed as
    effects, not as SQL: under READ COMMITTED a statement's WHERE sees the rows of its own
    snapshot, so re-running the SQL in commit order could pick other rows.
(d) Sessions never hang: lock_timeout (honoured by the proxy's waits as by the server's) and
    statement_timeout bound every wait; a watchdog fails the run, naming the seed, the session and
    its statement, when one statement takes longer than `hang_after` seconds, and stops the proxy
    so that nothing stays blocked. 40P01 and 55P03 are legitimate outcomes, counted and reported.
    Any other error is counted as unexpected and fails the run.
"""
import os
import random
import sys
import threading
import time
import traceback
import urllib.request

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from .guarded import TWIN_DB, ensure_twin_database

# The run's seed: fixed, so that CI never turns red on an unlucky draw; UNIQGUARD_ORACLE_SEED
# replays one (or "random" draws a new one).
DEFAULT_SEED = "20261126"

# The gap this oracle found (docs/guard.md, "Known gaps"). The proxy judges an UPDATE that sets
# the key with a precheck (a DO block: which rows the UPDATE will move, and whether another row
# holds their new key) run right before the UPDATE, as a separate statement. Under READ COMMITTED
# the UPDATE takes a new snapshot: a row matching its WHERE that another transaction commits
# between the two (an INSERT of the key the WHERE names, an UPDATE moving a row onto it) is moved
# by the UPDATE without having been judged, onto a key another row holds. Minimal schedule
# (test_pg_concurrent_oracle.py::test_update_precheck_race reproduces it deterministically):
# row A (2,3) committed; session 1: BEGIN; INSERT B (4,2); session 2 through uniqguard: UPDATE t
# SET user_id = 2, course_id = 3 WHERE user_id = 4 AND course_id = 2; session 1 commits after the
# precheck and before the UPDATE's snapshot: A and B both hold (2,3) (a real index: 23505).
# Mended: the precheck records, in the same statement (one snapshot) as its verdict, how many rows
# will have the new key, and the verdict after the UPDATE recounts them (guard::update_verdict).
# (Before, the precheck's statements each took their own snapshot too.) The workload now has these
# UPDATEs by default; UNIQGUARD_ORACLE_GAPS=no_update_by_key leaves them out.
UPDATE_BY_KEY_GAP = "update_by_key"


def gaps_from_env():
    return [g.strip() for g in os.environ.get("UNIQGUARD_ORACLE_GAPS", "").split(",")
            if g.strip()]


EXPECTED_ERRORS = {
    "23505": "unique violation",
    "21000": "an upsert proposing one key twice",
    "40P01": "deadlock",
    "55P03": "lock timeout",
}


def seed_from_env():
    chosen = os.environ.get("UNIQGUARD_ORACLE_SEED") or DEFAULT_SEED
    if chosen == "random":
        chosen = str(random.SystemRandom().randrange(1, 2 ** 31))
    return chosen


# ---------------------------------------------------------------------------- tables

class Table:
    def __init__(self, name, key_columns, values, note_column="note"):
        """`key_columns`: [(name, sql type, NOT NULL?)]; `values`: per key column, the values
        the workload writes (None is NULL)."""
        self.name = name
        self.key_columns = key_columns
        self.key = [c[0] for c in key_columns]
        self.values = values
        self.constraint = f"{name}_key"
        cols = ["id serial PRIMARY KEY", "rid int NOT NULL"]
        cols += [f"{n} {t}{' NOT NULL' if nn else ''}" for n, t, nn in key_columns]
        cols.append("note text")
        self.columns_sql = ", ".join(cols)
        self.int_key = [t.startswith("int") for _, t, _ in key_columns]

    def typed(self, texts):
        """A key from the text values `oracle_effects` stores."""
        return tuple(None if v is None else (int(v) if is_int else v)
                     for v, is_int in zip(texts, self.int_key))

    def detail(self, key):
        """The server's DETAIL for a duplicate of `key` (BuildIndexValueDescription)."""
        return (f"Key ({', '.join(self.key)})=({', '.join(str(v) for v in key)}) "
                f"already exists.")


def standard_tables():
    return [
        Table("conc_enroll", [("user_id", "int", True), ("course_id", "int", True)],
              [range(1, 5), range(1, 5)]),
        Table("conc_code", [("code", "varchar(10)", False), ("n", "int", True)],
              [["a", "a ", "A", "é", None], [1, 2]]),
    ]


TRIGGERS_SQL = """
DROP TABLE IF EXISTS oracle_effects, oracle_commits, oracle_counter;
CREATE TABLE oracle_effects (seq bigserial PRIMARY KEY, txid bigint NOT NULL, tbl text NOT NULL,
  op char(1) NOT NULL, rid int NOT NULL, k1 text, k2 text, note text);
CREATE INDEX ON oracle_effects (txid);
CREATE TABLE oracle_commits (n bigint PRIMARY KEY, txid bigint NOT NULL UNIQUE,
  app text NOT NULL, at float8 NOT NULL);
CREATE TABLE oracle_counter (n bigint NOT NULL);
INSERT INTO oracle_counter VALUES (0);
CREATE OR REPLACE FUNCTION oracle_effect() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO oracle_effects (txid, tbl, op, rid)
      VALUES (txid_current(), TG_TABLE_NAME, 'D', OLD.rid);
  ELSE
    INSERT INTO oracle_effects (txid, tbl, op, rid, k1, k2, note)
      VALUES (txid_current(), TG_TABLE_NAME, left(TG_OP, 1), NEW.rid,
              to_jsonb(NEW) ->> TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[1], NEW.note);
  END IF;
  RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION oracle_commit() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE v bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM oracle_commits WHERE txid = txid_current()) THEN
    UPDATE oracle_counter SET n = n + 1 RETURNING n INTO v;
    INSERT INTO oracle_commits VALUES (v, txid_current(), current_setting('application_name'),
                                       extract(epoch FROM clock_timestamp()));
  END IF;
  RETURN NULL;
END $f$;
"""


def setup_oracle(pg, make_proxy, tables, action="reject", timeout=60):
    """Creates the tables in `app` (no unique index; the oracle's triggers) and in `twin` (the
    real constraint `<name>_key`), and one proxy guarding them. Returns the proxy."""
    ensure_twin_database(pg)
    sql = TRIGGERS_SQL
    extra = ""
    for t in tables:
        create = f"DROP TABLE IF EXISTS {t.name}; CREATE TABLE {t.name} ({t.columns_sql});"
        sql += create + f"GRANT SELECT ON {t.name} TO uniqguard;"
        sql += (f"CREATE TRIGGER {t.name}_effect AFTER INSERT OR UPDATE OR DELETE ON {t.name} "
                f"FOR EACH ROW EXECUTE FUNCTION oracle_effect('{t.key[0]}', '{t.key[1]}');"
                f"CREATE CONSTRAINT TRIGGER {t.name}_commit AFTER INSERT OR UPDATE OR DELETE "
                f"ON {t.name} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION oracle_commit();")
        pg.psql_admin(create + f"ALTER TABLE {t.name} ADD CONSTRAINT {t.constraint} "
                      f"UNIQUE ({', '.join(t.key)});", database=TWIN_DB)
        columns = ", ".join(f'"{c}"' for c in t.key)
        extra += (f'[[guard]]\ntable = "public.{t.name}"\ncolumns = [{columns}]\n'
                  f'action = "{action}"\nname = "{t.constraint}"\n')
    pg.psql_admin(sql, database="app")
    proxy = make_proxy(extra=extra)
    deadline = time.monotonic() + timeout
    for t in tables:
        while f"guard {t.constraint}: ready" not in proxy.log_text():
            if time.monotonic() > deadline:
                raise TimeoutError("guard not ready:\n" + proxy.log_text())
            time.sleep(0.05)
    return proxy


# ---------------------------------------------------------------------------- statements

def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + v.replace("'", "''") + "'"


def key_has_null(key):
    return any(v is None for v in key)


class Stmt:
    """A statement and what the check of a 23505 needs to know about it."""
    __slots__ = ("sql", "kind", "table", "keys", "selector", "on_conflict", "rids", "parts",
                 "deletes")

    def __init__(self, sql, kind, table=None, keys=(), selector=None, on_conflict=False):
        self.sql = sql
        self.kind = kind            # insert | update | delete | select | control
        self.table = table
        self.keys = list(keys)      # the keys the statement writes (INSERT rows, UPDATE's key)
        self.selector = selector    # UPDATE / DELETE: (what, values), evaluated by `selects`
        self.on_conflict = on_conflict
        self.rids = []              # the rids its INSERT rows carry
        self.parts = 1              # statements in the query string
        self.deletes = None         # a string's first statement: DELETE … WHERE key = this


def selects(t, selector, rid, key):
    """Whether a row (rid, key) matches a selector, as the server's WHERE would."""
    what, v = selector
    if what == "rid":
        return rid == v
    if what == "rids":
        return rid in v
    if what == "key":
        return not key_has_null(key) and key == v
    i, value = v           # one key column = value
    return key[i] is not None and key[i] == value


class Generator:
    """One session's statements: a function of the seed and the session number, and of where the
    session is (in a block or not, after an error or not)."""

    def __init__(self, seed, session, tables, rid_pool, gaps=()):
        self.rng = random.Random(f"{seed}:session{session}")
        self.gaps = set(gaps)
        self.own_rids = {t.name: [] for t in tables}   # inserted by the open block
        self.tables = tables
        self.next_rid = (session + 1) * 100_000_000
        self.rid_pool = rid_pool     # shared: {table name: [recent rids]}
        self.in_block = False
        self.block_left = 0
        self.savepoints = []
        self.savepoint_counter = 0

    def table(self):
        return self.tables[0] if self.rng.random() < 0.7 else self.tables[1]

    def key(self, t):
        return tuple(self.rng.choice(list(vs)) for vs in t.values)

    def some_rid(self, t):
        """A committed row's rid (`rid_pool` has rids once their INSERT committed), one the
        open block inserted, or none."""
        pool = self.rid_pool[t.name][-40:]
        own = self.own_rids[t.name]
        if own and self.rng.random() < 0.2:
            return self.rng.choice(own)
        if not pool or self.rng.random() < 0.05:
            return self.rng.randrange(1, 900_000_000)   # no such row
        return self.rng.choice(pool)

    def note(self):
        return self.rng.choice(["n1", "n2", "it's", None])

    def returning(self, t):
        return f" RETURNING rid, {', '.join(t.key)}, note"

    def selector(self, t, update=False):
        r = self.rng.random()
        if update and "no_update_by_key" in self.gaps:
            # UPDATE_BY_KEY_GAP (mended): UNIQGUARD_ORACLE_GAPS=no_update_by_key leaves out
            # the UPDATEs whose WHERE names rows by key, as before the mend.
            r *= 0.62
        if r < 0.5:
            return ("rid", self.some_rid(t))
        if r < 0.62:
            return ("rids", (self.some_rid(t), self.some_rid(t)))
        if r < 0.9:
            return ("key", self.key(t))
        i = self.rng.randrange(len(t.key))
        return ("col", (i, self.rng.choice([v for v in t.values[i] if v is not None])))

    def where(self, t, selector):
        what, v = selector
        if what == "rid":
            return f" WHERE rid = {v}"
        if what == "rids":
            return f" WHERE rid IN ({v[0]}, {v[1]})"
        if what == "key":
            if key_has_null(v):
                return " WHERE " + " AND ".join(
                    f"{c} IS NULL" if x is None else f"{c} = {lit(x)}"
                    for c, x in zip(t.key, v)) + " AND false"
            return " WHERE " + " AND ".join(f"{c} = {lit(x)}" for c, x in zip(t.key, v))
        i, value = v
        return f" WHERE {t.key[i]} = {lit(value)}"

    def insert(self, t, rows, dup_inside=False, conflict=None, late=False, form=None):
        """`form`: None (INSERT … VALUES), "cte" (the INSERT inside a WITH list, its rows
        selected from it) or "merge" (one row, a MERGE that inserts it; no RETURNING, so only
        outside a block): the proxy runs the last two as written and scans for their rows."""
        keys = [self.key(t) for _ in range(rows)]
        if dup_inside and rows >= 2:
            i, j = self.rng.sample(range(rows), 2)
            keys[j] = keys[i]
        cols = ["rid"] + t.key + ["note"]
        order = list(cols)
        self.rng.shuffle(order)
        values = []
        for k in keys:
            self.next_rid += 1
            row = {"rid": self.next_rid, "note": self.note(), **dict(zip(t.key, k))}
            values.append("(" + ", ".join(lit(row[c]) for c in order) + ")")
        sql = f"INSERT INTO {t.name} ({', '.join(order)}) VALUES {', '.join(values)}"
        if late:
            # INSERT … SELECT: keys that come late (the proxy's two-part rewrite).
            sql = (f"INSERT INTO {t.name} ({', '.join(order)}) SELECT * FROM "
                   f"(VALUES {', '.join(values)}) AS v")
        if conflict:
            sql += conflict
        if form == "cte":
            sql = f"WITH w AS ({sql}{self.returning(t)}) SELECT * FROM w"
        elif form == "merge":
            sql = (f"MERGE INTO {t.name} USING (SELECT 1) AS s ON false WHEN NOT MATCHED THEN "
                   f"INSERT ({', '.join(order)}) VALUES {values[0]}")
        else:
            sql += self.returning(t)
        stmt = Stmt(sql, "insert", t, keys, on_conflict=bool(conflict))
        stmt.rids = list(range(self.next_rid - len(keys) + 1, self.next_rid + 1))
        return stmt

    def several(self):
        """Several statements in one query string, outside a block: one implicit transaction
        (all commit, or a failure rolls them all back and frees their keys). 2-3 INSERTs into
        one table, the first now and then a DELETE by key (`DELETE k; INSERT k` succeeds on a
        real index). For the check of a 23505 the string counts as one INSERT of all its keys
        (a key written twice in it is a true duplicate: the earlier row is the transaction's
        own), after its DELETE (see `Run.true_duplicate`)."""
        t = self.table()
        stmts = []
        if self.rng.random() < 0.3:
            k = self.key(t)
            stmts.append(Stmt(f"DELETE FROM {t.name}{self.where(t, ('key', k))}", "delete", t))
            if not key_has_null(k) and self.rng.random() < 0.7:
                stmts.append(self._insert_key(t, k))
        while len(stmts) < 2 or (len(stmts) < 3 and self.rng.random() < 0.5):
            stmts.append(self.insert(t, self.rng.choice([1, 1, 2])))
        inserts = [x for x in stmts if x.kind == "insert"]
        out = Stmt("; ".join(x.sql for x in stmts), "insert", t,
                   [k for x in inserts for k in x.keys])
        out.rids = [r for x in inserts for r in x.rids]
        out.parts = len(stmts)
        if stmts[0].kind == "delete" and not key_has_null(k):
            out.deletes = k
        return out

    def _insert_key(self, t, k):
        self.next_rid += 1
        stmt = Stmt(f"INSERT INTO {t.name} (rid, {', '.join(t.key)}, note) VALUES "
                    f"({self.next_rid}, {', '.join(lit(v) for v in k)}, {lit(self.note())})"
                    + self.returning(t), "insert", t, [k])
        stmt.rids = [self.next_rid]
        return stmt

    def update(self, t):
        k = self.key(t)
        sets = [f"{c} = {lit(v)}" for c, v in zip(t.key, k)]
        if self.rng.random() < 0.4:
            sets.append(f"note = {lit(self.note())}")
        self.rng.shuffle(sets)
        sel = self.selector(t, update=True)
        return Stmt(f"UPDATE {t.name} SET {', '.join(sets)}{self.where(t, sel)}"
                    + self.returning(t), "update", t, [k], selector=sel)

    def delete(self, t):
        sel = self.selector(t)
        return Stmt(f"DELETE FROM {t.name}{self.where(t, sel)}" + self.returning(t),
                    "delete", t, selector=sel)

    def data(self):
        rng = self.rng
        t = self.table()
        r = rng.random() * 100
        if r < 28:
            form = rng.choice([None] * 8 + ["cte", "merge"])
            return self.insert(t, 1, form="cte" if form == "merge" and self.in_block else form)
        if r < 36:
            return self.insert(t, rng.randint(2, 3), form="cte" if rng.random() < 0.15 else None)
        if r < 40:
            return self.insert(t, rng.randint(2, 3), dup_inside=True)
        if r < 48:
            conflict = rng.choice([" ON CONFLICT DO NOTHING",
                                   f" ON CONFLICT ({', '.join(t.key)}) DO NOTHING"])
            return self.insert(t, rng.choice([1, 1, 2]), dup_inside=rng.random() < 0.3,
                               conflict=conflict)
        if r < 52:
            return self.insert(t, rng.choice([1, 1, 2]), dup_inside=rng.random() < 0.2,
                               late=True)
        if r < 56:
            # ON CONFLICT (key) DO UPDATE (the proxy's upsert rewrite): never a 23505.
            stmt = self.insert(t, rng.choice([1, 1, 2]),
                               conflict=f" ON CONFLICT ({', '.join(t.key)}) DO UPDATE SET "
                                        f"note = EXCLUDED.note")
            return stmt
        if r < 70:
            return self.update(t)
        if r < 95:
            return self.delete(t)
        k = self.key(t)
        return Stmt(f"SELECT count(*) FROM {t.name}" + self.where(t, ("key", k)), "select", t)

    def control(self, sql):
        return Stmt(sql, "control")

    def block_ended(self, committed):
        """The rows the block inserted exist for everyone from its COMMIT on."""
        for name, rids in self.own_rids.items():
            if committed:
                pool = self.rid_pool[name]
                pool.extend(rids)
                del pool[:-200]
            rids.clear()

    def after_error(self):
        """What an application does after an error inside a block."""
        if self.savepoints and self.rng.random() < 0.5:
            return self.control(f"ROLLBACK TO SAVEPOINT {self.savepoints[-1]}")
        self.in_block = False
        self.savepoints = []
        return self.control("ROLLBACK")

    def next(self):
        rng = self.rng
        if not self.in_block:
            if rng.random() < 0.12:
                self.in_block = True
                self.block_left = rng.randint(1, 6)
                self.savepoints = []
                return self.control(rng.choice(["BEGIN", "BEGIN", "START TRANSACTION"]))
            if rng.random() < 0.06:
                return self.several()
            return self.data()
        if self.block_left <= 0:
            self.in_block = False
            self.savepoints = []
            return self.control(rng.choice(["COMMIT", "COMMIT", "END", "ROLLBACK"]))
        r = rng.random()
        if r < 0.1:
            self.savepoint_counter += 1
            name = f"s{self.savepoint_counter}"
            self.savepoints.append(name)
            return self.control(f"SAVEPOINT {name}")
        if r < 0.16 and self.savepoints:
            i = rng.randrange(len(self.savepoints))
            del self.savepoints[i + 1:]
            return self.control(f"ROLLBACK TO SAVEPOINT {self.savepoints[i]}")
        if r < 0.19 and self.savepoints:
            i = rng.randrange(len(self.savepoints))
            name = self.savepoints[i]
            del self.savepoints[i:]
            return self.control(f"RELEASE SAVEPOINT {name}")
        self.block_left -= 1
        return self.data()


# ---------------------------------------------------------------------------- sessions

class Rejection:
    __slots__ = ("session", "number", "stmt", "detail", "n_before", "n_after", "own",
                 "in_block", "key", "inter")

    def __init__(self, session, number, stmt, detail, n_before, n_after, own, in_block):
        self.session = session
        self.number = number
        self.stmt = stmt
        self.detail = detail
        self.n_before = n_before
        self.n_after = n_after
        self.own = own              # {table: {rid: (key, note) | None}} the transaction's own
        self.in_block = in_block
        self.inter = None

    def describe(self):
        return (f"session {self.session} statement #{self.number}"
                f"{' (in a transaction block)' if self.in_block else ' (autocommit)'}: "
                f"{self.stmt.sql}\n    -> 23505 {self.detail!r}; commits visible before "
                f"{self.n_before}, after {self.n_after}; own uncommitted effects "
                f"{ {t: d for t, d in self.own.items() if d} }")


class Session(threading.Thread):
    def __init__(self, run, number):
        super().__init__(name=f"oracle-session-{number}", daemon=True)
        self.run_ = run
        self.number = number
        self.gen = Generator(run.seed, number, run.tables_list, run.rid_pool, run.gaps)
        self.statements = 0
        self.counts = {}           # outcome -> count
        self.rejections = []
        self.unexpected = []
        self.current = None        # (started, sql) while a statement runs
        self.history = []          # the last statements and outcomes
        self.log = []              # (number, sent, answered, sql, outcome): the last `keep_log`
        self.keep_log = run.keep_log
        self.failure = None

    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1

    def connect(self):
        run = self.run_
        self.conn = psycopg2.connect(
            run.proxy.dsn(connect_timeout=10, application_name=f"oracle-s{self.number}",
                          options=f"'-c lock_timeout={run.lock_timeout_ms} "
                                  f"-c statement_timeout={run.statement_timeout_ms}'"))
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.direct = psycopg2.connect(run.pg.dsn(database="app", connect_timeout=10))
        self.direct.autocommit = True
        self.dcur = self.direct.cursor()

    def counter(self):
        self.dcur.execute("SELECT n FROM oracle_counter")
        return self.dcur.fetchone()[0]

    def run(self):
        try:
            self.connect()
            self.loop()
        except Exception as e:          # reported by the run, with the seed
            self.failure = f"{e!r}\n{traceback.format_exc()}"
        finally:
            for c in ("conn", "direct"):
                try:
                    getattr(self, c).close()
                except Exception:
                    pass

    def loop(self):
        run, gen = self.run_, self.gen
        own = {t.name: {} for t in run.tables_list}    # the transaction's own effects
        saved = []                                # [(savepoint name, copy of own)]
        failed = False
        while not run.stop.is_set():
            if failed:
                stmt = gen.after_error()
                failed = False
            else:
                stmt = gen.next()
            if not run.take_statements(stmt.parts):
                break
            self.statements += stmt.parts
            if stmt.parts > 1:
                self.count("several")
            writes = stmt.kind in ("insert", "update", "delete")
            n_before = self.counter() if writes else None
            self.current = (time.monotonic(), stmt.sql)
            self.sent = time.time()
            try:
                self.cur.execute(stmt.sql)
                rows = self.cur.fetchall() if self.cur.description else None
                error = None
            except psycopg2.Error as e:
                if e.pgcode is None:
                    raise
                error = e
            finally:
                self.current = None
            in_block = self.conn.get_transaction_status() != \
                psycopg2.extensions.TRANSACTION_STATUS_IDLE
            if error is None:
                tag = self.cur.statusmessage.split(" ")[0]
                if stmt.sql.startswith("ROLLBACK TO"):
                    tag = "ROLLBACK TO"
                elif writes and not in_block:
                    self.count("autocommit write")
                self.count(tag)
                self.remember(stmt.sql, tag)
                sql = stmt.sql
                if stmt.kind == "control":
                    if sql.startswith("SAVEPOINT"):
                        saved.append((sql.split()[-1], {k: dict(v) for k, v in own.items()}))
                    elif sql.startswith("ROLLBACK TO"):
                        name = sql.split()[-1]
                        while saved[-1][0] != name:
                            saved.pop()
                        own = {k: dict(v) for k, v in saved[-1][1].items()}
                    elif sql.startswith("RELEASE"):
                        name = sql.split()[-1]
                        while saved.pop()[0] != name:
                            pass
                if not in_block:
                    own = {t.name: {} for t in run.tables_list}
                    saved = []
                elif writes:
                    assert stmt.parts == 1, "several statements in one string inside a block"
                    mine = own[stmt.table.name]
                    for row in rows:
                        mine[row[0]] = None if stmt.kind == "delete" else \
                            (tuple(row[1:-1]), row[-1])
                if writes and stmt.kind == "insert":
                    # rows skipped by ON CONFLICT DO NOTHING never exist: naming them is harmless
                    gen.own_rids[stmt.table.name].extend(stmt.rids)
                if not in_block:
                    gen.block_ended(committed=tag in ("COMMIT", "INSERT", "UPDATE", "DELETE",
                                                      "MERGE", "SELECT"))
                continue
            code = error.pgcode
            self.count("error " + code)
            self.remember(stmt.sql, f"{code} {error.diag.message_primary}")
            if code == "23505":
                n_after = self.counter()
                self.rejections.append(Rejection(
                    self.number, self.statements, stmt, error.diag.message_detail, n_before,
                    n_after, own if in_block else {t.name: {} for t in run.tables_list}, in_block))
                own = {k: dict(v) for k, v in own.items()}   # the rejection keeps its copy
            elif code not in EXPECTED_ERRORS:
                self.unexpected.append(f"session {self.number} statement #{self.statements}: "
                                       f"{stmt.sql}\n    -> {code} {error}")
            if in_block:
                failed = True         # the block is failed: roll back next
            else:
                own = {t.name: {} for t in run.tables_list}
                saved = []
                gen.block_ended(committed=False)
                if gen.in_block:
                    # An error on BEGIN cannot happen; on COMMIT the block is over anyway.
                    gen.in_block = False
                    gen.savepoints = []

    def remember(self, sql, outcome):
        self.history.append((self.statements, sql, outcome))
        del self.history[:-20]
        if self.keep_log:
            self.log.append((self.statements, self.sent, time.time(), sql, outcome))
            if len(self.log) > 2 * self.keep_log:
                del self.log[:-self.keep_log]


# ---------------------------------------------------------------------------- the run

class Violation(AssertionError):
    pass


class Run:
    """One concurrent run: `sessions` threads, `statements` in all, checkpoints every
    `checkpoint_every` seconds (invariant (a) and the twin replay so far)."""

    def __init__(self, pg, proxy, tables, seed, statements, sessions=8, lock_timeout_ms=1000,
                 statement_timeout_ms=20000, hang_after=60, checkpoint_every=2.0,
                 on_stuck=None, label="pytest test_pg_concurrent_oracle.py", progress=None,
                 keep_log=5000, gaps=()):
        self.pg = pg
        self.proxy = proxy
        self.tables = {t.name: t for t in tables}
        self.tables_list = tables
        self.seed = seed
        self.total = statements
        self.n_sessions = sessions
        self.lock_timeout_ms = lock_timeout_ms
        self.statement_timeout_ms = statement_timeout_ms
        self.hang_after = hang_after
        self.checkpoint_every = checkpoint_every
        self.on_stuck = on_stuck
        self.label = label
        self.progress = progress
        self.keep_log = keep_log
        self.gaps = list(gaps)
        self.writer = {}           # rid -> (commit n, session, op, key) of its last committed write
        self.rid_pool = {t.name: [] for t in tables}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.issued = 0
        self.violations = []
        self.hang = None
        self.checkpoints = 0
        self.skipped_checkpoints = 0
        self.replayed = 0          # commits replayed onto the twin
        self.replay_stopped = None # the commit the twin refused: the replay stops there
        self.replayed_effects = 0
        self.elapsed = None

    def take_statements(self, n):
        """The run's budget: the last string may take it past `total` by its extra statements."""
        with self.lock:
            if self.issued >= self.total:
                return False
            self.issued += n
            return True

    def header(self):
        gaps = f"UNIQGUARD_ORACLE_GAPS={','.join(self.gaps)} " if self.gaps else ""
        return (f"concurrent oracle, seed {self.seed} (reproduce: UNIQGUARD_ORACLE_SEED="
                f"{self.seed} {gaps}{self.label}; the statement streams are the seed's, their "
                f"interleaving is the scheduler's)")

    def violation(self, text):
        self.violations.append(text)

    # -- the whole run
    def execute(self):
        self.started = time.monotonic()
        self.sessions = [Session(self, i) for i in range(self.n_sessions)]
        self.reader = psycopg2.connect(self.pg.dsn(database="app", connect_timeout=10),
                                       options="-c lock_timeout=1s")
        self.reader.autocommit = True
        self.twin = psycopg2.connect(self.pg.dsn(database=TWIN_DB, connect_timeout=10))
        for s in self.sessions:
            s.start()
        last_checkpoint = time.monotonic()
        last_progress = time.monotonic()
        while any(s.is_alive() for s in self.sessions):
            time.sleep(0.2)
            now = time.monotonic()
            for s in self.sessions:
                cur = s.current
                if cur is not None and now - cur[0] > self.hang_after and self.hang is None:
                    self.hang = (f"session {s.number} statement #{s.statements} has had no "
                                 f"answer for {self.hang_after} s: {cur[1]}\n  its last "
                                 f"statements:\n" + "\n".join(
                                     f"    #{n}: {q} -> {o}" for n, q, o in s.history))
                    self.stop.set()
                    if self.on_stuck:
                        self.on_stuck()
            if now - last_checkpoint >= self.checkpoint_every and self.hang is None:
                self.checkpoint()
                last_checkpoint = time.monotonic()
            if self.progress and now - last_progress >= self.progress:
                last_progress = now
                print(f"  ... {self.issued} statements, {now - self.started:.0f} s, "
                      f"{self.replayed} commits replayed, {len(self.violations)} violations",
                      file=sys.stderr, flush=True)
        self.elapsed = time.monotonic() - self.started
        for s in self.sessions:
            s.join()
        self.proxy_metrics = self.read_metrics()
        if self.hang is None:
            self.checkpoint(final=True)     # the end: every session closed
            self.final_contents()
            self.check_rejections()

    def close(self):
        self.reader.close()
        self.twin.close()

    def read_metrics(self):
        """The proxy's guard counters (/metrics): waits, outcomes. {} when it is gone."""
        out = {}
        try:
            url = f"http://127.0.0.1:{self.proxy.admin_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return out
        for line in text.splitlines():
            if line.startswith(("uniqguard_guard_waits_total", "uniqguard_guard_outcomes_total")):
                name, value = line.rsplit(" ", 1)
                out[name] = out.get(name, 0) + float(value)
        return out

    def waits(self):
        return int(sum(v for k, v in getattr(self, "proxy_metrics", {}).items()
                       if k.startswith("uniqguard_guard_waits_total")))

    # -- (a) and the twin replay, at checkpoints
    def duplicates_now(self):
        found = []
        with self.reader.cursor() as cur:
            for t in self.tables_list:
                keys = ", ".join(t.key)
                nn = " AND ".join(f"{c} IS NOT NULL" for c in t.key)
                cur.execute(f"SELECT {keys}, count(*), array_agg(rid ORDER BY rid) FROM {t.name} "
                            f"WHERE {nn} GROUP BY {keys} HAVING count(*) > 1")
                found += [(t.name, r) for r in cur.fetchall()]
        return found

    def checkpoint(self, final=False):
        """In the middle of the run a session's transaction may hold a lock that keeps the
        reader out (its lock_timeout is 1 s): that checkpoint's (a) is skipped, the next one
        reads. At the end no session is left, and nothing may keep it out."""
        self.checkpoints += 1
        try:
            dups = self.duplicates_now()
        except psycopg2.errors.LockNotAvailable:
            if final:
                raise
            self.skipped_checkpoints += 1
            dups = []
        if dups:
            self.violation(f"(a) duplicate keys in the guarded tables (read directly) at "
                           f"checkpoint {self.checkpoints}, {self.issued} statements issued: "
                           f"{dups}")
        self.replay()

    def replay(self):
        """Replays the commits not replayed yet onto the twin, in commit order, each in one twin
        transaction; every effect must succeed and touch exactly one row."""
        with self.reader.cursor() as cur:
            cur.execute("SELECT c.n, c.app, c.at, e.tbl, e.op, e.rid, e.k1, e.k2, e.note "
                        "FROM oracle_commits c JOIN oracle_effects e USING (txid) "
                        "WHERE c.n > %s ORDER BY c.n, e.seq", (self.replayed,))
            rows = cur.fetchall()
        if self.replay_stopped:
            return
        by_commit = []
        for n, app, at, tbl, op, rid, k1, k2, note in rows:
            if not by_commit or by_commit[-1][0] != n:
                by_commit.append((n, app, at, []))
            by_commit[-1][3].append((tbl, op, rid, (k1, k2), note))
        tcur = self.twin.cursor()
        for n, app, at, effects in by_commit:
            if n != self.replayed + 1:
                self.violation(f"(c) commit numbers are not contiguous: {n} after "
                               f"{self.replayed}")
            for i, (tbl, op, rid, key, note) in enumerate(effects):
                t = self.tables[tbl]
                key = t.typed(key)
                try:
                    if op == "I":
                        tcur.execute(f"INSERT INTO {tbl} (rid, {', '.join(t.key)}, note) "
                                     f"VALUES (%s, %s, %s, %s)", (rid, *key, note))
                    elif op == "U":
                        tcur.execute(f"UPDATE {tbl} SET {t.key[0]} = %s, {t.key[1]} = %s, "
                                     f"note = %s WHERE rid = %s", (*key, note, rid))
                    else:
                        tcur.execute(f"DELETE FROM {tbl} WHERE rid = %s", (rid,))
                    if tcur.rowcount != 1:
                        raise RuntimeError(f"touched {tcur.rowcount} rows")
                except (psycopg2.Error, RuntimeError) as e:
                    self.twin.rollback()
                    shown = "\n".join(f"      {'->' if j == i else '  '} {x}"
                                      for j, x in enumerate(effects))
                    self.violation(
                        f"(c) commit {n} (session {app}, at {at:.6f}) cannot be replayed onto the "
                        f"twin with the real unique index: effect {i + 1} of {len(effects)} "
                        f"failed: {getattr(e, 'pgcode', '')} {str(e).strip()}\n    its effects "
                        f"(table, op, rid, key, note):\n{shown}\n"
                        + self.explain(tbl, key, rid, app, at))
                    self.replay_stopped = n
                    break
            else:
                for tbl, op, rid, key, note in effects:
                    self.writer[(tbl, rid)] = (n, app, at, op, key)
            self.twin.commit()
            if self.replay_stopped:
                break
            self.replayed = n
            self.replayed_effects += len(effects)
        tcur.close()

    def explain(self, tbl, key, rid, app, at):
        """For a failed replay: which twin rows hold the key, which commit wrote them, and the
        statements of the sessions involved around those moments."""
        t = self.tables[tbl]
        typed = t.typed(key)
        out = []
        with self.twin.cursor() as cur:
            cur.execute(f"SELECT rid FROM {tbl} WHERE {t.key[0]} IS NOT DISTINCT FROM %s AND "
                        f"{t.key[1]} IS NOT DISTINCT FROM %s", typed)
            holders = [r[0] for r in cur.fetchall()]
        self.twin.rollback()
        for h in holders + [rid]:
            out.append(f"    row rid {h}: last committed write (commit, session, at, op, key) "
                       f"{self.writer.get((tbl, h))}")
        if self.keep_log:
            rids = {str(h) for h in holders + [rid]}
            out.append(f"    statements (session, number, sent, answered, sql, outcome) that "
                       f"name those rows, or of session {app} in the 0.3 s before its commit, "
                       f"or of any session in the 20 ms before it:")
            for s in getattr(self, "sessions", []):
                for number, sent, answered, sql, outcome in s.log:
                    if any(r in sql for r in rids) or \
                            (f"oracle-s{s.number}" == app and at - 0.3 <= answered and
                             sent <= at + 0.01) or (at - 0.02 <= answered and sent <= at):
                        out.append(f"      s{s.number} #{number} {sent:.6f} {answered:.6f} "
                                   f"{sql} -> {outcome}")
        return "\n".join(out)

    # -- (c) the final contents
    def final_contents(self):
        if self.replay_stopped:
            return      # the twin stopped at the commit it refused: nothing more to compare
        for t in self.tables_list:
            cols = f"rid, {', '.join(t.key)}, note"
            with self.reader.cursor() as cur:
                cur.execute(f"SELECT {cols} FROM {t.name} ORDER BY rid")
                a = cur.fetchall()
            with self.twin.cursor() as cur:
                cur.execute(f"SELECT {cols} FROM {t.name} ORDER BY rid")
                b = cur.fetchall()
            self.twin.commit()
            if a != b:
                sa, sb = set(a), set(b)
                self.violation(f"(c) final contents of {t.name} differ: only in the guarded "
                               f"table {sorted(sa - sb)[:20]}, only in the twin "
                               f"{sorted(sb - sa)[:20]}")
            self.final_rows = getattr(self, "final_rows", {})
            self.final_rows[t.name] = len(a)

    # -- (b) every 23505 a true duplicate
    def check_rejections(self):
        rejections = [r for s in self.sessions for r in s.rejections]
        self.rejections = rejections
        self.checked_rejections = 0
        self.delete_insert_rejections = 0
        # Cheap checks first: the DETAIL names a key of the statement; DO NOTHING never 23505.
        pending = []
        for r in rejections:
            t = r.stmt.table
            if r.stmt.on_conflict:
                self.violation("(b) 23505 on INSERT … ON CONFLICT DO NOTHING (a real index skips "
                               "the row): " + r.describe())
                continue
            named = [k for k in r.stmt.keys if not key_has_null(k) and t.detail(k) == r.detail]
            if not named:
                self.violation("(b) the 23505's DETAIL names no key the statement wrote (or one "
                               "with NULL): " + r.describe())
                continue
            r.key = named[0]
            pending.append(r)
            if r.stmt.deletes == r.key:
                self.delete_insert_rejections += 1
        # Walk the committed states S_0, S_1, ... and settle each rejection in its window.
        with psycopg2.connect(self.pg.dsn(database="app", connect_timeout=10)) as conn, \
                conn.cursor() as cur:
            cur.execute("SELECT c.n, e.tbl, e.op, e.rid, e.k1, e.k2, e.note "
                        "FROM oracle_commits c JOIN oracle_effects e USING (txid) "
                        "ORDER BY c.n, e.seq")
            effects = cur.fetchall()
        conn.close()
        state = {t: {} for t in self.tables}            # table -> rid -> (key, note)
        by_key = {t: {} for t in self.tables}           # table -> key -> set(rid)
        pending.sort(key=lambda r: r.n_before)
        active = []
        i = 0
        e = 0
        with psycopg2.connect(self.pg.dsn(database="app", connect_timeout=10)) as conn, \
                conn.cursor() as cur:
            cur.execute("SELECT n FROM oracle_counter")
            last = cur.fetchone()[0]
        conn.close()
        for j in range(0, last + 1):
            while e < len(effects) and effects[e][0] == j:
                _, tbl, op, rid, k1, k2, note = effects[e]
                e += 1
                old = state[tbl].get(rid)
                if old is not None:
                    by_key[tbl][old[0]].discard(rid)
                if op == "D":
                    state[tbl].pop(rid, None)
                else:
                    key = self.tables[tbl].typed((k1, k2))
                    state[tbl][rid] = (key, note)
                    by_key[tbl].setdefault(key, set()).add(rid)
            while i < len(pending) and pending[i].n_before <= j:
                active.append(pending[i])
                i += 1
            still = []
            for r in active:
                if self.true_duplicate(r, state, by_key):
                    self.checked_rejections += 1
                elif j >= r.n_after:
                    self.violation("(b) a 23505 for a key no row held, in any committed state "
                                   "the statement could see (with its transaction's own "
                                   "effects): " + r.describe())
                else:
                    still.append(r)
            active = still
        for r in active + pending[i:]:
            self.violation("(b) a rejection's window lies beyond the commits recorded: "
                           + r.describe())

    @staticmethod
    def true_duplicate(r, state, by_key):
        t = r.stmt.table
        own = r.own.get(t.name, {})
        k = r.key
        # the rows holding k in this state with the transaction's own effects applied
        holders = {rid for rid in by_key[t.name].get(k, ()) if rid not in own}
        holders |= {rid for rid, v in own.items() if v is not None and v[0] == k}
        if r.stmt.kind == "insert":
            if r.stmt.keys.count(k) >= 2:
                return True
            if r.stmt.deletes == k:
                # `DELETE k; INSERT k` in one string: the DELETE ran in some state S_j1, the
                # INSERT's check in a later S_j2 of the window, and only a row holding k in S_j2
                # that the DELETE did not see there is a duplicate. True iff for some j2 the
                # holders are not all in the intersection of the holders at every j1 ≤ j2.
                before = r.inter
                r.inter = holders if before is None else (before & holders)
                return before is not None and bool(holders - before)
            return bool(holders)
        # UPDATE: the rows it targets, in this state with own effects
        rows = {rid: v for rid, v in state[t.name].items() if rid not in own}
        rows.update({rid: v for rid, v in own.items() if v is not None})
        targets = {rid for rid, (key, _) in rows.items()
                   if selects(t, r.stmt.selector, rid, key)}
        return bool(holders - targets) or len(targets) >= 2

    # -- the report
    def totals(self):
        counts = {}
        for s in self.sessions:
            for k, v in s.counts.items():
                counts[k] = counts.get(k, 0) + v
        return counts

    def statements(self):
        return sum(s.statements for s in self.sessions)

    def report(self):
        c = self.totals()
        st = self.statements()
        other = sum(v for k, v in c.items()
                    if k.startswith("error ") and k[6:] not in EXPECTED_ERRORS)
        lines = [
            self.header(),
            f"sessions: {self.n_sessions}; statements: {st} in {self.elapsed:.1f} s "
            f"({st / self.elapsed:.0f} statements/s); lock_timeout {self.lock_timeout_ms} ms, "
            f"statement_timeout {self.statement_timeout_ms} ms",
            f"transaction blocks: BEGIN {c.get('BEGIN', 0) + c.get('START', 0)}, COMMIT/END "
            f"{c.get('COMMIT', 0)}, ROLLBACK {c.get('ROLLBACK', 0)}; SAVEPOINT "
            f"{c.get('SAVEPOINT', 0)}, ROLLBACK TO {c.get('ROLLBACK TO', 0)}, RELEASE "
            f"{c.get('RELEASE', 0)}; autocommit writes that succeeded "
            f"{c.get('autocommit write', 0)}; query strings of 2-3 statements (one implicit "
            f"transaction) {c.get('several', 0)}",
            f"writes that succeeded: INSERT {c.get('INSERT', 0)}, UPDATE {c.get('UPDATE', 0)}, "
            f"DELETE {c.get('DELETE', 0)}, MERGE {c.get('MERGE', 0)}; SELECT "
            f"{c.get('SELECT', 0)} (the INSERTs inside a WITH list among them)",
            f"errors: 23505 {c.get('error 23505', 0)} (unique violation), 40P01 "
            f"{c.get('error 40P01', 0)} (deadlock), 55P03 {c.get('error 55P03', 0)} (lock "
            f"timeout), other {other}",
            f"server's record: {self.replayed} transactions committed writes to the guarded "
            f"tables ({self.replayed_effects} row effects), replayed onto the twin in commit "
            f"order{'' if not self.replay_stopped else ' up to the one it refused'}; "
            f"{self.checkpoints} checkpoints ({self.skipped_checkpoints} skipped for a lock); "
            f"final rows "
            f"{getattr(self, 'final_rows', {})}",
            f"waits in the proxy for another session's key (uniqguard_guard_waits_total): "
            f"{self.waits()}",
            f"23505s checked against the server's committed states: "
            f"{getattr(self, 'checked_rejections', 0)} of {len(getattr(self, 'rejections', []))} "
            f"({getattr(self, 'delete_insert_rejections', 0)} of them in `DELETE k; INSERT k` "
            f"strings)",
        ]
        unexpected = [u for s in self.sessions for u in s.unexpected]
        failures = [f"session {s.number}: {s.failure}" for s in self.sessions if s.failure]
        problems = self.violations + unexpected + failures + ([self.hang] if self.hang else [])
        lines.append(f"invariant violations: {len(self.violations)}; unexpected errors: "
                     f"{len(unexpected)}; session failures: {len(failures)}; hang: "
                     f"{'yes' if self.hang else 'no'}")
        return "\n".join(lines), problems

    def assert_clean(self):
        text, problems = self.report()
        if problems:
            shown = "\n".join(f"- {p}" for p in problems[:15])
            more = f"\n... and {len(problems) - 15} more" if len(problems) > 15 else ""
            raise Violation(f"{text}\n{shown}{more}")
        return text
