"""Launch the real desktop app with a probe that runs inside its window (tests only).

    python -m tests.desktop.probe_launcher --out PROBE.json [--page-script JS] -- TFTSR-ARGS

This runs ``tftsr.cli.main(TFTSR-ARGS)`` unchanged, after wrapping the public
``webview.create_window`` so that, once the window has loaded the app, a probe runs in
the page:

* by default the smoke-test probe below: a JS -> Python -> JS round trip through the
  bridge, one Python -> UI event, what the page reports about its CSP, permissions and
  first paint, then attempts to leave the app;
* with ``--page-script``, that JavaScript file instead (no navigation is tried). Like the
  built-in one it sets ``window.__tftsrProbe`` to a JSON string when done; it may wait on
  a native dialog, so it gets more time.

The findings are written as JSON to ``--out``, with the server token taken from the
window's start address so the tests can check that no log shows it. None of this is part
of TFTSR: it lives under tests/, which neither the wheel nor the executable contains.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Every probe runs inside this frame: it waits for the bridge, gives the body ``api``,
# ``out`` and ``sleep``, and reports ``out`` (or the error) in window.__tftsrProbe.
PROBE_FRAME = r"""
window.__tftsrProbe = null;
(async () => {
  const out = {};
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  try {
    for (let i = 0; i < 200 && !(window.pywebview && window.pywebview.api
         && window.pywebview.api.call); i++) { await sleep(50); }
    const api = window.pywebview.api;
BODY
  } catch (e) {
    out.error = String(e && e.stack || e);
  }
  window.__tftsrProbe = JSON.stringify(out);
})();
"""


def probe_script(body: str) -> str:
    """A page script for ``--page-script``: ``body`` inside :data:`PROBE_FRAME`."""
    return PROBE_FRAME.replace("BODY", body.rstrip("\n"), 1)


PROBE_SCRIPT = probe_script(r"""
    out.api_names = Object.keys(api);
    out.ping = await api.call('ping', {echo: 'bridge'});
    const info = await api.call('get_app_info', {});
    const events = [];
    window.addEventListener('tftsr:event', (e) => events.push(e.detail));
    const created = await api.call('create_issue', {title: 'Desktop window probe',
      severity: 'low', category: info.result.domains[0].id,
      description: 'Created by the desktop smoke test.'});
    out.created_issue_id = created.ok ? created.result.issue.id : null;
    for (let i = 0; i < 100 && !events.some((d) => d.name === 'issue_changed'); i++) {
      await sleep(50);
    }
    out.events = events;
    try { eval('1'); out.eval = 'allowed'; } catch (e) { out.eval = e.name; }
    try { new Function('return 1'); out.new_function = 'allowed'; }
    catch (e) { out.new_function = e.name; }
    out.notification_permission = typeof Notification === 'undefined' ? 'unsupported'
      : await Promise.race([Notification.requestPermission(), sleep(3000).then(() => 'no answer')]);
    try {
      const stream = await Promise.race([navigator.mediaDevices.getUserMedia({audio: true}),
                                         sleep(3000).then(() => null)]);
      out.microphone = stream ? 'granted' : 'no answer';
    } catch (e) { out.microphone = e.name; }
    const paints = {};
    for (const p of performance.getEntriesByType('paint')) { paints[p.name] = p.startTime; }
    out.paint = paints;
    out.time_origin = performance.timeOrigin;
    const root = document.querySelector('#app');
    out.app_rendered = root ? root.children.length : -1;
    out.title = document.title;
    out.origin = location.origin;
    out.inner = [window.innerWidth, window.innerHeight];
""")

LEAVE_SCRIPT = """
  (() => {
    for (const [href, target] of [['https://example.com/new-window', '_blank'],
                                   ['file:///etc/hostname', '_blank']]) {
      const a = document.createElement('a');
      a.href = href; a.target = target; a.rel = 'noopener';
      document.body.appendChild(a); a.click(); a.remove();
    }
  })();"""


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def run_probe(window, out: Path, page_script: str | None, start_url: str) -> None:
    """Run the probe in the page and write what it found to ``out`` (atomically)."""
    from tftsr.bridge import run_script

    result: dict = {"ok": False}
    try:
        run_script(window, page_script or PROBE_SCRIPT)
        deadline = time.monotonic() + (300 if page_script else 40)
        value = None
        while time.monotonic() < deadline and not value:
            time.sleep(0.1)
            value = run_script(window, "window.__tftsrProbe")
        if not value:
            result["error"] = "the probe script did not finish"
        else:
            page = json.loads(value)
            result.update(page)
            result["ok"] = "error" not in page
            ping = page.get("ping") or {}
            result["ping_ok"] = ping.get("ok")
            result["ping_result"] = ping.get("result")
            if not page_script:
                result.update(try_to_leave(window, start_url))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["token"] = (parse_qs(urlsplit(start_url).query).get("token") or [None])[0]
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, out)


def try_to_leave(window, start_url: str) -> dict:
    """Links to a new window, a plain navigation and file: addresses; where is the page?"""
    from tftsr.bridge import run_script

    run_script(window, LEAVE_SCRIPT)
    time.sleep(1.0)
    run_script(window, "location.assign('https://example.com/same-window');")
    time.sleep(1.5)
    run_script(window, "location.assign('file:///etc/hostname');")
    time.sleep(1.0)
    after = run_script(window, "JSON.stringify({origin: location.origin,"
                               " api: Boolean(window.pywebview && window.pywebview.api"
                               " && window.pywebview.api.call)})")
    parts = urlsplit(start_url)
    return {"after_navigation": json.loads(after) if after else None,
            "app_origin": f"{parts.scheme}://{parts.netloc}"}


def install(out: Path, page_script: str | None) -> None:
    """Wrap ``webview.create_window``: the first load of the app in a window runs the probe."""
    import webview

    original = webview.create_window

    def create_window(*args, **kwargs):
        window = original(*args, **kwargs)
        start_url = kwargs.get("url") or (args[1] if len(args) > 1 else "")
        started = threading.Event()

        def on_loaded():
            if started.is_set() or not same_origin(window.get_current_url() or "", start_url):
                return
            started.set()
            threading.Thread(target=run_probe, args=(window, out, page_script, start_url),
                             name="test-probe", daemon=True).start()

        window.events.loaded += on_loaded
        return window

    webview.create_window = create_window


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="probe_launcher")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--page-script", type=Path)
    opts = parser.parse_args(argv[:split])
    script = opts.page_script.read_text(encoding="utf-8") if opts.page_script else None
    install(opts.out, script)
    from tftsr.cli import main as tftsr_main

    return tftsr_main(argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main())
