"""The PII gate every outgoing byte passes.

Two layers, applied by :class:`Gate`:

1. **Redact** (:meth:`Gate.redact`): callers run each piece of text they put into a
   request (typed messages, descriptions, file names, titles, tool output) through the
   detector first, so the user can be told what was removed. With an incident, each
   distinct value gets its stable numbered placeholder (:mod:`tftsr.egress.pseudonyms`).
2. **Seal** (:meth:`Gate.seal`): right before sending, every text field of the request —
   every string in a JSON body, the URL's path and query — is scanned once more, so a
   field a caller forgot (a model name, a gateway ``userId``, a file name) cannot carry a
   value out. Values a reviewer explicitly kept in this incident's logs are left as
   they are. Only a sealed request may be sent (:mod:`tftsr.egress.transport`).

Redact first, then cut: :func:`cut` shortens redacted text without splitting a
placeholder. :meth:`Gate.scrub` cleans text coming *back* (error messages) of the
credential that was sent and of anything the detector finds, before it reaches the page
or the database.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from tftsr.egress import pseudonyms
from tftsr.errors import TftsrError, Unavailable

log = logging.getLogger(__name__)

# Addresses that name nothing outside the user's own networks (RFC 1918, loopback,
# link-local, unique-local IPv6); kept as they are when the user chose so.
_PRIVATE_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10"))

SETTING_PSEUDONYMS = "privacy_pseudonyms"
SETTING_KEEP_PRIVATE_IPS = "privacy_keep_private_ips"
SECRET_PLACEHOLDER = "[redacted credential]"
_SECRET_FRAGMENT = 8  # a run this long copied from a credential counts as the credential


class EgressRefused(TftsrError):
    """A request tried to leave without passing the gate."""

    code = "egress_refused"
    http_status = 500


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
        raise Unavailable("The PII detector is not available, so nothing can be sent.",
                          code="pii_unavailable") from None
    return detect_pii


def _field(span, name):
    return span[name] if isinstance(span, dict) else getattr(span, name)


def is_private_address(pii_type: str, value: str) -> bool:
    if pii_type not in ("Ipv4", "Ipv6"):
        return False
    try:
        addr = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return any(addr in net for net in _PRIVATE_NETS if net.version == addr.version)


@dataclass
class Policy:
    pseudonyms: bool = True
    keep_private_ips: bool = False


def policy_for(app) -> Policy:
    if app is None:
        return Policy(pseudonyms=False)
    from tftsr.settings import store as settings_store
    with app.db.connection() as conn:
        values = settings_store.get_all(conn)
    return Policy(pseudonyms=bool(values.get(SETTING_PSEUDONYMS, True)),
                  keep_private_ips=bool(values.get(SETTING_KEEP_PRIVATE_IPS, False)))


class Gate:
    """Redaction for one destination and (optionally) one incident.

    ``app`` None gives plain placeholders (``[IPv4]``) and no kept values: still safe,
    used where no database is at hand.
    """

    def __init__(self, app=None, issue_id: str | None = None, *, policy: Policy | None = None):
        self.app = app
        self.issue_id = issue_id
        self._policy = policy
        self._kept: set[str] | None = None

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = policy_for(self.app)
        return self._policy

    def for_issue(self, issue_id: str | None) -> Gate:
        return Gate(self.app, issue_id, policy=self._policy)

    # -- redaction ---------------------------------------------------------------------------
    def _kept_macs(self, conn) -> set[str]:
        if self._kept is None:
            self._kept = pseudonyms.kept_macs(conn, self.issue_id) if self.issue_id else set()
        return self._kept

    def redact(self, text: str, *, respect_kept: bool = False) -> tuple[str, list[Redaction]]:
        """Replace every finding in ``text``; returns the text to send and what was removed.

        ``respect_kept`` leaves values a reviewer kept in this incident's logs (used by the
        last check on a request, whose logs were reviewed already).
        """
        if not text:
            return text, []
        spans = sorted(_detector()(text), key=lambda s: (_field(s, "start"), -_field(s, "end")))
        if not spans:
            return text, []
        numbered = bool(self.app is not None and self.issue_id and self.policy.pseudonyms)
        keep_private = self.app is not None and self.policy.keep_private_ips
        out: list[str] = []
        removed: list[Redaction] = []
        cursor = 0
        wants_db = self.app is not None and (numbered or (respect_kept and self.issue_id))
        with (self.app.db.transaction() if wants_db else nullcontext()) as conn:
            for span in spans:
                start, end = _field(span, "start"), _field(span, "end")
                if start < cursor or end <= start:  # overlaps were resolved by the detector
                    continue
                pii_type = _field(span, "pii_type")
                original = text[start:end]
                if keep_private and is_private_address(pii_type, original):
                    continue
                if respect_kept and self.issue_id and pseudonyms.value_mac(
                        self.app, None, original.strip()) in self._kept_macs(conn):
                    continue
                replacement = _field(span, "replacement")
                if numbered:
                    replacement = pseudonyms.numbered(
                        replacement, pseudonyms.number_for(self.app, conn, self.issue_id,
                                                           pii_type, original))
                out.append(text[cursor:start])
                out.append(replacement)
                removed.append(Redaction(pii_type, start, end, original, replacement))
                cursor = end
        out.append(text[cursor:])
        return "".join(out), removed

    def text(self, value: str) -> str:
        """Just the redacted text."""
        return self.redact(value)[0]

    # -- the last check on a request ---------------------------------------------------------
    def seal(self, prepared) -> None:
        """Scan every text field of ``prepared`` (a :class:`PreparedRequest`) in place and
        mark it sealed; ``prepared.redacted`` counts what this last check removed by type."""
        counts: Counter[str] = Counter()
        parts = urlsplit(prepared.url)
        path, removed_path = self.redact(parts.path, respect_kept=True)
        query, removed_query = self.redact(parts.query, respect_kept=True)
        counts.update(r.pii_type for r in removed_path + removed_query)
        if removed_path or removed_query:
            prepared.url = urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))
        if prepared.body:
            prepared.body = self._seal_body(prepared.body, counts)
        prepared.redacted = dict(sorted(counts.items()))
        prepared.sealed = True

    def _seal_body(self, body: bytes, counts: Counter) -> bytes:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise EgressRefused("A request body that is not text cannot be checked, so it was "
                                "not sent.") from None
        try:
            data = json.loads(text)
        except ValueError:
            redacted, removed = self.redact(text, respect_kept=True)
            counts.update(r.pii_type for r in removed)
            return redacted.encode("utf-8") if removed else body
        changed = False

        def walk(value):
            nonlocal changed
            if isinstance(value, str):
                redacted, removed = self.redact(value, respect_kept=True)
                if removed:
                    changed = True
                    counts.update(r.pii_type for r in removed)
                return redacted
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, dict):
                return {walk(k): walk(v) for k, v in value.items()}
            return value

        cleaned = walk(data)
        if not changed:
            return body
        return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    # -- text coming back --------------------------------------------------------------------
    def scrub(self, text: str | None, secrets: tuple[str | None, ...] = ()) -> str:
        """``text`` (an error message from a service) without the credentials that were
        sent, any long run copied from them, and anything the detector finds."""
        if not text:
            return text or ""
        text = scrub_secrets(text, secrets)
        try:
            return Gate(None).text(text)
        except Unavailable:
            return "(the service's message was withheld: it could not be checked)"


def scrub_secrets(text: str, secrets: tuple[str | None, ...]) -> str:
    """Replace each credential, and any run of 8 or more characters copied from one."""
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        text = text.replace(secret, SECRET_PLACEHOLDER)
        if len(secret) < _SECRET_FRAGMENT:
            continue
        grams = {secret[i:i + _SECRET_FRAGMENT] for i in range(len(secret) - _SECRET_FRAGMENT + 1)}
        marked = bytearray(len(text))
        for i in range(len(text) - _SECRET_FRAGMENT + 1):
            if text[i:i + _SECRET_FRAGMENT] in grams:
                marked[i:i + _SECRET_FRAGMENT] = b"\x01" * _SECRET_FRAGMENT
        if any(marked):
            out, i = [], 0
            while i < len(text):
                if marked[i]:
                    while i < len(text) and marked[i]:
                        i += 1
                    out.append(SECRET_PLACEHOLDER)
                else:
                    out.append(text[i])
                    i += 1
            text = "".join(out)
    return text


def cut(text: str, limit: int, note: str = "") -> str:
    """Shorten already-redacted ``text`` to at most ``limit`` characters (plus ``note``)
    without splitting a placeholder such as ``[Email-2]``."""
    if len(text) <= limit:
        return text
    end = limit
    opening = text.rfind("[", max(0, limit - 40), limit)
    if opening != -1 and text.find("]", opening, limit) == -1:
        end = opening  # the cut would fall inside a placeholder: cut before it
    return text[:end] + note


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL (default ports made explicit), lower-cased."""
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "").lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"https": 443, "http": 80}.get(scheme)
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"
