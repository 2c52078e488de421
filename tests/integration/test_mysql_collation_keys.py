"""Key equality under MySQL/MariaDB collations against the server itself (issue 6, item 8;
SPEC §4 "key equality is the server's").

The proxy's key of a string value under a collation (src/guard/collation_weights.cpp) is made
from the server's own weights: WEIGHT_STRING of every code point, read once per collation. Here,
for each collation of the list, MariaDB 10.11:
  - gives that table (U+0000..U+10FFFF, by the mariadb CLI into a file for
    tests/tools/collation_keys);
  - says, for 10,000 seeded pairs of values aimed at the tricky cases (letter case, accents
    precomposed and combining, trailing spaces, tabs and no-break spaces, ß/ss/ẞ, æ/ae,
    ligatures, dotless and dotted i, fullwidth letters, Latin/Cyrillic/Greek look-alikes,
    zero-width and soft-hyphen characters, emoji, CJK, Hangul jamo), which pairs are equal
    (`a = b` under the collation), and what each value's WEIGHT_STRING is.
Asserted, per collation:
  - every pair the server calls equal gets equal keys (a difference would let a duplicate in);
  - every value's key is the server's WEIGHT_STRING of the whole value, its trailing space
    weights removed under PAD SPACE: no over-folding either (the pairs the server calls unequal
    but that share a key are counted and must be 0).

UNIQGUARD_KEY_PAIRS (default 10000) and UNIQGUARD_KEY_SEED change the volume and the seed.
"""
import os
import random
import subprocess
import unicodedata

import pytest

from harness.mariadb_server import DATABASE
from harness.tools import built_tool

PAIRS = int(os.environ.get("UNIQGUARD_KEY_PAIRS", "10000"))
SEED = int(os.environ.get("UNIQGUARD_KEY_SEED", "20261126"))

# (character set, collation)
COLLATIONS = [
    ("utf8mb4", "utf8mb4_general_ci"),     # MariaDB 10.11's default for utf8mb4
    ("utf8mb4", "utf8mb4_general_nopad_ci"),
    ("utf8mb4", "utf8mb4_unicode_ci"),     # UCA 4.0.0 (Django's MySQL default)
    ("utf8mb4", "utf8mb4_unicode_520_ci"),
    ("utf8mb4", "utf8mb4_uca1400_ai_ci"),  # UCA 14.0.0, MariaDB 11's default
    ("utf8mb4", "utf8mb4_german2_ci"),     # expansions: ä = ae
    ("utf8mb4", "utf8mb4_bin"),
    ("utf8mb4", "utf8mb4_nopad_bin"),
    ("utf8mb3", "utf8mb3_general_ci"),
    ("latin1", "latin1_swedish_ci"),       # MariaDB's server default
    ("latin1", "latin1_general_ci"),
    ("latin1", "latin1_bin"),
]

# Characters the generators draw from, grouped by the confusions they test.
PLAIN = list("abcdefghiklmnopqrstuvwxyzABCSTUZ0129 -_.")
TRICKY = [
    "é", "e\u0301", "É", "E\u0301", "è", "ê", "ë", "å", "a\u030a", "Å", "ä", "ö", "ü", "Ü",
    "ß", "ss", "SS", "ẞ", "æ", "ae", "Æ", "AE", "œ", "oe", "ø", "ð", "þ", "th", "ĳ", "ij",
    "ﬁ", "fi", "ﬀ", "ı", "i", "İ", "I", "ǅ", "Ǆ", "dž", "ñ", "n\u0303", "ç", "c\u0327",
    "Ａ", "ａ", "１", "½", "²", "Ⅻ", "ⓐ", "ℌ", "\u00a0", "\u2007", "\t", "\u200b", "\u00ad",
    "\u200d", "\ufeff", "\u0000", "а", "А", "о", "ο", "Ο", "α", "ά", "ς", "σ", "Σ",
    "😀", "😁", "\U0001d400", "漢", "字", "한", "\u1112\u1161\u11ab", "ア", "ｱ", "ｶﾞ", "ガ",
    "\U000e0041", "\U0010fffd", "\ufffd", "€", "¤", "’", "'", "ℓ", "µ", "μ",
]


def random_text(r, length=None):
    length = length if length is not None else r.randint(0, 8)
    out = []
    for _ in range(length):
        out.append(r.choice(TRICKY) if r.random() < 0.45 else r.choice(PLAIN))
    return "".join(out)


VARIANTS = [
    ("ß", "ss"), ("ß", "ẞ"), ("ss", "SS"), ("æ", "ae"), ("Æ", "AE"), ("œ", "oe"), ("ĳ", "ij"),
    ("ﬁ", "fi"), ("ı", "i"), ("İ", "I"), ("i", "I"), ("а", "a"), ("о", "o"), ("Ａ", "A"),
    ("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ǅ", "Dž"), ("µ", "μ"), ("σ", "ς"), ("ア", "ｱ"),
]


def variant(r, s):
    """Another spelling of `s` that some collation may call equal."""
    t = s
    for _ in range(r.randint(1, 3)):
        k = r.random()
        if k < 0.2:
            t = "".join(c.upper() if r.random() < 0.5 else c.lower() for c in t)
        elif k < 0.35:
            t = unicodedata.normalize(r.choice(["NFC", "NFD", "NFKC", "NFKD"]), t)
        elif k < 0.5:
            t = t + r.choice([" ", "  ", "\u00a0", "\t", " \u200b", ""])
        elif k < 0.6 and t.endswith(" "):
            t = t.rstrip(" ")
        elif k < 0.7:
            pos = r.randint(0, len(t))
            t = t[:pos] + r.choice(["\u200b", "\u00ad", "\u200d", "\ufeff", "\u0000"]) + t[pos:]
        else:
            a, b = r.choice(VARIANTS)
            if r.random() < 0.5:
                a, b = b, a
            t = t.replace(a, b, 1) if a in t else t + b
    return t


def make_pairs(n, seed):
    r = random.Random(seed)
    pairs = []
    for i in range(n):
        if i % 2 == 0:
            a = random_text(r)
            pairs.append((a, variant(r, a)))
        else:
            # Short independent strings over a small alphabet: some are equal by chance.
            length = r.randint(0, 3)
            pairs.append((random_text(r, length), random_text(r, length)))
    return pairs


def tool_path():
    return built_tool("collation_keys")


@pytest.fixture(scope="module")
def root(mysql_root):
    return mysql_root


@pytest.fixture(scope="module")
def weight_tables(mariadb, tmp_path_factory):
    """The weight table file of a collation, read from the server once per module."""
    made = {}

    def table(charset, collation):
        if collation not in made:
            path = tmp_path_factory.mktemp("weights") / f"{collation}.txt"
            weight_table(mariadb, charset, collation, path)
            made[collation] = path
        return made[collation]

    return table


@pytest.fixture(scope="module")
def pairs(root):
    pairs = make_pairs(PAIRS, SEED)
    with root.cursor() as cur:
        cur.execute("CREATE TABLE collation_pairs (id INT PRIMARY KEY, a VARBINARY(400), "
                    "b VARBINARY(400))")
        cur.executemany("INSERT INTO collation_pairs VALUES (%s, %s, %s)",
                        [(i, a.encode(), b.encode()) for i, (a, b) in enumerate(pairs)])
    yield pairs
    with root.cursor() as cur:
        cur.execute("DROP TABLE collation_pairs")


def as_collated(expr, charset, collation):
    return f"CONVERT(CONVERT({expr} USING utf8mb4) USING {charset}) COLLATE {collation}"


def weight_table(mariadb, charset, collation, path):
    """The server's weight of every code point, one line each, by the CLI (a million rows):
    '-' for an empty weight, '!' for a character the column's set cannot hold (the server stores
    '?' for it, or refuses it in strict mode: such a value is left to the server)."""
    code = "UNHEX(LPAD(HEX(seq), 8, '0'))"
    char = f"CONVERT(CONVERT({code} USING utf32) USING {charset})"
    weight = f"WEIGHT_STRING({char} COLLATE {collation})"
    sql = (f"SELECT seq, IF(HEX(CONVERT({char} USING utf32)) <> LPAD(HEX(seq), 8, '0'), '!', "
           f"IF({weight} = '', '-', HEX({weight}))) FROM seq_0_to_1114111 "
           f"WHERE seq NOT BETWEEN 55296 AND 57343")
    with open(path, "w") as out:
        subprocess.run(["mariadb", "--no-defaults", f"--socket={mariadb.socket}", "-uroot", "-N",
                        "-B", DATABASE, "-e", sql], stdout=out, check=True, timeout=300)


def tool_keys(table, pad, values, column=None):
    """The proxy's keys of `values` (None: none): as strings of the collation, or with `column`
    = (max characters, CHAR?) as string literals into such a column."""
    args = [tool_path(), table, "1" if pad else "0"]
    if column:
        args += [str(column[0]), "1" if column[1] else "0"]
    r = subprocess.run(args, capture_output=True, text=True,
                       input="".join(v.encode().hex() + "\n" for v in values), timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("memory ")
    return int(lines[0].split()[1]), [None if k == "-" else k for k in lines[1:]]


@pytest.mark.parametrize("charset, collation", COLLATIONS, ids=[c for _, c in COLLATIONS])
def test_keys_follow_the_server(charset, collation, root, pairs, weight_tables):
    with root.cursor() as cur:
        cur.execute(f"SELECT {as_collated(repr('a'), charset, collation)} = "
                    f"{as_collated(repr('a '), charset, collation)}, "
                    f"HEX(WEIGHT_STRING({as_collated(repr(' '), charset, collation)}))")
        pad, space = cur.fetchone()
        pad = bool(pad)
        cur.execute(f"SELECT id, {as_collated('a', charset, collation)} = "
                    f"{as_collated('b', charset, collation)}, "
                    f"HEX(WEIGHT_STRING({as_collated('a', charset, collation)})), "
                    f"HEX(WEIGHT_STRING({as_collated('b', charset, collation)})) "
                    "FROM collation_pairs ORDER BY id")
        server = cur.fetchall()
    assert len(server) == len(pairs)
    table = weight_tables(charset, collation)
    memory, keys = tool_keys(table, pad, [v for pair in pairs for v in pair])
    space = space.lower()

    def server_key(weight):
        weight = weight.lower()
        while pad and weight.endswith(space):
            weight = weight[:-len(space)]
        return weight

    missed, unlike, over_folded, equal_pairs, left = [], [], 0, 0, 0
    for (i, equal, weight_a, weight_b), (a, b) in zip(server, pairs):
        key_a, key_b = keys[2 * i], keys[2 * i + 1]
        for value, key, weight in ((a, key_a, weight_a), (b, key_b, weight_b)):
            if key is None:
                left += 1  # a character the column's set lacks: left to the server
            elif key != server_key(weight):
                unlike.append((value, key, weight))
        if key_a is None or key_b is None:
            continue
        if equal:
            equal_pairs += 1
            if key_a != key_b:
                missed.append((a, b, key_a, key_b))
        elif key_a == key_b:
            over_folded += 1
    print(f"\n{collation}: PAD SPACE {pad}; {equal_pairs} of {len(pairs)} pairs keyed and equal "
          f"on the server; {over_folded} over-folded; {left} values left to the server; table "
          f"{memory / 2**20:.1f} MiB")
    assert not missed, f"{len(missed)} equal pairs with different keys, e.g. {missed[:5]!r}"
    assert not unlike, f"{len(unlike)} keys unlike the server's weights, e.g. {unlike[:5]!r}"
    assert over_folded == 0
    # Only characters the column's set lacks are left to the server: none in utf8mb4.
    if charset == "utf8mb4":
        assert left == 0
    # The generators reach both outcomes under every collation.
    assert len(pairs) // 20 < equal_pairs < len(pairs) - len(pairs) // 20


STORED = [("utf8mb4", "utf8mb4_general_ci"), ("utf8mb4", "utf8mb4_nopad_bin"),
          ("utf8mb4", "utf8mb4_unicode_ci"), ("utf8mb3", "utf8mb3_general_ci"),
          ("latin1", "latin1_swedish_ci")]


def pad_space(root, charset, collation):
    with root.cursor() as cur:
        cur.execute(f"SELECT {as_collated(repr('a'), charset, collation)} = "
                    f"{as_collated(repr('a '), charset, collation)}")
        return bool(cur.fetchone()[0])


@pytest.mark.parametrize("sql_type", ["VARCHAR(6)", "CHAR(6)"])
@pytest.mark.parametrize("charset, collation", STORED, ids=[c for _, c in STORED])
def test_a_literal_keys_as_the_value_stored(charset, collation, sql_type, root, pairs,
                                            weight_tables):
    """guard/mysql_string_key: a string literal's key is the key of what the server stores from
    it (the character set conversion, CHAR's trailing spaces), for 4,000 of the values above,
    stored under sql_mode = '' so that every row goes in (too long: truncated; a character the
    column's set lacks: '?'). A literal the proxy keys must key as its stored value."""
    values = [v for pair in pairs[:2000] for v in pair]
    table = f"stored_{collation}_{sql_type[:4]}".lower()
    with root.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, v {sql_type} CHARACTER SET "
                    f"{charset} COLLATE {collation})")
        try:
            for start in range(0, len(values), 500):
                cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)",
                                [(start + i, v) for i, v in enumerate(values[start:start + 500])])
            cur.execute(f"SELECT id, HEX(CONVERT(v USING utf8mb4)) FROM {table} ORDER BY id")
            stored = [bytes.fromhex(h).decode() for _, h in cur.fetchall()]
        finally:
            cur.execute(f"DROP TABLE {table}")
            cur.execute("SET SESSION sql_mode = DEFAULT")
    assert len(stored) == len(values)
    pad = pad_space(root, charset, collation)
    path = weight_tables(charset, collation)
    column = (6, sql_type.startswith("CHAR"))
    _, literal_keys = tool_keys(path, pad, values, column)
    _, stored_keys = tool_keys(path, pad, stored, column)
    wrong = [(v, s, k, ks) for v, s, k, ks in zip(values, stored, literal_keys, stored_keys)
             if k is not None and k != ks]
    keyed = sum(k is not None for k in literal_keys)
    print(f"\n{collation} {sql_type}: {keyed} of {len(values)} literals keyed")
    assert not wrong, f"{len(wrong)} literals keyed unlike their stored value: {wrong[:5]!r}"
    assert keyed > len(values) // (4 if charset == "utf8mb4" else 8)
