"""The JS API object handed to pywebview: one method per registered command.

Each method takes one JSON object of arguments and always returns
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"code", "message"}}``, so no
Python traceback ever reaches the page.
"""

from __future__ import annotations

import logging

from tftsr.commands import dispatch, load_all
from tftsr.errors import TftsrError

log = logging.getLogger(__name__)


def build_bridge(app):
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
