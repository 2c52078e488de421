"""The guard's catalog reader and key-set loader (guard_catalog.hpp, key_set_loader.hpp) against a
real PostgreSQL 15: their hidden Catch2 cases ([key_set_loader]) in the unit-test binary, run
with UNIQGUARD_TEST_PG_PORT pointing at the session's server. Name resolution, column order,
unique indexes, legacy duplicates, NULL keys, COPY escapes, every key type (the loaded
fingerprint equals the one the proxy computes from an INSERT literal), and the load rate of
2 M (int, int) keys, which is printed (run with -s to see it), never asserted.

The binary: $UNIQGUARD_UNIT_TESTS, else tests/unit_tests beside $UNIQGUARD_BIN (as
test_check_command.py)."""
import os
import re
import subprocess

from harness.proxy import BINARY

UNIT_TESTS = os.environ.get(
    "UNIQGUARD_UNIT_TESTS",
    os.path.join(os.path.dirname(BINARY), "tests", "unit_tests"))


def run_cases(pg, spec, timeout=600):
    assert os.path.exists(UNIT_TESTS), f"{UNIT_TESTS} is not built (scripts/test builds it)"
    r = subprocess.run([UNIT_TESTS, spec], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, UNIQGUARD_TEST_PG_PORT=str(pg.port)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All tests passed" in r.stdout, r.stdout + r.stderr
    return r


def test_guard_catalog_and_key_set_loader_against_the_server(pg):
    """Every [live] case of the loader (the rate case is not one of them)."""
    r = run_cases(pg, "[key_set_loader][live]")
    cases = re.search(r"All tests passed \(\d+ assertions in (\d+) test cases\)", r.stdout)
    assert cases and int(cases.group(1)) >= 9, r.stdout  # none was left out by a wrong tag


def test_key_set_load_rate(pg):
    """2 M keys of (int, int): the rate is printed, not asserted (SPEC §7's ≥ 1 M keys/s is for
    the benchmarks, on an optimised build)."""
    r = run_cases(pg, "[key_set_loader][rate]")
    rates = re.findall(r"key set load, .*", r.stdout)
    assert rates, r.stdout
    for line in rates:
        print(line)
