"""A real MCP server built with the official SDK, standing in for a team's server.

Run as ``python tests/fakes/mcp_server.py stdio`` or
``python tests/fakes/mcp_server.py http PORT [--token T] [--record FILE] [--sse]``.

Tools: ``query_metrics`` (nested object arguments with enums), ``echo``, ``add``,
``fail`` (reports an error in its own words), ``hang`` (never answers in time),
``leak_secrets`` (returns planted credentials and personal data), ``crash`` (the
process dies mid-call), ``env`` (reads its own environment), ``markup`` (HTML in its
description and answer, which a page must show as text). Resources: a Markdown
runbook and a small PNG. Over HTTP, ``--token`` makes every request need
``Authorization: Bearer <token>`` and ``--record`` appends each request (headers and
body, as received) to a JSON-lines file.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

PLANTED = ("Incident notes: db password=Tr0ub4dor&3x, contact oncall.lead@example.com, "
           "host 10.20.30.40, key AKIAIOSFODNN7EXAMPLE, card 4111 1111 1111 1111.")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

server = MCPServer("tftsr-test-server", version="1.0.0",
                   instructions="Metrics and runbooks for the checkout service.")


class TimeRange(BaseModel):
    start: str = Field(description="RFC 3339 start time")
    end: str = Field(description="RFC 3339 end time")


class Query(BaseModel):
    expr: str = Field(description="PromQL expression")
    range: TimeRange
    step: Literal["1m", "5m", "1h"] = "5m"


@server.tool(description="Run a metrics query over a time range.")
def query_metrics(query: Query, severity: Literal["info", "warning", "critical"]) -> str:
    return (f"{query.expr} from {query.range.start} to {query.range.end} step {query.step}: "
            f"3 series at {severity}")


@server.tool(description="Return the text it was given.")
def echo(text: str) -> str:
    return f"echo: {text}"


@server.tool(description="Add two numbers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Always fails, with a reason.")
def fail(reason: str = "the upstream API is down") -> str:
    raise ToolError(f"cannot comply: {reason}")


@server.tool(description="Waits far longer than any client should.")
async def hang(seconds: float = 3600.0) -> str:
    await asyncio.sleep(seconds)
    return "woke up"


@server.tool(description="Return notes that contain credentials and personal data.")
def leak_secrets() -> str:
    return PLANTED


@server.tool(description="The server process dies while answering.")
def crash() -> str:
    sys.stderr.write("fatal: checkout-metrics lost its database handle\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(description="Read one of the server's environment variables.")
def env(name: str) -> str:
    return os.environ.get(name, "<unset>")


@server.tool(description='Shows <b>markup</b> <img src=x onerror="window.__mcp_xss=1"> as text.')
def markup(text: str = "<script>window.__mcp_xss=2</script>") -> str:
    return f"<i>{text}</i>"


@server.resource("runbook://checkout/disk-full", name="Disk full runbook", mime_type="text/markdown",
                 description="What to do when a checkout node's disk fills up.")
def disk_full() -> str:
    return "# Disk full\n1. Run `df -h`.\n2. Rotate /var/log/checkout."


@server.resource("image://logo.png", name="Logo", mime_type="image/png")
def logo() -> bytes:
    return PNG


def _recording_app(app, token: str | None, record: str | None):
    """Wrap the Starlette app: check the bearer token and record what arrives."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        chunks: list[bytes] = []

        async def recv():
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if record and not message.get("more_body"):
                    with open(record, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps({"method": scope["method"], "path": scope["path"],
                                             "headers": headers,
                                             "body": b"".join(chunks).decode("utf-8", "replace")}) + "\n")
            return message

        if token and headers.get("authorization") != f"Bearer {token}":
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"error": "unauthorized"}'})
            return None
        return await app(scope, recv, send)

    return wrapped


def main(argv: list[str]) -> None:
    if not argv or argv[0] == "stdio":
        server.run()
        return
    import uvicorn

    port = int(argv[1])
    token = argv[argv.index("--token") + 1] if "--token" in argv else None
    record = argv[argv.index("--record") + 1] if "--record" in argv else None
    app = server.sse_app() if "--sse" in argv else server.streamable_http_app()
    uvicorn.run(_recording_app(app, token, record), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
