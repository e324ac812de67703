"""Shared fixtures: real SQLCipher databases in temporary folders and a real
``tftsr serve`` process on loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
TEST_KEY = "correct horse battery staple 4821"


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


@pytest.fixture
def app(data_dir):
    from tftsr.app import open_app
    from tftsr.commands import load_all

    load_all()
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


class ServedApp:
    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc = proc
        self.url = url
        m = re.match(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", url)
        assert m, url
        self.base_url, self.token = m.group(1), m.group(2)
        self.client = httpx.Client(base_url=self.base_url, timeout=30,
                                   headers={"Authorization": f"Bearer {self.token}"})

    def call(self, name: str, **args):
        r = self.client.post(f"/api/{name}", json=args)
        if r.status_code != 200:
            raise AssertionError(f"{name} -> {r.status_code}: {r.text}")
        return r.json()

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
            return ServedApp(proc, m.group(1))
    proc.kill()
    raise RuntimeError("tftsr serve did not start:\n" + "".join(lines))


@pytest.fixture
def served(tmp_path):
    served_app = start_served_app(tmp_path / "served-data")
    yield served_app
    served_app.stop()


CHROMIUM = os.environ.get("TFTSR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run (Playwright's sync API allows only
    one running instance per thread)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(f"BROWSER TESTS SKIPPED: Debian's Chromium is not installed at {CHROMIUM} "
                    "(./build/test.sh installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
