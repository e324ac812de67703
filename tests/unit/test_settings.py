"""Settings: typed values with defaults, validation that names the setting, auditing."""

from __future__ import annotations

import pytest
from tftsr.errors import TftsrError

DEFAULTS = {"theme": "system", "log_level": "INFO", "default_severity": "medium",
            "date_display": "local", "confirm_delete": True}


def expect_invalid(fn, *args, **kwargs) -> str:
    with pytest.raises(TftsrError) as info:
        fn(*args, **kwargs)
    assert info.value.code == "invalid_argument", info.value.message
    return info.value.message


def test_defaults_and_schema(call):
    result = call("get_settings")
    for key, value in DEFAULTS.items():
        assert result["values"][key] == value, key
    schema = {s["key"]: s for s in result["schema"]}
    assert set(schema) == set(result["values"])
    assert schema["theme"]["type"] == "enum"
    assert schema["theme"]["choices"] == ["light", "dark", "system"]
    assert schema["log_level"]["choices"] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert schema["default_severity"]["choices"] == ["critical", "high", "medium", "low"]
    assert schema["date_display"]["choices"] == ["local", "utc"]
    assert schema["confirm_delete"]["type"] == "bool"
    for entry in schema.values():
        assert entry["label"] and entry["description"]
        assert entry["default"] == result["values"][entry["key"]]


@pytest.mark.parametrize("key,value", [
    ("theme", "dark"), ("theme", "light"), ("log_level", "DEBUG"), ("log_level", "ERROR"),
    ("default_severity", "critical"), ("date_display", "utc"), ("confirm_delete", False),
    ("max_upload_mb", 1), ("max_upload_mb", 2048),
])
def test_update_each_type(call, key, value):
    result = call("update_setting", key=key, value=value)
    assert result["values"][key] == value
    assert call("get_settings")["values"][key] == value
    others = {k: v for k, v in DEFAULTS.items() if k != key}
    assert {k: result["values"][k] for k in others} == others


def test_values_survive_reopening(data_dir, call, app):
    call("update_setting", key="theme", value="dark")
    call("update_setting", key="confirm_delete", value=False)
    app.close()
    from tftsr.app import open_app
    from tftsr.commands import dispatch

    reopened = open_app(data_dir)
    try:
        values = dispatch(reopened, "get_settings", {})["values"]
    finally:
        reopened.close()
    assert values["theme"] == "dark" and values["confirm_delete"] is False


@pytest.mark.parametrize("key,value", [
    ("theme", "purple"), ("theme", "DARK"), ("theme", 1), ("theme", None), ("theme", ["dark"]),
    ("log_level", "debug"), ("log_level", "TRACE"),
    ("default_severity", "urgent"), ("date_display", "gmt"),
    ("confirm_delete", "yes"), ("confirm_delete", 1), ("confirm_delete", None),
    ("max_upload_mb", 0), ("max_upload_mb", 2049), ("max_upload_mb", "10"),
    ("max_upload_mb", 1.5), ("max_upload_mb", True), ("max_upload_mb", 10**30),
])
def test_bad_values_are_rejected_naming_the_setting(call, key, value):
    label = {s["key"]: s["label"] for s in call("get_settings")["schema"]}[key]
    before = call("get_settings")["values"]
    message = expect_invalid(call, "update_setting", key=key, value=value)
    assert label in message
    assert "Traceback" not in message and "<" not in message
    assert call("get_settings")["values"] == before
    assert call("get_audit_log", action="setting_changed")["total"] == 0


@pytest.mark.parametrize("key", ["colour", "internal.secret", "Theme", "themex"])
def test_unknown_key_is_rejected(call, key):
    message = expect_invalid(call, "update_setting", key=key, value="dark")
    assert "setting" in message
    assert key not in call("get_settings")["values"]
    assert call("get_audit_log", action="setting_changed")["total"] == 0


def test_missing_key_or_value(call):
    assert "key" in expect_invalid(call, "update_setting", value="dark")
    assert "value is required" in expect_invalid(call, "update_setting", key="theme")


def test_changes_are_audited_and_announced(app, call):
    seen = []
    app.events.subscribe(lambda name, payload: seen.append((name, payload)))
    call("update_setting", key="theme", value="dark")
    call("update_setting", key="confirm_delete", value=False)
    audit = call("get_audit_log", action="setting_changed")["items"]
    assert [(a["entity_type"], a["entity_id"], a["details"]["value"]) for a in audit] == [
        ("setting", "confirm_delete", False), ("setting", "theme", "dark")]
    assert seen == [("settings_changed", {"key": "theme", "value": "dark"}),
                    ("settings_changed", {"key": "confirm_delete", "value": False})]
    assert call("verify_audit")["ok"] is True


def test_log_level_setting_applies_to_the_logger(call):
    import logging

    logger = logging.getLogger("tftsr")
    previous = logger.level
    try:
        call("update_setting", key="log_level", value="WARNING")
        assert logger.level == logging.WARNING
    finally:
        logger.setLevel(previous)
