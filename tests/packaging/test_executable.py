"""The two executables built by build/build_exe.sh, run for real: the single file and the
portable folder's tftsr (one PyInstaller Analysis, built once per test session by
tests/packaging/conftest.py). This module runs the single file -- the CLI, the database,
browser mode, the real window, its cache folder and what a crash leaves behind; the
portable folder has tests/packaging/test_portable_build.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlcipher3
from tftsr import __version__

from tests.conftest import ROOT, TEST_KEY, unavailable
from tests.packaging.conftest import BUILD_TIMEOUT, Builds
from tests.packaging.helpers import open_encrypted, open_window, run, serve

# The session's first packaging test builds both outputs in its setup, so pytest-timeout
# (300 s per test by default) must allow for the whole build.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT + 300)]


def bundled_modules(exe: Path) -> set[str]:
    """The Python modules packed into the executable's PYZ archive."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(exe))
    modules: set[str] = set()
    for name in archive.toc:
        if name.endswith(".pyz") or name == "PYZ.pyz":
            modules.update(archive.open_embedded_archive(name).toc)
    return modules


def test_the_bundle_contains_the_app_and_no_test_code(builds: Builds):
    """Both outputs carry the same Python modules: the folder build's executable holds them
    (the single file is that folder, compressed)."""
    modules = bundled_modules(builds.portable_exe)
    assert {"tftsr.bridge", "tftsr.desktop", "tftsr.cli"} <= modules
    assert not [m for m in modules if m == "tests" or m.startswith(("tests.", "pytest", "_pytest"))]


def startup_scripts(exe: Path) -> list[str]:
    """The scripts the executable runs at start, in order (run-time hooks, then __main__)."""
    from PyInstaller.archive.readers import CArchiveReader

    return [name for name, entry in CArchiveReader(str(exe)).toc.items() if entry[-1] == "s"]


DEFERRED_HOOKS = {"pyi_rth_inspect", "pyi_rth_pkgutil", "pyi_rth_multiprocessing",
                  "pyi_rth_pyqt6"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux build loads Qt")
def test_the_cli_starts_without_qt_and_qt_hooks_wait_for_qt(builds: Builds, tmp_path):
    """PyInstaller's run-time hooks for PyQt6, inspect, pkgutil and multiprocessing are
    not in the start-up sequence but bundled as modules (build/rthook_deferred.py runs each
    on its package's first import): a served app (the single file, which execs its
    unpacked copy) maps no Qt library, while the window tests show Qt still finds its
    plugins and QtWebEngineProcess."""
    scripts = startup_scripts(builds.portable_exe)
    assert scripts[0] == "pyiboot01_bootstrap" and scripts[1] == "rthook_deferred", scripts
    assert scripts[-1] == "__main__" and not DEFERRED_HOOKS & set(scripts), scripts
    assert bundled_modules(builds.portable_exe) >= DEFERRED_HOOKS

    data_dir = tmp_path / "data"
    served = serve(builds.single, builds.env(data_dir), "--data-dir", str(data_dir))
    try:
        assert served.call("ping", echo="cli")["echo"] == "cli"
        maps = Path(f"/proc/{served.proc.pid}/maps").read_text()
    finally:
        served.stop()
    assert "libpython3" in maps, "the served process is not the bundled program"
    assert not re.findall(r"\S*libQt6\S*", maps), "tftsr serve loaded Qt"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="stripped on Linux only")
def test_libraries_are_stripped_and_python_sqlite3_is_left_out(builds: Builds):
    """Symbol tables and debug information are stripped (libpython, sqlcipher3's SQLCipher);
    Python's own sqlite3 binding is not bundled, while libsqlite3 stays for NSS's
    libsoftokn3, which links it."""
    if not shutil.which("readelf"):
        unavailable("readelf (binutils, which PyInstaller needs on Linux) is not installed")
    internal = builds.portable / "_internal"
    libs = [internal / "libpython3.11.so.1.0",
            *internal.glob("sqlcipher3/_sqlite3*.so"), builds.portable_exe]
    assert len(libs) == 3, libs
    for lib in libs:
        sections = subprocess.run(["readelf", "-S", "--wide", str(lib)], capture_output=True,
                                  text=True, check=True).stdout
        assert ".dynsym" in sections, lib
        assert not re.findall(r"\s\.(symtab|debug_\w+)\s", sections), f"{lib} is not stripped"
    assert (internal / "libpython3.11.so.1.0").stat().st_size < 10 * 2**20

    modules = bundled_modules(builds.portable_exe)
    assert "sqlcipher3.dbapi2" in modules
    assert not [m for m in modules if m == "sqlite3" or m.startswith("sqlite3.")]
    assert not list(internal.rglob("lib-dynload/_sqlite3*"))
    softokn = internal / "libsoftokn3.so"
    if softokn.exists():
        needed = subprocess.run(["readelf", "-d", str(softokn)], capture_output=True,
                                text=True, check=True).stdout
        assert "libsqlite3.so.0" in needed and (internal / "libsqlite3.so.0").exists()


def test_version(builds: Builds, tmp_path):
    for exe in (builds.single, builds.portable_exe):
        result = run(exe, "--version", env=builds.env(tmp_path / "unused"))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"TFTSR {__version__}"
    assert not (tmp_path / "unused").exists()


def test_migrate_creates_encrypted_database_then_audit_verifies(builds: Builds, tmp_path):
    data_dir = tmp_path / "fresh"
    result = run(builds.single, "db", "migrate", "--data-dir", str(data_dir),
                 env=builds.env(tmp_path / "env-dir-not-used"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "env-dir-not-used").exists(), "--data-dir must override TFTSR_DATA_DIR"

    db_path = data_dir / "tftsr.db"
    assert db_path.is_file(), f"no database in {data_dir}: {sorted(os.listdir(data_dir))}"
    assert not db_path.read_bytes()[:16].startswith(b"SQLite format 3"), "database is plaintext"

    expected = sorted(p.name for p in (ROOT / "migrations").glob("*.sql"))
    assert expected, "no migrations in the checkout"
    conn = open_encrypted(db_path, TEST_KEY)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]
        assert len(names) == len(expected)
        assert [n.removesuffix(".sql") for n in names] == [e.removesuffix(".sql") for e in expected]
        fts = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'issues_fts'")
        assert fts.fetchone()[0] == 1
    finally:
        conn.close()

    wrong = open_encrypted(db_path, TEST_KEY + " wrong")
    with pytest.raises(sqlcipher3.DatabaseError):
        wrong.execute("SELECT count(*) FROM sqlite_master").fetchone()
    wrong.close()

    verify = run(builds.single, "db", "verify-audit", "--data-dir", str(data_dir),
                 env=builds.env(data_dir))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout


def test_wrong_key_is_refused_without_touching_the_database(builds: Builds, tmp_path):
    data_dir = tmp_path / "data"
    assert run(builds.single, "db", "migrate", env=builds.env(data_dir)).returncode == 0
    before = (data_dir / "tftsr.db").read_bytes()
    result = run(builds.single, "db", "migrate", env=builds.env(data_dir,
                                                                TFTSR_DB_KEY="not the key"))
    assert result.returncode == 2
    assert "key" in result.stderr.lower()
    assert (data_dir / "tftsr.db").read_bytes() == before


def test_served_executable_exports_a_pdf_with_its_bundled_fonts(builds: Builds, tmp_path):
    """Browser mode from the binary: the bundled UI is served, and a PDF export works,
    which needs fpdf2, Pillow and the fonts shipped inside the package (tftsr/docs/fonts)."""
    data_dir = tmp_path / "data"
    served = serve(builds.single, builds.env(data_dir), "--data-dir", str(data_dir))
    try:
        page = served.client.get("/", params={"token": served.token})
        assert page.status_code == 200 and "<div id=\"app\"" in page.text
        detail = served.call("create_issue", title="Disk full on db-prod-07 (東京 region)",
                             severity="high", category="linux",
                             description="/var at 100% after logrotate stopped compressing.")
        rca = served.call("generate_rca", issue_id=detail["issue"]["id"])
        delivery = served.call("export_document", document_id=rca["id"], format="pdf")
        pdf = served.client.get(delivery["url"])
        assert pdf.status_code == 200, pdf.text
        assert pdf.content.startswith(b"%PDF-")
        assert b"DejaVu" in pdf.content, "the bundled DejaVu font was not embedded"
    finally:
        served.stop()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.skipif(sys.platform == "win32", reason="the single-file launcher is POSIX")
def test_the_single_file_unpacks_once_into_its_cache_and_nothing_into_tmp(builds: Builds,
                                                                          tmp_path):
    """A start killed while it unpacks leaves only a .unpack-* folder in the cache (removed
    by the next start), never anything in TMPDIR; later starts reuse the unpacked copy, and
    a killed app leaves nothing in TMPDIR either."""
    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    env = dict(builds.env(tmp_path / "data"), XDG_CACHE_HOME=str(cache), TMPDIR=str(tmp))

    first = subprocess.Popen([str(builds.single), "--version"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(cache.glob("tftsr/.unpack-*/*")):
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    assert listing(tmp) == []
    left = [p.name for p in (cache / "tftsr").iterdir()]
    assert len(left) == 1 and left[0].startswith(".unpack-"), left

    result = run(builds.single, "--version", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"TFTSR {__version__}"
    (unpacked,) = (cache / "tftsr").iterdir()  # the killed start's folder is gone
    assert unpacked.name.startswith(f"{__version__}-")
    assert (unpacked / ".tftsr-complete").is_file() and (unpacked / "tftsr").is_file()
    marker = (unpacked / ".tftsr-complete").stat()

    assert run(builds.single, "--version", env=env).returncode == 0
    assert (unpacked / ".tftsr-complete").stat().st_ino == marker.st_ino  # not unpacked again
    assert [p.name for p in (cache / "tftsr").iterdir()] == [unpacked.name]

    served = serve(builds.single, env, "--data-dir", str(tmp_path / "data"))
    served.proc.kill()
    served.proc.wait(10)
    served.client.close()
    assert listing(tmp) == [], "the single file left files in TMPDIR"


@pytest.mark.desktop
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt WebEngine window is Linux-only")
def test_bundled_window_runs_qtwebengine_and_the_bridge(builds: Builds, tmp_path):
    """Qt one-file builds are known to lose QtWebEngineProcess: open the real window from
    the single file under Xvfb, check the helper runs from the unpacked copy in the cache
    folder, and make one real JS -> Python -> JS round trip through the bridge."""
    data_dir = tmp_path / "data"
    _result, helpers = open_window(builds.single, builds.env(data_dir), "--data-dir",
                                   str(data_dir))
    unpacked = str(builds.cache / "tftsr") + "/"
    assert all(h.startswith(unpacked) for h in helpers), f"helper ran from elsewhere: {helpers}"
