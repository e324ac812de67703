"""Hostile input on every registered command.

The bridge treats every argument as if an attacker wrote it. These tests walk
``tftsr.commands.REGISTRY`` (so a new command is covered the day it is registered) and
derive bad values from each declared parameter: non-object argument lists, unknown
names, wrong types, oversize values and malformed ids. Every one must fail with a clean
``invalid_argument`` (or ``not_found`` for a well-formed id that names nothing), a
message a person can read, and no change to the database.
"""

from __future__ import annotations

import re

import pytest
from tftsr.commands import REGISTRY, dispatch, load_all
from tftsr.db.ids import uuid7
from tftsr.errors import TftsrError
from tftsr.evidence.images import IMAGE_PATH_RE
from tftsr.validation import (
    Any_,
    Bool,
    Date,
    Enum,
    EnumList,
    Id,
    Int,
    Param,
    Str,
    StrList,
    Timestamp,
)

load_all()
COMMANDS = sorted(REGISTRY)
MALFORMED_IDS = ("../../etc/passwd", "1; DROP TABLE issues", "z" * 36,
                 "0190a000-0000-7000-8000-00000000000g", "{0190a000-0000-7000-8000-000000000001}",
                 "0190a000000070008000000000000001", "")
PYTHON_LEAKS = re.compile(r"Traceback|File \"|<class|<built-in|object at 0x|NoneType|"
                          r"dict_keys|\bself\b|\w+Error\b|\w+Exception\b")
TABLES = ("issues", "audit_log", "timeline_events", "resolution_steps", "settings")


# A valid value for each parameter whose text must match a pattern.
PATTERN_EXAMPLES = {
    IMAGE_PATH_RE.pattern: f"/images/{uuid7()}",
}


# -- deriving values from a parameter's declaration --------------------------------------
def valid_value(param: Param):
    """A value the parameter accepts (ids are fresh, so they name nothing)."""
    if isinstance(param, Id):
        return uuid7()
    if isinstance(param, Date):
        return "2026-01-01"
    if isinstance(param, Timestamp):
        return "2026-01-01 10:00:00"
    if isinstance(param, Str):
        value = "x" * max(1, param.min_len)
        if param.pattern is not None and not param.pattern.search(value):
            value = PATTERN_EXAMPLES[param.pattern.pattern]
        return value
    if isinstance(param, EnumList):
        return [param.choices[0]]
    if isinstance(param, Enum):
        return param.choices[0]
    if isinstance(param, Int):
        low = param.min if param.min is not None else 1
        return low if param.max is None else min(low, param.max)
    if isinstance(param, Bool):
        return True
    if isinstance(param, StrList):
        return [valid_value(param.item)]
    if isinstance(param, Any_):  # free-form: the command checks it; leave optional ones out
        return "x" if param.required else None
    raise AssertionError(f"teach valid_value about {type(param).__name__}")


def valid_args(cmd) -> dict:
    args = {name: valid_value(p) for name, p in cmd.params.items()}
    for name, param in cmd.params.items():
        param.clean(name, args[name])  # the generator itself must be right
    return args


def wrong_types(param: Param) -> list:
    if isinstance(param, Any_):
        return []
    if isinstance(param, Date):
        return [20260101, ["2026-01-01"], "２０２６-01-01", "2026-1-1", "2026-02-30"]
    if isinstance(param, Timestamp):
        return [1767261600, ["2026-01-01 10:00:00"], "２０２６-01-01 10:00:00",
                "2026-01-01 10:00:00Z", "2026-01-01 24:00:00", "2026-01-01; DROP"]
    if isinstance(param, Str):
        return [12345, 1.5, True, ["x"], {"x": 1}]
    if isinstance(param, Int):
        return ["5", True, 1.5, [1], {"n": 1}, float("nan"), float("inf")]
    if isinstance(param, Bool):
        return ["true", 1, 0, [True], {"b": True}]
    if isinstance(param, EnumList):
        return [5, {"a": 1}, [5], [[param.choices[0]]], "not-a-choice", [param.choices[0], 7]]
    if isinstance(param, Enum):
        return [5, True, [param.choices[0]], {"a": 1}, "not-a-choice", param.choices[0].upper()
                if param.choices[0].upper() != param.choices[0] else param.choices[0].lower()]
    if isinstance(param, StrList):
        return ["x", 5, {"a": 1}, [5], [None], [["x"]], [True]]
    raise AssertionError(f"teach wrong_types about {type(param).__name__}")


def oversize(param: Param) -> list:
    if isinstance(param, (Id, Date, Timestamp)):
        return ["1" * (param.max_len + 1)]
    if isinstance(param, Str):
        return ["a" * (param.max_len + 1), "a\x00b", "bad \ud800 surrogate"]
    if isinstance(param, Int):
        out = [10**30, -(10**30)]
        if param.max is not None:
            out.append(param.max + 1)
        if param.min is not None:
            out.append(param.min - 1)
        return out
    if isinstance(param, EnumList):
        return [[param.choices[0]] * (len(param.choices) + 1)]
    if isinstance(param, StrList):
        item = valid_value(param.item)
        big_item = oversize(param.item)[0]
        return [[item] * (param.max_items + 1), [big_item]]
    return []


def params_of(kind) -> list[tuple[str, str]]:
    return [(c, p) for c in COMMANDS for p, param in REGISTRY[c].params.items()
            if isinstance(param, kind)]


def id_params() -> list[tuple[str, str]]:
    return [(c, p) for c in COMMANDS for p, param in REGISTRY[c].params.items()
            if isinstance(param, Id) or (isinstance(param, StrList) and isinstance(param.item, Id))]


# -- fixtures and checks -----------------------------------------------------------------
@pytest.fixture
def seeded(app, call, make_issue):
    """A database with a little of everything, and a function that snapshots it."""
    issue = make_issue()
    call("add_five_why", issue_id=issue["id"], why_question="Why?", answer="Because")
    call("add_timeline_event", issue_id=issue["id"], event_type="note", description="note")
    call("update_setting", key="theme", value="dark")

    def snapshot() -> dict:
        with app.db.connection() as conn:
            counts = {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                      for t in TABLES}
            head = conn.execute("SELECT last_hash FROM audit_chain_head").fetchone()
            issue_row = conn.execute("SELECT * FROM issues").fetchall()
        return {"counts": counts, "head": head, "issues": issue_row}

    return snapshot


def assert_rejected(app, name, args, codes=("invalid_argument",), mentions: str | None = None):
    with pytest.raises(TftsrError) as info:
        dispatch(app, name, args)
    err = info.value
    shown = repr(args)[:200]
    assert err.code in codes, f"{name}({shown}) -> {err.code}: {err.message}"
    assert err.code != "internal"
    assert isinstance(err.message, str) and len(err.message) >= 10, err.message
    assert "\n" not in err.message, err.message
    assert not PYTHON_LEAKS.search(err.message), f"{name}({shown}): {err.message}"
    if mentions is not None:
        assert mentions in err.message, f"{name}({shown}): {err.message!r} lacks {mentions!r}"
    return err


# -- the tests ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", COMMANDS)
def test_non_object_arguments(app, seeded, name):
    before = seeded()
    for args in ([], ["x"], [valid_args(REGISTRY[name])], "issue_id", "", 42, 4.2, True, False):
        err = assert_rejected(app, name, args)
        assert "object" in err.message
    assert seeded() == before


@pytest.mark.parametrize("name", COMMANDS)
def test_unknown_argument_names(app, seeded, name):
    before = seeded()
    for extra in ("bogus_arg", "__proto__", "constructor", "__class__", "x" * 1000):
        args = {**valid_args(REGISTRY[name]), extra: 1}
        assert_rejected(app, name, args, mentions=extra[:40])
    assert seeded() == before


@pytest.mark.parametrize("name,param", [(c, p) for c in COMMANDS
                                        for p, prm in REGISTRY[c].params.items() if prm.required])
def test_missing_required_argument(app, seeded, name, param):
    before = seeded()
    args = valid_args(REGISTRY[name])
    del args[param]
    assert_rejected(app, name, args, mentions=param)
    if not REGISTRY[name].params[param].nullable:
        assert_rejected(app, name, {**args, param: None}, mentions=param)
    assert seeded() == before


@pytest.mark.parametrize("name,param", [(c, p) for c in COMMANDS
                                        for p, prm in REGISTRY[c].params.items()
                                        if wrong_types(prm)])
def test_wrong_types(app, seeded, name, param):
    before = seeded()
    cmd = REGISTRY[name]
    for value in wrong_types(cmd.params[param]):
        assert_rejected(app, name, {**valid_args(cmd), param: value}, mentions=param)
    assert seeded() == before


@pytest.mark.parametrize("name,param", [(c, p) for c in COMMANDS
                                        for p, prm in REGISTRY[c].params.items()
                                        if oversize(prm)])
def test_oversize_values(app, seeded, name, param):
    before = seeded()
    cmd = REGISTRY[name]
    for value in oversize(cmd.params[param]):
        assert_rejected(app, name, {**valid_args(cmd), param: value}, mentions=param)
    assert seeded() == before


@pytest.mark.parametrize("name,param", id_params())
def test_malformed_ids(app, seeded, name, param):
    before = seeded()
    cmd = REGISTRY[name]
    is_list = isinstance(cmd.params[param], StrList)
    for bad in MALFORMED_IDS:
        value = [bad] if is_list else bad
        assert_rejected(app, name, {**valid_args(cmd), param: value}, mentions=param)
    assert seeded() == before


@pytest.mark.parametrize("name", [c for c in COMMANDS
                                  if any(isinstance(p, Id) and p.required
                                         for p in REGISTRY[c].params.values())])
def test_unknown_but_valid_id_is_not_found(app, seeded, name):
    before = seeded()
    assert_rejected(app, name, valid_args(REGISTRY[name]), codes=("not_found",))
    assert seeded() == before


@pytest.mark.parametrize("name", [None, 42, "", "no_such_command", "__init__", "../get_issue",
                                  "GET_ISSUE", "dispatch"])
def test_unknown_command(app, name):
    err = assert_rejected(app, name, {}, codes=("unknown_command",))
    assert err.http_status == 404


def test_value_generators_know_every_parameter_type():
    # Guards the generator above: every parameter type in use is one it understands.
    for cmd in REGISTRY.values():
        valid_args(cmd)
        for param in cmd.params.values():
            wrong_types(param)
