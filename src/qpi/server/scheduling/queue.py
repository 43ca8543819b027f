"""Queue position and waiting reason of a pending job (``scheduling.md`` §5, ``api.md`` §3.4 ``queue``).

Computed on read from the same rank key (P2) and snapshot the dispatcher uses, so they cannot
disagree with it. Two entry points:

:func:`queue_info` — one job, from counts the store reads from its ``(qpu, state, submitted_at, seq)``
index (no full-queue scan). The store supplies, for the job ``j`` on QPU ``q``:

- ``QueueCounts.earlier_payable``: ``COUNT(*)`` of payable pending jobs on q, other than j, with
  ``(submitted_at, seq) < (j.submitted_at, j.seq)`` (payable: owner is a superuser or has a balance > 0);
- ``QueueCounts.earlier_payable_of_holder``: how many of those belong to the holder of the slot in
  force (only needed while a slot is in force; 0 otherwise);
- and the snapshot's ``slot.holder_payable_pending`` (the holder's payable pending jobs on q).

``jobs_ahead`` is then: no slot → ``earlier_payable``; j is the holder's →
``earlier_payable_of_holder``; otherwise ``earlier_payable - earlier_payable_of_holder +
holder_payable_pending`` (every holder job ranks first). ``position = jobs_ahead + 1``, so the payable
jobs of a QPU hold exactly the positions ``1 … depth``; an unpayable job gets the position it would
have if it could pay.

:func:`waiting_info` — every pending job of one QPU from the full list (in-memory store, tests).

``since`` is exact when the caller passes the job's previous :class:`QueueInfo` (the SSE fan-out keeps
the last one per watched job): unchanged reason → previous ``since``; changed → ``now``. Without it
(a cold read) it is estimated from the data: the job's enqueue time (``requeued_at`` or
``submitted_at``), raised to the slot start for ``qpu_booked`` and to the latest driver ``last_seen``
for ``no_driver_online``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Literal

import msgspec

from qpi.server.scheduling._time import require_aware
from qpi.server.scheduling.capacity import driver_online, free_capacity, latest_driver_seen
from qpi.server.scheduling.model import PendingJob, QpuSnapshot, SlotInForce, rank_key
from qpi.server.scheduling.slots import holder_state, slot_in_force

__all__ = [
    "BalanceDetail",
    "BehindDetail",
    "BookedDetail",
    "BusyDetail",
    "NoDriverDetail",
    "QueueCounts",
    "QueueDetail",
    "QueueInfo",
    "WaitReason",
    "jobs_ahead",
    "queue_info",
    "waiting_info",
]

WaitReason = Literal[
    "qpu_disabled",
    "no_driver_online",
    "insufficient_balance",
    "qpu_booked",
    "behind_jobs",
    "qpu_busy",
    "dispatching",
]


class NoDriverDetail(msgspec.Struct, frozen=True):
    """``no_driver_online``: ``last_seen`` of the most recently seen process driver (null: never)."""

    last_seen: datetime | None


class BalanceDetail(msgspec.Struct, frozen=True):
    """``insufficient_balance``: the owner's balance in seconds."""

    balance_s: float


class BookedDetail(msgspec.Struct, frozen=True):
    """``qpu_booked``: slot end, the instant the fallback opens (null while the holder is active)."""

    until: datetime
    fallback_at: datetime | None
    mine: bool = False


class BehindDetail(msgspec.Struct, frozen=True):
    """``behind_jobs``."""

    jobs_ahead: int


class BusyDetail(msgspec.Struct, frozen=True):
    """``qpu_busy``: the QPU's open leases."""

    running: int


QueueDetail = NoDriverDetail | BalanceDetail | BookedDetail | BehindDetail | BusyDetail


class QueueInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The ``queue`` object of a pending job: ``{position, jobs_ahead, reason, detail, since}``.

    Encode it with ``msgspec.json.encode`` (``detail`` is one of the untagged detail structs, or null);
    it is not meant to be decoded back (keep the object itself when ``previous`` is needed).
    """

    position: int
    jobs_ahead: int
    reason: WaitReason
    detail: QueueDetail | None
    since: datetime

    def text(self) -> str:
        """The reason as the sentence of §5 (e.g. "behind 2 jobs")."""
        detail = self.detail
        if self.reason == "qpu_booked" and isinstance(detail, BookedDetail):
            until = detail.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            return f"QPU booked by another user until {until}"
        if self.reason == "behind_jobs":
            return f"behind {self.jobs_ahead} job{'' if self.jobs_ahead == 1 else 's'}"
        return _TEXT[self.reason]


_TEXT: dict[str, str] = {
    "qpu_disabled": "QPU disabled",
    "no_driver_online": "no driver online",
    "insufficient_balance": "insufficient qpu_seconds",
    "qpu_booked": "QPU booked by another user",
    "qpu_busy": "waiting for the running job to finish",
    "dispatching": "being dispatched",
}


class QueueCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Index counts for one job (see the module docs)."""

    earlier_payable: int
    earlier_payable_of_holder: int = 0


def jobs_ahead(job: PendingJob, slot: SlotInForce | None, counts: QueueCounts) -> int:
    """Q1b: payable pending jobs of the same QPU ranked before ``job`` (``slot`` = the slot in force)."""
    if slot is None:
        return counts.earlier_payable
    if job.owner == slot.holder:
        return counts.earlier_payable_of_holder
    return counts.earlier_payable - counts.earlier_payable_of_holder + slot.holder_payable_pending


def queue_info(
    snap: QpuSnapshot,
    job: PendingJob,
    counts: QueueCounts,
    now: datetime,
    *,
    previous: QueueInfo | None = None,
) -> QueueInfo:
    """The ``queue`` object of one pending job at ``now`` (first matching reason of §5 wins)."""
    require_aware(now)
    slot = slot_in_force(snap, now)
    ahead = max(0, jobs_ahead(job, slot, counts))
    reason, detail = _reason(snap, job, slot, ahead, now)
    return QueueInfo(
        position=ahead + 1,
        jobs_ahead=ahead,
        reason=reason,
        detail=detail,
        since=_since(reason, job, snap, slot, previous, now),
    )


def waiting_info(
    snap: QpuSnapshot,
    jobs: Iterable[PendingJob],
    now: datetime,
    *,
    previous: Mapping[str, QueueInfo] | None = None,
) -> dict[str, QueueInfo]:
    """``queue`` objects of every pending job of one QPU, given all of them (``jobs``, any order).

    The slot's ``holder_payable_pending`` is recomputed from ``jobs``, so the snapshot's count is not needed.
    """
    require_aware(now)
    all_jobs = list(jobs)
    slot = slot_in_force(snap, now)
    holder = slot.holder if slot is not None else None
    if slot is not None:
        mine = sum(1 for j in all_jobs if j.payable and j.owner == slot.holder)
        snap = msgspec.structs.replace(snap, slot=msgspec.structs.replace(slot, holder_payable_pending=mine))
    # One pass in (submitted_at, seq) order: counts of payable jobs seen so far, overall and the holder's.
    out: dict[str, QueueInfo] = {}
    earlier = earlier_holder = 0
    for job in sorted(all_jobs, key=lambda j: rank_key(j, None)):
        counts = QueueCounts(earlier_payable=earlier, earlier_payable_of_holder=earlier_holder)
        prev = previous.get(job.id) if previous is not None else None
        out[job.id] = queue_info(snap, job, counts, now, previous=prev)
        if job.payable:
            earlier += 1
            if job.owner == holder:
                earlier_holder += 1
    return out


def _reason(
    snap: QpuSnapshot, job: PendingJob, slot: SlotInForce | None, ahead: int, now: datetime
) -> tuple[WaitReason, QueueDetail | None]:
    offline_after = snap.settings.offline_after
    if not snap.qpu.enabled:
        return "qpu_disabled", None
    if not any(driver_online(d, now, offline_after) for d in snap.drivers):
        return "no_driver_online", NoDriverDetail(latest_driver_seen(snap.drivers))
    if not job.payable:
        return "insufficient_balance", BalanceDetail((job.owner_balance_ms or 0) / 1000)
    if slot is not None and slot.holder != job.owner:
        holder = holder_state(slot, now, snap.settings.idle_threshold)
        if not holder.fallback_open:
            return "qpu_booked", BookedDetail(until=slot.end, fallback_at=holder.fallback_at)
    if ahead >= 1:
        return "behind_jobs", BehindDetail(ahead)
    if free_capacity(snap, now, all_replicas=True) <= 0:
        return "qpu_busy", BusyDetail(snap.open_leases)
    return "dispatching", None


def _since(
    reason: WaitReason,
    job: PendingJob,
    snap: QpuSnapshot,
    slot: SlotInForce | None,
    previous: QueueInfo | None,
    now: datetime,
) -> datetime:
    if previous is not None:
        return previous.since if previous.reason == reason else now
    since = job.requeued_at if job.requeued_at is not None else job.submitted_at
    if reason == "qpu_booked" and slot is not None:
        since = max(since, slot.start)
    elif reason == "no_driver_online":
        seen = latest_driver_seen(snap.drivers)
        if seen is not None:
            since = max(since, seen)
    return min(since, now)
