"""Dropping a log file onto the real desktop window uploads it to the incident.

A second, tiny Qt window (``drag_source.py``) plays the file manager: when pressed it
starts a drag carrying the log file's ``file://`` URL. xdotool moves the real pointer of the
Xvfb display from that window onto the Evidence tab of TFTSR's window and releases it, so
the drop travels through X (XDND) into Qt WebEngine, which hands the page a ``File``; the
Evidence tab uploads it over HTTP like any other log. The page script (run in the page by
tests/desktop/probe_launcher.py) opens the Evidence tab, reports where it is, then waits
for the log file to appear in the incident.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import unavailable
from tests.desktop.conftest import DesktopApp, x_tool
from tests.desktop.probe_launcher import probe_script

pytestmark = pytest.mark.desktop

DRAG_SOURCE = Path(__file__).with_name("drag_source.py")
READY_HOST = "tftsr-drop-ready"  # see PAGE_SCRIPT

# Runs in the page: makes an incident, opens its Evidence tab, reports a point inside the
# tab (page pixels) by "opening" https://READY_HOST.invalid/?x=..&y=.. (the app passes it to
# the system browser, which the test records), notes the drag events it sees, then waits for
# the incident's first log file and stores the outcome in window.__tftsrProbe.
PAGE_SCRIPT = probe_script(r"""
    const info = await api.call('get_app_info', {});
    const created = await api.call('create_issue', {title: 'Checkout pods crash-looping',
      severity: 'high', category: info.result.domains[0].id});
    const issueId = created.result.issue.id;
    out.issue_id = issueId;
    location.hash = '#/issue/' + issueId + '/evidence';
    let zone = null;
    for (let i = 0; i < 200 && !zone; i++) {
      await sleep(50);
      zone = document.querySelector('[data-testid="evidence"]');
    }
    if (!zone) throw new Error('the Evidence tab did not appear');
    await sleep(300);
    const r = zone.getBoundingClientRect();
    out.zone = {x: r.x, y: r.y, width: r.width, height: r.height};
    out.seen = {dragenter: 0, drop: 0, types: null};
    document.addEventListener('dragenter', (e) => {
      out.seen.dragenter += 1; out.seen.types = [...e.dataTransfer.types]; }, true);
    document.addEventListener('drop', (e) => { out.seen.drop += 1;
      out.seen.files = [...e.dataTransfer.files].map((f) => [f.name, f.size]); }, true);
    window.open('https://READY.invalid/?x=' + Math.round(r.x + r.width / 2)
      + '&y=' + Math.round(r.y + Math.min(r.height, 300) / 2), '_blank');
    for (let i = 0; i < 900; i++) {
      const logs = await api.call('list_log_files', {issue_id: issueId});
      if (logs.result && logs.result.length) { out.log_files = logs.result; break; }
      await sleep(100);
    }
""").replace("READY", READY_HOST)


def wait_for_drop_point(app: DesktopApp, opened: Path, timeout: float = 120) -> tuple[int, int]:
    """The Evidence tab's drop point in page pixels, once the page says it is showing.

    The page reports it by opening an address, which the app hands to the system browser
    (here the recording stand-in from ``browser_log``).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        urls = opened.read_text(encoding="utf-8").split() if opened.exists() else []
        for url in urls:
            parts = urlsplit(url)
            if parts.hostname == f"{READY_HOST}.invalid":
                query = parse_qs(parts.query)
                return int(query["x"][0]), int(query["y"][0])
        if app.proc.poll() is not None and app.relaunch_after_crash():
            continue
        if app.probe_path.exists() or app.proc.poll() is not None:
            app.wait_probe(timeout=1)  # skips if Qt could not start
            pytest.fail(f"the page finished before the drop: "
                        f"{app.probe_path.read_text(encoding='utf-8')}")
        time.sleep(0.2)
    pytest.fail(f"the Evidence tab was not shown in {timeout}s:\n{app.output[-3000:]}")


def start_drag_source(path: Path, display: str) -> subprocess.Popen:
    """The drag source window, once it is mapped (skips if Qt cannot open a window)."""
    proc = subprocess.Popen([sys.executable, str(DRAG_SOURCE), str(path)],
                            env={**os.environ, "DISPLAY": display},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        unavailable(f"the Qt drag source could not start: {line}{proc.stdout.read()[-1500:]}")
    return proc


def source_window(proc: subprocess.Popen, display: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(proc.pid)],
                               env={"DISPLAY": display}, capture_output=True, text=True,
                               check=False, timeout=20).stdout.split()
        if found:
            return found[-1]
        time.sleep(0.2)
    pytest.fail("the drag source window was never mapped")


def geometry(wid: str, display: str) -> dict[str, int]:
    """A window's X, Y, WIDTH and HEIGHT on the screen (no window manager: no frames)."""
    out = x_tool("xdotool", "getwindowgeometry", "--shell", wid, display=display)
    return {k: int(v) for k, v in (line.split("=", 1) for line in out.split())}


def centre(geo: dict[str, int]) -> tuple[int, int]:
    return geo["X"] + geo["WIDTH"] // 2, geo["Y"] + geo["HEIGHT"] // 2


def drag(display: str, start: tuple[int, int], end: tuple[int, int], steps: int = 12) -> None:
    """Press at ``start``, move in small steps to ``end`` and release, as a hand would."""
    x_tool("xdotool", "mousemove", "--sync", str(start[0]), str(start[1]), display=display)
    time.sleep(0.3)
    x_tool("xdotool", "mousedown", "1", display=display)
    time.sleep(0.5)
    for i in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * i // steps
        y = start[1] + (end[1] - start[1]) * i // steps
        x_tool("xdotool", "mousemove", str(x), str(y), display=display)
        time.sleep(0.15)
    for wiggle in (3, 0):  # a last small move so the target sees the pointer settle
        x_tool("xdotool", "mousemove", str(end[0] + wiggle), str(end[1]), display=display)
        time.sleep(0.3)
    x_tool("xdotool", "mouseup", "1", display=display)


def test_dropping_a_log_file_on_the_evidence_tab_uploads_it(
        launch, data_dir, tmp_path, xvfb_display, artifacts_dir, browser_log):
    log_lines = [f"2026-03-02T10:{i:02d}:00Z checkout-7f9c ERROR upstream timeout after 30s "
                 f"(attempt {i})" for i in range(37)]
    log_file = tmp_path / "checkout-crash.log"
    log_file.write_text("\n".join(log_lines) + "\n", encoding="utf-8")

    browser, opened = browser_log
    app = launch(data_dir, browser=browser, page_script=PAGE_SCRIPT)
    page_x, page_y = wait_for_drop_point(app, opened)

    app_wid = app.window_id()
    x_tool("xdotool", "windowmove", "--sync", app_wid, "0", "0", display=xvfb_display)
    source = start_drag_source(log_file, xvfb_display)
    try:
        src_wid = source_window(source, xvfb_display)
        # Beside the app's window, so the pointer has to travel from one to the other.
        app_geo = geometry(app_wid, xvfb_display)
        x_tool("xdotool", "windowmove", "--sync", src_wid,
               str(min(app_geo["X"] + app_geo["WIDTH"] + 20, 1330)), "40",
               display=xvfb_display)
        time.sleep(0.5)
        start = centre(geometry(src_wid, xvfb_display))
        end = (app_geo["X"] + page_x, app_geo["Y"] + page_y)
        drag(xvfb_display, start, end)
        probe = app.wait_probe(timeout=150)
        x_tool("import", "-window", "root", str(artifacts_dir / "desktop-drop.png"),
               display=xvfb_display, timeout=60)
    finally:
        source.kill()
        drag_output = source.communicate(timeout=10)[0]

    assert "error" not in probe, probe
    assert "drag-finished CopyAction" in drag_output, (drag_output, probe)
    assert probe["seen"]["drop"] == 1, probe
    assert probe["seen"]["files"] == [[log_file.name, log_file.stat().st_size]], probe
    files = probe.get("log_files") or []
    assert len(files) == 1, f"no log file was uploaded by the drop: {probe}"
    assert files[0]["file_name"] == log_file.name
    assert files[0]["file_size"] == log_file.stat().st_size
    assert files[0]["line_count"] == len(log_lines)
