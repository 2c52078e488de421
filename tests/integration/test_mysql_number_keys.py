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
import struct
import subprocess
from decimal import Decimal

import pymysql
import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import WireClient
from harness.tools import built_tool

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
    return built_tool("mysql_number_keys")


@pytest.fixture(scope="module")
def root(mysql_root):
    conn = mysql_root
    with conn.cursor() as cur:
        for i, (sql_type, _) in enumerate(COLUMNS):
            cur.execute(f"CREATE TABLE integer_keys_{i} (id INT AUTO_INCREMENT PRIMARY KEY, "
                        f"v {sql_type})")
    yield conn
    with conn.cursor() as cur:
        for i in range(len(COLUMNS)):
            cur.execute(f"DROP TABLE integer_keys_{i}")


def server_values(conn, sql_mode, literals):
    """Per column, per literal: the stored value, or ("error", code)."""
    with conn.cursor() as cur:
        cur.execute(f"SET SESSION sql_mode = '{sql_mode}'")
        try:
            return stored_values(cur, conn, literals)
        finally:
            cur.execute("SET SESSION sql_mode = DEFAULT")


def stored_values(cur, conn, literals):
    out = []
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


# -- prepared statements: COM_STMT_EXECUTE parameters in the binary protocol ----------------------

# enum_field_types
TINY, SHORT, LONG, FLOAT, DOUBLE, LONGLONG, NEWDECIMAL, VAR_STRING = 1, 2, 3, 4, 5, 8, 246, 253


def lenenc(data):
    assert len(data) < 0xFB
    return bytes([len(data)]) + data


def parameter(r):
    """(field type, unsigned, binary value) of one COM_STMT_EXECUTE parameter."""
    k = r.random()
    if k < 0.35:
        field, width = r.choice([(TINY, 1), (SHORT, 2), (LONG, 4), (LONGLONG, 8)])
        if r.random() < 0.5:
            value = r.choice(EDGES) + r.choice([-1, 0, 1])
            value = value % (1 << (8 * width))
        else:
            value = r.getrandbits(8 * width)
        return field, r.random() < 0.4, value.to_bytes(width, "little")
    if k < 0.6:
        choice = r.random()
        if choice < 0.3:
            d = r.randint(-300, 300) + r.choice([0.5, 0.25, 0.0, 0.125, 0.005])
        elif choice < 0.5:
            d = float(r.choice(EDGES)) * r.choice([1, -1])
        else:
            d = r.uniform(-1e6, 1e6) * 10 ** r.randint(-6, 12)
        return DOUBLE, False, struct.pack("<d", d)
    if k < 0.75:
        return NEWDECIMAL, False, lenenc((sign(r).replace("+", "") + number_text(r)).encode())
    if k < 0.95:
        _, text, _ = literal(r)
        text = text if isinstance(text, bytes) else text.encode()
        return VAR_STRING, False, lenenc(text[:200])
    return FLOAT, False, struct.pack("<f", r.uniform(-1000, 1000))


def execute_all(client, table, params):
    """Prepares INSERT INTO table (id, v) VALUES (?, ?), executes it once per parameter, and
    answers the server's outcome per parameter: the stored value (text), or ("error", code)."""
    client.command(b"\x16" + f"INSERT INTO {table} (id, v) VALUES (?, ?)".encode())
    _, ok = client.read_packet()
    assert ok[0] == 0, ok
    statement, _, param_count = struct.unpack_from("<IHH", ok, 1)
    assert param_count == 2
    for _ in range(param_count):
        client.read_packet()
    outcomes = {}
    for i, (field, unsigned, value) in enumerate(params):
        payload = (b"\x17" + struct.pack("<IBI", statement, 0, 1) + b"\x00" + b"\x01" +
                   bytes([LONGLONG, 0, field, 0x80 if unsigned else 0]) + struct.pack("<q", i) +
                   value)
        client.command(payload)
        result = client.read_result()
        if result[0] == "err":
            outcomes[i] = ("error", result[1])
    client.command(b"\x19" + struct.pack("<I", statement))  # COM_STMT_CLOSE: no answer
    for i, stored in client.query_text_rows(f"SELECT id, v FROM {table} ORDER BY id"):
        outcomes[int(i)] = stored
    client.command(bytes([0x03]) + f"DELETE FROM {table}".encode())
    assert client.read_result()[0] == "ok"
    return [outcomes[i] for i in range(len(params))]


def test_parameters_key_as_stored(mariadb):
    """The same, with prepared-statement parameters of every binary type the proxy reads
    (guard/mysql_param_key): integers of each width, signed and UNSIGNED, DOUBLE, NEWDECIMAL,
    strings, and FLOAT (never keyed)."""
    r = random.Random(SEED + 1)
    params = [parameter(r) for _ in range(COUNT // 2)]
    client = WireClient(mariadb.port, NATIVE_USER, NATIVE_PASSWORD, database=DATABASE)
    try:
        for i, (sql_type, _) in enumerate(COLUMNS):
            client.command(bytes([0x03]) + f"CREATE TABLE param_keys_{i} (id INT PRIMARY KEY, "
                                           f"v {sql_type})".encode())
            assert client.read_result()[0] == "ok"
        stored = {}
        for mode in ("STRICT_TRANS_TABLES", ""):
            client.command(bytes([0x03]) + f"SET SESSION sql_mode = '{mode}'".encode())
            assert client.read_result()[0] == "ok"
            stored[mode] = [execute_all(client, f"param_keys_{i}", params)
                            for i in range(len(COLUMNS))]
        for i in range(len(COLUMNS)):
            client.command(bytes([0x03]) + f"DROP TABLE param_keys_{i}".encode())
            assert client.read_result()[0] == "ok"
    finally:
        client.close()

    lines = [f"param:{field}:{int(unsigned)} {column} {value_of(field, value).hex()}\n"
             for _, column in COLUMNS for field, unsigned, value in params]
    out = subprocess.run([tool_path()], input="".join(lines), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    keys = out.stdout.splitlines()
    wrong, keyed = [], 0
    for c, (sql_type, column) in enumerate(COLUMNS):
        for n, (field, unsigned, value) in enumerate(params):
            key = keys[c * len(params) + n]
            if not key.startswith("ok "):
                assert key == "cannot_normalize"
                continue
            keyed += 1
            assert field != FLOAT
            expected = Decimal(key.split()[1])
            for mode in ("STRICT_TRANS_TABLES", ""):
                got = stored[mode][c][n]
                if isinstance(got, tuple) or Decimal(got) != expected:
                    wrong.append((sql_type, field, unsigned, value.hex(), key, mode, got))
    total = len(COLUMNS) * len(params)
    print(f"\nparameters: {total} parameter x column cases; keyed {keyed}")
    for w in wrong[:20]:
        print(w)
    assert not wrong, f"{len(wrong)} keys unlike the stored value"
    assert keyed > total // 3


def value_of(field, value):
    """A parameter's value as the proxy sees it (stmt_execute.hpp): a length-encoded string's
    contents without their length."""
    return value[1:] if field in (NEWDECIMAL, VAR_STRING) else value
