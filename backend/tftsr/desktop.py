"""The desktop window: pywebview showing the bundled UI from the local server.

Commands go through the JS API bridge; Python -> UI events are dispatched in the page as
``tftsr:event`` CustomEvents. The window never navigates away from the app, remembers its
size and position, and opens http(s) links in the system browser.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any

from tftsr.bridge import build_bridge
from tftsr.server import LocalServer
from tftsr.settings.store import get_value, set_value

log = logging.getLogger(__name__)

GEOMETRY_KEY = "internal.window_geometry"
DEFAULT_SIZE = (1280, 820)
MIN_SIZE = (960, 620)


def display_available() -> tuple[bool, str]:
    if sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False, "no display was found (DISPLAY and WAYLAND_DISPLAY are not set)"
    return True, ""


def prepare_qt_environment() -> None:
    if sys.platform.startswith("linux"):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # QtWebEngine refuses to start its sandbox as root.
            os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--disable-background-networking" not in flags:
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (
                flags + " --disable-background-networking --disable-component-update"
            ).strip()


def _load_geometry(app) -> dict:
    try:
        with app.db.connection() as conn:
            value = get_value(conn, GEOMETRY_KEY)
    except Exception:  # noqa: BLE001
        return {}
    if not isinstance(value, dict):
        return {}
    out = {}
    for k in ("width", "height", "x", "y"):
        v = value.get(k)
        if isinstance(v, int) and -10000 < v < 20000:
            out[k] = v
    if out.get("width", 0) < MIN_SIZE[0] or out.get("height", 0) < MIN_SIZE[1]:
        out.pop("width", None)
        out.pop("height", None)
    return out


class GeometrySaver:
    """Debounced persistence of the window's size and position."""

    def __init__(self, app, initial: dict):
        self.app = app
        self.state = dict(initial)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def update(self, **values: Any) -> None:
        with self._lock:
            self.state.update({k: int(v) for k, v in values.items() if v is not None})
            if self._timer:
                self._timer.cancel()
            self._timer = threading.Timer(0.6, self.save)
            self._timer.daemon = True
            self._timer.start()

    def save(self) -> None:
        with self._lock:
            state = dict(self.state)
        try:
            with self.app.db.transaction() as conn:
                set_value(conn, GEOMETRY_KEY, state, internal=True)
        except Exception:  # noqa: BLE001
            log.exception("could not save the window geometry")


def run(app, *, debug: bool = False, instance=None) -> int:
    prepare_qt_environment()
    import webview
    from webview import FileDialog

    webview.settings["ALLOW_FILE_URLS"] = False
    webview.settings["OPEN_EXTERNAL_LINKS_IN_BROWSER"] = True
    webview.settings["OPEN_DEVTOOLS_IN_DEBUG"] = False

    server = LocalServer(app).start()
    from tftsr.logs import add_secret

    add_secret(server.token)
    app.mode = "desktop"
    geometry = _load_geometry(app)
    saver = GeometrySaver(app, geometry)
    start_url = server.url(mode="desktop")

    window = webview.create_window(
        "TFTSR", url=start_url, js_api=build_bridge(app),
        width=geometry.get("width", DEFAULT_SIZE[0]), height=geometry.get("height", DEFAULT_SIZE[1]),
        x=geometry.get("x"), y=geometry.get("y"), min_size=MIN_SIZE, text_select=True,
        background_color="#1b1f24",
    )

    def save_dialog(filename: str) -> str | None:
        result = window.create_file_dialog(FileDialog.SAVE, save_filename=filename)
        if not result:
            return None
        return result if isinstance(result, str) else result[0]

    app.save_dialog = save_dialog

    def push_event(name: str, payload: Any) -> None:
        detail = json.dumps({"name": name, "payload": payload}, ensure_ascii=False)
        script = ("window.dispatchEvent(new CustomEvent('tftsr:event', {detail: "
                  + detail + "}));")
        try:
            window.evaluate_js(script)
        except Exception:  # noqa: BLE001 - the window may be closing
            log.debug("could not deliver event %s", name)

    app.events.subscribe(push_event)

    def on_loaded():
        url = window.get_current_url() or ""
        if not url.startswith(server.base_url + "/"):
            log.warning("the window left the app; bringing it back")
            window.load_url(start_url)
            return
        probe = os.environ.get("TFTSR_DESKTOP_PROBE")
        if probe:
            threading.Thread(target=_run_probe, args=(window, probe), daemon=True).start()

    window.events.loaded += on_loaded
    window.events.resized += lambda width, height: saver.update(width=width, height=height)
    window.events.moved += lambda x, y: saver.update(x=x, y=y)
    window.events.closing += saver.save

    if instance is not None:
        instance.describe(mode="desktop")

        def focus():
            try:
                window.restore()
                window.show()
                window.on_top = True
                window.on_top = False
            except Exception:  # noqa: BLE001
                log.debug("could not focus the window")

        instance.listen(focus)

    gui = "qt" if sys.platform.startswith("linux") else None
    log.info("opening the desktop window (%s)", gui or "native")
    try:
        webview.start(gui=gui, debug=debug, private_mode=True)
    finally:
        server.shutdown()
    return 0


def _run_probe(window, path: str) -> None:
    """Support for the desktop smoke test: one real JS -> Python -> JS bridge round trip."""
    import time

    result: dict = {}
    deadline = time.monotonic() + 30
    script = ("(async () => { for (let i = 0; i < 100 && !(window.pywebview && window.pywebview.api"
              " && window.pywebview.api.ping); i++) { await new Promise(r => setTimeout(r, 100)); }"
              " const r = await window.pywebview.api.ping({echo: 'bridge'});"
              " return JSON.stringify({reply: r, title: document.title,"
              " ready: document.readyState}); })()")
    while time.monotonic() < deadline:
        try:
            value = window.evaluate_js(script)
            result = {"ok": True, "value": json.loads(value) if isinstance(value, str) else value}
            break
        except Exception as exc:  # noqa: BLE001
            result = {"ok": False, "error": str(exc)}
            time.sleep(0.5)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
