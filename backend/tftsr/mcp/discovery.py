"""Discovery: ask a server for its tools and resources and keep them.

:func:`discover` connects afresh (60 s cap on everything), lists tools (name, description,
input schema) and resources (URI, name, MIME type), and swaps them into ``mcp_tools`` /
``mcp_resources`` in one transaction. The server's status becomes ``connected``,
``unreachable`` (it could not be started or reached) or ``error`` (it answered, with an
error: its own message is kept). A failed discovery keeps what an earlier one found.
Every discovery is written to the audit log.

:func:`start_background` discovers every enabled server at start-up on worker threads,
so the window never waits for a slow or absent server.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

from tftsr.audit import record as audit_record
from tftsr.errors import TftsrError
from tftsr.mcp import store  # the client (asyncio, anyio) is imported when a server is asked

log = logging.getLogger(__name__)

TOOL_KEY_MAX = 64
MAX_TOOLS = 500
MAX_RESOURCES = 2000
MAX_BACKGROUND_THREADS = 8


# -- tool keys: the names the AI sees ---------------------------------------------------------------
def slug(text: str, limit: int = 24) -> str:
    """Lower-case letters, digits and single underscores."""
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return (out[:limit].rstrip("_") or "server")


def tool_key(server_id: str, server_name: str, tool_name: str, taken: set[str]) -> str:
    """``mcp_<server>_<tool>``, valid for every provider (``^[a-zA-Z0-9_-]{1,64}$``, starts
    with a letter), unique among ``taken``; a short hash keeps long or clashing names apart."""
    tool = re.sub(r"[^A-Za-z0-9_-]+", "_", tool_name).strip("_") or "tool"
    key = f"mcp_{slug(server_name)}_{tool}"
    if len(key) <= TOOL_KEY_MAX and key not in taken:
        return key
    digest = hashlib.sha256(f"{server_id}\x00{tool_name}".encode()).hexdigest()
    for size in (6, 10, 16):
        candidate = f"{key[:TOOL_KEY_MAX - size - 1]}_{digest[:size]}"
        if candidate not in taken:
            return candidate
    raise RuntimeError("could not find a unique tool key")  # pragma: no cover - 2^64 clashes


# -- discovery ---------------------------------------------------------------------------------------------
def _row_and_spec(app, server_id: str):
    from tftsr.mcp import client

    with app.db.connection() as conn:
        row = store.get_row(conn, server_id)
    return row, client.build_spec(app, store.connection_settings(app, row))


def _record(app, server_id: str, row: dict, status: str, error: str | None,
            tools: list[dict] | None, resources: list[dict] | None, server_info: dict | None) -> None:
    with app.db.transaction() as conn:
        if conn.execute("SELECT 1 FROM mcp_servers WHERE id = ?", (server_id,)).fetchone() is None:
            return  # deleted meanwhile
        if tools is not None and resources is not None:
            taken = store.other_tool_keys(conn, server_id)
            for tool in tools:
                tool["tool_key"] = tool_key(server_id, row["name"], tool["name"], taken)
                taken.add(tool["tool_key"])
            store.replace_discovery(conn, server_id, tools, resources)
        store.set_status(conn, server_id, status, error, discovered=True)
        audit_record(conn, "mcp_server_discovered", "mcp_server", server_id, {
            "server": row["name"], "transport": store.transport_of(row), "status": status,
            "error": error, "tools": len(tools) if tools is not None else None,
            "resources": len(resources) if resources is not None else None,
            "server_info": server_info or None})


def discover(app, server_id: str) -> dict:
    """Discover one server now; returns ``{status, tools, resources, error, server}``."""
    from tftsr.mcp import client

    row, spec = None, None
    try:
        row, spec = _row_and_spec(app, server_id)
        found = client.list_server(app, spec, timeout=client.DISCOVERY_TIMEOUT)
    except client.CommandNotFound as exc:
        if row is None:
            raise
        _record(app, server_id, row, "unreachable", exc.message, None, None, None)
    except client.McpError as exc:
        _record(app, server_id, row, exc.status, exc.message, None, None, None)
    except TftsrError:
        raise
    else:
        tools = [t for t in found["tools"] if isinstance(t.get("name"), str) and t["name"]][:MAX_TOOLS]
        resources = found["resources"][:MAX_RESOURCES]
        _record(app, server_id, row, "connected", None, tools, resources, found.get("server_info"))
    app.events.emit("mcp_servers_changed", {"server_id": server_id})
    with app.db.connection() as conn:
        row = store.get_row(conn, server_id)
        return {"server_id": server_id, "status": row["discovery_status"], "error": row["discovery_error"],
                "last_discovered_at": row["last_discovered_at"],
                "tools": store.list_tools(conn, server_id), "resources": store.list_resources(conn, server_id),
                "server": store.to_public(conn, row)}


def _discover_quietly(app, server_id: str) -> None:
    try:
        discover(app, server_id)
    except Exception:  # noqa: BLE001 - a background discovery must never take the app down
        log.exception("background discovery of MCP server %s failed", server_id)


def start_background(app) -> threading.Thread | None:
    """Discover every enabled server on worker threads; returns at once."""
    try:
        with app.db.connection() as conn:
            ids = [r["id"] for r in store.list_rows(conn, enabled_only=True)]
    except Exception:  # noqa: BLE001
        log.exception("could not list MCP servers for discovery at start")
        return None
    if not ids:
        return None

    def run() -> None:
        gate = threading.BoundedSemaphore(MAX_BACKGROUND_THREADS)
        workers = []
        for server_id in ids:
            gate.acquire()

            def one(sid=server_id):
                try:
                    _discover_quietly(app, sid)
                finally:
                    gate.release()

            worker = threading.Thread(target=one, name=f"mcp-discover-{server_id[:8]}", daemon=True)
            worker.start()
            workers.append(worker)
        for worker in workers:
            worker.join()

    thread = threading.Thread(target=run, name="mcp-discovery", daemon=True)
    thread.start()
    app.extras["mcp.discovery_thread"] = thread
    return thread
