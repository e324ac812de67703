"""Settings commands."""

from __future__ import annotations

import logging

from tftsr.commands import command
from tftsr.settings.store import SCHEMA, get_all, set_value
from tftsr.validation import Any_, Str


@command()
def get_settings(app):
    with app.db.connection() as conn:
        values = get_all(conn)
    return {"values": values, "schema": [s.describe() for s in SCHEMA.values()]}


@command(key=Str(min_len=1, max_len=100), value=Any_(nullable=True))
def update_setting(app, key, value):
    with app.db.transaction() as conn:
        value = set_value(conn, key, value)
        values = get_all(conn)
    if key == "log_level" and not app.extras.get("debug"):
        logging.getLogger("tftsr").setLevel(value)
    app.events.emit("settings_changed", {"key": key, "value": value})
    return {"values": values}
