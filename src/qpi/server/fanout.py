"""Event fan-out to live streams (``api.md`` §2.11): one pump reads the ``events`` table in id order.

Every state change appends its event in the transaction that makes it (J4); committing code only
wakes the pump (``Hub.publish``). The pump reads new rows and hands each to the subscribers whose
filters and visibility match, so streams see events written by any code path, at least once and
in id order. On PostgreSQL an id can commit after a larger one: ids missing below the high-water
mark are looked up again by id for a few seconds before they are given up as rolled back. With no
stream open the pump pauses and reads nothing; pumps are at least 5 ms apart, so a burst of commits
shares one read.

``job.queue`` events are live only (never stored): for pending jobs a stream watches, positions
are recomputed after changes on their QPU, coalesced to at most one per job per 250 ms.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qpi.aio import wait_event
from qpi.server.context import ServerContext
from qpi.server.store import EventRow

__all__ = ["EventFilter", "FanOut", "Subscriber", "visible"]

logger = logging.getLogger(__name__)

_HOLE_TTL_S = 10.0
_MAX_HOLES = 1000
_BATCH = 5000
_MIN_PUMP_INTERVAL_S = 0.005
_QUEUE_COALESCE_S = 0.25


@dataclass(frozen=True)
class EventFilter:
    types: tuple[str, ...] = ()
    qpu: str | None = None
    driver: str | None = None
    job: str | None = None

    def matches(self, event: EventRow) -> bool:
        if self.types and not any(
            event.type.startswith(t[:-1]) if t.endswith("*") else event.type == t for t in self.types
        ):
            return False
        return all(
            want is None or have == want
            for want, have in ((self.qpu, event.qpu), (self.driver, event.driver), (self.job, event.job))
        )


def visible(event: EventRow, user_id: str, superuser: bool) -> bool:
    """``public`` to everyone signed in, ``owner`` to its ``user``, ``admin`` to superusers (who see all)."""
    if superuser or event.visibility == "public":
        return True
    return event.visibility == "owner" and event.user_id == user_id


@dataclass(eq=False)
class Subscriber:
    user_id: str
    superuser: bool
    filter: EventFilter
    queue: asyncio.Queue[EventRow | dict[str, Any] | None] = field(default_factory=lambda: asyncio.Queue(10_000))
    watched: set[str] = field(default_factory=set)  # pending jobs whose queue position this stream follows
    last_queue: dict[str, tuple[float, Any]] = field(default_factory=dict)
    closed: bool = False

    def offer(self, item: EventRow | dict[str, Any] | None) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.closed = True  # a stalled reader: it reconnects with Last-Event-ID


class FanOut:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._cursor: int | None = None
        self._holes: dict[int, float] = {}
        self._dirty_qpus: set[str] = set()
        self.queue_reader: Callable[[list[Any]], Any] | None = None
        self._deferred = False

    def wake(self, _events: object = None) -> None:
        if self.subscribers:  # nobody listens: no read to do (the pump is paused)
            self._wake.set()

    async def subscribe(self, sub: Subscriber) -> None:
        """Add a stream. After a pause (no streams) the pump starts again from the newest event, read
        here before the stream joins, so that every event committed after this call reaches it."""
        if self._cursor is None:
            cursor = await self.ctx.store.events.latest_id()
            if self._cursor is None:
                self._cursor = cursor
                self._holes.clear()
        self.subscribers.add(sub)
        self._wake.set()

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.closed = True
        if not self.subscribers:
            self._wake.set()  # one last pass: the loop sees nobody and pauses

    def count_for(self, user_id: str) -> int:
        return sum(1 for s in self.subscribers if s.user_id == user_id and not s.closed)

    async def run(self) -> None:
        while True:
            await wait_event(self._wake, _QUEUE_COALESCE_S if self._deferred else 1.0)
            self._deferred = False
            self._wake.clear()
            if not self.subscribers:
                # Nobody listens: reading events would be wasted work on every commit. Pause; the
                # next subscribe() starts from the newest event (a new stream replays older ones
                # from the table itself, by Last-Event-ID).
                self._cursor = None
                self._dirty_qpus.clear()
                continue
            started = time.monotonic()
            await self.pump()
            await self._queue_positions()
            # Commits wake the pump one by one; a short pause lets a burst share one read.
            await asyncio.sleep(max(0.0, _MIN_PUMP_INTERVAL_S - (time.monotonic() - started)))

    async def pump(self) -> None:
        if self._cursor is None:
            return
        rows = await self.ctx.store.events.since(self._cursor, limit=_BATCH)
        now = time.monotonic()
        if self._holes:
            # ids below the high-water mark not seen yet: committed late, or rolled back (given up
            # after _HOLE_TTL_S); looked up by id, never by re-reading the range
            late = await self.ctx.store.events.by_ids(sorted(self._holes))
            for row in late:
                self._holes.pop(row.id, None)
                self._deliver(row)
        for row in rows:
            if row.id <= self._cursor:
                continue
            for missing in range(self._cursor + 1, row.id):
                if len(self._holes) < _MAX_HOLES:
                    self._holes.setdefault(missing, now)
            self._cursor = row.id
            self._deliver(row)
        for event_id, since in list(self._holes.items()):
            if now - since > _HOLE_TTL_S:
                del self._holes[event_id]
        if len(rows) >= _BATCH:
            self._wake.set()

    def _deliver(self, row: EventRow) -> None:
        if row.type.startswith("job.") and row.qpu:
            self._dirty_qpus.add(row.qpu)
        if row.type in ("job.created", "job.requeued") and row.job:
            for sub in self.subscribers:
                if sub.user_id == row.user_id and (sub.filter.job in (None, row.job)):
                    sub.watched.add(row.job)
        for sub in list(self.subscribers):
            if sub.closed:
                continue
            if visible(row, sub.user_id, sub.superuser) and sub.filter.matches(row):
                sub.offer(row)

    async def _queue_positions(self) -> None:
        """``job.queue`` frames for watched pending jobs on QPUs that changed (at most 1 per job per 250 ms)."""
        if not self._dirty_qpus or self.queue_reader is None:
            self._dirty_qpus.clear()
            return
        dirty, self._dirty_qpus = self._dirty_qpus, set()
        watched = {job for sub in self.subscribers if not sub.closed for job in sub.watched}
        if not watched:
            return
        jobs = [j for j in await self.ctx.store.jobs.get_many(sorted(watched)) if j.qpu_id in dirty]
        infos = await self.queue_reader(jobs)
        now = time.monotonic()
        for job in jobs:
            for sub in self.subscribers:
                if job.id not in sub.watched:
                    continue
                if job.state != "pending":
                    sub.watched.discard(job.id)
                    continue
                info = infos.get(job.id)
                previous = sub.last_queue.get(job.id)
                if info is None or (previous is not None and previous[1] == info):
                    continue
                if previous is not None and now - previous[0] < _QUEUE_COALESCE_S:
                    self._dirty_qpus.add(job.qpu_id or "")
                    self._deferred = True  # sent again after the 250 ms window
                    continue
                sub.last_queue[job.id] = (now, info)
                sub.offer(
                    {"type": "job.queue", "job": job.id, "qpu": job.qpu_id, "user": job.owner, "data": {"queue": info}}
                )
