"""Runs docs/guide-django.md: every `$` line of its ```sh blocks, in order, in a copy of the
example project (docs/guide-django/), against the test PostgreSQL. The output shown under a
command must appear in the command's output, line by line and in order (`...` matches any
text; blank lines are not compared); `[exit N]` gives the expected exit status (else 0).
`cmd &` starts a background process (the proxy) and `kill %1` stops it, as in a shell. The
guide's ports (5432 the server, 6432 the proxy, 9187 the admin endpoint) are replaced by the
test's."""
import os
import re
import shutil
import signal
import subprocess

from harness.pg_server import PROXY_PASSWORD
from harness.ports import free_port, wait_for_port
from harness.proxy import BINARY, REPO

GUIDE = os.path.join(REPO, "docs", "guide-django.md")
PROJECT = os.path.join(REPO, "docs", "guide-django")


def guide_steps():
    """[(command, [expected lines])] from the guide's ```sh blocks."""
    steps, inside = [], False
    with open(GUIDE) as f:
        for line in f.read().splitlines():
            if line.startswith("```"):
                inside = line == "```sh"
                continue
            if not inside:
                continue
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip():
                steps[-1][1].append(line.rstrip())
    return steps


def matches(expected, output):
    """Each expected line (except '...' alone) fully matches an output line, in order."""
    lines = [l.rstrip() for l in output.splitlines()]
    at = 0
    for want in expected:
        if want == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in want.split("...")))
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


def test_the_guide_runs_as_written(pg, tmp_path):
    pg.psql_admin("DROP DATABASE IF EXISTS courses")
    pg.psql_admin("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN "
                  "CREATE ROLE app LOGIN PASSWORD 'app'; END IF; END $$")
    pg.psql_admin("CREATE DATABASE courses OWNER app")
    work = tmp_path / "project"
    shutil.copytree(PROJECT, work)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(BINARY, bindir / "uniqguard")
    ports = {"5432": str(pg.port), "6432": str(free_port()), "9187": str(free_port())}

    def localise(text):
        for guide_port, port in ports.items():
            text = text.replace(guide_port, port)
        return text

    config = work / "uniqguard.toml"
    config.write_text(localise(config.read_text()))
    env = dict(os.environ, PATH=f"{bindir}:/usr/bin:/bin", PGHOST="127.0.0.1",
               PGPORT=str(pg.port), PGUSER="postgres", PGDATABASE="courses", DB_PORT=str(pg.port),
               UNIQGUARD_PASSWORD=PROXY_PASSWORD, APP_PASSWORD="app", PYTHONDONTWRITEBYTECODE="1")
    background = []
    try:
        for command, expected in guide_steps():
            command = localise(command)
            expected = [localise(e) for e in expected]
            if command == "kill %1":
                proc = background.pop()
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=30) == 0, f"{command}: the proxy exited {proc.returncode}"
                continue
            if command.endswith(" &"):
                # exec: the PID is the proxy's own, so stopping it stops the proxy.
                background.append(subprocess.Popen(["bash", "-c", "exec " + command[:-2]],
                                                   cwd=work, env=env))
                wait_for_port(int(ports["6432"]))
                continue
            status = 0
            if expected and re.fullmatch(r"\[exit \d+\]", expected[-1]):
                status = int(expected.pop()[6:-1])
            r = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True,
                               text=True, timeout=180)
            output = r.stdout + r.stderr
            assert r.returncode == status, f"$ {command}\nexit {r.returncode}\n{output}"
            missing = matches(expected, output)
            assert missing is None, f"$ {command}\nno line matches {missing!r} in:\n{output}"
    finally:
        for proc in background:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    assert not background, "the guide leaves a proxy running"
