"""The MCP client: a thin layer over the official SDK (``mcp.ClientSession`` over
``stdio_client``, ``streamable_http_client`` or the legacy ``sse_client``).

Sessions live on one asyncio event loop running in a thread the app owns
(``app.extras["mcp.runtime"]``). A server's session is opened on first use, kept while
it is used (closed after :data:`IDLE_SECONDS` without calls, when the server's settings
change, or when it is disabled or deleted) and re-opened after the server went away.
Commands reach it through the synchronous functions at the end of this module.

* stdio servers get a minimal environment: what the SDK passes on (HOME, LOGNAME, PATH,
  SHELL, TERM, USER), PATH as the user's login shell sets it, then the server's own env.
  Nothing of TFTSR's (the database key, other secrets) is inherited. A bare command such
  as ``npx`` is looked up on that login PATH, so an app started from a desktop launcher
  finds what the user's terminal finds. Standard error goes to a private temporary file
  whose last lines explain a server that fails to start or dies mid-call.
* HTTP servers are reached with a client from :mod:`tftsr.egress.clients`; their headers
  and authentication come from the server's settings.
* Every call has a timeout (the server's ``timeout_seconds``, 30 s by default) and can be
  cancelled; a server that hangs, errors or crashes gives a clear error and the app, the
  loop and the other servers carry on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from tftsr import __version__
from tftsr.errors import InvalidArgument, TftsrError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 60.0  # the cap on starting a server and the MCP handshake
DISCOVERY_TIMEOUT = 60.0  # the cap on a whole discovery
IDLE_SECONDS = 300.0
LOGIN_SHELL_TIMEOUT = 5.0
STDERR_TAIL = 1_500
STDERR_LINES = 5
STDERR_KEEP = 1_000_000
MAX_TEXT = 1_000_000  # characters of one result kept for the page
MAX_BLOB = 1_000_000  # bytes of one binary resource returned (base64)
PATH_MARK_START, PATH_MARK_END = "__TFTSR_PATH_START__", "__TFTSR_PATH_END__"
WELL_KNOWN_BIN = ("/usr/local/bin", "/opt/homebrew/bin", "~/.local/bin", "~/.cargo/bin", "~/.volta/bin",
                  "~/.bun/bin", "/snap/bin")
INSTALL_HINTS = {
    "npx": "npx comes with Node.js (https://nodejs.org).",
    "node": "node comes with Node.js (https://nodejs.org).",
    "uvx": "uvx comes with uv (https://docs.astral.sh/uv/).",
    "uv": "uv is at https://docs.astral.sh/uv/.",
    "docker": "Install Docker, or Podman with its docker command.",
}


# -- errors -----------------------------------------------------------------------------------
class McpError(TftsrError):
    code = "mcp_error"
    http_status = 502
    status = "error"  # the discovery status this failure means


class McpUnreachable(McpError):
    code = "mcp_unreachable"
    status = "unreachable"


class McpServerError(McpError):
    code = "mcp_server_error"


class McpConnectionLost(McpError):
    code = "mcp_connection_lost"


class McpTimeout(McpError):
    code = "mcp_timeout"
    http_status = 504


class McpCancelled(McpError):
    code = "mcp_cancelled"
    http_status = 409


class CommandNotFound(InvalidArgument):
    code = "mcp_command_not_found"


# -- the login PATH and the command --------------------------------------------------------------
_PATH_LOCK = threading.Lock()


def _clean_env() -> dict[str, str]:
    """This process's environment without anything of TFTSR's own (the database key)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TFTSR_")}


def _merge_paths(*paths: str) -> str:
    seen: list[str] = []
    for path in paths:
        for entry in (path or "").split(os.pathsep):
            if entry and entry not in seen:
                seen.append(entry)
    return os.pathsep.join(seen)


def _ask_login_shell() -> str | None:
    shell = os.environ.get("SHELL")
    if sys.platform == "win32" or not shell or not Path(shell).is_file():
        return None
    script = f'printf "%s%s%s" "{PATH_MARK_START}" "$PATH" "{PATH_MARK_END}"'
    try:
        proc = subprocess.run([shell, "-lc", script], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=LOGIN_SHELL_TIMEOUT, env=_clean_env(), check=False,
                              start_new_session=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("could not ask the login shell %s for PATH: %s", shell, exc)
        return None
    out = proc.stdout.decode("utf-8", "replace")
    start, end = out.rfind(PATH_MARK_START), out.rfind(PATH_MARK_END)
    if start < 0 or end < start:
        log.info("the login shell %s did not report PATH (exit %s)", shell, proc.returncode)
        return None
    return out[start + len(PATH_MARK_START):end].strip() or None


def login_path(app) -> str:
    """Where commands are looked up: this process's PATH, then what the user's login shell
    adds to it (asked once, then kept on the app: a desktop launcher starts the app with a
    bare PATH), then the usual user tool folders that exist."""
    cached = app.extras.get("mcp.login_path")
    if cached is not None:
        return cached
    with _PATH_LOCK:
        cached = app.extras.get("mcp.login_path")
        if cached is None:
            extra = [str(Path(p).expanduser()) for p in WELL_KNOWN_BIN if Path(p).expanduser().is_dir()]
            cached = _merge_paths(os.environ.get("PATH", os.defpath), _ask_login_shell() or "",
                                  os.pathsep.join(extra))
            app.extras["mcp.login_path"] = cached
    return cached


def resolve_command(app, command: str, cwd: str | None = None) -> str:
    """The executable a stdio server's command names, or CommandNotFound saying why."""
    if os.sep in command or (os.altsep and os.altsep in command):
        path = Path(command).expanduser()
        if not path.is_absolute():
            path = Path(cwd or os.getcwd()) / path
        if not path.is_file():
            raise CommandNotFound(f"The command {command} does not exist.")
        if not os.access(path, os.X_OK):
            raise CommandNotFound(f"The command {command} is not executable (chmod +x it).")
        return str(path)
    found = shutil.which(command, path=login_path(app))
    if found is None:
        hint = INSTALL_HINTS.get(command.lower().removesuffix(".exe"), "")
        raise CommandNotFound(
            f"The command '{command}' was not found on your PATH (as your login shell sets it). "
            f"Install it, or enter its full path (for example /usr/local/bin/{command}). {hint}".strip())
    return found


# -- what a session needs ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ServerSpec:
    server_id: str
    name: str
    transport: str  # stdio | http | sse
    timeout: float
    command: str | None = None  # resolved executable
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def fingerprint(self) -> str:
        material = json.dumps([self.transport, self.command, self.args, self.env, self.cwd, self.url,
                               self.headers], ensure_ascii=False)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def scrub(self, text: str) -> str:
        """Error text without any of this server's secrets in it."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "[secret]")
        return text


def build_spec(app, settings: dict) -> ServerSpec:
    """From :func:`tftsr.mcp.store.connection_settings` to a spec (the command resolved)."""
    from tftsr.logs import add_secret

    for secret in settings.get("secrets") or []:
        add_secret(secret)
    if settings["transport"] == "stdio":
        command = resolve_command(app, settings["command"], settings.get("cwd"))
        env = {"PATH": login_path(app)}
        for name in ("LANG", "LC_ALL", "LC_CTYPE", "TMPDIR"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        env.update(settings.get("env") or {})
        return ServerSpec(settings["server_id"], settings["name"], "stdio", settings["timeout"],
                          command=command, args=tuple(settings.get("args") or ()),
                          env=tuple(sorted(env.items())), cwd=settings.get("cwd"),
                          secrets=tuple(settings.get("secrets") or ()))
    return ServerSpec(settings["server_id"], settings["name"], settings["transport"], settings["timeout"],
                      url=settings["url"], headers=tuple(sorted((settings.get("headers") or {}).items())),
                      secrets=tuple(settings.get("secrets") or ()))


# -- describing failures -------------------------------------------------------------------------------
def _root(exc: BaseException) -> BaseException:
    """The interesting exception inside the SDK's task-group wrappers."""
    seen = 0
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions and seen < 10:
        inner = [e for e in exc.exceptions if not isinstance(e, (asyncio.CancelledError,
                                                                   anyio.get_cancelled_exc_class()))]
        exc = (inner or list(exc.exceptions))[0]
        seen += 1
    return exc


def _class_names(exc: BaseException) -> set[str]:
    return {c.__name__ for c in type(exc).__mro__}


def _mcp_error(exc: BaseException):
    from mcp.shared.exceptions import MCPError

    return exc if isinstance(exc, MCPError) else None


def _short(text: str, limit: int = 600) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


HTTP_ADVICE = {401: "check its token or API key", 403: "check its token's permissions",
               404: "check the URL (streamable HTTP endpoints usually end in /mcp)",
               405: "check the URL and transport (an older server may need the SSE transport)"}


def describe_failure(spec: ServerSpec, exc: BaseException, *, stderr: str = "",
                     during: str = "connecting", http_status: tuple[int, str] | None = None) -> McpError:
    """Turn whatever the SDK raised into one of our errors with the server's own words."""
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    exc = _root(exc)
    who = f"The MCP server '{spec.name}'"
    tail = f" Its last output: {_short(spec.scrub(stderr), STDERR_TAIL)}" if stderr.strip() else ""
    names = _class_names(exc)
    mcp = _mcp_error(exc)
    if isinstance(exc, McpError):
        return exc
    if mcp is not None:
        if mcp.code == CONNECTION_CLOSED:
            if during == "connecting":
                return McpUnreachable(spec.scrub(f"{who} closed the connection before it was ready.{tail}"))
            return McpConnectionLost(spec.scrub(f"{who} stopped (its connection closed) while {during}.{tail}"))
        if mcp.code == REQUEST_TIMEOUT:
            return McpTimeout(f"{who} did not answer within {spec.timeout:g} s while {during}. You can "
                              "raise its timeout in Settings → MCP servers.")
        if http_status is not None:
            code, reason = http_status
            advice = HTTP_ADVICE.get(code)
            return McpServerError(spec.scrub(f"{who} answered HTTP {code} {reason} while {during}"
                                             f"{': ' + advice if advice else ''}."))
        return McpServerError(spec.scrub(f"{who} answered with an error while {during}: "
                                         f"{_short(mcp.message)}"))
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) or "TimeoutException" in names:
        return McpUnreachable(f"{who} did not respond within the time allowed while {during}.{tail}")
    if "HTTPStatusError" in names:
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        return McpServerError(spec.scrub(f"{who} answered HTTP {status} while {during}."))
    if "ConnectError" in names or "NetworkError" in names or "TransportError" in names:
        return McpUnreachable(spec.scrub(f"{who} could not be reached at {spec.url}: {_short(exc) or 'no answer'}."))
    if isinstance(exc, FileNotFoundError) and spec.transport == "stdio":
        return McpUnreachable(f"{who} could not be started: {spec.command} was not found.")
    if isinstance(exc, PermissionError) and spec.transport == "stdio":
        return McpUnreachable(f"{who} could not be started: permission denied for {spec.command}.")
    if isinstance(exc, OSError):
        return McpUnreachable(spec.scrub(f"{who} could not be started or reached: {exc.strerror or exc}.{tail}"))
    if isinstance(exc, (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError,
                        ConnectionError)):
        return McpConnectionLost(f"{who} closed the connection while {during}.{tail}")
    text = _short(exc) or type(exc).__name__
    return McpServerError(spec.scrub(f"{who} failed while {during}: {text}.{tail}"))


# -- one open session --------------------------------------------------------------------------------------
class _StderrFile:
    """A private temporary file for a stdio server's standard error: the child appends,
    we read the tail through our own handle (separate offsets)."""

    def __init__(self) -> None:
        fd, path = tempfile.mkstemp(prefix="tftsr-mcp-", suffix=".log")
        os.close(fd)
        self.writer = open(path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.reader = open(path, "r+b")  # noqa: SIM115
        self.path = path
        with contextlib.suppress(OSError):
            os.unlink(path)  # stays readable through the open handles

    def tail(self) -> str:
        try:
            size = os.fstat(self.reader.fileno()).st_size
            self.reader.seek(max(0, size - 4000))
            lines = [ln for ln in self.reader.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            return "\n".join(lines[-STDERR_LINES:])[-STDERR_TAIL:]
        except (OSError, ValueError):
            return ""

    def trim(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if os.fstat(self.reader.fileno()).st_size > STDERR_KEEP:
                os.ftruncate(self.reader.fileno(), 0)

    def close(self) -> None:
        for handle in (self.writer, self.reader):
            with contextlib.suppress(OSError):
                handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


class _Connection:
    def __init__(self, spec: ServerSpec, app=None) -> None:
        self.spec = spec
        self.app = app
        self.session = None
        self.server_info: dict = {}
        self.capabilities = None
        self.dead = False
        self.active = 0
        self.last_used = time.monotonic()
        self.stderr = _StderrFile() if spec.transport == "stdio" else None
        self.http_status: tuple[int, str] | None = None  # the last HTTP error answer
        self.finished = asyncio.Event()
        self._stop: anyio.Event | None = None
        self._ready: asyncio.Future | None = None
        self._task: asyncio.Task | None = None

    def stderr_tail(self) -> str:
        return self.stderr.tail() if self.stderr else ""

    def _http_client(self, headers, read_timeout: float, connect_timeout: float):
        """An HTTP client whose every request passes the egress gate (each string of the
        JSON-RPC body checked, the exact bytes audited) before it leaves."""
        from tftsr.egress.clients import new_sealed_async_client
        from tftsr.egress.send import sealer

        seal = sealer(self.app, purpose="mcp", entity_type="mcp_server",
                      entity_id=self.spec.server_id, details={"server": self.spec.name})
        client = new_sealed_async_client(seal=seal, read_timeout=read_timeout,
                                         connect_timeout=connect_timeout, headers=headers)

        async def remember_errors(response) -> None:
            if response.status_code >= 400:
                self.http_status = (response.status_code, response.reason_phrase or "")

        client.event_hooks = {"request": [], "response": [remember_errors]}
        return client

    def failure(self, exc: BaseException, during: str) -> McpError:
        return describe_failure(self.spec, exc, stderr=self.stderr_tail(), during=during,
                                http_status=self.http_status)

    # -- the task that holds the transport and session open
    def _transport(self):
        spec = self.spec
        if spec.transport == "stdio":
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            params = StdioServerParameters(command=spec.command, args=list(spec.args), env=dict(spec.env),
                                           cwd=spec.cwd, encoding_error_handler="replace")
            return stdio_client(params, errlog=self.stderr.writer)
        read_timeout = max(300.0, spec.timeout)
        connect_timeout = min(30.0, CONNECT_TIMEOUT)
        if spec.transport == "sse":
            from mcp.client.sse import sse_client

            def factory(headers=None, timeout=None, auth=None):  # the SDK's client factory shape
                return self._http_client(headers, read_timeout, connect_timeout)

            return sse_client(spec.url, headers=dict(spec.headers), timeout=connect_timeout,
                              sse_read_timeout=read_timeout, httpx_client_factory=factory)

        @contextlib.asynccontextmanager
        async def streamable():
            from mcp.client.streamable_http import streamable_http_client

            client = self._http_client(dict(spec.headers), read_timeout, connect_timeout)
            async with client:
                async with streamable_http_client(spec.url, http_client=client) as streams:
                    yield streams

        return streamable()

    async def _hold(self) -> None:
        from mcp import ClientSession
        from mcp.types import Implementation

        assert self._ready is not None and self._stop is not None
        try:
            async with contextlib.AsyncExitStack() as stack:
                streams = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(
                    streams[0], streams[1], client_info=Implementation(name="tftsr", version=__version__)))
                init = await session.initialize()
                self.session = session
                info = init.server_info
                self.server_info = {"name": info.name, "version": info.version, "title": info.title}
                self.capabilities = init.capabilities
                if not self._ready.done():
                    self._ready.set_result(True)
                while not self._stop.is_set():
                    with anyio.move_on_after(30):
                        await self._stop.wait()
                    if self.stderr:
                        self.stderr.trim()
                    if self.active == 0 and time.monotonic() - self.last_used > IDLE_SECONDS:
                        log.info("closing idle MCP session %s", self.spec.name)
                        break
        except BaseException as exc:  # noqa: BLE001 - reported to whoever waits, then the task ends
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else McpCancelled(
                    f"Connecting to the MCP server '{self.spec.name}' was cancelled."))
            if not isinstance(exc, Exception):
                raise
            log.info("MCP session %s ended: %s", self.spec.name, _root(exc))
        finally:
            self.dead = True
            self.session = None
            self.finished.set()

    async def open(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._stop = anyio.Event()
        self._task = loop.create_task(self._hold(), name=f"mcp-{self.spec.name[:20]}")
        try:
            done, _ = await asyncio.wait({self._ready}, timeout=timeout)
        except asyncio.CancelledError:
            await self.close()
            raise
        if not done:
            tail = self.stderr_tail()
            await self.close()
            extra = f" Its last output: {_short(self.spec.scrub(tail), STDERR_TAIL)}" if tail.strip() else ""
            raise McpUnreachable(f"The MCP server '{self.spec.name}' did not finish starting within "
                                 f"{timeout:g} s.{extra}")
        exc = self._ready.exception()
        if exc is not None:
            failure = self.failure(exc, "connecting")
            await self.close()
            raise failure

    async def close(self) -> None:
        self.dead = True
        if self._stop is not None:
            self._stop.set()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), 8)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, 5)
            except Exception:  # noqa: BLE001
                pass
        if self.stderr:
            self.stderr.close()

    async def run(self, what: str, fn):
        """Run ``fn(session)``; a session that ends meanwhile fails the call at once."""
        if self.dead or self.session is None:
            raise McpConnectionLost(f"The MCP server '{self.spec.name}' is not connected.")
        self.active += 1
        self.last_used = time.monotonic()
        call = asyncio.ensure_future(fn(self.session))
        ended = asyncio.ensure_future(self.finished.wait())
        try:
            done, _ = await asyncio.wait({call, ended}, return_when=asyncio.FIRST_COMPLETED)
            if call in done:
                return call.result()
            call.cancel()
            raise McpConnectionLost(self.spec.scrub(
                f"The MCP server '{self.spec.name}' stopped while {what}." + (
                    f" Its last output: {_short(self.stderr_tail(), STDERR_TAIL)}" if self.stderr_tail().strip() else "")))
        except asyncio.CancelledError:
            call.cancel()
            raise
        except McpError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the SDK raised, described
            failure = self.failure(exc, what)
            if isinstance(failure, McpConnectionLost):
                self.dead = True
                if self._stop is not None:
                    self._stop.set()
            raise failure from None
        finally:
            ended.cancel()
            self.active -= 1
            self.last_used = time.monotonic()


# -- the loop thread -------------------------------------------------------------------------------------------
class Runtime:
    """One asyncio loop in a daemon thread, and the sessions open on it."""

    def __init__(self, app=None) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._connections: dict[str, _Connection] = {}
        self._opening: dict[str, asyncio.Future] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mcp-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    # -- from any thread
    def run(self, coro, *, timeout: float, cancel=None, what: str = "working"):
        """Run ``coro`` on the loop and wait for it: at most ``timeout`` seconds, and no
        longer than ``cancel`` (an object with ``.cancelled``) stays unset."""
        if self._closed:
            coro.close()
            raise McpUnreachable("MCP servers are not available while TFTSR is shutting down.")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                return future.result(timeout=max(0.0, min(0.1 if cancel else remaining, remaining)))
            except concurrent.futures.TimeoutError:
                if cancel is not None and getattr(cancel, "cancelled", False):
                    future.cancel()
                    raise McpCancelled(f"Stopped while {what}.") from None
                if time.monotonic() >= deadline:
                    future.cancel()
                    raise McpTimeout(f"No answer within {timeout:g} s while {what}.") from None
            except concurrent.futures.CancelledError:
                raise McpCancelled(f"Stopped while {what}.") from None

    def shutdown(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        self._closed = True

        async def close_all():
            await asyncio.gather(*(c.close() for c in list(self._connections.values())),
                                 return_exceptions=True)
            self._connections.clear()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    # -- on the loop
    async def connection(self, spec: ServerSpec, *, fresh: bool = False,
                         timeout: float = CONNECT_TIMEOUT) -> _Connection:
        existing = self._connections.get(spec.server_id)
        if existing is not None and (fresh or existing.dead or existing.spec.fingerprint != spec.fingerprint):
            self._connections.pop(spec.server_id, None)
            await existing.close()
            existing = None
        if existing is not None:
            return existing
        pending = self._opening.get(spec.server_id)
        if pending is not None and not fresh:
            try:
                return await asyncio.shield(pending)
            except McpCancelled:  # whoever was opening it gave up; open it for this call
                return await self.connection(spec, timeout=timeout)
        future = asyncio.get_running_loop().create_future()
        self._opening[spec.server_id] = future
        conn = _Connection(spec, self.app)
        try:
            await conn.open(timeout)
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc if isinstance(exc, Exception) else McpCancelled("Cancelled."))
                future.exception()  # retrieved: no "never retrieved" warning
            raise
        else:
            self._connections[spec.server_id] = conn
            future.set_result(conn)
            return conn
        finally:
            if self._opening.get(spec.server_id) is future:
                self._opening.pop(spec.server_id, None)

    async def drop(self, server_id: str) -> None:
        conn = self._connections.pop(server_id, None)
        if conn is not None:
            await conn.close()


_RUNTIME_LOCK = threading.Lock()


def runtime(app) -> Runtime:
    rt = app.extras.get("mcp.runtime")
    if rt is None:
        with _RUNTIME_LOCK:
            rt = app.extras.get("mcp.runtime")
            if rt is None:
                rt = Runtime(app)
                app.extras["mcp.runtime"] = rt
                import atexit

                atexit.register(rt.shutdown, 5.0)
    return rt


def shutdown(app) -> None:
    """Close every session (stdio servers are stopped) and the loop."""
    rt = app.extras.pop("mcp.runtime", None)
    if rt is not None:
        rt.shutdown()


def close_server(app, server_id: str) -> None:
    """Close the server's session, if one is open (after its settings changed)."""
    rt = app.extras.get("mcp.runtime")
    if rt is not None and not rt._closed:
        with contextlib.suppress(McpError):
            rt.run(rt.drop(server_id), timeout=20, what="closing the session")


# -- results as plain data ---------------------------------------------------------------------------------------
def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[… cut: {len(text) - limit:,} more characters]"


def content_to_dict(item: Any) -> dict:
    kind = getattr(item, "type", None)
    if kind == "text":
        return {"type": "text", "text": _cut(item.text)}
    if kind in ("image", "audio"):
        data = getattr(item, "data", "") or ""
        return {"type": kind, "mime_type": getattr(item, "mime_type", None),
                "size": len(data) * 3 // 4}
    if kind == "resource":
        res = item.resource
        out = {"type": "resource", "uri": str(res.uri), "mime_type": getattr(res, "mime_type", None)}
        if getattr(res, "text", None) is not None:
            out["text"] = _cut(res.text)
        else:
            out["size"] = len(getattr(res, "blob", "") or "") * 3 // 4
        return out
    if kind == "resource_link":
        return {"type": "resource_link", "uri": str(item.uri), "name": getattr(item, "name", None),
                "mime_type": getattr(item, "mime_type", None)}
    return {"type": str(kind or "unknown")}


def tool_result_to_dict(result: Any) -> dict:
    structured = getattr(result, "structured_content", None)
    return {"content": [content_to_dict(c) for c in (result.content or [])],
            "structured_content": structured, "is_error": bool(result.is_error)}


def resource_result_to_dict(uri: str, result: Any) -> dict:
    contents = []
    for item in result.contents or []:
        entry = {"uri": str(item.uri), "mime_type": getattr(item, "mime_type", None)}
        if getattr(item, "text", None) is not None:
            entry["text"] = _cut(item.text)
        else:
            blob = getattr(item, "blob", "") or ""
            entry["size"] = len(blob) * 3 // 4
            entry["blob"] = blob if len(blob) <= MAX_BLOB * 4 // 3 else None
        contents.append(entry)
    return {"uri": uri, "contents": contents}


def result_text(result: dict) -> str:
    """A tool result or resource as plain text (for the model, the audit hash, the page)."""
    parts = []
    for item in result.get("content") or result.get("contents") or []:
        if item.get("text") is not None:
            parts.append(item["text"])
        elif item.get("type") == "resource_link":
            parts.append(f"[resource {item.get('uri')}]")
        else:
            parts.append(f"[{item.get('type') or 'binary'} {item.get('mime_type') or ''}, "
                         f"{item.get('size', 0):,} bytes]".replace(" ,", ","))
    if not parts and result.get("structured_content") is not None:
        parts.append(json.dumps(result["structured_content"], ensure_ascii=False))
    return "\n".join(parts)


# -- what the commands call --------------------------------------------------------------------------------------
async def _paged(fetch, attr: str, max_pages: int = 20) -> list:
    from mcp.types import PaginatedRequestParams

    items, cursor = [], None
    for _ in range(max_pages):
        page = await fetch(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        items.extend(getattr(page, attr) or [])
        cursor = getattr(page, "next_cursor", None)
        if not cursor:
            break
    return items


def list_server(app, spec: ServerSpec, *, timeout: float) -> dict:
    """Connect afresh and list the server's tools and resources (all within ``timeout``)."""
    rt = runtime(app)

    async def work():
        conn = await rt.connection(spec, fresh=True, timeout=min(timeout, CONNECT_TIMEOUT))
        caps = conn.capabilities

        async def listing(session):
            tools = await _paged(session.list_tools, "tools") if caps is None or caps.tools is not None else []
            resources = []
            if caps is None or caps.resources is not None:
                resources = await _paged(session.list_resources, "resources")
            return tools, resources

        tools, resources = await conn.run("listing its tools and resources", listing)
        return {
            "server_info": conn.server_info,
            "tools": [{"name": t.name, "title": getattr(t, "title", None), "description": t.description or "",
                       "input_schema": t.input_schema or {"type": "object", "properties": {}}} for t in tools],
            "resources": [{"uri": str(r.uri), "name": r.name or str(r.uri), "description": r.description or None,
                           "mime_type": r.mime_type} for r in resources],
        }

    async def capped():
        try:
            return await asyncio.wait_for(work(), timeout)
        except TimeoutError:
            await rt.drop(spec.server_id)
            raise McpUnreachable(f"The MCP server '{spec.name}' did not finish discovery within "
                                 f"{timeout:g} s.") from None

    return rt.run(capped(), timeout=timeout + 15, what=f"discovering {spec.name}")


def call_tool(app, spec: ServerSpec, tool_name: str, arguments: dict, *, cancel=None) -> dict:
    rt = runtime(app)
    what = f"running the tool '{tool_name}'"

    async def work():
        conn = await rt.connection(spec, timeout=CONNECT_TIMEOUT)
        result = await conn.run(what, lambda s: s.call_tool(tool_name, arguments,
                                                            read_timeout_seconds=spec.timeout))
        return tool_result_to_dict(result)

    return rt.run(work(), timeout=CONNECT_TIMEOUT + spec.timeout + 10, cancel=cancel, what=what)


def read_resource(app, spec: ServerSpec, uri: str, *, cancel=None) -> dict:
    rt = runtime(app)
    what = f"reading {uri}"

    async def work():
        conn = await rt.connection(spec, timeout=CONNECT_TIMEOUT)

        async def read(session):
            try:
                with anyio.fail_after(spec.timeout):
                    return await session.read_resource(uri)
            except TimeoutError:
                raise McpTimeout(f"The MCP server '{spec.name}' did not answer within {spec.timeout:g} s "
                                 f"while {what}. You can raise its timeout in Settings → MCP servers.") from None

        return resource_result_to_dict(uri, await conn.run(what, read))

    return rt.run(work(), timeout=CONNECT_TIMEOUT + spec.timeout + 10, cancel=cancel, what=what)
