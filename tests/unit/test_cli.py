"""The command line and the local server's front door, through real processes and real
HTTP on loopback."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlcipher3
from tftsr import __version__

from tests.conftest import TEST_KEY, start_served_app, tftsr_env

TFTSR_SCRIPT = Path(sys.executable).with_name("tftsr")
URL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)")
CSP_MUST_HAVE = ("default-src 'self'", "script-src 'self'", "object-src 'none'",
                 "frame-ancestors 'none'")


def run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def assert_csp(response: httpx.Response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    for directive in CSP_MUST_HAVE:
        assert directive in csp, (response.status_code, response.request.url, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- version and data folder ------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    [str(TFTSR_SCRIPT), "--version"],
    [sys.executable, "-m", "tftsr", "--version"],
], ids=["console-script", "python-m"])
def test_version(tmp_path, argv):
    assert TFTSR_SCRIPT.exists(), "the tftsr console script is not installed in the venv"
    result = run(argv, tftsr_env(tmp_path / "unused"))
    assert result.returncode == 0
    assert result.stdout.strip() == f"TFTSR {__version__}"
    assert not (tmp_path / "unused").exists()  # --version touches nothing


@pytest.mark.parametrize("placement", ["after-subcommand", "before-subcommand"])
def test_data_dir_option_overrides_the_environment(tmp_path, placement):
    from_env = tmp_path / "from-env"
    from_flag = tmp_path / "from-flag"
    flag = ["--data-dir", str(from_flag)]
    argv = ([sys.executable, "-m", "tftsr", "db", "migrate", *flag]
            if placement == "after-subcommand"
            else [sys.executable, "-m", "tftsr", *flag, "db", "migrate"])
    result = run(argv, tftsr_env(from_env))
    assert result.returncode == 0, result.stderr
    assert (from_flag / "tftsr.db").is_file()
    assert str(from_flag / "tftsr.db") in result.stdout
    assert not from_env.exists()


def test_environment_data_dir_is_used_without_the_option(tmp_path):
    from_env = tmp_path / "from-env"
    result = run([sys.executable, "-m", "tftsr", "db", "migrate"], tftsr_env(from_env))
    assert result.returncode == 0, result.stderr
    assert (from_env / "tftsr.db").is_file()


# -- tftsr serve --------------------------------------------------------------------------
def test_serve_prints_its_url_on_the_requested_port(tmp_path):
    port = free_port()
    served = start_served_app(tmp_path / "data", "--port", str(port))
    try:
        assert served.base_url == f"http://127.0.0.1:{port}"
        assert len(served.token) >= 32
        response = served.client.post("/api/ping", json={"echo": "hello"})
        assert response.status_code == 200
        body = response.json()
        assert body["pong"] is True and body["echo"] == "hello"
        assert_csp(response)
    finally:
        served.stop()


def test_requests_without_the_token_are_refused(served):
    with httpx.Client(base_url=served.base_url, timeout=30) as anonymous:
        for response in (
            anonymous.post("/api/ping", json={}),
            anonymous.post("/api/ping", json={}, headers={"Authorization": "Bearer wrong"}),
        ):
            assert response.status_code == 401
            assert_csp(response)
        assert anonymous.post("/api/ping", json={}).json()["error"]["code"] == "unauthorized"
        # The page itself is public (a reload must work) and never carries the token.
        page = anonymous.get("/")
        assert page.status_code == 200 and served.token not in page.text
        assert_csp(page)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1",
                                  "localhost.evil.example:{port}"])
def test_wrong_host_is_refused(served, host):
    port = served.base_url.rsplit(":", 1)[1]
    response = served.client.post("/api/ping", json={},
                                  headers={"Host": host.format(port=port)})
    assert response.status_code == 421
    assert_csp(response)
    get = served.client.get("/", headers={"Host": host.format(port=port)})
    assert get.status_code == 421


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
], ids=["sec-fetch-cross-site", "sec-fetch-same-site", "origin-evil", "origin-null"])
def test_cross_site_posts_are_refused_even_with_the_token(served, headers):
    response = served.client.post("/api/ping", json={}, headers=headers)
    assert response.status_code == 403
    assert_csp(response)


def test_same_origin_posts_are_accepted(served):
    response = served.client.post("/api/ping", json={}, headers={
        "Sec-Fetch-Site": "same-origin", "Origin": served.base_url})
    assert response.status_code == 200
    assert_csp(response)


def test_every_response_carries_the_csp(served):
    responses = [
        served.client.get("/"),
        served.client.get("/no-such-file.js"),
        served.client.post("/api/no_such_command", json={}),
        served.client.post("/api/create_issue", json={"title": ""}),
        served.client.post("/api/ping", content=b"{not json"),
        served.client.post("/api/ping", json={}),
    ]
    assert [r.status_code for r in responses] == [200, 404, 404, 400, 400, 200]
    for response in responses:
        assert_csp(response)


# -- no display: fall back to browser mode ---------------------------------------------
def test_no_display_falls_back_to_serving(tmp_path):
    env = tftsr_env(tmp_path / "data")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.Popen([sys.executable, "-m", "tftsr"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        url = None
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            url = URL_RE.search(line)
        assert url, "".join(lines)
        text = "".join(lines).lower()
        assert "no display" in text and "browser" in text
        with httpx.Client(timeout=30) as client:
            response = client.post(f"http://127.0.0.1:{url.group(1)}/api/ping", json={},
                                   headers={"Authorization": f"Bearer {url.group(2)}"})
        assert response.status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


# -- one instance per data folder ------------------------------------------------------
def test_second_instance_exits_politely_and_the_first_keeps_working(tmp_path):
    data = tmp_path / "data"
    first = start_served_app(data)
    try:
        first.call("create_issue", title="Made by the first instance", severity="low",
                   category="application")
        second = run([sys.executable, "-m", "tftsr", "serve", "--no-browser"],
                     tftsr_env(data), timeout=60)
        assert second.returncode == 4
        output = second.stdout + second.stderr
        assert "already open" in output
        assert str(first.proc.pid) in output
        assert "Traceback" not in output
        assert first.proc.poll() is None
        assert first.call("ping")["pong"] is True
        assert first.call("list_issues")["total"] == 1
        conn = sqlcipher3.connect(str(data / "tftsr.db"))
        try:
            conn.execute(f"PRAGMA key = '{TEST_KEY}'")
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()
    finally:
        first.stop()
    assert first.proc.returncode == 0


# -- audit anchors ---------------------------------------------------------------------------
def test_audit_head_and_expect_head_from_the_console_script(tmp_path):
    assert TFTSR_SCRIPT.exists(), "the tftsr console script is not installed in the venv"
    env = tftsr_env(tmp_path / "data")
    head = run([str(TFTSR_SCRIPT), "db", "audit-head"], env)
    assert head.returncode == 0, head.stderr
    assert head.stdout.strip() == "0:" + "0" * 64
    checked = run([str(TFTSR_SCRIPT), "db", "verify-audit", "--expect-head", head.stdout.strip()],
                  env)
    assert checked.returncode == 0, checked.stderr
    assert "matches the recorded head" in checked.stdout
    usage = run([str(TFTSR_SCRIPT), "db", "verify-audit", "--help"], env)
    assert "--expect-head SEQ:HASH" in usage.stdout
