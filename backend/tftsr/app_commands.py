"""Commands about the application itself."""

from __future__ import annotations

from tftsr.commands import command
from tftsr.db.ids import now_text
from tftsr.issues.domains import DOMAINS
from tftsr.validation import Str


@command()
def get_app_info(app):
    """Version, run mode, where the data lives and how the key is held (never the key)."""
    return {
        "version": app.version,
        "mode": app.mode,
        "data_dir": str(app.data_dir),
        "db_path": str(app.db.path),
        "log_path": str(app.log_path),
        "key_source": app.key.source,
        "key_source_detail": app.key.detail,
        "domains": list(DOMAINS),
    }


@command(echo=Str(max_len=200, required=False))
def ping(app, echo):
    """A round trip through the bridge, for health checks."""
    return {"pong": True, "echo": echo, "time": now_text(), "mode": app.mode}
