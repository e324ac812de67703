"""Start-up time of browser mode, from launching ``tftsr serve`` to the page's first paint.

    .venv/bin/python tests/benchmarks/bench_startup.py [--runs N] [--incidents N] [--exe PATH]

For a fresh data folder (key set, database created, every migration applied) and for an
existing one (already migrated, holding --incidents incidents, default 1,000), each run:

1. launches ``tftsr serve --no-browser`` and times process start -> URL printed;
2. opens the URL in headless Debian Chromium (Playwright, ``/usr/bin/chromium``) and
   reads ``first-contentful-paint`` from ``performance.getEntriesByType('paint')``
   (navigation -> first paint), then waits for the UI to render into ``#app``;
3. reports the total, process start -> first contentful paint, on one clock.

Chromium itself is started once, before the runs, and is not part of any figure. With
--exe the single-file executable (build/build_exe.sh) is measured instead of the
checkout. If frontend/index.html does not exist yet, only the server part is measured.
Prints medians and ranges in milliseconds; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "backend"))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+/\?token=\S+)")
KEY = "startup benchmark key " + "y" * 16


def serve_command(exe: Path | None, data_dir: Path) -> list[str]:
    base = [str(exe)] if exe else [sys.executable, "-m", "tftsr"]
    return [*base, "serve", "--no-browser", "--data-dir", str(data_dir)]


def environment(data_dir: Path) -> dict:
    env = dict(os.environ)
    env.update({"TFTSR_DATA_DIR": str(data_dir), "TFTSR_DB_KEY": KEY, "TFTSR_NO_KEYRING": "1",
                "PYTHONUNBUFFERED": "1"})
    env.pop("DISPLAY", None)
    return env


def start_server(exe: Path | None, data_dir: Path) -> tuple[subprocess.Popen, str, float, float]:
    """Launch and wait for the URL. Returns (process, url, launch epoch s, seconds to URL)."""
    launched_epoch = time.time()
    started = time.perf_counter()
    proc = subprocess.Popen(serve_command(exe, data_dir), env=environment(data_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        m = URL_RE.search(line)
        if m:
            return proc, m.group(1), launched_epoch, time.perf_counter() - started
    proc.wait(10)
    raise RuntimeError("tftsr serve exited before printing its URL:\n" + "".join(lines))


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stdout:
        proc.stdout.close()


PAINT_JS = """() => {
  const fcp = performance.getEntriesByType('paint')
      .find((e) => e.name === 'first-contentful-paint');
  const app = document.querySelector('#app');
  const rendered = app ? [...app.children].filter((c) => c.tagName !== 'NOSCRIPT').length : -1;
  return {fcp: fcp ? fcp.startTime : null, origin: performance.timeOrigin, rendered};
}"""


def measure_page(context, url: str) -> dict:
    """Navigation -> first contentful paint, and -> UI rendered in #app (ms).

    The tab is opened before the server starts, so the figures hold no browser set-up."""
    page = context.pages[0]
    try:
        page.goto(url, wait_until="commit")
        deadline = time.monotonic() + 30
        fcp = rendered_ms = None
        info = {}
        while time.monotonic() < deadline:
            info = page.evaluate(PAINT_JS)
            if fcp is None and info["fcp"] is not None:
                fcp = info["fcp"]
            if rendered_ms is None and info["rendered"] > 0:
                rendered_ms = page.evaluate("() => performance.now()")
            if fcp is not None and rendered_ms is not None:
                break
            time.sleep(0.01)
        return {"fcp_ms": fcp, "rendered_ms": rendered_ms, "time_origin_ms": info.get("origin")}
    finally:
        context.close()


def new_tab(browser):
    if browser is None:
        return None
    context = browser.new_context()
    context.new_page()
    return context


def seed_existing(data_dir: Path, incidents: int) -> None:
    os.environ["TFTSR_DB_KEY"] = KEY
    os.environ["TFTSR_NO_KEYRING"] = "1"
    from bench_search import populate
    from tftsr.app import open_app

    app = open_app(data_dir)
    try:
        if incidents:
            populate(app, incidents)
    finally:
        app.close()


def fmt(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return (f"median {statistics.median(values):7.1f}   min {min(values):7.1f}"
            f"   max {max(values):7.1f}")


def run(runs: int, incidents: int, exe: Path | None) -> int:
    have_frontend = (ROOT / "frontend" / "index.html").is_file()
    browser = playwright = None
    why_no_browser = None
    if not have_frontend:
        why_no_browser = "frontend/index.html is missing: only the server start is measured"
    elif not Path(CHROMIUM).exists():
        why_no_browser = f"{CHROMIUM} is not installed: only the server start is measured"
    else:
        try:
            from playwright.sync_api import sync_playwright

            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                 headless=True)
        except Exception as exc:  # noqa: BLE001 - report and carry on with what we can
            why_no_browser = f"Chromium could not be started ({exc}); only the server is measured"
    what = f"single-file executable {exe}" if exe else f"checkout ({sys.executable} -m tftsr)"
    print(f"Measuring {what}, {runs} runs per case")
    if why_no_browser:
        print(f"NOTE: {why_no_browser}")

    tmp = Path(tempfile.mkdtemp(prefix="tftsr-bench-startup-"))
    try:
        existing = tmp / "existing"
        seed_existing(existing, incidents)
        cases = [("fresh data folder", None), (f"existing ({incidents:,} incidents)", existing)]
        for label, fixed_dir in cases:
            to_url, to_fcp, to_app, total = [], [], [], []
            for i in range(runs + 1):  # the first run warms the OS file cache; not counted
                data_dir = fixed_dir or tmp / f"fresh-{i}"
                context = new_tab(browser)
                proc, url, launched, seconds = start_server(exe, data_dir)
                try:
                    page = measure_page(context, url) if context else None
                finally:
                    stop_server(proc)
                if i == 0:
                    continue
                to_url.append(seconds * 1000)
                if page and page["fcp_ms"] is not None:
                    to_fcp.append(page["fcp_ms"])
                    total.append(page["time_origin_ms"] + page["fcp_ms"] - launched * 1000)
                    if page["rendered_ms"] is not None:
                        to_app.append(page["rendered_ms"])
                if fixed_dir is None:
                    shutil.rmtree(data_dir, ignore_errors=True)
            print(f"\n{label}")
            print(f"  process start -> URL printed        {fmt(to_url)} ms")
            if browser:
                print(f"  navigation -> first contentful paint {fmt(to_fcp)} ms")
                print(f"  navigation -> UI rendered in #app    {fmt(to_app)} ms")
                print(f"  total: process start -> first paint  {fmt(total)} ms")
    finally:
        if browser:
            browser.close()
        if playwright:
            playwright.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per case")
    parser.add_argument("--incidents", type=int, default=1000,
                        help="incidents in the existing data folder")
    parser.add_argument("--exe", type=Path, help="measure this single-file executable")
    args = parser.parse_args()
    return run(args.runs, args.incidents, args.exe)


if __name__ == "__main__":
    raise SystemExit(main())
