import os
import shutil
import subprocess
import tempfile

import pymysql
import pytest

from harness.certs import make_certificates
from harness.mariadb_server import DATABASE as MARIADB_DATABASE, MariaDbServer
from harness.pg_server import PgServer
from harness.proxy import Proxy


@pytest.fixture(scope="session")
def certs():
    return make_certificates(tempfile.mkdtemp(prefix="uniqguard-certs-"))


@pytest.fixture(scope="session")
def pg(certs):
    """One PostgreSQL 15 with TLS available (clients choose), shared by the whole run."""
    server = PgServer(certs=certs).start()
    yield server
    server.stop()


@pytest.fixture
def proxy(pg):
    """A plaintext uniqguard in front of `pg`, started fresh for each test."""
    p = Proxy(pg.port).start()
    yield p
    p.stop()


@pytest.fixture
def make_proxy(pg):
    started = []

    def factory(**kw):
        kw.setdefault("backend_port", pg.port)
        p = Proxy(**kw).start()
        started.append(p)
        return p

    yield factory
    for p in started:
        p.stop()


@pytest.fixture(scope="session")
def mariadb(certs):
    """One MariaDB 10.11 with TLS available (clients choose), shared by the whole run."""
    server = MariaDbServer(certs=certs).start()
    yield server
    server.stop()


@pytest.fixture
def make_mysql_proxy(mariadb):
    """uniqguard instances in front of `mariadb` (protocol mysql), stopped after the test with
    their exit status checked: an ASan report or a crash fails the test that caused it."""
    started = []

    def factory(**kw):
        kw.setdefault("backend_port", mariadb.port)
        kw.setdefault("protocol", "mysql")
        p = Proxy(**kw).start()
        started.append(p)
        return p

    yield factory
    # A test may have stopped its proxy itself (to read the final log).
    statuses = [(p, p.process.returncode if getattr(p, "final_log", None) is not None
                 else p.stop()) for p in started]
    for p, status in statuses:
        assert status == 0, f"uniqguard exited with {status}:\n{p.final_log[-4000:]}"


@pytest.fixture
def mysql_proxy(make_mysql_proxy):
    """A plaintext uniqguard in front of `mariadb`, started fresh for each test."""
    return make_mysql_proxy()


@pytest.fixture(scope="module")
def mysql_root(mariadb):
    """A root connection to the shared MariaDB over its socket (utf8mb4, autocommit), for tests
    that set tables up or ask the server itself."""
    conn = pymysql.connect(unix_socket=mariadb.socket, user="root", database=MARIADB_DATABASE,
                           charset="utf8mb4", autocommit=True)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def proxy_account(mariadb):
    """The account a MySQL guard loads its key set with (harness/proxy.py's backend user)."""
    mariadb.sql("CREATE USER IF NOT EXISTS 'uniqguard'@'%' IDENTIFIED BY 'proxy-secret';"
                f"GRANT SELECT ON {MARIADB_DATABASE}.* TO 'uniqguard'@'%';")


@pytest.fixture(scope="module")
def node_steps():
    """npm's mysql2 driving a guarded table step by step (js/mysql2_guard_steps.js)."""
    js_dir = os.path.join(os.path.dirname(__file__), "js")
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are not installed")
    if not os.path.isdir(os.path.join(js_dir, "node_modules", "mysql2")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=js_dir, check=True,
                       capture_output=True, timeout=300)
    return os.path.join(js_dir, "mysql2_guard_steps.js")
