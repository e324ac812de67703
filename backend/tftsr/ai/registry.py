"""Provider configurations in the database (``ai_providers``) and the active provider.

API keys are stored AES-256-GCM encrypted (:mod:`tftsr.secrets`) and leave this module
only inside a :class:`ProviderConfig` used to build a request. What the UI gets
(:func:`to_public`) carries ``api_key_set`` and a masked form, never the key.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from tftsr.ai.base import DEFAULT_RETRY, DEFAULT_TIMEOUTS, ProviderBase, ProviderConfig
from tftsr.ai.providers import PROVIDER_CLASSES
from tftsr.audit import record as audit_record
from tftsr.db.ids import now_text, uuid7
from tftsr.egress.gate import Gate, origin_of
from tftsr.errors import InvalidArgument, NotFound, TftsrError
from tftsr.secrets import decrypt_secret, encrypt_secret, mask_secret

COLUMNS = ("id, name, kind, base_url, model, api_key_encrypted, api_key_hint, settings, is_active,"
           " supports_tools, tools_checked_at, created_at, updated_at, api_key_origin")
KIND_LABELS = {
    "openai": "OpenAI-compatible (OpenAI, LM Studio, vLLM, LiteLLM)",
    "azure_openai": "Azure OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Google Gemini",
    "mistral": "Mistral",
    "ollama": "Ollama (local)",
    "custom_rest": "Custom REST gateway",
}


class NoProvider(TftsrError):
    code = "ai_no_provider"
    http_status = 409


class KeyNeedsReentry(TftsrError):
    """The address changed to another host while a key is stored: the key stays bound to
    the host it was entered for until the user enters it again or confirms the new host."""

    code = "api_key_reentry_required"
    http_status = 409

    def __init__(self, old_origin: str, new_origin: str):
        super().__init__(
            f"The API key was entered for {old_origin}. To send it to {new_origin} instead, "
            f"enter the key again, or confirm that {new_origin} may receive it.")
        self.new_origin = new_origin

    def to_dict(self) -> dict:
        return {**super().to_dict(), "new_origin": self.new_origin}


def kinds() -> list[dict]:
    """What the Settings form needs to offer each provider kind."""
    out = []
    for kind, cls in PROVIDER_CLASSES.items():
        out.append({"kind": kind, "label": KIND_LABELS[kind], "default_base_url": cls.default_base_url,
                    "needs_api_key": cls.needs_api_key,
                    "supports_list_models": cls.supports_list_models,
                    "settings": [dict(s) for s in cls.settings_schema]})
    return out


def clean_base_url(kind: str, base_url: str | None) -> str:
    value = (base_url or PROVIDER_CLASSES[kind].default_base_url).strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("base_url must be an http:// or https:// address with a host name.")
    if parts.username or parts.password:
        raise InvalidArgument("base_url must not contain a user name or password; use the API key field.")
    if parts.query or parts.fragment:
        raise InvalidArgument("base_url must not contain a query string or fragment.")
    return value


def clean_settings(kind: str, settings: dict | None) -> dict:
    """Keep only the settings this kind knows, converted to their declared types."""
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise InvalidArgument("settings must be an object.")
    schema = {s["key"]: s for s in PROVIDER_CLASSES[kind].settings_schema}
    unknown = sorted(set(settings) - set(schema))
    if unknown:
        raise InvalidArgument(f"Unknown setting for this provider: {', '.join(str(u)[:40] for u in unknown)}.")
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        value = settings.get(key)
        if value is None or value == "":
            if spec.get("required") and spec.get("default") is None:
                raise InvalidArgument(f"{spec['label']} is required for this provider.")
            if spec.get("default") is not None:
                out[key] = spec["default"]
            continue
        try:
            if spec["type"] == "int":
                if isinstance(value, bool):
                    raise ValueError
                value = int(value)
                if not 1 <= value <= 1_000_000:
                    raise ValueError
            elif spec["type"] == "float":
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
                if not 0 <= value <= 2:
                    raise ValueError
            elif spec["type"] == "bool":
                if not isinstance(value, bool):
                    raise ValueError
            else:
                if not isinstance(value, str) or len(value) > 500 or "\n" in value or "\r" in value:
                    raise ValueError
        except (TypeError, ValueError):
            raise InvalidArgument(f"{spec['label']} has an invalid value.") from None
        out[key] = value
    if kind == "custom_rest":
        header = out.get("auth_header", "")
        if not header or not all(c.isalnum() or c in "-_" for c in header):
            raise InvalidArgument("Auth header must be a header name such as Authorization or X-Api-Key.")
    return out


def to_public(row: dict) -> dict:
    """A provider as the UI may see it: the key masked, never the key."""
    try:
        settings = json.loads(row.get("settings") or "{}")
    except ValueError:
        settings = {}
    return {
        "id": row["id"], "name": row["name"], "kind": row["kind"], "base_url": row["base_url"],
        "model": row["model"], "api_key_set": bool(row.get("api_key_encrypted")),
        "api_key_masked": (row.get("api_key_hint") or "…") if row.get("api_key_encrypted") else None,
        "api_key_origin": (row.get("api_key_origin") or origin_of(row["base_url"]))
        if row.get("api_key_encrypted") else None,
        "settings": settings, "is_active": bool(row["is_active"]),
        "supports_tools": None if row.get("supports_tools") is None else bool(row["supports_tools"]),
        "tools_checked_at": row.get("tools_checked_at"),
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


def get_row(conn, provider_id: str) -> dict:
    row = conn.execute(f"SELECT {COLUMNS} FROM ai_providers WHERE id = ?", (provider_id,)).fetchone()
    if row is None:
        raise NotFound("That AI provider does not exist (it may have been deleted).")
    return row


def active_row(conn) -> dict | None:
    return conn.execute(f"SELECT {COLUMNS} FROM ai_providers WHERE is_active = 1").fetchone()


def list_rows(conn) -> list[dict]:
    return conn.execute(f"SELECT {COLUMNS} FROM ai_providers ORDER BY created_at, rowid").fetchall()


def find_row(conn, provider_id: str | None) -> dict:
    """The given provider, or the active one; NoProvider when there is none."""
    if provider_id:
        return get_row(conn, provider_id)
    row = active_row(conn)
    if row is None:
        raise NoProvider("No AI provider is set up. Add one in Settings → AI Providers "
                         "(everything else works without AI).")
    return row


def _encrypt_key(app, api_key: str) -> tuple[str, str]:
    return encrypt_secret(app, api_key), mask_secret(api_key) or "…"


def add(app, conn, *, name: str, kind: str, base_url: str | None, model: str,
        api_key: str | None, settings: dict | None, make_active: bool = False) -> dict:
    if kind not in PROVIDER_CLASSES:
        raise InvalidArgument("Unknown provider kind.")
    now = now_text()
    row = {"id": uuid7(), "name": name, "kind": kind, "base_url": clean_base_url(kind, base_url),
           "model": model, "api_key_encrypted": None, "api_key_hint": None,
           "settings": json.dumps(clean_settings(kind, settings), sort_keys=True),
           "is_active": 0, "supports_tools": None, "tools_checked_at": None,
           "created_at": now, "updated_at": now, "api_key_origin": None}
    if api_key:
        row["api_key_encrypted"], row["api_key_hint"] = _encrypt_key(app, api_key)
        row["api_key_origin"] = origin_of(row["base_url"])
    first = conn.execute("SELECT count(*) AS n FROM ai_providers").fetchone()["n"] == 0
    conn.execute(
        f"INSERT INTO ai_providers ({COLUMNS}) VALUES (:id, :name, :kind, :base_url, :model,"
        " :api_key_encrypted, :api_key_hint, :settings, :is_active, :supports_tools,"
        " :tools_checked_at, :created_at, :updated_at, :api_key_origin)", row)
    audit_record(conn, "ai_provider_added", "ai_provider", row["id"],
                 {"name": name, "kind": kind, "base_url": row["base_url"], "model": model,
                  "api_key_set": bool(api_key)})
    if first or make_active:
        set_active(conn, row["id"])
    return to_public(get_row(conn, row["id"]))


def update(app, conn, provider_id: str, *, name=None, base_url=None, model=None, api_key=None,
           settings=None, confirm_origin: str | None = None) -> dict:
    """Change a provider. A stored key stays bound to the origin it was entered for: moving
    the address to another origin needs the key again (``api_key``) or ``confirm_origin``
    naming the new origin exactly."""
    row = get_row(conn, provider_id)
    changes: dict[str, Any] = {}
    if name is not None and name != row["name"]:
        changes["name"] = name
    if base_url is not None:
        cleaned = clean_base_url(row["kind"], base_url)
        if cleaned != row["base_url"]:
            changes["base_url"] = cleaned
    if model is not None and model != row["model"]:
        changes["model"] = model
    if settings is not None:
        cleaned_settings = json.dumps(clean_settings(row["kind"], settings), sort_keys=True)
        if cleaned_settings != row["settings"]:
            changes["settings"] = cleaned_settings
    key_change = None
    if api_key is not None:
        if api_key == "":
            if row["api_key_encrypted"]:
                changes["api_key_encrypted"] = changes["api_key_hint"] = None
                key_change = "removed"
        else:
            changes["api_key_encrypted"], changes["api_key_hint"] = _encrypt_key(app, api_key)
            key_change = "replaced"
    new_url = changes.get("base_url", row["base_url"])
    if changes.get("api_key_encrypted"):
        changes["api_key_origin"] = origin_of(new_url)
    elif "api_key_encrypted" in changes:
        changes["api_key_origin"] = None
    elif row["api_key_encrypted"] and "base_url" in changes:
        bound = row.get("api_key_origin") or origin_of(row["base_url"])
        if origin_of(new_url) != bound:
            if (confirm_origin or "").strip().lower().rstrip("/") != origin_of(new_url):
                raise KeyNeedsReentry(bound, origin_of(new_url))
            changes["api_key_origin"] = origin_of(new_url)
            key_change = "moved"
    if not changes:
        return to_public(row)
    if {"model", "base_url", "api_key_encrypted"} & set(changes):
        changes["supports_tools"] = None  # what was detected may no longer hold
        changes["tools_checked_at"] = None
    changes["updated_at"] = now_text()
    sets = ", ".join(f"{k} = :{k}" for k in changes)
    conn.execute(f"UPDATE ai_providers SET {sets} WHERE id = :id", {**changes, "id": provider_id})
    audit_record(conn, "ai_provider_updated", "ai_provider", provider_id,
                 {"fields": sorted(k for k in changes if k not in ("updated_at", "api_key_hint")
                                   and not k.startswith("api_key") and k not in
                                   ("supports_tools", "tools_checked_at")),
                  "api_key": key_change,
                  **({"base_url": {"from": row["base_url"], "to": changes["base_url"]}}
                     if "base_url" in changes else {}),
                  **({"api_key_origin": changes["api_key_origin"]}
                     if changes.get("api_key_origin") else {})})
    return to_public(get_row(conn, provider_id))


def delete(conn, provider_id: str) -> str | None:
    """Delete a provider; returns the id of the active provider afterwards."""
    row = get_row(conn, provider_id)
    conn.execute("DELETE FROM ai_providers WHERE id = ?", (provider_id,))
    conn.execute("UPDATE ai_conversations SET provider_id = NULL WHERE provider_id = ?", (provider_id,))
    audit_record(conn, "ai_provider_deleted", "ai_provider", provider_id,
                 {"name": row["name"], "kind": row["kind"]})
    if row["is_active"]:
        nxt = conn.execute("SELECT id FROM ai_providers ORDER BY created_at, rowid LIMIT 1").fetchone()
        if nxt:
            set_active(conn, nxt["id"])
            return nxt["id"]
        return None
    current = active_row(conn)
    return current["id"] if current else None


def set_active(conn, provider_id: str) -> dict:
    get_row(conn, provider_id)
    conn.execute("UPDATE ai_providers SET is_active = 0 WHERE is_active = 1 AND id != ?", (provider_id,))
    conn.execute("UPDATE ai_providers SET is_active = 1 WHERE id = ?", (provider_id,))
    return to_public(get_row(conn, provider_id))


def record_tool_support(conn, provider_id: str, supported: bool) -> None:
    conn.execute("UPDATE ai_providers SET supports_tools = ?, tools_checked_at = ? WHERE id = ?",
                 (1 if supported else 0, now_text(), provider_id))


def config_for(app, row: dict) -> ProviderConfig:
    """The configuration with the key decrypted, for building requests only.

    The key is released only for the origin it was entered for.
    """
    api_key = None
    if row.get("api_key_encrypted"):
        bound = row.get("api_key_origin")
        if bound and bound != origin_of(row["base_url"]):
            raise KeyNeedsReentry(bound, origin_of(row["base_url"]))
        api_key = decrypt_secret(app, row["api_key_encrypted"])
    try:
        settings = json.loads(row.get("settings") or "{}")
    except ValueError:
        settings = {}
    return ProviderConfig(kind=row["kind"], base_url=row["base_url"], model=row["model"],
                          api_key=api_key, name=row["name"], settings=settings, id=row["id"])


def client_for(app, row: dict | ProviderConfig, *, issue_id: str | None = None) -> ProviderBase:
    """A ready provider client whose requests pass the egress gate (with the incident's
    pseudonyms when ``issue_id`` is given). Tests may put ``ai_timeouts`` / ``ai_retry``
    (and an httpx ``ai_transport``) in ``app.extras`` to shorten waits."""
    config = row if isinstance(row, ProviderConfig) else config_for(app, row)
    cls = PROVIDER_CLASSES[config.kind]
    extras = getattr(app, "extras", {}) or {}
    return cls(config, timeouts=extras.get("ai_timeouts", DEFAULT_TIMEOUTS),
               retry=extras.get("ai_retry", DEFAULT_RETRY), transport=extras.get("ai_transport"),
               gate=Gate(app, issue_id))


def offers_tools(row: dict) -> bool:
    """Whether requests to this provider carry tool definitions."""
    if row.get("supports_tools") is not None:
        return bool(row["supports_tools"])
    return PROVIDER_CLASSES[row["kind"]].tools_by_default
