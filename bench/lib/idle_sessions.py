"""Opens many idle PostgreSQL client sessions through one proxy and reports its memory per session.

Called by bench/pg-passthrough with Debian's /usr/bin/python3 (standard library only). Each session
is a raw socket that performs the startup handshake (trust authentication: StartupMessage
user/database, read until ReadyForQuery 'Z'), optionally after SSLRequest and a TLS handshake, and
then stays open doing nothing. The proxy's resident memory (VmRSS from /proc/PID/status) is read
before and after; the difference divided by the sessions is the figure. Afterwards every session
runs `SELECT 1` (so an idle session that the proxy dropped counts as an error), then all are
closed and the memory is read once more.

Prints one line of `key=value` pairs on stdout for the caller's table; progress goes to stderr.
"""
import argparse
import resource
import socket
import ssl
import struct
import sys
import time

PROTOCOL_3_0 = 196608
SSL_REQUEST_CODE = 80877103


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def vm_threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def startup_message(user, database):
    body = struct.pack("!I", PROTOCOL_3_0)
    for k, v in (("user", user), ("database", database), ("application_name", "uniqguard-idle")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the proxy")
        buf += chunk
    return buf


def read_until_ready(sock):
    """Reads backend messages until ReadyForQuery; fails on ErrorResponse or non-trust auth."""
    while True:
        head = recv_exact(sock, 5)
        kind, length = head[:1], struct.unpack("!I", head[1:])[0]
        body = recv_exact(sock, length - 4)
        if kind == b"E":
            fields = dict((f[:1].decode(), f[1:].decode(errors="replace"))
                          for f in body.split(b"\0") if f)
            raise RuntimeError(f"server error {fields.get('C')}: {fields.get('M')}")
        if kind == b"R" and struct.unpack("!I", body[:4])[0] != 0:
            raise RuntimeError("the server asked for a password: this benchmark needs trust auth")
        if kind == b"Z":
            return


def begin_session(args, tls_ctx):
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls_ctx is not None:
        sock.sendall(struct.pack("!II", 8, SSL_REQUEST_CODE))
        answer = recv_exact(sock, 1)
        if answer != b"S":
            raise RuntimeError(f"SSLRequest answered {answer!r}, not 'S': TLS is not offered")
        sock = tls_ctx.wrap_socket(sock)  # handshake now, blocking
    sock.sendall(startup_message(args.user, args.database))
    return sock


def simple_query(sock, sql):
    body = sql.encode() + b"\0"
    sock.sendall(b"Q" + struct.pack("!I", len(body) + 4) + body)
    read_until_ready(sock)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the process whose VmRSS is measured")
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--database", default="bench")
    ap.add_argument("--batch", type=int, default=50, help="sessions whose startup is in flight at once")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before reading VmRSS")
    ap.add_argument("--timeout", type=float, default=15.0, help="per socket operation, seconds")
    ap.add_argument("--max-errors", type=int, default=10, help="stop opening sessions after this many errors")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.sessions + 100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
            sys.exit(f"open-files limit {hard} is below the {need} this test needs")

    tls_ctx = None
    if args.tls:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls_ctx.check_hostname = False
        tls_ctx.verify_mode = ssl.CERT_NONE  # self-signed benchmark certificate

    # One session opened and closed first, so one-time allocations (first TLS context use, worker
    # buffers) are not charged to the idle sessions.
    warm = begin_session(args, tls_ctx)
    read_until_ready(warm)
    warm.close()
    time.sleep(args.settle)

    before = vm_rss_kib(args.pid)
    sessions, errors, first_error = [], 0, None
    t0 = time.monotonic()
    while len(sessions) + errors < args.sessions and errors < args.max_errors:
        batch = []
        for _ in range(min(args.batch, args.sessions - len(sessions) - errors)):
            try:
                batch.append(begin_session(args, tls_ctx))
            except Exception as e:  # noqa: BLE001 - counted and reported
                errors += 1
                first_error = first_error or repr(e)
        for s in batch:
            try:
                read_until_ready(s)
                sessions.append(s)
            except Exception as e:  # noqa: BLE001
                errors += 1
                first_error = first_error or repr(e)
                s.close()
        if (len(sessions) + errors) % 500 < args.batch:
            print(f"    {len(sessions)} sessions open, {errors} errors", file=sys.stderr, flush=True)
    open_s = time.monotonic() - t0
    time.sleep(args.settle)
    after = vm_rss_kib(args.pid)
    threads = vm_threads(args.pid)

    alive = 0
    for s in sessions:
        try:
            simple_query(s, "SELECT 1")
            alive += 1
        except Exception as e:  # noqa: BLE001
            first_error = first_error or repr(e)
    for s in sessions:
        s.close()
    time.sleep(args.settle)
    closed = vm_rss_kib(args.pid)

    per = (after - before) / len(sessions) if sessions else float("nan")
    print(f"sessions={len(sessions)} errors={errors} alive={alive} rss_before_kib={before} "
          f"rss_after_kib={after} per_session_kib={per:.2f} rss_closed_kib={closed} "
          f"threads={threads} open_seconds={open_s:.1f}")
    if first_error:
        print(f"    first error: {first_error}", file=sys.stderr)
    return 0 if errors == 0 and alive == len(sessions) else 1


if __name__ == "__main__":
    sys.exit(main())
