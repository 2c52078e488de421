"""Free loopback ports for the servers the tests start: tests never hard-code a port.

A port the kernel hands out for bind(0) comes from the ephemeral range, the same range it takes
the local ports of outgoing connections from: between our check that a port is free and the
server binding it, any client connection of the test run (to PostgreSQL, MariaDB, the proxy) may
take it, and the server then fails with "address in use" (seen once in CI). So the ports come
from below the ephemeral range, which outgoing connections never use, are checked by binding
them, and none is handed out twice in one test run.
"""
import random
import socket

_handed_out = set()
_rng = random.SystemRandom()  # not the module's generator, which a test may seed


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    high = _ephemeral_low() - 1
    low = min(10000, high // 2)
    for _ in range(1000):
        port = _rng.randint(low, high)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    # Every try below the ephemeral range was taken: let the kernel choose.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, process=None) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")
