"""Typed settings with defaults, stored as JSON values in the `settings` table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text
from tftsr.errors import InvalidArgument
from tftsr.issues.domains import SEVERITIES


@dataclass(frozen=True)
class Setting:
    key: str
    type: str  # "enum" | "bool" | "int" | "str"
    default: Any
    label: str
    description: str
    choices: tuple = field(default_factory=tuple)
    min: int | None = None
    max: int | None = None
    max_len: int = 200
    group: str = "General"

    def check(self, value: Any) -> Any:
        if self.type == "enum":
            if value not in self.choices:
                raise InvalidArgument(f"{self.label} must be one of {', '.join(self.choices)}.")
        elif self.type == "bool":
            if not isinstance(value, bool):
                raise InvalidArgument(f"{self.label} must be true or false.")
        elif self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgument(f"{self.label} must be a whole number.")
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise InvalidArgument(f"{self.label} must be between {self.min} and {self.max}.")
        elif self.type == "str" and (not isinstance(value, str) or len(value) > self.max_len):
            raise InvalidArgument(f"{self.label} must be text of at most {self.max_len} characters.")
        return value

    def describe(self) -> dict:
        out = asdict(self)
        out["choices"] = list(self.choices)
        return out


SCHEMA: dict[str, Setting] = {s.key: s for s in (
    Setting("theme", "enum", "system", "Theme", "Light, dark, or follow the system.",
            ("light", "dark", "system"), group="Appearance"),
    Setting("date_display", "enum", "local", "Show times in",
            "Times are stored in UTC; show them in your local time zone or in UTC.",
            ("local", "utc"), group="Appearance"),
    Setting("default_severity", "enum", "medium", "Default severity",
            "Severity pre-selected for a new incident.", SEVERITIES, group="Incidents"),
    Setting("confirm_delete", "bool", True, "Confirm before deleting",
            "Ask before deleting an incident, a why or a timeline entry.", group="Incidents"),
    Setting("log_level", "enum", "INFO", "Application log level",
            "How much TFTSR writes to its own log (never your incident data or keys).",
            ("DEBUG", "INFO", "WARNING", "ERROR"), group="Diagnostics"),
    Setting("privacy_pseudonyms", "bool", True, "Numbered placeholders",
            "Give each distinct value its own placeholder per incident ([IPv4-1], [IPv4-2] …) "
            "so redacted logs, chats and documents stay readable. Off: every value of a type "
            "becomes the same placeholder ([IPv4]).", group="Privacy"),
    Setting("privacy_keep_private_ips", "bool", False, "Keep private network addresses",
            "Leave RFC 1918, loopback and link-local addresses (10.x, 172.16–31.x, 192.168.x, "
            "127.x) as they are in what is sent; they name nothing outside your networks.",
            group="Privacy"),
    Setting("shell_assistant_enabled", "bool", True, "Let the assistant run diagnostics",
            "Offer the assistant a tool to run commands on this machine: read-only commands run at "
            "once, commands that change state wait for your approval, destructive ones are refused.",
            group="Diagnostics"),
    Setting("shell_timeout_seconds", "int", 30, "Command time limit (seconds)",
            "A diagnostic command still running after this is stopped, with everything it started.",
            min=1, max=600, group="Diagnostics"),
    Setting("max_upload_mb", "int", 200, "Largest log file (MB)",
            "Log files bigger than this are refused.", min=1, max=2048, group="Evidence"),
)}

# Values the UI may not change through update_setting (kept by the app itself).
INTERNAL_PREFIX = "internal."


def get_all(conn) -> dict[str, Any]:
    values = {k: s.default for k, s in SCHEMA.items()}
    for row in conn.execute("SELECT key, value FROM settings"):
        if row["key"] in SCHEMA:
            try:
                values[row["key"]] = SCHEMA[row["key"]].check(json.loads(row["value"]))
            except (ValueError, InvalidArgument):
                pass  # a bad stored value falls back to its default
    return values


def get_value(conn, key: str) -> Any:
    if key in SCHEMA:
        return get_all(conn)[key]
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    try:
        return json.loads(row["value"])
    except ValueError:
        return None


def set_value(conn, key: str, value: Any, *, internal: bool = False) -> Any:
    if not internal:
        if key not in SCHEMA:
            raise InvalidArgument(f"There is no setting named {key[:100]}.")
        value = SCHEMA[key].check(value)
    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value), now_text()),
    )
    if not internal:
        audit_record(conn, "setting_changed", "setting", key, {"value": value})
    return value
