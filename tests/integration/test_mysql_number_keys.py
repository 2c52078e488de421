"""Keys of MySQL/MariaDB integer and DECIMAL columns against the server itself (issue 6, item 2's
values; SPEC §4 "key equality is the server's").

Seeded literals of every form an INSERT can give an integer column (exact and approximate
numbers, strings with blanks, signs, fractions and exponents, 0x and b'' numbers, X'' strings,
TRUE/FALSE, junk, values at and past every range's ends) are inserted by MariaDB 10.11 into
TINYINT, TINYINT UNSIGNED, SMALLINT, INT, INT UNSIGNED, BIGINT, BIGINT UNSIGNED, DECIMAL(6,2),
DECIMAL(6,2) UNSIGNED, DECIMAL(10,0), DECIMAL(30,10) and DECIMAL(65,30) columns, under
the default strict sql_mode and under sql_mode = '' (where junk is truncated and out-of-range
values clamped with a warning). tests/tools/mysql_number_keys runs the proxy's
guard/mysql_integer_key and guard/mysql_decimal_key on the same literals. Asserted: every value the proxy keys is the value
the server stores, in both modes; whatever it does not key (cannot_normalize: left to the
server) is counted and printed.

UNIQGUARD_NUMBER_LITERALS (default 3000) and UNIQGUARD_KEY_SEED change the volume and seed.
"""
import os
import random
import subprocess
from decimal import Decimal
from pathlib import Path

import pymysql
import pytest

from harness.mariadb_server import DATABASE

REPO = Path(__file__).resolve().parents[2]
COUNT = int(os.environ.get("UNIQGUARD_NUMBER_LITERALS", "3000"))
SEED = int(os.environ.get("UNIQGUARD_KEY_SEED", "20261126"))

# (SQL type, the tool's column)
COLUMNS = [("TINYINT", "int:1:0"), ("TINYINT UNSIGNED", "int:1:1"), ("SMALLINT", "int:2:0"),
           ("INT", "int:4:0"), ("INT UNSIGNED", "int:4:1"), ("BIGINT", "int:8:0"),
           ("BIGINT UNSIGNED", "int:8:1"), ("DECIMAL(6,2)", "dec:6:2:0"),
           ("DECIMAL(6,2) UNSIGNED", "dec:6:2:1"), ("DECIMAL(10,0)", "dec:10:0:0"),
           ("DECIMAL(30,10)", "dec:30:10:0"), ("DECIMAL(65,30)", "dec:65:30:0")]
EDGES = [0, 1, 5, 99, 100, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1,
         2**32, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**20]


def digits(r, n):
    return "".join(r.choice("0123456789") for _ in range(n))


def number_text(r):
    """An unsigned decimal: an edge value, a half, or random digits, fractions and zeros."""
    k = r.random()
    if k < 0.3:
        base = str(r.choice(EDGES) + r.choice([-1, 0, 0, 1]))
        return base.lstrip("-") or "0"
    if k < 0.45:
        return f"{r.randint(0, 300)}.5"
    whole = "0" * r.randint(0, 3) + digits(r, r.randint(0, 6))
    frac = digits(r, r.randint(0, 6))
    if not whole and not frac:
        whole = "0"
    return whole + ("." + frac if frac or r.random() < 0.2 else "")


def exponent_text(r):
    mantissa = number_text(r)
    if r.random() < 0.3:
        mantissa = digits(r, r.randint(14, 20)) + "." + digits(r, 2)
    return f"{mantissa}{r.choice('eE')}{r.choice(['', '+', '-'])}{r.randint(0, 20)}"


def sign(r):
    return r.choice(["", "", "-", "+"])


def literal(r):
    """(form for the tool, the tool's text, the SQL text)."""
    k = r.random()
    if k < 0.22:
        text = sign(r).replace("+", "") + number_text(r)
        return "exact", text, text
    if k < 0.37:
        text = sign(r).replace("+", "") + exponent_text(r)
        return "approximate", text, text
    if k < 0.8:
        body = r.choice([number_text, exponent_text, number_text])(r)
        body = sign(r) + body
        if r.random() < 0.15:  # junk a strict server refuses and a lax one truncates
            pos = r.randint(0, len(body))
            body = body[:pos] + r.choice(["a", " ", "- ", ".", "e", "x", "\u00a0", "\uff17", "\0",
                                          ",", "0x"]) + body[pos:]
        if r.random() < 0.4:
            body = r.choice(["", " ", "\t", "\n", "\r", "  \t"]) + body + \
                r.choice(["", " ", "\t", "\n", "\r\n"])
        if r.random() < 0.03:
            body = r.choice(["", " ", "+", "-", "."])
        return "string", body, None
    if k < 0.88:
        raw = bytes(r.randint(0, 255) for _ in range(r.randint(1, 9)))
        return "hex", raw, "0x" + raw.hex()
    if k < 0.94:
        n = r.randint(1, 70)
        bits = "".join(r.choice("01") for _ in range(n))
        value = int(bits, 2)
        raw = value.to_bytes((n + 7) // 8, "big")
        return "bit", raw, f"b'{bits}'"
    if k < 0.97:
        raw = bytes(r.randint(0, 255) for _ in range(r.randint(1, 3)))
        return "xstring", raw, f"X'{raw.hex()}'"
    value = r.random() < 0.5
    return "boolean", "1" if value else "0", "TRUE" if value else "FALSE"


def tool_path():
    tools_dir = os.environ.get("UNIQGUARD_TOOLS_DIR")
    if tools_dir:
        return os.path.join(tools_dir, "mysql_number_keys")
    return str(REPO / "build" / "tests" / "tools" / "mysql_number_keys")


@pytest.fixture(scope="module")
def root(mariadb):
    conn = pymysql.connect(unix_socket=mariadb.socket, user="root", database=DATABASE,
                           charset="utf8mb4", autocommit=True)
    with conn.cursor() as cur:
        for i, (sql_type, _) in enumerate(COLUMNS):
            cur.execute(f"CREATE TABLE integer_keys_{i} (id INT AUTO_INCREMENT PRIMARY KEY, "
                        f"v {sql_type})")
    yield conn
    with conn.cursor() as cur:
        for i in range(len(COLUMNS)):
            cur.execute(f"DROP TABLE integer_keys_{i}")
    conn.close()


def server_values(conn, sql_mode, literals):
    """Per column, per literal: the stored value, or ("error", code)."""
    out = []
    with conn.cursor() as cur:
        cur.execute(f"SET SESSION sql_mode = '{sql_mode}'")
        for i in range(len(COLUMNS)):
            column = []
            for _, text, sql in literals:
                sql = sql if sql is not None else conn.escape(text)
                try:
                    cur.execute(f"INSERT INTO integer_keys_{i} (v) VALUES ({sql}) RETURNING v")
                    column.append(cur.fetchone()[0])
                except pymysql.err.MySQLError as e:
                    column.append(("error", e.args[0]))
            out.append(column)
        cur.execute("SET SESSION sql_mode = DEFAULT")
    return out


def tool_values(literals):
    lines = []
    for _, column in COLUMNS:
        for form, text, _ in literals:
            raw = text if isinstance(text, bytes) else text.encode()
            lines.append(f"{form} {column} {raw.hex()}\n")
    r = subprocess.run([tool_path()], input="".join(lines), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    answers = r.stdout.splitlines()
    n = len(literals)
    return [answers[i * n:(i + 1) * n] for i in range(len(COLUMNS))]


def test_keys_are_what_the_server_stores(root):
    r = random.Random(SEED)
    literals = [literal(r) for _ in range(COUNT)]
    strict = server_values(root, "STRICT_TRANS_TABLES", literals)
    lax = server_values(root, "", literals)
    keys = tool_values(literals)
    wrong, keyed, left, left_but_stored = [], 0, 0, 0
    for c, (sql_type, column) in enumerate(COLUMNS):
        for (form, text, sql), key, in_strict, in_lax in zip(literals, keys[c], strict[c], lax[c]):
            if key.startswith("ok "):
                keyed += 1
                text_value = key.split()[1]
                value = Decimal(text_value) if column.startswith("dec") else int(text_value)
                if in_strict != value or in_lax != value:
                    wrong.append((sql_type, form, text, sql, key, in_strict, in_lax))
            else:
                assert key == "cannot_normalize", (sql_type, form, text, key)
                left += 1
                left_but_stored += not isinstance(in_strict, tuple)
    total = keyed + left
    print(f"\nnumbers: {total} literal x column cases; keyed {keyed}; left to the server {left} "
          f"(of which the strict server stored {left_but_stored})")
    for w in wrong[:20]:
        print(w)
    assert not wrong, f"{len(wrong)} keys unlike the stored value, e.g. {wrong[:5]!r}"
    # Every form is reached, and most valid values are keyed.
    forms = {form for form, _, _ in literals}
    assert forms == {"exact", "approximate", "string", "hex", "bit", "xstring", "boolean"}
    assert keyed > total // 3
