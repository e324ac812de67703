"""Streaming overhead: from a token leaving the provider to its ``ai_token`` event.

    .venv/bin/python tests/benchmarks/bench_ai_stream.py [--tokens 500] [--runs 3] [--delay-ms 2]

Opens a real encrypted data folder, sets up each wire format against its loopback
server (``tests/fakes``), sends a chat message through the real ``chat_message``
command and records two clocks in the same process: the moment the fake flushed each
token to its socket, and the moment the app emitted the matching ``ai_token`` event
(after HTTP parsing, SSE/NDJSON decoding and the provider module). The difference is
what TFTSR adds per token. Also prints the time from ``chat_message`` returning to the
first token event, and tokens per second end to end. ``--delay-ms`` paces the fake like
a real model (a token every few milliseconds), so the figure is the per-token latency
rather than time spent in a backlog; ``--delay-ms 0`` measures raw throughput instead.

The custom REST gateway answers in one piece, so it has no per-token figure. Nothing is
asserted: this is a measurement.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "backend"))

from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_gemini import FakeGemini
from tests.fakes.fake_mistral import FakeMistral
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.helpers import EventLog, make_fast

FORMATS = {
    "openai": (FakeOpenAI, "gpt-4o-mini"), "anthropic": (FakeAnthropic, "claude-sonnet-4-5"),
    "gemini": (FakeGemini, "gemini-2.0-flash"), "mistral": (FakeMistral, "mistral-small-latest"),
    "ollama": (FakeOllama, "llama3.1:8b"),
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_format(app, call, kind: str, tokens: int, runs: int, delay_ms: float) -> dict:
    fake_cls, model = FORMATS[kind]
    fake = fake_cls().start()
    fake.token_delay = delay_ms / 1000
    events = EventLog(app)
    try:
        provider = call("add_ai_provider", name=f"bench {kind}", kind=kind, base_url=fake.base_url,
                        model=model, api_key=getattr(fake, "key", None), make_active=True)
        issue = call("create_issue", title=f"bench {kind}", severity="low", category="application")["issue"]
        overheads, first_token, rates = [], [], []
        for _ in range(runs):
            fake.token_sent_at.clear()
            fake.push_reply(" ".join(f"t{i}" for i in range(tokens)))
            started = time.perf_counter()
            sent = call("chat_message", issue_id=issue["id"], content="benchmark")
            returned = time.perf_counter()
            events.wait_end(sent["message_id"], timeout=120)
            ended = time.perf_counter()
            emitted = [at for name, payload, at in events.items
                       if name == "ai_token" and payload["message_id"] == sent["message_id"]]
            sent_at = list(fake.token_sent_at)
            n = min(len(emitted), len(sent_at))
            overheads += [(emitted[i] - sent_at[i]) * 1000 for i in range(n)]
            first_token.append((emitted[0] - returned) * 1000)
            rates.append(len(emitted) / (ended - started))
        call("delete_ai_provider", provider_id=provider["id"])
        return {"kind": kind, "n": len(overheads), "p50": pct(overheads, 50), "p95": pct(overheads, 95),
                "p99": pct(overheads, 99), "max": max(overheads),
                "first": statistics.median(first_token), "rate": statistics.median(rates)}
    finally:
        events.close()
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=2.0)
    args = parser.parse_args()
    os.environ.setdefault("TFTSR_NO_KEYRING", "1")
    os.environ["TFTSR_DB_KEY"] = "benchmark key only"
    from tftsr.ai import chat
    from tftsr.app import open_app
    from tftsr.commands import dispatch, load_all

    load_all()
    with tempfile.TemporaryDirectory() as tmp:
        app = open_app(Path(tmp) / "data")
        make_fast(app)

        def call(command, /, **kw):
            return dispatch(app, command, kw)

        print(f"token -> ai_token event overhead, {args.tokens} tokens x {args.runs} runs per format,"
              f" a token every {args.delay_ms:g} ms")
        print(f"{'format':<10} {'tokens':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
              f" {'1st tok ms':>10} {'tok/s':>9}")
        for kind in FORMATS:
            r = run_format(app, call, kind, args.tokens, args.runs, args.delay_ms)
            print(f"{r['kind']:<10} {r['n']:>7} {r['p50']:>8.3f} {r['p95']:>8.3f} {r['p99']:>8.3f}"
                  f" {r['max']:>8.2f} {r['first']:>10.2f} {r['rate']:>9.0f}")
        chat.wait_idle(app, 10)
        app.close()


if __name__ == "__main__":
    main()
