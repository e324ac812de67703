"""Smoke tests of the real desktop window (pywebview + Qt WebEngine) under Xvfb."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from tests.conftest import TEST_KEY, tftsr_env
from tests.desktop.conftest import need_tool, x_tool

pytestmark = pytest.mark.desktop


def read_setting(data_dir, key):
    """A setting read straight from the (closed) SQLCipher database."""
    from tftsr.app import open_app
    from tftsr.settings.store import get_value

    app = open_app(data_dir)
    try:
        with app.db.connection() as conn:
            return get_value(conn, key)
    finally:
        app.close()


def distinct_colours(png) -> int:
    convert = need_tool("convert")
    out = subprocess.run([convert, str(png), "-format", "%k", "info:"], check=False,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


def test_window_shows_the_app_and_the_bridge_works(launch, data_dir, browser_log,
                                                   artifacts_dir, xvfb_display):
    browser, opened = browser_log
    app = launch(data_dir, browser=browser)
    probe = app.wait_probe()
    assert probe["ok"], probe

    # A JS -> Python -> JS round trip through the bridge's one entry point.
    assert probe["api_names"] == ["call"]
    assert probe["ping_ok"] is True
    assert {k: probe["ping_result"][k] for k in ("pong", "echo", "mode")} == \
        {"pong": True, "echo": "bridge", "mode": "desktop"}

    # Python -> UI: creating an issue through the bridge pushed issue_changed to the page.
    issue_id = probe["created_issue_id"]
    assert issue_id
    assert {"name": "issue_changed", "payload": {"issue_id": issue_id}} in probe["events"]

    # The page is the app, served with the strict CSP still in force (no eval of any kind).
    assert probe["origin"] == probe["app_origin"]
    assert probe["eval"] == "EvalError" and probe["new_function"] == "EvalError"
    assert probe["app_rendered"] > 0, "the UI did not render into #app"

    # Permission requests are refused.
    assert probe["notification_permission"] == "denied"
    assert probe["microphone"] != "granted"

    # Attempts to leave the app: the page stays, http(s) goes to the system browser,
    # file: goes nowhere.
    assert probe["after_navigation"] == {"origin": probe["app_origin"], "api": True}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(_lines(opened)) < 2:
        time.sleep(0.2)
    assert sorted(_lines(opened)) == ["https://example.com/new-window",
                                      "https://example.com/same-window"]

    # What is on the screen is the real window, not a blank frame.
    shot = artifacts_dir / "desktop-window.png"
    x_tool("import", "-window", "root", str(shot), display=xvfb_display, timeout=60)
    assert shot.stat().st_size > 10_000
    assert distinct_colours(shot) > 50

    paint = probe["paint"].get("first-contentful-paint") or probe["paint"].get("first-paint")
    if paint is not None:
        figures = {"launch_to_first_paint_ms": round(probe["time_origin"] + paint
                                                     - app.launched_at * 1000),
                   "navigation_to_first_paint_ms": round(paint)}
        (artifacts_dir / "desktop-startup.json").write_text(json.dumps(figures))
        print("desktop start-up:", figures)

    assert app.stop() == 0
    assert "the desktop window was closed" in app.log_text
    token = probe["token"]
    assert len(token) >= 20
    for text in (app.log_text, app.output):
        assert token not in text
        assert TEST_KEY not in text


def test_window_size_and_position_are_remembered(launch, data_dir, xvfb_display):
    first = launch(data_dir, name="first")
    assert first.wait_probe()["ok"]
    wid = first.window_id()
    x_tool("xdotool", "windowsize", wid, "1100", "700", display=xvfb_display)
    x_tool("xdotool", "windowmove", wid, "60", "50", display=xvfb_display)
    time.sleep(1.5)  # let the debounced save run (closing saves too)
    assert first.stop() == 0

    saved = read_setting(data_dir, "internal.window_geometry")
    assert {k: saved.get(k) for k in ("width", "height", "x", "y")} == \
        {"width": 1100, "height": 700, "x": 60, "y": 50}

    second = launch(data_dir, name="second")
    probe = second.wait_probe()
    assert probe["inner"] == [1100, 700]
    info = x_tool("xwininfo", "-id", second.window_id(), display=xvfb_display)
    assert re.search(r"Width:\s+1100\b", info) and re.search(r"Height:\s+700\b", info), info
    assert re.search(r"Absolute upper-left X:\s+60\b", info), info
    assert re.search(r"Absolute upper-left Y:\s+50\b", info), info
    assert second.stop() == 0


def test_second_launch_brings_the_first_forward(launch, data_dir, xvfb_display):
    first = launch(data_dir, name="first")
    probe = first.wait_probe()
    assert probe["ok"]

    second = subprocess.run(
        [sys.executable, "-m", "tftsr", "--data-dir", str(data_dir)],
        env=tftsr_env(data_dir, DISPLAY=xvfb_display), check=False, capture_output=True,
        text=True, timeout=60,
    )
    assert second.returncode == 4, second.stdout + second.stderr
    assert "already open" in second.stdout and "brought forward" in second.stdout
    assert first.proc.poll() is None, "the first window must keep running"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "bringing it forward" not in first.log_text:
        time.sleep(0.2)
    assert "a second launch asked for this window; bringing it forward" in first.log_text
    assert first.stop() == 0

    # Nothing was damaged: the audit chain verifies and the probe's issue is the only one.
    verify = subprocess.run(
        [sys.executable, "-m", "tftsr", "db", "verify-audit", "--data-dir", str(data_dir)],
        env=tftsr_env(data_dir), check=False, capture_output=True, text=True, timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    load_all()
    app = open_app(data_dir)
    try:
        listed = dispatch(app, "list_issues", {})
    finally:
        app.close()
    assert [i["id"] for i in listed["items"]] == [probe["created_issue_id"]]
    assert not (data_dir / "tftsr.sock").exists()


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []
