"""Raw PostgreSQL wire protocol (3.0) for tests that must see exact bytes: build startup-phase
packets and frontend messages, read backend messages, parse ErrorResponse fields, and
authenticate (cleartext, md5, SCRAM-SHA-256) without libpq."""
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import time

PROTOCOL_3_0 = 196608          # 3 << 16
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102

AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5 = 0, 3, 5
AUTH_SASL, AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = 10, 11, 12


# ---------------------------------------------------------------------------- packets

def startup_message(params: dict, version: int = PROTOCOL_3_0) -> bytes:
    body = struct.pack("!I", version)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def ssl_request() -> bytes:
    return struct.pack("!II", 8, SSL_REQUEST_CODE)


def gssenc_request() -> bytes:
    return struct.pack("!II", 8, GSSENC_REQUEST_CODE)


def cancel_request(pid: int, secret: int) -> bytes:
    return struct.pack("!IIII", 16, CANCEL_REQUEST_CODE, pid, secret)


def message(type_: bytes, body: bytes = b"") -> bytes:
    """A typed frontend message: type byte, int32 length (self-inclusive), body."""
    return type_ + struct.pack("!I", len(body) + 4) + body


def query(sql: str) -> bytes:
    return message(b"Q", sql.encode() + b"\0")


def terminate() -> bytes:
    return message(b"X")


# ---------------------------------------------------------------------------- parsing

def parse_fields(body: bytes) -> dict:
    """ErrorResponse / NoticeResponse body -> {field code char: value}."""
    fields = {}
    i = 0
    while i < len(body) and body[i] != 0:
        code = chr(body[i])
        end = body.index(b"\0", i + 1)
        fields[code] = body[i + 1:end].decode("utf-8", "replace")
        i = end + 1
    return fields


def parse_data_row(body: bytes) -> list:
    n = struct.unpack("!H", body[:2])[0]
    i, cols = 2, []
    for _ in range(n):
        ln = struct.unpack("!i", body[i:i + 4])[0]
        i += 4
        if ln < 0:
            cols.append(None)
        else:
            cols.append(body[i:i + ln].decode())
            i += ln
    return cols


class ConnectionClosed(Exception):
    pass


class RawClient:
    """A socket speaking the PostgreSQL protocol by hand."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout
        self.backend_key = None
        self.parameters = {}

    # -- plumbing
    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out waiting for the proxy")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed(f"connection closed; unread bytes: {self.buf!r}")
        self.buf += chunk

    def read_exact(self, n: int, timeout=None) -> bytes:
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_message(self, timeout=None):
        """One backend message: (type as a 1-char str, body bytes)."""
        head = self.read_exact(5, timeout)
        length = struct.unpack("!I", head[1:])[0]
        body = self.read_exact(length - 4, timeout)
        return chr(head[0]), body

    def read_until(self, wanted: str, timeout=None, stop_on_error=False):
        """Messages up to and including the first of type `wanted` (or the first 'E' when
        `stop_on_error`)."""
        seen = []
        while True:
            t, body = self.read_message(timeout)
            seen.append((t, body))
            if t == "K":
                self.backend_key = struct.unpack("!II", body)
            elif t == "S":
                name, value, _ = body.split(b"\0")
                self.parameters[name.decode()] = value.decode()
            if t == wanted or (stop_on_error and t == "E"):
                return seen

    def is_closed(self, timeout=5.0) -> bool:
        """True when the peer closes (EOF or reset) within `timeout`, reading past any bytes."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.sock.settimeout(remaining)
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def start_tls(self, ca=None):
        """Sends SSLRequest; on 'S' wraps the socket. Returns the server's answer byte."""
        self.send(ssl_request())
        answer = self.read_exact(1)
        if answer == b"S":
            ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
            if not ca:
                ctx.check_hostname = False
            self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        return answer

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- session
    def startup(self, user="postgres", database="app", password=None, version=PROTOCOL_3_0,
                extra=None, sasl_gs2=None):
        """Sends StartupMessage and answers authentication. Returns every message read up to
        ReadyForQuery or the first ErrorResponse. `sasl_gs2` overrides the SCRAM gs2 header
        (e.g. b"y,," to claim channel-binding support without using it)."""
        params = {"user": user, "database": database}
        params.update(extra or {})
        self.send(startup_message(params, version))
        seen = []
        while True:
            t, body = self.read_message()
            seen.append((t, body))
            if t == "E":
                return seen
            if t == "K":
                self.backend_key = struct.unpack("!II", body)
            elif t == "S":
                name, value, _ = body.split(b"\0")
                self.parameters[name.decode()] = value.decode()
            elif t == "Z":
                return seen
            elif t == "R":
                code = struct.unpack("!I", body[:4])[0]
                if code == AUTH_CLEARTEXT:
                    self.send(message(b"p", password.encode() + b"\0"))
                elif code == AUTH_MD5:
                    salt = body[4:8]
                    inner = hashlib.md5((password + user).encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + salt).hexdigest()
                    self.send(message(b"p", b"md5" + outer.encode() + b"\0"))
                elif code == AUTH_SASL:
                    mechanisms = [m.decode() for m in body[4:].split(b"\0") if m]
                    self.sasl_mechanisms = mechanisms
                    seen += self._scram(password, sasl_gs2 or b"n,,")
                    if seen[-1][0] == "E":
                        return seen
                elif code not in (AUTH_OK, AUTH_SASL_FINAL):
                    raise AssertionError(f"unexpected authentication request {code}")

    def _scram(self, password, gs2):
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n=,r={nonce}"
        client_first = gs2 + first_bare.encode()
        body = b"SCRAM-SHA-256\0" + struct.pack("!I", len(client_first)) + client_first
        self.send(message(b"p", body))
        seen = []
        t, body = self.read_message()
        seen.append((t, body))
        if t == "E":
            return seen
        server_first = body[4:].decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c={base64.b64encode(gs2).decode()},r={attrs['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        final = f"{without_proof},p={base64.b64encode(proof).decode()}"
        self.send(message(b"p", final.encode()))
        return seen

    def simple_query(self, sql: str, timeout=None):
        """Runs a simple query; returns the messages up to ReadyForQuery."""
        self.send(query(sql))
        seen = []
        while True:
            t, body = self.read_message(timeout)
            seen.append((t, body))
            if t == "Z":
                return seen


def unnamed_execution(sql: str, values=(), binary=False, describe=False) -> bytes:
    """Parse of the unnamed statement with no declared types (as node-postgres, asyncpg and pgx
    send it), Bind of `values` (bytes, or None for NULL; all in binary format or all in text),
    a Describe of the portal if asked, Execute and Sync: one round trip's messages."""
    params = b"".join(b"\xff\xff\xff\xff" if v is None else len(v).to_bytes(4, "big") + v
                      for v in values)
    formats = b"\0\x01\0\x01" if binary else b"\0\0"
    return b"".join([
        message(b"P", b"\0" + sql.encode() + b"\0\0\0"),
        message(b"B", b"\0\0" + formats + len(values).to_bytes(2, "big") + params + b"\0\0"),
        message(b"D", b"P\0") if describe else b"",
        message(b"E", b"\0\0\0\0\0"),
        message(b"S"),
    ])


def comparable(messages, left_out="FLR") -> list:
    """`messages` with each ErrorResponse read into its fields, less `left_out` (by default the
    server's source file, line and routine, which differ between a proxy's and a twin's)."""
    return [(t, {k: v for k, v in parse_fields(body).items() if k not in left_out})
            if t == "E" else (t, body) for t, body in messages]


def error_of(messages) -> dict:
    """The fields of the first ErrorResponse among `messages` (AssertionError if none)."""
    for t, body in messages:
        if t == "E":
            return parse_fields(body)
    raise AssertionError(f"no ErrorResponse in {[t for t, _ in messages]}")


def rows_of(messages) -> list:
    return [parse_data_row(body) for t, body in messages if t == "D"]
