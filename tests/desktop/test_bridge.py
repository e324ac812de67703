"""The desktop bridge refuses everything but ``call(name, args)``, through pywebview's own
message path; and pywebview still has the internals that tftsr.bridge patches.

No display is needed: pywebview's ``js_bridge_call`` (the function every platform hands
page messages to) and Qt's channel object are called directly, as the page's messages
would call them, with a stand-in for the window that records what would be run in the
page. The real window is attacked in test_bridge_window.py.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import json
import queue
import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import webview
import webview.util
from tftsr import bridge
from tftsr.bridge import ENTRY_POINT, PYWEBVIEW_MESSAGES, Bridge, install_bridge_guard

from tests.conftest import TEST_KEY

WEBVIEW_DIR = Path(webview.__file__).resolve().parent
REPLY_ARGS = re.compile(r"\}\)\((.*)\);\s*$", re.S)

# Names a page could send to walk Python objects or reach pywebview's internals.
HOSTILE_NAMES = [
    "call.__globals__", "call.__func__.__globals__.__setitem__", "call.__self__._app",
    "__class__", "__init__", "__dict__", "_app", "dispatch", "ping", "create_issue", "a.b",
    "call.", ".call", "CALL", "call ", "", *PYWEBVIEW_MESSAGES,
]


class PageStandIn:
    """What pywebview's bridge code needs of a window; records what would run in the page."""

    def __init__(self, app):
        self._js_api = Bridge(app)
        self._functions: dict = {}
        self.scripts: queue.Queue = queue.Queue()
        self.moved: list = []
        self.state = SimpleNamespace()

    def evaluate_js(self, script, callback=None):
        self.scripts.put(script)

    def move(self, *args):
        self.moved.append(args)

    def reply(self, timeout: float = 30) -> tuple[str, str, dict]:
        """(message name, reply id, value) of the next reply the page would receive."""
        script = self.scripts.get(timeout=timeout)
        name, value_id, value = json.loads("[" + REPLY_ARGS.search(script).group(1) + "]")
        return name, value_id, json.loads(value)


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """One real app (SQLCipher database) for the module: these tests only read from it."""
    from tftsr.app import open_app
    from tftsr.commands import load_all

    with pytest.MonkeyPatch.context() as env:
        env.setenv("TFTSR_DB_KEY", TEST_KEY)
        env.setenv("TFTSR_NO_KEYRING", "1")
        load_all()
        application = open_app(tmp_path_factory.mktemp("bridge") / "data")
        yield application
        application.close()


@pytest.fixture
def page(shared_app):
    install_bridge_guard()
    return PageStandIn(shared_app)


def send(page_: PageStandIn, name, params, value_id="4815162342"):
    """A message as the page sends it, through the function pywebview's platforms call."""
    webview.util.js_bridge_call(page_, name, params, value_id)


# --- what is refused ------------------------------------------------------------------

@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_every_name_but_the_entry_point_is_refused_without_a_traceback(page, name):
    send(page, name, ["dispatch", None])
    replied_name, value_id, value = page.reply()
    assert (replied_name, value_id) == (name, "4815162342")
    assert value == {"ok": False, "error": {
        "code": "refused", "message": "The desktop bridge accepts only call(name, args)."}}
    assert page.scripts.empty(), "one message, one reply"
    assert page.moved == [] and vars(page.state) == {}


def test_refusal_happens_before_any_attribute_is_looked_up(page, monkeypatch):
    """Names are judged as strings: not even the window's API object is touched."""
    looked_up: list[str] = []

    class Tripwire:
        def __getattribute__(self, attr):
            looked_up.append(attr)
            raise AssertionError(f"looked up {attr}")

    page._js_api = Tripwire()
    for name in ("call.__globals__", "__class__", "pywebviewStateUpdate", "a.b"):
        send(page, name, [])
        assert page.reply()[2]["error"]["code"] == "refused"
    assert looked_up == []


def test_the_commands_keep_working_after_every_attack(page):
    for name in HOSTILE_NAMES:
        send(page, name, ["dispatch", None])
        page.reply()
    send(page, ENTRY_POINT, ["ping", {"echo": "after"}])
    _, _, value = page.reply()
    assert value["ok"] is True
    assert value["result"]["pong"] is True and value["result"]["echo"] == "after"


@pytest.mark.parametrize("params,code", [
    ({"name": "ping"}, "invalid_argument"),  # not [name, args]
    ("ping", "invalid_argument"),
    ([], "invalid_argument"),
    (["ping", {}, "extra"], "invalid_argument"),
    (["ping.__globals__", {}], "unknown_command"),
    (["__init__", {}], "unknown_command"),
    ([["ping"], {}], "unknown_command"),
    (["ping", "not an object"], "invalid_argument"),
    (["ping", {"echo": "x", "__class__": 1}], "invalid_argument"),
])
def test_bad_calls_get_clean_errors(page, params, code):
    send(page, ENTRY_POINT, params)
    _, _, value = page.reply()
    assert value["ok"] is False and value["error"]["code"] == code, value
    assert set(value["error"]) == {"code", "message"}
    assert "Traceback" not in value["error"]["message"]


def test_a_failing_command_returns_no_traceback_or_path(page, monkeypatch):
    def broken(app, name, args):
        raise RuntimeError(f"exploded in {bridge.__file__}")

    monkeypatch.setattr(bridge, "dispatch", broken)
    send(page, ENTRY_POINT, ["ping", {}])
    _, _, value = page.reply()
    assert value == {"ok": False, "error": {"code": "internal",
                                            "message": "Something went wrong inside TFTSR."}}


@pytest.mark.parametrize("value_id", ['1"]);alert(1);//', "x" * 65, "", None, 12])
def test_messages_whose_reply_id_is_not_a_plain_token_are_dropped(page, value_id, monkeypatch):
    started: list = []
    monkeypatch.setattr(bridge.threading, "Thread", lambda *a, **kw: started.append(kw))
    send(page, "__class__", [], value_id=value_id)
    send(page, ENTRY_POINT, ["ping", {}], value_id=value_id)
    assert started == [] and page.scripts.empty()


def test_names_are_quoted_as_data_in_the_reply_script(page):
    name = "</script>'\"\\u2028\u2028${x}`"
    send(page, name, [])
    replied_name, _, value = page.reply()
    assert replied_name == name and value["error"]["code"] == "refused"


# --- Qt: the channel object the page talks to -------------------------------------------

def test_qt_channel_refuses_alert_and_bad_json_and_runs_call(page):
    from webview.platforms import qt

    channel = qt.BrowserView.JSBridge(SimpleNamespace(pywebview_window=page))
    # The original would open a QMessageBox (no QApplication here: it would crash).
    assert channel.call("_pywebviewAlert", json.dumps("hello"), "alert") is None
    assert page.reply()[2]["error"]["code"] == "refused"
    channel.call(ENTRY_POINT, "{not json", "7")
    assert page.reply()[2]["error"]["code"] == "invalid_argument"
    channel.call(ENTRY_POINT, json.dumps(["ping", {"echo": "qt"}]), "8")
    _, value_id, value = page.reply()
    assert value_id == "8" and value["result"]["echo"] == "qt"


def test_the_page_is_offered_exactly_one_function(shared_app):
    """pywebview's own injection code lists what the page gets: only call(name, args)."""
    loaded = threading.Event()
    scripts: list[str] = []
    window = SimpleNamespace(
        _js_api=Bridge(shared_app), _functions={}, _expose_lock=threading.Lock(),
        run_js=scripts.append, uid="master", js_api_endpoint=None, text_select=True,
        zoomable=False, draggable=False, easy_drag=False, frameless=False, state={},
        events=SimpleNamespace(before_load=threading.Event(), loaded=loaded,
                               _pywebviewready=threading.Event()))
    webview.util.inject_pywebview("qtwebengine", window)
    assert loaded.wait(30)
    finish = scripts[-1]
    listed = json.loads(re.search(r"JSON\.parse\('(.*?)'\)", finish).group(1))
    assert listed == [{"func": "call", "params": ["name", "args"]}]


# --- the pywebview internals tftsr.bridge depends on --------------------------------------
# These fail when an upgrade changes what the bridge patches: re-read pywebview's source,
# adapt tftsr/bridge.py, then move the pin in pyproject.toml.

def test_pywebview_is_the_pinned_series():
    version = importlib.metadata.version("pywebview")
    assert re.fullmatch(r"6\.2(\.\d+)*", version), version
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    pins = re.findall(r'"pywebview(?:\[qt\])?([^";]*)', pyproject)
    assert pins and all(pin == ">=6.2,<6.3" for pin in pins), pins


def _function(tree: ast.AST, name: str) -> ast.FunctionDef:
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
    assert len(found) == 1, f"pywebview no longer has exactly one {name}()"
    return found[0]


def _compared_names(func: ast.AST) -> set[str]:
    return {c.comparators[0].value for c in ast.walk(func)
            if isinstance(c, ast.Compare) and isinstance(c.left, ast.Name)
            and c.left.id == "func_name" and isinstance(c.comparators[0], ast.Constant)}


def test_js_bridge_call_still_resolves_names_the_way_the_guard_replaces():
    tree = ast.parse((WEBVIEW_DIR / "util.py").read_text(encoding="utf-8"))
    func = _function(tree, "js_bridge_call")
    assert [a.arg for a in func.args.args] == ["window", "func_name", "param", "value_id"]
    # Special names first, then a getattr walk of the dotted name from the API object.
    assert _compared_names(func) == set(PYWEBVIEW_MESSAGES) - {"_pywebviewAlert"}
    source = ast.unparse(func)
    assert "get_nested_attribute(window._js_api, func_name)" in source
    assert "getattr(obj, attr, None)" in source
    assert "traceback.format_exc()" in source  # what the guard keeps from the page
    assert inspect.signature(bridge.bridge_call).parameters.keys() == \
        {"window", "func_name", "param", "value_id"}


def test_platforms_take_js_bridge_call_by_name_and_qt_builds_its_channel_object():
    tree = ast.parse((WEBVIEW_DIR / "platforms" / "qt.py").read_text(encoding="utf-8"))
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               and n.module == "webview.util" for a in n.names}
    assert "js_bridge_call" in imports
    bridge_cls = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "JSBridge"]
    assert len(bridge_cls) == 1
    call = _function(bridge_cls[0], "call")
    assert [a.arg for a in call.args.args] == ["self", "func_name", "param", "value_id"]
    assert _compared_names(call) == {"_pywebviewAlert"}
    assert "js_bridge_call(self.window" in ast.unparse(call)
    assert "self.js_bridge = BrowserView.JSBridge(self)" in ast.unparse(tree)
    assert "registerObject('external', self.js_bridge)" in ast.unparse(tree)


def test_pywebview_scripts_send_only_the_special_names_the_guard_knows():
    sent: set[str] = set()
    pattern = re.compile(r"""(?:_jsApiCallback\(|external\.call\(|postMessage\(\[|funcName: ?)"""
                         r"""\s*['"]([A-Za-z_]+)['"]""")
    for path in [*WEBVIEW_DIR.rglob("*.js"), *WEBVIEW_DIR.rglob("*.py")]:
        sent.update(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))
    assert sent == set(PYWEBVIEW_MESSAGES)


def test_injection_still_goes_through_the_functions_tftsr_wraps():
    tree = ast.parse((WEBVIEW_DIR / "util.py").read_text(encoding="utf-8"))
    source = ast.unparse(_function(tree, "inject_pywebview"))
    assert "load_js_files(window, platform)" in source  # adapt_pywebview_to_csp
    assert "name.startswith('_')" in source  # private names are never offered
    api_js = (WEBVIEW_DIR / "js" / "api.js").read_text(encoding="utf-8")
    assert "_createApi: function (funcList)" in api_js
    assert "_returnValuesCallbacks[funcName][id] = function(returnObj)" in api_js
