"""MCP servers: the team's own tools and resources, offered to the triage assistant.

A thin layer over the official ``mcp`` SDK's client:

* :mod:`tftsr.mcp.store` — servers, their discovered tools and resources (``mcp_servers``,
  ``mcp_tools``, ``mcp_resources``); secrets encrypted, never returned.
* :mod:`tftsr.mcp.client` — sessions held open on one event-loop thread per app, with
  synchronous wrappers, timeouts, cancellation and clear errors.
* :mod:`tftsr.mcp.discovery` — list a server's tools and resources, on demand and at start.
* :mod:`tftsr.mcp.tools` — every enabled server's tools as AI tools.
* :mod:`tftsr.mcp.commands` — the commands behind Settings → MCP servers.
"""
