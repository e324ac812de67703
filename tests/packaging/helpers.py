"""What the packaging tests share: running a built executable, serving from it, and
opening its real window under Xvfb (reached through Qt WebEngine's DevTools server: the
executables carry no test hooks)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from tests.conftest import ServedApp, descendants, unavailable
from tests.desktop import cdp


def run(exe: Path, *args: str, env: dict, timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, **kwargs)


def serve(exe: Path, env: dict, *args: str) -> ServedApp:
    """``tftsr serve --no-browser`` from the executable, once it has printed its URL."""
    proc = subprocess.Popen([str(exe), "serve", "--no-browser", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 90
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


def open_encrypted(db_path: Path, key: str):
    conn = sqlcipher3.connect(str(db_path))
    conn.execute("PRAGMA key = '" + key.replace("'", "''") + "'")
    conn.execute("PRAGMA cipher_page_size = 4096")
    conn.execute("PRAGMA kdf_iter = 256000")
    conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA512")
    conn.execute("PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512")
    return conn


def exe_of(pid: int) -> str:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_window(exe: Path, env: dict, *args: str) -> tuple[dict, set[str]]:
    """Open the real window from ``exe`` under Xvfb, wait for QtWebEngineProcess and the
    app page, make one JS -> Python -> JS round trip through the bridge, then close it with
    SIGTERM. Returns (the page's answer, the QtWebEngineProcess executables seen).

    xvfb-run keeps its X authority file in the test process's own TMPDIR; ``exe`` gets
    ``env`` (its TMPDIR included) through ``env``(1)."""
    if not shutil.which("xvfb-run"):
        unavailable("xvfb-run is not installed (build/setup.sh --test installs it)")
    port = free_port()
    env = dict(env, BROWSER="true", QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{port}")
    harness = dict(env)
    app_tmp = harness.pop("TMPDIR", None)
    if os.environ.get("TMPDIR"):
        harness["TMPDIR"] = os.environ["TMPDIR"]
    command = ["env", f"TMPDIR={app_tmp}", str(exe)] if app_tmp else [str(exe)]
    proc = subprocess.Popen(["xvfb-run", "-a", *command, *args], env=harness,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    helpers: set[str] = set()
    result = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            helpers.update(e for e in map(exe_of, descendants(proc.pid))
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
            proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    output = proc.stdout.read() if proc.stdout else ""
    assert helpers, f"QtWebEngineProcess never started from the bundle:\n{output[-3000:]}"
    assert result is not None, f"the window never loaded the app:\n{output[-3000:]}"
    assert "error" not in result, result
    assert result["api_names"] == ["call"]
    assert result["ping"]["ok"] is True, result
    assert result["ping"]["result"]["echo"] == "bridge"
    assert result["ping"]["result"]["mode"] == "desktop"
    assert result["app_rendered"] > 0, "the bundled frontend did not render into #app"
    return result, helpers


@contextlib.contextmanager
def xvfb_display() -> Iterator[str]:
    """A display of our own (Xvfb picks a free number), for tests that type with xdotool
    and read window properties with xprop."""
    for tool in ("Xvfb", "xdotool", "xprop"):
        if not shutil.which(tool):
            unavailable(f"{tool} is not installed (build/setup.sh --test installs it)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x900x24",
                               "-nolisten", "tcp"], pass_fds=(write_fd,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as fh:
            number = fh.readline().strip()
        assert number.isdigit(), "Xvfb did not report its display"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def wait_for_window(display: str, title_regex: str, timeout: float = 90) -> str:
    """The id of the first window whose title matches, once it exists."""
    result = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", title_regex],
                            env=dict(os.environ, DISPLAY=display), capture_output=True,
                            text=True, timeout=timeout, check=False)
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    return result.stdout.split()[0]


def type_into(display: str, window: str, text: str, *keys: str) -> None:
    env = dict(os.environ, DISPLAY=display)
    subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, check=True, timeout=30)
    if text:
        subprocess.run(["xdotool", "type", "--delay", "15", text], env=env, check=True, timeout=60)
    for key in keys:
        subprocess.run(["xdotool", "key", key], env=env, check=True, timeout=30)


def page_answer(port: int, timeout: float = 90) -> dict | None:
    """BRIDGE_CHECK's answer from the app page once it is there (DevTools on ``port``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pages = [t for t in cdp.page_targets(port) if t.get("url", "").startswith("http://127.0.0.1:")]
        if pages:
            return cdp.evaluate_when_ready(pages[0]["webSocketDebuggerUrl"], BRIDGE_CHECK)
        time.sleep(0.5)
    return None
