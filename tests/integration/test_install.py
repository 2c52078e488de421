"""`cmake --install` puts the binary, the example configuration and the systemd unit in the usual
places (issue 8, item 8): installed into a DESTDIR from the build the tests run."""
import os
import subprocess

from harness.proxy import BINARY


def test_cmake_install_into_destdir(tmp_path):
    build_dir = os.path.dirname(BINARY)
    env = dict(os.environ, DESTDIR=str(tmp_path))
    r = subprocess.run(["cmake", "--install", build_dir, "--prefix", "/usr"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr

    binary = tmp_path / "usr/bin/uniqguard"
    assert os.access(binary, os.X_OK)
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert r.stdout.startswith("uniqguard ")

    example = tmp_path / "usr/share/doc/uniqguard/examples/uniqguard.example.toml"
    assert example.read_text().startswith("# uniqguard example configuration")

    assert (tmp_path / "usr/share/doc/uniqguard/operations.md").is_file()

    unit = (tmp_path / "usr/lib/systemd/system/uniqguard.service").read_text().splitlines()
    assert "ExecStart=/usr/bin/uniqguard serve -c /etc/uniqguard/uniqguard.toml" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "User=uniqguard" in unit
    assert "DynamicUser=yes" in unit
    assert "WantedBy=multi-user.target" in unit
