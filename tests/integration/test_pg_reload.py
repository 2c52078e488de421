"""Reload on SIGHUP (SPEC §2, docs/operations.md): the config file read again and applied without
dropping a client connection; a file that fails any check changes nothing and says why.

Each test edits the proxy's own config file, sends SIGHUP to the proxy's PID, and waits for the
reload's one outcome line ("reload: applied ..." or "...; nothing changed"). What a client sees
for a duplicate is compared with the twin table that has the real unique index."""
import os
import shutil
import signal
import time
import urllib.error
import urllib.request

import psycopg2
import pytest

from harness.guarded import TWIN_DB, ensure_twin_database, error_fields

COLUMNS = "id serial PRIMARY KEY, a int NOT NULL, b int NOT NULL"


def make_tables(pg, name, legacy_rows="(1, 1), (1, 1)"):
    """`name` in `app` (no index; legacy duplicates) and in `twin` (a real unique key)."""
    ensure_twin_database(pg)
    create = f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({COLUMNS});"
    pg.psql_admin(create + f"GRANT SELECT ON {name} TO uniqguard;"
                  f"INSERT INTO {name} (a, b) VALUES {legacy_rows};", database="app")
    pg.psql_admin(create + f"ALTER TABLE {name} ADD CONSTRAINT {name}_key UNIQUE (a, b);"
                  f"INSERT INTO {name} (a, b) VALUES (1, 1);", database=TWIN_DB)


def guard_toml(name, action="reject", columns=("a", "b"), table=None):
    cols = ", ".join(f'"{c}"' for c in columns)
    return (f'[[guard]]\ntable = "public.{table or name}"\ncolumns = [{cols}]\n'
            f'action = "{action}"\nname = "{name}_key"\n')


def proxy_with(make_proxy, tmp_path, guards="", **kw):
    dups = str(tmp_path / "duplicates.jsonl")
    proxy = make_proxy(extra=f'duplicates = "{dups}"\n' + guards, **kw)
    proxy.duplicates_path = dups
    return proxy


def guarded_proxy(make_proxy, tmp_path, name, guards=None, **kw):
    """A proxy guarding `name` (or with `guards`), once `name`'s guard is ready."""
    proxy = proxy_with(make_proxy, tmp_path, guards if guards is not None else guard_toml(name),
                       **kw)
    wait_for_log(proxy, f"guard {name}_key: ready")
    return proxy


def autocommit_connection(proxy):
    conn = psycopg2.connect(proxy.dsn())
    conn.autocommit = True
    return conn


def write_guards(proxy, guards):
    """Replaces every [[guard]] of the proxy's config file with `guards`."""
    with open(proxy.config_path) as f:
        text = f.read()
    cut = text.find("[[guard]]")
    with open(proxy.config_path, "w") as f:
        f.write((text if cut < 0 else text[:cut]) + guards)


def edit_config(proxy, old, new):
    with open(proxy.config_path) as f:
        text = f.read()
    assert old in text
    with open(proxy.config_path, "w") as f:
        f.write(text.replace(old, new))


def reload(proxy, timeout=30):
    """SIGHUP, then the reload's outcome line."""
    done = proxy.log_text().count("reload: applied") + proxy.log_text().count("nothing changed")
    proxy.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line for line in proxy.log_text().splitlines()
                 if "reload: applied" in line or "nothing changed" in line]
        if len(lines) > done:
            return lines[done]
        time.sleep(0.05)
    raise TimeoutError("no reload outcome:\n" + proxy.log_text())


def wait_for_log(proxy, text, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in proxy.log_text():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{text!r} not logged:\n" + proxy.log_text())


def insert_outcome(conn, name, a, b):
    with conn.cursor() as cur:
        try:
            cur.execute(f"INSERT INTO {name} (a, b) VALUES (%s, %s)", (a, b))
            return ("ok", cur.statusmessage)
        except psycopg2.Error as e:
            return ("error", error_fields(e))


def twin_outcome(pg, name, a, b):
    conn = psycopg2.connect(pg.dsn(database=TWIN_DB))
    conn.autocommit = True
    try:
        return insert_outcome(conn, name, a, b)
    finally:
        conn.close()


def count_rows(pg, name, a, b):
    out = pg.psql_admin(f"SELECT count(*) FROM {name} WHERE a = {a} AND b = {b}", database="app")
    return int(out.strip())


def backend_pid(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def test_reload_adds_a_guard_for_open_connections_and_catches_up(pg, make_proxy, tmp_path):
    name = "rl_add"
    make_tables(pg, name)
    proxy = proxy_with(make_proxy, tmp_path)
    idle = autocommit_connection(proxy)
    pid = backend_pid(idle)
    # A transaction open across the reload writes a new key that commits after the new key
    # set's first read: the catch-up must find it.
    writer = psycopg2.connect(proxy.dsn())
    assert insert_outcome(writer, name, 5, 5) == ("ok", "INSERT 0 1")

    write_guards(proxy, guard_toml(name))
    line = reload(proxy)
    assert f"reload: applied {proxy.config_path}: guards added: {name}_key;" in line

    # The guard is in force for a connection opened before the reload (the same server session).
    rejected = insert_outcome(idle, name, 1, 1)
    assert rejected == twin_outcome(pg, name, 1, 1)
    assert rejected[1]["sqlstate"] == "23505"
    assert backend_pid(idle) == pid
    # The writer's transaction began unguarded and ends so: a repeat of a legacy key passes.
    assert insert_outcome(writer, name, 1, 1) == ("ok", "INSERT 0 1")
    writer.commit()
    wait_for_log(proxy, f"guard {name}_key: key set rebuilt after the reload")
    # (5, 5) committed after the load; the catch-up read it. The twin has it too.
    twin = psycopg2.connect(pg.dsn(database=TWIN_DB))
    twin.autocommit = True
    assert insert_outcome(twin, name, 5, 5) == ("ok", "INSERT 0 1")
    twin.close()
    assert insert_outcome(idle, name, 5, 5) == twin_outcome(pg, name, 5, 5)
    assert count_rows(pg, name, 5, 5) == 1
    # The writer's connection now takes the guard too.
    assert insert_outcome(writer, name, 5, 5)[1]["constraint"] == f"{name}_key"
    writer.rollback()
    assert count_rows(pg, name, 1, 1) == 3  # two legacy rows and the writer's
    idle.close()
    writer.close()


def test_reload_removes_a_guard_after_the_open_transaction(pg, make_proxy, tmp_path):
    name = "rl_remove"
    make_tables(pg, name)
    proxy = guarded_proxy(make_proxy, tmp_path, name)
    in_tx = psycopg2.connect(proxy.dsn())
    assert insert_outcome(in_tx, name, 2, 2) == ("ok", "INSERT 0 1")  # opens the transaction
    idle = autocommit_connection(proxy)
    pid = backend_pid(idle)

    write_guards(proxy, "")
    line = reload(proxy)
    assert f"removed: {name}_key" in line

    # The open transaction ends under the guard it began with: still the index's answer.
    assert insert_outcome(in_tx, name, 1, 1)[1]["sqlstate"] == "23505"
    in_tx.rollback()
    # After it, and on the other connection: no guard.
    assert insert_outcome(in_tx, name, 1, 1) == ("ok", "INSERT 0 1")
    in_tx.commit()
    assert insert_outcome(idle, name, 1, 1) == ("ok", "INSERT 0 1")
    assert backend_pid(idle) == pid
    assert count_rows(pg, name, 1, 1) == 4
    in_tx.close()
    idle.close()


def test_a_prepared_upsert_after_its_guard_is_removed_is_refused(pg, make_proxy, tmp_path):
    # The server holds the upsert parsed naming the primary key (docs/guard.md): once the guard
    # is gone the proxy has no upsert of its own to run in its place, and that statement must
    # not run (it would insert a second row with the key): refused, "prepare it again".
    from harness import pgwire
    name = "rl_upsert"
    make_tables(pg, name, legacy_rows="(1, 1)")
    proxy = guarded_proxy(make_proxy, tmp_path, name)
    c = pgwire.RawClient(proxy.port)
    c.startup(database="app")
    upsert = (f"INSERT INTO {name} (a, b) VALUES ($1, $2) ON CONFLICT (a, b) "
              f"DO UPDATE SET id = {name}.id")
    c.send(pgwire.message(b"P", b"up\0" + upsert.encode() + b"\0\0\0") + pgwire.message(b"S"))
    assert [m for m, _ in c.read_until("Z")] == ["1", "Z"]
    write_guards(proxy, "")
    assert f"removed: {name}_key" in reload(proxy)
    one = b"\0\0\0\x011"
    c.send(pgwire.message(b"B", b"\0up\0\0\0\0\x02" + one + one + b"\0\0") +
           pgwire.message(b"E", b"\0\0\0\0\0") + pgwire.message(b"S"))
    reply = c.read_until("Z")
    assert [m for m, _ in reply] == ["2", "E", "Z"], reply
    assert pgwire.error_of(reply)["C"] == "0A000"
    assert "prepare it again" in pgwire.error_of(reply)["M"]
    c.close()
    assert count_rows(pg, name, 1, 1) == 1


def test_reload_changes_the_action_and_keeps_the_key_set(pg, make_proxy, tmp_path):
    name = "rl_action"
    make_tables(pg, name)
    proxy = guarded_proxy(make_proxy, tmp_path, name, admin_token="first-token")
    conn = autocommit_connection(proxy)
    assert insert_outcome(conn, name, 1, 1)[1]["sqlstate"] == "23505"

    write_guards(proxy, guard_toml(name, action="log"))
    edit_config(proxy, 'token = "first-token"', 'token = "second-token"')
    # Log rotation: the reload reopens the duplicate log at its path.
    rotated = proxy.duplicates_path + ".1"
    deadline = time.monotonic() + 5
    while not os.path.exists(proxy.duplicates_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.rename(proxy.duplicates_path, rotated)
    line = reload(proxy)
    assert f"settings changed: {name}_key" in line
    # The key set is shared, not read again.
    assert proxy.log_text().count(f"guard {name}_key: loading the key set") == 1

    assert insert_outcome(conn, name, 1, 1) == ("ok", "INSERT 0 1")
    assert count_rows(pg, name, 1, 1) == 3
    with open(proxy.duplicates_path) as f:
        actions = [line for line in f if '"action":"logged"' in line]
    deadline = time.monotonic() + 5
    while not actions and time.monotonic() < deadline:
        time.sleep(0.05)
        with open(proxy.duplicates_path) as f:
            actions = [line for line in f if '"action":"logged"' in line]
    assert len(actions) == 1 and '"values":["1","1"]' in actions[0]
    with open(rotated) as f:
        before = f.read().splitlines()
    assert len(before) == 1 and '"action":"rejected"' in before[0]

    # The admin token is the new one.
    url = f"http://127.0.0.1:{proxy.admin_port}/metrics"
    with pytest.raises(urllib.error.HTTPError) as old_token:
        urllib.request.urlopen(urllib.request.Request(
            url, headers={"Authorization": "Bearer first-token"}), timeout=5)
    assert old_token.value.code == 401
    with urllib.request.urlopen(urllib.request.Request(
            url, headers={"Authorization": "Bearer second-token"}), timeout=5) as r:
        assert r.status == 200
    conn.close()


def test_reload_with_a_new_key_definition_loads_it_before_it_applies(pg, make_proxy, tmp_path):
    name = "rl_rekey"
    make_tables(pg, name, legacy_rows="(1, 1), (1, 2)")
    # First only `a` is the key; then (a, b): (1, 3) is then new.
    proxy = guarded_proxy(make_proxy, tmp_path, name, guard_toml(name, columns=("a",)))
    conn = autocommit_connection(proxy)
    assert insert_outcome(conn, name, 1, 3)[1]["detail"] == "Key (a)=(1) already exists."

    write_guards(proxy, guard_toml(name, columns=("a", "b")))
    line = reload(proxy)
    assert f"new key set: {name}_key" in line
    assert proxy.log_text().count(f"guard {name}_key: loading the key set") == 2
    assert insert_outcome(conn, name, 1, 3) == ("ok", "INSERT 0 1")
    assert twin_outcome(pg, name, 1, 2) == ("ok", "INSERT 0 1")
    rejected = insert_outcome(conn, name, 1, 2)
    assert rejected == twin_outcome(pg, name, 1, 2)
    assert rejected[1]["detail"] == "Key (a, b)=(1, 2) already exists."
    conn.close()


@pytest.mark.parametrize("change,reason", [
    (("max_clients", "max_clientz"), "unknown key"),
    (("127.0.0.1:{port}", "127.0.0.1:1"), "listen.address cannot change while the proxy runs"),
    (("127.0.0.1:{backend_port}", "127.0.0.2:{backend_port}"),
     "backend.address cannot change while the proxy runs"),
])
def test_reload_of_a_bad_file_changes_nothing(pg, make_proxy, tmp_path, change, reason):
    name = "rl_bad"
    make_tables(pg, name)
    proxy = guarded_proxy(make_proxy, tmp_path, name, extra_listen="max_clients = 100\n")
    conn = autocommit_connection(proxy)
    old, new = (c.format(port=proxy.port, backend_port=pg.port) for c in change)
    edit_config(proxy, old, new)
    write_guards(proxy, "")  # would remove the guard if the file were applied
    line = reload(proxy)
    assert reason in line and line.endswith("; nothing changed")
    assert proxy.config_path in line
    assert insert_outcome(conn, name, 1, 1)[1]["sqlstate"] == "23505"
    fresh = autocommit_connection(proxy)
    assert insert_outcome(fresh, name, 1, 1)[1]["constraint"] == f"{name}_key"
    fresh.close()
    conn.close()


def test_reload_with_a_guard_that_cannot_load_changes_nothing(pg, make_proxy, tmp_path):
    name = "rl_noload"
    make_tables(pg, name)
    proxy = guarded_proxy(make_proxy, tmp_path, name)
    write_guards(proxy, guard_toml("rl_missing") + guard_toml(name, action="log"))
    line = reload(proxy)
    assert line.endswith("; nothing changed")
    assert "reload: guard rl_missing_key: " in line
    assert "rl_missing" in line.split("reload: guard rl_missing_key: ")[1]
    conn = autocommit_connection(proxy)
    # Still "reject": the action change in the same file did not apply either.
    assert insert_outcome(conn, name, 1, 1)[1]["sqlstate"] == "23505"
    conn.close()


def tls_proxy_with_copied_certificate(make_proxy, certs, tmp_path):
    """A proxy whose certificate and key are copies the test may overwrite."""
    live = {k: str(tmp_path / f"live-{k}") for k in ("cert", "key")}
    for k in live:
        shutil.copy(certs[k], live[k])
    os.chmod(live["key"], 0o600)
    return make_proxy(certs=live), live


def test_reload_rereads_the_tls_certificate(make_proxy, certs, tmp_path):
    from harness.certs import make_certificates
    proxy, live = tls_proxy_with_copied_certificate(make_proxy, certs, tmp_path)
    before = psycopg2.connect(proxy.dsn(sslmode="verify-full", sslrootcert=certs["ca"]))
    other = make_certificates(str(tmp_path / "other"))
    for k in live:
        shutil.copy(other[k], live[k])
    line = reload(proxy)
    assert "TLS contexts rebuilt" in line
    after = psycopg2.connect(proxy.dsn(sslmode="verify-full", sslrootcert=other["ca"]))
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(proxy.dsn(sslmode="verify-full", sslrootcert=certs["ca"]))
    for conn in (before, after):  # the connection made with the old certificate goes on
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        conn.close()


def test_reload_with_an_unusable_certificate_changes_nothing(make_proxy, certs, tmp_path):
    proxy, live = tls_proxy_with_copied_certificate(make_proxy, certs, tmp_path)
    with open(live["cert"], "w") as f:
        f.write("not a certificate\n")
    line = reload(proxy)
    assert f"listen.tls_cert: cannot use {live['cert']}" in line
    assert line.endswith("; nothing changed")
    conn = psycopg2.connect(proxy.dsn(sslmode="verify-full", sslrootcert=certs["ca"]))
    conn.close()


def test_old_guards_stay_in_force_while_the_new_key_set_loads(pg, make_proxy, tmp_path):
    """A reload that changes one guard's action and adds a guard whose table is locked: until the
    new key set has loaded, nothing of the file applies; a second SIGHUP meanwhile runs after."""
    name, added = "rl_slow", "rl_slow_added"
    make_tables(pg, name)
    make_tables(pg, added)
    proxy = guarded_proxy(make_proxy, tmp_path, name)
    conn = autocommit_connection(proxy)
    locker = psycopg2.connect(pg.dsn(database="app"))
    with locker.cursor() as cur:
        cur.execute(f"LOCK TABLE {added} IN ACCESS EXCLUSIVE MODE")
    write_guards(proxy, guard_toml(name, action="log") + guard_toml(added))
    outcomes = proxy.log_text().count("reload: applied")
    proxy.process.send_signal(signal.SIGHUP)
    wait_for_log(proxy, f"guard {added}_key: loading the key set")
    proxy.process.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    # The load waits for the lock: the old guard (reject) still answers.
    assert insert_outcome(conn, name, 1, 1)[1]["sqlstate"] == "23505"
    assert proxy.log_text().count("reload: applied") == outcomes
    locker.rollback()
    deadline = time.monotonic() + 30
    while proxy.log_text().count("reload: applied") < outcomes + 2:
        assert time.monotonic() < deadline, proxy.log_text()
        time.sleep(0.05)
    lines = [line for line in proxy.log_text().splitlines() if "reload: applied" in line]
    assert f"guards added: {added}_key; settings changed: {name}_key" in lines[-2]
    assert f"unchanged: {name}_key, {added}_key" in lines[-1]  # the second read the same file
    assert insert_outcome(conn, name, 1, 1) == ("ok", "INSERT 0 1")  # action "log" now
    assert insert_outcome(conn, added, 1, 1)[1]["constraint"] == f"{added}_key"
    conn.close()
    locker.close()


def test_catch_up_waits_for_transactions_older_than_the_previous_reload(pg, make_proxy,
                                                                        tmp_path):
    """A transaction open across two reloads, the second of which adds a guard: the new key set
    catches up only once that transaction has ended."""
    name = "rl_twice"
    make_tables(pg, name)
    proxy = proxy_with(make_proxy, tmp_path)
    writer = psycopg2.connect(proxy.dsn())
    assert insert_outcome(writer, name, 6, 6) == ("ok", "INSERT 0 1")  # transaction open
    idle = autocommit_connection(proxy)
    edit_config(proxy, 'level = "info"', 'level = "info"\n')
    assert "reload: applied" in reload(proxy)
    write_guards(proxy, guard_toml(name))
    assert f"guards added: {name}_key" in reload(proxy)
    time.sleep(0.5)
    assert f"guard {name}_key: key set rebuilt after the reload" not in proxy.log_text()
    writer.commit()
    wait_for_log(proxy, f"guard {name}_key: key set rebuilt after the reload")
    assert insert_outcome(idle, name, 6, 6)[1]["detail"] == "Key (a, b)=(6, 6) already exists."
    assert count_rows(pg, name, 6, 6) == 1
    writer.close()
    idle.close()


def test_named_statement_prepared_before_the_guard_is_guarded_after(pg, make_proxy, tmp_path):
    import psycopg
    name = "rl_prepared"
    make_tables(pg, name)
    proxy = proxy_with(make_proxy, tmp_path)
    sql = f"INSERT INTO {name} (a, b) VALUES (%s, %s)"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute(sql, (9, 9), prepare=True)  # a named statement on the server
        write_guards(proxy, guard_toml(name))
        assert f"guards added: {name}_key" in reload(proxy)
        with pytest.raises(psycopg.errors.UniqueViolation) as e:
            conn.execute(sql, (1, 1), prepare=True)  # Bind and Execute only
        assert e.value.diag.message_detail == "Key (a, b)=(1, 1) already exists."
        assert e.value.diag.constraint_name == f"{name}_key"
        # The client's statement was not prepared again (the proxy's check statement, left by
        # the failed check, is not the client's).
        prepared = conn.execute("SELECT name FROM pg_prepared_statements "
                                "WHERE name NOT LIKE 'uniqguard%'").fetchall()
        assert prepared == [("_pg3_0",)]
    assert count_rows(pg, name, 1, 1) == 2


def test_reload_with_an_unusable_backend_ca_changes_nothing(pg, make_proxy, certs, tmp_path):
    name = "rl_ca"
    make_tables(pg, name)
    ca = str(tmp_path / "ca.crt")
    shutil.copy(certs["ca"], ca)
    proxy = guarded_proxy(make_proxy, tmp_path, name, tls_ca=ca)
    with open(ca, "w") as f:
        f.write("garbage\n")
    write_guards(proxy, "")
    line = reload(proxy)
    assert f"reload: backend.tls_ca: cannot use {ca}" in line
    assert line.endswith("; nothing changed")
    conn = autocommit_connection(proxy)
    assert insert_outcome(conn, name, 1, 1)[1]["sqlstate"] == "23505"
    conn.close()


def test_named_statements_of_a_guarded_session_follow_later_reloads(pg, make_proxy, tmp_path):
    """A session that has a guard already: a statement on another table, prepared then, is
    guarded once a reload guards its table, unguarded when a second reload removes that guard,
    and guarded again after a third."""
    import psycopg
    first, second = "rl_named_a", "rl_named_b"
    make_tables(pg, first)
    make_tables(pg, second)
    proxy = proxy_with(make_proxy, tmp_path, guard_toml(first))
    wait_for_log(proxy, f"guard {first}_key: ready")
    sql = f"INSERT INTO {second} (a, b) VALUES (%s, %s)"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute(sql, (9, 9), prepare=True)
        write_guards(proxy, guard_toml(first) + guard_toml(second))
        assert f"guards added: {second}_key" in reload(proxy)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(sql, (1, 1), prepare=True)
        write_guards(proxy, guard_toml(first))
        assert f"removed: {second}_key" in reload(proxy)
        conn.execute(sql, (1, 1), prepare=True)  # no guard: a third (1, 1)
        write_guards(proxy, guard_toml(first) + guard_toml(second))
        assert f"guards added: {second}_key" in reload(proxy)
        with pytest.raises(psycopg.errors.UniqueViolation) as e:
            conn.execute(sql, (1, 1), prepare=True)
        assert e.value.diag.constraint_name == f"{second}_key"
        prepared = conn.execute("SELECT name FROM pg_prepared_statements "
                                "WHERE name NOT LIKE 'uniqguard%'").fetchall()
        assert prepared == [("_pg3_0",)]
    assert count_rows(pg, second, 1, 1) == 3


def test_a_sighup_sent_as_soon_as_the_port_answers_is_handled(make_proxy):
    """The harness counts the proxy started once its port accepts a connection: a SIGHUP sent
    right then must find the handler (it was installed after the socket listened, and such a
    SIGHUP killed the proxy, or was lost where the parent ignored SIGHUP, as under nohup)."""
    for _ in range(5):
        proxy = make_proxy()
        proxy.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "reload: " not in proxy.log_text():
            assert proxy.process.poll() is None, proxy.log_text()
            assert time.monotonic() < deadline, proxy.log_text()
            time.sleep(0.02)
        assert "received SIGHUP" in proxy.log_text()
