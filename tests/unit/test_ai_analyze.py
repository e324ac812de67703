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
    assert text.startswith("1 log file, 8 lines: 3 error lines, 1 warning, 1 exception line.")
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


MIXED = "\n".join([
    "2024/11/14 02:09:58 [notice] 1#1: signal process started",
    '10.0.0.7 - - [14/Nov/2024:02:10:05 +0000] "GET /checkout HTTP/1.1" 200 512 "-" "curl/8"',
    "2024/11/14 02:10:32 [error] 1234#0: *5 connect() failed (111: Connection refused) upstream",
    '10.0.0.7 - - [14/Nov/2024:02:10:40 +0000] "POST /checkout HTTP/1.1" 502 157 "-" "curl/8"',
    '10.0.0.8 - - [14/Nov/2024:02:10:41 +0000] "GET /cart HTTP/1.1" 504 157 "-" "curl/8"',
    "<11>Nov 14 02:11:00 web01 app[77]: worker crashed",
    "<14>Nov 14 02:11:01 web01 app[77]: worker restarted",
    "<12>Nov 14 02:11:02 web01 app[77]: slow start",
    '{"PRIORITY":"3","_SYSTEMD_UNIT":"kubelet.service","MESSAGE":"failed"}',
    "PRIORITY=2",
    "[Thu Nov 14 02:12:00.123456 2024] [proxy:error] [pid 11] AH00957: connect failed",
    "Exception in thread \"main\" java.lang.IllegalStateException: pool closed",
    "Traceback (most recent call last):",
    "ValueError: bad pool size",
    "2024-11-14T02:13:00Z INFO all fine",
])


@pytest.mark.parametrize("line, marker", [
    ("2024/11/14 02:10:32 [error] 1234#0: *5 connect() failed", "nginx/Apache level"),
    ("2024/11/14 02:10:32 [crit] 1234#0: SSL_do_handshake() failed", "nginx/Apache level"),
    ("[Thu Nov 14 02:12:00.1 2024] [core:error] [pid 1] AH00037", "nginx/Apache level"),
    ("E1114 02:10:32.123456   12345 pod_workers.go:1298] Error syncing pod", "klog"),
    ("F1114 02:10:32.123456   12345 server.go:12] failed to run Kubelet", "klog"),
    ("Nov 14 02:10:32 node kubelet[99]: E1114 02:10:32.123456 99 kubelet.go:2] x", "klog"),
    ("<11>Nov 14 02:11:00 web01 app[77]: worker crashed", "syslog priority"),
    ('{"PRIORITY":"2","MESSAGE":"x"}', "journald priority"),
    ('10.0.0.7 - - [14/Nov/2024:02:10:40 +0000] "GET / HTTP/1.1" 503 0 "-" "-"', "HTTP 503"),
    ('{"status": 500, "path": "/pay"}', "HTTP 5xx"),
    ("ts=2024-11-14T02:10:00Z level=error msg=boom", "level field"),
    ('{"level":"fatal","msg":"boom"}', "level field"),
])
def test_error_markers_of_common_formats(line, marker):
    from tftsr.ai.analyze import error_marker

    assert error_marker(line) == marker


@pytest.mark.parametrize("line", [
    "2024/11/14 02:10:32 [notice] 1#1: start", "<14>Nov 14 02:11:01 web01 app[77]: ok",
    '10.0.0.7 - - [14/Nov/2024:02:10:40 +0000] "GET / HTTP/1.1" 200 5000 "-" "-"',
    '10.0.0.7 - - [14/Nov/2024:02:10:40 +0000] "GET / HTTP/1.1" 404 500 "-" "-"',
    "I1114 02:10:32.123456   12345 server.go:1] started", "user error-free run completed",
])
def test_ordinary_lines_are_not_errors(line):
    from tftsr.ai.analyze import error_marker

    assert error_marker(line) is None


def test_first_error_is_found_by_markers_not_one_word():
    s = summarise_text(MIXED, placeholders=set())
    assert s["first_error"]["line"] == 3 and s["first_error"]["marker"] == "nginx/Apache level"
    assert s["errors"] == 10  # nginx, 502, 504, <11>, PRIORITY 3 and 2, Apache, 3 exception lines
    assert s["warnings"] == 1 and s["first_warning"]["line"] == 8  # <12>: priority 4


def test_first_error_across_files_is_the_earliest_in_time():
    kubelet = "I1114 02:09:00.000001   9 a.go:1] ok\nE1114 02:10:01.000001   9 a.go:2] pod failed"
    nginx = "2024/11/14 02:10:32 [error] 1#0: upstream failed"
    app_log = "2024-11-14 02:11:00 ERROR checkout failed"
    summary = local_summary([({"id": "a", "file_name": "app.log"}, app_log),
                             ({"id": "b", "file_name": "nginx.log"}, nginx),
                             ({"id": "c", "file_name": "kubelet.log"}, kubelet)])
    assert "First error at Nov 14 02:10:01.000001 in kubelet.log line 2 (klog)" in summary["summary_text"]


def test_a_klog_time_reads_like_a_syslog_one():
    """klog writes "E1114 02:10:01.000001" (month and day run together, no year): the
    summary says "Nov 14 02:10:01.000001", as a syslog line would, never the raw digits."""
    kubelet = ("I1114 02:09:00.000001   9 a.go:1] started\n"
               "W1114 02:09:30.250000   9 a.go:5] slow PLEG\n"
               "E1114 02:10:01.000001   9 a.go:2] pod failed\n"
               "I0229 23:59:59.999999   9 a.go:3] leap day\n")
    summary = local_summary([({"id": "c", "file_name": "kubelet.log"}, kubelet)])
    [item] = summary["files"]
    assert item["first_error"]["timestamp"] == "Nov 14 02:10:01.000001"
    assert item["first_warning"]["timestamp"] == "Nov 14 02:09:30.250000"
    assert (item["first_timestamp"], item["last_timestamp"]) == ("Nov 14 02:09:00.000001",
                                                                 "Feb 29 23:59:59.999999")
    assert "First error at Nov 14 02:10:01.000001 in kubelet.log line 3 (klog)" in summary["summary_text"]
    assert "at 1114" not in summary["summary_text"]  # the line itself is quoted as it is
    # Beside a file that carries its year, the klog time still orders by month and day.
    nginx = "2024/11/14 02:10:32 [error] 1#0: upstream failed"
    both = local_summary([({"id": "b", "file_name": "nginx.log"}, nginx),
                          ({"id": "c", "file_name": "kubelet.log"}, kubelet)])
    assert "First error at Nov 14 02:10:01.000001 in kubelet.log" in both["summary_text"]
