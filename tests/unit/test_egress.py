"""The egress gate: every side path around the text is closed.

Each test plants values where they used to slip out (file names, a long description,
the model field, a gateway's userId, Ollama administration, an edited base URL, an error
that echoes the key) and asserts, on the raw bytes a loopback server received, that they
did not arrive. The planted values are written here by hand, independently of the
detector's own tests.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
from pathlib import Path

import pytest
from tftsr.egress.gate import EgressRefused, Gate, cut, origin_of, scrub_secrets
from tftsr.egress.transport import OutboundRequest, open_response
from tftsr.errors import TftsrError

from tests.fakes.fake_custom_rest import FakeCustomRest
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.helpers import EventLog, add_reviewed_log, make_fast

BACKEND = Path(__file__).resolve().parents[2] / "backend" / "tftsr"
ALLOWED_CLIENT_MODULE = BACKEND / "egress" / "clients.py"

EMAIL = "owner10@corp-mail.example.com"
IPV4 = "10.30.40.50"
GH_TOKEN = "ghp_R7kLm2Np4Qs6Tv8Wx0Yz1Ab3Cd5Ef7Gh9IjK"
# A JWT whose payload decodes to an e-mail address.
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
       + base64.urlsafe_b64encode(b'{"sub":"carol.white@example.org","role":"admin"}').decode().rstrip("=")
       + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")


# -- nothing but the egress module builds an HTTP client ----------------------------------------
NETWORK_CALLS = {
    "httpx": {"Client", "AsyncClient", "get", "post", "put", "patch", "delete", "head", "options",
              "request", "stream", "HTTPTransport", "AsyncHTTPTransport"},
    # The MCP SDK's HTTP client library (same API, its own package).
    "httpx2": {"Client", "AsyncClient", "get", "post", "put", "patch", "delete", "head", "options",
               "request", "stream", "HTTPTransport", "AsyncHTTPTransport"},
    "requests": {"get", "post", "put", "patch", "delete", "head", "request", "Session"},
    "urllib.request": {"urlopen", "Request", "build_opener"},
    "http.client": {"HTTPConnection", "HTTPSConnection"},
    "aiohttp": {"ClientSession", "request"},
}


def network_uses(source: str) -> list[str]:
    """``module.name`` calls and imports in ``source`` that could open an HTTP connection."""
    found = []
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in NETWORK_CALLS and a.asname:
                    aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module in NETWORK_CALLS:
            for a in node.names:
                if a.name in NETWORK_CALLS[node.module]:
                    found.append(f"from {node.module} import {a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            parts = []
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                parts.append(func.id)
            parts.reverse()
            if len(parts) >= 2:
                module = aliases.get(parts[0], parts[0])
                dotted = ".".join([module, *parts[1:-1]])
                if dotted in NETWORK_CALLS and parts[-1] in NETWORK_CALLS[dotted]:
                    found.append(f"{dotted}.{parts[-1]}()")
    return found


def test_the_boundary_check_finds_a_client_built_elsewhere():
    assert network_uses("import httpx\nc = httpx.Client()\n") == ["httpx.Client()"]
    assert network_uses("import httpx as h\nh.post('http://x')\n") == ["httpx.post()"]
    assert network_uses("from httpx import AsyncClient\n") == ["from httpx import AsyncClient"]
    assert network_uses("import urllib.request\nurllib.request.urlopen('x')\n") == [
        "urllib.request.urlopen()"]
    assert network_uses("import httpx\nx = httpx.Timeout(3)\n") == []


def test_no_module_but_the_egress_module_creates_an_http_client():
    offenders = {}
    for path in sorted(BACKEND.rglob("*.py")):
        if path == ALLOWED_CLIENT_MODULE:
            continue
        uses = network_uses(path.read_text(encoding="utf-8"))
        if uses:
            offenders[str(path.relative_to(BACKEND))] = uses
    assert offenders == {}, ("Only tftsr/egress/clients.py may build HTTP clients; send through "
                             f"tftsr.egress instead: {offenders}")
    assert network_uses(ALLOWED_CLIENT_MODULE.read_text(encoding="utf-8"))


def test_an_unsealed_request_is_refused_before_any_byte_leaves():
    with FakeOpenAI() as fake:
        request = OutboundRequest("POST", fake.url + "/v1/chat/completions",
                                  {"Content-Type": "application/json"}, b'{"x": 1}')
        with pytest.raises(EgressRefused):
            open_response(request, read_timeout=5, connect_timeout=5)
        assert fake.requests == []


def test_seal_scans_every_string_field_and_the_url():
    request = OutboundRequest(
        "POST", f"http://127.0.0.1:9/v1/models/{EMAIL}:run?user={IPV4}", {},
        json.dumps({"model": f"team-{EMAIL}", "nested": [{"name": f"dump-{IPV4}.log"}],
                    "n": 3}).encode())
    Gate(None).seal(request)
    assert request.sealed
    assert EMAIL not in request.url and IPV4 not in request.url
    body = request.body.decode()
    assert EMAIL not in body and IPV4 not in body and '"n":3' in body
    assert request.redacted["Email"] == 2 and request.redacted["Ipv4"] == 2


# -- side paths through a real conversation --------------------------------------------------------
@pytest.fixture
def fast(app):
    make_fast(app)
    return app


def _wait(app, message_id):
    events = EventLog(app)
    try:
        return events.wait_end(message_id)
    finally:
        events.close()


def _fragments(secret: str, size: int = 12):
    return {secret[i:i + size] for i in range(0, len(secret) - size + 1)}


def test_file_names_and_a_long_description_leave_only_redacted(fast, call, make_issue, provider,
                                                               openai_fake):
    filler = "The checkout service returned errors for every request after the deploy. " * 70
    filler = filler[:4990]
    issue = make_issue(description=filler + " token " + JWT + " was in the request.")
    name = f"dump-{EMAIL}-{IPV4}-{GH_TOKEN}.log"
    log = add_reviewed_log(fast, call, issue["id"], name, "12:00 ERROR upstream timed out\n")
    sent = call("chat_message", issue_id=issue["id"], content="What failed?",
                log_file_ids=[log["id"]])
    _wait(fast, sent["message_id"])
    raw = openai_fake.chat_requests()[-1].body
    for secret in (EMAIL, IPV4, GH_TOKEN):
        assert secret.encode() not in raw
    for piece in _fragments(JWT.split(".")[1]):
        assert piece.encode() not in raw, "a fragment of the JWT left the machine"
    assert b"Attached log file 'dump-" in raw


def test_the_model_field_is_checked(fast, call, make_issue, openai_fake):
    provider = call("add_ai_provider", name="Odd", kind="openai", base_url=openai_fake.base_url,
                    model=f"gpt-4o-mini-{EMAIL}", api_key=openai_fake.key)
    issue = make_issue()
    sent = call("chat_message", issue_id=issue["id"], content="hello",
                provider_id=provider["id"])
    _wait(fast, sent["message_id"])
    raw = openai_fake.chat_requests()[-1].body
    assert EMAIL.encode() not in raw
    entry = [e for e in call("get_audit_log", limit=50)["items"] if e["action"] == "ai_send"][0]
    assert entry["details"]["request_sha256"] == hashlib.sha256(raw).hexdigest()
    assert entry["details"]["path"] == "/v1/chat/completions"
    assert entry["details"]["redacted_at_send"] == {"Email": 1}


def test_a_gateway_user_id_is_checked(fast, call, make_issue):
    with FakeCustomRest() as fake:
        provider = call("add_ai_provider", name="Gateway", kind="custom_rest", base_url=fake.url,
                        model="triage", api_key=fake.key,
                        settings={"user_id": EMAIL, "endpoint_path": fake.path,
                                  "auth_header": fake.auth_header, "auth_prefix": fake.auth_prefix})
        issue = make_issue()
        sent = call("chat_message", issue_id=issue["id"], content="hello",
                    provider_id=provider["id"])
        _wait(fast, sent["message_id"])
        raw = fake.chat_requests()[-1].body
    assert EMAIL.encode() not in raw
    assert json.loads(raw)["userId"].startswith("[Email")


def test_ollama_administration_is_checked_and_audited(fast, call):
    with FakeOllama() as fake:
        with pytest.raises(TftsrError):
            call("ollama_delete_model", base_url=fake.url, model=f"llama-{IPV4}")
        started = call("ollama_pull_model", base_url=fake.url, model=f"qwen-db01.prod.{EMAIL.split('@')[1]}")
        events = EventLog(fast)
        try:
            events.wait("ollama_pull_progress", done=True, pull_id=started["pull_id"])
        finally:
            events.close()
        bodies = [r.body for r in fake.requests if r.method in ("POST", "DELETE")]
    assert len(bodies) == 2
    for body in bodies:
        assert IPV4.encode() not in body and EMAIL.split("@")[1].encode() not in body
    sends = [e for e in call("get_audit_log", limit=100)["items"] if e["action"] == "egress_send"]
    hashes = {e["details"]["request_sha256"] for e in sends}
    assert {hashlib.sha256(b).hexdigest() for b in bodies} <= hashes
    assert {e["details"]["path"] for e in sends} >= {"/api/delete", "/api/pull"}


# -- the key stays with the address it was entered for -------------------------------------------
def test_the_key_does_not_follow_an_edited_url(fast, call, provider, openai_fake):
    with FakeOpenAI() as other:
        with pytest.raises(TftsrError) as err:
            call("update_ai_provider", provider_id=provider["id"], base_url=other.base_url)
        assert err.value.code == "api_key_reentry_required"
        assert origin_of(other.base_url) in err.value.message
        # Nothing changed: the provider still points at the first server.
        assert call("get_ai_provider", provider_id=provider["id"])["base_url"] == openai_fake.base_url
        call("test_ai_provider", provider_id=provider["id"])
        assert other.requests == []

        # Confirming the new origin moves the key, and the audit names the new address.
        moved = call("update_ai_provider", provider_id=provider["id"], base_url=other.base_url,
                     confirm_origin=origin_of(other.base_url))
        assert moved["api_key_origin"] == origin_of(other.base_url)
        entry = [e for e in call("get_audit_log", limit=20)["items"]
                 if e["action"] == "ai_provider_updated"][0]
        assert entry["details"]["base_url"]["to"] == other.base_url
        assert entry["details"]["api_key"] == "moved"


def test_a_key_bound_elsewhere_is_never_sent(fast, call, provider, openai_fake):
    with FakeOpenAI() as other:
        # The address changes behind the app's back (e.g. an edited database): refuse.
        with fast.db.transaction() as conn:
            conn.execute("UPDATE ai_providers SET base_url = ? WHERE id = ?",
                         (other.base_url, provider["id"]))
        with pytest.raises(TftsrError) as err:
            call("test_ai_provider", provider_id=provider["id"])
        assert err.value.code == "api_key_reentry_required"
        assert other.requests == []


def test_entering_the_key_again_binds_it_to_the_new_address(fast, call, provider):
    with FakeOpenAI() as other:
        updated = call("update_ai_provider", provider_id=provider["id"], base_url=other.base_url,
                       api_key=other.key)
        assert updated["api_key_origin"] == origin_of(other.base_url)
        assert call("test_ai_provider", provider_id=provider["id"])["ok"] is True
        assert other.requests[-1].headers["authorization"] == f"Bearer {other.key}"


# -- secrets echoed back ---------------------------------------------------------------------------
def test_an_echoed_key_never_reaches_the_page_or_the_database(fast, call, make_issue, provider,
                                                                openai_fake):
    key = openai_fake.key
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {key}. Also seen: "
                                            f"{key[:10]}****{key[-6:]}; contact {EMAIL}",
                                 "type": "invalid_request_error"}}).encode()
    openai_fake.push_failure("status", status=401, body=echo,
                             headers={"Content-Type": "application/json"})
    result = call("test_ai_provider", provider_id=provider["id"])
    assert result["ok"] is False
    assert key not in result["message"] and key[:10] not in result["message"]
    assert EMAIL not in result["message"] and "Incorrect API key provided" in result["message"]

    openai_fake.push_failure("status", status=401, body=echo,
                             headers={"Content-Type": "application/json"})
    issue = make_issue()
    sent = call("chat_message", issue_id=issue["id"], content="hello")
    kind, payload = _wait(fast, sent["message_id"])
    assert kind == "ai_error" and key not in payload["message"]
    with fast.db.connection() as conn:
        stored = conn.execute("SELECT error_message FROM ai_messages WHERE id = ?",
                              (sent["message_id"],)).fetchone()["error_message"]
    assert key not in stored and key[:10] not in stored and EMAIL not in stored


def test_scrub_removes_the_key_and_long_runs_copied_from_it():
    key = "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
    text = f"bad key {key}; prefix {key[:12]}…; tail {key[-9:]}; short {key[-4:]}"
    clean = scrub_secrets(text, (key,))
    assert key not in clean and key[:12] not in clean and key[-9:] not in clean
    assert key[-4:] in clean  # four characters name nothing


# -- redact first, then cut -----------------------------------------------------------------------
def test_cut_never_splits_a_placeholder():
    text = "x" * 95 + "[Email-12] tail"
    assert cut(text, 100, "…") == "x" * 95 + "…"
    assert cut("short", 100) == "short"


# -- stable pseudonyms ---------------------------------------------------------------------------
def test_one_value_keeps_its_placeholder_across_log_chat_and_draft(fast, call, make_issue,
                                                                 provider, openai_fake):
    issue = make_issue()
    other = make_issue(title="Another incident")
    log = add_reviewed_log(fast, call, issue["id"], "gw.log",
                           "12:00 upstream 203.0.113.9 refused\n12:01 upstream 198.51.100.4 ok\n"
                           "12:02 upstream 203.0.113.9 refused again\n")
    text = call("get_log_file_content", log_file_id=log["id"])["text"]
    assert text.count("[IPv4-1]") == 2 and "[IPv4-2]" in text

    sent = call("chat_message", issue_id=issue["id"],
                content="Why does 198.51.100.4 work while 203.0.113.9 fails?")
    assert sent["sent_content"] == "Why does [IPv4-2] work while [IPv4-1] fails?"
    _wait(fast, sent["message_id"])

    # The document draft request names the same values the same way.
    call("update_issue", issue_id=issue["id"], description="198.51.100.4 kept working")
    doc = call("generate_rca", issue_id=issue["id"])
    openai_fake.push_reply("=== lessons_learned ===\nAlert earlier.")
    events = EventLog(fast)
    try:
        started = call("draft_document_with_ai", document_id=doc["id"])
        events.wait("document_draft_done", draft_id=started["draft_id"], timeout=30)
    finally:
        events.close()
    draft_request = openai_fake.chat_requests()[-1].json["messages"][1]["content"]
    assert "[IPv4-2] kept working" in draft_request and "198.51.100.4" not in draft_request

    # Another incident numbers its own values from 1.
    elsewhere = call("chat_message", issue_id=other["id"], content="What about 198.51.100.4?")
    assert elsewhere["sent_content"] == "What about [IPv4-1]?"
    _wait(fast, elsewhere["message_id"])


def test_pseudonyms_can_be_switched_off_and_private_addresses_kept(fast, call, make_issue,
                                                                  provider):
    call("update_setting", key="privacy_pseudonyms", value=False)
    call("update_setting", key="privacy_keep_private_ips", value=True)
    issue = make_issue()
    sent = call("chat_message", issue_id=issue["id"],
                content="pod 10.0.3.7 cannot reach 203.0.113.9")
    assert sent["sent_content"] == "pod 10.0.3.7 cannot reach [IPv4]"
    _wait(fast, sent["message_id"])


def test_values_a_reviewer_kept_are_not_redacted_again_at_send(fast, call, make_issue, provider,
                                                              openai_fake):
    from tftsr.evidence.ingest import ingest_log

    issue = make_issue()
    uploaded = ingest_log(fast, issue["id"], "gw.log",
                          [b"12:00 build host ci-runner.example.com used 192.0.2.10\n"])
    log_id = uploaded["log_file"]["id"]
    spans = call("get_pii_spans", log_file_id=log_id)["spans"]
    for span in spans:
        status = "rejected" if span["pii_type"] == "Hostname" else "approved"
        call("set_pii_span_status", span_ids=[span["id"]], status=status)
    call("apply_redactions", log_file_id=log_id)
    sent = call("chat_message", issue_id=issue["id"], content="Look at the log",
                log_file_ids=[log_id])
    _wait(fast, sent["message_id"])
    raw = openai_fake.chat_requests()[-1].body
    assert b"ci-runner.example.com" in raw  # the reviewer's decision holds
    assert b"192.0.2.10" not in raw
