"""Helpers for the AI tests: an event recorder, short timeouts, reviewed logs."""

from __future__ import annotations

import threading
import time

from tftsr.ai.base import RetryPolicy, Timeouts

FAST_TIMEOUTS = Timeouts(chat=2.0, tools=2.0, connect=2.0, admin=2.0)
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.3)


def make_fast(app) -> None:
    """Seconds instead of minutes: a hung fake fails a test quickly."""
    app.extras["ai_timeouts"] = FAST_TIMEOUTS
    app.extras["ai_retry"] = FAST_RETRY


class EventLog:
    """Records every event the app emits; ``wait`` blocks until one matches."""

    def __init__(self, app):
        self.items: list[tuple[str, dict, float]] = []
        self._cond = threading.Condition()
        self._unsubscribe = app.events.subscribe(self._on)

    def _on(self, name, payload):
        with self._cond:
            self.items.append((name, payload, time.perf_counter()))
            self._cond.notify_all()

    def named(self, name: str, **match) -> list[dict]:
        with self._cond:
            return [p for n, p, _ in self.items if n == name
                    and all(p.get(k) == v for k, v in match.items())]

    def wait(self, name: str, timeout: float = 15.0, **match) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for n, p, _ in self.items:
                    if n == name and all(p.get(k) == v for k, v in match.items()):
                        return p
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {name} event {match} within {timeout} s; got "
                                         f"{[n for n, _, _ in self.items]}")
                self._cond.wait(left)

    def wait_end(self, message_id: str, timeout: float = 15.0) -> tuple[str, dict]:
        """The ai_done or ai_error of one reply."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for n, p, _ in self.items:
                    if n in ("ai_done", "ai_error") and p.get("message_id") == message_id:
                        return n, p
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"reply {message_id} did not end within {timeout} s")
                self._cond.wait(left)

    def close(self):
        self._unsubscribe()


def add_reviewed_log(app, call, issue_id: str, file_name: str, text: str) -> dict:
    """Attach a log through the evidence package and finish its review (every finding
    approved, redactions applied), as a user would."""
    from tftsr.evidence.ingest import ingest_log

    uploaded = ingest_log(app, issue_id, file_name, [text.encode("utf-8")])
    log_id = uploaded["log_file"]["id"]
    spans = call("get_pii_spans", log_file_id=log_id)
    for pii_type in spans["by_type"]:
        call("set_pii_type_status", log_file_id=log_id, pii_type=pii_type, status="approved")
    call("apply_redactions", log_file_id=log_id)
    return {**uploaded["log_file"], "id": log_id}


def add_unreviewed_log(app, issue_id: str, file_name: str, text: str) -> str:
    from tftsr.evidence.ingest import ingest_log

    return ingest_log(app, issue_id, file_name, [text.encode("utf-8")])["log_file"]["id"]
