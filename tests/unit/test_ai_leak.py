"""Nothing sensitive leaves: secrets of every PII type are planted in a reviewed log, in
the incident, in a prompt override and in typed messages; a whole triage conversation
runs against each wire format's loopback server; the raw bytes the server received
must hold none of them, and the audit log's hashes must equal the SHA-256 of exactly
those bytes."""

from __future__ import annotations

import hashlib
import json

import pytest
from tftsr.ai import chat
from tftsr.pii.spans import PII_TYPES

from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_custom_rest import FakeCustomRest
from tests.fakes.fake_gemini import FakeGemini
from tests.fakes.fake_mistral import FakeMistral
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.helpers import EventLog, add_reviewed_log, make_fast

# One planted value per type, for each place text can come from.
LOG_SECRETS = {
    "UrlWithCredentials": "https://svc_admin:L0gPassw0rd9@db.internal.example.com:5432/prod",
    "BearerToken": "Bearer eyJhbGciOiJIUzI1NiJ9logTOKENabcdef1234567890qwerty",
    "ApiKey": "api_key=sk-proj-LOGa1b2C3d4E5f6G7h8I9j0K1l2M3n4",
    "Password": "password=LogWinter2024!",
    "Ssn": "SSN 078-05-1120",
    "CreditCard": "card 5500 0000 0000 0004",
    "Email": "log.author@example.org",
    "MacAddress": "mac 00:1A:2B:3C:4D:5E",
    "Ipv6": "from 2001:db8:85a3::8a2e:370:7334",
    "Ipv4": "client 203.0.113.77",
    "PhoneNumber": "call +1 (415) 555-0142",
    "Hostname": "host payments-db01.corp.example.net down",
    "AwsAccessKey": "AKIAIOSFODNN7EXAMPLE",
    "Jwt": ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsb2ctdXNlciIsIm5hbWUiOiJKb2huIn0"
            ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    "PrivateKey": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7yTHk3nq0T2dbvW8xkLOG\n-----END RSA PRIVATE KEY-----",
    "GitHubToken": "ghp_LOGb2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "GitLabToken": "glpat-LOGb2C3d4E5f6G7h8I9j0",
    "SlackToken": "xoxb-123456789012-1234567890123-LoGdEfGhIjKlMnOpQrStUvWx",
    "SecretAssignment": 'client_secret: "LogQ8vN2pL5rT9wX3y"',
}
TYPED_SECRETS = {
    "UrlWithCredentials": "https://ops:Typ3dPassw0rd@cache.internal.example.com/",
    "BearerToken": "Bearer eyJhbGciOiJIUzI1NiJ9typedTOKENabcdef1234567890zz",
    "ApiKey": "api_key=sk-proj-TYPa1b2C3d4E5f6G7h8I9j0K1l2M3n4",
    "Password": "password=TypedSummer2025!",
    "Ssn": "SSN 219-09-9999",
    "CreditCard": "card 4111 1111 1111 1111",
    "Email": "jane.doe@example.com",
    "MacAddress": "mac 3C:22:FB:11:22:33",
    "Ipv6": "from 2001:db8:1::beef",
    "Ipv4": "client 198.51.100.23",
    "PhoneNumber": "call +44 20 7946 0958",
    "Hostname": "host ledger-api02.prod.example.net down",
    "AwsAccessKey": "AKIAJTYPEDEXAMPLE7QQ",
    "Jwt": ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXBlZC11c2VyIiwibmFtZSI6IkphbmUifQ"
            ".Tf1KxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    "PrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUTYPED\n-----END OPENSSH PRIVATE KEY-----",
    "GitHubToken": "ghp_TYPb2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "GitLabToken": "glpat-TYPb2C3d4E5f6G7h8I9j0",
    "SlackToken": "xoxp-123456789012-1234567890123-TyPdEfGhIjKlMnOpQrStUvWx",
    "SecretAssignment": 'client_secret: "TypQ8vN2pL5rT9wX3y"',
}


def secret_values(planted: dict[str, str]) -> list[str]:
    """The sensitive part of each planted line (what must never be seen)."""
    from tftsr.pii import detect_pii

    values = []
    for pii_type, line in planted.items():
        found = [s.original for s in detect_pii(line) if s.pii_type == pii_type]
        assert found, f"the detector no longer finds the planted {pii_type}: {line!r}"
        values += found
    return values


FAKES = {
    "openai": lambda: FakeOpenAI(), "anthropic": lambda: FakeAnthropic(), "gemini": lambda: FakeGemini(),
    "mistral": lambda: FakeMistral(), "ollama": lambda: FakeOllama(), "custom_rest": lambda: FakeCustomRest(),
}
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.0-flash",
          "mistral": "mistral-small-latest", "ollama": "llama3.1:8b", "custom_rest": "gw"}


def test_every_pii_type_is_planted():
    assert set(LOG_SECRETS) == set(TYPED_SECRETS) == set(PII_TYPES)


@pytest.mark.parametrize("kind", sorted(FAKES))
def test_a_whole_triage_conversation_leaks_nothing(app, call, make_issue, kind):
    make_fast(app)
    events = EventLog(app)
    fake = FAKES[kind]().start()
    try:
        settings = ({"endpoint_path": fake.path, "auth_header": fake.auth_header,
                     "auth_prefix": fake.auth_prefix} if kind == "custom_rest" else None)
        provider = call("add_ai_provider", name=f"{kind} under test", kind=kind, base_url=fake.base_url,
                        model=MODELS[kind], api_key=getattr(fake, "key", None), settings=settings)
        typed = list(TYPED_SECRETS.values())
        issue = make_issue(title=f"Ledger down for {TYPED_SECRETS['Email']}",
                           description="Reported from " + " and ".join(typed[:6]))
        log_text = "\n".join(f"2025-03-01T14:0{i % 10}:00Z ERROR [gateway] failure {line}"
                             for i, line in enumerate(LOG_SECRETS.values()))
        log = add_reviewed_log(app, call, issue["id"], "gateway.log", log_text)

        # 1. a connection test and tool detection
        assert call("test_ai_provider", provider_id=provider["id"])["ok"] is True
        if kind != "custom_rest":
            fake.push_reply("", tool_calls=[{"name": "report_status", "arguments": {"status": "ok"}}])
        call("detect_tool_support", provider_id=provider["id"])
        # 2. the first message with the log and a typed secret of every type
        if kind not in ("custom_rest",):
            fake.push_reply("Recording.", tool_calls=[{"name": "record_why", "arguments": {
                "question": "Why did the gateway fail?", "answer": "Pool exhausted", "evidence": "[Email]"}}])
        fake.push_reply("First look done.")
        first = call("chat_message", issue_id=issue["id"], log_file_ids=[log["id"]],
                     content="Please look. Details: " + "; ".join(typed[6:]))
        assert events.wait_end(first["message_id"])[0] == "ai_done"
        # 3. an override prompt with secrets, then a follow-up message
        call("set_system_prompt", conversation_id=first["conversation_id"],
             prompt="Escalate to " + TYPED_SECRETS["PhoneNumber"] + " or " + TYPED_SECRETS["Email"])
        fake.push_reply("Second look done.")
        second = call("chat_message", conversation_id=first["conversation_id"],
                      content="More: " + "; ".join(typed[:6]))
        assert events.wait_end(second["message_id"])[0] == "ai_done"
        # 4. the log analysis, which sends the redacted log again
        fake.push_reply("Summary done.")
        analysis = call("analyze_logs", issue_id=issue["id"])
        assert events.wait_end(analysis["message_id"])[0] == "ai_done"
        assert chat.wait_idle(app, 10)

        received = [r for r in fake.requests if r.body]
        assert len(received) >= (4 if kind == "custom_rest" else 6)
        raw = b"\n".join(r.body for r in received)
        wire = raw + b"\n".join((r.path + json.dumps(r.query) + json.dumps(r.headers)).encode()
                                for r in fake.requests)
        leaked = [v for v in secret_values(LOG_SECRETS) + secret_values(TYPED_SECRETS)
                  if v.encode() in wire or json.dumps(v)[1:-1].encode() in wire]
        assert leaked == []
        # the redacted forms did arrive, so the test looked at the real traffic
        assert b"[Email-" in raw and b"[CreditCard-" in raw and b"[PrivateKey-" in raw
        if kind != "custom_rest":  # the gateway keeps history itself; the log went with message 1
            assert raw.count(b"gateway.log") >= 2

        sent_hashes = sorted(hashlib.sha256(r.body).hexdigest() for r in received)
        audited = call("get_audit_log", action="ai_send", limit=200)["items"]
        assert sorted(e["details"]["request_sha256"] for e in audited) == sent_hashes
        with_logs = [e for e in audited if e["details"].get("log_file_ids")]
        assert with_logs and all(e["details"]["log_file_ids"] == [log["id"]] for e in with_logs)
        assert call("verify_audit")["ok"] is True
        assert fake.violations == []
    finally:
        chat.wait_idle(app, 10)
        events.close()
        fake.stop()
