"""MCP server settings through the real commands: validation, encrypted secrets that are
never returned, the login-shell PATH for bare commands, enable/disable/delete."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from tftsr.errors import TftsrError
from tftsr.mcp import client

from tests.fakes.mcp_helpers import close_mcp_sessions  # noqa: F401 (autouse)

PY = sys.executable
TOKEN = "ghp_9f8e7d6c5b4a39281706abcdefABCDEF1234"
BEARER = "tok-live-5b0d1c2e3f405162738495a6"


def add_stdio(call, **over):
    args = {"name": "Runbooks", "transport": "stdio", "command": PY, "args": ["-c", "pass"]}
    args.update(over)
    return call("add_mcp_server", **args)


def fails(call, command, code=None, match=None, /, **args):
    with pytest.raises(TftsrError) as info:
        call(command, **args)
    if code:
        assert info.value.code == code, info.value.message
    if match:
        assert match in info.value.message, info.value.message
    return info.value


def raw_rows(app, sql):
    with app.db.connection() as conn:
        return [dict(r) for r in conn.execute(sql).fetchall()]


# -- adding and reading back ------------------------------------------------------------------------
def test_add_stdio_server_returns_it_with_an_id_and_no_secret(call, app):
    server = add_stdio(call, env={"GITHUB_TOKEN": TOKEN, "LOG_LEVEL": "debug",
                                  "REGION": {"value": "eu-west-1-private-cell", "secret": True}})
    assert len(server["id"]) == 36
    assert server["transport"] == "stdio" and server["command"] == PY
    assert server["args"] == ["-c", "pass"]
    env = {e["name"]: e for e in server["env"]}
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "secret": False, "value": "debug", "hint": None}
    # a *_TOKEN name is secret without being asked; an explicit secret is too
    assert env["GITHUB_TOKEN"]["secret"] and env["GITHUB_TOKEN"]["value"] is None
    assert env["GITHUB_TOKEN"]["hint"] == "…1234"
    assert env["REGION"]["secret"] and env["REGION"]["hint"] == "…cell"
    assert server["discovery_status"] == "pending" and server["enabled"] is True
    for result in (server, call("get_mcp_server", server_id=server["id"]), call("list_mcp_servers")):
        text = json.dumps(result)
        assert TOKEN not in text and "eu-west-1-private-cell" not in text


def test_secrets_are_encrypted_in_the_database(call, app):
    server = call("add_mcp_server", name="Grafana", transport="http", url="https://grafana.example.com/mcp",
                  headers={"X-Tenant": "ops", "X-Grafana-Key": TOKEN}, auth_type="bearer", auth_value=BEARER)
    add_stdio(call, name="GitHub", env={"GITHUB_TOKEN": TOKEN})
    rows = raw_rows(app, "SELECT * FROM mcp_servers")
    dump = json.dumps(rows)
    assert TOKEN not in dump and BEARER not in dump
    http = next(r for r in rows if r["id"] == server["id"])
    assert http["auth_type"] == "bearer" and http["auth_value"]
    config = json.loads(http["transport_config"])
    assert config["headers"]["X-Tenant"] == {"value": "ops"}
    assert set(config["headers"]["X-Grafana-Key"]) == {"secret", "hint"}
    # and the page sees only hints
    assert server["auth_set"] is True and server["auth_hint"] == "…95a6"
    assert {h["name"]: h["secret"] for h in server["headers"]} == {"X-Tenant": False, "X-Grafana-Key": True}
    assert BEARER not in json.dumps(server)


def test_short_secret_shows_only_set(call):
    server = add_stdio(call, env={"API_KEY": "abc123"})
    assert server["env"][0]["hint"] == "set"


def test_update_keeps_secrets_it_is_not_given(call, app):
    server = call("add_mcp_server", name="Grafana", transport="http", url="https://grafana.example.com/mcp",
                  headers={"X-Grafana-Key": TOKEN}, auth_type="api_key", auth_value=BEARER,
                  auth_header="X-Api-Token")
    updated = call("update_mcp_server", server_id=server["id"], name="Grafana prod", timeout_seconds=45)
    assert updated["name"] == "Grafana prod" and updated["timeout_seconds"] == 45
    assert updated["auth_type"] == "api_key" and updated["auth_set"] and updated["auth_header"] == "X-Api-Token"
    with app.db.connection() as conn:
        from tftsr.mcp import store

        settings = store.connection_settings(app, store.get_row(conn, server["id"]))
    assert settings["headers"] == {"X-Grafana-Key": TOKEN, "X-Api-Token": BEARER}
    # replacing one header and adding another, keeping the secret one by name
    updated = call("update_mcp_server", server_id=server["id"],
                   headers=[{"name": "X-Grafana-Key", "secret": True}, {"name": "X-Org", "value": "7"}])
    assert {h["name"] for h in updated["headers"]} == {"X-Grafana-Key", "X-Org"}
    with app.db.connection() as conn:
        settings = store.connection_settings(app, store.get_row(conn, server["id"]))
    assert settings["headers"]["X-Grafana-Key"] == TOKEN


def test_bearer_needs_a_token_and_oauth2_is_refused(call):
    fails(call, "add_mcp_server", "invalid_argument", "auth_value is required", name="A", transport="http",
          url="https://a.example.com/mcp", auth_type="bearer")
    fails(call, "add_mcp_server", "mcp_auth_unsupported", "OAuth 2", name="A", transport="http",
          url="https://a.example.com/mcp", auth_type="oauth2", auth_value="x")


# -- validation --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES",
                                  "DYLD_LIBRARY_PATH", "PYTHONPATH", "NODE_OPTIONS", "ld_preload"])
def test_dangerous_environment_variables_are_refused(call, app, name):
    err = fails(call, "add_mcp_server", "mcp_env_refused", name, name="Evil", transport="stdio",
                command=PY, env={name: "/tmp/x.so"})
    assert "not allowed" in err.message
    assert raw_rows(app, "SELECT id FROM mcp_servers") == []


def test_dangerous_environment_variables_are_refused_on_update(call):
    server = add_stdio(call)
    fails(call, "update_mcp_server", "mcp_env_refused", server_id=server["id"],
          env={"NODE_OPTIONS": "--require /tmp/evil.js"})


@pytest.mark.parametrize("url", ["ftp://files.example.com/mcp", "file:///etc/passwd", "javascript:alert(1)",
                                 "example.com/mcp", "https://user:pw@example.com/mcp", "http://"])
def test_http_urls_must_be_plain_http_or_https(call, url):
    fails(call, "add_mcp_server", "invalid_argument", name="X", transport="http", url=url)


def test_transport_names(call):
    for transport, expected in (("http", "http"), ("streamable-http", "http"), ("Streamable HTTP", "http"),
                                ("sse", "sse")):
        server = call("add_mcp_server", name=f"S {transport}", transport=transport,
                      url="http://127.0.0.1:9/mcp")
        assert server["transport"] == expected
    fails(call, "add_mcp_server", "invalid_argument", "transport", name="W", transport="websocket",
          url="http://127.0.0.1:9/mcp")


def test_stdio_working_folder_must_exist(call, tmp_path):
    fails(call, "add_mcp_server", "mcp_cwd_missing", "does not exist", name="X", transport="stdio",
          command=PY, cwd=str(tmp_path / "nowhere"))
    server = add_stdio(call, cwd=str(tmp_path))
    assert server["cwd"] == str(tmp_path)


def test_fields_of_the_other_transport_are_refused(call):
    fails(call, "add_mcp_server", "invalid_argument", "belong to HTTP", name="X", transport="stdio",
          command=PY, url="https://x.example.com/mcp")
    fails(call, "add_mcp_server", "invalid_argument", "belong to stdio", name="X", transport="http",
          url="https://x.example.com/mcp", command="npx")


def test_names_are_unique(call):
    add_stdio(call, name="Runbooks")
    fails(call, "add_mcp_server", "mcp_server_exists", name="runbooks", transport="stdio", command=PY)


def test_bad_env_and_header_names(call):
    fails(call, "add_mcp_server", "invalid_argument", "not a valid environment", name="X", transport="stdio",
          command=PY, env={"1BAD": "x"})
    fails(call, "add_mcp_server", "invalid_argument", "not a valid HTTP header", name="X", transport="http",
          url="https://x.example.com/mcp", headers={"Bad Header": "x"})
    fails(call, "add_mcp_server", "invalid_argument", "set by TFTSR", name="X", transport="http",
          url="https://x.example.com/mcp", headers={"Host": "evil.example.com"})
    fails(call, "add_mcp_server", "invalid_argument", "one line", name="X", transport="http",
          url="https://x.example.com/mcp", headers={"X-A": "a\r\nX-Injected: 1"})


def test_command_typed_with_its_arguments_is_split(call):
    server = call("add_mcp_server", name="X", transport="stdio", command=f"{PY} -c pass")
    assert server["command"] == PY and server["args"] == ["-c", "pass"]


# -- finding the command -------------------------------------------------------------------------------------
def _fake_login_shell(tmp_path: Path, path_value: str) -> Path:
    """A login shell that prints a profile banner, then the PATH its profile sets."""
    shell = tmp_path / "fake-login-shell"
    shell.write_text(f"#!/bin/sh\necho 'Welcome to the jump host'\nPATH='{path_value}'\nexport PATH\n"
                     f'shift\nexec /bin/sh -c "$@"\n')
    shell.chmod(shell.stat().st_mode | stat.S_IXUSR)
    return shell


def test_bare_command_is_found_on_the_login_shell_path(call, app, tmp_path, monkeypatch):
    tools = tmp_path / "node-bin"
    tools.mkdir()
    launcher = tools / "acme-docs-mcp"
    launcher.write_text("#!/bin/sh\nexit 0\n")
    launcher.chmod(0o755)
    monkeypatch.setenv("SHELL", str(_fake_login_shell(tmp_path, f"{tools}:/usr/bin:/bin")))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # what a desktop launcher gives
    server = call("add_mcp_server", name="Docs", transport="stdio", command="acme-docs-mcp",
                  args=["--stdio"])
    assert server["command"] == "acme-docs-mcp"
    assert client.resolve_command(app, "acme-docs-mcp") == str(launcher)
    # the process's own PATH comes first, the login shell's additions after it
    assert app.extras["mcp.login_path"].split(os.pathsep)[:3] == ["/usr/bin", "/bin", str(tools)]


def test_bare_command_not_found_says_so(call, app, tmp_path, monkeypatch):
    monkeypatch.setenv("SHELL", str(_fake_login_shell(tmp_path, "/usr/bin:/bin")))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    err = fails(call, "add_mcp_server", "mcp_command_not_found", name="Docs", transport="stdio",
                command="uvx-definitely-not-installed")
    assert "'uvx-definitely-not-installed' was not found on your PATH" in err.message
    assert "full path" in err.message
    assert raw_rows(app, "SELECT id FROM mcp_servers") == []


def test_missing_or_not_executable_full_path(call, tmp_path):
    fails(call, "add_mcp_server", "mcp_command_not_found", "does not exist", name="X", transport="stdio",
          command=str(tmp_path / "missing-server"))
    script = tmp_path / "server.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    fails(call, "add_mcp_server", "mcp_command_not_found", "not executable", name="X", transport="stdio",
          command=str(script))


def test_login_shell_that_hangs_falls_back_to_the_process_path(app, tmp_path, monkeypatch):
    shell = tmp_path / "slow-shell"
    shell.write_text("#!/bin/sh\nexec sleep 30\n")
    shell.chmod(0o755)
    monkeypatch.setenv("SHELL", str(shell))
    monkeypatch.setattr(client, "LOGIN_SHELL_TIMEOUT", 0.5)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert client.login_path(app).split(os.pathsep)[:3] == [str(tmp_path), "/usr/bin", "/bin"]


def test_login_shell_does_not_see_the_database_key(app, tmp_path, monkeypatch):
    seen = tmp_path / "seen-env"
    shell = tmp_path / "spy-shell"
    shell.write_text(f"#!/bin/sh\nenv > '{seen}'\nshift\nexec /bin/sh -c \"$@\"\n")
    shell.chmod(0o755)
    monkeypatch.setenv("SHELL", str(shell))
    client.login_path(app)
    env = seen.read_text()
    assert "TFTSR_DB_KEY" not in env and os.environ["TFTSR_DB_KEY"] not in env


# -- enable, disable, delete ------------------------------------------------------------------------------------
def test_enable_disable_delete(call, app):
    server = add_stdio(call)
    assert call("set_mcp_server_enabled", server_id=server["id"], enabled=False)["enabled"] is False
    assert call("list_mcp_servers")["items"][0]["enabled"] is False
    fails(call, "call_mcp_tool", "mcp_server_disabled", server_id=server["id"], tool_name="echo", arguments={})
    assert call("set_mcp_server_enabled", server_id=server["id"], enabled=True)["enabled"] is True
    assert call("delete_mcp_server", server_id=server["id"]) == {"deleted": True, "server_id": server["id"]}
    assert call("list_mcp_servers")["items"] == []
    fails(call, "get_mcp_server", "not_found", server_id=server["id"])
    actions = [r["action"] for r in raw_rows(app, "SELECT action FROM audit_log ORDER BY seq")]
    expected = ["mcp_server_added", "mcp_server_disabled", "mcp_server_enabled", "mcp_server_deleted"]
    assert [a for a in actions if a.startswith("mcp_server")] == expected
    details = json.dumps(raw_rows(app, "SELECT details FROM audit_log"))
    assert TOKEN not in details


def test_bad_arguments(call):
    fails(call, "get_mcp_server", "invalid_argument", server_id="not-an-id")
    fails(call, "add_mcp_server", "invalid_argument", name="", transport="stdio", command=PY)
    fails(call, "add_mcp_server", "invalid_argument", name="X", transport="stdio", command=PY, args="-c pass")
    fails(call, "add_mcp_server", "invalid_argument", name="X", transport="stdio", command=PY, env=["A=1"])
    fails(call, "add_mcp_server", "invalid_argument", name="X", transport="stdio", command=PY,
          timeout_seconds=0)
    fails(call, "add_mcp_server", "invalid_argument", name="X", transport="stdio", command=PY,
          env={"A": "x\x00y"})
