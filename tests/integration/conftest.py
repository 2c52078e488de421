import os
import tempfile

import pytest

from harness.certs import make_certificates
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
