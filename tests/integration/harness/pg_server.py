"""A private PostgreSQL 15 for the tests: own data directory, own loopback port, run as the
`postgres` user (the server refuses root), stopped by the PID we started."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from .ports import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"

# Roles every test may use. Passwords are test-only.
MD5_USER, MD5_PASSWORD = "md5user", "md5-secret"
SCRAM_USER, SCRAM_PASSWORD = "scramuser", "scram-secret"
CLEAR_USER, CLEAR_PASSWORD = "clearuser", "clear-secret"
PROXY_USER, PROXY_PASSWORD = "uniqguard", "proxy-secret"


def _as_postgres(args, **kw):
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + list(args)
    return subprocess.run(args, check=True, **kw)


class PgServer:
    def __init__(self, certs=None, max_connections=200, extra_conf="", extra_hba=""):
        """`extra_hba`: pg_hba.conf lines placed before the catch-all `trust` line."""
        self.port = free_port()
        self.extra_hba = extra_hba
        self.certs = certs
        self.max_connections = max_connections
        self.extra_conf = extra_conf
        self.dir = tempfile.mkdtemp(prefix="uniqguard-pg-")
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = os.path.join(self.dir, "sock")
        self.process = None

    def start(self):
        os.makedirs(self.socket_dir)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        _as_postgres([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                      "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
                     stdout=subprocess.DEVNULL)
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            f"max_connections = {self.max_connections}",
            "fsync = off", "synchronous_commit = off", "full_page_writes = off",
            "shared_buffers = 64MB",
            # Two-phase commit on, so that a test can see that the proxy's refusal of PREPARE
            # TRANSACTION (not the server's "disabled") is what kept a transaction from it.
            "max_prepared_transactions = 10",
        ]
        if self.certs:
            for key, name in (("cert", "server.crt"), ("key", "server.key"), ("ca", "ca.crt")):
                dst = os.path.join(self.data, name)
                shutil.copy(self.certs[key], dst)
                if os.geteuid() == 0:
                    shutil.chown(dst, "postgres", "postgres")
                os.chmod(dst, 0o600)
            conf += ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"]
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n".join(conf) + "\n" + self.extra_conf + "\n")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write(
                "local all all trust\n"
                f"host all {MD5_USER} 127.0.0.1/32 md5\n"
                f"host all {SCRAM_USER} 127.0.0.1/32 scram-sha-256\n"
                f"host all {CLEAR_USER} 127.0.0.1/32 password\n"
                f"host all {PROXY_USER} 127.0.0.1/32 scram-sha-256\n"
                + self.extra_hba +
                "host all all 127.0.0.1/32 trust\n")
        cmd = [f"{PG_BIN}/postgres", "-D", self.data]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        self.log = open(os.path.join(self.dir, "postgres.log"), "w")
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()
        self.psql_admin(f"""
            SET password_encryption = 'md5';
            CREATE ROLE {MD5_USER} LOGIN PASSWORD '{MD5_PASSWORD}';
            SET password_encryption = 'scram-sha-256';
            CREATE ROLE {SCRAM_USER} LOGIN PASSWORD '{SCRAM_PASSWORD}';
            CREATE ROLE {CLEAR_USER} LOGIN PASSWORD '{CLEAR_PASSWORD}';
            CREATE ROLE {PROXY_USER} LOGIN PASSWORD '{PROXY_PASSWORD}';
        """)
        self.psql_admin("CREATE DATABASE app")
        self.psql_admin("GRANT ALL ON SCHEMA public TO PUBLIC;", database="app")
        return self

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("postgres exited; see " + os.path.join(self.dir, "postgres.log"))
            r = subprocess.run([f"{PG_BIN}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                               stdout=subprocess.DEVNULL)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("postgres did not become ready")

    def dsn(self, user="postgres", database="app", **params):
        """libpq connection string straight to this server (not through the proxy)."""
        parts = [f"host=127.0.0.1 port={self.port} user={user} dbname={database}"]
        parts += [f"{k}={v}" for k, v in params.items()]
        return " ".join(parts)

    def psql_admin(self, sql, database="postgres"):
        """Runs SQL as the superuser straight on the server (not through the proxy)."""
        return subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", "-d", database, "-At", "-c", sql],
            check=True, capture_output=True, text=True).stdout

    def recreate_schema(self, schema, sql, database="app"):
        """A fresh schema `schema` in `database` holding what `sql` creates, readable by every
        account (the proxy's and the tools' read-only ones)."""
        self.psql_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; "
                        f"SET search_path = {schema}; {sql}; "
                        f"GRANT USAGE ON SCHEMA {schema} TO PUBLIC; "
                        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO PUBLIC;",
                        database=database)

    def _postmaster_pid(self):
        if self.process.args[0] != "runuser":
            return self.process.pid
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline().strip())
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pid if ppid == self.process.pid else None

    def stop(self):
        if self.process and self.process.poll() is None:
            # runuser does not pass SIGINT on to its child, so the postmaster is signalled by
            # the PID it wrote (first line of postmaster.pid), once we know it is our child.
            postmaster = self._postmaster_pid()
            if postmaster is not None:
                os.kill(postmaster, signal.SIGINT)  # fast shutdown
            else:
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
