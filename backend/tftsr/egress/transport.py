"""Sending: the one function that puts a request on the wire.

:func:`open_response` sends a :class:`OutboundRequest` that the gate has sealed and
refuses any other; the caller has written its audit entry (with the SHA-256 of the exact
body) before calling it. Redirects are never followed, so neither the body nor a
credential header can be carried to a second host.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from tftsr.egress.clients import new_client
from tftsr.egress.gate import EgressRefused


@dataclass
class OutboundRequest:
    """An HTTP request ready to go. ``body`` is the exact byte string that is sent.

    ``sealed`` is set by :meth:`tftsr.egress.gate.Gate.seal` once every text field was
    checked; ``redacted`` counts, by type, what that last check removed.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None
    stream: bool = True
    sealed: bool = False
    redacted: dict[str, int] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return httpx.URL(self.url).netloc.decode("ascii", "replace")

    @property
    def path(self) -> str:
        return httpx.URL(self.url).path


def open_response(prepared: OutboundRequest, *, read_timeout: float, connect_timeout: float,
                  transport: httpx.BaseTransport | None = None) -> tuple[httpx.Client, httpx.Response]:
    """Send ``prepared``; return the client and the open (streaming) response.

    Raises :class:`EgressRefused` for a request the gate has not sealed, and httpx's
    transport errors as they are (the caller words them for people).
    """
    if not prepared.sealed:
        raise EgressRefused("A request tried to leave TFTSR without passing the PII gate, so it "
                            "was not sent.")
    client = new_client(read_timeout=read_timeout, connect_timeout=connect_timeout,
                        transport=transport)
    try:
        request = client.build_request(prepared.method, prepared.url, headers=prepared.headers,
                                       content=prepared.body)
        return client, client.send(request, stream=True)
    except BaseException:
        client.close()
        raise
