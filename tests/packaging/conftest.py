"""One build per test run: build/build_exe.sh runs once, and every packaging test uses its
two outputs -- the single file and the portable folder (one PyInstaller Analysis). With
pytest-xdist the packaging tests may run on several workers: the first to need the build
makes it, under a file lock in the folder the workers share, and the others wait for it and
use the same outputs.

Set TFTSR_PREBUILT_DIST=/path/to/dist (holding ``tftsr`` and ``tftsr-portable/``) to test
outputs built earlier instead of building (the build takes 2.5-5 minutes on two cores).
The build time, the sizes and the size budget are written to
test-artifacts/executable.json.

The single file unpacks itself into ``$XDG_CACHE_HOME/tftsr/``; the tests point
XDG_CACHE_HOME at one folder of their own for the session, so the real cache is never
touched and the payload is unpacked once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT, tftsr_env, unavailable

EXE_NAME = "tftsr.exe" if sys.platform == "win32" else "tftsr"
BUILD_TIMEOUT = 1200


@dataclass(frozen=True)
class Builds:
    single: Path  # the single file
    portable: Path  # the portable folder
    cache: Path  # XDG_CACHE_HOME for the single file during the tests

    @property
    def portable_exe(self) -> Path:
        return self.portable / EXE_NAME

    def env(self, data_dir: Path, **extra) -> dict:
        """tftsr_env plus the session's cache folder for the single file."""
        return tftsr_env(data_dir, XDG_CACHE_HOME=str(self.cache), **extra)


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> Builds:
    cache = tmp_path_factory.mktemp("single-file-cache")
    prebuilt = os.environ.get("TFTSR_PREBUILT_DIST")
    if prebuilt:
        dist = Path(prebuilt)
        found = Builds(dist / EXE_NAME, dist / "tftsr-portable", cache)
        assert found.single.is_file() and found.portable_exe.is_file(), (
            f"TFTSR_PREBUILT_DIST={dist} must hold {EXE_NAME} and tftsr-portable/{EXE_NAME}")
        yield found
        shutil.rmtree(cache, ignore_errors=True)
        return
    if shutil.which("bash") is None:
        unavailable("bash is needed to run build/build_exe.sh")
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, users = shared / "dist", shared / "dist.users"
    with FileLock(str(shared / "dist.lock")):
        failed = shared / "dist.failed"
        assert not failed.exists(), failed.read_text()
        if not (out / ".built").exists():
            _build(out, failed)
        users.write_text(str(int(users.read_text() or 0) + 1 if users.exists() else 1))
    found = Builds(out / EXE_NAME, out / "tftsr-portable", cache)
    yield found
    with FileLock(str(shared / "dist.lock")):
        left = int(users.read_text()) - 1
        users.write_text(str(left))
        if left == 0:
            shutil.rmtree(out, ignore_errors=True)  # ~650 MiB; do not let old runs pile up
    shutil.rmtree(cache, ignore_errors=True)


def _build(out: Path, failed: Path) -> None:
    """Run build/build_exe.sh into ``out``, check its outputs and write the build's figures
    to test-artifacts/executable.json; a failure is also written to ``failed`` so that
    the other workers report it instead of building again."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = subprocess.run(["bash", str(ROOT / "build" / "build_exe.sh"), str(out)],
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        failed.write_text(f"build failed:\n{result.stdout}\n{result.stderr}")
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    found = Builds(out / EXE_NAME, out / "tftsr-portable", out)
    assert found.single.is_file() and found.portable_exe.is_file(), (
        f"the build printed success but an output is missing:\n{result.stdout}")
    assert "Size budget" in result.stdout, "the build output must show the size budget"
    ARTIFACTS.mkdir(exist_ok=True)
    folder_bytes = sum(p.stat().st_size for p in found.portable.rglob("*")
                       if p.is_file() and not p.is_symlink())
    budget = result.stdout[result.stdout.index("Size budget"):].splitlines()
    (ARTIFACTS / "executable.json").write_text(json.dumps(
        {"build_seconds": round(seconds, 1), "size_bytes": found.single.stat().st_size,
         "size_mib": round(found.single.stat().st_size / 2**20, 1),
         "portable_folder_mib": round(folder_bytes / 2**20, 1), "size_budget": budget},
        indent=2))
    (out / ".built").write_text("")
