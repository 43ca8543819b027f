"""The dispatcher loop: wait for (wake-up | timer | safety poll | stop), claim, send (``scheduling.md`` §3).

Wake-ups mark QPUs dirty (submit, result, heartbeat with more free workers, enable, booking
change, grant…); ``next_wakeup_at`` of each plan arms an exact timer; the safety poll marks every
QPU dirty. Each dirty QPU gets one claim transaction (C1); ``JobDispatch`` is sent only after the
commit, and a send that fails undoes the claim (T7) and marks the driver suspect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import msgspec

from qpi.aio import wait_event
from qpi.errors import LinkError, StoreError
from qpi.protocol.messages import JobDispatch, JobDispatchBody
from qpi.protocol.payload import JobPayload
from qpi.server.clock import from_us
from qpi.server.context import ServerContext
from qpi.server.hub import ALL_QPUS
from qpi.server.links import LinkManager
from qpi.server.scheduling import send_failed_outcome
from qpi.server.store.transitions import Claim

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)

_payload_decoder = msgspec.json.Decoder(JobPayload)


class Dispatcher:
    def __init__(self, ctx: ServerContext, links: LinkManager) -> None:
        self.ctx = ctx
        self.links = links
        self.dirty: set[str] = set()
        self.all_dirty = True
        self.timers: dict[str, datetime] = {}
        self._event = asyncio.Event()
        self.on_claims: Callable[[], None] | None = None

    def wake(self, qpu_id: str = ALL_QPUS) -> None:
        if qpu_id == ALL_QPUS:
            self.all_dirty = True
        else:
            self.dirty.add(qpu_id)
        self._event.set()

    def _timeout(self) -> float:
        poll = self.ctx.config.dispatch_poll_interval
        if not self.timers:
            return poll
        now = from_us(self.ctx.clock.now_us())
        soonest = min(self.timers.values())
        return max(0.0, min(poll, (soonest - now).total_seconds()))

    async def run(self) -> None:
        while True:
            await wait_event(self._event, self._timeout())
            self._event.clear()
            now = from_us(self.ctx.clock.now_us())
            due = {q for q, at in self.timers.items() if at <= now}
            for q in due:
                self.timers.pop(q, None)
            if self.all_dirty or not (self.dirty or due):
                # a safety poll (timeout with nothing due) or a wake of every QPU
                qpus = [q.id for q in await self.ctx.store.qpus.all()]
                self.all_dirty = False
                self.dirty.clear()
            else:
                qpus = sorted(self.dirty | due)
                self.dirty.clear()
            for qpu_id in qpus:
                try:
                    await self.dispatch(qpu_id)
                except StoreError:
                    logger.exception("qpu=%s claim failed; retrying in 1 s", qpu_id)  # C10
                    self.timers[qpu_id] = from_us(self.ctx.clock.now_us() + 1_000_000)

    async def dispatch(self, qpu_id: str) -> list[Claim]:
        if not any(link.qpu_id == qpu_id and link.attached for link in self.links.links.values()):
            # Nobody to send to on this replica; still arm the booking timers of the QPU (P6).
            self.timers.pop(qpu_id, None)
            return []
        now = from_us(self.ctx.clock.now_us())
        plan, claims, events = await self.ctx.store.transitions.claim(
            qpu_id,
            now=now,
            settings=self.ctx.settings,
            overlay=self.links.overlay,
            sessions=lambda d: self.links.links[d].session if d in self.links.links else 0,
        )
        if plan is not None and plan.next_wakeup_at is not None:
            self.timers[qpu_id] = plan.next_wakeup_at
        else:
            self.timers.pop(qpu_id, None)
        self.ctx.hub.publish(events)
        for claim in claims:
            await self._send(claim, now)
        if claims and self.on_claims is not None:
            self.on_claims()  # new leases, new deadlines for the recovery loop (W4)
        return claims

    async def _send(self, claim: Claim, now: datetime) -> None:
        link = self.links.links.get(claim.driver_id)
        payload = _payload_decoder.decode(claim.payload_json)
        message = JobDispatch(
            driver=claim.driver_id,
            payload=JobDispatchBody(
                job_id=claim.job_id,
                attempt=claim.attempt,
                qpu_id=claim.qpu_id,
                payload=payload,
                timeout_s=claim.timeout_s,
                dispatched_at=from_us(claim.dispatched_at),
            ),
        )
        try:
            await self.links.send(claim.driver_id, message)
        except LinkError as exc:
            logger.warning(
                "driver=%s job_id=%s attempt=%d send failed (%s); claim undone",
                claim.driver_id,
                claim.job_id,
                claim.attempt,
                exc,
            )
            if link is not None:
                link.suspect = True
            async with self.ctx.store.db.transaction():
                row = await self.ctx.store.transitions.facts(claim.job_id, lock=True)
                if row is not None and row["state"] == "dispatched" and int(row["attempt"]) == claim.attempt:
                    applied = await self.ctx.store.transitions.apply(
                        row, send_failed_outcome(), now_us=self.ctx.clock.now_us(), actor="dispatcher"
                    )
                    self.ctx.hub.publish(applied.events)
            return
        if link is not None:
            link.last_dispatch = now
        self.ctx.metrics.dispatch_latency.observe(max(0.0, (claim.dispatched_at - claim.queued_since) / 1e6))
        logger.debug("driver=%s job_id=%s attempt=%d dispatched", claim.driver_id, claim.job_id, claim.attempt)
