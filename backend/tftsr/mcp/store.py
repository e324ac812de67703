"""MCP servers and what discovery found on them (``mcp_servers``, ``mcp_tools``,
``mcp_resources``).

A server row keeps its transport in ``transport_config`` (JSON):

* stdio — ``url`` holds the command; the config holds ``args``, ``env`` and ``cwd``;
* http — ``url`` holds the endpoint; the config holds ``headers`` (and ``legacy_sse`` for
  servers that still speak the old HTTP+SSE transport);
* both — ``timeout_seconds`` (per call) and, for an API key, ``auth_header``.

Secrets never sit in plaintext: ``auth_value`` is AES-256-GCM encrypted
(:mod:`tftsr.secrets`), and so is every env value or header the user marks secret (or
whose name says it is one: ``*_TOKEN``, ``Authorization`` …), stored as
``{"secret": <encrypted>, "hint": "…abcd"}``. :func:`to_public` shows a secret only as
``set`` or its last four characters.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tftsr.db.ids import now_text, uuid7
from tftsr.errors import Conflict, InvalidArgument, NotFound
from tftsr.secrets import decrypt_secret, encrypt_secret, mask_secret

SERVER_COLUMNS = ("id, name, url, transport_type, transport_config, auth_type, auth_value, enabled,"
                  " last_discovered_at, discovery_status, discovery_error, created_at, updated_at")
TOOL_COLUMNS = "id, server_id, name, tool_key, description, parameters, always_allow"
RESOURCE_COLUMNS = "id, server_id, uri, name, description, mime_type, discovered_at"

TRANSPORTS = {"stdio": "stdio", "http": "http", "streamable_http": "http", "streamablehttp": "http",
              "sse": "sse", "legacy_sse": "sse"}
AUTH_TYPES = ("none", "bearer", "api_key", "oauth2")
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 600
DEFAULT_API_KEY_HEADER = "X-API-Key"

# Variables that change how a program loads code: a server configured with them could
# run something other than what its command says.
FORBIDDEN_ENV = {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PYTHONPATH", "PYTHONSTARTUP",
                 "PYTHONHOME", "NODE_OPTIONS", "BASH_ENV"}
FORBIDDEN_ENV_PREFIXES = ("DYLD_",)
# Headers the transport owns.
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "mcp-session-id",
                    "mcp-protocol-version", "last-event-id", "content-type", "accept"}

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
SECRET_NAME_RE = re.compile(r"(?i)(token|secret|passw|pwd|apikey|credential|private|authorization|"
                            r"cookie|session|auth|(^|[_-])key([_-]|$))")
MAX_ITEMS = 50
MAX_VALUE = 8_000


# -- errors -------------------------------------------------------------------------------------
class ServerNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("That MCP server does not exist (it may have been deleted).")


# -- rows ---------------------------------------------------------------------------------------
def get_row(conn, server_id: str) -> dict:
    row = conn.execute(f"SELECT {SERVER_COLUMNS} FROM mcp_servers WHERE id = ?", (server_id,)).fetchone()
    if row is None:
        raise ServerNotFound()
    return dict(row)


def list_rows(conn, *, enabled_only: bool = False) -> list[dict]:
    where = " WHERE enabled = 1" if enabled_only else ""
    rows = conn.execute(f"SELECT {SERVER_COLUMNS} FROM mcp_servers{where} ORDER BY lower(name), created_at")
    return [dict(r) for r in rows.fetchall()]


def config_of(row: dict) -> dict:
    try:
        value = json.loads(row.get("transport_config") or "{}")
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


def transport_of(row: dict) -> str:
    if row["transport_type"] == "stdio":
        return "stdio"
    return "sse" if config_of(row).get("legacy_sse") else "http"


def timeout_of(row: dict) -> int:
    value = config_of(row).get("timeout_seconds")
    return value if isinstance(value, int) and 1 <= value <= MAX_TIMEOUT else DEFAULT_TIMEOUT


# -- the public form ----------------------------------------------------------------------------
def _hint(secret: str) -> str:
    masked = mask_secret(secret)
    return masked if masked and masked != "…" else "set"


def _public_pairs(entries: dict) -> list[dict]:
    out = []
    for name, entry in entries.items():
        if isinstance(entry, dict) and "secret" in entry:
            out.append({"name": name, "secret": True, "value": None, "hint": entry.get("hint") or "set"})
        else:
            value = entry.get("value") if isinstance(entry, dict) else entry
            out.append({"name": name, "secret": False, "value": value, "hint": None})
    return out


def to_public(conn, row: dict) -> dict:
    """A server as the page may see it: secrets only as ``set`` or ``…abcd``."""
    config = config_of(row)
    transport = transport_of(row)
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM mcp_tools WHERE server_id = :id) AS tools,"
        " (SELECT count(*) FROM mcp_resources WHERE server_id = :id) AS resources", {"id": row["id"]}).fetchone()
    stdio = transport == "stdio"
    return {
        "id": row["id"], "name": row["name"], "transport": transport,
        "command": row["url"] if stdio else None,
        "args": list(config.get("args") or []) if stdio else [],
        "env": _public_pairs(config.get("env") or {}) if stdio else [],
        "cwd": config.get("cwd") if stdio else None,
        "url": None if stdio else row["url"],
        "headers": [] if stdio else _public_pairs(config.get("headers") or {}),
        "auth_type": row["auth_type"],
        "auth_set": bool(row.get("auth_value")),
        "auth_hint": config.get("auth_hint") if row.get("auth_value") else None,
        "auth_header": config.get("auth_header") if row["auth_type"] == "api_key" else None,
        "timeout_seconds": timeout_of(row),
        "enabled": bool(row["enabled"]),
        "discovery_status": row["discovery_status"],
        "discovery_error": row.get("discovery_error"),
        "last_discovered_at": row.get("last_discovered_at"),
        "tool_count": counts["tools"], "resource_count": counts["resources"],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


# -- validating what the user typed --------------------------------------------------------------
def normalise_transport(value: str) -> str:
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    if key not in TRANSPORTS:
        raise InvalidArgument("transport must be stdio (a local command) or http (a streamable HTTP "
                              "URL); sse is accepted for older servers.")
    return TRANSPORTS[key]


def _text(name: str, value: Any, *, max_len: int = MAX_VALUE, allow_newlines: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be text.")
    if "\x00" in value:
        raise InvalidArgument(f"{name} must not contain NUL characters.")
    if not allow_newlines and ("\r" in value or "\n" in value):
        raise InvalidArgument(f"{name} must be on one line.")
    if len(value) > max_len:
        raise InvalidArgument(f"{name} is too long (the limit is {max_len:,} characters).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{name} contains characters that are not valid text.") from None
    return value


def _pairs_input(what: str, value: Any) -> list[tuple[str, Any]]:
    """``{"NAME": "value" | {"value":…, "secret":…}}`` or ``[{"name", "value", "secret"}]``."""
    if value is None:
        return []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise InvalidArgument(f"{what}[{i}] must be an object with a name.")
            items.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
    else:
        raise InvalidArgument(f"{what} must be an object of names and values.")
    if len(items) > MAX_ITEMS:
        raise InvalidArgument(f"{what} may hold at most {MAX_ITEMS} entries.")
    return items


def clean_pairs(app, what: str, value: Any, previous: dict, *, header: bool) -> dict:
    """Validate env variables or headers; encrypt the secret ones.

    A secret whose value is left out (``{"secret": true}``) keeps its stored value.
    """
    out: dict[str, dict] = {}
    seen: set[str] = set()
    for raw_name, raw in _pairs_input(what, value):
        name = _text(f"{what} name", raw_name, max_len=200, allow_newlines=False).strip()
        if header:
            if not HEADER_NAME_RE.match(name):
                raise InvalidArgument(f"'{name[:60]}' is not a valid HTTP header name.")
            if name.lower() in RESERVED_HEADERS:
                raise InvalidArgument(f"The header {name} is set by TFTSR itself and cannot be configured.")
        else:
            if not ENV_NAME_RE.match(name):
                raise InvalidArgument(f"'{name[:60]}' is not a valid environment variable name "
                                      "(letters, digits and _, not starting with a digit).")
            upper = name.upper()
            if upper in FORBIDDEN_ENV or upper.startswith(FORBIDDEN_ENV_PREFIXES):
                raise InvalidArgument(
                    f"{name} is not allowed in an MCP server's environment: it changes which code a "
                    "program loads. Remove it (set up the server's own runtime instead).",
                    code="mcp_env_refused")
        key = name.lower() if header else name
        if key in seen:
            raise InvalidArgument(f"{what} lists {name} twice.")
        seen.add(key)
        if isinstance(raw, dict):
            unknown = set(raw) - {"value", "secret", "hint"}
            if unknown:
                raise InvalidArgument(f"{what} {name}: unknown field {sorted(unknown)[0]}.")
            secret = raw.get("secret")
            if secret is not None and not isinstance(secret, bool):
                raise InvalidArgument(f"{what} {name}: secret must be true or false.")
            text = raw.get("value")
        else:
            secret, text = None, raw
        if text is None:
            kept = previous.get(name)
            if isinstance(kept, dict) and "secret" in kept and secret is not False:
                out[name] = kept  # unchanged stored secret
                continue
            raise InvalidArgument(f"{what} {name} needs a value.")
        text = _text(f"{what} {name}", text, allow_newlines=not header)
        if secret is None:
            secret = bool(SECRET_NAME_RE.search(name)) and bool(text)
        out[name] = ({"secret": encrypt_secret(app, text), "hint": _hint(text)} if secret
                     else {"value": text})
    return out


def clean_url(url: Any) -> str:
    url = _text("url", url, max_len=2000, allow_newlines=False).strip()
    if not url:
        raise InvalidArgument("url is required for an HTTP server.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("url must be an http:// or https:// address of the MCP endpoint "
                              "(for example https://mcp.example.com/mcp).")
    if parts.username or parts.password:
        raise InvalidArgument("Put credentials in a header or in the server's authentication, "
                              "not in the URL.")
    if any(ch.isspace() for ch in url):
        raise InvalidArgument("url must not contain spaces.")
    return url


def clean_args(args: Any) -> list[str]:
    if args is None:
        return []
    if not isinstance(args, list):
        raise InvalidArgument("args must be a list of text.")
    if len(args) > 100:
        raise InvalidArgument("args may hold at most 100 items.")
    return [_text(f"args[{i}]", a, max_len=4000) for i, a in enumerate(args)]


def clean_cwd(cwd: Any) -> str | None:
    if cwd is None or (isinstance(cwd, str) and not cwd.strip()):
        return None
    text = _text("cwd", cwd, max_len=4000, allow_newlines=False).strip()
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise InvalidArgument("The working folder must be a full path (for example /home/me/runbooks).")
    if not path.is_dir():
        raise InvalidArgument(f"The working folder {text} does not exist (or is not a folder).",
                              code="mcp_cwd_missing")
    return str(path)


def split_command(command: Any, args: list[str]) -> tuple[str, list[str]]:
    """The command alone; "npx -y pkg" typed into the command box becomes npx + args."""
    command = _text("command", command, max_len=1000, allow_newlines=False).strip()
    if not command:
        raise InvalidArgument("command is required for a stdio server (for example npx or uvx).")
    if not args and any(ch.isspace() for ch in command) and not Path(command).exists():
        try:
            parts = shlex.split(command)
        except ValueError:
            raise InvalidArgument("command has an unclosed quote.") from None
        if parts:
            return parts[0], parts[1:]
    return command, args


@dataclass
class Draft:
    """A server's settings after validation, ready to store."""

    name: str
    transport: str  # stdio | http | sse
    url: str  # the command for stdio
    config: dict = field(default_factory=dict)
    auth_type: str = "none"
    auth_value: str | None = None  # encrypted


def build_draft(app, *, name: str, transport: str, command=None, args=None, env=None, cwd=None,
                url=None, headers=None, auth_type=None, auth_value=None, auth_header=None,
                timeout_seconds=None, previous: dict | None = None) -> Draft:
    """Validate a whole server definition. ``previous`` is the stored row when editing:
    secrets left out keep their stored values."""
    prev_config = config_of(previous) if previous else {}
    kind = normalise_transport(transport)
    config: dict[str, Any] = {"timeout_seconds": timeout_seconds or prev_config.get("timeout_seconds")
                              or DEFAULT_TIMEOUT}
    if kind == "stdio":
        if url not in (None, "") or headers:
            raise InvalidArgument("A stdio server is started from a command; url and headers belong "
                                  "to HTTP servers.")
        command, cleaned_args = split_command(command, clean_args(args))
        config["args"] = cleaned_args
        config["env"] = clean_pairs(app, "env", env, prev_config.get("env") or {}, header=False)
        config["cwd"] = clean_cwd(cwd)
        target = command
        auth_type = "none"
    else:
        if command not in (None, "") or args or env or cwd not in (None, ""):
            raise InvalidArgument("An HTTP server is reached by its url; command, args, env and the "
                                  "working folder belong to stdio servers.")
        target = clean_url(url)
        config["headers"] = clean_pairs(app, "headers", headers, prev_config.get("headers") or {},
                                        header=True)
        if kind == "sse":
            config["legacy_sse"] = True
    draft = Draft(name=name, transport=kind, url=target, config=config)
    _apply_auth(app, draft, auth_type, auth_value, auth_header, previous, prev_config)
    return draft


def _apply_auth(app, draft: Draft, auth_type, auth_value, auth_header, previous, prev_config) -> None:
    auth_type = auth_type or (previous["auth_type"] if previous and draft.transport != "stdio" else "none")
    if auth_type not in AUTH_TYPES:
        raise InvalidArgument("auth_type must be none, bearer or api_key.")
    if auth_type == "oauth2":
        raise InvalidArgument("OAuth 2 sign-in is not supported for MCP servers yet; use a bearer "
                              "token or an API key header.", code="mcp_auth_unsupported")
    if draft.transport == "stdio" and auth_type != "none":
        raise InvalidArgument("A stdio server takes its credentials from its environment (mark them "
                              "secret); authentication applies to HTTP servers.")
    draft.auth_type = auth_type
    if auth_type == "none":
        return
    if auth_value is not None and auth_value != "":
        value = _text("auth_value", auth_value, max_len=MAX_VALUE, allow_newlines=False).strip()
        draft.auth_value = encrypt_secret(app, value)
        draft.config["auth_hint"] = _hint(value)
    elif previous and previous.get("auth_value") and previous["auth_type"] in ("bearer", "api_key"):
        draft.auth_value = previous["auth_value"]
        draft.config["auth_hint"] = prev_config.get("auth_hint") or "set"
    else:
        raise InvalidArgument("auth_value is required for bearer or API-key authentication.")
    if auth_type == "api_key":
        header = auth_header or prev_config.get("auth_header") or DEFAULT_API_KEY_HEADER
        header = _text("auth_header", header, max_len=200, allow_newlines=False).strip()
        if not HEADER_NAME_RE.match(header) or header.lower() in RESERVED_HEADERS:
            raise InvalidArgument("auth_header must be a valid HTTP header name such as X-API-Key.")
        draft.config["auth_header"] = header


def _check_name(conn, name: str, server_id: str | None) -> None:
    row = conn.execute("SELECT id FROM mcp_servers WHERE lower(name) = lower(?) AND id IS NOT ?",
                       (name, server_id)).fetchone()
    if row is not None:
        raise Conflict(f"An MCP server named {name} already exists. Choose another name.",
                       code="mcp_server_exists")


# -- writing --------------------------------------------------------------------------------------
def insert(conn, draft: Draft, *, enabled: bool = True) -> dict:
    _check_name(conn, draft.name, None)
    now = now_text()
    row = {"id": uuid7(), "name": draft.name, "url": draft.url,
           "transport_type": "stdio" if draft.transport == "stdio" else "http",
           "transport_config": json.dumps(draft.config, ensure_ascii=False), "auth_type": draft.auth_type,
           "auth_value": draft.auth_value, "enabled": 1 if enabled else 0, "last_discovered_at": None,
           "discovery_status": "pending", "discovery_error": None, "created_at": now, "updated_at": now}
    conn.execute(f"INSERT INTO mcp_servers ({SERVER_COLUMNS}) VALUES (:id, :name, :url, :transport_type,"
                 " :transport_config, :auth_type, :auth_value, :enabled, :last_discovered_at,"
                 " :discovery_status, :discovery_error, :created_at, :updated_at)", row)
    return row


def replace(conn, server_id: str, draft: Draft) -> dict:
    _check_name(conn, draft.name, server_id)
    conn.execute("UPDATE mcp_servers SET name = ?, url = ?, transport_type = ?, transport_config = ?,"
                 " auth_type = ?, auth_value = ?, discovery_status = 'pending', discovery_error = NULL,"
                 " updated_at = ? WHERE id = ?",
                 (draft.name, draft.url, "stdio" if draft.transport == "stdio" else "http",
                  json.dumps(draft.config, ensure_ascii=False), draft.auth_type, draft.auth_value,
                  now_text(), server_id))
    return get_row(conn, server_id)


def set_enabled(conn, server_id: str, enabled: bool) -> dict:
    get_row(conn, server_id)
    conn.execute("UPDATE mcp_servers SET enabled = ?, updated_at = ? WHERE id = ?",
                 (1 if enabled else 0, now_text(), server_id))
    return get_row(conn, server_id)


def delete(conn, server_id: str) -> dict:
    row = get_row(conn, server_id)
    conn.execute("DELETE FROM mcp_servers WHERE id = ?", (server_id,))
    return row


def set_status(conn, server_id: str, status: str, error: str | None, *, discovered: bool) -> None:
    if discovered:
        conn.execute("UPDATE mcp_servers SET discovery_status = ?, discovery_error = ?,"
                     " last_discovered_at = ? WHERE id = ?", (status, error, now_text(), server_id))
    else:
        conn.execute("UPDATE mcp_servers SET discovery_status = ?, discovery_error = ? WHERE id = ?",
                     (status, error, server_id))


# -- what the server needs to be reached (decrypted: never returned to the page) ------------------
def _plain_pairs(app, entries: dict) -> tuple[dict[str, str], list[str]]:
    values, secrets = {}, []
    for name, entry in entries.items():
        if isinstance(entry, dict) and "secret" in entry:
            values[name] = decrypt_secret(app, entry["secret"])
            secrets.append(values[name])
        elif isinstance(entry, dict):
            values[name] = str(entry.get("value", ""))
        else:
            values[name] = str(entry)
    return values, secrets


def connection_settings(app, row: dict) -> dict:
    """Everything the client needs, secrets decrypted, plus the list of secret values so
    error text can be scrubbed of them."""
    config = config_of(row)
    transport = transport_of(row)
    out: dict[str, Any] = {"server_id": row["id"], "name": row["name"], "transport": transport,
                           "timeout": float(timeout_of(row))}
    if transport == "stdio":
        env, secrets = _plain_pairs(app, config.get("env") or {})
        out.update(command=row["url"], args=list(config.get("args") or []), env=env,
                   cwd=config.get("cwd"), url=None, headers={}, secrets=secrets)
        return out
    headers, secrets = _plain_pairs(app, config.get("headers") or {})
    if row["auth_type"] in ("bearer", "api_key") and row.get("auth_value"):
        token = decrypt_secret(app, row["auth_value"])
        secrets.append(token)
        if row["auth_type"] == "bearer":
            headers["Authorization"] = f"Bearer {token}"
        else:
            headers[config.get("auth_header") or DEFAULT_API_KEY_HEADER] = token
    out.update(command=None, args=[], env={}, cwd=None, url=row["url"], headers=headers, secrets=secrets)
    return out


# -- discovered tools and resources -------------------------------------------------------------------
def _tool_public(row: dict) -> dict:
    try:
        schema = json.loads(row["parameters"] or "{}")
    except ValueError:
        schema = {}
    return {"name": row["name"], "tool_key": row["tool_key"], "description": row.get("description") or "",
            "input_schema": schema, "always_allow": bool(row.get("always_allow"))}


def list_tools(conn, server_id: str) -> list[dict]:
    rows = conn.execute(f"SELECT {TOOL_COLUMNS} FROM mcp_tools WHERE server_id = ? ORDER BY name",
                        (server_id,)).fetchall()
    return [_tool_public(dict(r)) for r in rows]


def list_resources(conn, server_id: str) -> list[dict]:
    rows = conn.execute(f"SELECT {RESOURCE_COLUMNS} FROM mcp_resources WHERE server_id = ? ORDER BY name, uri",
                        (server_id,)).fetchall()
    return [{"uri": r["uri"], "name": r["name"], "description": r["description"] or "",
             "mime_type": r["mime_type"], "discovered_at": r["discovered_at"]} for r in rows]


def find_tool(conn, server_id: str, tool_name: str) -> dict | None:
    row = conn.execute(f"SELECT {TOOL_COLUMNS} FROM mcp_tools WHERE server_id = ? AND name = ?",
                       (server_id, tool_name)).fetchone()
    return _tool_public(dict(row)) if row else None


def set_always_allow(conn, server_id: str, tool_name: str, value: bool) -> dict:
    get_row(conn, server_id)
    if find_tool(conn, server_id, tool_name) is None:
        raise NotFound(f"The server has no tool named {tool_name!r}. Discover it again.",
                       code="mcp_tool_not_found")
    conn.execute("UPDATE mcp_tools SET always_allow = ? WHERE server_id = ? AND name = ?",
                 (1 if value else 0, server_id, tool_name))
    return find_tool(conn, server_id, tool_name)


def replace_discovery(conn, server_id: str, tools: list[dict], resources: list[dict]) -> None:
    """Swap in what discovery found (call inside one transaction). ``tools`` carry their
    ``tool_key``; a tool the user set to "always allow" keeps that setting."""
    kept = {r["name"] for r in conn.execute(
        "SELECT name FROM mcp_tools WHERE server_id = ? AND always_allow = 1", (server_id,)).fetchall()}
    conn.execute("DELETE FROM mcp_tools WHERE server_id = ?", (server_id,))
    conn.execute("DELETE FROM mcp_resources WHERE server_id = ?", (server_id,))
    for tool in tools:
        conn.execute(f"INSERT INTO mcp_tools ({TOOL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (uuid7(), server_id, tool["name"], tool["tool_key"], tool.get("description") or "",
                      json.dumps(tool.get("input_schema") or {}, ensure_ascii=False),
                      1 if tool["name"] in kept else 0))
    now = now_text()
    for res in resources:
        conn.execute(f"INSERT INTO mcp_resources ({RESOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (uuid7(), server_id, res["uri"], res.get("name") or res["uri"], res.get("description"),
                      res.get("mime_type"), now))


def other_tool_keys(conn, server_id: str) -> set[str]:
    return {r["tool_key"] for r in conn.execute(
        "SELECT tool_key FROM mcp_tools WHERE server_id IS NOT ?", (server_id,)).fetchall()}
