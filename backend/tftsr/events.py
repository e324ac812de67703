"""Python -> UI events (AI tokens, progress, approval requests, data changes).

Listeners are the desktop window (which dispatches a DOM CustomEvent) and each open
Server-Sent Events stream in browser mode. Emitting never blocks the caller.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Callable[[str, Any], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[str, Any], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, name: str, payload: Any = None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(name, payload)
            except Exception:  # noqa: BLE001 - one broken listener must not stop others
                log.exception("event listener failed for %s", name)

    def stream(self, max_queue: int = 1000) -> EventStream:
        return EventStream(self, max_queue)


class EventStream:
    """A queue fed by the bus, for one Server-Sent Events client."""

    def __init__(self, bus: EventBus, max_queue: int):
        self.queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._unsubscribe = bus.subscribe(self._put)

    def _put(self, name: str, payload: Any) -> None:
        try:
            self.queue.put_nowait((name, payload))
        except queue.Full:
            log.warning("event stream queue full; dropping %s", name)

    def get(self, timeout: float):
        return self.queue.get(timeout=timeout)

    def close(self) -> None:
        self._unsubscribe()
