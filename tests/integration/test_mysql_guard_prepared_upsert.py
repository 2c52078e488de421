"""Prepared REPLACE and INSERT … ON DUPLICATE KEY UPDATE on a guarded table (issue 6 item 5, the
prepared forms) against a real MariaDB 10.11: each execute is decided as its text with the
execute's values written in, as the same COM_QUERY would be (docs/mysql.md, "REPLACE and
INSERT … ON DUPLICATE KEY UPDATE"): through uniqguard on a table without a unique key and
directly on a twin with the real UNIQUE key, with npm's mysql2 `.execute` (affected rows, insert
id, info and warnings compared) and with the raw protocol."""
import struct
import threading

import pytest

from harness.mysqlwire import COM_QUERY
from test_mysql_guard import make_tables, start_guarded
from test_mysql_guard_prepared import Pair, both_node, execute, prepare, reply, wire
from test_mysql_guard_upsert import refusal

TABLE = "gpu_enroll"
ODKU = ("INSERT INTO {t} (user_id, course_id, note) VALUES (?, ?, ?) "
        "ON DUPLICATE KEY UPDATE note = VALUES(note)")


@pytest.fixture
def guarded(mysql_root, proxy_account, make_mysql_proxy):
    make_tables(mysql_root, TABLE, legacy=[(1, "a"), (2, "a")])
    return start_guarded(make_mysql_proxy, TABLE)


def test_mysql2_prepared_upserts_answer_as_on_a_unique_key(node_steps, guarded, mariadb):
    steps = [
        ["execute_full", ODKU, [5, "e", "n"]],          # a new key: inserted
        ["execute_full", ODKU, [1, "A", "u"]],          # a legacy row's key: that row updated
        ["execute_full", ODKU, [1, "a", "u"]],          # nothing changes
        ["execute_full", ODKU, [5, "E ", "z"]],         # a key this session inserted
        ["execute_full", "INSERT INTO {t} (user_id, course_id, note) VALUES (?, ?, ?), (?, ?, ?) "
         "ON DUPLICATE KEY UPDATE note = CONCAT(note, '+')", [6, "m", "x", 2, "a", "y"]],
        ["execute_full", "REPLACE INTO {t} (user_id, course_id, note) VALUES (?, ?, ?)",
         [7, "r", "new"]],                              # REPLACE of a new key: an insert
        ["execute_full", "INSERT INTO {t} (user_id, course_id) VALUES (?, ?) "
         "ON DUPLICATE KEY UPDATE note = ?", [None, "n", "q"]],  # a NULL never conflicts
        ["query", "SELECT user_id, course_id, IFNULL(note, '-') FROM {t} ORDER BY id"],
    ]
    got, want = both_node(node_steps, guarded, mariadb, steps, table=TABLE)
    # Insert ids are compared up to the first update: InnoDB takes an auto-increment value for
    # each insert attempt an update replaces, the proxy's statement none (docs/mysql.md).
    for i, (g, w) in enumerate(zip(got, want)):
        if i >= 2 and "ok" in g and isinstance(g["ok"][1], int):
            g["ok"][1] = w["ok"][1] = None
        assert g == w, (i, steps[i], g, w)
    # (mysql2 asks for CLIENT_FOUND_ROWS: 1 for the row that did not change)
    assert [g["ok"][0] for g in got[:7]] == [1, 2, 1, 2, 2, 1, 1]
    assert got[1]["ok"][1] == 1  # the updated row's id
    assert got[4]["ok"][2] == "Records: 2  Duplicates: 1  Warnings: 0"
    assert got[7]["ok"] == [["1", "a", "u"], ["2", "a", "-"], ["5", "e", "z"], ["6", "m", "x"],
                            ["7", "r", "new"], ["null", "n", "-"]]


def test_raw_prepared_replace_and_what_the_proxy_cannot_make_exact(guarded, mariadb):
    p = Pair(guarded, mariadb, table=TABLE)
    through = p.sides[0][0]
    try:
        ids = p.prepare("REPLACE INTO {t} (user_id, course_id, note) VALUES (?, ?, ?)")
        assert p.execute(ids, [9, "x", "n"]) == (1, b"\x00")
        # A REPLACE of an existing key: an OK, the row replaced on both (its id is the old
        # row's through the proxy, a new one on the twin).
        got, want = p.both(lambda i: execute(ids[i], [9, "X", "m"]))
        assert got == want == (1, b"\x00")
        for c, t in ((through, TABLE), (p.sides[1][0], TABLE + "_twin")):
            assert c.query_text_rows(f"SELECT course_id, note FROM {t} WHERE user_id = 9") == \
                [["X", "m"]]
        # The same key twice in one execute: refused, as its text.
        two = p.prepare("REPLACE INTO {t} (user_id, course_id) VALUES (?, ?), (?, ?)")
        seq, err = reply(through, execute(two[0], [8, "y", 8, "Y"]))
        assert (seq, err) == (1, b"\xff" + struct.pack("<H", 1235) + b"#42000" +
                              refusal("REPLACE", "8-Y", repeated=True, table=TABLE)[3].encode())
        # An ON DUPLICATE KEY UPDATE that sets a key column: refused at its prepare.
        sid, (seq, err) = prepare(through, f"INSERT INTO {TABLE} (user_id, course_id) VALUES "
                                  "(?, ?) ON DUPLICATE KEY UPDATE course_id = 'z'")
        assert sid is None and struct.unpack_from("<H", err, 1)[0] == 1235
        assert b"that sets a key column" in err
        # After a change of sql_mode since the prepare: refused (prepare it again).
        odku = p.prepare(ODKU)
        for c, _ in p.sides:
            assert reply(c, bytes([COM_QUERY]) + b"SET SESSION sql_mode = "
                         b"'STRICT_TRANS_TABLES,PIPES_AS_CONCAT'") == (1, b"\x00")
        seq, err = reply(through, execute(odku[0], [1, "a", "v"]))
        assert struct.unpack_from("<H", err, 1)[0] == 1235 and b"prepare it again" in err
        again = prepare(through, ODKU.format(t=TABLE))[0]
        assert reply(through, execute(again, [1, "a", "v"])) == (1, b"\x00")
        assert [r[0] for r in through.query_text_rows(
            f"SELECT note FROM {TABLE} WHERE user_id = 1")] == ["v"]
    finally:
        p.close()


def test_raw_prepared_upsert_of_a_key_another_transaction_writes_waits(guarded, mariadb):
    """The second session's execute waits for the first's transaction, then updates its row
    (COMMIT), as on the twin."""
    results = []
    for port, table in ((guarded.port, TABLE), (mariadb.port, TABLE + "_twin")):
        a, b = wire(port), wire(port)
        assert reply(a, bytes([COM_QUERY]) + b"BEGIN") == (1, b"\x00")
        assert reply(a, bytes([COM_QUERY]) + f"INSERT INTO {table} (user_id, course_id) "
                     "VALUES (40, 'w')".encode()) == (1, b"\x00")
        sid = prepare(b, ODKU.format(t=table))[0]
        b.command(execute(sid, [40, "w", "second"]))
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", b.read_packet()), daemon=True)
        t.start()
        t.join(0.8)
        waited = t.is_alive()
        assert reply(a, bytes([COM_QUERY]) + b"COMMIT") == (1, b"\x00")
        t.join(30)
        seq, ok = out["r"]
        results.append((waited, seq, ok[:2]))
        rows = a.query_text_rows(f"SELECT note FROM {table} WHERE user_id = 40")
        results.append(rows)
        a.close()
        b.close()
    assert results[0] == results[2] and results[1] == results[3]
    assert results[0] == (True, 1, b"\x00\x02") and results[1] == [["second"]]


def test_raw_prepared_upsert_of_a_negative_key_and_with_returning(guarded, mariadb):
    p = Pair(guarded, mariadb, table=TABLE)
    through = p.sides[0][0]
    try:
        ids = p.prepare(ODKU)
        # A negative key value is written into the text as `-5`, which the key reader reads.
        assert p.execute(ids, [-5, "n", "x"]) == (1, b"\x00")
        assert p.execute(ids, [-5, "N", "y"]) == (1, b"\x00")  # that row updated
        rows = p.query("SELECT user_id, course_id, note FROM {t} WHERE user_id < 0")
        assert rows[0] == rows[1] == [["-5", "n", "y"]]
        # RETURNING: an execute answered by a COM_QUERY would get text rows: refused at prepare.
        sid, (seq, err) = prepare(through, ODKU.format(t=TABLE) + " RETURNING user_id")
        assert sid is None and struct.unpack_from("<H", err, 1)[0] == 1235
        assert b"ON DUPLICATE KEY UPDATE \xe2\x80\xa6 RETURNING" in err
    finally:
        p.close()


def test_raw_parameters_bound_as_year_or_int24_are_refused(guarded, mariadb):
    """MariaDB reads a parameter bound as YEAR or INT24 as NULL, taking none of its bytes: the
    proxy would key other bytes than the server stores. Refused (once a duplicate got in)."""
    through = wire(guarded.port)
    try:
        sid = prepare(through, f"INSERT INTO {TABLE} (note, user_id, course_id) "
                               "VALUES (?, ?, ?)")[0]
        payload = (bytes([0x17]) + struct.pack("<IBI", sid, 0, 1) + b"\x00\x01" +
                   struct.pack("<BBBBBB", 9, 0, 253, 0, 253, 0) +
                   b"\x01\x31\x01\x61" + b"\x0299" + b"\x02zz")
        seq, err = reply(through, payload)
        assert struct.unpack_from("<H", err, 1)[0] == 1235, err
        assert b"COM_STMT_EXECUTE the proxy cannot read" in err
    finally:
        through.close()
