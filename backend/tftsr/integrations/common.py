"""What every integration shares: its configuration and token, the way a request is sent,
and the sentences a failure becomes.

* **Configuration** lives in ``integration_config`` (one row per service) and the token in
  ``credentials``: AES-256-GCM encrypted (:mod:`tftsr.secrets`), its SHA-256 kept for the
  audit log, its last four characters for the Settings screen, and the origin
  (``scheme://host:port``) it was entered for. The token is released only to build a
  request for that origin; moving the address elsewhere needs the token again or an
  explicit confirmation naming the new origin (:class:`TokenNeedsReentry`).
* **Sending** (:meth:`Connection.request`): every request goes out through
  :func:`tftsr.egress.send.send` — sealed by the PII gate with the incident's pseudonyms
  and audited (host, path, SHA-256 of the bytes) before it leaves. ``429`` (and a server
  error on a read) is retried after the service's ``Retry-After`` when that wait is
  short; a longer wait is reported, not slept through.
* **Failures** (:meth:`Connection.failure`, :func:`transport_failure`) become a sentence
  the user can act on, with the service's own words scrubbed of the token and of
  anything the PII detector finds.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from tftsr.ai.base import parse_retry_after
from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.egress import http
from tftsr.egress.gate import EgressRefused, Gate, origin_of
from tftsr.egress.send import send as egress_send
from tftsr.egress.send import send_rendered_binary
from tftsr.egress.transport import OutboundRequest
from tftsr.errors import InvalidArgument, TftsrError

SERVICES = ("confluence", "servicenow", "azuredevops")
LABELS = {"confluence": "Confluence", "servicenow": "ServiceNow", "azuredevops": "Azure DevOps"}
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
USER_AGENT = "TFTSR"
SETTINGS_HINT = "Settings → Integrations"


@dataclass(frozen=True)
class Timing:
    """Seconds to wait for a service. Tests may put a shorter one in
    ``app.extras["integration_timing"]``."""

    connect: float = 10.0
    read: float = 30.0
    attempts: int = 3            # tries for a request that may be repeated, first included
    max_retry_wait: float = 20.0  # the longest Retry-After TFTSR waits for before retrying


DEFAULT_TIMING = Timing()


def timing(app) -> Timing:
    return (getattr(app, "extras", None) or {}).get("integration_timing") or DEFAULT_TIMING


# -- errors ------------------------------------------------------------------------------------
class IntegrationError(TftsrError):
    """A service refused or failed a request; ``message`` says what to do about it."""

    code = "integration_failed"
    http_status = 502

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.status is not None:
            out["status"] = self.status
        if self.retry_after is not None:
            out["retry_after"] = round(self.retry_after)
        return out


class NotConfigured(TftsrError):
    code = "integration_not_configured"
    http_status = 409

    def __init__(self, service: str, what: str | None = None):
        label = LABELS[service]
        super().__init__(what or f"{label} is not set up. Add its address and token in "
                                 f"{SETTINGS_HINT}.")
        self.service = service


class TokenNeedsReentry(TftsrError):
    """The address moved to another origin while a token is stored for the old one."""

    code = "api_key_reentry_required"
    http_status = 409

    def __init__(self, service: str, old_origin: str, new_origin: str):
        super().__init__(
            f"The {LABELS[service]} token was entered for {old_origin}. To send it to "
            f"{new_origin} instead, enter the token again, or confirm that {new_origin} may "
            "receive it.")
        self.new_origin = new_origin

    def to_dict(self) -> dict:
        return {**super().to_dict(), "new_origin": self.new_origin}


# -- configuration -----------------------------------------------------------------------------
_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9_.-]{1,100}$")
COLUMNS = ("c.service AS service, c.base_url, c.username, c.project_name, c.space_key,"
           " c.auto_create_enabled, c.updated_at, k.token_hash, k.encrypted_token, k.token_origin,"
           " k.token_hint, k.created_at AS token_created_at")


def clean_base_url(service: str, value: str) -> str:
    """The service's address as stored: http(s), a host, no credentials, query or fragment,
    no trailing slash. A Confluence Cloud site gains its ``/wiki`` path."""
    url = (value or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("base_url must be an http:// or https:// address with a host name.")
    if parts.username or parts.password:
        raise InvalidArgument("base_url must not contain a user name or password; use the "
                              "user name and token fields.")
    if parts.query or parts.fragment:
        raise InvalidArgument("base_url must not contain a query string or fragment.")
    host = parts.hostname.lower()
    if service == "confluence" and host.endswith(".atlassian.net") and not parts.path:
        url += "/wiki"
    if service == "azuredevops" and host == "dev.azure.com" and not parts.path.strip("/"):
        raise InvalidArgument("The Azure DevOps address is the organisation's: "
                              "https://dev.azure.com/ORGANISATION.")
    return url


def _clean_token(token: str) -> str:
    token = token.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in token):
        raise InvalidArgument("The token must not contain spaces or line breaks.")
    return token


def get_row(conn, service: str) -> dict | None:
    return conn.execute(
        f"SELECT {COLUMNS} FROM integration_config c LEFT JOIN credentials k"
        " ON k.service = c.service WHERE c.service = ?", (service,)).fetchone()


def auth_mode(service: str, username: str | None) -> str:
    if service == "azuredevops":
        return "pat"
    return "basic" if username else "bearer"


def credential_words(service: str, username: str | None) -> str:
    """What the user typed, in the service's own terms."""
    mode = auth_mode(service, username)
    if service == "confluence":
        return "email address and API token" if mode == "basic" else "personal access token"
    if service == "servicenow":
        return "user name and password" if mode == "basic" else "OAuth token"
    return "personal access token"


def to_public(service: str, row: dict | None) -> dict:
    """A service's settings as the page may see them: the token only as "set" and its last
    four characters."""
    if row is None:
        return {"service": service, "label": LABELS[service], "configured": False,
                "base_url": None, "username": None, "project_name": None, "space_key": None,
                "auto_create_enabled": False, "auth": None, "token_set": False,
                "token_last4": None, "token_origin": None, "updated_at": None}
    token_set = bool(row.get("encrypted_token"))
    return {
        "service": service, "label": LABELS[service], "configured": token_set,
        "base_url": row["base_url"], "username": row["username"],
        "project_name": row["project_name"], "space_key": row["space_key"],
        "auto_create_enabled": bool(row["auto_create_enabled"]),
        "auth": auth_mode(service, row["username"]), "token_set": token_set,
        "token_last4": row.get("token_hint") if token_set else None,
        "token_origin": (row.get("token_origin") or origin_of(row["base_url"])) if token_set else None,
        "updated_at": row["updated_at"],
    }


def list_public(conn) -> list[dict]:
    return [to_public(s, get_row(conn, s)) for s in SERVICES]


def save(app, conn, service: str, *, base_url: str, token: str | None, username: str | None,
         project_name: str | None, space_key: str | None, auto_create_enabled: bool,
         confirm_origin: str | None = None) -> dict:
    """Store a service's settings (the whole form). ``token`` empty keeps the stored one —
    for the origin it was entered for only."""
    label = LABELS[service]
    base = clean_base_url(service, base_url)
    if space_key and not _SPACE_KEY.match(space_key):
        raise InvalidArgument("The space key is letters and digits, such as OPS (a personal "
                              "space starts with ~).")
    if service == "azuredevops" and not project_name:
        raise InvalidArgument("Enter the Azure DevOps project the work items belong to.")
    existing = get_row(conn, service)
    new_origin = origin_of(base)
    now = now_text()
    token_change: str | None = None
    token_hash = existing["token_hash"] if existing and existing.get("encrypted_token") else None
    if token:
        token = _clean_token(token)
        token_hash = hashlib.sha256(token.encode("utf-8")).hexdigest()
        conn.execute(
            "INSERT INTO credentials (id, service, token_hash, encrypted_token, created_at,"
            " expires_at, token_origin, token_hint) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)"
            " ON CONFLICT(service) DO UPDATE SET token_hash = excluded.token_hash,"
            " encrypted_token = excluded.encrypted_token, created_at = excluded.created_at,"
            " token_origin = excluded.token_origin, token_hint = excluded.token_hint",
            (uuid7(), service, token_hash, encrypt_token(app, token), now, new_origin,
             token[-4:] if len(token) >= 12 else None))
        token_change = "replaced" if existing and existing.get("encrypted_token") else "set"
    elif existing and existing.get("encrypted_token"):
        bound = existing.get("token_origin") or origin_of(existing["base_url"])
        if bound != new_origin:
            if (confirm_origin or "").strip().lower().rstrip("/") != new_origin:
                raise TokenNeedsReentry(service, bound, new_origin)
            conn.execute("UPDATE credentials SET token_origin = ? WHERE service = ?",
                         (new_origin, service))
            token_change = "moved"
    else:
        raise InvalidArgument(f"Enter the {credential_words(service, username)} for {label}.")
    conn.execute(
        "INSERT INTO integration_config (id, service, base_url, username, project_name, space_key,"
        " auto_create_enabled, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(service) DO UPDATE SET base_url = excluded.base_url,"
        " username = excluded.username, project_name = excluded.project_name,"
        " space_key = excluded.space_key, auto_create_enabled = excluded.auto_create_enabled,"
        " updated_at = excluded.updated_at",
        (uuid7(), service, base, username or None, project_name or None, space_key or None,
         1 if auto_create_enabled else 0, now))
    details: dict[str, Any] = {
        "service": service, "service_name": label, "base_url": base, "auth": auth_mode(service, username),
        "project_name": project_name or None, "space_key": space_key or None,
        "auto_create_enabled": bool(auto_create_enabled), "token": token_change,
        "token_origin": new_origin}
    if token_change in ("set", "replaced"):
        details["token_hash"] = token_hash
    if existing and existing["base_url"] != base:
        details["base_url_from"] = existing["base_url"]
    audit_record(conn, "integration_saved", "integration", service, details)
    return to_public(service, get_row(conn, service))


def delete(conn, service: str) -> bool:
    row = get_row(conn, service)
    conn.execute("DELETE FROM integration_config WHERE service = ?", (service,))
    had_token = conn.execute("DELETE FROM credentials WHERE service = ?", (service,)).rowcount > 0
    if row is None and not had_token:
        return False
    audit_record(conn, "integration_deleted", "integration", service,
                 {"service": service, "base_url": row["base_url"] if row else None,
                  "token_deleted": had_token})
    return True


def encrypt_token(app, token: str) -> str:
    from tftsr.secrets import encrypt_secret

    return encrypt_secret(app, token)


def connect(app, service: str) -> Connection:
    """The service's connection with its token decrypted, for building requests only."""
    from tftsr.secrets import decrypt_secret

    with app.db.connection() as conn:
        row = get_row(conn, service)
    if row is None or not row.get("encrypted_token"):
        raise NotConfigured(service)
    bound = row.get("token_origin") or origin_of(row["base_url"])
    if bound != origin_of(row["base_url"]):
        raise TokenNeedsReentry(service, bound, origin_of(row["base_url"]))
    return Connection(app, service, row, decrypt_secret(app, row["encrypted_token"]))


def service_lock(app, service: str) -> threading.Lock:
    """One publish/push at a time per service, so two clicks cannot make two records."""
    locks = app.extras.setdefault("integration_locks", {})
    return locks.setdefault(service, threading.Lock())


# -- sending -----------------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    headers: http.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The JSON body, or None when there is none or it is not JSON."""
        try:
            return json.loads(self.content) if self.content else None
        except ValueError:
            return None

    @property
    def is_json(self) -> bool:
        return "json" in (self.headers.get("content-type") or "").lower()


def _read(response: http.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _words(text: str) -> str:
    return " ".join(text.split())


class Connection:
    """One configured service: its address, its token and the requests made with them."""

    def __init__(self, app, service: str, row: dict, token: str):
        self.app, self.service, self.row = app, service, row
        self._token = token
        self.label = LABELS[service]
        self.base_url: str = row["base_url"]
        self.origin = origin_of(self.base_url)
        self.host = urlsplit(self.base_url).netloc

    @property
    def username(self) -> str | None:
        return self.row.get("username")

    @property
    def credentials(self) -> str:
        return credential_words(self.service, self.username)

    def _authorization(self) -> str:
        mode = auth_mode(self.service, self.username)
        if mode == "bearer":
            return f"Bearer {self._token}"
        user = "" if mode == "pat" else self.username
        return "Basic " + base64.b64encode(f"{user}:{self._token}".encode()).decode("ascii")

    def url(self, path: str, params: dict | None = None, *, root: str | None = None) -> str:
        query = ("?" + urlencode(params, safe=",:$@")) if params else ""
        return (root or self.base_url).rstrip("/") + path + query

    def request(self, method: str, url: str, *, purpose: str, entity_type: str, entity_id: str,
                gate: Gate | None = None, json_body: Any = None, content: bytes | None = None,
                content_type: str | None = None, headers: dict | None = None,
                rendered_from: str | None = None) -> Response:
        """Send one request (retrying a rate-limited one after its ``Retry-After``) and read
        the answer. Transport failures raise :class:`IntegrationError` in words; HTTP error
        statuses are returned for the caller to word with :meth:`failure`.

        ``rendered_from`` marks a binary body TFTSR drew itself from redacted data (the
        timeline chart): it is audited like every other body but cannot be text-scanned.
        """
        if origin_of(url) != self.origin:
            raise EgressRefused(f"A {self.label} request tried to go to {origin_of(url)} instead "
                                f"of {self.origin}, where the token was entered; it was not sent.")
        body = content
        sent_headers = {"Accept": "application/json", "User-Agent": USER_AGENT,
                        "Authorization": self._authorization(), **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            sent_headers["Content-Type"] = content_type or "application/json"
        elif content_type:
            sent_headers["Content-Type"] = content_type
        t = timing(self.app)
        attempt = 0
        while True:
            attempt += 1
            prepared = OutboundRequest(method, url, dict(sent_headers), body)
            kwargs = dict(purpose=purpose, entity_type=entity_type, entity_id=entity_id,
                          read_timeout=t.read, connect_timeout=t.connect,
                          details={"service": self.service, "service_name": self.label,
                                   "attempt": attempt})
            try:
                if rendered_from:
                    client, raw = send_rendered_binary(self.app, prepared, rendered_from=rendered_from,
                                                       gate=gate or Gate(self.app), **kwargs)
                else:
                    client, raw = egress_send(self.app, prepared, gate=gate or Gate(self.app), **kwargs)
                try:
                    answer = Response(raw.status_code, raw.headers, _read(raw))
                finally:
                    raw.close()
                    client.close()
            except http.TimeoutException:
                raise transport_failure(self, "timeout", t.read) from None
            except http.TransportError as exc:
                raise transport_failure(self, str(exc) or type(exc).__name__, t.read) from None
            wait = self._retry_wait(method, answer, attempt, t)
            if wait is None:
                return answer
            time.sleep(wait)

    @staticmethod
    def _retry_wait(method: str, answer: Response, attempt: int, t: Timing) -> float | None:
        """Seconds to wait before trying again, or None to give the answer back as it is.
        A 429 was not acted on, so any request may be repeated; other overloads only for reads."""
        if attempt >= t.attempts:
            return None
        if not (answer.status == 429 or (answer.status in (500, 502, 503, 504) and method == "GET")):
            return None
        wait = parse_retry_after(answer.headers.get("retry-after"))
        if wait is None:
            wait = float(2 ** (attempt - 1))
        return wait if wait <= t.max_retry_wait else None

    # -- words -------------------------------------------------------------------------------
    def scrub(self, text: str | None) -> str:
        """Text from the service, without the token (or a run copied from it) and without
        anything the PII detector finds."""
        return Gate(None).scrub(text, (self._token, self._authorization().split(" ", 1)[1]))

    def their_words(self, answer: Response) -> str:
        """The service's own explanation, short and scrubbed."""
        data = answer.json()
        found: list[str] = []
        if isinstance(data, dict):
            errors = data.get("errors")
            if isinstance(errors, list):
                for e in errors[:3]:
                    if isinstance(e, dict):
                        found.append(str(e.get("title") or e.get("detail") or e.get("message") or ""))
                    elif isinstance(e, str):
                        found.append(e)
            err = data.get("error")
            if isinstance(err, dict):
                found += [str(err.get(k)) for k in ("message", "detail") if err.get(k)]
            elif isinstance(err, str):
                found.append(err)
            if data.get("message"):
                found.append(str(data["message"]))
        elif isinstance(data, list) and data and isinstance(data[0], str):
            found.append(data[0])
        elif data is None and answer.content:
            ctype = (answer.headers.get("content-type") or "").lower()
            if "html" in ctype or answer.text.lstrip().startswith("<"):
                m = re.search(r"<title[^>]*>(.*?)</title>", answer.text, re.I | re.S)
                found.append(html.unescape(m.group(1)) if m else "")
            else:
                found.append(answer.text)
        text = _words(" — ".join(dict.fromkeys(f for f in found if f and f.strip())))
        if len(text) > 300:
            text = text[:297] + "…"
        return self.scrub(text)

    @staticmethod
    def is_sign_in_page(answer: Response) -> bool:
        """Azure DevOps answers an expired token with 203 and an HTML sign-in page."""
        return answer.status == 203 and not answer.is_json

    def failure(self, answer: Response, *, doing: str, not_found: str | None = None,
                conflict: str | None = None) -> IntegrationError:
        """The sentence for an answer that is not what was asked for."""
        status = answer.status
        said = self.their_words(answer)
        tail = f": “{said}”" if said else ""
        label = self.label
        if status == 401 or self.is_sign_in_page(answer):
            why = (" (a sign-in page came back instead of data)" if status == 203 else "")
            return IntegrationError(
                f"{label} refused the {self.credentials}{why} (HTTP {status}{tail}). Check them "
                f"in {SETTINGS_HINT}; a token may have expired or been revoked.",
                code="integration_auth", status=status)
        if status == 403:
            return IntegrationError(
                f"{label} accepted the {self.credentials} but does not allow this account to "
                f"{doing} (HTTP 403{tail}). Ask a {label} administrator for that permission.",
                code="integration_forbidden", status=status)
        if status == 404:
            return IntegrationError(f"{not_found or f'{label} has no such record.'} (HTTP 404{tail})",
                                    code="integration_not_found", status=status)
        if status == 409:
            return IntegrationError(f"{conflict or f'{label} reported a conflict.'} (HTTP 409{tail})",
                                    code="integration_conflict", status=status)
        if status == 429:
            wait = parse_retry_after(answer.headers.get("retry-after"))
            when = f"in about {max(1, round(wait))} seconds" if wait is not None else "in a minute"
            return IntegrationError(
                f"{label} is limiting requests (HTTP 429) and did not accept this one in time. "
                f"Nothing more was sent; try again {when}.",
                code="integration_rate_limited", status=status, retry_after=wait)
        if status >= 500:
            return IntegrationError(
                f"{label} had a server error (HTTP {status}{tail}) while TFTSR tried to {doing}. "
                f"Try again later; if it keeps happening, {label}'s administrators can see why in "
                "its logs.", code="integration_server_error", status=status)
        if 300 <= status < 400:
            return IntegrationError(
                f"{label} answered with a redirect (HTTP {status}) instead of data — often a "
                f"sign-in page or a moved address. Check the address in {SETTINGS_HINT}.",
                code="integration_redirect", status=status)
        return IntegrationError(f"{label} refused to {doing} (HTTP {status}{tail}).",
                                code="integration_refused", status=status)

    def unexpected(self, doing: str) -> IntegrationError:
        return IntegrationError(
            f"{self.label} answered, but not with what TFTSR expected while trying to {doing}. "
            f"Check that the address in {SETTINGS_HINT} is the {self.label} site itself.",
            code="integration_bad_response")


def transport_failure(conn: Connection, reason: str, read_timeout: float) -> IntegrationError:
    """No answer at all: a timeout, a refused connection, an unknown host, a TLS failure."""
    lowered = reason.lower()
    where = f"{conn.label} at {conn.host}"
    if reason == "timeout" or "timed out" in lowered:
        return IntegrationError(
            f"{where} did not answer within {read_timeout:g} seconds. Check that the address in "
            f"{SETTINGS_HINT} is right and the service is up, then try again.",
            code="integration_timeout")
    if "refused" in lowered:
        why = "the connection was refused"
    elif any(s in lowered for s in ("name or service not known", "nodename", "getaddrinfo",
                                    "name resolution", "no address")):
        why = "the host name could not be found"
    elif "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        why = "its TLS certificate was not accepted"
    else:
        why = "the connection failed"
    return IntegrationError(
        f"TFTSR could not reach {where}: {why}. Check the address in {SETTINGS_HINT} and that "
        "this machine can reach it (network, VPN or proxy).", code="integration_unreachable")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def redaction_counts(*groups) -> dict[str, int]:
    """What a set of :meth:`Gate.redact` calls removed, by type."""
    counts: dict[str, int] = {}
    for removed in groups:
        for r in removed:
            counts[r.pii_type] = counts.get(r.pii_type, 0) + 1
    return dict(sorted(counts.items()))


def safe_link(url: Any, conn: Connection) -> str | None:
    """A link from a service's answer, kept only when it is http(s) on the service's own
    origin (what the page shows as a link must not lead elsewhere)."""
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or origin_of(url) != conn.origin:
        return None
    return url
