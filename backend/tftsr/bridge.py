"""The JS API object handed to pywebview, and what it takes to run under a strict CSP.

Each bridge method takes one JSON object of arguments and always returns
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"code", "message"}}``, so no
Python traceback ever reaches the page.

pywebview 6 builds ``window.pywebview.api`` with ``new Function(...)`` and delivers every
return value with ``window.evaluate_js``, which wraps the script in ``eval``. The page's
Content-Security-Policy (``script-src 'self'``, no ``'unsafe-eval'``) refuses both, so out of
the box the bridge would never appear. Scripts run through Qt's ``runJavaScript`` are not
subject to the page's CSP, but an ``eval`` inside them is. Two small adaptations fix that
without loosening the policy:

* :func:`adapt_pywebview_to_csp` appends an ``eval``-free ``_createApi`` (plain closures) to
  the script pywebview injects into each page;
* :func:`use_eval_free_scripts` makes the window's ``evaluate_js`` run scripts as they are
  (``window.run_js``), which is how pywebview hands results back to the page.
"""

from __future__ import annotations

import logging

from tftsr.commands import dispatch, load_all
from tftsr.errors import TftsrError

log = logging.getLogger(__name__)

# Same behaviour as pywebview's _createApi (nested names, one promise per call, results
# delivered through _returnValuesCallbacks), built from closures instead of new Function.
CSP_SAFE_CREATE_API = r"""
;(function () {
  var pv = window.pywebview;
  if (!pv) { return; }
  pv._createApi = function (funcList) {
    funcList.forEach(function (entry) {
      var funcName = entry.func;
      var path = funcName.split('.');
      var name = path.pop();
      var target = path.reduce(function (obj, prop) {
        if (!obj[prop]) { obj[prop] = {}; }
        return obj[prop];
      }, pv.api);
      target[name] = function () {
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


def build_bridge(app):
    """An object with one method per registered command, for ``create_window(js_api=...)``."""
    commands = load_all()
    namespace: dict = {"__doc__": "TFTSR commands for the desktop window."}

    def make(name: str):
        def method(self, args=None):
            try:
                return {"ok": True, "result": dispatch(app, name, args)}
            except TftsrError as exc:
                return {"ok": False, "error": exc.to_dict()}
            except Exception:  # noqa: BLE001 - dispatch already logged it
                log.exception("bridge call %s failed", name)
                return {"ok": False, "error": {"code": "internal",
                                               "message": "Something went wrong inside TFTSR."}}

        method.__name__ = name
        return method

    for name in commands:
        namespace[name] = make(name)
    bridge_cls = type("TftsrBridge", (), namespace)
    return bridge_cls()


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

    pywebview's own replies to bridge calls go through ``window.evaluate_js``; so do our
    events. Code that needs a value back should call :func:`run_script` and read the value
    of the script's last expression.
    """

    def evaluate_js(script: str, callback=None):
        run_script(window, script)

    window.evaluate_js = evaluate_js


def run_script(window, script: str):
    """Run JavaScript in the page as is (no ``eval``); returns its last expression's value."""
    return window.run_js(script)
