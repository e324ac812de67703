"""The real desktop window under Xvfb: a private X display and launched TFTSR processes.

Nothing here is simulated: Xvfb is a real X server, and TFTSR's own command line opens
the real pywebview/Qt WebEngine window on it. The app is started through
``tests/desktop/probe_launcher.py``, which runs a probe (a bridge round trip, or a test's
page script) inside that window and writes what it saw to a JSON file; the app itself has
no test hooks. When Xvfb, Qt WebEngine or an X tool is missing, a test skips loudly -- and
fails when CI=true (see ``unavailable`` in tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from tests.conftest import ROOT, tftsr_env, unavailable

SCREEN = (1600, 1000)
# The one start-up failure that is the machine's, not TFTSR's: Qt prints this line (then
# aborts) when the system libraries its X11 platform plugin needs are missing -- the
# libxcb-cursor0/libxkbcommon-x11-0/... set build/setup.sh installs. Any other crash,
# including one whose output mentions QtWebEngineProcess, is a test failure.
MISSING_QT_LIBRARIES = 'Could not load the Qt platform plugin "xcb"'


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        unavailable(f"`{name}` is not installed (build/setup.sh --test installs it)")
    return path


@pytest.fixture(scope="session")
def xvfb_display():
    """A fresh Xvfb on a free display number (chosen by Xvfb itself via -displayfd)."""
    xvfb = need_tool("Xvfb")
    probe = subprocess.run([sys.executable, "-c", "import PyQt6.QtWebEngineWidgets"],
                           check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        unavailable("Qt WebEngine cannot be imported: " + probe.stderr.strip()[-500:])
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        number = fh.readline().strip()
    if not number.isdigit():
        proc.kill()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        unavailable(f"Xvfb did not start: {err[-500:]}")
    yield f":{number}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def browser_log(tmp_path: Path):
    """A stand-in "system browser" (via $BROWSER) that records every URL it is given."""
    log = tmp_path / "opened-urls.txt"
    script = tmp_path / "record-browser"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\n', encoding="utf-8")
    script.chmod(0o755)
    return script, log


class DesktopApp:
    """One TFTSR desktop process on the test display, started through the probe launcher.

    ``page_script`` (JavaScript) replaces the default smoke-test probe; it must set
    ``window.__tftsrProbe`` to a JSON string when done.
    """

    def __init__(self, data_dir: Path, display: str, workdir: Path, name: str = "app",
                 browser: Path | None = None, page_script: str | None = None):
        self.data_dir = data_dir
        self.probe_path = workdir / f"{name}-probe.json"
        self.output_path = workdir / f"{name}-output.txt"
        extra = {"DISPLAY": display}
        if browser is not None:
            extra["BROWSER"] = f"{browser} %s"
        self.env = tftsr_env(data_dir, **extra)
        launcher = [sys.executable, "-m", "tests.desktop.probe_launcher",
                    "--out", str(self.probe_path)]
        if page_script is not None:
            script_path = workdir / f"{name}-page-script.js"
            script_path.write_text(page_script, encoding="utf-8")
            launcher += ["--page-script", str(script_path)]
        self.argv = [*launcher, "--", "--data-dir", str(data_dir)]
        self.relaunched = False
        self._launch()

    def _launch(self) -> None:
        self.launched_at = time.time()
        self._output = open(self.output_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=self._output,
                                     stderr=subprocess.STDOUT, text=True)

    @property
    def output(self) -> str:
        if not self._output.closed:
            self._output.flush()
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    @property
    def log_text(self) -> str:
        path = self.data_dir / "logs" / "tftsr.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def relaunch_after_crash(self) -> bool:
        """Start the app once more if it has crashed (SIGSEGV) before its page reported,
        and say so in the test run's warnings; whether it was started again. Qt
        WebEngine, on Xvfb's software OpenGL, has crashed once in a few hundred starts
        while it set up its GPU process, before the page loaded. A second crash is a
        failure, as any other exit is."""
        if self.proc.poll() != -signal.SIGSEGV or self.relaunched or self.probe_path.exists():
            return False
        warnings.warn(f"tftsr crashed (SIGSEGV) before its window was ready and was started "
                      f"again:\n{self.output[-1500:]}", stacklevel=2)
        self._output.close()
        self.relaunched = True
        self._launch()
        return True

    def wait_probe(self, timeout: float = 120) -> dict:
        """The probe's findings, once the window has loaded and run the round trip."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.probe_path.exists():
                return json.loads(self.probe_path.read_text(encoding="utf-8"))
            if self.proc.poll() is not None:
                out = self.output
                if MISSING_QT_LIBRARIES in out:
                    unavailable("Qt's X11 platform plugin cannot load its system "
                                "libraries (build/setup.sh --test installs them):\n"
                                + out[-2000:])
                if self.relaunch_after_crash():
                    deadline = time.monotonic() + max(timeout, 60)
                    continue
                pytest.fail(f"tftsr exited with {self.proc.returncode} before the window "
                            f"was ready:\n{out[-3000:]}\nlog:\n{self.log_text[-2000:]}")
            time.sleep(0.2)
        pytest.fail(f"the desktop window did not become ready in {timeout}s:\n"
                    f"{self.output[-3000:]}")

    def window_id(self) -> str:
        """The X window id of this process's top-level window (via xdotool)."""
        xdotool = need_tool("xdotool")
        result = subprocess.run(
            [xdotool, "search", "--onlyvisible", "--pid", str(self.proc.pid)],
            env=self.env, check=False, capture_output=True, text=True, timeout=20,
        )
        ids = result.stdout.split()
        assert ids, f"no visible window for pid {self.proc.pid}: {result.stderr}"
        return ids[-1]

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as a session manager would; the app should close its window and exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                pytest.fail(f"tftsr did not exit within {timeout}s of SIGTERM:\n"
                            f"{self.output[-2000:]}")
        self._output.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._output.close()


@pytest.fixture
def launch(xvfb_display, tmp_path):
    """launch(data_dir, name=..., browser=..., page_script=...) -> a running DesktopApp;
    all stopped at the end."""
    started: list[DesktopApp] = []

    def start(data_dir: Path, name: str = "app", browser: Path | None = None,
              page_script: str | None = None) -> DesktopApp:
        app = DesktopApp(data_dir, xvfb_display, tmp_path, name=name, browser=browser,
                         page_script=page_script)
        started.append(app)
        return app

    yield start
    for app in started:
        app.kill()


def x_tool(*args: str, display: str, timeout: float = 20) -> str:
    tool = need_tool(args[0])
    env = dict(os.environ, DISPLAY=display)
    result = subprocess.run([tool, *args[1:]], env=env, check=False, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{args[0]} failed: {result.stderr}"
    return result.stdout
