"""The single-file executable: build it once with build/build_exe.sh, then run it for real.

Set TFTSR_PREBUILT_EXE=/path/to/tftsr to test an executable built earlier instead of
building one (the build takes about a minute and a half on two cores). The build time
and size are written to test-artifacts/executable.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tftsr import __version__

from tests.conftest import ARTIFACTS, ROOT, TEST_KEY, ServedApp, tftsr_env, unavailable
from tests.desktop import cdp

EXE_NAME = "tftsr.exe" if sys.platform == "win32" else "tftsr"
BUILD_TIMEOUT = 1200
# The module's first test builds the executable in its setup, so pytest-timeout (300 s
# per test by default) must allow for the whole build.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT + 300)]


@pytest.fixture(scope="module")
def executable(tmp_path_factory) -> Path:
    prebuilt = os.environ.get("TFTSR_PREBUILT_EXE")
    if prebuilt:
        path = Path(prebuilt)
        assert path.is_file(), f"TFTSR_PREBUILT_EXE points to {path}, which does not exist"
        yield path
        return
    if shutil.which("bash") is None:
        unavailable("bash is needed to run build/build_exe.sh")
    out = tmp_path_factory.mktemp("exe-dist")
    started = time.monotonic()
    result = subprocess.run(["bash", str(ROOT / "build" / "build_exe.sh"), str(out)],
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                            check=False)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    path = out / EXE_NAME
    assert path.is_file(), f"the build printed success but {path} is missing:\n{result.stdout}"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "executable.json").write_text(json.dumps(
        {"build_seconds": round(seconds, 1), "size_bytes": path.stat().st_size,
         "size_mib": round(path.stat().st_size / 2**20, 1)}, indent=2))
    yield path
    shutil.rmtree(out, ignore_errors=True)  # ~180 MiB; do not let old runs pile up


def bundled_modules(exe: Path) -> set[str]:
    """The Python modules packed into the executable's PYZ archive."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(exe))
    modules: set[str] = set()
    for name in archive.toc:
        if name.endswith(".pyz") or name == "PYZ.pyz":
            modules.update(archive.open_embedded_archive(name).toc)
    return modules


def test_the_bundle_contains_the_app_and_no_test_code(executable):
    modules = bundled_modules(executable)
    assert {"tftsr.bridge", "tftsr.desktop", "tftsr.cli"} <= modules
    assert not [m for m in modules if m == "tests" or m.startswith(("tests.", "pytest", "_pytest"))]


def run_exe(exe: Path, *args: str, data_dir: Path, **env_extra) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], env=tftsr_env(data_dir, **env_extra),
                          capture_output=True, text=True, timeout=120, check=False)


def open_encrypted(db_path: Path, key: str):
    import sqlcipher3

    conn = sqlcipher3.connect(str(db_path))
    conn.execute("PRAGMA key = '" + key.replace("'", "''") + "'")
    conn.execute("PRAGMA cipher_page_size = 4096")
    conn.execute("PRAGMA kdf_iter = 256000")
    conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA512")
    conn.execute("PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512")
    return conn


def test_version(executable, tmp_path):
    result = run_exe(executable, "--version", data_dir=tmp_path / "unused")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"TFTSR {__version__}"


def test_migrate_creates_encrypted_database_then_audit_verifies(executable, tmp_path):
    data_dir = tmp_path / "fresh"
    result = run_exe(executable, "db", "migrate", "--data-dir", str(data_dir),
                     data_dir=tmp_path / "env-dir-not-used")
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

    import sqlcipher3

    wrong = open_encrypted(db_path, TEST_KEY + " wrong")
    with pytest.raises(sqlcipher3.DatabaseError):
        wrong.execute("SELECT count(*) FROM sqlite_master").fetchone()
    wrong.close()

    verify = run_exe(executable, "db", "verify-audit", "--data-dir", str(data_dir),
                     data_dir=data_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout


def test_wrong_key_is_refused_without_touching_the_database(executable, tmp_path):
    data_dir = tmp_path / "data"
    assert run_exe(executable, "db", "migrate", data_dir=data_dir).returncode == 0
    before = (data_dir / "tftsr.db").read_bytes()
    result = run_exe(executable, "db", "migrate", data_dir=data_dir, TFTSR_DB_KEY="not the key")
    assert result.returncode != 0
    assert "key" in result.stderr.lower()
    assert (data_dir / "tftsr.db").read_bytes() == before


def serve_exe(exe: Path, data_dir: Path) -> ServedApp:
    """``tftsr serve --no-browser`` from the executable, once it has printed its URL."""
    proc = subprocess.Popen([str(exe), "serve", "--no-browser", "--data-dir", str(data_dir)],
                            env=tftsr_env(data_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
        if m:
            return ServedApp(proc, m.group(1))
    proc.kill()
    raise AssertionError("the executable did not serve:\n" + "".join(lines))


def test_served_executable_exports_a_pdf_with_its_bundled_fonts(executable, tmp_path):
    """Browser mode from the binary: the bundled UI is served, and a PDF export works,
    which needs fpdf2, Pillow and the fonts shipped inside the package (tftsr/docs/fonts)."""
    served = serve_exe(executable, tmp_path / "data")
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


def _descendants(pid: int) -> list[int]:
    """Every live process below pid (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _exe_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


# Runs in the bundled window through the DevTools protocol: waits for the bridge, makes a
# JS -> Python -> JS round trip through it and reports whether the UI rendered.
BRIDGE_CHECK = r"""
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 400 && !(window.pywebview && window.pywebview.api
       && window.pywebview.api.call); i++) { await sleep(50); }
  const api = window.pywebview && window.pywebview.api;
  if (!api || !api.call) return {error: 'the bridge never appeared'};
  const root = document.querySelector('#app');
  return {api_names: Object.keys(api), ping: await api.call('ping', {echo: 'bridge'}),
          app_rendered: root ? root.children.length : -1, origin: location.origin};
})()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.desktop
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt WebEngine window is Linux-only")
def test_bundled_window_runs_qtwebengine_and_the_bridge(executable, tmp_path):
    """One-file Qt builds are known to lose QtWebEngineProcess: open the real window from
    the binary under Xvfb, check the helper runs from the bundle, and make one real
    JS -> Python -> JS round trip through the bridge. The executable has no test hooks:
    the test reaches the page through Qt WebEngine's DevTools server."""
    if not shutil.which("xvfb-run"):
        unavailable("xvfb-run is not installed (build/setup.sh --test installs it)")
    data_dir = tmp_path / "data"
    port = _free_port()
    proc = subprocess.Popen(
        ["xvfb-run", "-a", str(executable), "--data-dir", str(data_dir)],
        env=tftsr_env(data_dir, BROWSER="true",
                      QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{port}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    helpers: set[str] = set()
    result = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            helpers.update(e for e in map(_exe_of, _descendants(proc.pid))
                           if e.endswith("QtWebEngineProcess"))
            app_pages = [t for t in cdp.page_targets(port)
                         if t.get("url", "").startswith("http://127.0.0.1:")]
            if app_pages and helpers:
                result = cdp.evaluate_when_ready(app_pages[0]["webSocketDebuggerUrl"],
                                                 BRIDGE_CHECK)
                break
            time.sleep(0.5)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    output = proc.stdout.read() if proc.stdout else ""
    assert helpers, f"QtWebEngineProcess never started from the bundle:\n{output[-3000:]}"
    assert all("/_MEI" in h for h in helpers), f"helper ran from outside the bundle: {helpers}"
    assert result is not None, f"the window never loaded the app:\n{output[-3000:]}"
    assert "error" not in result, result
    assert result["api_names"] == ["call"]
    assert result["ping"]["ok"] is True, result
    assert result["ping"]["result"]["echo"] == "bridge"
    assert result["ping"]["result"]["mode"] == "desktop"
    assert result["app_rendered"] > 0, "the bundled frontend did not render into #app"
