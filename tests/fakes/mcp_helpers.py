"""Start the test MCP server (:mod:`tests.fakes.mcp_server`) over stdio or HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("mcp_server.py")


def stdio_args() -> tuple[str, list[str]]:
    """The command and args that start the server over stdio."""
    return sys.executable, [str(SCRIPT), "stdio"]


@pytest.fixture(autouse=True)
def close_mcp_sessions(app):
    """Import into a test module: stops the app's MCP sessions (and stdio servers) after
    each test."""
    yield
    from tftsr.mcp import client

    client.shutdown(app)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpMcpServer:
    """The test server in its own process on loopback (so ``crash`` kills only it)."""

    def __init__(self, tmp_path: Path, *, token: str | None = None, sse: bool = False):
        self.port = free_port()
        self.record = tmp_path / f"mcp-requests-{self.port}.jsonl"
        self.log = tmp_path / f"mcp-server-{self.port}.log"
        self.sse = sse
        argv = [sys.executable, str(SCRIPT), "http", str(self.port), "--record", str(self.record)]
        if token:
            argv += ["--token", token]
        if sse:
            argv.append("--sse")
        self._log_file = open(self.log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(argv, stdout=self._log_file, stderr=subprocess.STDOUT)
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{'sse' if self.sse else 'mcp'}"

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"MCP test server exited: {self.log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("MCP test server did not start")

    def requests(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines() if line]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log_file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
