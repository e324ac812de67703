"""Page JavaScript in the real desktop window tries to walk the bridge's Python objects.

The page script runs in the window TFTSR opened (through tests/desktop/probe_launcher.py)
and does what an injected script could: look for anything on ``window.pywebview.api``
beyond ``call``, send raw messages over pywebview's channel with dotted and dunder names
and with pywebview's own special names (move the window, write ``window.state``, show an
``alert``), call the entry point with bad input, and then check the commands still work.
"""

from __future__ import annotations

import json

import pytest

from tests.desktop.conftest import x_tool
from tests.desktop.probe_launcher import probe_script

pytestmark = pytest.mark.desktop

MOVE_TO = [333, 222]  # where a pywebviewMoveWindow message would put the window

ATTEMPTS = [
    ["call.__globals__", []],
    ["call.__func__.__globals__.__setitem__", ["dispatch", None]],
    ["call.__self__._app", []],
    ["__class__", []],
    ["__init__", []],
    ["_app", []],
    ["dispatch", ["ping", {}]],
    ["ping", [{}]],
    ["a.b", []],
    ["pywebviewMoveWindow", MOVE_TO],
    ["pywebviewStateUpdate", {"key": "__class__", "value": 1}],
    ["pywebviewStateDelete", "__class__"],
    ["pywebviewAsyncCallback", "null"],
    ["pywebviewEventHandler", {"event": {"type": "click"}, "nodeId": "1"}],
]

PAGE_SCRIPT = probe_script(r"""
    const pv = window.pywebview;
    out.api_names = Object.getOwnPropertyNames(api);
    out.walks = {};
    for (const path of ['ping', 'dispatch', '__class__', '_app', 'call.__globals__']) {
      out.walks[path] = typeof path.split('.').reduce((o, k) => (o == null ? o : o[k]), api);
    }
    // A raw message over pywebview's channel, answered the way pywebview answers.
    const send = (name, params) => new Promise((resolve) => {
      const id = String(Math.floor(Math.random() * 1e9));
      const pending = pv._returnValuesCallbacks[name] || (pv._returnValuesCallbacks[name] = {});
      pending[id] = (reply) => resolve({value: JSON.parse(reply.value),
                                        isError: Boolean(reply.isError)});
      pv._jsApiCallback(name, params, id);
      setTimeout(() => resolve('no answer'), 20000);
    });
    out.attempts = {};
    for (const [name, params] of ATTEMPTS) { out.attempts[name] = await send(name, params); }
    window.alert('a message box, if the channel allowed it');
    out.unknown_command = await api.call('ping.__globals__', {});
    out.dunder_argument = await api.call('ping', {'__class__': 1});
    out.not_an_object = await api.call('ping', 'not an object');
    out.after = await api.call('ping', {echo: 'still works'});
""").replace("ATTEMPTS", json.dumps(ATTEMPTS))

REFUSED = {"value": {"ok": False, "error": {
    "code": "refused", "message": "The desktop bridge accepts only call(name, args)."}},
    "isError": False}


def test_page_javascript_cannot_walk_or_steer_the_bridge(launch, data_dir, xvfb_display):
    app = launch(data_dir, page_script=PAGE_SCRIPT)
    page = app.wait_probe()
    assert page["ok"], page

    assert page["api_names"] == ["call"]
    assert set(page["walks"].values()) == {"undefined"}
    for name, _params in ATTEMPTS:
        assert page["attempts"][name] == REFUSED, (name, page["attempts"][name])

    for key in ("unknown_command", "dunder_argument", "not_an_object"):
        reply = page[key]
        assert reply["ok"] is False and set(reply["error"]) == {"code", "message"}, reply
    assert page["unknown_command"]["error"]["code"] == "unknown_command"
    assert page["dunder_argument"]["error"]["code"] == "invalid_argument"
    assert page["not_an_object"]["error"]["code"] == "invalid_argument"
    # call.__func__.__globals__.__setitem__('dispatch', None) did not break the commands.
    assert page["after"]["ok"] is True and page["after"]["result"]["echo"] == "still works"

    text = json.dumps(page)
    for leak in ("Traceback", ".py", "File \\\"", "site-packages"):
        assert leak not in text, leak

    # The window did not move, and window.alert() was refused by the channel object
    # (logged) instead of opening a message box.
    geometry = x_tool("xdotool", "getwindowgeometry", "--shell", app.window_id(),
                      display=xvfb_display)
    position = dict(line.split("=", 1) for line in geometry.split())
    assert [int(position["X"]), int(position["Y"])] != MOVE_TO
    assert app.stop() == 0
    log = app.log_text
    assert log.count("refused a bridge message") == len(ATTEMPTS) + 1, log[-3000:]
    assert "refused a bridge message: a pywebview message TFTSR does not use" in log
    assert "Traceback" not in log and "Traceback" not in app.output
