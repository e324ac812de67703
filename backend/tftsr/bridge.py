"""The desktop bridge: what page JavaScript may ask of Python, and nothing more.

pywebview (6.2) resolves every message the page sends by name: a dotted name is walked
with ``getattr`` from the API object (``ping.__globals__``, ``__class__.__init__`` ...),
a handful of special names drive the window itself (move it, change ``window.state``,
show an alert), and an exception is sent back with its full Python traceback. TFTSR
closes all of that:

* the API object (:class:`Bridge`) has exactly one public method, ``call(name, args)``;
  the page sees it as ``window.pywebview.api.call('create_issue', {...})``;
* :func:`bridge_call` replaces pywebview's ``js_bridge_call`` (and, on Linux, the Qt
  channel object that feeds it). It refuses every message name except ``call`` before
  anything is looked up -- dotted, private and dunder names, and the special names
  pywebview's own scripts use, none of which TFTSR needs -- and answers with a clean
  ``{"ok": false, "error": {"code", "message"}}``, never a traceback;
* every reply is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``.

These patches rely on pywebview's internals, so ``pyproject.toml`` pins pywebview to the
6.2 series and ``tests/desktop/test_bridge.py`` fails when those internals change.

pywebview also builds ``window.pywebview.api`` with ``new Function(...)`` and delivers
return values with ``window.evaluate_js``, which wraps the script in ``eval``. The page's
Content-Security-Policy (``script-src 'self'``, no ``'unsafe-eval'``) refuses both. Scripts
run through Qt's ``runJavaScript`` are not subject to the page's CSP, but an ``eval``
inside them is. Two small adaptations fix that without loosening the policy:

* :func:`adapt_pywebview_to_csp` appends an ``eval``-free ``_createApi`` (plain closures) to
  the script pywebview injects into each page;
* :func:`use_eval_free_scripts` makes the window's ``evaluate_js`` run scripts as they are
  (``window.run_js``), which is how replies reach the page.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from typing import Any

from tftsr.commands import dispatch, load_all
from tftsr.errors import TftsrError

log = logging.getLogger(__name__)

#: The one name the page may send: ``call(name, args)``.
ENTRY_POINT = "call"

#: Message names pywebview 6.2's own scripts send over the bridge, and what they do in
#: Python. TFTSR uses none of them (no frameless drag regions, no ``window.dom`` event
#: handlers, no ``evaluate_js`` callbacks, no ``window.state``, no ``alert``), so all are
#: refused. tests/desktop/test_bridge.py checks this list against pywebview's source.
PYWEBVIEW_MESSAGES = {
    "pywebviewMoveWindow": "moves the window (drag regions of frameless windows)",
    "pywebviewEventHandler": "runs Python handlers registered through window.dom",
    "pywebviewAsyncCallback": "delivers the value of an evaluate_js promise",
    "pywebviewStateUpdate": "sets an attribute of window.state",
    "pywebviewStateDelete": "deletes an attribute of window.state",
    "_pywebviewAlert": "shows window.alert() text in a native message box",
}

# pywebview's page script makes reply ids from Math.random(): digits, rarely "34e-7".
_REPLY_ID = re.compile(r"[A-Za-z0-9.\-]{1,64}")
_INTERNAL = {"code": "internal", "message": "Something went wrong inside TFTSR."}

# Same behaviour as pywebview's _createApi (one promise per call, results delivered
# through _returnValuesCallbacks), built from closures instead of new Function.
CSP_SAFE_CREATE_API = r"""
;(function () {
  var pv = window.pywebview;
  if (!pv) { return; }
  pv._createApi = function (funcList) {
    funcList.forEach(function (entry) {
      var funcName = entry.func;
      pv.api[funcName] = function () {
        var id = (Math.random() + '').substring(2);
        var args = Array.prototype.slice.call(arguments);
        var promise = new Promise(function (resolve, reject) {
          pv._checkValue(funcName, resolve, reject, id);
        });
        pv._jsApiCallback(funcName, args, id);
        return promise;
      };
      pv._returnValuesCallbacks[funcName] = {};
    });
  };
})();
"""


class Bridge:
    """The object handed to ``create_window(js_api=...)``: one public method."""

    __slots__ = ("_app",)

    def __init__(self, app):
        self._app = app

    def call(self, name, args=None) -> dict:
        """Run the command ``name`` with the JSON object ``args``."""
        return run_command(self._app, name, args)


def build_bridge(app) -> Bridge:
    load_all()
    return Bridge(app)


def run_command(app, name: Any, args: Any) -> dict:
    """One command through the dispatcher, as ``{"ok": ..., "result"|"error": ...}``."""
    try:
        return {"ok": True, "result": dispatch(app, name, {} if args is None else args)}
    except TftsrError as exc:
        return {"ok": False, "error": exc.to_dict()}
    except Exception:  # noqa: BLE001 - dispatch already logged it
        log.exception("a bridge call failed")
        return {"ok": False, "error": dict(_INTERNAL)}


def refusal(func_name: Any) -> str | None:
    """Why a message name is refused (None for the entry point). Looks nothing up."""
    if func_name == ENTRY_POINT and isinstance(func_name, str):
        return None
    if not isinstance(func_name, str) or not func_name:
        return "not a name"
    if "." in func_name:
        return "a dotted name"
    if func_name in PYWEBVIEW_MESSAGES:
        return "a pywebview message TFTSR does not use"
    if func_name.startswith("_"):
        return "a private name"
    return "not the bridge's entry point"


def bridge_call(window, func_name: Any, param: Any, value_id: Any) -> None:
    """Replacement for pywebview's ``js_bridge_call(window, func_name, param, value_id)``.

    Only ``call`` with ``[name]`` or ``[name, args]`` is run; everything else is refused
    before any attribute is looked up. A message whose reply id is not a plain token
    (pywebview makes them from ``Math.random()``) is dropped: it could not be answered.
    The work and the reply happen on a new thread, as in pywebview: this is called on the
    GUI thread, and delivering a reply waits for the page.
    """
    if not (isinstance(func_name, str) and isinstance(value_id, str)
            and _REPLY_ID.fullmatch(value_id)):
        log.warning("refused a bridge message: no usable reply id")
        return
    reason = refusal(func_name)
    if reason is not None:
        log.warning("refused a bridge message: %s", reason)
        _answer(window, func_name, value_id, lambda: {"ok": False, "error": {
            "code": "refused", "message": "The desktop bridge accepts only call(name, args)."}})
        return
    bridge = getattr(window, "_js_api", None)
    if not isinstance(bridge, Bridge):
        log.error("the window's API object is not the TFTSR bridge")
        _answer(window, func_name, value_id, lambda: {"ok": False, "error": dict(_INTERNAL)})
        return
    if not (isinstance(param, list) and 1 <= len(param) <= 2):
        _answer(window, func_name, value_id, lambda: {"ok": False, "error": {
            "code": "invalid_argument",
            "message": "Call the bridge as call(name, args) with a JSON object of arguments."}})
        return
    _answer(window, func_name, value_id, lambda: bridge.call(*param))


def _answer(window, func_name: str, value_id: str, make_reply) -> None:
    """On a new thread: build the reply, then deliver it to the page."""

    def run() -> None:
        _reply(window, func_name, value_id, make_reply())

    threading.Thread(target=run, name="tftsr-bridge-call", daemon=True).start()


def _reply(window, func_name: str, value_id: str, payload: dict) -> None:
    """Resolve the page's promise for ``value_id`` (if it made one) with ``payload``."""
    if not _REPLY_ID.fullmatch(value_id):
        return
    try:
        value = json.dumps(payload)
    except (TypeError, ValueError):
        log.exception("a bridge reply could not be encoded")
        value = json.dumps({"ok": False, "error": _INTERNAL})
    # Every piece is JSON with only ASCII in it, so it is a safe JavaScript literal.
    script = ("(function (n, i, v) { var p = window.pywebview, c = p && p._returnValuesCallbacks;"
              " if (c && Object.prototype.hasOwnProperty.call(c, n) && c[n]"
              " && typeof c[n][i] === 'function') { c[n][i]({value: v}); } })"
              f"({json.dumps(func_name)}, {json.dumps(value_id)}, {json.dumps(value)});")
    try:
        window.evaluate_js(script)
    except Exception:  # noqa: BLE001 - the window may be closing
        log.debug("could not deliver a bridge reply")


def install_bridge_guard() -> None:
    """Route every bridge message through :func:`bridge_call`. Idempotent.

    pywebview's platform modules import ``js_bridge_call`` by name, so the function is
    replaced in ``webview.util`` (for modules imported later) and in every platform module
    already imported. On Linux the Qt channel object is replaced as well, because it shows
    ``alert()`` text itself before ``js_bridge_call`` is reached.
    """
    import webview.util as util

    util.js_bridge_call = bridge_call
    if sys.platform.startswith("linux"):
        import webview.platforms.qt  # noqa: F401 - patched below with the others
    for name, module in list(sys.modules.items()):
        if name.startswith("webview.platforms.") and hasattr(module, "js_bridge_call"):
            module.js_bridge_call = bridge_call
    qt = sys.modules.get("webview.platforms.qt")
    if qt is not None:
        _guard_qt_channel(qt)


def _guard_qt_channel(qt) -> None:
    """Replace the object pywebview registers on the QWebChannel as ``external``.

    Its slot ``call(func_name, param, value_id)`` is what page JavaScript reaches; the
    original shows ``_pywebviewAlert`` text in a message box and passes anything else to
    ``js_bridge_call`` (after ``json.loads``, which may raise). ``BrowserView`` creates it
    as ``BrowserView.JSBridge(self)``, so replacing the class attribute is enough. The
    original's ``__init__`` names its own class through ``BrowserView.JSBridge``, so the
    replacement derives from QObject, not from it.
    """
    original = qt.BrowserView.JSBridge
    if getattr(original, "_tftsr_guarded", False):
        return
    QtCore = qt.QtCore

    class JSBridge(QtCore.QObject):
        _tftsr_guarded = True
        qtype = original.qtype

        def __init__(self, parent):
            QtCore.QObject.__init__(self)
            self._parent = parent
            self.window = parent.pywebview_window

        @QtCore.Slot(str, qtype, str, result=str)
        def call(self, func_name, param, value_id):
            func_name = qt.BrowserView._convert_string(func_name)
            param = qt.BrowserView._convert_string(param)
            try:
                decoded = json.loads(param) if param is not None else None
            except (TypeError, ValueError):
                decoded = None
            bridge_call(self.window, func_name, decoded, value_id)
            return None

    qt.BrowserView.JSBridge = JSBridge


def adapt_pywebview_to_csp() -> None:
    """Make the script pywebview injects into each page build its API without ``eval``.

    Idempotent. pywebview looks ``load_js_files`` up in ``webview.util`` each time it
    injects, so wrapping that one function is enough.
    """
    import webview.util as util

    if getattr(util.load_js_files, "_tftsr_csp_safe", False):
        return
    original = util.load_js_files

    def load_js_files(window, platform):
        js_code, finish_script = original(window, platform)
        return js_code + CSP_SAFE_CREATE_API, finish_script

    load_js_files._tftsr_csp_safe = True
    util.load_js_files = load_js_files


def use_eval_free_scripts(window) -> None:
    """Make ``window.evaluate_js`` run scripts without ``eval`` (results are not returned).

    Bridge replies go through ``window.evaluate_js``; so do our events. Code that needs a
    value back should call :func:`run_script` and read the value of the script's last
    expression.
    """

    def evaluate_js(script: str, callback=None):
        run_script(window, script)

    window.evaluate_js = evaluate_js


def run_script(window, script: str):
    """Run JavaScript in the page as is (no ``eval``); returns its last expression's value."""
    return window.run_js(script)
