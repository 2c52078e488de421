"""Starts the uniqguard binary under test with a generated config and stops it by its PID."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from .ports import free_port, wait_for_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BINARY = os.environ.get("UNIQGUARD_BIN", os.path.join(REPO, "build", "uniqguard"))


class Proxy:
    def __init__(self, backend_port, backend_tls="disable", tls_ca=None, certs=None,
                 max_message_bytes=None, extra_listen="", extra="", log_level="info",
                 shutdown_timeout_ms=5000, protocol="postgres", admin_token=None,
                 sanitizer_options=None):
        self.port = free_port()
        self.admin_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="uniqguard-proxy-")
        self.config_path = os.path.join(self.dir, "uniqguard.toml")
        listen = [f'address = "127.0.0.1:{self.port}"', f'protocol = "{protocol}"',
                  f"shutdown_timeout_ms = {shutdown_timeout_ms}"]
        if certs:
            listen += [f'tls_cert = "{certs["cert"]}"', f'tls_key = "{certs["key"]}"']
        if max_message_bytes:
            listen.append(f"max_message_bytes = {max_message_bytes}")
        backend = [f'address = "127.0.0.1:{backend_port}"', f'tls = "{backend_tls}"',
                   'user = "uniqguard"', 'password = "proxy-secret"', 'database = "app"']
        if tls_ca:
            backend.append(f'tls_ca = "{tls_ca}"')
        with open(self.config_path, "w") as f:
            f.write("[listen]\n" + "\n".join(listen) + "\n" + extra_listen + "\n"
                    "[backend]\n" + "\n".join(backend) + "\n"
                    f'[admin]\naddress = "127.0.0.1:{self.admin_port}"\n'
                    + (f'token = "{admin_token}"\n' if admin_token else "") +
                    f'[log]\nlevel = "{log_level}"\n' + extra)
        self.process = None
        # Appended to ASAN_OPTIONS for this proxy only (the last value of an option wins).
        self.sanitizer_options = sanitizer_options

    def start(self):
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.stderr = open(self.stderr_path, "w")
        env = None
        if self.sanitizer_options:
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = ":".join(
                filter(None, [env.get("ASAN_OPTIONS"), self.sanitizer_options]))
        self.process = subprocess.Popen([BINARY, "serve", "-c", self.config_path],
                                        stdout=subprocess.DEVNULL, stderr=self.stderr, env=env)
        try:
            wait_for_port(self.port, process=self.process)
        except RuntimeError as e:
            raise RuntimeError(f"{e}; its log:\n{self.log_text()}") from None
        return self

    def dsn(self, user="postgres", database="app", **params):
        parts = [f"host=127.0.0.1 port={self.port} user={user} dbname={database}"]
        parts += [f"{k}={v}" for k, v in params.items()]
        return " ".join(parts)

    def wait_until_no_clients(self, timeout=5):
        """The start-up port probe (a TCP connect and close) is a client session until the proxy
        has seen it close, and holds a listen.max_clients slot meanwhile: waits until the admin
        endpoint counts no open client connection."""
        url = f"http://127.0.0.1:{self.admin_port}/metrics"
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(url, timeout=5) as r:
                if "\nuniqguard_client_connections_open 0\n" in r.read().decode():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("a client session is still open:\n" + self.log_text())
            time.sleep(0.05)

    def log_text(self):
        if getattr(self, "final_log", None) is not None:
            return self.final_log
        if not self.stderr.closed:
            self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the proxy and returns its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()
        with open(self.stderr_path) as f:
            self.final_log = f.read()
        if self.process.returncode == 0:
            shutil.rmtree(self.dir, ignore_errors=True)  # kept on failure: its log tells why
        return self.process.returncode
