"""Starting the server where the data folder cannot be written: exit 2, a clear message,
no traceback (README: exit code 2 when the database cannot be opened, read-only disk
included).

The folder is made read-only for real: a read-only bind mount of it, in a private mount
namespace (``unshare``; a user namespace when not root), so nothing outside the test sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import tftsr_env

READ_ONLY_RUN = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99; '
                 'shift; exec "$@"')


def unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


@pytest.mark.parametrize("argv", [["serve", "--no-browser"], []], ids=["serve", "default"])
def test_a_read_only_data_folder_exits_2_with_a_clear_message(tmp_path, argv):
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        unavailable("needs Linux mount namespaces (util-linux unshare)")
    data = tmp_path / "data"
    env = tftsr_env(data)
    made = subprocess.run([sys.executable, "-m", "tftsr", "db", "migrate", "--data-dir",
                           str(data)], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    namespace = ["-m"] if os.geteuid() == 0 else ["-r", "-m"]
    proc = subprocess.run(
        ["unshare", *namespace, "sh", "-c", READ_ONLY_RUN, "sh", str(data),
         sys.executable, "-m", "tftsr", *argv, "--data-dir", str(data)],
        env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode == 99:
        unavailable(f"cannot make a read-only mount here: {proc.stderr.strip()}")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "Traceback" not in output
    assert "read-only" in proc.stderr and str(data) in proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in data.iterdir()} == before
