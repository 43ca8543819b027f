"""The recovery loop: lost drivers, undelivered attempts, run-time backstop, queue TTL (``scheduling.md`` §4).

Decisions are the pure ``classify_lease`` / ``loss_outcome`` / ``cancelled_lease_action``; this
loop reads the leases, applies the outcomes (CAS), sends ``CancelJob`` after the commit, and
sleeps until the earliest deadline (W4) or a wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from qpi.aio import wait_event
from qpi.errors import LinkError
from qpi.protocol.messages import CancelJob, CancelJobBody
from qpi.server.clock import from_us
from qpi.server.context import ServerContext
from qpi.server.links import LinkManager
from qpi.server.results import job_facts, retry_policy
from qpi.server.scheduling import (
    CancelReason,
    LeaseDriver,
    LeaseJob,
    Outcome,
    cancelled_lease_action,
    classify_lease,
    effective_job_timeout,
    loss_outcome,
    recovery_wakeup,
)
from qpi.server.store import EventRow, NewEvent

__all__ = ["Recovery"]

logger = logging.getLogger(__name__)

_MIN_SWEEP_INTERVAL_S = 0.05


def _dt(us: int | None) -> datetime | None:
    return None if us is None else from_us(int(us))


class Recovery:
    def __init__(self, ctx: ServerContext, links: LinkManager) -> None:
        self.ctx = ctx
        self.links = links
        self._event = asyncio.Event()
        self.started_at = from_us(ctx.started_at_us or ctx.clock.now_us())

    def wake(self) -> None:
        self._event.set()

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            next_at = await self.sweep()
            delay = max(0.0, (next_at - from_us(self.ctx.clock.now_us())).total_seconds())
            await wait_event(self._event, max(0.01, delay))
            # Claims and held lists wake the sweep once per job; its deadlines are seconds away, so
            # a burst of wake-ups shares one sweep (at most one per _MIN_SWEEP_INTERVAL_S).
            await asyncio.sleep(max(0.0, _MIN_SWEEP_INTERVAL_S - (time.monotonic() - started)))
            self._event.clear()

    def _driver(self, driver_id: str | None, rows: dict[str, Any], job_session: int) -> LeaseDriver:
        row = rows.get(driver_id or "")
        if row is None:  # deleted driver
            return LeaseDriver(id=driver_id or "?", enabled=False, replaced=True)
        link = self.links.links.get(row.id)
        last_seen = row.last_seen
        last_held = None
        replaced = False
        if link is not None:
            last_seen = max(last_seen or 0, link.last_seen_us) or None
            last_held = link.last_held_us
            takeover = getattr(link, "takeover_session", None)
            replaced = takeover is not None and job_session < takeover and link.state in ("online", "draining")
        return LeaseDriver(
            id=row.id, enabled=row.enabled, last_seen=_dt(last_seen), replaced=replaced, last_held_at=_dt(last_held)
        )

    async def sweep(self) -> datetime:
        ctx = self.ctx
        now_us = ctx.clock.now_us()
        now = from_us(now_us)
        settings = ctx.settings
        rows = await ctx.store.transitions.in_flight()
        drivers = {d.id: d for d in (await ctx.store.drivers.list(limit=100_000))[0]}
        leases: list[tuple[LeaseJob, LeaseDriver]] = []
        cancels: list[tuple[str, str, int, CancelReason]] = []
        events: list[EventRow] = []
        wake: set[str] = set()
        for row in rows:
            timeout_ms = row.get("job_timeout_ms")
            job = LeaseJob(
                job_id=row["id"],
                attempt=int(row["attempt"]),
                state=row["state"],
                dispatched_at=_dt(row["dispatched_at"]) or now,
                job_timeout=effective_job_timeout(None if timeout_ms is None else timeout_ms / 1000, settings),
                accepted_at=_dt(row["accepted_at"]),
                started_at=_dt(row["started_at"]),
                cancel_sent_at=_dt(row["cancel_sent_at"]),
                named_at=_dt(row["held_seen_at"]),
            )
            driver = self._driver(row["lease_driver"], drivers, int(row["session"]))
            leases.append((job, driver))
            if row["state"] == "cancelled":
                action = cancelled_lease_action(job, driver, now, self.started_at, settings)
                if action == "keep":
                    continue
                outcome = Outcome(close_lease=True, send_cancel="timeout" if action != "close" else None)
            else:
                verdict = classify_lease(job, driver, now, self.started_at, settings)
                if verdict == "ok":
                    continue
                policy = await retry_policy(ctx, row["qpu_id"])
                outcome = loss_outcome(verdict, job_facts(row), policy, now)
                logger.warning(
                    "job_id=%s attempt=%s driver=%s lease verdict %s → %s %s",
                    row["id"],
                    row["attempt"],
                    row["lease_driver"],
                    verdict,
                    outcome.to_state,
                    outcome.failure_reason or "",
                )
            async with ctx.store.db.transaction():
                fresh = await ctx.store.transitions.facts(row["id"], lock=True)
                if fresh is None or fresh["state"] != row["state"] or fresh["attempt"] != row["attempt"]:
                    continue
                applied = await ctx.store.transitions.apply(fresh, outcome, now_us=now_us, actor="recovery")
            events.extend(applied.events)
            if row["qpu_id"]:
                wake.add(row["qpu_id"])
            if outcome.send_cancel and row["lease_driver"]:
                cancels.append((row["lease_driver"], row["id"], int(row["attempt"]), outcome.send_cancel))
        events.extend(await self._expire_pending(now_us, wake))
        await self._offline_drivers(drivers, now_us, events, wake)
        ctx.hub.publish(events)
        for qpu_id in wake:
            ctx.hub.wake(qpu_id)
        for driver_id, job_id, attempt, reason in cancels:
            body = CancelJobBody(job_id=job_id, attempt=attempt, reason=reason)
            with contextlib.suppress(LinkError):  # undelivered: the driver's held list settles it (L0c)
                await self.links.send(driver_id, CancelJob(driver=driver_id, payload=body))
        oldest = await ctx.store.transitions.oldest_pending()
        return recovery_wakeup(
            from_us(ctx.clock.now_us()),
            leases=[lease for lease in leases if lease[0].state != "cancelled"],
            oldest_pending_submitted_at=_dt(oldest[0]["submitted_at"]) if oldest else None,
            server_started_at=self.started_at,
            settings=settings,
        )

    async def _expire_pending(self, now_us: int, wake: set[str]) -> list[EventRow]:
        ttl = self.ctx.settings.job_queue_ttl
        if ttl <= timedelta(0):
            return []
        cutoff = now_us - int(ttl.total_seconds() * 1_000_000)
        events: list[EventRow] = []
        for row in await self.ctx.store.transitions.expired_pending(cutoff):
            async with self.ctx.store.db.transaction():
                outcome = Outcome(to_state="failed", failure_reason="queue_expired")
                applied = await self.ctx.store.transitions.apply(row, outcome, now_us=now_us, actor="recovery")
            events.extend(applied.events)
            if row["qpu_id"]:
                wake.add(row["qpu_id"])
        return events

    async def _offline_drivers(
        self, drivers: dict[str, Any], now_us: int, events: list[EventRow], wake: set[str]
    ) -> None:
        """Drivers silent for ``offline_after`` (counted from server start) go offline (§5.2, S2)."""
        window = int(self.ctx.settings.offline_after.total_seconds() * 1_000_000)
        started = self.ctx.started_at_us
        for d in drivers.values():
            link = self.links.links.get(d.id)
            seen = max(d.last_seen or 0, link.last_seen_us if link else 0, started)
            if d.status in ("online", "draining", "connecting") and now_us - seen >= window:
                if link is not None:
                    link.state = "offline"
                await self.ctx.store.drivers.update(d.id, {"status": "offline"}, now=now_us)
                await self.ctx.store.qpus.refresh_status(d.qpu_id, now=now_us)
                events.append(
                    await self.ctx.store.events.append(
                        NewEvent("driver.disconnected", "admin", {"reason": "silent"}, qpu=d.qpu_id, driver=d.id),
                        now=now_us,
                    )
                )
                logger.warning("driver=%s offline: silent for %.0f s", d.id, (now_us - seen) / 1e6)
                wake.add(d.qpu_id)
