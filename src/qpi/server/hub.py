"""In-process fan-out of committed changes: event subscribers (SSE) and dispatcher wake-ups.

Signals are raised only after the transaction that caused them committed (``scheduling.md`` W2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from qpi.server.store import EventRow

__all__ = ["ALL_QPUS", "Hub"]

logger = logging.getLogger(__name__)

ALL_QPUS = "*"


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[EventRow | None]] = set()
        self._wake_listeners: list[Callable[[str], None]] = []

    # --- events -----------------------------------------------------------------------------

    def subscribe(self, maxsize: int = 10_000) -> asyncio.Queue[EventRow | None]:
        queue: asyncio.Queue[EventRow | None] = asyncio.Queue(maxsize=maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EventRow | None]) -> None:
        self._subscribers.discard(queue)

    def publish(self, events: Iterable[EventRow]) -> None:
        for event in events:
            for queue in list(self._subscribers):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    # A stalled reader: close it; the client resumes with Last-Event-ID.
                    self._subscribers.discard(queue)
                    queue.put_nowait(None) if queue.empty() else None

    # --- dispatcher wake-ups ----------------------------------------------------------------

    def on_wake(self, listener: Callable[[str], None]) -> None:
        self._wake_listeners.append(listener)

    def wake(self, qpu_id: str | None = ALL_QPUS) -> None:
        for listener in self._wake_listeners:
            listener(qpu_id or ALL_QPUS)
