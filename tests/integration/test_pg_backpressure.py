"""A client that asks for a large result and stops reading must not grow the proxy's memory:
each direction reads only after its previous write completed, so the server is held back by
TCP flow control, not buffered in the proxy."""
import time

import psycopg2

from harness import pgwire


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_client_that_stops_reading_does_not_grow_proxy_memory(proxy):
    client = pgwire.RawClient(proxy.port)
    client.send(pgwire.startup_message({"user": "postgres", "database": "app"}))
    client.read_until("Z")
    before = resident_kib(proxy.process.pid)
    # About 400 MB of result; the client reads none of it.
    client.send(pgwire.query("SELECT repeat('x', 1000000) FROM generate_series(1, 400)"))
    time.sleep(3)
    grown = resident_kib(proxy.process.pid) - before
    # The kernel's socket buffers hold a few MB; the proxy holds one 16 KiB read buffer.
    assert grown < 16 * 1024, f"proxy grew by {grown} KiB while the client did not read"

    # Other sessions are unaffected meanwhile.
    with psycopg2.connect(proxy.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 42")
        assert cur.fetchone() == (42,)

    # And the stalled client still gets every byte once it reads.
    rows = 0
    while True:
        t, body = client.read_message(timeout=60)
        if t == "D":
            assert len(body) == 2 + 4 + 1000000
            rows += 1
        elif t == "Z":
            break
    assert rows == 400
    assert resident_kib(proxy.process.pid) - before < 16 * 1024
