"""A private MariaDB 10.11 for the tests: own data directory in a temp dir, own loopback port,
run as the `mysql` user when the tests run as root (mariadbd --user drops privileges itself),
stopped by the PID we started (never by name)."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from .ports import free_port

# Accounts every test may use. Passwords are test-only.
NATIVE_USER, NATIVE_PASSWORD = "native", "native-secret"
ED25519_USER, ED25519_PASSWORD = "eduser", "ed-secret"
TLS_USER, TLS_PASSWORD = "tlsuser", "tls-secret"  # REQUIRE SSL on the server's side
DATABASE = "app"

MAX_ALLOWED_PACKET = 64 << 20


class MariaDbServer:
    def __init__(self, certs=None):
        self.port = free_port()
        self.certs = certs
        self.dir = tempfile.mkdtemp(prefix="uniqguard-mariadb-")
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mariadb.sock")
        self.process = None

    def _own(self, path):
        if os.geteuid() == 0:
            shutil.chown(path, "mysql", "mysql")

    def start(self):
        self._own(self.dir)
        install = ["mariadb-install-db", "--no-defaults", f"--datadir={self.data}",
                   "--auth-root-authentication-method=normal", "--skip-test-db",
                   "--skip-name-resolve"]
        if os.geteuid() == 0:
            install.append("--user=mysql")
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cmd = ["mariadbd", "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
               "--bind-address=127.0.0.1", f"--socket={self.socket}",
               f"--pid-file={os.path.join(self.dir, 'mariadb.pid')}",
               # Its own directory for on-disk temporary tables (big GROUP BYs): /tmp is shared
               # with other servers and cleaners (bench/audit lost one there once).
               f"--tmpdir={self.dir}",
               f"--max-allowed-packet={MAX_ALLOWED_PACKET}", "--local-infile=1",
               "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=32M",
               "--innodb-flush-log-at-trx-commit=0", "--skip-name-resolve",
               "--max-connections=500", "--log-error=" + os.path.join(self.dir, "error.log")]
        if self.certs:
            for key, name in (("cert", "server.crt"), ("key", "server.key"), ("ca", "ca.crt")):
                dst = os.path.join(self.dir, name)
                shutil.copy(self.certs[key], dst)
                self._own(dst)
                os.chmod(dst, 0o600)
            cmd += [f"--ssl-cert={os.path.join(self.dir, 'server.crt')}",
                    f"--ssl-key={os.path.join(self.dir, 'server.key')}",
                    f"--ssl-ca={os.path.join(self.dir, 'ca.crt')}"]
        if os.geteuid() == 0:
            cmd.append("--user=mysql")
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()
        self.sql(f"""
            CREATE DATABASE {DATABASE};
            CREATE USER '{NATIVE_USER}'@'%' IDENTIFIED VIA mysql_native_password
                USING PASSWORD('{NATIVE_PASSWORD}');
            GRANT ALL ON *.* TO '{NATIVE_USER}'@'%';
            INSTALL SONAME 'auth_ed25519';
            CREATE USER '{ED25519_USER}'@'%' IDENTIFIED VIA ed25519
                USING PASSWORD('{ED25519_PASSWORD}');
            GRANT ALL ON *.* TO '{ED25519_USER}'@'%';
            CREATE USER '{TLS_USER}'@'%' IDENTIFIED BY '{TLS_PASSWORD}' REQUIRE SSL;
            GRANT ALL ON *.* TO '{TLS_USER}'@'%';
        """)
        return self

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("mariadbd exited; see " + os.path.join(self.dir, "error.log"))
            r = subprocess.run(["mariadb-admin", "--no-defaults", f"--socket={self.socket}",
                                "-uroot", "ping"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError("mariadbd did not become ready")

    def sql(self, statements, database=None):
        """Runs SQL as root over the server's own socket (not through the proxy)."""
        cmd = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"]
        if database:
            cmd.append(database)
        return subprocess.run(cmd, input=statements, check=True, capture_output=True,
                              text=True).stdout

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
