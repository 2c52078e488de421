"""From INSERT text to keys, end to end, against what MariaDB stores (issue 6, items 1 and 2):
the MySQL parser reads each statement, guard/mysql_insert_keys keys each row from its literals,
and the key must be the key of the row the server stored (read back and keyed as the key-set
loader keys it). Through tests/tools/mysql_load_keys (modes `statements` and `stored`).

1,500 seeded INSERT statements of 1 to 3 rows, with and without a column list and as INSERT …
SET, into (a INT NOT NULL, b VARCHAR(12) utf8mb4_general_ci, c DECIMAL(6,2)), literals of every
form (numbers exact and approximate, strings with escapes and blanks, 0x, X'', b'', TRUE, NULL,
introducers: those the proxy reads, _utf8mb4, _utf8/_utf8mb3 and N'' without 4-byte characters
under this utf8mb4 session, and those it leaves to the server; out-of-range and junk values),
run under sql_mode = '' so that every row goes in (NULL into the NOT NULL column becomes 0, junk
is truncated, out-of-range values clamped, with warnings). Every row the proxy keys must key as
the stored row; the rest are counted.
"""
import random
import subprocess

import pymysql
import pytest

from harness.mariadb_server import DATABASE
from harness.tools import built_tool

INTS = ["7", "-7", "007", "7.5", "-7.5", "2.5e0", "1e1", "'7'", "' 7 '", "'7.5'", "'1e1'",
        "0x10", "X'10'", "b'101'", "TRUE", "FALSE", "NULL", "2147483648", "'7a'", "''",
        "-0", "'-0.4'", "1.5e0"]
STRINGS = ["'Alpha'", "'alpha '", "'ALPHA'", "'it''s'", "'it\\'s'", "'a\\tb'", "'a\tb'",
           "'straße'", "'STRASSE'", "'Ünïcödé'", "_utf8mb4'x'", "123", "1.50", "X'414243'",
           "NULL", "'waytoolongforcolumn'", "''", "' '", "'\\\\'", "\"dq\"", "'😀'", "'😁'",
           "_utf8'straße'", "N'Alpha '", "_UTF8MB3'it''s'", "_utf8mb4'😀'", "_utf8'😀'",
           "_latin1'Alpha'", "_binary'alpha'", "_utf8mb4 X'414243'"]
DECIMALS = ["1.005", "-1.005", "'2.5'", "2.345e0", "NULL", "0x10", "TRUE", "9999.995",
            "'1.5x'", "0", "'-0.001'", "12.3"]


def statement(r):
    rows = [(r.choice(INTS), r.choice(STRINGS), r.choice(DECIMALS))
            for _ in range(r.randint(1, 3))]
    k = r.random()
    if k < 0.5:
        return "INSERT INTO ins_keys (a, b, c) VALUES " + ", ".join(
            f"({a}, {b}, {c})" for a, b, c in rows)
    if k < 0.7:
        return "INSERT INTO ins_keys (c, a, b) VALUES " + ", ".join(
            f"({c}, {a}, {b})" for a, b, c in rows)
    if k < 0.85:
        return "INSERT INTO ins_keys VALUES " + ", ".join(
            f"(NULL, {a}, {b}, {c})" for a, b, c in rows)
    a, b, c = rows[0]
    return f"INSERT ins_keys SET b = {b}, c = {c}, a = {a}"


def tool(mariadb, mode, lines=""):
    r = subprocess.run([built_tool("mysql_load_keys"), mariadb.socket, "root", DATABASE,
                        "ins_keys", mode, "a", "b", "c"], input=lines, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.splitlines()


@pytest.fixture
def table(mariadb):
    conn = pymysql.connect(unix_socket=mariadb.socket, user="root", database=DATABASE,
                           charset="utf8mb4", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE ins_keys (id INT AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, "
                    "b VARCHAR(12) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, "
                    "c DECIMAL(6,2))")
    yield conn
    with conn.cursor() as cur:
        cur.execute("DROP TABLE ins_keys")
    conn.close()


def test_an_inserts_keys_are_the_stored_rows_keys(mariadb, table):
    r = random.Random(20261126)
    statements = [statement(r) for _ in range(1500)]
    keys = tool(mariadb, "statements", "".join(s.encode().hex() + "\n" for s in statements))
    assert len(keys) == len(statements)
    inserted = []  # per statement: the ids of its rows, or None when the server refused it
    with table.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        for sql in statements:
            try:
                cur.execute(sql)
            except pymysql.err.MySQLError:
                inserted.append(None)
                continue
            cur.execute("SELECT LAST_INSERT_ID(), ROW_COUNT()")
            first, count = cur.fetchone()
            inserted.append(list(range(first, first + count)))
    stored = dict(line.split(" ", 1) for line in tool(mariadb, "stored"))
    wrong, keyed, rows = [], 0, 0
    for sql, line, ids in zip(statements, keys, inserted):
        assert not line.startswith("none"), (sql, line)
        row_keys = line.split(" ")
        if ids is None:
            continue
        assert len(ids) == len(row_keys), (sql, ids, row_keys)
        for row_id, key in zip(ids, row_keys):
            rows += 1
            if key == "-":
                continue
            keyed += 1
            if stored[str(row_id)] != key:
                wrong.append((sql, row_id, key, stored[str(row_id)]))
    print(f"\nINSERT keys: {rows} rows stored, {keyed} keyed by the proxy, all as stored: "
          f"{not wrong}")
    assert not wrong, f"{len(wrong)} rows keyed unlike the stored row: {wrong[:5]!r}"
    assert keyed > rows // 10
