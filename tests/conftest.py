"""Shared fixtures: real SQLCipher databases in temporary folders and a real
``tftsr serve`` process on loopback; and the rule that with CI=true nothing may skip
because a tool is missing."""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
TEST_KEY = "correct horse battery staple 4821"

# CI sets CI=true (.ci/run does too). A suite that passes by skipping has not passed.
CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

# Skips that say a case does not apply, as opposed to "something is missing here". They
# stay skips with CI=true; every other skip becomes a failure there. Reviewed list: add
# to it only reasons that no installation could change.
NOT_APPLICABLE_SKIPS = (
    "the gateway format has no tool calling",  # tests/unit/test_ai_providers.py
    "Ollama takes no key",  # tests/unit/test_ai_providers.py
    "POSIX permissions",  # tests/unit/test_encryption.py, on Windows
    "Qt WebEngine window is Linux-only",  # tests/packaging/test_executable.py
)


def unavailable(what: str) -> NoReturn:
    """A part the test needs is missing: a loud skip, or a failure when CI=true."""
    if CI:
        pytest.fail(f"CI=true and a required part is missing: {what}", pytrace=False)
    pytest.skip(f"SKIPPED, NOT PASSED: {what}")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a skip is a failure, unless its reason says the case does not apply.
    A failing test's report also carries what its served apps printed and screenshots of
    the browser pages it had open (in test-artifacts/), to tell a slow machine from a hang."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        _attach_failure_evidence(item, report)
    if not (CI and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if any(allowed in reason for allowed in NOT_APPLICABLE_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = (f"CI=true: this test would have been skipped, which CI counts as a "
                       f"failure (install what it needs): {reason}")


def descendants(pid: int) -> list[int]:
    """Every process below pid, running or not yet reaped (Linux /proc)."""
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


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("TFTSR_DATA_DIR", str(d))
    monkeypatch.setenv("TFTSR_DB_KEY", TEST_KEY)
    monkeypatch.setenv("TFTSR_NO_KEYRING", "1")
    return d


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """One freshly created and migrated database (TEST_KEY) for the whole run; each test's
    app starts from a copy, which is what a first start would have written."""
    from tftsr.app import open_app

    data = tmp_path_factory.mktemp("template") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFTSR_DB_KEY", TEST_KEY)
        mp.setenv("TFTSR_NO_KEYRING", "1")
        mp.setenv("TFTSR_DATA_DIR", str(data))
        application = open_app(data)
        application.close()
    return data / "tftsr.db"


@pytest.fixture
def app(data_dir, migrated_database):
    from tftsr.app import open_app
    from tftsr.commands import load_all

    load_all()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy = data_dir / migrated_database.name
    shutil.copyfile(migrated_database, copy)
    copy.chmod(0o600)
    application = open_app(data_dir)
    yield application
    application.close()


@pytest.fixture
def call(app):
    """Run a command through the real dispatcher: call("create_issue", title=...)."""
    from tftsr.commands import dispatch

    def run(name: str, /, **args):
        return dispatch(app, name, args)

    return run


@pytest.fixture
def make_issue(call):
    def make(**overrides):
        args = {"title": "Checkout API returns 502", "severity": "high",
                "category": "application", "description": "Spikes of 502 from the gateway",
                "tags": ["checkout", "prod"]}
        args.update(overrides)
        return call("create_issue", **args)["issue"]

    return make


def tftsr_env(data_dir: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update({"TFTSR_DATA_DIR": str(data_dir), "TFTSR_DB_KEY": TEST_KEY,
                "TFTSR_NO_KEYRING": "1", "PYTHONUNBUFFERED": "1"})
    env.pop("DISPLAY", None)
    env.update(extra)
    return env


def _attach_failure_evidence(item, report) -> None:
    for served_app in [a for a in ServedApp.recent if a.started >= _test_started]:
        tail = "".join(list(served_app.output)[-80:])
        report.sections.append((f"tftsr serve output ({served_app.base_url})", tail or "(none)"))
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if browser is None:
        return
    shots = []
    try:
        for c, context in enumerate(browser.contexts):
            for p, page in enumerate(context.pages):
                path = ARTIFACTS / f"failed-{item.name}-{c}-{p}.png"
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(path), full_page=True, timeout=10_000)
                text = page.evaluate("() => document.body ? document.body.innerText : ''")
                shots.append(f"{page.url}\n  screenshot: {path}\n  text: {text[:600]!r}")
    except Exception as exc:  # noqa: BLE001 - evidence is best effort; the failure stands
        shots.append(f"(could not capture the pages: {exc})")
    report.sections.append(("browser pages at the failure", "\n".join(shots) or "(none open)"))


_test_started = 0.0


def pytest_runtest_setup(item):
    global _test_started
    _test_started = time.monotonic()


class ServedApp:
    recent: collections.deque[ServedApp] = collections.deque(maxlen=4)  # for failure reports

    def __init__(self, proc: subprocess.Popen, url: str, lines: list[str] | None = None):
        self.proc = proc
        self.url = url
        # What the server prints (warnings, errors) is read on a thread of its own until it
        # exits: an unread pipe fills up (64 KiB) and then blocks the server mid-request.
        self.output: collections.deque[str] = collections.deque(lines or (), maxlen=500)
        self._reader = threading.Thread(target=self._read_output, name="served-app-output",
                                        daemon=True)
        self._reader.start()
        self.started = time.monotonic()
        ServedApp.recent.append(self)
        m = re.match(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", url)
        assert m, url
        self.base_url, self.token = m.group(1), m.group(2)
        self.client = httpx.Client(base_url=self.base_url, timeout=30,
                                   headers={"Authorization": f"Bearer {self.token}"})

    def call(self, command: str, /, **args):
        r = self.client.post(f"/api/{command}", json=args)
        if r.status_code != 200:
            raise AssertionError(f"{command} -> {r.status_code}: {r.text}")
        return r.json()

    def _read_output(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self):
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_served_app(data_dir: Path, *extra_args: str, env: dict | None = None) -> ServedApp:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tftsr", "serve", "--no-browser", *extra_args],
        env=env or tftsr_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
        if m:
            return ServedApp(proc, m.group(1), lines)
    proc.kill()
    raise RuntimeError("tftsr serve did not start:\n" + "".join(lines))


@pytest.fixture
def served(tmp_path):
    served_app = start_served_app(tmp_path / "served-data")
    yield served_app
    served_app.stop()


# TFTSR_CHROMIUM names the browser binary; without it, Debian's /usr/bin/chromium, or
# the first `chromium` on PATH.
CHROMIUM = (os.environ.get("TFTSR_CHROMIUM")
            or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
            or shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run (Playwright's sync API allows only
    one running instance per thread)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"no Chromium at {CHROMIUM} for the browser tests (build/setup.sh --test "
                    "installs Debian's chromium; TFTSR_CHROMIUM names another binary)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
