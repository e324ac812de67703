"""The HTTP types the rest of TFTSR reads: responses, headers and the errors a send can
raise. Modules outside :mod:`tftsr.egress` name these, never ``httpx`` itself, so every
import of the HTTP library stays inside the egress module; nothing here builds a client or sends
a byte (clients come from :mod:`tftsr.egress.clients`, requests from
:mod:`tftsr.egress.send`)."""

from __future__ import annotations

from httpx import (
    BaseTransport,
    ConnectError,
    ConnectTimeout,
    Headers,
    HTTPError,
    Response,
    StreamError,
    TimeoutException,
    TransportError,
)

__all__ = ["BaseTransport", "ConnectError", "ConnectTimeout", "Headers", "HTTPError",
           "Response", "StreamError", "TimeoutException", "TransportError"]
