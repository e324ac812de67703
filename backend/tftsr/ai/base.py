"""What every provider module shares: typed requests and results, errors a person can
act on, the HTTP engine (timeouts, retries honouring Retry-After, cancellation) and
the SSE / NDJSON readers.

A provider module only knows its wire format. It turns a :class:`ChatRequest` into a
:class:`PreparedRequest` (method, URL, headers and the exact body bytes) and turns the
open HTTP response into :class:`StreamEvent` objects. Everything about *sending* lives
here, so the audit hook (:attr:`SendHooks.before_send`) sees the very bytes that go out.
"""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tftsr.egress import http
from tftsr.egress.gate import Gate
from tftsr.egress.send import Sent
from tftsr.egress.transport import OutboundRequest as PreparedRequest
from tftsr.egress.transport import open_response
from tftsr.errors import TftsrError

log = logging.getLogger(__name__)


# -- configuration --------------------------------------------------------------------
@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for the provider. ``chat`` and ``tools`` bound the wait for the
    first byte and between bytes of a reply (a long reply that keeps streaming is fine)."""

    chat: float = 60.0
    tools: float = 180.0
    connect: float = 10.0
    admin: float = 15.0  # model lists, reachability checks, deletes


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for 429 and 5xx answers that arrive before any reply data."""

    attempts: int = 3              # total tries, first one included
    base_delay: float = 1.0        # 1 s, 2 s, 4 s … when no Retry-After is given
    max_delay: float = 30.0        # cap on any single wait, Retry-After included
    retry_statuses: tuple[int, ...] = (429, 500, 502, 503, 504, 529)


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


@dataclass
class ProviderConfig:
    """A provider as configured in Settings (the API key already decrypted)."""

    kind: str
    base_url: str
    model: str
    api_key: str | None = None
    name: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"ProviderConfig(kind={self.kind!r}, base_url={self.base_url!r}, model={self.model!r})"


# -- conversation model -----------------------------------------------------------------
@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class ToolCall:
    """A call the model asked for. ``id`` is the provider's id (made up when it has none)."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Message:
    """One turn. ``role`` is system/user/assistant/tool; an assistant turn may carry
    ``tool_calls``; a tool turn answers ``tool_call_id`` (named ``name``)."""

    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


@dataclass
class ChatRequest:
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    session_id: str | None = None  # for gateways that keep the history themselves

    @property
    def system_text(self) -> str:
        return "\n\n".join(m.content for m in self.messages if m.role == "system" and m.content)

    @property
    def dialogue(self) -> list[Message]:
        return [m for m in self.messages if m.role != "system"]


@dataclass
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def total(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass
class ChatResult:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    stopped: bool = False


@dataclass
class StreamEvent:
    """``kind`` is "text" (``text`` holds the delta), "tool_call" (``tool_call``) or
    "done" (``result`` holds the whole reply)."""

    kind: str
    text: str = ""
    tool_call: ToolCall | None = None
    result: ChatResult | None = None


@dataclass
class ModelInfo:
    id: str
    label: str = ""
    details: dict[str, Any] | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label or self.id, "details": self.details}


# -- errors -----------------------------------------------------------------------------
class ProviderError(TftsrError):
    """A provider failed in a way the user should hear about in plain words."""

    code = "ai_server_error"
    http_status = 502

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after
        self.http_status = {
            "ai_auth": 401, "ai_unreachable": 503, "ai_timeout": 504, "ai_rate_limited": 429,
            "ai_bad_request": 400, "ai_bad_response": 502, "ai_server_error": 502,
            "ai_cancelled": 409,
        }.get(self.code, 502)


class Cancelled(ProviderError):
    code = "ai_cancelled"

    def __init__(self):
        super().__init__("Stopped.", code="ai_cancelled")


# -- cancellation -----------------------------------------------------------------------
class Cancellation:
    """Stop a request from another thread, even while it is blocked reading.

    :meth:`cancel` sets a flag, shuts the socket down (which wakes a blocked ``recv``
    at once) and closes the response. Waits between retries also end immediately.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._response: http.Response | None = None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def attach(self, response: http.Response | None) -> None:
        with self._lock:
            self._response = response
        if response is not None and self.cancelled:
            self._close(response)

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            response = self._response
        if response is not None:
            self._close(response)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile."""
        return self._event.wait(max(0.0, seconds))

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled()

    @staticmethod
    def _close(response: http.Response) -> None:
        stream = response.extensions.get("network_stream")
        sock = None
        if stream is not None:
            try:
                sock = stream.get_extra_info("socket")
            except Exception:  # noqa: BLE001 - best effort; close() follows
                sock = None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            response.close()
        except Exception:  # noqa: BLE001 - closing a half-read response may complain
            pass


# -- the sending engine -----------------------------------------------------------------
@dataclass
class SendHooks:
    """Callbacks around each HTTP attempt.

    ``before_send(prepared, attempt)`` runs before every attempt (the audit entry is
    written there); ``on_retry(attempt, wait_seconds, reason)`` announces a wait.
    """

    before_send: Callable[[PreparedRequest, int], None] | None = None
    on_retry: Callable[[int, float, str], None] | None = None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def _error_detail(body: bytes) -> str:
    """The provider's own words from an error body, short."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    found = None
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            found = err.get("message") or err.get("detail") or err.get("msg")
        elif isinstance(err, str):
            found = err
        if found is None:
            found = data.get("message") or data.get("detail")
    if isinstance(found, (dict, list)):
        found = json.dumps(found)[:300]
    return str(found or text)[:300]


class ProviderBase:
    """Shared behaviour of the wire-format modules. Subclasses set the class fields and
    implement :meth:`prepare_chat` and :meth:`read_stream` (and optionally models)."""

    kind = ""
    label = ""
    default_base_url = ""
    needs_api_key = True
    supports_list_models = True
    tools_by_default = True  # offer tools when support has not been tested yet
    settings_schema: tuple[dict, ...] = ()

    def __init__(self, config: ProviderConfig, *, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 retry: RetryPolicy = DEFAULT_RETRY, transport: http.BaseTransport | None = None,
                 gate: Gate | None = None):
        self.config = config
        self.timeouts = timeouts
        self.retry = retry
        self._transport = transport
        # Every request is sealed by this gate before it leaves (see tftsr.egress.gate);
        # without an app the gate still redacts, with plain placeholders.
        self.gate = gate or Gate(None)

    # -- to implement ------------------------------------------------------------------
    def prepare_chat(self, request: ChatRequest) -> PreparedRequest:
        raise NotImplementedError

    def read_stream(self, response: http.Response, cancel: Cancellation) -> Iterator[StreamEvent]:
        raise NotImplementedError

    def prepare_list_models(self) -> PreparedRequest | None:
        return None

    def parse_models(self, data: Any) -> list[ModelInfo]:
        return []

    # -- helpers for subclasses --------------------------------------------------------
    @property
    def display_name(self) -> str:
        return self.label

    def url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    @staticmethod
    def json_body(payload: dict) -> bytes:
        """Serialise a request body once; the same bytes are hashed, audited and sent."""
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def setting(self, key: str, default: Any = None) -> Any:
        value = self.config.settings.get(key)
        return default if value in (None, "") else value

    def temperature(self, request: ChatRequest) -> float | None:
        """The request's temperature, else the provider's setting, else None (API default)."""
        value = request.temperature if request.temperature is not None else self.setting("temperature")
        return None if value is None else float(value)

    def max_tokens(self, request: ChatRequest, default: int | None = None) -> int | None:
        """The request's reply-length cap, else the provider's setting, else `default`."""
        value = request.max_tokens or self.setting("max_tokens", default)
        return int(value) if value else None

    # -- sending -----------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """A service's own words, without the API key or anything the detector finds."""
        return self.gate.scrub(text, (self.config.api_key,))

    def open(self, prepared: PreparedRequest, *, read_timeout: float, cancel: Cancellation,
             hooks: SendHooks | None = None) -> Sent:
        """Send with retries; return the client and an open response with a 2xx status.

        Raises ProviderError (or Cancelled) with a message for people.
        """
        hooks = hooks or SendHooks()
        if not prepared.sealed:
            self.gate.seal(prepared)
        attempt = 0
        while True:
            attempt += 1
            cancel.check()
            if hooks.before_send:
                hooks.before_send(prepared, attempt)
            try:
                client, response = open_response(prepared, read_timeout=read_timeout,
                                                 connect_timeout=self.timeouts.connect,
                                                 transport=self._transport)
            except http.TimeoutException as exc:
                if cancel.cancelled:
                    raise Cancelled() from None
                raise self.timeout_error(read_timeout, exc) from None
            except http.TransportError as exc:
                if cancel.cancelled:
                    raise Cancelled() from None
                raise self.unreachable_error(exc) from None
            cancel.attach(response)
            if response.status_code < 300:
                return client, response
            try:
                body = response.read()
            except http.HTTPError:
                body = b""
            finally:
                response.close()
                client.close()
                cancel.attach(None)
            error = self.status_error(response.status_code, body, response.headers)
            if response.status_code in self.retry.retry_statuses and attempt < self.retry.attempts:
                wait = error.retry_after
                if wait is None:
                    wait = self.retry.base_delay * (2 ** (attempt - 1))
                wait = min(wait, self.retry.max_delay)
                if hooks.on_retry:
                    hooks.on_retry(attempt, wait, error.message)
                log.info("%s answered %s; retrying in %.1f s", self.label, response.status_code, wait)
                if cancel.wait(wait):
                    raise Cancelled()
                continue
            raise error

    def stream_chat(self, request: ChatRequest, *, cancel: Cancellation | None = None,
                    hooks: SendHooks | None = None) -> Iterator[StreamEvent]:
        """Send ``request`` and yield text deltas, tool calls and finally "done"."""
        cancel = cancel or Cancellation()
        prepared = self.prepare_chat(request)
        read_timeout = self.timeouts.tools if request.tools else self.timeouts.chat
        client, response = self.open(prepared, read_timeout=read_timeout, cancel=cancel, hooks=hooks)
        try:
            yield from self.read_stream(response, cancel)
        except http.TimeoutException as exc:
            if cancel.cancelled:
                raise Cancelled() from None
            raise self.timeout_error(read_timeout, exc) from None
        except (http.TransportError, http.StreamError) as exc:
            if cancel.cancelled:
                raise Cancelled() from None
            raise ProviderError(
                f"The connection to {self.display_name} was cut off in the middle of the reply "
                f"({type(exc).__name__}). Try again.", code="ai_bad_response") from None
        finally:
            cancel.attach(None)
            response.close()
            client.close()

    def chat(self, request: ChatRequest, *, cancel: Cancellation | None = None,
             hooks: SendHooks | None = None) -> ChatResult:
        """The whole reply at once (used by connection tests)."""
        result = None
        for event in self.stream_chat(request, cancel=cancel, hooks=hooks):
            if event.kind == "done":
                result = event.result
        if result is None:
            raise ProviderError(f"{self.display_name} ended the reply without finishing it.",
                                code="ai_bad_response")
        return result

    def request_json(self, prepared: PreparedRequest, *, hooks: SendHooks | None = None) -> Any:
        """A small non-streaming call (model lists and the like)."""
        client, response = self.open(prepared, read_timeout=self.timeouts.admin,
                                     cancel=Cancellation(), hooks=hooks)
        try:
            body = response.read()
        except http.TimeoutException as exc:
            raise self.timeout_error(self.timeouts.admin, exc) from None
        except http.HTTPError:
            raise ProviderError(f"The connection to {self.display_name} was cut off.",
                                code="ai_bad_response") from None
        finally:
            response.close()
            client.close()
        try:
            return json.loads(body) if body.strip() else {}
        except ValueError:
            raise ProviderError(f"{self.display_name} answered with something that is not JSON.",
                                code="ai_bad_response") from None

    def list_models(self) -> list[ModelInfo]:
        prepared = self.prepare_list_models()
        if prepared is None:
            return []
        return self.parse_models(self.request_json(prepared))

    # -- error wording -------------------------------------------------------------------
    def unreachable_error(self, exc: Exception) -> ProviderError:
        where = host_of(self.config.base_url)
        return ProviderError(
            f"{self.display_name} is not reachable at {where} ({self.scrub(_transport_reason(exc))}). "
            "Check the address and that the service is running.", code="ai_unreachable")

    def timeout_error(self, seconds: float, exc: Exception) -> ProviderError:
        if isinstance(exc, http.ConnectTimeout):
            return ProviderError(
                f"{self.display_name} at {host_of(self.config.base_url)} did not accept the "
                f"connection within {self.timeouts.connect:g} seconds.", code="ai_timeout")
        return ProviderError(f"{self.display_name} did not answer within {seconds:g} seconds.",
                             code="ai_timeout")

    def status_error(self, status: int, body: bytes, headers: http.Headers) -> ProviderError:
        detail = self.scrub(_error_detail(body))
        said = f" It said: {detail}" if detail else ""
        name = self.display_name
        if status == 401:
            return ProviderError(f"The API key was rejected by {name}.{said}", code="ai_auth",
                                 status=status)
        if status == 403:
            return ProviderError(
                f"{name} refused access with this API key (HTTP 403): the key may lack "
                f"permission for this model or endpoint.{said}", code="ai_auth", status=status)
        if status == 404:
            return ProviderError(
                f"{name} does not know the model or endpoint (HTTP 404). Check the model name "
                f"'{self.config.model}' and the base URL.{said}", code="ai_bad_request", status=status)
        if status == 429:
            retry_after = parse_retry_after(headers.get("retry-after"))
            wait = f" (it asked to wait {retry_after:.0f} s)" if retry_after is not None else ""
            return ProviderError(
                f"{name} is limiting requests{wait}. Wait a moment and try again.{said}",
                code="ai_rate_limited", status=status, retry_after=retry_after)
        if status >= 500:
            retry_after = parse_retry_after(headers.get("retry-after"))
            return ProviderError(
                f"{name} had a server error (HTTP {status}). Try again later.{said}",
                code="ai_server_error", status=status, retry_after=retry_after)
        return ProviderError(f"{name} refused the request (HTTP {status}).{said}",
                             code="ai_bad_request", status=status)


def _transport_reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename" in lowered or "getaddrinfo" in lowered:
        return "the host name could not be resolved"
    if "certificate" in lowered or "ssl" in lowered:
        return "the TLS certificate was not accepted"
    return text[:120]


# -- stream readers ---------------------------------------------------------------------
def iter_sse(response: http.Response, cancel: Cancellation) -> Iterator[tuple[str, str]]:
    """Server-Sent Events as (event name, data) pairs; multi-line data joined by \\n."""
    event, data = "message", []
    for line in response.iter_lines():
        if cancel.cancelled:
            raise Cancelled()
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if cancel.cancelled:
        raise Cancelled()
    if data:
        yield event, "\n".join(data)


def iter_ndjson(response: http.Response, cancel: Cancellation, label: str) -> Iterator[dict]:
    """Newline-delimited JSON objects (Ollama)."""
    for line in response.iter_lines():
        if cancel.cancelled:
            raise Cancelled()
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise ProviderError(f"{label} sent a line that is not JSON in its reply.",
                                code="ai_bad_response") from None
        if isinstance(item, dict):
            yield item
    if cancel.cancelled:
        raise Cancelled()


def load_json_event(data: str, label: str) -> dict:
    try:
        item = json.loads(data)
    except ValueError:
        raise ProviderError(f"{label} sent an event that is not JSON.", code="ai_bad_response") from None
    if not isinstance(item, dict):
        raise ProviderError(f"{label} sent an unexpected event.", code="ai_bad_response")
    return item


def parse_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments arrive as an object or as JSON text; always return a dict."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            value = json.loads(raw)
        except ValueError:
            return {"_unparsed": raw}
        return value if isinstance(value, dict) else {"value": value}
    return {}


def truncated_stream_error(label: str) -> ProviderError:
    return ProviderError(
        f"The connection to {label} was cut off in the middle of the reply. Try again.",
        code="ai_bad_response")
