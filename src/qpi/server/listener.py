"""The listener loop: applies what drivers send, fenced by session, lease driver and attempt.

It drains the links' inbox in batches: messages of one driver are applied in arrival order, and
every batch's writes share transactions, so a burst of ``JobAccepted``/``JobStarted``/``JobResult``
costs one commit. Acks, ``Welcome`` and cancels are sent after the commit (F3); dispatcher
wake-ups are raised after it too (W2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from qpi.errors import LinkError
from qpi.protocol.messages import (
    CancelJob,
    CancelJobBody,
    CancelReason,
    CryostatReading,
    DeviceInfo,
    Envelope,
    Goodbye,
    Heartbeat,
    Hello,
    JobAccepted,
    JobProgress,
    JobRef,
    JobRejected,
    JobResult,
    JobStarted,
    ResultAck,
    ResultAckBody,
    Telemetry,
    UnknownMessage,
    Welcome,
    WelcomeBody,
    decode,
)
from qpi.protocol.messages import LinkState as MessageLinkState
from qpi.server.auth.ratelimit import TokenBuckets
from qpi.server.clock import from_us
from qpi.server.context import ServerContext
from qpi.server.links import Inbound, Link, LinkManager
from qpi.server.results import ResultHandler
from qpi.server.store import EventRow

__all__ = ["Listener"]

logger = logging.getLogger(__name__)


class Listener:
    def __init__(self, ctx: ServerContext, links: LinkManager, results: ResultHandler) -> None:
        self.ctx = ctx
        self.links = links
        self.results = results
        self._unknown_logged: set[tuple[str, int, str]] = set()
        self.on_held_list: Callable[[], None] | None = None
        self._held_seen = False
        rate = ctx.config.event_rate_limit
        self._event_buckets = TokenBuckets(rate, rate, ctx.clock.monotonic)
        self._drop_logged: dict[str, float] = {}

    async def run(self) -> None:
        inbox = self.links.inbox
        while True:
            batch = [await inbox.get()]
            while not inbox.empty() and len(batch) < 256:
                batch.append(inbox.get_nowait())
            await self.handle(batch)

    async def handle(self, batch: list[Inbound]) -> None:
        outgoing: list[tuple[str, Envelope]] = []
        events: list[EventRow] = []
        self._held_seen = False
        wake: set[str] = set()
        async with self.ctx.store.db.transaction():
            for item in batch:
                link = self.links.links.get(item.driver_id)
                if link is None or link.session != item.session:
                    continue  # a message of an older session (P-1.4 fences pipes; this fences the queue)
                message = decode(item.data)
                link.last_seen_us = max(link.last_seen_us, item.received_us)
                try:
                    await self._apply(link, message, item, outgoing, events, wake)
                except LinkError:
                    raise
                except Exception:
                    logger.exception("driver=%s failed to apply %s", link.driver_id, type(message).__name__)
                    raise
            await self._touch(batch)
        self.ctx.hub.publish(events)
        if self._held_seen and self.on_held_list is not None:
            self.on_held_list()  # Hello, Heartbeat and Goodbye change what is known of held attempts
        for qpu_id in wake:
            self.ctx.hub.wake(qpu_id)
        for driver_id, reply in outgoing:
            try:
                await self.links.send(driver_id, reply)
            except LinkError as exc:
                logger.warning("driver=%s could not send %s: %s", driver_id, type(reply).__name__, exc)

    async def _touch(self, batch: Iterable[Inbound]) -> None:
        """``last_seen`` in the database, at most once per heartbeat interval (P-4.2)."""
        latest: dict[str, int] = {}
        for item in batch:
            latest[item.driver_id] = max(latest.get(item.driver_id, 0), item.received_us)
        every = int(self.ctx.config.heartbeat_interval * 1_000_000)
        for driver_id, seen in latest.items():
            link = self.links.links.get(driver_id)
            if link is None:
                continue
            if seen - link.db_seen_us >= every:
                link.db_seen_us = seen
                await self.ctx.store.drivers.touch(driver_id, seen, workers_ready=link.workers_ready)

    async def _apply(
        self,
        link: Link,
        msg: Any,
        item: Inbound,
        out: list[tuple[str, Envelope]],
        events: list[EventRow],
        wake: set[str],
    ) -> None:
        d = link.driver_id
        now_us = item.received_us
        if isinstance(msg, Hello | Heartbeat | Goodbye):
            self._held_seen = True
        if isinstance(msg, Hello):
            await self._hello(link, msg, now_us, out, events, wake)
        elif isinstance(msg, Heartbeat):
            before = link.workers_ready
            self._capacity(
                link,
                msg.payload.state,
                msg.payload.workers_total,
                msg.payload.workers_ready,
                msg.payload.workers_busy,
                msg.payload.executor_error,
            )
            link.held = list(msg.payload.held)
            link.last_held_us = now_us
            await self.ctx.store.transitions.mark_named([(h.job_id, h.attempt) for h in msg.payload.held], d, now_us)
            link.suspect = False
            if link.workers_ready > before or msg.payload.state == "draining":
                wake.add(link.qpu_id)
        elif isinstance(msg, DeviceInfo):
            await self.ctx.store.qpus.set_device_info(
                link.qpu_id, msgspec.json.encode(msg.payload).decode(), now=now_us
            )
            wake.add(link.qpu_id)
        elif isinstance(msg, JobAccepted):
            ev = await self.ctx.store.transitions.mark_accepted(msg.payload.job_id, msg.payload.attempt, d, now_us)
            self._stale_if_none(ev, link, msg)
            events.extend([ev] if ev else [])
        elif isinstance(msg, JobStarted):
            ev = await self.ctx.store.transitions.mark_started(msg.payload.job_id, msg.payload.attempt, d, now_us)
            self._stale_if_none(ev, link, msg)
            events.extend([ev] if ev else [])
        elif isinstance(msg, JobRejected):
            evs = await self.results.rejected(link, msg.payload, now_us)
            events.extend(evs)
            wake.add(link.qpu_id)
        elif isinstance(msg, JobResult):
            ack, evs = await self.results.result(link, msg.payload, item.data, now_us)
            events.extend(evs)
            wake.add(link.qpu_id)
            out.append(
                (
                    d,
                    ResultAck(
                        driver=d,
                        payload=ResultAckBody(job_id=msg.payload.job_id, attempt=msg.payload.attempt, outcome=ack),
                    ),
                )
            )
        elif isinstance(msg, JobProgress | CryostatReading | Telemetry) and not self._within_event_rate(d):
            return  # P-7.5: only these message types count against --event-rate-limit; never results
        elif isinstance(msg, JobProgress):
            events.append(await self._event("job.progress", link, msg.payload, now_us, job=msg.payload.job_id))
        elif isinstance(msg, CryostatReading | Telemetry):
            if msg.payload.readings:
                kind = "telemetry.cryostat" if isinstance(msg, CryostatReading) else "telemetry.reading"
                events.append(await self._event(kind, link, msg.payload, now_us, driver_ts=msg.ts))
        elif isinstance(msg, Goodbye):
            link.state = "offline"
            await self.ctx.store.drivers.update(d, {"status": "offline"}, now=now_us)
            await self.ctx.store.qpus.refresh_status(link.qpu_id, now=now_us)
            wake.add(link.qpu_id)
        elif isinstance(msg, UnknownMessage):
            key = (d, link.session, msg.type)
            unknown_type = "$.type" in msg.error
            (self.ctx.metrics.protocol_unknown if unknown_type else self.ctx.metrics.protocol_malformed).inc()
            if key not in self._unknown_logged:
                self._unknown_logged.add(key)
                logger.warning("driver=%s sent an unknown or malformed %s message: %s", d, msg.type, msg.error)
            if msg.type == "JobResult":
                await self.results.malformed(link, msg, now_us, out, events)
        else:
            logger.debug("driver=%s sent %s, ignored", d, type(msg).__name__)

    def _within_event_rate(self, driver_id: str) -> bool:
        """Token bucket per driver, burst = rate (``--event-rate-limit``, 0 = off); drops are counted."""
        if self._event_buckets.take(driver_id) <= 0:
            return True
        self.ctx.metrics.events_dropped.labels(driver=driver_id).inc()
        now = self.ctx.clock.monotonic()
        if now - self._drop_logged.get(driver_id, -1e9) >= 10:
            self._drop_logged[driver_id] = now
            logger.warning("driver=%s telemetry over --event-rate-limit; dropping the excess", driver_id)
        return False

    def _stale_if_none(self, ev: EventRow | None, link: Link, msg: JobAccepted | JobStarted) -> None:
        if ev is not None:
            return
        self.ctx.metrics.protocol_stale.inc()
        if ev is None:
            logger.info(
                "driver=%s stale_message %s job_id=%s attempt=%d",
                link.driver_id,
                type(msg).__name__,
                msg.payload.job_id,
                msg.payload.attempt,
            )

    def _capacity(
        self, link: Link, state: MessageLinkState, total: int, ready: int, busy: int, error: str | None
    ) -> None:
        link.state = state
        link.workers_total, link.workers_ready, link.workers_busy = total, ready, busy
        link.executor_error = error

    async def _hello(
        self,
        link: Link,
        msg: Hello,
        now_us: int,
        out: list[tuple[str, Envelope]],
        events: list[EventRow],
        wake: set[str],
    ) -> None:
        p = msg.payload
        d = link.driver_id
        if p.session != link.session or (link.instance_id and p.instance_id != link.instance_id):
            logger.warning("driver=%s Hello for session %d / instance %s refused", d, p.session, p.instance_id)
            return
        self._capacity(link, p.state, p.workers_total, p.workers_ready, 0, p.executor_error)
        link.held = list(p.held)
        link.last_held_us = now_us
        named = [(h.job_id, h.attempt) for h in p.held] + [(r.job_id, r.attempt) for r in p.outbox]
        await self.ctx.store.transitions.mark_named(named, d, now_us)
        cancel = await self.results.unwanted([JobRef(job_id=h.job_id, attempt=h.attempt) for h in p.held], d)
        await self.ctx.store.drivers.update(
            d, {"status": "online", "workers_ready": p.workers_ready, "last_seen": now_us}, now=now_us
        )
        await self.ctx.store.qpus.refresh_status(link.qpu_id, now=now_us)
        events.append(await self._event("driver.connected", link, {"session": p.session}, now_us, visibility="admin"))
        out.append(
            (
                d,
                Welcome(
                    driver=d, payload=WelcomeBody(session=link.session, server_time=from_us(now_us), cancel=cancel)
                ),
            )
        )
        wake.add(link.qpu_id)
        logger.info(
            "driver=%s online (session %d, %d/%d workers ready, qpi %s)",
            d,
            p.session,
            p.workers_ready,
            p.workers_total,
            p.versions.get("qpi", "?"),
        )

    async def _event(
        self,
        kind: str,
        link: Link,
        payload: Any,
        now_us: int,
        *,
        job: str | None = None,
        visibility: str = "admin",
        driver_ts: Any = None,
    ) -> EventRow:
        from qpi.server.store import NewEvent

        data = msgspec.to_builtins(payload) if not isinstance(payload, dict) else payload
        if driver_ts is not None:
            data["driver_ts"] = msgspec.to_builtins(driver_ts)
        return await self.ctx.store.events.append(
            NewEvent(kind, visibility, data, qpu=link.qpu_id, driver=link.driver_id, job=job, source="driver"),
            now=now_us,
        )

    @staticmethod
    def cancel_message(driver_id: str, job_id: str, attempt: int, reason: CancelReason) -> CancelJob:
        return CancelJob(driver=driver_id, payload=CancelJobBody(job_id=job_id, attempt=attempt, reason=reason))
