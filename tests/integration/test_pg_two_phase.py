"""PREPARE TRANSACTION after writes to a guarded table is refused (SPEC §4): the proxy could not
follow a two-phase commit's outcome. Without guarded writes it reaches the server untouched."""
import psycopg
import psycopg2
import pytest

from harness import pgwire
from harness.guarded import GuardedTable, error_fields

ENROLL = "id serial PRIMARY KEY, user_id int NOT NULL, course_id int NOT NULL"
REFUSAL = {
    "sqlstate": "0A000",
    "severity": "ERROR",
    "detail": None,
    "context": None,
    "schema": None,
    "table": None,
    "column": None,
    "constraint": None,
}


@pytest.fixture
def enroll(pg, make_proxy, request):
    name = "tp_" + request.node.name.replace("test_", "")[:30].lower()
    return GuardedTable(pg, make_proxy, name, ENROLL, ["user_id", "course_id"])


def refusal_of(gt):
    return dict(REFUSAL,
                message=f'uniqguard: PREPARE TRANSACTION is refused in a transaction that wrote '
                        f'to table "public.{gt.name}", guarded by "{gt.constraint}"',
                hint="uniqguard cannot follow a two-phase commit (COMMIT PREPARED may come from "
                     "another session); commit this transaction directly")


def prepared_xacts(pg):
    return pg.psql_admin("SELECT count(*) FROM pg_prepared_xacts").strip()


@pytest.mark.parametrize("same_string", [False, True])
def test_prepare_transaction_after_a_guarded_insert_is_refused(pg, enroll, same_string):
    conn = enroll.connect_proxy()
    cur = conn.cursor()
    insert = f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (7, 7)"
    with pytest.raises(psycopg2.Error) as e:
        if same_string:
            cur.execute(insert + "; PREPARE TRANSACTION 'tp1'")
        else:
            cur.execute(insert)
            cur.execute("PREPARE TRANSACTION 'tp1'")
    assert error_fields(e.value) == refusal_of(enroll)
    # The transaction is failed, as after any error inside it.
    with pytest.raises(psycopg2.errors.InFailedSqlTransaction):
        cur.execute("SELECT 1")
    conn.rollback()
    assert prepared_xacts(pg) == "0"
    assert enroll.rows() == []
    # The next transaction starts clean: without guarded writes PREPARE goes to the server.
    cur.execute("SELECT 1")
    cur.execute("PREPARE TRANSACTION 'tp2'")
    assert cur.statusmessage == "PREPARE TRANSACTION"
    conn.close()
    pg.psql_admin("ROLLBACK PREPARED 'tp2'", database="app")
    assert prepared_xacts(pg) == "0"


def test_prepare_transaction_in_the_extended_protocol_is_refused(pg, enroll):
    with psycopg.connect(enroll.proxy_dsn()) as conn:
        conn.execute(f"INSERT INTO {enroll.name} (user_id, course_id) VALUES (%s, %s)", (8, 8))
        with pytest.raises(psycopg.Error) as e:
            conn.execute("PREPARE TRANSACTION 'tp3'", prepare=True)
        d = e.value.diag
        assert (e.value.sqlstate, d.message_primary, d.message_hint) == (
            "0A000", refusal_of(enroll)["message"], refusal_of(enroll)["hint"])
        conn.rollback()
    assert prepared_xacts(pg) == "0"
    assert enroll.rows() == []


def test_prepare_transaction_without_guarded_writes_is_the_servers(pg, enroll):
    """Unguarded work: prepared on the server through the proxy as directly."""
    for gid, dsn in (("tp4", enroll.proxy_dsn()), ("tp5", pg.dsn(database="app"))):
        conn = psycopg2.connect(dsn)
        cur = conn.cursor()
        cur.execute(f"SELECT count(*) FROM {enroll.name}")
        cur.execute(f"PREPARE TRANSACTION '{gid}'")
        assert cur.statusmessage == "PREPARE TRANSACTION"
        conn.rollback()
        conn.close()
    gids = pg.psql_admin("SELECT string_agg(gid, ',' ORDER BY gid) FROM pg_prepared_xacts")
    assert gids.strip() == "tp4,tp5"
    for gid in ("tp4", "tp5"):  # one per command: not inside a transaction block
        pg.psql_admin(f"ROLLBACK PREPARED '{gid}'", database="app")


def test_prepare_transaction_parsed_before_the_writes_is_refused_at_execute(pg, enroll):
    """A named PREPARE TRANSACTION made first, run after a guarded write; and a Parse that
    reuses a guarded statement's name (refused 42P05 by the server) leaves the guard on it."""
    t = enroll.name
    c = pgwire.RawClient(enroll.proxy.port)
    c.startup(database="app")
    ins = f"INSERT INTO {t} (user_id, course_id) VALUES ($1, $2)".encode()
    c.send(pgwire.message(b"P", b"pt\0PREPARE TRANSACTION 'tp6'\0\0\0")
           + pgwire.message(b"P", b"ins\0" + ins + b"\0\0\0") + pgwire.message(b"S"))
    assert [m for m, _ in c.read_until("Z")] == ["1", "1", "Z"]
    c.simple_query("BEGIN")
    bind_ins = pgwire.message(b"B", b"\0ins\0\0\0\0\x02\0\0\0\x013\0\0\0\x013\0\0")
    c.send(bind_ins + pgwire.message(b"E", b"\0\0\0\0\0")
           + pgwire.message(b"B", b"\0pt\0\0\0\0\0\0\0") + pgwire.message(b"E", b"\0\0\0\0\0")
           + pgwire.message(b"S"))
    replies = c.read_until("Z")
    # BindComplete and CommandComplete of the INSERT, BindComplete of `pt`, the refusal.
    assert [m for m, _ in replies] == ["2", "C", "2", "E", "Z"]
    err = pgwire.error_of(replies)
    assert (err["C"], err["M"]) == ("0A000", refusal_of(enroll)["message"])
    c.simple_query("ROLLBACK")
    assert prepared_xacts(pg) == "0"
    # `ins` again, then a Parse of that name as PREPARE TRANSACTION: 42P05, `ins` unchanged.
    c.simple_query(f"INSERT INTO {t} (user_id, course_id) VALUES (4, 4)")
    c.send(pgwire.message(b"P", b"ins\0PREPARE TRANSACTION 'tp7'\0\0\0") + pgwire.message(b"S"))
    assert pgwire.error_of(c.read_until("Z"))["C"] == "42P05"
    dup = pgwire.message(b"B", b"\0ins\0\0\0\0\x02\0\0\0\x014\0\0\0\x014\0\0")
    c.send(dup + pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))
    err = pgwire.error_of(c.read_until("Z"))
    assert (err["C"], err["n"]) == ("23505", enroll.constraint)
    c.close()
    assert enroll.rows() == [(enroll.rows()[0][0], 4, 4)]
