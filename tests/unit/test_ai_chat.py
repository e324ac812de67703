"""The triage chat through the real command dispatcher, a real SQLCipher database and
loopback providers: streaming events, stop, token counts, conversations, the PII gate,
the audit entry before each request, tool calls and the 5-Whys proposals."""

from __future__ import annotations

import hashlib
import json

import pytest
from tftsr.ai import chat
from tftsr.ai.base import Timeouts
from tftsr.errors import TftsrError
from tftsr.issues.domains import DOMAIN_IDS

from tests.fakes.fake_custom_rest import FakeCustomRest
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.helpers import EventLog, add_unreviewed_log, make_fast


@pytest.fixture
def events(app):
    make_fast(app)
    log = EventLog(app)
    yield log
    chat.wait_idle(app, 10)
    log.close()


def audit_sends(call):
    return [e for e in call("get_audit_log", action="ai_send", limit=200)["items"]]


def send(call, events, **args):
    sent = call("chat_message", **args)
    kind, payload = events.wait_end(sent["message_id"])
    return sent, kind, payload


# -- providers ------------------------------------------------------------------------------------
def test_api_keys_are_encrypted_and_never_returned(app, call, provider, openai_fake):
    key = openai_fake.key
    assert provider["api_key_masked"] == "sk-…1234" and provider["api_key_set"] is True
    everything = json.dumps([call("list_ai_providers"), call("get_ai_provider", provider_id=provider["id"]),
                             call("update_ai_provider", provider_id=provider["id"], name="Renamed")])
    assert key not in everything and key[3:-4] not in everything
    with app.db.connection() as conn:
        stored = conn.execute("SELECT api_key_encrypted FROM ai_providers").fetchone()["api_key_encrypted"]
    assert key not in stored
    from tftsr.secrets import decrypt_secret
    assert decrypt_secret(app, stored) == key
    # leaving the key out keeps it; "" removes it
    assert call("update_ai_provider", provider_id=provider["id"], model="gpt-4o-mini")["api_key_set"] is True
    assert call("update_ai_provider", provider_id=provider["id"], api_key="")["api_key_masked"] is None


def test_one_active_provider_and_switching(call, provider):
    second = call("add_ai_provider", name="Local", kind="ollama", model="llama3.1:8b")
    assert provider["is_active"] and not second["is_active"]
    call("set_active_ai_provider", provider_id=second["id"])
    listed = call("list_ai_providers")
    assert listed["active_provider_id"] == second["id"]
    assert [p["is_active"] for p in listed["items"]] == [False, True]
    assert {k["kind"] for k in listed["kinds"]} == {"openai", "azure_openai", "anthropic", "gemini",
                                                   "mistral", "ollama", "custom_rest"}
    assert call("delete_ai_provider", provider_id=second["id"])["active_provider_id"] == provider["id"]


def test_provider_settings_are_validated(call):
    with pytest.raises(TftsrError, match="Deployment name is required"):
        call("add_ai_provider", name="Az", kind="azure_openai", base_url="https://x.openai.azure.com",
             model="gpt-4o", api_key="k" * 20)
    with pytest.raises(TftsrError, match="base_url must be an http"):
        call("add_ai_provider", name="Bad", kind="openai", base_url="file:///etc/passwd", model="m")
    with pytest.raises(TftsrError, match="Unknown setting"):
        call("add_ai_provider", name="Bad", kind="openai", model="m", settings={"proxy": "x"})


def test_connection_test_and_model_list(call, provider, openai_fake):
    ok = call("test_ai_provider", provider_id=provider["id"])
    assert ok["ok"] is True and ok["reply_preview"] == "OK"
    assert call("list_ai_models", provider_id=provider["id"]) == {
        "supported": True, "models": [{"id": "gpt-4o-mini", "label": "gpt-4o-mini", "details": {"owned_by": "openai"}}]}
    call("update_ai_provider", provider_id=provider["id"], api_key="sk-wrong-000000000000")
    bad = call("test_ai_provider", provider_id=provider["id"])
    assert bad["ok"] is False and bad["code"] == "ai_auth"
    assert "The API key was rejected" in bad["message"]
    # connection tests leave the machine too, so they are audited
    assert [e["details"]["purpose"] for e in audit_sends(call)] == ["connection_test", "connection_test"]


def test_tool_support_is_detected_with_a_test_tool(call, provider, openai_fake):
    openai_fake.push_reply("", tool_calls=[{"name": "report_status", "arguments": {"status": "ok"}}])
    assert call("detect_tool_support", provider_id=provider["id"])["supports_tools"] is True
    assert call("get_ai_provider", provider_id=provider["id"])["supports_tools"] is True
    openai_fake.push_reply("I cannot call tools.")
    assert call("detect_tool_support", provider_id=provider["id"])["supports_tools"] is False


def test_ollama_model_without_tools_is_detected(call, app):
    make_fast(app)
    with FakeOllama(models=("gemma2:9b",), tool_models=()) as fake:
        p = call("add_ai_provider", name="Local", kind="ollama", base_url=fake.base_url, model="gemma2:9b")
        result = call("detect_tool_support", provider_id=p["id"])
        assert result["supports_tools"] is False
        assert "does not support tools" in result["message"]


# -- streaming --------------------------------------------------------------------------------------
def test_reply_streams_as_events_with_token_counts(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    openai_fake.push_reply("Check the upstream pool size first", input_tokens=120)
    sent, kind, done = send(call, events, issue_id=issue["id"], content="Where should I start?")
    assert kind == "ai_done" and done["status"] == "complete"
    deltas = [e["delta"] for e in events.named("ai_token", message_id=sent["message_id"])]
    assert deltas == ["Check ", "the ", "upstream ", "pool ", "size ", "first"]
    assert done["content"] == "".join(deltas)
    detail = call("get_conversation", conversation_id=sent["conversation_id"])
    user, assistant = detail["messages"]
    assert (user["role"], user["content"], user["token_count"]) == ("user", "Where should I start?", 120)
    assert (assistant["role"], assistant["status"], assistant["token_count"]) == ("assistant", "complete", 6)
    assert detail["conversation"]["total_tokens"] == 126
    assert detail["conversation"]["title"] == "Where should I start?"
    assert call("get_issue", issue_id=issue["id"])["conversations"][0]["id"] == sent["conversation_id"]


def test_conversations_resume_rename_and_coexist(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    first, _, _ = send(call, events, issue_id=issue["id"], content="First question")
    openai_fake.push_reply("Second answer")
    send(call, events, conversation_id=first["conversation_id"], content="Follow-up")
    history = openai_fake.chat_requests()[-1].json["messages"]
    assert [(m["role"], m["content"]) for m in history[1:]] == [
        ("user", "First question"), ("assistant", "OK"), ("user", "Follow-up")]
    other, _, _ = send(call, events, issue_id=issue["id"], content="A separate thread")
    assert other["conversation_id"] != first["conversation_id"]
    call("rename_conversation", conversation_id=first["conversation_id"], title="Pool sizing")
    listed = call("list_conversations", issue_id=issue["id"])
    assert {c["title"] for c in listed} == {"Pool sizing", "A separate thread"}
    assert {c["message_count"] for c in listed} == {4, 2}


def test_stop_really_cancels_the_request(app, call, events, make_issue, provider, openai_fake):
    app.extras["ai_timeouts"] = Timeouts(chat=30, tools=30, connect=2, admin=2)
    openai_fake.push_reply("alpha beta gamma delta epsilon")
    openai_fake.push_failure("stall", after_tokens=2)
    sent = call("chat_message", issue_id=make_issue()["id"], content="go")
    events.wait("ai_token", message_id=sent["message_id"], delta="beta ")
    assert call("stop_generation", message_id=sent["message_id"]) == {"stopped": True}
    kind, done = events.wait_end(sent["message_id"], timeout=10)
    assert kind == "ai_done" and done["stopped"] is True and done["content"] == "alpha beta "
    assert chat.wait_idle(app, 5)
    message = call("get_conversation", conversation_id=sent["conversation_id"])["messages"][1]
    assert (message["status"], message["content"]) == ("stopped", "alpha beta ")
    assert call("stop_generation", message_id=sent["message_id"]) == {"stopped": False}


def test_provider_failure_arrives_as_an_error_event(call, events, make_issue, provider, openai_fake):
    for _ in range(3):
        openai_fake.push_failure("status", status=503)
    sent, kind, payload = send(call, events, issue_id=make_issue()["id"], content="hello")
    assert kind == "ai_error" and payload["code"] == "ai_server_error"
    assert "server error (HTTP 503)" in payload["message"]
    assert len(events.named("ai_retry", message_id=sent["message_id"])) == 2
    message = call("get_conversation", conversation_id=sent["conversation_id"])["messages"][1]
    assert message["status"] == "error" and message["error"]["code"] == "ai_server_error"


def test_no_provider_is_a_clear_error(call, make_issue):
    with pytest.raises(TftsrError) as err:
        call("chat_message", issue_id=make_issue()["id"], content="hi")
    assert err.value.code == "ai_no_provider"


def test_conversation_can_switch_provider(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    first, _, _ = send(call, events, issue_id=issue["id"], content="one")
    with FakeOllama() as ollama:
        local = call("add_ai_provider", name="Local", kind="ollama", base_url=ollama.base_url,
                     model="llama3.1:8b")
        switched = call("set_conversation_provider", conversation_id=first["conversation_id"],
                        provider_id=local["id"])
        assert (switched["provider"], switched["model"]) == ("ollama", "llama3.1:8b")
        ollama.push_reply("from the local model")
        _, kind, done = send(call, events, conversation_id=first["conversation_id"], content="two")
        assert done["content"] == "from the local model"
        assert len(openai_fake.chat_requests()) == 1 and len(ollama.chat_requests()) == 1


# -- PII gate and audit -------------------------------------------------------------------------------
def test_typed_pii_is_removed_before_sending_with_a_notice(call, events, make_issue, provider, openai_fake):
    typed = "Ask jane.doe@example.com why 10.20.30.40 refuses connections"
    sent, _, _ = send(call, events, issue_id=make_issue()["id"], content=typed)
    assert sent["sent_content"] == "Ask [Email-1] why [IPv4-1] refuses connections"
    assert [(r["pii_type"], r["preview"]) for r in sent["redactions"]] == [("Email", "j…@e…m"), ("Ipv4", "1…0")]
    assert sent["notice"] == "2 items were removed before sending: Email address, IPv4 address."
    raw = openai_fake.chat_requests()[0].body
    assert b"jane.doe@example.com" not in raw and b"10.20.30.40" not in raw
    assert b"Ask [Email-1] why [IPv4-1]" in raw
    shown = call("get_message_redactions", message_id=sent["user_message_id"])
    assert [i["original"] for i in shown["items"]] == ["jane.doe@example.com", "10.20.30.40"]
    listed = call("get_conversation", conversation_id=sent["conversation_id"])["messages"][0]
    assert "jane.doe" not in json.dumps(listed)


def test_an_unreviewed_log_is_refused_by_name(app, call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    log_id = add_unreviewed_log(app, issue["id"], "gateway.log", "ERROR upstream timeout\n")
    with pytest.raises(TftsrError) as err:
        call("chat_message", issue_id=issue["id"], content="look", log_file_ids=[log_id])
    assert err.value.code == "log_not_reviewed"
    assert "gateway.log" in err.value.message
    assert err.value.to_dict()["log_file_id"] == log_id
    assert openai_fake.requests == []
    assert call("list_conversations", issue_id=issue["id"]) == []


def test_audit_entry_is_written_before_the_request_with_its_hash(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    sent, _, _ = send(call, events, issue_id=issue["id"], content="What changed at 14:00?")
    entries = audit_sends(call)
    assert len(entries) == 1
    details = entries[0]["details"]
    body = openai_fake.chat_requests()[0].body
    assert details["request_sha256"] == hashlib.sha256(body).hexdigest()
    assert (details["provider"], details["model"], details["log_file_ids"]) == ("Team OpenAI", "gpt-4o-mini", [])
    assert details["request_bytes"] == len(body)
    assert call("verify_audit")["ok"] is True


def test_the_audit_entry_exists_even_when_the_request_fails(call, events, make_issue, provider, openai_fake):
    openai_fake.push_failure("hang")
    sent, kind, payload = send(call, events, issue_id=make_issue()["id"], content="hi")
    assert kind == "ai_error" and payload["code"] == "ai_timeout"
    assert len(audit_sends(call)) == 1


# -- system prompts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("domain", DOMAIN_IDS)
def test_every_domain_prompt_ends_with_the_five_phase_method(call, domain):
    view = call("get_system_prompt", domain=domain)
    phases = ["1. Detect & gather evidence", "2. Diagnose", "3. 5-Whys root cause",
              "4. Resolve & prevent", "5. Post-incident review"]
    positions = [view["prompt"].index(p) for p in phases]
    assert positions == sorted(positions)
    assert view["prompt"].rstrip().endswith("blameless tone.")
    assert view["overridden"] is False


def test_prompt_override_per_conversation(call, events, make_issue, provider, openai_fake):
    issue = make_issue(category="kubernetes")
    first, _, _ = send(call, events, issue_id=issue["id"], content="one")
    default = openai_fake.chat_requests()[0].json["messages"][0]["content"]
    assert "Kubernetes" in default and "record_why tool" in default
    view = call("set_system_prompt", conversation_id=first["conversation_id"],
                prompt="Answer as a Helm expert. Contact ops@example.com.")
    assert view["overridden"] is True
    send(call, events, conversation_id=first["conversation_id"], content="two")
    system = openai_fake.chat_requests()[1].json["messages"][0]["content"]
    assert system.startswith("Answer as a Helm expert. Contact [Email-1].")
    assert call("set_system_prompt", conversation_id=first["conversation_id"], prompt=None)["overridden"] is False


# -- tools and the 5-Whys ----------------------------------------------------------------------------
WHY = {"question": "Why did checkout return 502?", "answer": "The upstream pool was exhausted",
       "evidence": "nginx: no live upstreams (1,204 times from 14:02)"}


def test_record_why_tool_call_is_persisted_shown_and_confirmed(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    openai_fake.push_reply("Let me record that.", tool_calls=[{"name": "record_why", "arguments": WHY}])
    openai_fake.push_reply("Recorded. Next: why was the pool exhausted?")
    sent, kind, done = send(call, events, issue_id=issue["id"], content="Walk me through it")
    assert kind == "ai_done"
    assert done["content"] == "Let me record that.\n\nRecorded. Next: why was the pool exhausted?"
    shown = events.named("ai_tool_call", message_id=sent["message_id"])
    assert [e["tool_call"]["status"] for e in shown] == ["pending", "ok"]
    tool_msg = openai_fake.chat_requests()[1].json["messages"][-1]
    assert tool_msg["role"] == "tool" and json.loads(tool_msg["content"])["recorded"] is True
    assistant = call("get_conversation", conversation_id=sent["conversation_id"])["messages"][1]
    [stored] = assistant["tool_calls"]
    assert (stored["tool_name"], stored["arguments"], stored["status"]) == ("record_why", WHY, "ok")
    assert stored["result"]["status"] == "pending_user_confirmation"
    # nothing reaches the 5-Whys until the user confirms
    assert call("list_five_whys", issue_id=issue["id"]) == []
    [proposal] = done["why_proposals"]
    assert (proposal["status"], proposal["source"]) == ("pending", "tool")
    assert done["why_progress"] == {"level": 0, "pending": 1, "root_cause_set": False, "max": 5}
    result = call("confirm_why_proposal", proposal_id=proposal["id"], answer="Pool of 20 was exhausted")
    assert result["step"]["answer"] == "Pool of 20 was exhausted"
    assert result["step"]["evidence"] == WHY["evidence"]
    assert result["progress"] == {"level": 1, "pending": 0, "root_cause_set": False, "max": 5}
    types = [e["event_type"] for e in call("get_timeline_events", issue_id=issue["id"])]
    assert "why_level_advanced" in types
    with pytest.raises(TftsrError, match="already accepted"):
        call("confirm_why_proposal", proposal_id=proposal["id"])


def test_root_cause_proposal_marks_the_step(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    openai_fake.push_reply("", tool_calls=[{"name": "record_why", "arguments": {**WHY, "is_root_cause": True}}])
    openai_fake.push_reply("That is the root cause.")
    _, _, done = send(call, events, issue_id=issue["id"], content="go")
    [proposal] = done["why_proposals"]
    assert proposal["suggested_root_cause"] is True
    result = call("confirm_why_proposal", proposal_id=proposal["id"])
    assert result["step"]["is_root_cause"] is True and result["progress"]["root_cause_set"] is True
    types = [e["event_type"] for e in call("get_timeline_events", issue_id=issue["id"])]
    assert "root_cause_identified" in types


def test_dismissed_proposals_stay_out_of_the_five_whys(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    openai_fake.push_reply("", tool_calls=[{"name": "record_why", "arguments": WHY}])
    openai_fake.push_reply("ok")
    _, _, done = send(call, events, issue_id=issue["id"], content="go")
    result = call("dismiss_why_proposal", proposal_id=done["why_proposals"][0]["id"])
    assert result["proposal"]["status"] == "dismissed" and result["progress"]["pending"] == 0
    assert call("list_five_whys", issue_id=issue["id"]) == []


def test_tool_loop_stops_at_the_iteration_cap(app, call, events, make_issue, provider, openai_fake):
    app.extras["ai_max_tool_rounds"] = 3
    for _ in range(5):
        openai_fake.push_reply("", tool_calls=[{"name": "unknown_tool", "arguments": {}}])
    sent, kind, done = send(call, events, issue_id=make_issue()["id"], content="loop")
    assert kind == "ai_done"
    assert len(openai_fake.chat_requests()) == 3
    calls = call("get_conversation", conversation_id=sent["conversation_id"])["messages"][1]["tool_calls"]
    assert [(c["status"], c["error"]) for c in calls] == [("error", "There is no tool named 'unknown_tool'.")] * 3


def test_providers_without_tools_use_the_why_marker(app, call, events, make_issue):
    make_fast(app)
    issue = make_issue()
    with FakeCustomRest() as gateway:
        call("add_ai_provider", name="Gateway", kind="custom_rest", base_url=gateway.base_url,
             model="gw", api_key=gateway.key, settings={"endpoint_path": gateway.path,
                                                         "auth_header": gateway.auth_header,
                                                         "auth_prefix": gateway.auth_prefix})
        gateway.push_reply("Here is the first why.\n```why\n" + json.dumps(WHY) + "\n```\nWhat next?")
        _, kind, done = send(call, events, issue_id=issue["id"], content="start")
        prompt = gateway.chat_requests()[0].json["prompt"]
        assert "```why" in prompt and "record_why" not in prompt
    [proposal] = done["why_proposals"]
    assert (proposal["source"], proposal["question"], proposal["evidence"]) == ("marker", WHY["question"], WHY["evidence"])
    assert call("list_why_proposals", issue_id=issue["id"])["progress"]["pending"] == 1


def test_keywords_alone_never_create_a_why(call, events, make_issue, provider, openai_fake):
    issue = make_issue()
    openai_fake.push_reply("Why did it fail? Because the root cause is the disk. Root cause: disk full.")
    _, _, done = send(call, events, issue_id=issue["id"], content="why?")
    assert done["why_proposals"] == []
    assert call("list_why_proposals", issue_id=issue["id"])["items"] == []
