"""Runs `uniqguard audit` / `uniqguard dedupe` against the test servers with a generated
configuration (no proxy is started: the tools talk to the server themselves)."""
import json
import os
import subprocess

from .mariadb_server import DATABASE as MY_DATABASE, NATIVE_PASSWORD, NATIVE_USER
from .pg_server import PROXY_PASSWORD, PROXY_USER
from .proxy import BINARY, REPO


def built_tool(name):
    """The path of a tool built under tests/tools: in $UNIQGUARD_TOOLS_DIR (CI points it at the
    sanitizer build), else in build/tests/tools."""
    tools_dir = os.environ.get("UNIQGUARD_TOOLS_DIR")
    return os.path.join(tools_dir or os.path.join(REPO, "build", "tests", "tools"), name)


def guard_toml(table, columns, **options):
    text = f'[[guard]]\ntable = "{table}"\ncolumns = [{", ".join(json.dumps(c) for c in columns)}]\n'
    for key, value in options.items():
        text += f"{key} = {json.dumps(value)}\n"
    return text


def write_config(tmp_path, protocol, port, guards, user=None, password=None, tls="disable",
                 extra_backend=""):
    if protocol == "postgres":
        user, password, database = user or PROXY_USER, password or PROXY_PASSWORD, "app"
    else:
        user, password, database = user or NATIVE_USER, password or NATIVE_PASSWORD, MY_DATABASE
    path = tmp_path / f"uniqguard-{protocol}.toml"
    path.write_text(
        f'[listen]\nprotocol = "{protocol}"\n'
        f'[backend]\naddress = "127.0.0.1:{port}"\ntls = "{tls}"\n'
        f'user = "{user}"\npassword = "{password}"\ndatabase = "{database}"\n'
        + extra_backend + "\n"
        + "".join(guards))
    return path


def run_tool(config, *args, env=None, timeout=120):
    run_env = dict(os.environ)
    run_env.update(env or {})
    return subprocess.run([BINARY, *args, "-c", str(config)], capture_output=True, text=True,
                          timeout=timeout, env=run_env)


def start_tool(config, *args):
    return subprocess.Popen([BINARY, *args, "-c", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def audit_json(config, *args):
    r = run_tool(config, "audit", "--format", "json", *args)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return r.returncode, json.loads(r.stdout)


def groups_of(doc, guard):
    """{key tuple: [identity tuples]} of one guard in an audit JSON document."""
    [g] = [g for g in doc["guards"] if g["guard"] == guard]
    return {tuple(x["key"]): [tuple(r.values()) for r in x["rows"]] for x in g["groups"]}
