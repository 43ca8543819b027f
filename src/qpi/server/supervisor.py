"""Named, supervised background tasks of the server (STYLE §6).

Each long-lived loop (dispatcher, listener, recovery, housekeeping…) is registered by name. A
loop that dies is logged with its name and restarted with a growing delay; while it is down,
``/api/ready`` reports it. On shutdown every task is cancelled and awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Supervisor"]

logger = logging.getLogger(__name__)

LoopFactory = Callable[[], Awaitable[None]]


@dataclass
class _Entry:
    name: str
    factory: LoopFactory
    task: asyncio.Task[None] | None = None
    failures: int = 0
    healthy: bool = True
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    def __init__(self, on_health: Callable[[list[str]], None] | None = None, *, max_delay: float = 30.0) -> None:
        self._entries: dict[str, _Entry] = {}
        self._on_health = on_health
        self._max_delay = max_delay
        self._running = False

    def add(self, name: str, factory: LoopFactory) -> None:
        """Register a loop; it starts with :meth:`start` (or at once when already running)."""
        if name in self._entries:
            raise ValueError(f"task {name!r} is already registered")
        entry = _Entry(name=name, factory=factory)
        self._entries[name] = entry
        if self._running:
            self._spawn(entry)

    @property
    def failing(self) -> list[str]:
        return sorted(e.name for e in self._entries.values() if not e.healthy)

    async def start(self) -> None:
        self._running = True
        for entry in self._entries.values():
            self._spawn(entry)

    def _spawn(self, entry: _Entry) -> None:
        entry.task = asyncio.create_task(self._run(entry), name=f"qpi:{entry.name}")

    async def _run(self, entry: _Entry) -> None:
        while self._running:
            try:
                await entry.factory()
                if not self._running:
                    return
                raise RuntimeError("the loop returned")
            except asyncio.CancelledError:
                raise
            except Exception:
                entry.failures += 1
                entry.healthy = False
                self._report()
                delay = min(self._max_delay, 0.5 * 2 ** min(entry.failures, 10))
                logger.exception(
                    "background task %s died (failure %d); restarting in %.1f s", entry.name, entry.failures, delay
                )
                await asyncio.sleep(delay)
                entry.healthy = True
                self._report()

    def _report(self) -> None:
        if self._on_health is not None:
            self._on_health(self.failing)

    async def stop(self) -> None:
        self._running = False
        tasks = [e.task for e in self._entries.values() if e.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for entry in self._entries.values():
            entry.task = None
