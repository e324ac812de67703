"""The only place in TFTSR where HTTP clients are made.

Every outbound request is sent by a client built here, so the rules for leaving the
machine hold everywhere: no proxy or certificate settings picked up from the
environment, no automatic redirects (a redirect could carry a credential to another
host), and explicit timeouts. ``tests/unit/test_egress_boundary.py`` fails when any
other module constructs an ``httpx`` client or calls ``httpx.get``/``post``/….

Callers do not send with these clients directly: :mod:`tftsr.egress.gate` redacts and
audits a request first. The MCP client receives an ``AsyncClient`` from here for its
streamable HTTP transport.
"""

from __future__ import annotations

import httpx

DEFAULT_CONNECT_TIMEOUT = 10.0


def _timeout(read: float | httpx.Timeout | None, connect: float | None) -> httpx.Timeout:
    if isinstance(read, httpx.Timeout):
        return read
    return httpx.Timeout(read if read is not None else 30.0,
                         connect=connect if connect is not None else DEFAULT_CONNECT_TIMEOUT)


def new_client(*, read_timeout: float | httpx.Timeout | None = None,
               connect_timeout: float | None = None,
               transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A synchronous client for one request (or one exchange) to one destination."""
    return httpx.Client(timeout=_timeout(read_timeout, connect_timeout), transport=transport,
                        follow_redirects=False, trust_env=False)


def new_async_client(*, read_timeout: float | httpx.Timeout | None = None,
                     connect_timeout: float | None = None,
                     headers: dict[str, str] | None = None,
                     auth: httpx.Auth | None = None,
                     transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An asynchronous client (the MCP SDK's streamable HTTP transport takes one)."""
    return httpx.AsyncClient(timeout=_timeout(read_timeout, connect_timeout), headers=headers,
                             auth=auth, transport=transport, follow_redirects=False,
                             trust_env=False)
