"""log.format = "json": every line the proxy logs is one JSON object (issue 8, item 4), even
when a message quotes names or server text."""
import json
import time

import psycopg2
import pytest

from harness.proxy import Proxy


def test_every_log_line_is_one_json_object(pg):
    extra = ('format = "json"\n'
             '[[guard]]\ntable = "public.log_fmt_missing"\ncolumns = ["a"]\nname = "log_fmt_g"\n'
             'consistency = "strict"\n')
    proxy = Proxy(pg.port, extra=extra).start()
    try:
        # A client the server turns away, and a guard whose table is missing; the start-up
        # warning about consistency = "strict" has quotes in it.
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(proxy.dsn(user="no_such_user", connect_timeout=10)).close()
        deadline = time.monotonic() + 30
        while "guard log_fmt_g: " not in proxy.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert proxy.stop() == 0
    lines = proxy.final_log.splitlines()
    assert len(lines) >= 3
    objects = [json.loads(line) for line in lines]
    for o in objects:
        assert set(o) == {"time", "level", "message"}
        assert o["level"] in {"trace", "debug", "info", "warning", "error", "critical"}
    messages = [o["message"] for o in objects]
    assert any(m.startswith("uniqguard ") and " listening on " in m for m in messages)
    assert any(m.startswith("guard log_fmt_g: ") for m in messages), messages
    assert any('consistency = "strict"' in m for m in messages), messages
    assert messages[-1] == "uniqguard stopped"
