"""The ``queue`` object of pending jobs, from the same snapshot and rank key the dispatcher uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from qpi.server.clock import from_us
from qpi.server.scheduling import PendingJob, QpuSnapshot, QueueInfo, queue_info, slot_in_force
from qpi.server.store import JobRow

__all__ = ["QueueReader", "queue_json"]


def _ts(value: datetime) -> str:
    from qpi.server.api.common import fmt_ts
    from qpi.server.clock import to_us

    return fmt_ts(to_us(value)) or ""


def queue_json(info: QueueInfo) -> dict[str, Any]:
    """``{position, jobs_ahead, reason, detail, since, text}`` with RFC 3339 millisecond timestamps."""
    detail: dict[str, Any] | None = None
    if info.detail is not None:
        detail = {k: (_ts(v) if isinstance(v, datetime) else v) for k, v in msgspec.structs.asdict(info.detail).items()}
    return {
        "position": info.position,
        "jobs_ahead": info.jobs_ahead,
        "reason": info.reason,
        "detail": detail,
        "since": _ts(info.since),
        "text": info.text(),
    }


class QueueReader:
    """Computes queue objects for a batch of jobs, reading one snapshot per QPU."""

    def __init__(self, ctx: Any, overlay: Any = None) -> None:
        self.ctx = ctx
        self.overlay = overlay  # callable(QpuSnapshot) -> QpuSnapshot: the dispatcher's in-memory link facts
        self._snaps: dict[str, QpuSnapshot | None] = {}

    async def _snapshot(self, qpu_id: str, now: datetime) -> QpuSnapshot | None:
        if qpu_id not in self._snaps:
            snap = await self.ctx.store.snapshots.qpu_snapshot(qpu_id, now=now, settings=self.ctx.settings)
            overlay = self.overlay or self.ctx.extras.get("snapshot_overlay")
            if snap is not None and callable(overlay):
                snap = overlay(snap)
            self._snaps[qpu_id] = snap
        return self._snaps[qpu_id]

    async def for_jobs_fresh(self, jobs: list[JobRow]) -> dict[str, dict[str, Any]]:
        """Like :meth:`for_jobs` with snapshots read anew (the fan-out reuses one reader)."""
        self._snaps.clear()
        return await self.for_jobs(jobs)

    async def for_jobs(
        self, jobs: list[JobRow], *, known: dict[str, PendingJob] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Queue objects of the pending ``jobs``; ``known`` skips the read of jobs the caller just wrote."""
        now = from_us(self.ctx.clock.now_us())
        out: dict[str, dict[str, Any]] = {}
        for job in jobs:
            if job.state != "pending" or job.qpu_id is None:
                continue
            if known is not None and job.id in known:
                qpu_id, pending = job.qpu_id, known[job.id]
            else:
                found = await self.ctx.store.snapshots.pending_job(job.id)
                if found is None:
                    continue
                qpu_id, pending = found
            snap = await self._snapshot(qpu_id, now)
            if snap is None:
                continue
            counts = await self.ctx.store.snapshots.queue_counts(qpu_id, pending, slot_in_force(snap, now))
            out[job.id] = queue_json(queue_info(snap, pending, counts, now))
        return out
