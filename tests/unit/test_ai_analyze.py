"""analyze_logs: local counts over the reviewed, redacted logs, then the AI summary."""

from __future__ import annotations

import pytest
from tftsr.ai import chat
from tftsr.ai.analyze import local_summary, summarise_text
from tftsr.errors import TftsrError

from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.helpers import EventLog, add_reviewed_log, add_unreviewed_log, make_fast

LOG = """2025-03-01 14:00:00 INFO [gateway] started
2025-03-01 14:02:11 WARN [gateway] upstream slow: 950 ms
2025-03-01 14:02:13 ERROR [gateway] no live upstreams for pool checkout-7
2025-03-01 14:02:14 ERROR [gateway] no live upstreams for pool checkout-9
Mar  1 14:02:15 web01 nginx[2211]: connect() failed (111: Connection refused)
2025-03-01 14:02:16 ERROR [payments] java.net.SocketTimeoutException: Read timed out
    at com.example.Pay.call(Pay.java:42)
2025-03-01 14:03:00 INFO [gateway] recovered
"""


def test_local_counts_and_first_occurrences():
    s = summarise_text(LOG, log_file_id="x", file_name="gw.log", placeholders=set())
    assert (s["lines"], s["errors"], s["warnings"], s["exceptions"]) == (8, 3, 1, 1)
    assert s["first_error"]["line"] == 3 and s["first_error"]["timestamp"] == "2025-03-01 14:02:13"
    assert s["first_warning"]["line"] == 2
    assert s["first_exception"]["text"].endswith("SocketTimeoutException: Read timed out")
    groups = {g["text"]: g["count"] for g in s["_groups"]}
    assert groups["ERROR [gateway] no live upstreams for pool checkout-N"] == 2
    assert s["_components"]["gateway"] == 3 and s["_components"]["payments"] == 1


def test_summary_text_names_first_error_and_components():
    summary = local_summary([({"id": "a", "file_name": "gw.log"}, LOG)])
    text = summary["summary_text"]
    assert text.startswith("1 log file, 8 lines: 3 error lines, 1 warnings, 1 exception lines.")
    assert "First error at 2025-03-01 14:02:13 in gw.log line 3" in text
    assert summary["key_errors"][0]["count"] == 2
    assert summary["components"][0] == {"name": "gateway", "count": 3}
    assert (summary["first_timestamp"], summary["last_timestamp"]) == ("2025-03-01 14:00:00", "2025-03-01 14:03:00")


@pytest.fixture
def fake():
    server = FakeOpenAI().start()
    yield server
    server.stop()


def test_analyze_logs_without_a_provider_is_local_only(app, call, make_issue):
    issue = make_issue()
    add_reviewed_log(app, call, issue["id"], "gw.log", LOG)
    skipped = add_unreviewed_log(app, issue["id"], "raw.log", "ERROR not reviewed yet\n")
    result = call("analyze_logs", issue_id=issue["id"])
    assert result["local"]["totals"]["errors"] == 3
    assert result["conversation_id"] is None and result["ai_skipped_reason"] == "no AI provider is set up"
    assert result["skipped"] == [{"log_file_id": skipped, "file_name": "raw.log",
                                  "reason": "not reviewed and redacted yet"}]
    with pytest.raises(TftsrError) as err:
        call("analyze_logs", issue_id=issue["id"], log_file_ids=[skipped])
    assert err.value.code == "log_not_reviewed"


def test_analyze_logs_starts_a_chat_with_the_ai_summary(app, call, make_issue, fake):
    make_fast(app)
    events = EventLog(app)
    call("add_ai_provider", name="P", kind="openai", base_url=fake.base_url, model="gpt-4o-mini", api_key=fake.key)
    issue = make_issue()
    log = add_reviewed_log(app, call, issue["id"], "gw.log", LOG)
    fake.push_reply("The gateway lost its upstreams at 14:02:13.")
    result = call("analyze_logs", issue_id=issue["id"])
    kind, done = events.wait_end(result["message_id"])
    assert done["content"] == "The gateway lost its upstreams at 14:02:13."
    body = fake.chat_requests()[0].json
    user = body["messages"][-1]["content"]
    assert "Local counts from the same redacted logs" in user and "Attached log file 'gw.log'" in user
    conversation = call("get_conversation", conversation_id=result["conversation_id"])
    assert conversation["conversation"]["title"] == "Log analysis"
    assert conversation["messages"][0]["log_file_ids"] == [log["id"]]
    # the user carries on in the same conversation
    fake.push_reply("Next, check the pool size.")
    follow = call("chat_message", conversation_id=result["conversation_id"], content="What next?")
    assert events.wait_end(follow["message_id"])[1]["content"] == "Next, check the pool size."
    chat.wait_idle(app, 10)
    events.close()
