"""Binary prepared statements from Node.js (npm's mysql2) through the proxy. The client is
installed on first use into tests/integration/js/node_modules (npm, pinned by
package-lock.json); without node and npm the test is skipped, saying so."""
import json
import os
import shutil
import subprocess

import pytest

from harness.mariadb_server import DATABASE, NATIVE_PASSWORD, NATIVE_USER

JS_DIR = os.path.join(os.path.dirname(__file__), "js")


@pytest.fixture(scope="session")
def node_client():
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are not installed")
    if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "mysql2")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True,
                       capture_output=True, timeout=300)
    return os.path.join(JS_DIR, "mysql2_prepared.js")


def test_mysql2_prepared_statements(node_client, mysql_proxy, mariadb):
    def executes():
        return int(mariadb.sql("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'").split()[1])

    before = executes()
    r = subprocess.run(["node", node_client, str(mysql_proxy.port), NATIVE_USER, NATIVE_PASSWORD,
                        DATABASE], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out == {
        "inserted": 50,
        "rows": [[10, "name 10", "15.00", 10], [11, "name 11", "16.50", 11],
                 [12, "name 12", "18.00", 12]],
        "sum": ["1275", 50],
        "big": 300000,
        "after": 42,
        "error": [1146, "42S02"],
    }
    assert mariadb.sql("SELECT COUNT(*), SUM(LENGTH(data)) FROM node_ps", DATABASE) == "50\t1275\n"
    # 50 INSERTs and 4 SELECTs went as COM_STMT_EXECUTE (the binary protocol); the DDL as
    # COM_QUERY, and the statement on a missing table failed at COM_STMT_PREPARE.
    assert executes() - before == 54
