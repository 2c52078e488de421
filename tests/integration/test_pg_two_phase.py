"""PREPARE TRANSACTION after writes to a guarded table is refused (SPEC §4): the proxy could not
follow a two-phase commit's outcome. Without guarded writes it reaches the server untouched."""
import psycopg
import psycopg2
import pytest

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
    with pytest.raises(psycopg2.Error) as e:
        cur.execute("PREPARE TRANSACTION 'tp2'")
    assert e.value.pgcode == "55000"
    assert e.value.diag.message_primary == "prepared transactions are disabled"
    conn.close()


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
    """Unguarded work: the server's own answer, compared with a direct connection."""
    answers = []
    for dsn in (enroll.proxy_dsn(), pg.dsn(database="app")):
        conn = psycopg2.connect(dsn)
        cur = conn.cursor()
        cur.execute(f"SELECT count(*) FROM {enroll.name}")
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("PREPARE TRANSACTION 'tp4'")
        answers.append(error_fields(e.value))
        conn.rollback()
        conn.close()
    assert answers[0] == answers[1]
    assert answers[0]["sqlstate"] == "55000"
