"""The dispatch decision for one QPU (``scheduling.md`` §2.5, P0-P6). Pure: data and ``now`` in, plan out.

How the dispatcher uses it, inside one claim transaction per dirty QPU (§10 C1)::

    snap = await store.read_snapshot(qpu_id, now)              # QPU, leases, drivers, slot, next slot
    limit = candidate_limit(snap, now)                          # max(1, free_q)
    snap = msgspec.structs.replace(snap, pending=await store.best_pending(qpu_id, snap.slot, limit))
    plan = plan_dispatch(snap, now)
    for a in plan.assignments: CAS-claim a.job_id for a.driver_id (T2)
    commit; then send JobDispatch for each claimed job; arm a timer for plan.next_wakeup_at

Each step:

- P0: no assignment when the QPU is disabled, no driver is eligible (D2) or ``free_q <= 0`` (D5).
- P1: candidates are the payable pending jobs; unpayable jobs are skipped and block nobody.
- P2: rank ``(0 if owner == holder else 1, submitted_at, seq)`` with a slot in force, else
  ``(submitted_at, seq)``.
- P3: with a slot in force, non-holder jobs are dispatchable only once the fallback is open.
- P4: take the first ``min(free_q, len(dispatchable))``.
- P5: for each job in turn, the eligible driver with the largest ``free``, then the oldest
  ``last_dispatch_at`` (never = oldest), then the lowest id; its ``free`` drops by one and its
  ``last_dispatch_at`` becomes ``now`` before the next choice.
- P6: ``next_wakeup_at`` = the earliest future instant among the slot's end, the next slot start and
  ``fallback_at`` (only while the holder is idle, the fallback is not yet open and non-holder
  candidates wait). It is computed even when P0 stops the dispatch, so timers (and the waiting
  reasons they change) stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from qpi.server.scheduling._time import require_aware
from qpi.server.scheduling.capacity import driver_eligible, driver_free, free_capacity
from qpi.server.scheduling.model import (
    Assignment,
    DispatchPlan,
    DriverState,
    PendingJob,
    QpuSnapshot,
    SlotInForce,
    rank_key,
)
from qpi.server.scheduling.slots import HolderState, holder_state, slot_in_force

__all__ = ["candidate_limit", "plan_dispatch"]

# Sorts before every aware datetime: a driver never dispatched to counts as the oldest (P5).
_NEVER = datetime.min


def candidate_limit(snap: QpuSnapshot, now: datetime) -> int:
    """How many payable pending jobs per rank class the store must read: ``max(1, free_q)``."""
    require_aware(now)
    return max(1, free_capacity(snap, now))


def plan_dispatch(snap: QpuSnapshot, now: datetime) -> DispatchPlan:
    """Decide which pending jobs of ``snap.qpu`` go to which driver of this replica at ``now`` (P0-P6)."""
    require_aware(now)
    slot = slot_in_force(snap, now)
    candidates = [job for job in snap.pending if job.payable]
    holder = _holder(slot, candidates, snap, now)
    wakeup = _next_wakeup(snap, slot, holder, candidates, now)

    free_q = free_capacity(snap, now)
    drivers = [
        _Choice(d) for d in snap.drivers if driver_eligible(d, now, snap.settings.offline_after, snap.qpu.simulator)
    ]
    if free_q <= 0 or not drivers:  # P0 (a disabled QPU has free_q 0)
        return DispatchPlan(next_wakeup_at=wakeup, free=free_q)

    holder_id = slot.holder if slot is not None else None
    ranked = sorted(candidates, key=lambda job: rank_key(job, holder_id))  # P2
    if slot is not None and holder is not None and not holder.fallback_open:  # P3
        ranked = [job for job in ranked if job.owner == slot.holder]
    chosen = ranked[:free_q]  # P4

    for d in drivers:
        d.free = driver_free(d.state, snap.qpu.simulator)
    assignments: list[Assignment] = []
    for job in chosen:  # P5
        pick = min(drivers, key=_Choice.order)
        if pick.free <= 0:  # cannot happen while free_q <= Σ free; kept as a guard
            break
        assignments.append(Assignment(job.id, pick.state.id))
        pick.free -= 1
        pick.last = now
    return DispatchPlan(assignments=tuple(assignments), next_wakeup_at=wakeup, free=free_q)


@dataclass
class _Choice:
    """A driver's running ``free`` and ``last_dispatch_at`` while P5 assigns jobs one by one."""

    state: DriverState
    free: int = 0
    last: datetime | None = None

    def __post_init__(self) -> None:
        self.last = self.state.last_dispatch_at

    def order(self) -> tuple[int, bool, datetime, str]:
        """Largest free first, then never dispatched, then the oldest dispatch, then the lowest id."""
        # The flag decides between "never" and a real instant, so the naive placeholder is only ever
        # compared with itself.
        last = self.last
        return (-self.free, last is not None, last if last is not None else _NEVER, self.state.id)


def _holder(
    slot: SlotInForce | None, candidates: list[PendingJob], snap: QpuSnapshot, now: datetime
) -> HolderState | None:
    if slot is None:
        return None
    has_pending = any(job.owner == slot.holder for job in candidates)
    return holder_state(slot, now, snap.settings.idle_threshold, holder_has_pending=has_pending)


def _next_wakeup(
    snap: QpuSnapshot,
    slot: SlotInForce | None,
    holder: HolderState | None,
    candidates: list[PendingJob],
    now: datetime,
) -> datetime | None:
    instants: list[datetime] = []
    if slot is not None:
        instants.append(slot.end)
    if snap.qpu.bookable and snap.next_slot_start is not None:
        instants.append(snap.next_slot_start)
    if (
        slot is not None
        and holder is not None
        and holder.fallback_at is not None
        and not holder.fallback_open
        and any(job.owner != slot.holder for job in candidates)
    ):
        instants.append(holder.fallback_at)
    future = [t for t in instants if t > now]
    return min(future) if future else None
