"""The operations files CI can check without a Docker engine (issue 8): the compose file is
valid for Debian's docker-compose, and the Dockerfile keeps the promises of docker/Dockerfile's
header (CI's build steps, a non-root user, uniqguard as entrypoint, a health check)."""
import os
import shutil
import subprocess

from harness.proxy import REPO


def test_compose_file_is_valid():
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is missing: scripts/install-deps installs Debian's"
    r = subprocess.run([compose, "-f", os.path.join(REPO, "docker-compose.yml"), "config", "-q"],
                       capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([compose, "-f", os.path.join(REPO, "docker-compose.yml"), "config",
                        "--services"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert sorted(r.stdout.split()) == ["mariadb", "postgres", "uniqguard-mariadb",
                                        "uniqguard-postgres"]


def test_compose_mounts_exist():
    for path in ("docker/postgres-init/01-demo.sql", "docker/mariadb-init/01-demo.sql",
                 "config/docker-postgres.toml", "config/docker-mariadb.toml"):
        assert os.path.isfile(os.path.join(REPO, path)), path


def test_dockerfile_builds_as_ci_and_runs_as_non_root():
    with open(os.path.join(REPO, "docker", "Dockerfile")) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    text = "\n".join(lines)
    assert lines[0] == "FROM debian:bookworm AS build"
    assert "RUN bash scripts/install-deps" in text
    assert "cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo" in text
    assert "FROM debian:bookworm-slim" in text
    assert "USER uniqguard" in text
    assert 'ENTRYPOINT ["uniqguard"]' in text
    assert "HEALTHCHECK" in text and "/healthz" in text
