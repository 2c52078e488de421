"""A MySQL/MariaDB guard's key set loaded from the table (guard/mysql_key_set_load, through
tests/tools/mysql_load_keys over MariaDB Connector/C): the key columns' types from
information_schema, each string column's collation weights from the server (checked against the
server's WEIGHT_STRING of probe strings), then the keys streamed.

The server is the oracle: the number of distinct keys loaded equals the server's own
COUNT(DISTINCT …) over the key columns (DISTINCT compares under each column's collation), for
tables with integer, DECIMAL and string keys under several collations, legacy duplicates spelled
differently (case, accents, trailing spaces) and NULLs. Collations the per-character weights
cannot follow, and types the proxy does not key, are refused with the reason.
"""
import random
import subprocess

import pytest

from harness.mariadb_server import DATABASE
from harness.tools import built_tool

WORDS = ["alpha", "Alpha", "ALPHA ", "älpha", "beta", "Beta  ", "straße", "STRASSE", "strasse",
         "ﬁne", "fine", "Ｆine", "gamma", "γάμμα", "ΓΆΜΜΑ", "😀", "😁", "", " ", "x\u200by"]


@pytest.fixture(scope="module")
def root(mysql_root):
    return mysql_root


def load(mariadb, table, *columns):
    r = subprocess.run([built_tool("mysql_load_keys"), mariadb.socket, "root", DATABASE, table,
                        "load", *columns], capture_output=True, text=True, timeout=300)
    fields = r.stdout.split()
    if fields and fields[0] == "error":
        return ("error", r.stdout[len("error "):].strip())
    assert r.returncode == 0, r.stdout + r.stderr
    return dict(zip(fields[0::2], map(int, fields[1::2])))


@pytest.mark.parametrize("collation", ["utf8mb4_general_ci", "utf8mb4_unicode_ci",
                                       "utf8mb4_nopad_bin", "utf8mb4_uca1400_ai_ci",
                                       "latin1_swedish_ci"])
def test_distinct_keys_are_the_servers(collation, mariadb, root):
    charset = collation.split("_")[0]
    table = f"load_{collation}"
    r = random.Random(collation)
    rows = []
    for _ in range(20000):
        a = r.choice([None] + list(range(60))) if r.random() < 0.05 else r.randint(0, 60)
        b = None if r.random() < 0.03 else r.choice(WORDS) + r.choice(["", "", " ", "1"])
        c = r.choice(["1.00", "1", "1.004", "-0.001", "0", "2.5", None])
        rows.append((a, b, c))
    with root.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, a INT, "
                    f"b VARCHAR(20) CHARACTER SET {charset} COLLATE {collation}, "
                    f"c DECIMAL(6,2))")
        try:
            cur.execute("SET SESSION sql_mode = ''")  # latin1: '?' for what it cannot hold
            cur.executemany(f"INSERT INTO {table} (a, b, c) VALUES (%s, %s, %s)", rows)
            cur.execute("SET SESSION sql_mode = DEFAULT")
            cur.execute(f"SELECT COUNT(*) FROM (SELECT DISTINCT a, b, c FROM {table} WHERE a IS "
                        f"NOT NULL AND b IS NOT NULL AND c IS NOT NULL) AS d")
            server_distinct = cur.fetchone()[0]
            cur.execute(f"SELECT COUNT(*) FROM {table} WHERE a IS NULL OR b IS NULL OR c IS NULL")
            server_nulls = cur.fetchone()[0]
            got = load(mariadb, table, "a", "b", "c")
        finally:
            cur.execute(f"DROP TABLE {table}")
    assert got["rows"] == len(rows)
    assert got["nulls"] == server_nulls
    assert got["distinct"] == server_distinct
    print(f"\n{collation}: {got['distinct']} distinct keys of {len(rows)} rows; weights read in "
          f"{got['weights_ms']} ms")


@pytest.mark.parametrize("definition, reason", [
    ("VARCHAR(10) COLLATE utf8mb4_czech_ci",
     'collation utf8mb4_czech_ci: it weighs "ch" otherwise than its characters (a contraction, '
     "or several levels of weights): the proxy cannot compare keys under it"),
    ("VARCHAR(10) COLLATE utf8mb4_uca1400_as_ci",
     "collation utf8mb4_uca1400_as_ci: its weights cannot make keys (the weight of U+00C0 is "
     "not a whole number of 4-byte units)"),
    ("DATETIME(3)", 'column "k": type datetime(3) cannot be compared by the proxy yet'),
    ("VARBINARY(8)", 'column "k": type varbinary(8) cannot be compared by the proxy yet'),
])
def test_keys_the_proxy_cannot_compare_are_refused(definition, reason, mariadb, root):
    with root.cursor() as cur:
        cur.execute(f"CREATE TABLE load_refused (k {definition})")
        try:
            got = load(mariadb, "load_refused", "k")
        finally:
            cur.execute("DROP TABLE load_refused")
    expected = reason if reason.startswith("column") else f'column "k": {reason}'
    assert got == ("error", expected)


def test_a_missing_table_or_column(mariadb, root):
    assert load(mariadb, "no_such_table", "k") == (
        "error", f"table {DATABASE}.no_such_table does not exist")
    with root.cursor() as cur:
        cur.execute("CREATE TABLE load_columns (k INT)")
        try:
            got = load(mariadb, "load_columns", "K")  # column names ignore case
            assert (got["rows"], got["distinct"]) == (0, 0)
            assert load(mariadb, "load_columns", "j") == (
                "error", 'column "j" does not exist in load_columns')
        finally:
            cur.execute("DROP TABLE load_columns")
