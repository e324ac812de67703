"""The PII gate: nothing reaches a provider before it has passed here.

* Typed text is scanned with :func:`tftsr.pii.detect_pii` and every finding is replaced
  by its placeholder (``[Email]``, ``[IPv4]`` …) before sending. The caller gets the list
  of what was removed (type and a masked preview) to show the user.
* Log files go out only in their reviewed, redacted form: a log whose review is not
  finished raises :class:`LogNotReviewed` naming it, so the UI can send the user there.

If the detector cannot be loaded, sending is refused rather than done unscanned.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from tftsr.errors import NotFound, TftsrError, Unavailable


class LogNotReviewed(TftsrError):
    code = "log_not_reviewed"
    http_status = 409

    def __init__(self, log_file_id: str, file_name: str):
        super().__init__(
            f"The log file '{file_name}' has not been reviewed and redacted yet, so it cannot be "
            "sent to an AI provider. Review its findings and apply the redactions first.")
        self.log_file_id = log_file_id
        self.file_name = file_name

    def to_dict(self) -> dict:
        return {**super().to_dict(), "log_file_id": self.log_file_id, "file_name": self.file_name}


@dataclass
class Redaction:
    pii_type: str
    start: int
    end: int
    original: str
    replacement: str

    @property
    def preview(self) -> str:
        return mask_value(self.original)

    def public(self) -> dict:
        """What may be shown in lists: the type and a masked preview, not the value."""
        return {"pii_type": self.pii_type, "preview": self.preview, "replacement": self.replacement,
                "start": self.start, "end": self.end}


def mask_value(value: str) -> str:
    """A preview that shows the shape, not the secret: "j…@e…m", "1…9", "••••"."""
    value = value.strip()
    if len(value) <= 4:
        return "•" * len(value) or "•"
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}…@{domain[:1]}…{domain[-1:]}"
    return f"{value[:1]}…{value[-1:]}"


def _detector():
    try:
        from tftsr.pii import detect_pii
    except ImportError:
        raise Unavailable("The PII detector is not available, so nothing can be sent to an AI "
                          "provider.", code="pii_unavailable") from None
    return detect_pii


def _field(span, name):
    return span[name] if isinstance(span, dict) else getattr(span, name)


def redact_text(text: str) -> tuple[str, list[Redaction]]:
    """Replace every finding in ``text``; returns the text to send and what was removed."""
    spans = sorted(_detector()(text), key=lambda s: (_field(s, "start"), -_field(s, "end")))
    out: list[str] = []
    removed: list[Redaction] = []
    cursor = 0
    for span in spans:
        start, end = _field(span, "start"), _field(span, "end")
        if start < cursor or end <= start:  # overlaps were resolved by the detector; be safe
            continue
        out.append(text[cursor:start])
        replacement = _field(span, "replacement")
        out.append(replacement)
        removed.append(Redaction(_field(span, "pii_type"), start, end, text[start:end], replacement))
        cursor = end
    out.append(text[cursor:])
    return "".join(out), removed


def notice_for(removed: list[Redaction]) -> str | None:
    if not removed:
        return None
    types = sorted({r.pii_type for r in removed})
    n = len(removed)
    return (f"{n} item{'s were' if n != 1 else ' was'} removed before sending: {', '.join(types)}.")


# -- logs ---------------------------------------------------------------------------------
def _columns(conn, table: str) -> set[str]:
    return {r["name"] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()}


def redacted_log_text(conn, log_file_id: str, issue_id: str | None = None) -> tuple[dict, str]:
    """The reviewed, redacted text of one log, or LogNotReviewed / NotFound."""
    row = conn.execute("SELECT id, issue_id, file_name, redacted FROM log_files WHERE id = ?",
                       (log_file_id,)).fetchone()
    if row is None or (issue_id and row["issue_id"] != issue_id):
        raise NotFound("That log file does not exist on this incident.")
    if not row["redacted"]:
        raise LogNotReviewed(row["id"], row["file_name"])
    if "redacted_compressed" not in _columns(conn, "log_files"):
        raise LogNotReviewed(row["id"], row["file_name"])  # evidence storage not migrated yet
    blob = conn.execute("SELECT redacted_compressed FROM log_files WHERE id = ?",
                        (log_file_id,)).fetchone()["redacted_compressed"]
    if blob is None:
        raise LogNotReviewed(row["id"], row["file_name"])
    text = gzip.decompress(blob).decode("utf-8")
    return row, text

