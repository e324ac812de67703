"""The desktop window: pywebview (Qt WebEngine on Linux) showing the bundled UI.

The page comes from the local server (:mod:`tftsr.server`) with its strict CSP. Commands go
through the JS API bridge (:mod:`tftsr.bridge`); Python -> UI events are dispatched in the
page as ``tftsr:event`` CustomEvents. The window

* never navigates away from the app: other http(s) addresses open in the system browser,
  anything else is refused;
* refuses every permission request (camera, microphone, location, notifications, ...);
* remembers its size and position in the setting ``internal.window_geometry``;
* closes cleanly on SIGTERM, so the geometry is saved and the database closed.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import webbrowser
from typing import Any
from urllib.parse import urlsplit

from tftsr.bridge import (
    adapt_pywebview_to_csp,
    build_bridge,
    install_bridge_guard,
    run_script,
    use_eval_free_scripts,
)
from tftsr.server import LocalServer
from tftsr.settings.store import get_value, set_value

log = logging.getLogger(__name__)

GEOMETRY_KEY = "internal.window_geometry"
DEFAULT_SIZE = (1280, 820)
MIN_SIZE = (960, 620)
GEOMETRY_SAVE_DELAY = 0.6  # seconds of quiet after the last move/resize before saving
MAX_RETURNS_TO_APP = 3  # fallback navigation check: reloads of the app before giving up


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


# --- where the app lives, and where it may go ---------------------------------------------

def is_app_url(url: str, base_url: str) -> bool:
    """True when ``url`` is on the local server's origin (scheme, host and port)."""
    try:
        target, base = urlsplit(url), urlsplit(base_url)
    except ValueError:
        return False
    return (target.scheme, target.netloc) == (base.scheme, base.netloc)


def open_external(url: str) -> bool:
    """Open an http(s) address in the system browser; refuse every other scheme."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        log.info("refused to open a %s link", parts.scheme or "schemeless")
        return False
    log.info("opening %s://%s in the system browser", parts.scheme, parts.hostname)
    threading.Thread(target=webbrowser.open, args=(url,), kwargs={"new": 2},
                     name="tftsr-open-link", daemon=True).start()
    return True


def install_page_guards(base_url: str) -> None:
    """Patch pywebview's Qt page classes: stay on the app, refuse permissions.

    pywebview's Qt page lets the main frame go anywhere, opens *any* new-window URL with
    ``webbrowser`` and grants camera and microphone requests. Its ``WebPage.__init__``
    names its own class through ``BrowserView.WebPage``, so the class is patched in place
    (a subclass would recurse); this must happen before the window is created.
    """
    from PyQt6.QtWebEngineCore import QWebEnginePage
    from webview.platforms import qt

    page_cls, new_window_cls = qt.BrowserView.WebPage, qt.BrowserView.NavigationHandler
    denied = QWebEnginePage.PermissionPolicy.PermissionDeniedByUser

    def accept_navigation(self, url, nav_type, is_main_frame):
        target = url.toString()
        if is_app_url(target, base_url):
            return True
        if is_main_frame:
            open_external(target)
        return False

    def accept_new_window(self, url, nav_type, is_main_frame):
        open_external(url.toString())
        return False

    def deny_feature(self, url, feature):
        log.info("refused a permission request (%s)", getattr(feature, "name", feature))
        self.setFeaturePermission(url, feature, denied)

    def deny_permission(permission):
        log.info("refused a permission request (%s)",
                 getattr(permission.permissionType(), "name", "unknown"))
        permission.deny()

    original_init = getattr(page_cls, "_tftsr_original_init", page_cls.__init__)

    def page_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if hasattr(self, "permissionRequested"):  # Qt 6.8+
            self.permissionRequested.connect(deny_permission)

    page_cls._tftsr_original_init = original_init
    page_cls.__init__ = page_init
    page_cls.acceptNavigationRequest = accept_navigation
    page_cls.onFeaturePermissionRequested = deny_feature
    new_window_cls.acceptNavigationRequest = accept_new_window

    # pywebview adds Chromium's "fake UI" switch, which answers media prompts with yes.
    if not getattr(qt.environ_append, "_tftsr_filtered", False):
        original_append = qt.environ_append

        def environ_append(name, *values):
            kept = [v for v in values if v != "--use-fake-ui-for-media-stream"]
            if kept:
                original_append(name, *kept)

        environ_append._tftsr_filtered = True
        qt.environ_append = environ_append


# --- window geometry ------------------------------------------------------------------------

def _dialog_start_dir() -> str:
    """File dialogs start in the user's home folder, not wherever TFTSR was launched from."""
    home = os.path.expanduser("~")
    return home if os.path.isdir(home) else ""


def _load_geometry(app) -> dict:
    """The saved window geometry, keeping only sane values (sizes below MIN_SIZE dropped)."""
    try:
        with app.db.connection() as conn:
            value = get_value(conn, GEOMETRY_KEY)
    except Exception:  # noqa: BLE001
        return {}
    if not isinstance(value, dict):
        return {}
    out: dict = {}
    for k in ("width", "height", "x", "y"):
        v = value.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and -10000 < v < 20000:
            out[k] = v
    if out.get("width", 0) < MIN_SIZE[0] or out.get("height", 0) < MIN_SIZE[1]:
        out.pop("width", None)
        out.pop("height", None)
    if ("x" in out) != ("y" in out):
        out.pop("x", None)
        out.pop("y", None)
    if value.get("maximized") is True:
        out["maximized"] = True
    return out


class GeometrySaver:
    """Debounced persistence of the window's size and position.

    ``update`` is called for every move/resize event; the state is written once things
    have been quiet for ``delay`` seconds, and again by ``flush`` when the window closes.
    While the window is maximized its normal size and position are kept, not the maximized
    ones.
    """

    def __init__(self, app, initial: dict, delay: float = GEOMETRY_SAVE_DELAY):
        self.app = app
        self.state = dict(initial)
        self.delay = delay
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._dirty = False

    def update(self, **values: Any) -> None:
        with self._lock:
            if self.state.get("maximized") and "maximized" not in values:
                return
            for k, v in values.items():
                if v is not None:
                    self.state[k] = bool(v) if k == "maximized" else int(v)
            self._dirty = True
            if self._timer:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay, self.save)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Save now if anything changed since the last save."""
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            dirty = self._dirty
        if dirty:
            self.save()

    def save(self) -> None:
        with self._lock:
            state = dict(self.state)
            self._dirty = False
        try:
            with self.app.db.transaction() as conn:
                set_value(conn, GEOMETRY_KEY, state, internal=True)
        except Exception:  # noqa: BLE001
            log.exception("could not save the window geometry")


# --- Python -> UI events --------------------------------------------------------------------

class EventPump:
    """Delivers events to the page in order, from one thread, so emitters never wait."""

    def __init__(self, window):
        self.window = window
        self._queue: queue.Queue = queue.Queue(maxsize=5000)
        self._thread = threading.Thread(target=self._run, name="tftsr-events", daemon=True)
        self._thread.start()

    def push(self, name: str, payload: Any) -> None:
        detail = json.dumps({"name": name, "payload": payload}, ensure_ascii=False)
        # JSON is a JS expression; escape the two line terminators JSON allows raw and '</'.
        detail = (detail.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
                  .replace("</", "<\\/"))
        script = f"window.dispatchEvent(new CustomEvent('tftsr:event', {{detail: {detail}}}));"
        try:
            self._queue.put_nowait(script)
        except queue.Full:
            log.warning("event queue full; dropping %s", name)

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            script = self._queue.get()
            if script is None:
                return
            try:
                run_script(self.window, script)
            except Exception:  # noqa: BLE001 - the window may be closing
                log.debug("could not deliver an event to the window")


# --- the window -----------------------------------------------------------------------------

def run(app, *, debug: bool = False, instance=None) -> int:
    """Open the window and block until it is closed (or SIGTERM/SIGINT arrive)."""
    prepare_qt_environment()
    import webview
    from webview import FileDialog

    webview.settings["ALLOW_FILE_URLS"] = False
    webview.settings["ALLOW_DOWNLOADS"] = False
    webview.settings["OPEN_EXTERNAL_LINKS_IN_BROWSER"] = True
    webview.settings["OPEN_DEVTOOLS_IN_DEBUG"] = False

    server = LocalServer(app).start()
    from tftsr.logs import add_secret

    add_secret(server.token)
    app.mode = "desktop"
    if sys.platform.startswith("linux"):
        install_page_guards(server.base_url)
    adapt_pywebview_to_csp()
    install_bridge_guard()

    geometry = _load_geometry(app)
    saver = GeometrySaver(app, geometry)
    start_url = server.url(mode="desktop")

    window = webview.create_window(
        "TFTSR", url=start_url, js_api=build_bridge(app),
        width=geometry.get("width", DEFAULT_SIZE[0]),
        height=geometry.get("height", DEFAULT_SIZE[1]),
        x=geometry.get("x"), y=geometry.get("y"), maximized=bool(geometry.get("maximized")),
        min_size=MIN_SIZE, text_select=True, background_color="#1b1f24",
    )
    use_eval_free_scripts(window)

    def save_dialog(filename: str) -> str | None:
        result = window.create_file_dialog(FileDialog.SAVE, directory=_dialog_start_dir(),
                                           save_filename=filename)
        if not result:
            return None
        return result if isinstance(result, str) else result[0]

    app.save_dialog = save_dialog

    def open_dialog(file_types: list[str], multiple: bool) -> list[str] | None:
        result = window.create_file_dialog(FileDialog.OPEN, directory=_dialog_start_dir(),
                                           allow_multiple=multiple, file_types=tuple(file_types))
        if not result:
            return None
        return [result] if isinstance(result, str) else list(result)

    app.open_dialog = open_dialog
    pump = EventPump(window)
    unsubscribe = app.events.subscribe(pump.push)

    returns_to_app = 0

    def on_loaded():
        nonlocal returns_to_app
        url = window.get_current_url() or ""
        if not is_app_url(url, server.base_url):
            # Navigation is refused by the page guard; this is the fallback.
            if returns_to_app >= MAX_RETURNS_TO_APP:
                log.error("the window keeps leaving the app; not reloading again")
                return
            returns_to_app += 1
            log.warning("the window left the app; bringing it back")
            window.load_url(start_url)

    def on_shown():
        _keep_on_screen(webview, window, geometry)

    window.events.loaded += on_loaded
    window.events.shown += on_shown
    window.events.resized += lambda width, height: saver.update(width=width, height=height)
    window.events.moved += lambda x, y: saver.update(x=x, y=y)
    window.events.maximized += lambda: saver.update(maximized=True)
    window.events.restored += lambda: saver.update(maximized=False)
    window.events.closing += saver.flush

    if instance is not None:
        instance.describe(mode="desktop")
        instance.listen(lambda: _bring_forward(window))

    def close_window(signum, _frame):
        log.info("received %s; closing the window", signal.Signals(signum).name)
        threading.Thread(target=window.destroy, name="tftsr-close", daemon=True).start()

    previous_term = signal.signal(signal.SIGTERM, close_window)
    gui = "qt" if sys.platform.startswith("linux") else None
    log.info("opening the desktop window (%s)", gui or "native")
    from tftsr.launcher import icon_file

    icon = icon_file(256)
    if gui == "qt":  # app name, desktop-file id and icon for the title bar and task bar
        from tftsr.passphrase_window import qt_application

        qt_application()
    try:
        # pywebview replaces SIGINT with an immediate quit; flush() below still saves.
        webview.start(gui=gui, debug=debug, private_mode=True,
                      icon=str(icon) if icon else None)
    finally:
        if gui == "qt":
            from tftsr.passphrase_window import release_application

            release_application()
        signal.signal(signal.SIGTERM, previous_term)
        saver.flush()
        unsubscribe()
        pump.close()
        server.shutdown()
        app.save_dialog = None
        app.open_dialog = None
    log.info("the desktop window was closed")
    return 0


def _bring_forward(window) -> None:
    """Show the window on top of the others (asked by a second launch)."""
    log.info("a second launch asked for this window; bringing it forward")
    try:
        window.restore()
        window.show()
        window.on_top = True
        window.on_top = False
    except Exception:  # noqa: BLE001
        log.debug("could not bring the window forward")


def _keep_on_screen(webview, window, geometry: dict) -> None:
    """A remembered position on a screen that is gone would hide the window: recentre."""
    if "x" not in geometry:
        return
    try:
        screens = webview.screens
    except Exception:  # noqa: BLE001
        return
    x, y = geometry["x"], geometry["y"]
    for s in screens:
        if s.x <= x + 100 < s.x + s.width and s.y <= y + 50 < s.y + s.height:
            return
    if screens:
        log.info("the remembered window position is off screen; moving the window")
        window.move(screens[0].x + 40, screens[0].y + 40)
