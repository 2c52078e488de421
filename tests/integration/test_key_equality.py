"""Key equality against the server itself (issue 3, item 5; SPEC §4 "key equality is the
server's").

For every key type the guard supports, a seeded generator makes value pairs aimed at the tricky
cases (blanks, signs, leading and trailing zeros, letter case, hyphens and braces, trailing
spaces, rounding edges, equal instants written in different offsets, dates in the session's
DateStyle order, junk). PostgreSQL 15 says, in one query per type, which values it accepts
(assigned to a variable of the column's type, as an INSERT assigns), which pairs are equal under
the type's `=`, and what each value's binary send form is. The tool tests/tools/normalize_keys
runs the proxy's normalizer on the same values, text and binary. Asserted:

  - every pair the server calls equal gets equal key bytes whenever both are normalized (a
    difference would let a duplicate through);
  - a value the server refuses is INVALID or UNSURE, never a key; a value it accepts is never
    INVALID;
  - the binary form of every accepted value gives the same key as its text form;
  - pairs the server calls unequal but that share key bytes (over-folding: only a confirmation
    query) are counted and printed, with the UNSURE rate (values left to the server).

test_sql_numbers_match_an_insert does the same for unquoted SQL numbers (normalize_sql_number)
against a real INSERT of the literal into a column of each type.

Runs with /usr/bin/python3 -m pytest tests/integration/test_key_equality.py -s (to see the
figures). The tool: $UNIQGUARD_TOOLS_DIR/normalize_keys, else build/tests/tools/normalize_keys.
UNIQGUARD_KEY_PAIRS (default 10000) and UNIQGUARD_KEY_SEED change the volume and the seed.
"""
import datetime as dt
import io
import os
import random
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

import psycopg2
import pytest

from harness.tools import built_tool

PAIRS = int(os.environ.get("UNIQGUARD_KEY_PAIRS", "10000"))
SEED = int(os.environ.get("UNIQGUARD_KEY_SEED", "20240515"))


def tool_path():
    return built_tool("normalize_keys")


# --------------------------------------------------------------------------------------------
# Generators. Each returns (a, b) text pairs; roughly half are two spellings of one value.

WS = [" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c"]


def blank(r, p=0.25):
    return r.choice(WS) if r.random() < p else ""


def pad(r, s, p=0.25):
    return blank(r, p) + s + blank(r, p)


def mixed_case(r, s):
    mode = r.random()
    if mode < 0.3:
        return s.lower()
    if mode < 0.6:
        return s.upper()
    return "".join(c.upper() if r.random() < 0.5 else c.lower() for c in s)


def int_pairs(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    edges = [0, 1, -1, 7, 10, -10, 99, 100, lo, hi, lo + 1, hi - 1, lo - 1, hi + 1]
    junk = ["", " ", "+", "-", "1.0", "1e3", "0x10", "1_000", "\u0662", "12a", "++1", "1 2",
            "\u00a02", "- 1", "+-1", "2.", ".2", "1,000", "\uff11", "0b1", "00x1", "1-"]

    def value(r):
        c = r.random()
        if c < 0.3:
            return r.choice(edges)
        if c < 0.6:
            return r.randint(-1000, 1000)
        return r.randint(lo, hi)

    def render(r, v):
        s = str(abs(v))
        if r.random() < 0.3:
            s = "0" * r.randint(1, 5) + s
        if v < 0:
            s = "-" + s
        elif r.random() < 0.25:
            s = r.choice("+-") + s if v == 0 else "+" + s
        return pad(r, s)

    def pair(r):
        v = value(r)
        c = r.random()
        if c < 0.5:
            return render(r, v), render(r, v)
        if c < 0.85:
            return render(r, v), render(r, v + r.choice([1, -1, 2, 10, -100, 1 << 16]))
        return render(r, v), r.choice(junk)

    return pair


def _plain_decimal(coeff, exp):
    """coeff × 10^exp written without an exponent (coeff >= 0)."""
    digits = str(coeff)
    if exp >= 0:
        return digits + "0" * exp
    digits = digits.rjust(-exp + 1, "0")
    return digits[:exp] + "." + digits[exp:]


def numeric_pairs(edge_digits=(8, 3), tiny=False):
    junk = ["", " ", ".", "+", "-", "e5", "1e", "1e+", "1.2.3", "--1", "1 e5", "1,5", "Na",
            "NaNa", "in", "infinit", "0x1", "1e5.5", "+NaN", "- 1", "\u0661", "1_0", "Infinityx",
            "NaN 1", "1e99999999999", "+-1", ".e1", "1e-"]
    int_edge, frac_edge = edge_digits

    def value(r):
        c = r.random()
        if c < 0.06:
            return r.choice(["NaN", "Infinity", "-Infinity"])
        if tiny and c < 0.6:
            # Below 0.01: what numeric(2,4) holds.
            d = Decimal("0.00" + "".join(r.choice("0123456789") for _ in range(r.randint(1, 5))))
        elif c < 0.12:
            # Rounding and overflow edges of the constrained types tested below.
            whole = "9" * r.randint(1, int_edge + 1)
            frac = "9" * r.randint(0, frac_edge) + r.choice("45")
            d = Decimal(whole + "." + frac)
        else:
            whole = "".join(r.choice("0123456789") for _ in range(r.choice([0, 1, 1, 2, 3, 5, 8, 12, 20])))
            frac = "".join(r.choice("0123456789") for _ in range(r.choice([0, 0, 1, 2, 2, 3, 4, 6, 10])))
            if frac and r.random() < 0.3:
                frac = frac[:-1] + "5"
            d = Decimal((whole or "0") + ("." + frac if frac else ""))
        return -d if r.random() < 0.4 else d

    def render(r, v):
        if isinstance(v, str):
            spellings = {"NaN": ["NaN", "nan", "NAN", "nAn"],
                         "Infinity": ["Infinity", "infinity", "INF", "inf", "+inf", "+Infinity"],
                         "-Infinity": ["-Infinity", "-inf", "-INF", "-infinity"]}[v]
            return pad(r, r.choice(spellings))
        sign, digits, exp = v.as_tuple()
        coeff = int("".join(map(str, digits)) or "0")
        zeros = r.choice([0, 0, 1, 2, 5])
        coeff, exp = coeff * 10 ** zeros, exp - zeros
        if r.random() < 0.3:
            k = r.randint(-6, 6)
            e = r.choice("eE")
            ks = str(k) if k < 0 or r.random() < 0.5 else "+" + str(k)
            if r.random() < 0.1:
                ks = ks[0] + "0" + ks[1:] if ks[0] in "+-" else "0" + ks
            if r.random() < 0.05:
                ks = " " + ks  # strtol skips blanks: '1e 5' is 1e5
            s = _plain_decimal(coeff, exp - k) + e + ks
        else:
            s = _plain_decimal(coeff, exp)
            if "." not in s and r.random() < 0.2:
                s += r.choice([".", ".0", ".000"])
        if s.startswith("0.") and r.random() < 0.3:
            s = s[1:]
        if r.random() < 0.2:
            s = "0" * r.randint(1, 3) + s
        if sign:
            s = "-" + s
        elif r.random() < 0.2:
            s = r.choice("+-") + s if coeff == 0 else "+" + s
        return pad(r, s)

    def pair(r):
        v = value(r)
        c = r.random()
        if c < 0.5:
            return render(r, v), render(r, v)
        if c < 0.85 and not isinstance(v, str):
            step = Decimal(1).scaleb(r.randint(-12, 3))
            with localcontext() as ctx:
                ctx.prec = 200
                w = v + step if r.random() < 0.5 else v - step
            return render(r, v), render(r, w)
        return render(r, v), r.choice(junk)

    return pair


TEXT_ALPHABET = ["a", "b", "A", "B", " ", " ", "  ", "\t", "\u00e9", "e\u0301", "\u65e5",
                 "\U0001f642", "\\", "'", '"', "x", "\u00df", "\u0130", "\n"]


def text_pairs(max_len=7):
    def value(r):
        return "".join(r.choice(TEXT_ALPHABET) for _ in range(r.randint(0, max_len)))

    def pair(r):
        s = value(r)
        c = r.random()
        if c < 0.3:
            return s, s
        if c < 0.65:
            return s, s + " " * r.randint(1, 4)
        if c < 0.75:
            return s.rstrip(" "), s + " " * r.randint(0, 3)
        if c < 0.85:
            return s, s.upper()
        if c < 0.92:
            return s + "\t", s
        return s, value(r)

    return pair


def uuid_pairs():

    def render(r, raw):
        h = raw.hex()
        h = "".join(c.upper() if r.random() < 0.5 else c for c in h) if r.random() < 0.4 else (
            h.upper() if r.random() < 0.3 else h)
        style = r.random()
        if style < 0.4:
            cuts = {8, 12, 16, 20}
        elif style < 0.6:
            cuts = set()
        else:
            # string_to_uuid allows a hyphen after any group of four digits.
            cuts = {p for p in range(4, 32, 4) if r.random() < 0.5}
        s = "".join(("-" if i in cuts else "") + c for i, c in enumerate(h))
        if r.random() < 0.2:
            s = "{" + s + "}"
        return s

    def junk(r, raw):
        s = render(r, raw)
        kind = r.randint(0, 9)
        if kind == 0:
            return " " + s
        if kind == 1:
            return s + "\t"
        if kind == 2:
            return s[:-1]
        if kind == 3:
            return s + "0"
        if kind == 4:
            return "{" + s.strip("{}")
        if kind == 5:
            return s.strip("{}") + "}"
        if kind == 6:
            return s.replace("-", "--", 1) if "-" in s else s[:2] + "-" + s[2:]
        if kind == 7:
            return "-" + s
        if kind == 8:
            return s[:6] + "g" + s[7:]
        return s + "-"

    def pair(r):
        raw = bytes(r.getrandbits(8) for _ in range(16))
        c = r.random()
        if c < 0.5:
            return render(r, raw), render(r, raw)
        if c < 0.8:
            other = bytearray(raw)
            other[r.randrange(16)] ^= 1 << r.randrange(8)
            return render(r, raw), render(r, bytes(other))
        return render(r, raw), junk(r, raw)

    return pair


def bool_pairs():
    true_words = ["t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"]
    false_words = ["f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"]
    junk = ["o", "", "  ", "2", "truee", "yess", "nope", "onn", "offf", "t r", "-1", "01", "10",
            "on1", "yes!", "\u00a0t", "tru e", "o n", "nn", "ff"]

    def render(r, v):
        return pad(r, mixed_case(r, r.choice(true_words if v else false_words)))

    def pair(r):
        v = r.random() < 0.5
        c = r.random()
        if c < 0.45:
            return render(r, v), render(r, v)
        if c < 0.8:
            return render(r, v), render(r, not v)
        return render(r, v), pad(r, r.choice(junk))

    return pair


# Dates and times ------------------------------------------------------------------------------

def random_date(r):
    c = r.random()
    if c < 0.6:
        y = r.randint(1960, 2080)
    elif c < 0.9:
        y = r.randint(1, 9999)
    else:
        y = r.choice([1, 2, 69, 70, 99, 100, 1969, 1970, 2000, 2069, 2070, 9999])
    m = r.randint(1, 12)
    d = r.randint(1, 28) if r.random() < 0.7 else r.choice([29, 30, 31])
    return y, m, d


def valid_date(y, m, d):
    try:
        dt.date(y, m, d)
        return True
    except ValueError:
        return False


def render_date(r, y, m, d, order):
    """A spelling of y-m-d that the server reads as that date under DateStyle `order`."""
    def two(v):
        return f"{v:02d}" if r.random() < 0.7 else str(v)

    sep = r.choice("-/.") if r.random() < 0.4 else "-"
    c = r.random()
    if c < 0.55 or y < 100:
        year = f"{y:04d}" if y >= 1000 or r.random() < 0.7 else f"{y:03d}" if y >= 100 or r.random() < 0.5 else f"{y:04d}"
        return f"{year}{sep}{two(m)}{sep}{two(d)}"
    if c < 0.65 and y >= 1000:
        return f"{y:04d}{m:02d}{d:02d}"
    year = f"{y:04d}"
    if 1970 <= y <= 2069 and r.random() < 0.5:
        year = f"{y % 100:02d}" if r.random() < 0.7 else str(y % 100)
    if order == "MDY":
        return f"{two(m)}{sep}{two(d)}{sep}{year}"
    if order == "DMY":
        return f"{two(d)}{sep}{two(m)}{sep}{year}"
    if len(year) <= 2:
        return f"{year}{sep}{two(m)}{sep}{two(d)}"
    return f"{year}{sep}{two(m)}{sep}{two(d)}"


def render_fraction(r, us):
    """'.ffffff' for `us` microseconds, or another spelling the server rounds to the same."""
    if us == 0:
        return r.choice(["", "", ".", ".0", ".000000", ".0000001"])
    s = f"{us:06d}"
    c = r.random()
    if c < 0.4:
        return "." + s.rstrip("0")
    if c < 0.6:
        return "." + s
    # More digits than µs: rint(x * 1e6) brings them back (mostly; the server decides).
    return "." + s + r.choice(["0", "1", "4", "49", "5", "50", "500001", "9"])


def render_time(r, h, mi, s, us):
    hh = f"{h:02d}" if r.random() < 0.8 else str(h)
    mm = f"{mi:02d}" if r.random() < 0.9 else str(mi)
    if s == 0 and us == 0 and r.random() < 0.3:
        return f"{hh}:{mm}"
    return f"{hh}:{mm}:{s:02d}{render_fraction(r, us)}"


def render_offset(r, east):
    if east == 0 and r.random() < 0.4:
        return r.choice(["Z", "z", "UTC", "utc", "+00", "-00", "+0", "+00:00"])
    sign = "+" if east >= 0 else "-"
    a = abs(east)
    h, rest = divmod(a, 3600)
    mi, s = divmod(rest, 60)
    if s:
        return f"{sign}{h:02d}:{mi:02d}:{s:02d}"
    forms = [f"{sign}{h:02d}:{mi:02d}", f"{sign}{h:02d}{mi:02d}", f"{sign}{h}{mi:02d}"]
    if mi == 0:
        forms += [f"{sign}{h:02d}", f"{sign}{h}"]
    return r.choice(forms)


def random_offset(r):
    return r.choice([0, 3600, -3600, 7200, -18000, 19800, -12600, 20700, 50400, -43200,
                     15 * 3600 + 59 * 60, -(15 * 3600 + 59 * 60), 19815, -3661])


EPOCH_2000 = dt.datetime(2000, 1, 1)


def datetime_pairs(kind, order, session_east):
    """kind: date | timestamp | timestamptz. session_east: the session's fixed offset in seconds,
    or None for a zone with rules (values without an offset are then only spelled, not
    predicted)."""
    junk = ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01", "2024-1-32",
            "2024-01-02 25:00", "2024-01-02 24:00:01", "2024-01-02 12:60", "2024/01-02",
            "2024-01-02-03", "20240230", "today", "January 8, 1999", "1999-Jan-08", "J2451187",
            "2024-01-02 BC", "2024-01-02 03:04:05+16", "2024-01-02 03:04:05+15:60",
            "2024-01-02 03:04:05 America/New_York", "2024-01-02 03:04:05.5.5", "2024-01-02T",
            "2024-01-02 03:04:05+05:30:60", "2024-01-02 3:4:5", "2024-01-02 03:04.5",
            "2024-01-02 23:59:60.5", "2024-01-02 23:59:60", "2024-01-02 24:00", "epoch", "EPOCH",
            "infinity", "-Infinity", "+infinity", "allballs", "2024-01-02 03:04:05 +02",
            "2024-01-02 03:04:05+ 02", "2024-01-02  03:04:05", "2024-01-02 t 03:04", "02024-01-02",
            "1999-01-08 04:05:06 -8:00", "2024-001-02", "99-01-02", "01/02/03", "1/2/3",
            "2024.01.02", "2024.002", "294276-12-31", "5874897-12-31", "2024-02-29 12:00 PM"]

    def random_instant(r):
        y, m, d = random_date(r)
        if not valid_date(y, m, d):
            d = 28
        t = dt.datetime(y, m, d, r.randint(0, 23), r.randint(0, 59), r.randint(0, 59),
                        r.choice([0, 0, 500000, r.randint(0, 999999), 999999, 1, 499999]))
        return t

    def render_local(r, t, tail=""):
        """t as the server reads it in the local frame, with an optional zone."""
        c = r.random()
        if t.hour == 0 and t.minute == 0 and t.second == 0 and t.microsecond == 0 and c < 0.2 \
                and t.year > 1:
            prev = t - dt.timedelta(days=1)
            # Midnight as 24:00:00 of the day before.
            return render_date(r, prev.year, prev.month, prev.day, order) + \
                r.choice([" ", "T"]) + "24:00:00" + tail
        if t.second == 0 and t.microsecond == 0 and c < 0.3 and (t.minute or t.hour):
            # A leap second: hh:mm-1:60 is hh:mm:00.
            prev = t - dt.timedelta(minutes=1)
            return render_date(r, prev.year, prev.month, prev.day, order) + " " + \
                f"{prev.hour:02d}:{prev.minute:02d}:60" + tail
        sep = r.choice([" ", " ", "T", "t", "  "])
        if kind == "date" and r.random() < 0.5:
            return render_date(r, t.year, t.month, t.day, order) + tail
        return render_date(r, t.year, t.month, t.day, order) + sep + \
            render_time(r, t.hour, t.minute, t.second, t.microsecond) + tail

    def render(r, t):
        """A spelling of t: the instant (timestamptz) or the wall clock (the others)."""
        if t is None:
            return r.choice(["infinity", "Infinity", " -infinity", "epoch"])
        if kind != "timestamptz":
            tail = ""
            if r.random() < 0.2:
                tail = r.choice(["", " "]) + render_offset(r, random_offset(r))
            return pad(r, render_local(r, t, tail), 0.15)
        if session_east is not None and r.random() < 0.3:
            local = t + dt.timedelta(seconds=session_east)
            return pad(r, render_local(r, local), 0.15)
        east = random_offset(r)
        local = t + dt.timedelta(seconds=east)
        return pad(r, render_local(r, local, r.choice(["", "", " "]) + render_offset(r, east)), 0.15)

    def pair(r):
        t = random_instant(r)
        if t.year < 3 or t.year > 9997:
            t = t.replace(year=2000)
        c = r.random()
        if c < 0.03:
            return render(r, None), render(r, None)
        if c < 0.55:
            return render(r, t), render(r, t)
        if c < 0.85:
            delta = r.choice([dt.timedelta(microseconds=1), dt.timedelta(seconds=1),
                              dt.timedelta(days=1), dt.timedelta(hours=1),
                              dt.timedelta(microseconds=500000), dt.timedelta(days=-31)])
            return render(r, t), render(r, t + delta)
        return render(r, t), r.choice(junk)

    return pair


# --------------------------------------------------------------------------------------------
# The types under test.

@dataclass
class Case:
    name: str
    column: str                # SQL type of the column
    generator: object
    source: str = ""           # a parameter's declared type, when it differs from the column's
    settings: dict = field(default_factory=dict)
    min_normalized: float = 0.6  # of the server-accepted values, at least this share is ok


def cases():
    c = [
        Case("int2", "int2", int_pairs(16)),
        Case("int4", "int4", int_pairs(32)),
        Case("int8", "int8", int_pairs(64)),
        Case("numeric", "numeric", numeric_pairs()),
        Case("numeric_10_2", "numeric(10,2)", numeric_pairs((8, 3))),
        Case("numeric_3_neg2", "numeric(3,-2)", numeric_pairs((5, 1))),
        Case("numeric_2_4", "numeric(2,4)", numeric_pairs((0, 4), tiny=True)),
        Case("text", "text", text_pairs()),
        Case("varchar_5", "varchar(5)", text_pairs(8)),
        Case("char_4", "character(4)", text_pairs(7)),
        Case("bpchar", "bpchar", text_pairs()),
        Case("uuid", "uuid", uuid_pairs()),
        Case("bool", "bool", bool_pairs()),
        Case("date_mdy", "date", datetime_pairs("date", "MDY", 0),
             settings={"DateStyle": "ISO, MDY"}),
        Case("date_dmy", "date", datetime_pairs("date", "DMY", 0),
             settings={"DateStyle": "SQL, DMY"}),
        Case("date_ymd", "date", datetime_pairs("date", "YMD", 0),
             settings={"DateStyle": "Postgres, YMD"}),
        Case("timestamp", "timestamp", datetime_pairs("timestamp", "MDY", 0)),
        Case("timestamp_0", "timestamp(0)", datetime_pairs("timestamp", "MDY", 0)),
        Case("timestamp_3", "timestamp(3)", datetime_pairs("timestamp", "DMY", 0),
             settings={"DateStyle": "ISO, DMY"}),
        Case("timestamptz_utc", "timestamptz", datetime_pairs("timestamptz", "MDY", 0),
             settings={"TimeZone": "UTC"}),
        Case("timestamptz_posix", "timestamptz(2)", datetime_pairs("timestamptz", "MDY", 19800),
             settings={"TimeZone": "<+05:30>-05:30"}),
        Case("timestamptz_etc", "timestamptz", datetime_pairs("timestamptz", "MDY", -5 * 3600),
             settings={"TimeZone": "Etc/GMT+5"}),
        # A zone with rules: values without an offset are UNSURE, the others still count.
        Case("timestamptz_ny", "timestamptz", datetime_pairs("timestamptz", "MDY", None),
             settings={"TimeZone": "America/New_York"}, min_normalized=0.5),
        # Parameters declared with another type than the column's.
        Case("int4_from_numeric", "int4", numeric_pairs((9, 1)), source="numeric"),
        Case("numeric_from_int8", "numeric(10,2)", int_pairs(64), source="int8"),
        Case("int2_from_int8", "int2", int_pairs(64), source="int8", min_normalized=0.5),
        Case("varchar_from_bpchar", "varchar(5)", text_pairs(8), source="bpchar"),
        Case("char_from_text", "character(4)", text_pairs(7), source="text"),
    ]
    return c


SEND = {"int2": "int2send", "int4": "int4send", "int8": "int8send", "numeric": "numeric_send",
        "text": "textsend", "varchar": "varcharsend", "character": "bpcharsend",
        "bpchar": "bpcharsend", "uuid": "uuid_send", "bool": "boolsend", "date": "date_send",
        "timestamp": "timestamp_send", "timestamptz": "timestamptz_send"}


def send_function(sql_type):
    return SEND[sql_type.split("(")[0].strip()]


# --------------------------------------------------------------------------------------------

def copy_escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def tool_escape(s):
    return copy_escape(s)


def run_tool(lines):
    path = tool_path()
    if not os.path.exists(path):
        pytest.fail(f"normalize_keys not found at {path}: build it (tests/tools) or set "
                    "UNIQGUARD_TOOLS_DIR")
    out = subprocess.run([path], input="".join(l + "\n" for l in lines), capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert len(out) == len(lines) + 1, "the tool must answer every line"
    return out[:-1]


def server_view(pg, case, pairs):
    """Per pair: (a accepted, b accepted, a = b, send(a) hex, send(b) hex), and the settings
    the server reports (as ParameterStatus would)."""
    conn = psycopg2.connect(pg.dsn())
    try:
        conn.autocommit = True
        cur = conn.cursor()
        for name, value in case.settings.items():
            cur.execute(f"SET {name} = %s", (value,))
        cur.execute("SHOW TimeZone")
        time_zone = cur.fetchone()[0]
        cur.execute("SHOW DateStyle")
        date_style = cur.fetchone()[0]
        source = case.source or case.column
        # Assignment to a variable of the column's type converts as INSERT does: the input
        # function (typmod -1), then the assignment cast with the column's typmod (varchar(n)
        # cuts excess spaces and refuses other excess; numeric(p,s) rounds).
        cur.execute(f"""
            CREATE FUNCTION pg_temp.ug_src(v text) RETURNS {source} LANGUAGE plpgsql AS $f$
            DECLARE s {source};
            BEGIN s := v; RETURN s; EXCEPTION WHEN others THEN RETURN NULL; END $f$;
            CREATE FUNCTION pg_temp.ug_conv(v text) RETURNS {case.column} LANGUAGE plpgsql AS $f$
            DECLARE s {source}; r {case.column};
            BEGIN s := v; r := s; RETURN r; EXCEPTION WHEN others THEN RETURN NULL; END $f$;
            CREATE TEMP TABLE ug_pairs (id int, a text, b text);
            CREATE TEMP TABLE ug_probe (v {case.column});
            CREATE FUNCTION pg_temp.ug_literal(v text) RETURNS {case.column} LANGUAGE plpgsql AS $f$
            DECLARE r {case.column};
            BEGIN
              EXECUTE format('INSERT INTO ug_probe VALUES (%L) RETURNING v', v) INTO r;
              RETURN r;
            EXCEPTION WHEN others THEN RETURN NULL; END $f$;
        """)
        data = "".join(f"{i}\t{copy_escape(a)}\t{copy_escape(b)}\n"
                       for i, (a, b) in enumerate(pairs))
        cur.copy_expert("COPY ug_pairs FROM STDIN", io.StringIO(data))
        send_col = send_function(case.column)
        send_src = send_function(source)
        cur.execute(f"""
            SELECT id, ca IS NOT NULL, cb IS NOT NULL, ca = cb,
                   encode({send_src}(sa), 'hex'), encode({send_src}(sb), 'hex'),
                   encode({send_col}(ca), 'hex')
            FROM (SELECT id, pg_temp.ug_conv(a) AS ca, pg_temp.ug_conv(b) AS cb,
                         pg_temp.ug_src(a) AS sa, pg_temp.ug_src(b) AS sb
                  FROM ug_pairs) s
            ORDER BY id""")
        rows = cur.fetchall()
        literal_mismatches = []
        if not case.source:
            # The oracle itself: a quoted literal in a real INSERT converts the same way.
            cur.execute("""
                SELECT a, pg_temp.ug_conv(a)::text, pg_temp.ug_literal(a)::text
                FROM ug_pairs WHERE id % 40 = 0
                  AND pg_temp.ug_conv(a) IS DISTINCT FROM pg_temp.ug_literal(a)""")
            literal_mismatches = cur.fetchall()
        return rows, time_zone, date_style, literal_mismatches
    finally:
        conn.close()


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_equal_values_have_equal_keys(pg, case):
    rng = random.Random(f"{SEED}:{case.name}")
    pairs = [case.generator(rng) for _ in range(PAIRS)]
    pairs = [(a, b) for a, b in pairs if "\0" not in a and "\0" not in b]
    rows, time_zone, date_style, literal_mismatches = server_view(pg, case, pairs)
    assert not literal_mismatches, f"the oracle disagrees with INSERT: {literal_mismatches[:5]}"

    type_field = case.column + ("|" + case.source if case.source else "")
    lines = [f"SET\tTimeZone\t{time_zone}", f"SET\tDateStyle\t{date_style}"]
    for a, b in pairs:
        lines.append(f"{type_field}\ttext\t{tool_escape(a)}")
        lines.append(f"{type_field}\ttext\t{tool_escape(b)}")
    binary_index = []
    for i, row in enumerate(rows):
        _, a_ok, b_ok, _, a_bin, b_bin, _ = row
        if a_ok:
            binary_index.append((i, 0))
            lines.append(f"{type_field}\tbinary-hex\t{a_bin}")
        if b_ok:
            binary_index.append((i, 1))
            lines.append(f"{type_field}\tbinary-hex\t{b_bin}")
    out = run_tool(lines)
    assert out[:2] == ["SET", "SET"]
    text_keys = out[2:2 + 2 * len(pairs)]
    binary_keys = dict(zip(binary_index, out[2 + 2 * len(pairs):]))

    failures = {"equal values, different keys": [], "accepted by the server, INVALID here": [],
                "refused by the server, a key here": [], "binary and text keys differ": []}
    accepted = normalized = unsure = server_equal = overfolded = unequal_both_ok = 0
    unsure_examples = []
    for i, ((a, b), row) in enumerate(zip(pairs, rows)):
        _, a_ok, b_ok, equal, _, _, _ = row
        ka, kb = text_keys[2 * i], text_keys[2 * i + 1]
        for value, ok, key, side in ((a, a_ok, ka, 0), (b, b_ok, kb, 1)):
            if ok:
                accepted += 1
                if key == "INVALID":
                    failures["accepted by the server, INVALID here"].append((value, key))
                elif key == "UNSURE":
                    unsure += 1
                    unsure_examples.append(value)
                else:
                    normalized += 1
                bkey = binary_keys[(i, side)]
                if bkey in ("INVALID", "NULL") or bkey.startswith("ERROR") or (
                        key not in ("INVALID", "UNSURE") and bkey not in ("UNSURE", key)):
                    failures["binary and text keys differ"].append((value, key, bkey, row[4 + side]))
            elif key not in ("INVALID", "UNSURE"):
                failures["refused by the server, a key here"].append((value, key))
        both_keys = a_ok and b_ok and ka not in ("INVALID", "UNSURE") and kb not in ("INVALID", "UNSURE")
        if equal:
            server_equal += 1
            if both_keys and ka != kb:
                failures["equal values, different keys"].append((a, b, ka, kb))
        elif equal is False and both_keys:
            unequal_both_ok += 1
            if ka == kb:
                overfolded += 1

    rate = overfolded / unequal_both_ok if unequal_both_ok else 0.0
    print(f"\n[{case.name}] {len(pairs)} pairs, {server_equal} equal per server; "
          f"{accepted} values accepted, {normalized} normalized, {unsure} UNSURE "
          f"({unsure / max(accepted, 1):.1%}); over-folded {overfolded} of {unequal_both_ok} "
          f"unequal normalized pairs ({rate:.4%}); TimeZone={time_zone!r} DateStyle={date_style!r}"
          + (f"; UNSURE e.g. {sorted(set(unsure_examples))[:6]!r}" if unsure_examples else ""))
    report = {k: v[:8] for k, v in failures.items() if v}
    assert not report, f"[{case.name}] " + "; ".join(
        f"{k} ({len(failures[k])}): {v!r}" for k, v in report.items())
    assert server_equal >= PAIRS // 20, "the generator should make equal pairs"
    assert normalized >= case.min_normalized * accepted, "too much is left to the server"
    assert rate <= 0.01, f"over-folding {rate:.2%}"


# --------------------------------------------------------------------------------------------
# Unquoted SQL numbers (VALUES (1.5) into an int column is 2; 1.50 into a text column is
# '1.50'): normalize_sql_number against a real INSERT of the literal.

def sql_number_pairs():
    edges = ["0", "1", "7", "32767", "32768", "2147483647", "2147483648", "9223372036854775807",
             "9223372036854775808", "99999999999999999999"]

    def render(r, v):
        """A SQL numeric constant for the Decimal v (a leading '-' as the parser folds it)."""
        sign, digits, exp = v.as_tuple()
        coeff = int("".join(map(str, digits)) or "0")
        zeros = r.choice([0, 0, 1, 3])
        coeff, exp = coeff * 10 ** zeros, exp - zeros
        if r.random() < 0.25:
            k = r.randint(-4, 4)
            s = _plain_decimal(coeff, exp - k) + r.choice("eE") + str(k)
        else:
            s = _plain_decimal(coeff, exp)
        if s.startswith("0.") and r.random() < 0.3:
            s = s[1:]
        if r.random() < 0.15:
            s = "0" * r.randint(1, 3) + s
        return ("-" if sign else "") + s

    def value(r):
        c = r.random()
        if c < 0.3:
            d = Decimal(r.choice(edges))
        elif c < 0.6:
            d = Decimal(r.randint(0, 100000))
        else:
            d = Decimal(f"{r.randint(0, 99999)}.{r.randint(0, 9999):04d}"[: r.randint(3, 10)])
        if r.random() < 0.2:
            d += Decimal("0.5")
        return -d if r.random() < 0.35 else d

    def pair(r):
        v = value(r)
        if r.random() < 0.55:
            return render(r, v), render(r, v)
        return render(r, v), render(r, v + Decimal(r.choice(["1", "0.5", "0.01", "-1"])))

    return pair


SQL_NUMBER_COLUMNS = ["int2", "int4", "int8", "numeric", "numeric(10,2)", "text", "varchar(5)",
                      "character(6)"]


@pytest.mark.parametrize("column", SQL_NUMBER_COLUMNS)
def test_sql_numbers_match_an_insert(pg, column):
    rng = random.Random(f"{SEED}:sql-number:{column}")
    pairs = [sql_number_pairs()(rng) for _ in range(max(PAIRS // 5, 500))]
    conn = psycopg2.connect(pg.dsn())
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute(f"""
            CREATE TEMP TABLE ug_probe (v {column});
            CREATE TEMP TABLE ug_pairs (id int, a text, b text);
            CREATE FUNCTION pg_temp.ug_insert(lit text) RETURNS {column} LANGUAGE plpgsql AS $f$
            DECLARE r {column};
            BEGIN
              EXECUTE 'INSERT INTO ug_probe VALUES (' || lit || ') RETURNING v' INTO r;
              RETURN r;
            EXCEPTION WHEN others THEN RETURN NULL; END $f$;""")
        data = "".join(f"{i}\t{a}\t{b}\n" for i, (a, b) in enumerate(pairs))
        cur.copy_expert("COPY ug_pairs FROM STDIN", io.StringIO(data))
        cur.execute("""
            SELECT ca IS NOT NULL, cb IS NOT NULL, ca = cb
            FROM (SELECT id, pg_temp.ug_insert(a) ca, pg_temp.ug_insert(b) cb FROM ug_pairs) s
            ORDER BY id""")
        rows = cur.fetchall()
    finally:
        conn.close()
    lines = []
    for a, b in pairs:
        lines += [f"{column}\tsql-number\t{a}", f"{column}\tsql-number\t{b}"]
    out = run_tool(lines)
    bad = []
    normalized = 0
    for i, ((a, b), (a_ok, b_ok, equal)) in enumerate(zip(pairs, rows)):
        ka, kb = out[2 * i], out[2 * i + 1]
        for v, ok, k in ((a, a_ok, ka), (b, b_ok, kb)):
            if ok and k == "INVALID" or not ok and k not in ("INVALID", "UNSURE"):
                bad.append(("acceptance", v, ok, k))
            normalized += ok and k not in ("INVALID", "UNSURE")
        if equal and ka != kb and "UNSURE" not in (ka, kb):
            bad.append(("equal, different keys", a, b, ka, kb))
    print(f"\n[sql-number {column}] {len(pairs)} pairs, {normalized} values normalized")
    assert not bad, bad[:8]
