"""In-process signals raised after a commit: event fan-out and dispatcher wake-ups (``scheduling.md`` W2).

Events themselves live in the ``events`` table (written in the transaction that causes them);
``publish`` only wakes the fan-out that reads them, so no event can be missed or reordered here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from qpi.server.store import EventRow

__all__ = ["ALL_QPUS", "Hub"]

logger = logging.getLogger(__name__)

ALL_QPUS = "*"


class Hub:
    def __init__(self) -> None:
        self._publish_listeners: list[Callable[[list[EventRow]], None]] = []
        self._wake_listeners: list[Callable[[str], None]] = []

    def on_publish(self, listener: Callable[[list[EventRow]], None]) -> None:
        self._publish_listeners.append(listener)

    def publish(self, events: Iterable[EventRow]) -> None:
        batch = list(events)
        if not batch:
            return
        for listener in self._publish_listeners:
            listener(batch)

    def on_wake(self, listener: Callable[[str], None]) -> None:
        self._wake_listeners.append(listener)

    def wake(self, qpu_id: str | None = ALL_QPUS) -> None:
        for listener in self._wake_listeners:
            listener(qpu_id or ALL_QPUS)
