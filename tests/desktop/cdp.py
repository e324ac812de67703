"""A minimal Chrome DevTools Protocol client, enough to evaluate JavaScript in a page.

Qt WebEngine serves the DevTools protocol when ``QTWEBENGINE_REMOTE_DEBUGGING`` is set
(``127.0.0.1:PORT``), which lets a test drive a window it cannot put code into -- the
single-file executable, which contains no test modules. Playwright's ``connect_over_cdp``
cannot attach to Qt WebEngine (it needs browser-context management Qt does not offer),
so this speaks the protocol over a plain WebSocket: one request, its one answer.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import urllib.request
from urllib.parse import urlsplit


def page_targets(port: int) -> list[dict]:
    """The DevTools targets of type "page" (``[]`` while the server is not up yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
            return [t for t in json.load(r) if t.get("type") == "page"]
    except (OSError, ValueError):
        return []


def evaluate(ws_url: str, expression: str, timeout: float = 60) -> object:
    """Evaluate ``expression`` in the page (awaiting a promise); returns its JSON value."""
    parts = urlsplit(ws_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        _handshake(sock, parts)
        _send(sock, json.dumps({"id": 1, "method": "Runtime.evaluate", "params": {
            "expression": expression, "awaitPromise": True, "returnByValue": True}}))
        while True:
            message = json.loads(_receive(sock))
            if message.get("id") != 1:
                continue  # an event
            if "error" in message:
                error = message["error"]
                if "execution context" in str(error.get("message", "")):
                    raise NoContextYet(str(error))
                raise RuntimeError(f"DevTools error: {error}")
            result = message["result"]
            if "exceptionDetails" in result:
                raise RuntimeError(f"the page threw: {result['exceptionDetails']}")
            return result["result"].get("value")


def evaluate_when_ready(ws_url: str, expression: str, timeout: float = 60) -> object:
    """:func:`evaluate`, retried while the page has no JavaScript context yet (loading)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return evaluate(ws_url, expression, timeout=max(1.0, deadline - time.monotonic()))
        except NoContextYet:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class NoContextYet(RuntimeError):
    """The page has no default execution context yet (it is still loading)."""


def _handshake(sock: socket.socket, parts) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the DevTools server closed the connection")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))


def _send(sock: socket.socket, text: str) -> None:
    data = text.encode()
    header = bytearray([0x81])  # FIN, text frame
    if len(data) < 126:
        header.append(0x80 | len(data))
    elif len(data) < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
    mask = os.urandom(4)  # clients must mask what they send
    sock.sendall(bytes(header) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def _exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the DevTools server closed the connection")
        data += chunk
    return data


def _receive(sock: socket.socket) -> str:
    """One whole text message (fragments joined; pings and other control frames skipped)."""
    message = b""
    while True:
        first, second = _exactly(sock, 2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", _exactly(sock, 2))[0]
        elif length == 127:
            length = struct.unpack(">Q", _exactly(sock, 8))[0]
        payload = _exactly(sock, length)
        opcode = first & 0x0F
        if opcode == 0x8:
            raise ConnectionError("the DevTools server closed the WebSocket")
        if opcode in (0x0, 0x1):
            message += payload
            if first & 0x80:
                return message.decode()
