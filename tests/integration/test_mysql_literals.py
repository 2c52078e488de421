"""The MySQL parser's literal unescaping against MariaDB itself (issue 6, item 1).

A seeded generator writes a few hundred string literals per sql_mode, aimed at what a lexer gets
wrong: doubled quotes of both kinds, every backslash escape (\\0 \\b \\n \\r \\t \\Z, \\% and \\_
which keep their backslash, unknown ones such as \\q, a backslash before a multibyte
character), raw control characters, comment and statement markers inside the quotes (/* -- # ;),
multibyte UTF-8, adjacent strings joined ('a' 'b'), introducers (_utf8mb4, _binary, _latin1,
N'..'), and hex and bit literals in every spelling (X'..', 0x.. with an odd digit count, b'..',
0b..). The server answers `SELECT HEX(<literal>)` for each under the session's sql_mode; the
tool tests/tools/parse_mysql parses one INSERT holding all of them as VALUES rows under the
same mode and prints each value's bytes. They must be equal, literal by literal, and each
value's source range must be exactly the literal's bytes in the statement.

Modes: the default, NO_BACKSLASH_ESCAPES, ANSI_QUOTES (where "x" is an identifier, so only
single-quoted forms are generated), and both.

The tool: $UNIQGUARD_TOOLS_DIR/parse_mysql, else build/tests/tools/parse_mysql.
UNIQGUARD_LITERAL_SEED changes the seed.
"""
import json
import os
import random
import subprocess
from pathlib import Path

import pymysql
import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("UNIQGUARD_LITERAL_SEED", "20261126"))
PER_MODE = 160

MODES = {
    "default": ("", []),
    "no_backslash_escapes": ("NO_BACKSLASH_ESCAPES", ["--no-backslash-escapes"]),
    "ansi_quotes": ("ANSI_QUOTES", ["--ansi-quotes"]),
    "both": ("NO_BACKSLASH_ESCAPES,ANSI_QUOTES",
             ["--sql-mode", "NO_BACKSLASH_ESCAPES,ANSI_QUOTES"]),
}


def tool_path():
    tools_dir = os.environ.get("UNIQGUARD_TOOLS_DIR")
    if tools_dir:
        return os.path.join(tools_dir, "parse_mysql")
    return str(REPO / "build" / "tests" / "tools" / "parse_mysql")


PLAIN = ["a", "Z", "0", " ", "x y", "%", "_", "/*", "*/", "--", "-- ", "#", ";", "?", "@",
         "`", "N", "\t", "\n", "\r", "é", "ß", "中文", "€", "\x01", "\x1a", "\x7f"]
FOUR_BYTE = ["😀", "𝄞"]
ESCAPES = ["\\0", "\\b", "\\n", "\\r", "\\t", "\\Z", "\\%", "\\_", "\\\\", "\\'", '\\"',
           "\\q", "\\a", "\\x", "\\N", "\\1", "\\é", "\\中", "\\ ", "\\B", "\\z"]


def body(r, quote, backslash, allow_four_byte):
    """The inside of one quoted literal, as written in SQL."""
    parts = []
    for _ in range(r.randint(0, 6)):
        roll = r.random()
        if roll < 0.35:
            parts.append(r.choice(PLAIN))
        elif roll < 0.45 and allow_four_byte:
            parts.append(r.choice(FOUR_BYTE))
        elif roll < 0.6:
            parts.append(quote + quote)  # a doubled quote
        elif roll < 0.7:
            parts.append("'" if quote == '"' else '"')  # the other quote, plain inside
        elif backslash:
            parts.append(r.choice(ESCAPES))
        else:
            parts.append(r.choice(["\\", "\\\\", "\\n", "\\0", "\\%"]))  # all plain bytes
    text = "".join(parts)
    if backslash:
        # A lone trailing backslash would escape the closing quote.
        trailing = len(text) - len(text.rstrip("\\"))
        if trailing % 2 == 1:
            text += "\\"
    return text


def quoted(r, backslash, ansi_quotes, allow_four_byte=True):
    quote = "'" if ansi_quotes or r.random() < 0.6 else '"'
    return quote + body(r, quote, backslash, allow_four_byte) + quote


def literal(r, backslash, ansi_quotes):
    roll = r.random()
    if roll < 0.40:
        return quoted(r, backslash, ansi_quotes)
    if roll < 0.50:  # adjacent strings are one literal
        sep = r.choice([" ", "\n", "  ", "/* c */", "\t"])
        return sep.join(quoted(r, backslash, ansi_quotes) for _ in range(r.randint(2, 3)))
    if roll < 0.58:
        return "N" + "'" + body(r, "'", backslash, False) + "'"
    if roll < 0.70:
        intro = r.choice(["_utf8mb4", "_binary", "_latin1", "_UTF8MB4", "_utf8mb3"])
        sep = r.choice(["", " "])
        return intro + sep + quoted(r, backslash, ansi_quotes, intro.lower() != "_utf8mb3")
    digits = "".join(r.choice("0123456789abcdefABCDEF") for _ in range(r.randint(0, 9)))
    bits = "".join(r.choice("01") for _ in range(r.randint(0, 20)))
    if roll < 0.76:
        even = digits[: len(digits) // 2 * 2]
        return r.choice(["X", "x"]) + "'" + even + "'"
    if roll < 0.82:
        return "0x" + (digits or "0")
    if roll < 0.88:
        return r.choice(["b", "B"]) + "'" + bits + "'"
    if roll < 0.94:
        return "0b" + (bits or "1")
    even = digits[: len(digits) // 2 * 2]
    return "_binary " + r.choice(["X'" + even + "'", "0x" + (digits or "1"), "b'" + bits + "'"])


def generate(mode_name):
    sql_mode, _ = MODES[mode_name]
    r = random.Random(f"{SEED}-{mode_name}")
    backslash = "NO_BACKSLASH_ESCAPES" not in sql_mode
    ansi = "ANSI_QUOTES" in sql_mode
    fixed = ["''", "'\\''" if backslash else "''''", "X''", "b''", "0x0", "0b0", "'a' 'b'",
             "_binary''", "N''", "0x123", "b'100000001'"]
    return fixed + [literal(r, backslash, ansi) for _ in range(PER_MODE)]


def server_hex(mariadb, sql_mode, literals):
    conn = pymysql.connect(unix_socket=mariadb.socket, user="root", charset="utf8mb4",
                           autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("SET SESSION sql_mode = %s", (sql_mode,))
        out = []
        for lit in literals:
            try:
                cur.execute(f"SELECT HEX({lit})")
            except pymysql.MySQLError as e:
                pytest.fail(f"the server refused the generated literal {lit!r}: {e}")
            out.append(cur.fetchone()[0])
        return out
    finally:
        conn.close()


def parser_values(flags, literals, check_ranges=True):
    path = tool_path()
    if not os.path.exists(path):
        pytest.fail(f"parse_mysql not found at {path}: build it (tests/tools) or set "
                    "UNIQGUARD_TOOLS_DIR")
    sql = "INSERT INTO t (c) VALUES " + ",\n".join(f"({lit})" for lit in literals)
    data = sql.encode()
    out = subprocess.run([path, *flags], input=data, capture_output=True, check=True).stdout
    parsed = json.loads(out)
    assert parsed["error"] is None, parsed["error"]
    (statement,) = parsed["statements"]
    assert statement["kind"] == "insert", statement
    values = [row[0] for row in statement["rows"]]
    # Each value's source range is exactly the literal as written (byte offsets).
    for lit, value in zip(literals if check_ranges else [], values):
        offset, length = value["range"]
        assert data[offset:offset + length] == lit.encode(), (lit, value["range"])
    return values


@pytest.mark.parametrize("mode_name", list(MODES))
def test_literal_bytes_match_the_server(mariadb, mode_name):
    sql_mode, flags = MODES[mode_name]
    literals = generate(mode_name)
    expected = server_hex(mariadb, sql_mode, literals)
    values = parser_values(flags, literals)
    assert len(values) == len(literals)
    mismatches = []
    for lit, want, got in zip(literals, expected, values):
        if got["kind"] != "literal_string" or got["hex"] != want:
            mismatches.append((lit, want, got["kind"], got["hex"]))
    print(f"{mode_name}: {len(literals)} literals, {len(mismatches)} mismatches")
    assert not mismatches, "\n".join(
        f"{lit!r}: server {want}, parser {kind} {got}" for lit, want, kind, got in mismatches[:20])


# Each is `1`, plus one more `+1` wherever the server reads a comment's contents as SQL, or a
# `--` as two minus signs. The parser must see the literal 1 exactly where the server answers 1.
COMMENT_CASES = [
    "1 /*!80000 +1 */", "1 /*!50700 +1 */", "1 /*!50699 +1 */", "1 /*!99999 +1 */",
    "1 /*M!100500 +1 */", "1 /*M!999999 +1 */", "1 /*M! +1 */", "1 /*! +1 */",
    "1 /*!100000 +1 */", "1 /*!101106 +1 */", "1 /*!999999 +1 */", "1 /*M!50100 +1 */",
    "1 /*!99999 +1 /* x */ +1 */", "1 /* x /* y */", "1 /* +1 */", "1 # +1\n",
    "1 -- +1\n", "1 --\t+1\n", "1--1", "1 #x\r+1\n", "1 /*!40101 */", "/*!40101 1 */",
]


def server_version(mariadb):
    version = mariadb.sql("SELECT VERSION()").strip()
    major, minor, patch = version.split("-")[0].split(".")
    return int(major) * 10000 + int(minor) * 100 + int(patch)


def test_executable_comments_match_the_server(mariadb):
    conn = pymysql.connect(unix_socket=mariadb.socket, user="root", autocommit=True)
    try:
        cur = conn.cursor()
        answers = []
        for case in COMMENT_CASES:
            cur.execute(f"SELECT {case}")
            answers.append(int(cur.fetchone()[0]))
    finally:
        conn.close()
    # The ranges leave out comments around the value: not compared here.
    values = parser_values(["--server-version", str(server_version(mariadb))], COMMENT_CASES,
                           check_ranges=False)
    wrong = []
    for case, answer, value in zip(COMMENT_CASES, answers, values):
        parser_one = value["kind"] == "literal_number" and value.get("text") == "1"
        if parser_one != (answer == 1):
            wrong.append(f"{case!r}: server {answer}, parser {value['kind']} {value.get('text')}")
    assert not wrong, "\n".join(wrong)
