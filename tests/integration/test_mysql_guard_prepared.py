"""The MySQL guard on server-side prepared INSERTs (COM_STMT_PREPARE / COM_STMT_EXECUTE) against a
real MariaDB 10.11: the same statements through uniqguard on a guarded table without an index and
directly on a twin table with the real UNIQUE key `enroll_uniq` (the guard's name, so the messages
are equal byte for byte). With npm's mysql2 (`.execute`: a binary prepared statement per SQL text,
types bound at every execute) and with the raw protocol (an execute that binds no types and
reuses the earlier ones, COM_STMT_CLOSE, COM_RESET_CONNECTION, COM_STMT_SEND_LONG_DATA): error
code, SQLSTATE, message, sequence id and affected rows equal to the twin's."""
import json
import os
import struct
import subprocess
import time

import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import (CLIENT_DEPRECATE_EOF, COM_QUERY, COM_RESET_CONNECTION, COM_STMT_CLOSE,
                               COM_STMT_EXECUTE, COM_STMT_PREPARE, COM_STMT_SEND_LONG_DATA,
                               WireClient)
from test_mysql_guard import GUARD, guard_toml, make_tables, start_guarded

JS_DIR = os.path.join(os.path.dirname(__file__), "js")
LONGLONG, VAR_STRING, NULL_TYPE = 8, 253, 6
INSERT2 = "INSERT INTO {t} (user_id, course_id) VALUES (?, ?)"


@pytest.fixture
def guarded(mysql_root, proxy_account, make_mysql_proxy):
    make_tables(mysql_root, "gp_enroll", legacy=[(1, "a"), (2, "a")])
    return start_guarded(make_mysql_proxy, "gp_enroll")


def run_node(script, port, table, steps):
    r = subprocess.run(["node", script, str(port), NATIVE_USER, NATIVE_PASSWORD, DATABASE, table,
                        json.dumps(steps)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def both_node(script, proxy, mariadb, steps, table="gp_enroll"):
    return (run_node(script, proxy.port, table, steps),
            run_node(script, mariadb.port, table + "_twin", steps))


def dup(key):
    return {"err": [1062, "23000", f"Duplicate entry '{key}' for key '{GUARD}'"]}


def test_mysql2_execute_new_loaded_session_and_multi_row_duplicates(node_steps, guarded, mariadb):
    steps = [
        ["execute", INSERT2, [5, "n"]],                  # new key
        ["execute", INSERT2, [1, "a"]],                  # a key loaded from the table
        ["execute", INSERT2, [2, "A "]],                 # the same under the collation
        ["execute", INSERT2, [5, "N"]],                  # inserted earlier in this session
        ["execute", "INSERT INTO {t} (user_id, course_id) VALUES (?, ?), (?, ?), (?, ?)",
         [8, "b", 9, "b", 8, "B"]],                      # twice in one multi-row execute
        ["execute", INSERT2, [None, "n"]],               # a NULL never conflicts
        ["execute", INSERT2, [None, "n"]],
        ["execute", "INSERT INTO {t} (course_id, note, user_id) VALUES (?, 'lit', ?)", ["q", 30]],
        ["execute", "INSERT INTO {t} (user_id, course_id) VALUES (30, ?)", ["Q"]],  # a literal part
        ["execute", "INSERT INTO {t} VALUES (NULL, ?, ?, ?)", [31, "z", "x"]],
        ["execute", "INSERT INTO {t} VALUES (NULL, ?, ?, ?)", ["31", "Z", "y"]],  # string for INT
        ["execute", "INSERT {t} SET course_id = ?, user_id = ?", ["n", 5]],
        ["execute", "INSERT {t} SET course_id = ?, user_id = ?", ["n", 50]],
        ["query", "SELECT user_id, course_id FROM {t} WHERE id > 2 ORDER BY id"],
    ]
    got, want = both_node(node_steps, guarded, mariadb, steps)
    assert got == want
    assert got[11] == dup("5-n") and got[12] == {"ok": 1}
    assert [got[i] for i in (0, 1, 2, 3, 4, 5, 6)] == [
        {"ok": 1}, dup("1-a"), dup("2-A "), dup("5-N"), dup("8-B"), {"ok": 1}, {"ok": 1}]
    assert got[8] == dup("30-Q") and got[10] == dup("31-Z")


def test_mysql2_transactions_rollback_and_reprepare(node_steps, guarded, mariadb):
    steps = [
        ["query", "BEGIN"],
        ["execute", INSERT2, [6, "t"]],
        ["execute", INSERT2, [6, "t"]],                  # its own uncommitted row
        ["query", "ROLLBACK"],
        ["execute", INSERT2, [6, "t"]],                  # rolled back: no duplicate now
        ["query", "BEGIN"],
        ["query", "DELETE FROM {t} WHERE user_id = 6"],
        ["execute", INSERT2, [6, "T"]],                  # deleted in the transaction
        ["query", "COMMIT"],
        ["unprepare", INSERT2],                          # COM_STMT_CLOSE
        ["execute", INSERT2, [6, "t"]],                  # prepared again
        ["execute", INSERT2, [7, "t"]],
        ["query", "SELECT user_id, course_id FROM {t} WHERE id > 2 ORDER BY user_id"],
    ]
    got, want = both_node(node_steps, guarded, mariadb, steps)
    assert got == want
    assert got[2] == dup("6-t") and got[4] == {"ok": 1} and got[7] == {"ok": 1}
    assert got[10] == dup("6-t") and got[11] == {"ok": 1}


def test_mysql2_forms_the_proxy_cannot_key_are_refused_at_prepare(node_steps, guarded, mariadb):
    got = run_node(node_steps, guarded.port, "gp_enroll", [
        ["execute", "INSERT INTO {t} (user_id, course_id) VALUES (? + 1, ?)", [1, "a"]],
        # (Prepared REPLACE of an existing key: test_mysql_guard_prepared_upsert.py; prepared
        # UPDATEs to expressions are staged: test_mysql_guard_update_staged.py.)
        ["execute", "INSERT INTO {t} (user_id, course_id) VALUES (?, ?) "
                    "ON DUPLICATE KEY UPDATE user_id = 3", [1, "a"]],
        ["execute", "INSERT INTO {t} (user_id, course_id) VALUES (?, ?)", [40, "ok"]],
        # Followed since INSERT IGNORE drops duplicates (test_mysql_guard_ignore.py).
        ["execute", "INSERT IGNORE INTO {t} (user_id, course_id) VALUES (?, ?)", [1, "a"]],
    ])
    for r in got[:2]:
        assert r["err"][:2] == [1235, "42000"], r
    assert "is not enforced by guard" in got[0]["err"][2]
    assert "key column `user_id`" in got[0]["err"][2]
    assert got[2] == {"ok": 1}
    assert got[3] == {"ok": 0}


def test_mysql2_execute_of_updates_of_key_columns(node_steps, guarded, mariadb):
    # Prepared UPDATEs (Go's database/sql and mysql2's .execute prepare every statement): the
    # new key from the execute's parameters, the WHERE's values written into the check. Each
    # answer is the twin's.
    move = "UPDATE {t} SET user_id = ?, course_id = ? WHERE id = ?"
    part = "UPDATE {t} SET course_id = ? WHERE user_id = ? AND note IS NULL"
    steps = [
        ["execute", move, [2, "A ", 1]],           # onto the other legacy row's key
        ["execute", move, [3, "c", 1]],
        ["execute", part, ["a", 3]],               # part of the key: (3, 'a')
        ["execute", part, ["A", 2]],               # its own key in another case: one row
        ["execute", move, [3, "A", 2]],            # onto (3, 'a')
        ["execute", move, [None, "n", 2]],         # a NULL never collides
        ["execute", "UPDATE {t} SET note = ? WHERE user_id = ?", ["x", 3]],  # no key column
        ["execute", "UPDATE {t} SET course_id = ? WHERE course_id = ? AND note = ?",
         ["q", "A", "x"]],
        ["query", "BEGIN"],
        ["execute", move, [9, "z", 2]],
        ["execute", INSERT2, [9, "Z"]],            # its own uncommitted new key
        ["query", "ROLLBACK"],
        ["execute", INSERT2, [9, "Z"]],
        ["execute", move, [9, "z ", 2]],           # now a duplicate of that row
        ["query", "SELECT user_id, course_id, note FROM {t} ORDER BY id"],
    ]
    got, want = both_node(node_steps, guarded, mariadb, steps)
    assert got == want
    assert got[0] == dup("2-A ") and got[1] == {"ok": 1} and got[2] == {"ok": 1}
    assert got[3] == {"ok": 1} and got[4] == dup("3-A") and got[5] == {"ok": 1}
    assert got[10] == dup("9-Z") and got[12] == {"ok": 1} and got[13] == dup("9-z ")


# -- the raw protocol ---------------------------------------------------------------------------

def wire(port):
    return WireClient(port, NATIVE_USER, NATIVE_PASSWORD, DATABASE)


def prepare(client, sql):
    client.command(bytes([COM_STMT_PREPARE]) + sql.encode())
    return prepare_answer(client)


def prepare_answer(client):
    seq, ok = client.read_packet()
    if ok[0] == 0xFF:
        return None, (seq, ok)
    statement_id, columns, params = struct.unpack_from("<IHH", ok, 1)
    eof = 0 if client.capabilities & CLIENT_DEPRECATE_EOF else 1
    for count in (params, columns):
        for _ in range(count + (eof if count else 0)):
            client.read_packet()
    return statement_id, (seq, ok[:1])


def param(value):
    if value is None:
        return (NULL_TYPE, None)
    if isinstance(value, int):
        return (LONGLONG, struct.pack("<q", value))
    data = value.encode()
    return (VAR_STRING, bytes([len(data)]) + data)


def execute(statement_id, values, bind=True, long_data=()):
    params = [param(v) for v in values]
    payload = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", statement_id, 0, 1)
    bitmap = bytearray((len(params) + 7) // 8)
    for i, (_, v) in enumerate(params):
        if v is None:
            bitmap[i // 8] |= 1 << (i % 8)
    payload += bytes(bitmap) + (b"\x01" if bind else b"\x00")
    if bind:
        payload += b"".join(struct.pack("<BB", t, 0) for t, _ in params)
    payload += b"".join(v for i, (_, v) in enumerate(params) if v is not None and i not in long_data)
    return payload


def reply(client, payload):
    """The first packet answering a command: (sequence id, ERR bytes or the header byte)."""
    client.command(payload)
    seq, p = client.read_packet()
    if p[0] == 0xFF:
        return seq, p
    result = (seq, p[:1])
    if p[0] == 0x00:
        return result
    client.buffer = b""
    return result


class Pair:
    """One raw session through the proxy on the guarded table and one directly on the twin."""

    def __init__(self, proxy, mariadb, table="gp_enroll"):
        self.sides = [(wire(proxy.port), table), (wire(mariadb.port), table + "_twin")]

    def prepare(self, sql):
        out = [prepare(c, sql.format(t=t)) for c, t in self.sides]
        assert out[0][1] == out[1][1], out
        return [sid for sid, _ in out]

    def both(self, make_payload):
        """make_payload(side index) -> payload; both first replies."""
        return [reply(c, make_payload(i)) for i, (c, _) in enumerate(self.sides)]

    def run(self, make_payload):
        got = self.both(make_payload)
        assert got[0] == got[1], got
        return got[0]

    def unknown_statement(self, ids, values):
        """An execute of a statement the server does not have: its own error on both sides
        (each naming its own statement id)."""
        for sid, (seq, err) in zip(ids, self.both(lambda i: execute(ids[i], values))):
            assert seq == 1 and err == b"\xff" + struct.pack("<H", 1243) + b"#HY000" + (
                f"Unknown prepared statement handler ({sid}) given to mysqld_stmt_execute".encode())

    def execute(self, ids, values, **kw):
        return self.run(lambda i: execute(ids[i], values, **kw))

    def query(self, sql):
        return [c.query_text_rows(sql.format(t=t)) for c, t in self.sides]

    def close(self):
        for c, _ in self.sides:
            c.close()


def is_dup(r, key):
    return r[0] == 1 and r[1] == (b"\xff" + struct.pack("<H", 1062) + b"#23000" +
                                  f"Duplicate entry '{key}' for key '{GUARD}'".encode())


def test_raw_executes_with_and_without_new_types(guarded, mariadb):
    p = Pair(guarded, mariadb)
    try:
        ids = p.prepare(INSERT2)
        assert p.execute(ids, [20, "r"]) == (1, b"\x00")
        assert is_dup(p.execute(ids, [20, "R"], bind=False), "20-R")  # types from the first
        assert is_dup(p.execute(ids, [1, "a"], bind=False), "1-a")
        # A duplicate that binds new types is answered by the proxy's SIGNAL: the server never
        # sees those types, so the next execute that binds none gets them written in.
        assert is_dup(p.execute(ids, ["2", "a"]), "2-a")
        assert p.execute(ids, ["21", "r"], bind=False) == (1, b"\x00")
        assert is_dup(p.execute(ids, ["21", "r"], bind=False), "21-r")
        assert p.execute(ids, [None, "r"]) == (1, b"\x00")
        assert p.execute(ids, [None, "r"], bind=False) == (1, b"\x00")
        assert p.execute(ids, [22, None]) == (1, b"\x00")
        assert p.execute(ids, [22, None], bind=False) == (1, b"\x00")
        # A suspected key (deleted since) after a replaced execute that bound types: the check,
        # then the execute with the types written in.
        assert p.execute(ids, [32, "d"]) == (1, b"\x00")
        table = ["gp_enroll", "gp_enroll_twin"]
        assert p.run(lambda i: bytes([COM_QUERY]) +
                     f"DELETE FROM {table[i]} WHERE user_id = 32".encode()) == (1, b"\x00")
        assert is_dup(p.execute(ids, ["1", "a"]), "1-a")
        assert p.execute(ids, ["32", "d"], bind=False) == (1, b"\x00")
        rows = p.query("SELECT user_id, course_id FROM {t} ORDER BY id")
        assert rows[0] == rows[1]
    finally:
        p.close()


def test_raw_close_reset_and_reprepare(guarded, mariadb):
    p = Pair(guarded, mariadb)
    try:
        ids = p.prepare(INSERT2)
        assert p.execute(ids, [23, "c"]) == (1, b"\x00")
        for (c, _), sid in zip(p.sides, ids):
            c.command(bytes([COM_STMT_CLOSE]) + struct.pack("<I", sid))
        # The closed statement: the server's own error, the same through the proxy.
        p.unknown_statement(ids, [23, "c"])
        ids = p.prepare("INSERT INTO {t} (course_id, user_id) VALUES (?, ?)")
        assert is_dup(p.execute(ids, ["C", 23]), "23-C")
        assert p.run(lambda i: bytes([COM_RESET_CONNECTION])) == (1, b"\x00")
        p.unknown_statement(ids, ["d", 23])
        ids = p.prepare(INSERT2)
        assert is_dup(p.execute(ids, [23, "C"]), "23-C")
        assert p.execute(ids, [24, "C"]) == (1, b"\x00")
    finally:
        p.close()


def long_data(client, statement_id, param_index, *chunks):
    for chunk in chunks:
        client.command(bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", statement_id,
                                                                      param_index) + chunk)


def test_raw_key_value_sent_as_long_data_is_read(guarded, mariadb):
    p = Pair(guarded, mariadb)
    try:
        ids = p.prepare(INSERT2)
        # A new key in two chunks, then the same key (case and trailing space differ: equal
        # under utf8mb4_general_ci and PAD SPACE) in one: the server's own answers.
        for (c, _), sid in zip(p.sides, ids):
            long_data(c, sid, 1, b"lo", b"ng")
        assert p.execute(ids, [25, "long"], long_data=(1,)) == (1, b"\x00")
        for (c, _), sid in zip(p.sides, ids):
            long_data(c, sid, 1, b"LONG ")
        assert is_dup(p.execute(ids, [25, "LONG "], long_data=(1,)), "25-LONG ")
        # The long data was spent on both sides: the next execute's own value.
        assert p.execute(ids, [25, "inline"]) == (1, b"\x00")
        rows = p.query("SELECT course_id FROM {t} WHERE user_id = 25 ORDER BY id")
        assert rows[0] == rows[1] == [["long"], ["inline"]]
    finally:
        p.close()
    c = wire(guarded.port)
    try:
        sid, _ = prepare(c, INSERT2.format(t="gp_enroll"))
        # Past the 64 KiB the proxy keeps of a parameter: refused (a key is far shorter).
        long_data(c, sid, 1, b"x" * 40000, b"x" * 30000)
        seq, err = reply(c, execute(sid, [26, "x"], long_data=(1,)))
        assert seq == 1 and err[0] == 0xFF
        assert struct.unpack_from("<H", err, 1)[0] == 1235 and err[4:9] == b"42000"
        assert b"COM_STMT_SEND_LONG_DATA past the 64 KiB the proxy keeps" in err
        # The long data was spent (the proxy reset the statement): the next execute's own value.
        assert reply(c, execute(sid, [26, "inline"])) == (1, b"\x00")
        assert c.query_text_rows("SELECT course_id FROM gp_enroll WHERE user_id = 26") == [
            ["inline"]]
        # A value sent as long data into a column that is no key is no concern of the guard.
        sid2, _ = prepare(c, "INSERT INTO gp_enroll (user_id, course_id, note) VALUES (?, ?, ?)")
        long_data(c, sid2, 2, b"note")
        assert reply(c, execute(sid2, [27, "l", "note"], long_data=(2,))) == (1, b"\x00")
        assert c.query_text_rows("SELECT note FROM gp_enroll WHERE user_id = 27") == [["note"]]
    finally:
        c.close()


def test_raw_long_data_sent_with_its_prepare_and_to_minus_one(guarded, mariadb):
    """Long data for the statement id the server is about to give (sent in the same write as the
    PREPARE) and for MariaDB's -1: the server takes them for that statement, so must the proxy
    (else it would key a value the server does not store)."""
    replies = []
    for port, table in ((guarded.port, "gp_enroll"), (mariadb.port, "gp_enroll_twin")):
        c = wire(port)
        try:
            # The server numbers statements in order: the next prepare's id is the one after a
            # throwaway prepare's (nothing else prepares meanwhile).
            before, _ = prepare(c, "SELECT 1")
            prep = bytes([COM_STMT_PREPARE]) + INSERT2.format(t=table).encode()
            chunk = bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", before + 1, 1) + b"a"
            c.sock.sendall(len(prep).to_bytes(3, "little") + b"\0" + prep +
                           len(chunk).to_bytes(3, "little") + b"\0" + chunk)
            sid, _ = prepare_answer(c)
            assert sid == before + 1
            # (1, 'a') is a legacy row's key: 1062 on both sides.
            replies.append(reply(c, execute(sid, [1, "a"], long_data=(1,))))
            long_data(c, 0xFFFFFFFF, 1, b"A")
            replies.append(reply(c, execute(sid, [1, "A"], long_data=(1,))))
            long_data(c, 0xFFFFFFFF, 1, b"fresh")
            replies.append(reply(c, execute(sid, [28, "fresh"], long_data=(1,))))
        finally:
            c.close()
    got, want = replies[:3], replies[3:]
    assert got == want
    assert is_dup(got[0], "1-a") and is_dup(got[1], "1-A") and got[2] == (1, b"\x00")


def test_raw_blob_bound_key_values_are_refused(guarded, mariadb):
    """A BLOB-bound value is binary to the server: stored in the column's character set byte for
    byte (into a utf16 column 'ab' is one character), which the proxy does not know here."""
    def blob_execute(sid, user, course):
        payload = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", sid, 0, 1) + b"\x00\x01"
        payload += struct.pack("<BBBB", LONGLONG, 0, 252, 0) + struct.pack("<q", user)
        return payload + bytes([len(course)]) + course

    c = wire(guarded.port)
    try:
        sid, _ = prepare(c, INSERT2.format(t="gp_enroll"))
        for course in (b"b", "é".encode()):
            seq, err = reply(c, blob_execute(sid, 30, course))
            assert seq == 1 and struct.unpack_from("<H", err, 1)[0] == 1235
            assert b"a value of key column `course_id` the proxy cannot read" in err
        assert reply(c, execute(sid, [30, "b"])) == (1, b"\x00")  # bound as VAR_STRING
    finally:
        c.close()


def test_raw_log_action_forwards_duplicates(mysql_root, proxy_account, make_mysql_proxy,
                                           mariadb, tmp_path):
    make_tables(mysql_root, "gp_log", legacy=[(1, "a")])
    duplicates = tmp_path / "duplicates.jsonl"
    # The harness writes [log] last, so `extra` starts inside it.
    proxy = make_mysql_proxy(extra=f'duplicates = "{duplicates}"\n' + guard_toml("gp_log", "log"))
    deadline = time.monotonic() + 30
    while f"guard {GUARD}: ready" not in proxy.log_text():
        assert time.monotonic() < deadline, proxy.log_text()
        time.sleep(0.05)
    c = wire(proxy.port)
    try:
        sid, _ = prepare(c, INSERT2.format(t="gp_log"))
        assert reply(c, execute(sid, [1, "A"])) == (1, b"\x00")
        assert reply(c, execute(sid, [3, "c"], bind=False)) == (1, b"\x00")
    finally:
        c.close()
    assert mariadb.sql("SELECT COUNT(*) FROM gp_log", DATABASE).strip() == "3"
    deadline = time.monotonic() + 10
    while not duplicates.exists() or not duplicates.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lines = [json.loads(line) for line in duplicates.read_text().splitlines()]
    assert [(line["values"], line["action"], line["statement"]) for line in lines] == [
        (["1", "A"], "logged", INSERT2.format(t="gp_log"))]


def test_raw_long_data_of_an_execute_the_proxy_answers_is_spent(guarded, mariadb):
    p = Pair(guarded, mariadb)
    try:
        ids = p.prepare("INSERT INTO {t} (user_id, course_id, note) VALUES (?, ?, ?)")
        for (c, _), sid in zip(p.sides, ids):
            long_data(c, sid, 2, b"long")
        # A duplicate: the proxy answers it; the server still spends the long data.
        assert is_dup(p.execute(ids, [1, "a", "long"], long_data=(2,)), "1-a")
        assert p.execute(ids, [27, "n", "inline"]) == (1, b"\x00")
        rows = p.query("SELECT note FROM {t} WHERE user_id = 27")
        assert rows[0] == rows[1] == [["inline"]]
    finally:
        p.close()


def test_raw_mariadb_statement_id_minus_one_is_the_last_prepared(guarded, mariadb):
    p = Pair(guarded, mariadb)
    try:
        p.prepare(INSERT2)
        last = [0xFFFFFFFF, 0xFFFFFFFF]
        assert p.execute(last, [28, "m"]) == (1, b"\x00")
        assert is_dup(p.execute(last, [28, "M"]), "28-M")
        assert is_dup(p.execute(last, [1, "a"]), "1-a")
        # Without types MariaDB calls the packet malformed; the proxy refuses it.
        got = p.both(lambda i: execute(last[i], [29, "m"], bind=False))
        assert got[1][1][:3] == b"\xff" + struct.pack("<H", 1835)
        assert got[0][0] == 1 and got[0][1][:9] == b"\xff" + struct.pack("<H", 1235) + b"#42000"
        assert b"statement id -1 that binds no types" in got[0][1]
    finally:
        p.close()


def test_raw_prepared_update_with_string_values_in_its_where(guarded, mariadb):
    # The WHERE's string parameter goes into the check as the session's bytes (hex, with the
    # session's character set): quotes, a backslash, accents and case compare as the UPDATE's.
    p = Pair(guarded, mariadb)
    try:
        ids = p.prepare("UPDATE {t} SET course_id = ? WHERE course_id = ?")
        odd = "it's \\ \u00e9"
        assert p.execute(ids, ["q", odd]) == (1, b"\x00")  # no row yet
        table = ["gp_enroll", "gp_enroll_twin"]
        assert p.run(lambda i: bytes([COM_QUERY]) + (
            f"INSERT INTO {table[i]} (user_id, course_id) VALUES (8, 'it''s \\\\ \u00e9'), "
            "(8, 'zz')").encode()) == (1, b"\x00")
        # (8, odd), matched in another case, onto (8, 'zz'), which the WHERE does not match.
        assert is_dup(p.execute(ids, ["zz", "IT'S \\ \u00c9"], bind=False), "8-zz")
        assert is_dup(p.execute(ids, ["ZZ ", odd], bind=False), "8-ZZ ")
        assert p.execute(ids, ["A", "a"], bind=False) == (1, b"\x00")  # each onto its own key
        assert p.execute(ids, ["y", "IT'S \\ \u00c9 "]) == (1, b"\x00")
        rows = p.query("SELECT user_id, course_id FROM {t} ORDER BY id")
        assert rows[0] == rows[1] == [["1", "A"], ["2", "A"], ["8", "y"], ["8", "zz"]]
    finally:
        p.close()
