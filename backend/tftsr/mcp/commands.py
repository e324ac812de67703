"""Commands for Settings → MCP servers: add, edit, enable, delete, discover, try a tool,
read a resource. Secrets are write-only: results show them as ``set`` or ``…abcd``."""

from __future__ import annotations

from tftsr.audit import record as audit_record
from tftsr.commands import command
from tftsr.mcp import calls, client, discovery, store
from tftsr.mcp import tools as _offered  # noqa: F401 - offers the MCP tools to the assistant
from tftsr.validation import Any_, Bool, Enum, Id, Int, Str, StrList

SERVER_ID = Id("MCP server id")
NAME = Str(min_len=1, max_len=100)
TRANSPORT = Str(min_len=1, max_len=40)
OPTIONAL_TEXT = Str(max_len=4000, required=False, nullable=True)
ARGS = StrList(max_items=100, item=Str(max_len=4000, strip=False), required=False, nullable=True)
PAIRS = Any_(required=False)
AUTH_TYPE = Enum(store.AUTH_TYPES, required=False, nullable=True)
AUTH_VALUE = Str(max_len=store.MAX_VALUE, required=False, nullable=True)
TIMEOUT = Int(min=1, max=store.MAX_TIMEOUT, required=False, nullable=True)
TOOL_NAME = Str(min_len=1, max_len=500)
URI = Str(min_len=1, max_len=4000)

SERVER_FIELDS = dict(command=OPTIONAL_TEXT, args=ARGS, env=PAIRS, cwd=OPTIONAL_TEXT,
                     url=Str(max_len=2000, required=False, nullable=True), headers=PAIRS,
                     auth_type=AUTH_TYPE, auth_value=AUTH_VALUE,
                     auth_header=Str(max_len=200, required=False, nullable=True), timeout_seconds=TIMEOUT)


def _changed(app, server_id: str) -> None:
    app.events.emit("mcp_servers_changed", {"server_id": server_id})


def _public(app, server_id: str) -> dict:
    with app.db.connection() as conn:
        return store.to_public(conn, store.get_row(conn, server_id))


def _audit_details(draft: store.Draft) -> dict:
    """What changed, without a single secret value."""
    config = draft.config
    return {"name": draft.name, "transport": draft.transport,
            "target": draft.url, "args": len(config.get("args") or []),
            "env": sorted(config.get("env") or {}), "headers": sorted(config.get("headers") or {}),
            "auth_type": draft.auth_type, "timeout_seconds": config.get("timeout_seconds")}


def _kept_pairs(items: list[dict]) -> list[dict]:
    """The stored env or headers as update input: secrets kept as they are."""
    return [{"name": i["name"], "secret": True} if i["secret"]
            else {"name": i["name"], "value": i["value"], "secret": False} for i in items]


def _check_command(app, draft: store.Draft) -> None:
    if draft.transport == "stdio":
        client.resolve_command(app, draft.url, draft.config.get("cwd"))


@command(name=NAME, transport=TRANSPORT, enabled=Bool(default=True), **SERVER_FIELDS)
def add_mcp_server(app, name, transport, command, args, env, cwd, url, headers, auth_type, auth_value,
                   auth_header, timeout_seconds, enabled):
    """Add a server. stdio: command, args, env (values or {value, secret}), cwd. http: url,
    headers, auth_type none|bearer|api_key with auth_value (and auth_header for an API key)."""
    draft = store.build_draft(app, name=name, transport=transport, command=command, args=args, env=env,
                              cwd=cwd, url=url, headers=headers, auth_type=auth_type, auth_value=auth_value,
                              auth_header=auth_header, timeout_seconds=timeout_seconds)
    _check_command(app, draft)
    with app.db.transaction() as conn:
        row = store.insert(conn, draft, enabled=enabled)
        audit_record(conn, "mcp_server_added", "mcp_server", row["id"], _audit_details(draft))
        public = store.to_public(conn, row)
    _changed(app, row["id"])
    return public


@command(server_id=SERVER_ID, name=Str(min_len=1, max_len=100, required=False, nullable=True),
         transport=Str(min_len=1, max_len=40, required=False, nullable=True), **SERVER_FIELDS)
def update_mcp_server(app, server_id, name, transport, command, args, env, cwd, url, headers, auth_type,
                      auth_value, auth_header, timeout_seconds):
    """Change a server. Fields left out keep their values; a secret env value or header
    given as {"secret": true} without a value keeps the stored one; auth_value left out
    keeps the stored token."""
    with app.db.connection() as conn:
        row = store.get_row(conn, server_id)
        public = store.to_public(conn, row)
    kind = store.normalise_transport(transport) if transport else public["transport"]
    same = kind == public["transport"] or {kind, public["transport"]} == {"http", "sse"}
    stdio = kind == "stdio"

    def keep(value, current):
        return current if value is None and same else value

    if env is None and same and stdio:
        env = _kept_pairs(public["env"])
    if headers is None and same and not stdio:
        headers = _kept_pairs(public["headers"])
    draft = store.build_draft(
        app, name=name or row["name"], transport=kind,
        command=keep(command, public["command"]) if stdio else command,
        args=keep(args, public["args"]) if stdio else args, env=env,
        cwd=keep(cwd, public["cwd"]) if stdio else cwd,
        url=keep(url, public["url"]) if not stdio else url, headers=headers,
        auth_type=auth_type, auth_value=auth_value, auth_header=auth_header,
        timeout_seconds=timeout_seconds, previous=row)
    _check_command(app, draft)
    with app.db.transaction() as conn:
        store.replace(conn, server_id, draft)
        audit_record(conn, "mcp_server_updated", "mcp_server", server_id, _audit_details(draft))
    client.close_server(app, server_id)
    _changed(app, server_id)
    return _public(app, server_id)


@command(server_id=SERVER_ID, enabled=Bool())
def set_mcp_server_enabled(app, server_id, enabled):
    """Turn a server on or off; a disabled server's tools are not offered to the AI."""
    with app.db.transaction() as conn:
        row = store.set_enabled(conn, server_id, enabled)
        audit_record(conn, "mcp_server_enabled" if enabled else "mcp_server_disabled", "mcp_server",
                     server_id, {"name": row["name"]})
    if not enabled:
        client.close_server(app, server_id)
    _changed(app, server_id)
    return _public(app, server_id)


@command(server_id=SERVER_ID)
def delete_mcp_server(app, server_id):
    """Delete a server with its stored secrets, tools and resources."""
    with app.db.transaction() as conn:
        row = store.delete(conn, server_id)
        audit_record(conn, "mcp_server_deleted", "mcp_server", server_id,
                     {"name": row["name"], "transport": store.transport_of(row)})
    client.close_server(app, server_id)
    _changed(app, server_id)
    return {"deleted": True, "server_id": server_id}


@command()
def list_mcp_servers(app):
    """Every server (secrets masked) with its status and counts."""
    with app.db.connection() as conn:
        return {"items": [store.to_public(conn, r) for r in store.list_rows(conn)]}


@command(server_id=SERVER_ID)
def get_mcp_server(app, server_id):
    """One server with its discovered tools and resources."""
    with app.db.connection() as conn:
        row = store.get_row(conn, server_id)
        return {**store.to_public(conn, row), "tools": store.list_tools(conn, server_id),
                "resources": store.list_resources(conn, server_id)}


@command(server_id=SERVER_ID)
def discover_mcp_server(app, server_id):
    """Connect now and list the server's tools and resources (60 s at most):
    ``{status: connected|unreachable|error, tools, resources, error}``."""
    return discovery.discover(app, server_id)


@command(server_id=SERVER_ID, tool_name=TOOL_NAME, arguments=Any_(required=False))
def call_mcp_tool(app, server_id, tool_name, arguments):
    """Run one tool now (Settings' "Try it": the click is the approval):
    ``{content: [{type, text…}], structured_content, is_error, text}``."""
    return calls.call_tool(app, server_id, tool_name, arguments, decision="user_initiated")


@command(server_id=SERVER_ID, uri=URI)
def read_mcp_resource(app, server_id, uri):
    """Read one resource now: ``{uri, contents: [{uri, mime_type, text | blob}], text}``."""
    return calls.read_resource(app, server_id, uri, decision="user_initiated")


@command(server_id=SERVER_ID, tool_name=TOOL_NAME, always_allow=Bool())
def set_mcp_tool_always_allow(app, server_id, tool_name, always_allow):
    """Let the assistant run this tool without asking each time (or ask again)."""
    with app.db.transaction() as conn:
        tool = store.set_always_allow(conn, server_id, tool_name, always_allow)
        audit_record(conn, "mcp_tool_always_allow_set", "mcp_server", server_id,
                     {"tool": tool_name, "always_allow": always_allow})
    _changed(app, server_id)
    return tool
