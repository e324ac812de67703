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

    .venv/bin/python tests/benchmarks/bench_ai_stream.py --page [--tokens 500] [--runs 3]

``--page`` measures the whole path to the screen instead: a ``tftsr serve`` subprocess, the
OpenAI-compatible fake in this process, and the app's page in headless Debian Chromium
(Playwright) subscribed to ``/api/events``. Each token's text carries its index; the fake
records the wall-clock time it flushed each one, the page records the wall-clock time
(``performance.timeOrigin + performance.now()``) each ``ai_token`` event arrived, and the
difference per token is what the app, its event stream and the browser add together
(target: under 50 ms). Both clocks are the same machine's.
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


# --- --page: provider socket -> page ------------------------------------------------------

# Runs in the page: a second EventSource on the app's event stream (the page's own UI keeps
# its own) that stamps each ai_token delta on arrival.
PAGE_LISTENER = """() => new Promise((resolve, reject) => {
  window.__bench = {tokens: [], done: new Set()};
  const source = new EventSource('/api/events');
  source.addEventListener('ai_token', (e) => {
    const at = performance.timeOrigin + performance.now();
    const payload = JSON.parse(e.data);
    window.__bench.tokens.push([payload.message_id, payload.delta, at]);
  });
  for (const name of ['ai_done', 'ai_error']) {
    source.addEventListener(name, (e) => window.__bench.done.add(JSON.parse(e.data).message_id));
  }
  source.onopen = () => resolve(true);
  setTimeout(() => reject(new Error('the event stream did not open')), 20000);
})"""


def api(served, command: str, args: dict):
    """POST /api/<command> on the served app (its ``call`` cannot pass an arg named name)."""
    r = served.client.post(f"/api/{command}", json=args)
    r.raise_for_status()
    return r.json()


def run_page(tokens: int, runs: int, delay_ms: float) -> dict:
    """Per-token latency from the fake's socket to the page's ``ai_token`` listener (ms)."""
    import re

    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_served_app

    fake = FakeOpenAI().start()
    fake.token_delay = delay_ms / 1000
    # The fake stamps sends with perf_counter(); the page stamps arrivals in wall-clock ms.
    wall_offset = time.time() - time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        served = start_served_app(Path(tmp) / "data")
        try:
            api(served, "add_ai_provider", {"name": "bench page", "kind": "openai",
                                            "base_url": fake.base_url, "model": "gpt-4o-mini",
                                            "api_key": fake.key, "make_active": True})
            issue = api(served, "create_issue", {"title": "bench page", "severity": "low",
                                                 "category": "application"})["issue"]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                            headless=True)
                page = browser.new_page()
                page.goto(served.url)  # ?token= sets the session cookie the stream needs
                page.evaluate(PAGE_LISTENER)
                clock = page_clock_offset(page)
                latencies, first_token = [], []
                for _ in range(runs):
                    conversation = api(served, "create_conversation", {"issue_id": issue["id"]})
                    fake.token_sent_at.clear()
                    fake.push_reply(" ".join(f"t{i}" for i in range(tokens)))
                    posted = time.time() * 1000
                    sent = api(served, "chat_message", {"conversation_id": conversation["id"],
                                                        "content": "benchmark"})
                    message_id = sent["message_id"]
                    page.wait_for_function("(id) => window.__bench.done.has(id)",
                                           arg=message_id, timeout=120_000, polling=100)
                    arrivals = page.evaluate("(id) => window.__bench.tokens"
                                             ".filter((t) => t[0] === id)"
                                             ".map((t) => [t[1], t[2]])", message_id)
                    sent_ms = [(at + wall_offset) * 1000 for at in fake.token_sent_at]
                    arrived: dict[int, float] = {}
                    for delta, at in arrivals:  # a delta may carry more than one token
                        for index in re.findall(r"t(\d+)", delta):
                            arrived.setdefault(int(index), at)
                    latencies += [arrived[i] - sent_ms[i] for i in range(len(sent_ms))
                                  if i in arrived]
                    if arrivals:
                        first_token.append(arrivals[0][1] - posted)
                    missing = len(sent_ms) - sum(1 for i in range(len(sent_ms)) if i in arrived)
                    if missing:
                        print(f"warning: {missing} tokens never reached the page")
                browser.close()
        finally:
            served.stop()
            fake.stop()
    return {"n": len(latencies), "min": min(latencies), "p50": pct(latencies, 50),
            "p95": pct(latencies, 95), "p99": pct(latencies, 99), "max": max(latencies),
            "first": statistics.median(first_token), "clock": clock}


def page_clock_offset(page, samples: int = 20) -> tuple[float, float]:
    """(page clock - Python clock, uncertainty) in ms, from the tightest of a few reads.

    A sanity check on the comparison of the two clocks: the offset should be within its
    uncertainty of zero."""
    best = None
    for _ in range(samples):
        before = time.time() * 1000
        in_page = page.evaluate("() => performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        if best is None or after - before < best[1] * 2:
            best = (in_page - (before + after) / 2, (after - before) / 2)
    return best


def main_page(args) -> None:
    print(f"provider socket -> page ai_token latency (tftsr serve + headless Chromium), "
          f"{args.tokens} tokens x {args.runs} runs, a token every {args.delay_ms:g} ms")
    r = run_page(args.tokens, args.runs, args.delay_ms)
    print(f"{'tokens':>7} {'min ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'1st tok ms':>10}")
    print(f"{r['n']:>7} {r['min']:>8.2f} {r['p50']:>8.2f} {r['p95']:>8.2f} {r['p99']:>8.2f} "
          f"{r['max']:>8.2f} {r['first']:>10.1f}")
    offset, error = r["clock"]
    print(f"page clock - Python clock: {offset:+.2f} ms (+/- {error:.2f} ms); "
          "1st tok = chat_message posted -> first token in the page")
    print("target: p95 under 50 ms", "(met)" if r["p95"] < 50 else "(NOT met)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=2.0)
    parser.add_argument("--page", action="store_true",
                        help="measure provider socket -> page (tftsr serve + Chromium)")
    args = parser.parse_args()
    if args.page:
        main_page(args)
        return
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
