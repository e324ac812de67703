"""One whole reply from a provider, sent the way every request leaves TFTSR.

Features other than the triage chat (drafting document sections, connection tests) need
a reply, not a conversation. :func:`complete` sends a :class:`ChatRequest` through the
provider's client — so timeouts, retries with Retry-After and cancellation behave as in
the chat — and collects the streamed reply.

Every attempt is audited first: :func:`record_send` writes the ``ai_send`` entry with
the SHA-256 and size of the exact body bytes about to go out. The chat, the connection
tests and :func:`complete` all write that entry through it, so it reads the same
wherever a request came from.

The caller is responsible for what is in the request: run every piece of text through
:mod:`tftsr.ai.pii_gate` before building it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from tftsr.ai import registry
from tftsr.ai.base import (
    Cancellation,
    ChatRequest,
    ChatResult,
    PreparedRequest,
    ProviderError,
    SendHooks,
)
from tftsr.audit import record as audit_record


def record_send(conn, provider_row: dict, prepared: PreparedRequest, attempt: int, *,
                entity_type: str, entity_id: str, **details) -> None:
    """Write the ``ai_send`` audit entry for one HTTP attempt (inside a transaction).

    ``details`` adds what the caller knows (purpose, message id, log file ids, …).
    """
    body = prepared.body or b""
    audit_record(conn, "ai_send", entity_type, entity_id, {
        "provider": provider_row["name"], "provider_kind": provider_row["kind"],
        "provider_id": provider_row["id"], "model": provider_row["model"],
        "request_sha256": hashlib.sha256(body).hexdigest(), "request_bytes": len(body),
        "host": prepared.host, "path": prepared.path, "method": prepared.method,
        "redacted_at_send": prepared.redacted, "attempt": attempt, **details})


def audited_hooks(app, provider_row: dict, *, entity_type: str, entity_id: str,
                  details: dict | None = None,
                  on_retry: Callable[[int, float, str], None] | None = None) -> SendHooks:
    """Hooks that audit every attempt before it is sent (and announce retries)."""

    def before_send(prepared: PreparedRequest, attempt: int) -> None:
        with app.db.transaction() as conn:
            record_send(conn, provider_row, prepared, attempt, entity_type=entity_type,
                        entity_id=entity_id, **(details or {}))

    return SendHooks(before_send=before_send, on_retry=on_retry)


def complete(app, provider_row: dict, request: ChatRequest, *, entity_type: str, entity_id: str,
             details: dict | None = None, cancel: Cancellation | None = None,
             on_text: Callable[[str], None] | None = None,
             on_retry: Callable[[int, float, str], None] | None = None) -> ChatResult:
    """Send ``request`` to the provider and return the whole reply.

    ``on_text`` hears each piece of the reply as it streams in (for progress);
    ``cancel`` stops it from another thread (raises :class:`~tftsr.ai.base.Cancelled`).
    Provider failures raise :class:`~tftsr.ai.base.ProviderError` with the AI error codes.
    """
    client = registry.client_for(app, provider_row, issue_id=(details or {}).get("issue_id"))
    hooks = audited_hooks(app, provider_row, entity_type=entity_type, entity_id=entity_id,
                          details=details, on_retry=on_retry)
    parts: list[str] = []
    result: ChatResult | None = None
    for event in client.stream_chat(request, cancel=cancel or Cancellation(), hooks=hooks):
        if event.kind == "text" and event.text:
            parts.append(event.text)
            if on_text:
                on_text(event.text)
        elif event.kind == "done":
            result = event.result
    if result is None:
        raise ProviderError(f"{client.display_name} ended the reply without finishing it.",
                            code="ai_bad_response")
    if not result.content and parts:
        result.content = "".join(parts)
    return result
