"""Browser mode over real HTTP: a ``tftsr serve`` subprocess on loopback.

Covers the command endpoint (every command reachable, JSON errors, size limits), the
Server-Sent Events stream, static files (no path traversal) and one-time downloads.
"""

from __future__ import annotations

import csv
import http.client
import io
import json

import httpx
import pytest
from tftsr.commands import REGISTRY, load_all

from tests.conftest import TEST_KEY

load_all()
STATUS_FOR = {"invalid_argument": 400, "invalid_json": 400, "not_found": 404,
              "unknown_command": 404, "conflict": 409, "invalid_state": 409}


def post_raw(served, name: str, body: bytes, **headers) -> httpx.Response:
    return served.client.post(f"/api/{name}", content=body,
                              headers={"Content-Type": "application/json", **headers})


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def raw_get(served, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (no client-side normalisation of '..')."""
    host, port = served.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {served.token}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- commands ----------------------------------------------------------------------------
def test_every_command_is_reachable(served):
    for name in sorted(REGISTRY):
        response = served.client.post(f"/api/{name}", json={})
        if response.status_code == 200:
            json.dumps(response.json())
            continue
        error = assert_error(response, 400)
        assert error["code"] == "invalid_argument", (name, error)
        assert "required" in error["message"], (name, error)


def test_issue_round_trip_and_status_codes(served):
    detail = served.call("create_issue", title="VPN drops", severity="high", category="network")
    issue_id = detail["issue"]["id"]
    assert served.call("get_issue", issue_id=issue_id)["issue"]["title"] == "VPN drops"
    listed = served.call("list_issues", status=["open"])
    assert [i["id"] for i in listed["items"]] == [issue_id]
    assert_error(served.client.post("/api/set_issue_status",
                                     json={"issue_id": issue_id, "status": "bogus"}),
                 400, "invalid_argument")
    served.call("set_issue_status", issue_id=issue_id, status="closed")
    assert_error(served.client.post("/api/set_issue_status",
                                     json={"issue_id": issue_id, "status": "resolved"}),
                 409, "invalid_state")
    for _ in range(5):
        served.call("add_five_why", issue_id=issue_id, why_question="Why?")
    assert_error(served.client.post("/api/add_five_why",
                                    json={"issue_id": issue_id, "why_question": "Why?"}),
                 409, "conflict")
    served.call("delete_issue", issue_id=issue_id)
    assert_error(served.client.post("/api/get_issue", json={"issue_id": issue_id}),
                 404, "not_found")


def test_unicode_survives_the_round_trip(served):
    title = "Überlast 日本 \u2603 — <b>&amp;</b>"
    detail = served.call("create_issue", title=title, severity="low", category="linux")
    assert served.call("get_issue", issue_id=detail["issue"]["id"])["issue"]["title"] == title


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"title": }', b"\xff\xfe\x00",
                                  b"{'single': 'quotes'}", b'{"a": 1} trailing'])
def test_malformed_json(served, body):
    assert_error(post_raw(served, "get_settings", body), 400, "invalid_json")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(served, constant):
    body = (b'{"title": "Disk full", "severity": "low", "category": "linux", "tags": [1, '
            + constant.encode() + b"]}")
    error = assert_error(post_raw(served, "create_issue", body), 400, "invalid_json")
    assert constant.lstrip("-") in error["message"] and "JSON number" in error["message"]
    assert served.call("list_issues")["items"] == []


@pytest.mark.parametrize("body", [b"[]", b'["x"]', b'"text"', b"42", b"true", b"4.5"])
def test_non_object_json(served, body):
    error = assert_error(post_raw(served, "get_settings", body), 400, "invalid_argument")
    assert "object" in error["message"]


def test_empty_body_means_no_arguments(served):
    response = post_raw(served, "get_settings", b"")
    assert response.status_code == 200
    assert "theme" in response.json()["values"]


def test_oversize_body(served):
    body = b'{"query": "' + b"a" * (8 * 1024 * 1024) + b'"}'
    try:
        response = post_raw(served, "search_issues", body)
    except httpx.TransportError as exc:  # pragma: no cover - depends on socket timing
        pytest.fail(f"server dropped the connection instead of answering 413: {exc}")
    assert_error(response, 413)
    # The server is still healthy afterwards.
    assert served.call("ping", echo="still here")["echo"] == "still here"


@pytest.mark.parametrize("name", ["no_such_command", "GET_ISSUE", "__init__", "dispatch"])
def test_unknown_command(served, name):
    assert_error(served.client.post(f"/api/{name}", json={}), 404, "unknown_command")


def test_get_on_a_command_is_not_allowed(served):
    response = served.client.get("/api/get_settings")
    assert response.status_code in (404, 405)
    assert response.json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_missing_token_is_refused_with_a_json_error(served):
    response = httpx.post(f"{served.base_url}/api/get_settings", json={}, timeout=30)
    assert_error(response, 401, "unauthorized")
    wrong = httpx.post(f"{served.base_url}/api/get_settings", json={}, timeout=30,
                       headers={"Authorization": "Bearer not-the-token"})
    assert_error(wrong, 401, "unauthorized")


# -- events ------------------------------------------------------------------------------
def test_events_stream_announces_changes(served):
    timeout = httpx.Timeout(20.0)
    with served.client.stream("GET", "/api/events", timeout=timeout) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith(":")  # the stream is open and subscribed
        issue_id = served.call("create_issue", title="SSE check", severity="low",
                               category="linux")["issue"]["id"]
        event_name = None
        for line in lines:
            if line.startswith("event: "):
                event_name = line.removeprefix("event: ")
            elif line.startswith("data: ") and event_name == "issue_changed":
                assert json.loads(line.removeprefix("data: ")) == {"issue_id": issue_id}
                break
        else:  # pragma: no cover - the stream ended early
            pytest.fail("event stream closed before issue_changed arrived")


# -- static files ------------------------------------------------------------------------
def test_index_is_served(served):
    status, body = raw_get(served, "/index.html")
    assert status == 200 and b"<html" in body.lower()


@pytest.mark.parametrize("path", [
    "/../pyproject.toml", "/%2e%2e/pyproject.toml", "/vendor/../../pyproject.toml",
    "/../README.md", "/%2e%2e/README.md", "/vendor/../../README.md", "/..%2fREADME.md",
    "/%2e%2e%2fREADME.md", "/vendor/..%2f..%2fREADME.md", "//etc/passwd",
    "/..\\README.md", "/%5c..%5cREADME.md", "/etc/passwd%00.html",
])
def test_static_path_traversal_never_leaks(served, path):
    status, body = raw_get(served, path)
    assert status in (400, 404), (path, status)
    assert b"[project]" not in body and b"root:" not in body
    assert b"TFTSR" not in body or len(body) < 200  # never the README's content


# -- downloads ---------------------------------------------------------------------------
def add_formula_entries(tmp_path) -> None:
    """Audit entries whose cells start with formula characters, as a later feature might
    write them (no current command lets such text lead a cell)."""
    from tftsr.audit.chain import record
    from tftsr.config import DB_FILENAME
    from tftsr.db import open_database

    db = open_database(tmp_path / "served-data" / DB_FILENAME, TEST_KEY, migrate=False)
    try:
        with db.transaction() as conn:
            record(conn, "=HYPERLINK(\"http://evil.example\")", "+issue", "-1+1",
                   {"note": "=cmd"}, user_id="@SUM(A1)")
    finally:
        db.close()


def test_export_audit_log_downloads_once(served, tmp_path):
    served.call("create_issue", title="=2+5", severity="low", category="linux")
    add_formula_entries(tmp_path)
    result = served.call("export_audit_log", format="csv")
    assert result["url"].startswith("/downloads/")
    assert result["filename"].endswith(".csv")
    first = served.client.get(result["url"])
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/csv")
    assert "attachment" in first.headers["content-disposition"]
    assert len(first.content) == result["bytes"]
    second = served.client.get(result["url"])
    assert second.status_code == 404

    rows = list(csv.reader(io.StringIO(first.content.decode("utf-8"))))
    header, entries = rows[0], rows[1:]
    assert header[:4] == ["seq", "id", "timestamp", "action"]
    assert any("=2+5" in cell for row in entries for cell in row)
    for row in entries:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row
    formula_row = next(r for r in entries if "HYPERLINK" in r[3])
    assert formula_row[3] == "'=HYPERLINK(\"http://evil.example\")"
    assert formula_row[4] == "'+issue" and formula_row[5] == "'-1+1"
    assert formula_row[6] == "'@SUM(A1)"


def test_export_audit_log_json(served):
    served.call("create_issue", title="JSON export", severity="low", category="linux")
    result = served.call("export_audit_log", format="json", action="triage_started")
    body = served.client.get(result["url"]).json()
    assert body["chain"]["ok"] is True
    assert [e["action"] for e in body["entries"]] == ["triage_started"]
    assert served.client.get(result["url"]).status_code == 404
    exported = served.call("get_audit_log", action="audit_exported")["items"]
    assert exported and exported[0]["details"]["format"] == "json"


@pytest.mark.parametrize("download_id", ["../index.html", "..%2f..%2fpyproject.toml",
                                         "nonexistent", "a" * 300])
def test_unknown_download_is_not_found(served, download_id):
    status, body = raw_get(served, f"/downloads/{download_id}")
    assert status == 404
    assert b"[project]" not in body and b"<html" not in body.lower()
