"""The admin endpoint (SPEC §2 [admin], §6): /healthz, /readyz, /metrics, /guards, the bearer
token, request bounds, and /metrics after real traffic, validated by promtool."""
import http.client
import json
import shutil
import socket
import subprocess
import time

import psycopg
import psycopg2
import pytest

from harness.guarded import GuardedTable
from harness.ports import free_port
from harness.proxy import Proxy

TOKEN = "admin-test-token"


def get(proxy, path, token=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.admin_port, timeout=timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, r.getheader("Content-Type"), body


def samples(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError


@pytest.fixture
def enroll(pg, make_proxy):
    return GuardedTable(pg, make_proxy, "adm_enroll", "id serial, user_id int, course_id int",
                        ["user_id", "course_id"],
                        legacy_rows_sql="INSERT INTO adm_enroll (user_id, course_id) "
                                        "VALUES (1, 1), (1, 1), (2, 2)",
                        proxy_kw={"admin_token": TOKEN})


def test_metrics_count_the_traffic_sent_and_pass_promtool(enroll):
    proxy = enroll.proxy
    # Simple protocol (psycopg2): one Query message per execute.
    c = psycopg2.connect(enroll.proxy_dsn())
    c.autocommit = True
    cur = c.cursor()
    cur.execute("INSERT INTO adm_enroll (user_id, course_id) VALUES (5, 5)")  # passed
    with pytest.raises(psycopg2.errors.UniqueViolation):
        cur.execute("INSERT INTO adm_enroll (user_id, course_id) VALUES (1, 1)")  # rejected
    cur.execute("SELECT 1")
    c.close()
    # Extended protocol (psycopg 3): Parse, Bind, Describe, Execute, Sync per execute.
    with psycopg.connect(enroll.proxy_dsn(), autocommit=True) as c3:
        c3.execute("SELECT %s::int", (1,))
        c3.execute("SELECT %s::int", (2,))
    wait_until(lambda: samples(get(proxy, "/metrics", TOKEN)[2])
               ["uniqguard_client_connections_open"] == 0)

    status, content_type, text = get(proxy, "/metrics", TOKEN)
    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    s = samples(text)
    # The harness's own readiness probe (a TCP connect to the listener) is the third.
    assert s["uniqguard_client_connections_accepted_total"] == 3
    assert s["uniqguard_client_connections_rejected_total"] == 0
    assert s['uniqguard_statements_total{kind="query"}'] == 3
    assert s['uniqguard_statements_total{kind="prepare"}'] == 2
    assert s['uniqguard_statements_total{kind="execute"}'] == 2
    assert s['uniqguard_processing_seconds_count{kind="query"}'] == 3
    assert s['uniqguard_processing_seconds_bucket{kind="query",le="+Inf"}'] == 3
    assert s['uniqguard_processing_seconds_count{kind="execute"}'] == 2
    assert s['uniqguard_processing_seconds_count{kind="prepare"}'] == 0
    assert 0 < s['uniqguard_processing_seconds_sum{kind="query"}'] < 1
    guard = 'guard="adm_enroll_key"'
    assert s[f'uniqguard_guard_outcomes_total{{{guard},outcome="passed"}}'] == 1
    assert s[f'uniqguard_guard_outcomes_total{{{guard},outcome="rejected"}}'] == 1
    assert s[f'uniqguard_guard_outcomes_total{{{guard},outcome="refused"}}'] == 0
    assert s[f"uniqguard_guard_checks_total{{{guard}}}"] == 1
    assert s[f"uniqguard_guard_ready{{{guard}}}"] == 1
    assert s[f"uniqguard_guard_keys{{{guard}}}"] == 3  # (1,1), (2,2) loaded; (5,5) added
    assert s[f"uniqguard_guard_key_set_bytes{{{guard}}}"] > 0
    assert s[f"uniqguard_guard_load_duration_seconds{{{guard}}}"] > 0

    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/install-deps installs Debian's prometheus"
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout + r.stderr == ""


def test_guards_report_the_guard_and_a_unique_index_created_later(enroll, pg):
    status, content_type, body = get(enroll.proxy, "/guards", TOKEN)
    assert (status, content_type) == (200, "application/json")
    [g] = json.loads(body)["guards"]
    assert g["name"] == "adm_enroll_key"
    assert g["table"] == "public.adm_enroll"
    assert g["columns"] == ["user_id", "course_id"]
    assert g["action"] == "reject"
    assert g["state"] == "ready"
    assert g["keys"] == 2
    assert g["bytes"] > 0
    assert g["counters"] == {"passed": 0, "checked": 0, "rejected": 0, "ignored": 0,
                             "logged": 0, "refused": 0, "forwarded_unready": 0,
                             "shape_passes": 0}
    assert g["unique_index"] == {"enforced": False, "indexes": [], "source": "catalog now"}

    # The migration lands: the legacy duplicate goes, the real index comes.
    pg.psql_admin("DELETE FROM adm_enroll WHERE id = 2; "
                  "CREATE UNIQUE INDEX adm_enroll_uniq ON adm_enroll (user_id, course_id)",
                  database="app")
    [g] = json.loads(get(enroll.proxy, "/guards", TOKEN)[2])["guards"]
    assert g["unique_index"] == {"enforced": True, "indexes": ["adm_enroll_uniq"],
                                 "source": "catalog now"}


def test_token_is_required_everywhere_but_healthz(enroll):
    proxy = enroll.proxy
    assert get(proxy, "/healthz")[:1] == (200,)
    assert get(proxy, "/healthz")[2] == "ok\n"
    for path in ("/metrics", "/readyz", "/guards", "/nothing"):
        assert get(proxy, path)[0] == 401
        assert get(proxy, path, token="wrong")[0] == 401
    assert get(proxy, "/readyz", TOKEN)[:3:2] == (200, "ready\n")
    assert get(proxy, "/nothing", TOKEN)[0] == 404


def test_readyz_names_an_unreachable_backend_and_unloaded_guards(pg):
    dead = free_port()
    extra = ('[[guard]]\ntable = "public.adm_nothing"\ncolumns = ["a"]\nname = "adm_g"\n')
    proxy = Proxy(dead, extra=extra).start()
    try:
        status, _, body = get(proxy, "/readyz")
        assert status == 503
        lines = body.splitlines()
        assert lines[0] == "not ready"
        assert lines[1].startswith(f"backend 127.0.0.1:{dead} unreachable: ")
        assert lines[2].startswith("guard adm_g: key set ")
        assert get(proxy, "/healthz")[0] == 200
        text = get(proxy, "/metrics")[2]
        assert samples(text)['uniqguard_guard_ready{guard="adm_g"}'] == 0
    finally:
        assert proxy.stop() == 0


def test_requests_are_bounded_in_size_and_time(proxy):
    # A header past 8 KiB is refused without being buffered further.
    conn = http.client.HTTPConnection("127.0.0.1", proxy.admin_port, timeout=10)
    conn.request("GET", "/healthz", headers={"X-Filler": "x" * 16384})
    assert conn.getresponse().status == 431
    conn.close()
    # A client that sends nothing is closed after the 5 s read timeout.
    with socket.create_connection(("127.0.0.1", proxy.admin_port), timeout=15) as s:
        started = time.monotonic()
        assert s.recv(1) == b""
        assert 4 < time.monotonic() - started < 10
    # Methods other than GET and HEAD.
    conn = http.client.HTTPConnection("127.0.0.1", proxy.admin_port, timeout=10)
    conn.request("POST", "/healthz")
    assert conn.getresponse().status == 405
    conn.close()


def test_an_admin_port_in_use_is_a_startup_error(pg):
    proxy = Proxy(pg.port)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", proxy.admin_port))
        taken.listen()
        r = subprocess.run([proxy_binary(), "serve", "-c", proxy.config_path],
                           capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert f"cannot listen on admin.address 127.0.0.1:{proxy.admin_port}" in r.stderr


def proxy_binary():
    from harness.proxy import BINARY
    return BINARY


def test_mysql_statements_are_counted(make_mysql_proxy):
    import pymysql
    from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER
    proxy = make_mysql_proxy()
    c = pymysql.connect(host="127.0.0.1", port=proxy.port, user=NATIVE_USER,
                        password=NATIVE_PASSWORD, database=DATABASE, connect_timeout=10)
    try:
        # Whatever the client sends while connecting is counted before the first scrape.
        before = samples(get(proxy, "/metrics")[2])
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            cur.execute("SELECT 2")
        c.ping()  # COM_PING: a command, not a statement
        after = samples(get(proxy, "/metrics")[2])
    finally:
        c.close()
    key = 'uniqguard_statements_total{kind="query"}'
    assert after[key] - before[key] == 2
    hist = 'uniqguard_processing_seconds_count{kind="query"}'
    assert after[hist] - before[hist] == 2
    assert after['uniqguard_statements_total{kind="execute"}'] == 0
    assert after['uniqguard_build_info{version="0.1.0",protocol="mysql"}'] == 1
    text = get(proxy, "/metrics")[2]
    assert "uniqguard_guard_" not in text
    r = subprocess.run([shutil.which("promtool"), "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
