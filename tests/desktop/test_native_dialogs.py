"""The native file dialogs of the real desktop window, driven as a person would.

The page asks for a dialog through the bridge (``open_log_files_dialog``,
``export_audit_log``); Qt opens its file dialog on the test's X display; xdotool types a
full path into the dialog's file-name field and presses Return (or Escape to cancel). The
script that makes the bridge calls runs in the page through the probe launcher
(tests/desktop/probe_launcher.py) and reports back through the probe file.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.desktop.conftest import DesktopApp, need_tool, x_tool
from tests.desktop.probe_launcher import probe_script

pytestmark = pytest.mark.desktop

OPEN_TITLE = "Open files"  # pywebview's title for a multi-select Open dialog
SAVE_TITLE = "Save file"

# Runs in the page: waits for the bridge, makes an incident, then each call in `steps`
# (await window.pywebview.api.call(name, args)), storing the replies in
# window.__tftsrProbe.
PAGE_SCRIPT = probe_script(r"""
    out.replies = [];
    const info = await api.call('get_app_info', {});
    const created = await api.call('create_issue', {title: 'Gateway 502s after deploy',
      severity: 'high', category: info.result.domains[0].id});
    const issueId = created.result.issue.id;
    out.issue_id = issueId;
    for (const [name, args] of STEPS) {
      const filled = JSON.parse(JSON.stringify(args).replaceAll('"$ISSUE"',
                                                                JSON.stringify(issueId)));
      out.replies.push(await api.call(name, filled));
    }
    const logs = await api.call('list_log_files', {issue_id: issueId});
    out.log_files = logs.result;
    out.contents = [];
    for (const lf of logs.result || []) {
      const c = await api.call('get_log_file_content', {log_file_id: lf.id});
      out.contents.push(c.result.text);
    }
""")


def page_script(steps: list[tuple[str, dict]]) -> str:
    """PAGE_SCRIPT with its bridge calls; the string "$ISSUE" stands for the incident id."""
    return PAGE_SCRIPT.replace("STEPS", json.dumps([list(s) for s in steps]), 1)


@pytest.fixture
def launch_with_script(launch, data_dir):
    """launch_with_script(steps) -> a DesktopApp whose page makes those bridge calls."""

    def start(steps: list[tuple[str, dict]]) -> DesktopApp:
        return launch(data_dir, page_script=page_script(steps))

    return start


def visible_windows(app: DesktopApp, display: str, title: str | None = None) -> list[str]:
    """X window ids of the app's mapped windows (only those titled ``title`` if given)."""
    xdotool = need_tool("xdotool")
    args = [xdotool, "search", "--all", "--onlyvisible", "--pid", str(app.proc.pid)]
    if title is not None:  # --all: the pid *and* the title must match
        args += ["--name", f"^{title}$"]
    return subprocess.run(args, env={"DISPLAY": display}, check=False, capture_output=True,
                          text=True, timeout=20).stdout.split()


def painted(wid: str, display: str) -> bool:
    """True once the window shows more than a blank frame (its widgets are drawn)."""
    convert = need_tool("convert")
    grab = subprocess.run([need_tool("import"), "-window", wid, "png:-"],
                          env={"DISPLAY": display}, check=False, capture_output=True,
                          timeout=60)
    if grab.returncode != 0:
        return False
    colours = subprocess.run([convert, "png:-", "-format", "%k", "info:"], input=grab.stdout,
                             check=False, capture_output=True, timeout=60)
    return colours.returncode == 0 and int(colours.stdout or 0) > 20


def wait_dialog(app: DesktopApp, title: str, display: str, timeout: float = 90) -> str:
    """The X window id of the app's dialog titled ``title``, once it is drawn on screen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = visible_windows(app, display, title)
        if found and painted(found[-1], display):
            time.sleep(0.5)  # the file list fills in just after the first paint
            return found[-1]
        if app.probe_path.exists():  # the page finished without the dialog opening
            pytest.fail(f"no '{title}' dialog; the page reported: "
                        f"{app.probe_path.read_text(encoding='utf-8')}")
        if app.proc.poll() is not None and not app.relaunch_after_crash():
            app.wait_probe(timeout=1)  # skips if Qt could not start, fails otherwise
        time.sleep(0.3)
    pytest.fail(f"the '{title}' dialog did not appear in {timeout}s:\n{app.output[-3000:]}")


def answer_dialog(app: DesktopApp, wid: str, display: str, *, path: Path | None,
                  screenshot: Path | None = None) -> None:
    """Type ``path`` into the dialog's file-name field and press Return (no path: Escape).

    The file-name field has the keyboard focus when a Qt file dialog opens. Keystrokes sent
    while the dialog is still settling can be lost, so the answer is given again (the field
    is cleared first) if the dialog is still open a few seconds later.
    """
    for _attempt in range(3):
        x_tool("xdotool", "windowfocus", "--sync", wid, display=display)
        if path is None:
            x_tool("xdotool", "key", "--clearmodifiers", "Escape", display=display)
        else:
            # The field starts empty (Open) or with the suggested name (Save): replace it.
            x_tool("xdotool", "key", "--clearmodifiers", "ctrl+a", "BackSpace",
                   display=display)
            x_tool("xdotool", "type", "--delay", "15", str(path), display=display)
            time.sleep(0.5)
            if screenshot is not None:
                x_tool("import", "-window", "root", str(screenshot), display=display,
                       timeout=60)
            x_tool("xdotool", "key", "--clearmodifiers", "Return", display=display)
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            if wid not in visible_windows(app, display):
                return
            time.sleep(0.2)
    pytest.fail("the dialog stayed open after it was answered three times")


def open_app_state(data_dir: Path):
    """The (closed) data folder opened again, with the command registry loaded."""
    from tftsr.app import open_app
    from tftsr.commands import load_all

    load_all()
    return open_app(data_dir)


def test_log_file_chosen_in_the_open_dialog_is_ingested(launch_with_script, data_dir,
                                                        tmp_path, artifacts_dir,
                                                        xvfb_display):
    log = tmp_path / "picked" / "gateway-502.log"
    log.parent.mkdir()
    lines = [f"2024-03-0{1 + i % 9} 10:0{i % 10}:00 ERROR upstream returned 502 "
             f"(request {i:04d})" for i in range(40)]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")

    app = launch_with_script([("open_log_files_dialog", {"issue_id": "$ISSUE"})])
    wid = wait_dialog(app, OPEN_TITLE, xvfb_display)
    shot = artifacts_dir / "desktop-open-dialog.png"
    answer_dialog(app, wid, xvfb_display, path=log, screenshot=shot)
    assert shot.stat().st_size > 10_000

    page = app.wait_probe()
    assert page["ok"], page
    reply = page["replies"][0]
    assert reply["ok"], reply
    assert reply["result"]["errors"] == []
    assert "cancelled" not in reply["result"]
    [uploaded] = reply["result"]["uploaded"]
    assert uploaded["log_file"]["file_name"] == "gateway-502.log"
    [listed] = page["log_files"]
    assert listed["file_name"] == "gateway-502.log"
    assert listed["line_count"] == 40
    assert page["contents"][0].split("\n")[:2] == lines[:2]
    assert app.stop() == 0

    # The database (reopened after the window closed) holds the same file and its text.
    reopened = open_app_state(data_dir)
    try:
        from tftsr.commands import dispatch

        [stored] = dispatch(reopened, "list_log_files", {"issue_id": page["issue_id"]})
        text = dispatch(reopened, "get_log_file_content",
                        {"log_file_id": stored["id"], "max_lines": 100})["text"]
    finally:
        reopened.close()
    assert stored["id"] == listed["id"]
    assert text.rstrip("\n").split("\n") == lines


def test_audit_export_is_written_where_the_save_dialog_says(launch_with_script, data_dir,
                                                            tmp_path, artifacts_dir,
                                                            xvfb_display):
    target = tmp_path / "exports" / "audit-from-dialog.csv"
    target.parent.mkdir()

    # Deleting the incident leaves a known entry in the audit log to find in the export.
    app = launch_with_script([("delete_issue", {"issue_id": "$ISSUE"}),
                              ("export_audit_log", {"format": "csv"})])
    wid = wait_dialog(app, SAVE_TITLE, xvfb_display)
    shot = artifacts_dir / "desktop-save-dialog.png"
    answer_dialog(app, wid, xvfb_display, path=target, screenshot=shot)
    assert shot.stat().st_size > 10_000

    page = app.wait_probe()
    assert page["ok"], page
    deleted, reply = page["replies"]
    assert deleted["ok"], deleted
    assert reply["ok"], reply
    assert reply["result"]["path"] == str(target)
    assert reply["result"]["bytes"] == target.stat().st_size
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    rows = [r for r in rows if r and not r[0].startswith("#")]  # a trailing "# head:" note
    assert rows[0] == ["seq", "id", "timestamp", "action", "entity_type", "entity_id",
                       "user_id", "details", "prev_hash", "entry_hash"]
    assert [r[5] for r in rows[1:] if r[3] == "issue_deleted"] == [page["issue_id"]]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert app.stop() == 0

    reopened = open_app_state(data_dir)
    try:
        from tftsr.commands import dispatch

        entries = dispatch(reopened, "get_audit_log", {"action": "audit_exported"})
    finally:
        reopened.close()
    assert len(entries["items"]) == 1, entries


def test_cancelled_dialogs_change_nothing(launch_with_script, data_dir, tmp_path,
                                          xvfb_display):
    app = launch_with_script([("open_log_files_dialog", {"issue_id": "$ISSUE"}),
                              ("export_audit_log", {"format": "csv"})])
    for title in (OPEN_TITLE, SAVE_TITLE):
        wid = wait_dialog(app, title, xvfb_display)
        answer_dialog(app, wid, xvfb_display, path=None)

    page = app.wait_probe()
    assert page["ok"], page
    opened, exported = page["replies"]
    assert opened == {"ok": True, "result": {"uploaded": [], "errors": [],
                                             "cancelled": True}}
    assert exported == {"ok": True, "result": {"cancelled": True}}
    assert page["log_files"] == []
    assert app.stop() == 0

    reopened = open_app_state(data_dir)
    try:
        from tftsr.commands import dispatch

        entries = dispatch(reopened, "get_audit_log", {"action": "audit_exported"})
    finally:
        reopened.close()
    assert entries["items"] == []
