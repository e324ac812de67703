"""Gate, audit, send: the whole way out for requests that are not AI chats.

AI provider requests are sealed and sent by :class:`tftsr.ai.base.ProviderBase` (they
need retries and streaming) and audited as ``ai_send``; everything else that leaves —
Ollama administration, integrations — uses :func:`send` here, audited as
``egress_send``. Both write the same facts: destination host and path, method, the
SHA-256 and size of the exact body, and what the last check redacted by type.
"""

from __future__ import annotations

import hashlib

import httpx

from tftsr.audit import record as audit_record
from tftsr.egress.gate import Gate
from tftsr.egress.transport import OutboundRequest, open_response

# What a send gives back: the client (to be closed once the response is read) and the
# response.
Sent = tuple[httpx.Client, httpx.Response]


def audit_facts(prepared: OutboundRequest) -> dict:
    body = prepared.body or b""
    return {"host": prepared.host, "path": prepared.path, "method": prepared.method,
            "request_sha256": hashlib.sha256(body).hexdigest(), "request_bytes": len(body),
            "redacted_at_send": prepared.redacted}


def send(app, prepared: OutboundRequest, *, purpose: str, entity_type: str, entity_id: str,
         read_timeout: float, connect_timeout: float, gate: Gate | None = None,
         transport: httpx.BaseTransport | None = None,
         details: dict | None = None) -> Sent:
    """Seal ``prepared``, write its ``egress_send`` audit entry, then send it.

    Returns the client and the open response; the caller closes both.
    """
    (gate or Gate(app)).seal(prepared)
    with app.db.transaction() as conn:
        audit_record(conn, "egress_send", entity_type, entity_id,
                     {"purpose": purpose, **audit_facts(prepared), **(details or {})})
    return open_response(prepared, read_timeout=read_timeout, connect_timeout=connect_timeout,
                         transport=transport)


def send_rendered_binary(app, prepared: OutboundRequest, *, rendered_from: str, purpose: str,
                         entity_type: str, entity_id: str, read_timeout: float,
                         connect_timeout: float, gate: Gate | None = None,
                         transport: httpx.BaseTransport | None = None,
                         details: dict | None = None) -> Sent:
    """Send a binary body that TFTSR rendered itself from data that holds no user text.

    The text gate cannot read an image, so :func:`send` refuses one. This is the single
    exception, and it is safe for what it is used for: the body is produced on this machine
    by TFTSR's own drawing code (today the incident timeline chart, whose layout carries only
    fixed lane and milestone names, times and event counts — never a title, description or
    log line), so there is no user-supplied value in it to redact. The URL's path and query
    are still checked by the gate, and the audit entry (host, path, SHA-256 and size of the
    exact bytes, and ``rendered_from`` naming what was drawn) is written before the send,
    exactly as for every other request.
    """
    body = prepared.body
    prepared.body = None
    try:
        (gate or Gate(app)).seal(prepared)  # the URL only
    finally:
        prepared.body = body
    with app.db.transaction() as conn:
        audit_record(conn, "egress_send", entity_type, entity_id,
                     {"purpose": purpose, **audit_facts(prepared), "rendered_from": rendered_from,
                      **(details or {})})
    return open_response(prepared, read_timeout=read_timeout, connect_timeout=connect_timeout,
                         transport=transport)


def sealer(app, *, purpose: str, entity_type: str, entity_id: str, gate: Gate | None = None,
           details: dict | None = None):
    """A ``seal(OutboundRequest)`` callback for clients whose library sends the request
    itself (the MCP SDK): gate it, then audit it, as :func:`send` does."""
    gate = gate or Gate(app)

    def seal(prepared: OutboundRequest) -> None:
        gate.seal(prepared)
        with app.db.transaction() as conn:
            audit_record(conn, "egress_send", entity_type, entity_id,
                         {"purpose": purpose, **audit_facts(prepared), **(details or {})})

    return seal
