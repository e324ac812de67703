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


def new_sealed_async_client(*, seal, read_timeout: float, connect_timeout: float,
                            headers: dict[str, str] | None = None):
    """An ``httpx2.AsyncClient`` (the client type the MCP SDK's HTTP transports take) that
    passes every request to ``seal(OutboundRequest)`` before it is sent.

    ``seal`` is :func:`tftsr.egress.send.sealer`: it runs the PII gate over every text
    field of the request and writes its audit entry. The request that goes out is built
    from the sealed bytes; a request that was not sealed is refused.
    """
    import httpx2

    from tftsr.egress.gate import EgressRefused
    from tftsr.egress.transport import OutboundRequest

    class SealingTransport(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self._inner = httpx2.AsyncHTTPTransport(trust_env=False)

        async def handle_async_request(self, request):
            body = await request.aread()
            outbound = OutboundRequest(request.method, str(request.url), dict(request.headers),
                                       body or None)
            seal(outbound)
            if not outbound.sealed:
                raise EgressRefused("A request to an MCP server did not pass the PII gate, so it "
                                    "was not sent.")
            headers = [(k, v) for k, v in request.headers.multi_items()
                       if k.lower() != "content-length"]
            sealed = httpx2.Request(outbound.method, outbound.url, headers=headers,
                                    content=outbound.body or b"", extensions=request.extensions)
            return await self._inner.handle_async_request(sealed)

        async def aclose(self) -> None:
            await self._inner.aclose()

    return httpx2.AsyncClient(timeout=httpx2.Timeout(read_timeout, connect=connect_timeout),
                              headers=headers, transport=SealingTransport(),
                              follow_redirects=False, trust_env=False)
