"""Stable pseudonyms: one numbered placeholder per distinct value and incident.

Redacting every address to the same ``[IPv4]`` hides which pod failed; numbering them
(``[IPv4-1]``, ``[IPv4-2]`` …) keeps the story readable while the values stay on the
machine. The number a value gets is kept in ``pii_pseudonyms`` under an HMAC of the
value (keyed from the database key), so logs, chat, drafts and exports of one incident
use the same placeholder for the same value, and different incidents number
independently. The values themselves are never stored here.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tftsr.db.ids import now_text

HKDF_INFO = b"tftsr/pseudonyms/hmac-sha256/v1"
HKDF_SALT = b"tftsr-pseudonyms-salt-v1"

# Types whose spelling does not change what they name: compared case-insensitively.
_CASE_INSENSITIVE = {"Email", "Hostname", "MacAddress", "Ipv6", "UrlWithCredentials"}
_MAC_SEPARATORS = re.compile(r"[:\-.]")

_LOCK = threading.Lock()


def _mac_key(app) -> bytes:
    cached = app.extras.get("pseudonym_mac_key")
    if cached is None:
        cached = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT,
                      info=HKDF_INFO).derive(app.key.value.encode("utf-8"))
        app.extras["pseudonym_mac_key"] = cached
    return cached


def normalise(pii_type: str, value: str) -> str:
    """The form two spellings of one value share (``Bob@Example.com`` = ``bob@example.com``)."""
    value = value.strip()
    if pii_type == "MacAddress":
        return _MAC_SEPARATORS.sub("", value).lower()
    if pii_type in ("Ipv4", "Ipv6"):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value.lower()
    if pii_type in ("PhoneNumber", "Ssn", "CreditCard"):
        digits = "".join(ch for ch in value if ch.isdigit())
        return digits or value
    if pii_type in _CASE_INSENSITIVE:
        return value.lower()
    return value


def value_mac(app, pii_type: str | None, value: str) -> str:
    """HMAC of a value (typed, normalised); ``pii_type`` None hashes the raw value."""
    text = value if pii_type is None else f"{pii_type}\x00{normalise(pii_type, value)}"
    return hmac.new(_mac_key(app), text.encode("utf-8"), hashlib.sha256).hexdigest()


def numbered(replacement: str, number: int) -> str:
    """``[IPv4]`` and 3 → ``[IPv4-3]``."""
    if replacement.startswith("[") and replacement.endswith("]"):
        return f"{replacement[:-1]}-{number}]"
    return f"{replacement}-{number}"


def number_for(app, conn, issue_id: str, pii_type: str, value: str) -> int:
    """The value's number in this incident, assigned (next free) on first sight.

    ``conn`` must be inside a write transaction.
    """
    mac = value_mac(app, pii_type, value)
    with _LOCK:
        row = conn.execute("SELECT number FROM pii_pseudonyms WHERE issue_id = ? AND pii_type = ?"
                           " AND value_mac = ?", (issue_id, pii_type, mac)).fetchone()
        if row is not None:
            return row["number"]
        nxt = conn.execute("SELECT coalesce(max(number), 0) + 1 AS n FROM pii_pseudonyms"
                           " WHERE issue_id = ? AND pii_type = ?", (issue_id, pii_type)).fetchone()["n"]
        conn.execute("INSERT INTO pii_pseudonyms (issue_id, pii_type, value_mac, number, created_at)"
                     " VALUES (?, ?, ?, ?, ?)", (issue_id, pii_type, mac, nxt, now_text()))
        return nxt


def remember_kept(app, conn, issue_id: str, values) -> None:
    """Record values a reviewer kept (rejected as findings) in this incident."""
    rows = {(issue_id, value_mac(app, None, v.strip())) for v in values if v and v.strip()}
    conn.executemany("INSERT OR IGNORE INTO pii_kept_values (issue_id, value_mac) VALUES (?, ?)",
                     sorted(rows))


def kept_macs(conn, issue_id: str) -> set[str]:
    return {r["value_mac"] for r in conn.execute(
        "SELECT value_mac FROM pii_kept_values WHERE issue_id = ?", (issue_id,))}
