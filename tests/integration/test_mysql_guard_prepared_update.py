"""Prepared UPDATEs of key columns on MySQL (proxy/mysql_guard_update.cpp) against a real MariaDB
10.11, through uniqguard on a table without a unique key and directly on a twin with the real
UNIQUE key: the execute's values written into the check must read as the server reads the
parameters (binary strings, an empty string under EMPTY_STRING_IS_NULL, the connection's
collation, a DATETIME in a string context, a `?` next to a word), and a change of sql_mode or
character set since the prepare refuses the execute rather than check it under other rules.
(These cases came from a review of the first version, which let duplicates through.)"""
import struct

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
from harness.mysqlwire import COM_QUERY, COM_STMT_EXECUTE, WireClient
from test_mysql_guard import GUARD, start_guarded, wire
from test_mysql_guard_prepared import both_node, prepare

LONGLONG, VAR_STRING, NULL_TYPE, DATETIME = 8, 253, 6, 12


def make(mysql_root, name, rows, columns=("user_id", "course_id")):
    with mysql_root.cursor() as cur:
        for table, unique in ((name, ""), (name + "_twin",
                                           f", UNIQUE KEY {GUARD} ({', '.join(columns)})")):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT, "
                        f"course_id VARCHAR(20), note VARCHAR(30), tag VARBINARY(16){unique}) "
                        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
            for r in rows:
                cur.execute(f"INSERT INTO {table} (user_id, course_id, note, tag) "
                            "VALUES (%s, %s, %s, %s)", r)


def start(make_mysql_proxy, table, columns=("user_id", "course_id")):
    return start_guarded(make_mysql_proxy, table, columns=columns)


def param(value):
    if value is None:
        return (NULL_TYPE, None)
    if isinstance(value, tuple):
        return value
    if isinstance(value, int):
        return (LONGLONG, struct.pack("<q", value))
    data = value if isinstance(value, bytes) else value.encode()
    return (VAR_STRING, bytes([len(data)]) + data)


def execute(statement_id, values, bind=True):
    params = [param(v) for v in values]
    payload = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", statement_id, 0, 1)
    if params:
        bitmap = bytearray((len(params) + 7) // 8)
        for i, (_, v) in enumerate(params):
            if v is None:
                bitmap[i // 8] |= 1 << (i % 8)
        payload += bytes(bitmap) + (b"\x01" if bind else b"\x00")
        if bind:
            payload += b"".join(struct.pack("<BB", t, 0) for t, _ in params)
        payload += b"".join(v for _, v in params if v is not None)
    return payload


def reply(client, payload):
    client.command(payload)
    seq, p = client.read_packet()
    if p[0] == 0xFF:
        return ("err", struct.unpack_from("<H", p, 1)[0], p[9:].decode(errors="replace"))
    client.buffer = b""
    if p[0] == 0x00:
        return ("ok",)
    return ("resultset",)


class Pair:
    def __init__(self, proxy, mariadb, table):
        self.sides = [(wire(proxy.port), table), (wire(mariadb.port), table + "_twin")]

    def query(self, sql):
        return [reply(c, bytes([COM_QUERY]) + sql.format(t=t).encode()) for c, t in self.sides]

    def rows(self, sql):
        return [c.query_text_rows(sql.format(t=t)) for c, t in self.sides]

    def prepare(self, sql):
        out = [prepare(c, sql.format(t=t)) for c, t in self.sides]
        return [sid for sid, _ in out]

    def execute(self, ids, values, bind=True):
        return [reply(c, execute(ids[i], values, bind)) for i, (c, _) in enumerate(self.sides)]


def test_binary_where_value_bound_as_a_string(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    # Go's driver and mysql2 bind a []byte / Buffer as a string type: a BINARY id in the WHERE.
    make(mysql_root, "rv_bin", [(1, "a", None, b"\xff\x01"), (2, "b", None, b"\x02")])
    p = Pair(start(make_mysql_proxy, "rv_bin"), mariadb, "rv_bin")
    ids = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE tag = ?")
    got = p.execute(ids, [5, "e", b"\xff\x01"])
    assert got[0] == got[1] == ("ok",)


def test_empty_string_param_under_empty_string_is_null(mysql_root, proxy_account,
                                                      make_mysql_proxy, mariadb):
    make(mysql_root, "rv_esin", [(1, "a", None, None), (2, "b", None, None)])
    p = Pair(start(make_mysql_proxy, "rv_esin"), mariadb, "rv_esin")
    # MariaDB reads an empty string parameter as NULL under the mode: both rows match.
    assert p.query("SET sql_mode = 'STRICT_TRANS_TABLES,EMPTY_STRING_IS_NULL'") == [("ok",)] * 2
    ids = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE note <=> ?")
    got = p.execute(ids, [7, "z", ""])
    rows = p.rows("SELECT user_id, course_id FROM {t} ORDER BY id")
    assert got[0] == got[1] and got[0][:2] == ("err", 1062)
    assert rows[0] == rows[1]


def test_empty_literal_mode_changed_after_prepare(mysql_root, proxy_account, make_mysql_proxy,
                                                 mariadb):
    make(mysql_root, "rv_lit", [(1, "a", "", None), (2, "b", "", None)])
    p = Pair(start(make_mysql_proxy, "rv_lit"), mariadb, "rv_lit")
    ids = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE note = ''")
    # The server keeps the statement as read at its prepare ('' a string); the check would be
    # read now ('' NULL).
    assert p.query("SET sql_mode = 'STRICT_TRANS_TABLES,EMPTY_STRING_IS_NULL'") == [("ok",)] * 2
    got = p.execute(ids, [7, "z"])
    assert got[0][:2] == ("err", 1235) and "after a change of sql_mode" in got[0][2], got
    assert got[1][:2] == ("err", 1062)  # the twin: both rows matched as at the prepare


def test_pipes_as_concat_changed_after_prepare(mysql_root, proxy_account, make_mysql_proxy,
                                              mariadb):
    make(mysql_root, "rv_pipes", [(1, "a", None, None), (2, "b", None, None)])
    p = Pair(start(make_mysql_proxy, "rv_pipes"), mariadb, "rv_pipes")
    ids = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE id = ? || id = ?")
    assert p.query("SET sql_mode = 'STRICT_TRANS_TABLES,PIPES_AS_CONCAT'") == [("ok",)] * 2
    got = p.execute(ids, [7, "z", 1, 2])
    assert got[0][:2] == ("err", 1235) and "after a change of sql_mode" in got[0][2], got
    assert got[1][:2] == ("err", 1062)  # the twin: both rows matched as at the prepare


def test_set_names_changed_after_prepare(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    make(mysql_root, "rv_names", [(1, "a", "é", None), (2, "b", "é", None)], columns=("user_id",))
    p = Pair(start(make_mysql_proxy, "rv_names", columns=("user_id",)), mariadb, "rv_names")
    ids = p.prepare("UPDATE {t} SET user_id = ? WHERE note = 'é'")
    assert p.query("SET NAMES latin1") == [("ok",)] * 2
    got = p.execute(ids, [7])
    assert got[0][:2] == ("err", 1235) and "after a change of sql_mode" in got[0][2], got
    assert got[1][:2] == ("err", 1062)  # the twin: both rows matched as at the prepare


def dt7(y, mo, d, h=0, mi=0, s=0):
    return (DATETIME, bytes([7]) + struct.pack("<HBBBBB", y, mo, d, h, mi, s))


def test_datetime_param_in_string_context(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    make(mysql_root, "rv_dt", [(1, "a", "2024-02-29 01:02:03", None),
                               (2, "b", "2024-02-29 01:02:03", None)])
    p = Pair(start(make_mysql_proxy, "rv_dt"), mariadb, "rv_dt")
    ids = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE note LIKE ?")
    got = p.execute(ids, [7, "z", dt7(2024, 2, 29, 1, 2, 3)])
    rows = p.rows("SELECT user_id, course_id FROM {t} ORDER BY id")
    assert got[0] == got[1] and got[0][:2] == ("err", 1062)
    assert rows[0] == rows[1]


def test_invalid_datetime_param(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    make(mysql_root, "rv_baddt", [(1, "a", "x", None), (2, "b", "y", None)])
    p = Pair(start(make_mysql_proxy, "rv_baddt"), mariadb, "rv_baddt")
    ids = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE id = ? OR ? IS NULL")
    got = p.execute(ids, [7, "z", 1, dt7(2024, 2, 30)])
    # A date the calendar does not have is not written into the check: refused, where the
    # server runs the UPDATE (it compares no date there).
    assert got[0][:2] == ("err", 1235) and "impossible date" in got[0][2], got
    assert got[1] == ("ok",)


def read_all(client, payload):
    """Every result's first packet kind until the last (multi-statements)."""
    client.command(payload)
    out = []
    while True:
        seq, p = client.read_packet()
        if p[0] == 0xFF:
            out.append(("err", struct.unpack_from("<H", p, 1)[0], p[9:].decode(errors="replace")))
            return out
        if p[0] == 0x00:
            # OK: affected rows, last id, status
            from harness.mysqlwire import lenenc_int
            n, pos = lenenc_int(p, 1)
            _, pos = lenenc_int(p, pos)
            status = struct.unpack_from("<H", p, pos)[0]
            out.append(("ok", n))
            if not status & 0x0008:
                return out
            continue
        raise AssertionError(p)


def test_chunked_prepared_multi_row_and_bind_zero(mysql_root, proxy_account, make_mysql_proxy,
                                                 mariadb):
    make(mysql_root, "rv_many", [(1000, "a", None, None)])
    proxy = start(make_mysql_proxy, "rv_many")
    p = Pair(proxy, mariadb, "rv_many")
    n = 150
    values = ", ".join(f"({k}, 'm')" for k in range(1, n + 1))
    assert p.query("INSERT INTO {t} (user_id, course_id) VALUES " + values) == [("ok",), ("ok",)]
    assert p.query("DELETE FROM {t} WHERE course_id = 'm'") == [("ok",), ("ok",)]
    sql = "INSERT INTO {t} (user_id, course_id) VALUES " + ", ".join(["(?, ?)"] * n)
    ids = p.prepare(sql)
    dup_rows = []
    for k in range(1, n):
        dup_rows += [k, "m"]
    dup_rows += [1000, "a"]
    got = p.execute(ids, dup_rows)
    assert got[0] == got[1]
    new_rows = []
    for k in range(1, n + 1):
        new_rows += [k, "m"]
    got = p.execute(ids, new_rows, bind=False)
    assert got[0] == got[1]
    got = p.execute(ids, new_rows, bind=False)
    assert got[0] == got[1]
    rows = p.rows("SELECT user_id, course_id FROM {t} ORDER BY user_id")
    assert rows[0] == rows[1]
    # In a string of several: DO 1; INSERT of 150 suspected keys, one a duplicate.
    assert p.query("DELETE FROM {t} WHERE course_id = 'm'") == [("ok",), ("ok",)]
    sides = [WireClient(proxy.port, NATIVE_USER, NATIVE_PASSWORD, DATABASE, multi_statements=True),
             WireClient(mariadb.port, NATIVE_USER, NATIVE_PASSWORD, DATABASE, multi_statements=True)]
    values = ", ".join(f"({k}, 'm')" for k in range(1, n)) + ", (1000, 'A')"
    got = [read_all(c, bytes([COM_QUERY]) + f"DO 1; INSERT INTO {t} (user_id, course_id) VALUES {values}; DO 2".encode())
           for c, t in zip(sides, ["rv_many", "rv_many_twin"])]
    assert got[0] == got[1]
    values = ", ".join(f"({k}, 'm')" for k in range(1, n + 1))
    got = [read_all(c, bytes([COM_QUERY]) + f"DO 1; INSERT INTO {t} (user_id, course_id) VALUES {values}; DO 2".encode())
           for c, t in zip(sides, ["rv_many", "rv_many_twin"])]
    assert got[0] == got[1]
    rows = p.rows("SELECT user_id, course_id FROM {t} ORDER BY user_id")
    assert rows[0] == rows[1]


def test_mysql2_default_collation_like_concat(node_steps, mysql_root, proxy_account,
                                             make_mysql_proxy, mariadb):
    make(mysql_root, "rv_coll", [(1, "a", "pre1", None), (2, "b", "other", None)])
    proxy = start(make_mysql_proxy, "rv_coll")
    steps = [
        ["query", "SELECT @@collation_connection"],
        ["execute", "UPDATE {t} SET user_id = ?, course_id = ? WHERE note LIKE CONCAT(?, '%')",
         [7, "z", "pre"]],
        ["execute", "UPDATE {t} SET user_id = ?, course_id = ? WHERE (? = '' OR note = ?)",
         [8, "y", "other", "other"]],
        ["query", "SELECT user_id, course_id FROM {t} ORDER BY id"],
    ]
    got, want = both_node(node_steps, proxy, mariadb, steps, table="rv_coll")
    assert got == want


def test_param_adjacent_to_a_word(mysql_root, proxy_account, make_mysql_proxy, mariadb):
    make(mysql_root, "rv_adj", [(1, "a", "n1", None), (2, "b", "n2", None)])
    p = Pair(start(make_mysql_proxy, "rv_adj"), mariadb, "rv_adj")
    ids = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE note LIKE?")
    got = p.execute(ids, [7, "z", "n1"])
    ids2 = p.prepare("UPDATE {t} SET user_id = ?, course_id = ? WHERE id BETWEEN? AND?")
    got2 = p.execute(ids2, [8, "y", 2, 5])
    assert got[0] == got[1] and got2[0] == got2[1]


def test_numbering_with_literals_and_other_params(mysql_root, proxy_account, make_mysql_proxy,
                                                  mariadb):
    make(mysql_root, "rv_num", [(1, "a", "n1", None), (2, "b", "n2", None), (3, "c", "n3", None)])
    p = Pair(start(make_mysql_proxy, "rv_num"), mariadb, "rv_num")
    ids = p.prepare("UPDATE {t} SET note = CONCAT(?, '?x'), user_id = ?, course_id = 'c' "
                    "WHERE /* ? */ id = ? -- ?\n OR note = ?")
    out = []
    out.append(p.execute(ids, ["q", 3, 1, "zz"]))        # onto (3,'c'): dup
    out.append(p.execute(ids, ["q", 9, 1, "n2"]))        # two rows onto (9,'c'): dup
    out.append(p.execute(ids, ["q", 9, 1, "zz"]))        # ok
    out.append(p.execute(ids, ["q", 9, 2, "zz"], bind=False))  # dup of row 1 now
    assert all(a == b for a, b in out)
