"""A throw-away certificate authority and server certificates, made with the openssl CLI."""
import os
import subprocess


def _run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certificates(directory: str) -> dict:
    """CA, plus one server certificate for 127.0.0.1/localhost. Returns the paths."""
    os.makedirs(directory, exist_ok=True)
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=uniqguard test CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=directory)
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", "server.key", "-out", "server.csr", cwd=directory)
    _run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=directory)
    os.chmod(os.path.join(directory, "server.key"), 0o600)
    return {
        "ca": os.path.join(directory, "ca.crt"),
        "cert": os.path.join(directory, "server.crt"),
        "key": os.path.join(directory, "server.key"),
    }


def make_client_certificate(directory: str, common_name: str) -> dict:
    """A client certificate for `common_name` (the user a PostgreSQL `cert` login maps to),
    signed by the CA make_certificates() left in `directory`. Returns the paths."""
    key, csr, crt = (f"client-{common_name}.{ext}" for ext in ("key", "csr", "crt"))
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}",
         "-keyout", key, "-out", csr, cwd=directory)
    _run("openssl", "x509", "-req", "-in", csr, "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-out", crt, cwd=directory)
    os.chmod(os.path.join(directory, key), 0o600)
    return {"cert": os.path.join(directory, crt), "key": os.path.join(directory, key)}
