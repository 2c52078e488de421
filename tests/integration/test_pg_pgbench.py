"""pgbench through the proxy: initialisation (COPY, DDL) and a select-only load in each of the
three query protocols, several clients on two threads."""
import os
import re
import shutil
import subprocess

import pytest

from harness.proxy import Proxy

PGBENCH = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"


def pgbench(port, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "10"
    return subprocess.run([PGBENCH, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args,
                           "app"],
                          capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def initialised(pg):
    proxy = Proxy(pg.port).start()
    try:
        r = pgbench(proxy.port, "-i", "-s", "1")
        assert r.returncode == 0, r.stderr
        # pgbench -i reports its steps on stderr.
        assert "100000 of 100000 tuples (100%) done" in r.stderr
        assert "done in" in r.stderr
    finally:
        assert proxy.stop() == 0
    # Checked straight on the server.
    assert pg.psql_admin("SELECT count(*) FROM pgbench_accounts", database="app") == "100000\n"
    assert pg.psql_admin("SELECT count(*) FROM pgbench_branches", database="app") == "1\n"
    assert pg.psql_admin("SELECT count(*) FROM pgbench_tellers", database="app") == "10\n"
    return True


@pytest.mark.parametrize("protocol", ["simple", "extended", "prepared"])
def test_select_only_load(proxy, initialised, protocol):
    r = pgbench(proxy.port, "-n", "-S", "-T", "3", "-c", "4", "-j", "2", f"--protocol={protocol}")
    assert r.returncode == 0, f"pgbench exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    out = r.stdout
    assert f"query mode: {protocol}" in out
    assert "number of clients: 4" in out
    assert "number of threads: 2" in out
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    assert processed, out
    assert int(processed.group(1)) > 0
    failed = re.search(r"number of failed transactions: (\d+)", out)
    assert failed, out
    assert int(failed.group(1)) == 0
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    assert tps and float(tps.group(1)) > 0, out
    assert "error" not in r.stderr.lower(), r.stderr


def test_tpcb_like_load(proxy, initialised):
    """The default script writes (UPDATE/INSERT in a transaction) through the proxy."""
    r = pgbench(proxy.port, "-n", "-T", "2", "-c", "2", "-j", "2", "--protocol=extended")
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    processed = int(re.search(r"number of transactions actually processed: (\d+)", r.stdout).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", r.stdout).group(1))
    assert processed > 0 and failed == 0
