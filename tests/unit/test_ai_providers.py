"""Each wire format against its loopback server: streaming, tool calls, model lists and
every failure the issue names (401, 429 with Retry-After, 500, a cut stream, a server
that never answers, nothing listening), with the words a person reads."""

from __future__ import annotations

import socket
import threading

import pytest
from tftsr.ai.base import (
    Cancellation,
    Cancelled,
    ChatRequest,
    Message,
    ProviderConfig,
    ProviderError,
    RetryPolicy,
    SendHooks,
    Timeouts,
    ToolCall,
    ToolSpec,
)
from tftsr.ai.providers import PROVIDER_CLASSES

from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_custom_rest import FakeCustomRest
from tests.fakes.fake_gemini import FakeGemini
from tests.fakes.fake_mistral import FakeMistral
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.helpers import FAST_RETRY, FAST_TIMEOUTS

FORMATS = ("openai", "azure_openai", "anthropic", "gemini", "mistral", "ollama", "custom_rest")
WHY_TOOL = ToolSpec("record_why", "Record a why.", {
    "type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"},
                                     "evidence": {"type": "string"}}, "required": ["question"]})
WHY_ARGS = {"question": "Why did the pods restart?", "answer": "OOMKilled at 512Mi",
            "evidence": "kubectl describe: Reason OOMKilled"}
LABELS = {"openai": "OpenAI-compatible", "azure_openai": "Azure OpenAI", "anthropic": "Anthropic",
          "gemini": "Google Gemini", "mistral": "Mistral", "ollama": "Ollama", "custom_rest": "Gateway"}


def make_fake(kind: str):
    return {
        "openai": lambda: FakeOpenAI(),
        "azure_openai": lambda: FakeOpenAI(azure=True),
        "anthropic": lambda: FakeAnthropic(),
        "gemini": lambda: FakeGemini(),
        "mistral": lambda: FakeMistral(),
        "ollama": lambda: FakeOllama(),
        "custom_rest": lambda: FakeCustomRest(),
    }[kind]().start()


def config_for(kind: str, fake, *, key: str | None = None) -> ProviderConfig:
    settings: dict = {}
    model = {"openai": "gpt-4o-mini", "azure_openai": "gpt-4o", "anthropic": "claude-sonnet-4-5",
             "gemini": "gemini-2.0-flash", "mistral": "mistral-small-latest", "ollama": "llama3.1:8b",
             "custom_rest": "gw-model"}[kind]
    if kind == "azure_openai":
        settings = {"deployment": fake.deployment, "api_version": "2024-10-21"}
    if kind == "custom_rest":
        settings = {"endpoint_path": fake.path, "auth_header": fake.auth_header,
                    "auth_prefix": fake.auth_prefix, "user_id": "analyst-7"}
    api_key = key if key is not None else getattr(fake, "key", None)
    return ProviderConfig(kind=kind, base_url=fake.base_url, model=model, api_key=api_key,
                          name=LABELS[kind] if kind == "custom_rest" else "", settings=settings)


def client(kind, fake, *, timeouts: Timeouts = FAST_TIMEOUTS, retry: RetryPolicy = FAST_RETRY, key=None):
    return PROVIDER_CLASSES[kind](config_for(kind, fake, key=key), timeouts=timeouts, retry=retry)


@pytest.fixture(params=FORMATS)
def kind(request):
    return request.param


@pytest.fixture
def fake(kind):
    server = make_fake(kind)
    yield server
    server.stop()


def run(c, request, **kw):
    deltas, result = [], None
    for event in c.stream_chat(request, **kw):
        if event.kind == "text":
            deltas.append(event.text)
        elif event.kind == "done":
            result = event.result
    return deltas, result


def basic_request(text="Why is checkout returning 502?") -> ChatRequest:
    return ChatRequest([Message("system", "You are a triage assistant."), Message("user", text)])


def test_streams_the_reply_token_by_token_with_usage(kind, fake):
    fake.push_reply("The upstream pool is exhausted on node three", input_tokens=42)
    deltas, result = run(client(kind, fake), basic_request())
    assert "".join(deltas) == "The upstream pool is exhausted on node three"
    if kind == "custom_rest":
        assert len(deltas) == 1  # the gateway answers in one piece
    else:
        assert len(deltas) == 8  # one event per streamed token
        assert result.usage.input_tokens == 42
        assert result.usage.output_tokens == 8
    assert result.content == "".join(deltas)
    assert fake.violations == []


def test_the_audit_hook_sees_exactly_the_bytes_the_server_receives(kind, fake):
    seen = []
    hooks = SendHooks(before_send=lambda prepared, attempt: seen.append(prepared.body))
    run(client(kind, fake), basic_request(), hooks=hooks)
    assert seen == [fake.chat_requests()[0].body]


def test_tool_calls_are_parsed_and_results_accepted_back(kind, fake):
    if kind == "custom_rest":
        pytest.skip("the gateway format has no tool calling (markers are used instead)")
    fake.push_reply("", tool_calls=[{"name": "record_why", "arguments": WHY_ARGS}])
    c = client(kind, fake)
    request = ChatRequest([Message("system", "sys"), Message("user", "Find the root cause")], tools=[WHY_TOOL])
    _, result = run(c, request)
    assert [(t.name, t.arguments) for t in result.tool_calls] == [("record_why", WHY_ARGS)]
    call = result.tool_calls[0]
    fake.push_reply("Recorded; next, why was the limit 512Mi?")
    follow = ChatRequest(request.messages + [
        Message("assistant", "", tool_calls=[ToolCall(call.id, call.name, call.arguments)]),
        Message("tool", '{"recorded": true}', tool_call_id=call.id, name=call.name)], tools=[WHY_TOOL])
    deltas, _ = run(c, follow)
    assert "".join(deltas).startswith("Recorded")
    assert fake.violations == []


def test_a_rejected_key_is_explained(kind, fake):
    if kind == "ollama":
        pytest.skip("Ollama takes no key")
    with pytest.raises(ProviderError) as err:
        run(client(kind, fake, key="wrong-key-000000000000"), basic_request())
    assert err.value.code == "ai_auth"
    name = {"openai": "the OpenAI-compatible API", "custom_rest": "Gateway"}.get(kind, LABELS[kind])
    assert f"The API key was rejected by {name}" in err.value.message
    assert len(fake.requests) == 1  # an auth failure is not retried


def test_429_is_retried_after_the_time_retry_after_asks(kind, fake):
    fake.push_failure("status", status=429, headers={"Retry-After": "0"})
    fake.push_reply("fine now")
    waits = []
    hooks = SendHooks(on_retry=lambda attempt, wait, reason: waits.append(wait))
    deltas, _ = run(client(kind, fake), basic_request(), hooks=hooks)
    assert "".join(deltas) == "fine now"
    assert waits == [0.0]
    assert len(fake.chat_requests()) == 2


def test_a_long_retry_after_is_capped(kind, fake):
    fake.push_failure("status", status=429, headers={"Retry-After": "3600"})
    waits = []
    hooks = SendHooks(on_retry=lambda attempt, wait, reason: waits.append(wait))
    run(client(kind, fake), basic_request(), hooks=hooks)
    assert waits == [FAST_RETRY.max_delay]


def test_persistent_500_gives_up_with_a_clear_message(kind, fake):
    for _ in range(FAST_RETRY.attempts):
        fake.push_failure("status", status=500)
    with pytest.raises(ProviderError) as err:
        run(client(kind, fake), basic_request())
    assert err.value.code == "ai_server_error"
    assert "server error (HTTP 500)" in err.value.message
    assert len(fake.chat_requests()) == FAST_RETRY.attempts


def test_rate_limit_that_never_lifts_says_so(kind, fake):
    for _ in range(FAST_RETRY.attempts):
        fake.push_failure("status", status=429, headers={"Retry-After": "0"})
    with pytest.raises(ProviderError) as err:
        run(client(kind, fake), basic_request())
    assert err.value.code == "ai_rate_limited"
    assert "limiting requests" in err.value.message


def test_a_stream_cut_in_the_middle_is_reported(kind, fake):
    fake.push_reply("one two three four five six")
    fake.push_failure("cut", after_tokens=2)
    deltas = []
    with pytest.raises(ProviderError) as err:
        for event in client(kind, fake).stream_chat(basic_request()):
            if event.kind == "text":
                deltas.append(event.text)
    assert err.value.code == "ai_bad_response"
    assert "cut off in the middle of the reply" in err.value.message
    if kind != "custom_rest":
        assert deltas == ["one ", "two "]


def test_a_server_that_never_answers_times_out(kind, fake):
    fake.push_failure("hang")
    short = Timeouts(chat=0.5, tools=0.5, connect=1.0, admin=0.5)
    with pytest.raises(ProviderError) as err:
        run(client(kind, fake, timeouts=short), basic_request())
    assert err.value.code == "ai_timeout"
    assert "did not answer within 0.5 seconds" in err.value.message


def test_tools_use_the_longer_timeout():
    c = PROVIDER_CLASSES["openai"](ProviderConfig("openai", "http://127.0.0.1:9", "m"))
    assert (c.timeouts.chat, c.timeouts.tools) == (60.0, 180.0)


def test_nothing_listening_is_explained(kind):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = ProviderConfig(kind=kind, base_url=f"http://127.0.0.1:{port}", model="m", api_key="k" * 20,
                         settings={"deployment": "d"} if kind == "azure_openai" else {})
    with pytest.raises(ProviderError) as err:
        run(PROVIDER_CLASSES[kind](cfg, timeouts=FAST_TIMEOUTS, retry=FAST_RETRY), basic_request())
    assert err.value.code == "ai_unreachable"
    if kind == "ollama":
        assert err.value.message.startswith(f"Ollama is not running at http://127.0.0.1:{port}")
    else:
        assert f"is not reachable at http://127.0.0.1:{port} (connection refused)" in err.value.message


def test_stop_cancels_a_stalled_stream(kind, fake):
    fake.push_reply("alpha beta gamma delta epsilon")
    fake.push_failure("stall", after_tokens=2)
    cancel = Cancellation()
    got, outcome = [], {}
    long_wait = Timeouts(chat=30, tools=30, connect=2, admin=2)

    def consume():
        try:
            for event in client(kind, fake, timeouts=long_wait).stream_chat(basic_request(), cancel=cancel):
                if event.kind == "text":
                    got.append(event.text)
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    worker = threading.Thread(target=consume)
    worker.start()
    if kind == "custom_rest":
        while not fake.requests:
            worker.join(0.01)
    else:
        while len(got) < 2:
            worker.join(0.01)
            assert worker.is_alive(), outcome
    cancel.cancel()
    worker.join(10)
    assert not worker.is_alive(), "the stream kept reading after cancel"
    assert isinstance(outcome.get("error"), Cancelled)


def test_list_models(kind, fake):
    c = client(kind, fake)
    if not c.supports_list_models:
        assert c.list_models() == []
        return
    models = c.list_models()
    expected = {"openai": ["gpt-4o-mini"], "anthropic": ["claude-sonnet-4-5"],
                "gemini": ["gemini-2.0-flash"], "mistral": ["mistral-small-latest"],
                "ollama": ["llama3.1:8b"]}[kind]
    assert [m.id for m in models] == expected  # gemini's embedding-only model is left out
    assert fake.violations == []


def test_azure_uses_deployment_path_api_version_and_api_key_header():
    with FakeOpenAI(azure=True, deployment="prod-gpt4o") as fake:
        run(client("azure_openai", fake), basic_request())
        req = fake.chat_requests()[0]
        assert req.path == "/openai/deployments/prod-gpt4o/chat/completions"
        assert req.query["api-version"] == ["2024-10-21"]
        assert req.headers["api-key"] == fake.key and "authorization" not in req.headers
        assert "model" not in req.json


def test_gemini_key_travels_in_the_header_never_the_url():
    with FakeGemini() as fake:
        run(client("gemini", fake), basic_request())
        req = fake.chat_requests()[0]
        assert fake.key not in req.path and "key" not in req.query
        assert req.headers["x-goog-api-key"] == fake.key
        assert req.json["systemInstruction"]["parts"][0]["text"] == "You are a triage assistant."


def test_anthropic_headers_and_system_field():
    with FakeAnthropic() as fake:
        run(client("anthropic", fake), basic_request())
        req = fake.chat_requests()[0]
        assert req.headers["anthropic-version"] == "2023-06-01"
        assert req.headers["x-api-key"] == fake.key
        assert req.json["system"] == "You are a triage assistant."
        assert all(m["role"] != "system" for m in req.json["messages"])


def test_mistral_sends_no_openai_only_fields():
    with FakeMistral() as fake:
        _, result = run(client("mistral", fake), basic_request())
        assert "stream_options" not in fake.chat_requests()[0].json
        assert result.usage.output_tokens is not None
        assert fake.violations == []


def test_ollama_names_a_missing_model():
    with FakeOllama(models=("qwen2.5:7b",)) as fake:
        with pytest.raises(ProviderError) as err:
            run(client("ollama", fake), basic_request())
        assert "Ollama does not have the model 'llama3.1:8b'" in err.value.message


def test_custom_rest_sends_only_the_newest_prompt_with_session_and_user():
    with FakeCustomRest() as fake:
        c = client("custom_rest", fake)
        first = ChatRequest([Message("system", "SYS"), Message("user", "first question")], session_id="s-1")
        run(c, first)
        second = ChatRequest(first.messages + [Message("assistant", "OK"), Message("user", "second")],
                             session_id="s-1")
        run(c, second)
        assert fake.sessions["s-1"] == ["SYS\n\nfirst question", "second"]
        bodies = [r.json for r in fake.chat_requests()]
        assert {b["userId"] for b in bodies} == {"analyst-7"}
        assert fake.requests[0].headers["x-gateway-key"] == "Token " + fake.key
