"""Frozen input and output types of the dispatch policy (``scheduling.md`` §2).

The store fills one :class:`QpuSnapshot` per QPU inside the claim transaction (§10 C1) with a few
indexed queries; :func:`~qpi.server.scheduling.policy.plan_dispatch` turns it into a
:class:`DispatchPlan`. The same snapshot feeds the queue positions and waiting reasons
(:mod:`~qpi.server.scheduling.queue`), so the two can never disagree.

What the store must provide, field by field:

``QpuSnapshot.qpu``
    The QPU row: ``enabled``, ``bookable``, ``max_concurrent`` (the raw column; null is resolved
    here) and ``simulator`` (:func:`~qpi.server.scheduling.capacity.is_simulator_qpu` of the kinds of
    its process drivers).
``QpuSnapshot.open_leases``
    ``COUNT(*) WHERE qpu = q AND lease_open`` (cancelled jobs included, D5).
``QpuSnapshot.drivers``
    One :class:`DriverState` per driver row of the QPU, all replicas and both roles. ``attached`` is
    true only for drivers whose pipe is attached to *this* replica (the dispatcher's memory);
    ``last_seen``/``link_state``/``workers_ready``/``suspect`` come from memory for attached drivers
    and from the driver row for the others. ``open_leases`` = ``COUNT(*) WHERE lease_driver = d AND
    lease_open``.
``QpuSnapshot.slot``
    The booking in force at ``now`` on this QPU (``start <= now < end`` and ``qpu = q`` or null), with
    its holder's activity on this QPU; see :class:`SlotInForce`. ``None`` when there is none.
``QpuSnapshot.next_slot_start``
    ``MIN(start) WHERE start > now AND (qpu = q OR qpu IS NULL)``: the next slot boundary (P6).
``QpuSnapshot.pending``
    A *bounded* list of the best payable pending jobs, per rank class (P1, P2), read with
    ``ORDER BY submitted_at, seq LIMIT n``: with a slot in force, up to ``n`` of the holder's payable
    jobs **and** up to ``n`` payable jobs of everyone else; without one, up to ``n`` payable jobs.
    ``n`` = :func:`~qpi.server.scheduling.policy.candidate_limit` of the snapshot read without its
    jobs (``max(1, free_q)``; at least one so that P6 knows whether non-holder jobs wait). Unpayable
    jobs may be left out (they are skipped anyway). The order of the list does not matter.
``QpuSnapshot.settings``
    The server's :class:`~qpi.server.scheduling.settings.SchedulerSettings`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from qpi.server.scheduling.settings import SchedulerSettings

__all__ = [
    "Assignment",
    "DispatchPlan",
    "DriverRole",
    "DriverState",
    "LinkState",
    "PendingJob",
    "QpuInfo",
    "QpuSnapshot",
    "SlotInForce",
    "rank_key",
]

DriverRole = Literal["process", "monitor"]
LinkState = Literal["offline", "connecting", "online", "draining"]


class QpuInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The QPU row as the policy needs it."""

    id: str
    name: str = ""
    enabled: bool = True
    bookable: bool = True
    simulator: bool = False
    #: The raw ``max_concurrent`` column; null = 1 on a hardware QPU, unlimited on a simulator QPU.
    max_concurrent: int | None = None


class DriverState(msgspec.Struct, frozen=True, kw_only=True):
    """One driver of the QPU with the facts of eligibility D2 (the policy decides, the store only reads)."""

    id: str
    role: DriverRole = "process"
    enabled: bool = True
    link_state: LinkState = "offline"
    #: A pipe of the current session is attached to *this* replica (P-4.1). Only these receive jobs.
    attached: bool = False
    #: Receipt time of the driver's latest message (``None``: never seen).
    last_seen: datetime | None = None
    #: A send to this driver failed since its last heartbeat (D2 (5)).
    suspect: bool = False
    #: From the latest ``Hello``/``Heartbeat``.
    workers_ready: int = 0
    #: Jobs with ``lease_driver = d AND lease_open``.
    open_leases: int = 0
    #: When this replica last dispatched to it (P5 tie-break); ``None`` = never, which counts as oldest.
    last_dispatch_at: datetime | None = None


class SlotInForce(msgspec.Struct, frozen=True, kw_only=True):
    """The booking in force on the QPU (D6) and what the store knows about its holder there (§2.4).

    ``holder_in_flight``: ``COUNT(*) WHERE qpu = q AND owner = h AND state IN ('dispatched','running')
    AND lease_open``. ``holder_payable_pending``: the holder's pending jobs on q if the holder is payable
    (superuser or balance > 0), else 0. ``holder_last_finished_at``: ``MAX(finished_at) WHERE qpu = q AND
    owner = h`` over every final state (``NULL`` when none; rows before ``start`` may be left out).
    """

    booking_id: str
    holder: str
    start: datetime
    end: datetime
    #: ``None`` for an all-QPU booking.
    qpu_id: str | None = None
    holder_in_flight: int = 0
    holder_payable_pending: int = 0
    holder_last_finished_at: datetime | None = None


class PendingJob(msgspec.Struct, frozen=True, kw_only=True):
    """A pending job: its rank key (P2) and whether its owner can pay (P1)."""

    id: str
    owner: str
    submitted_at: datetime
    #: The store's monotonic insert number; breaks ties of ``submitted_at``.
    seq: int
    #: Owner is a superuser or has a balance above 0.
    payable: bool = True
    #: The owner's balance (for the ``insufficient_balance`` detail); ``None`` for superusers.
    owner_balance_ms: int | None = None
    #: Set by a requeue (T7/T8); only used to estimate ``queue.since``.
    requeued_at: datetime | None = None


class QpuSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything :func:`plan_dispatch` and the waiting reasons read about one QPU (see the module docs)."""

    qpu: QpuInfo
    settings: SchedulerSettings
    open_leases: int = 0
    drivers: tuple[DriverState, ...] = ()
    slot: SlotInForce | None = None
    next_slot_start: datetime | None = None
    pending: tuple[PendingJob, ...] = ()


class Assignment(msgspec.Struct, frozen=True):
    """Claim ``job_id`` for ``driver_id`` (T2), in this order."""

    job_id: str
    driver_id: str


class DispatchPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The decision for one QPU at ``now``.

    ``assignments`` in rank order; ``next_wakeup_at`` is the instant the dispatcher arms a timer for
    (P6), ``None`` when nothing is due; ``free`` is ``free_q`` (D5) before these assignments.
    """

    assignments: tuple[Assignment, ...] = ()
    next_wakeup_at: datetime | None = None
    free: int = 0


def rank_key(job: PendingJob, holder: str | None) -> tuple[int, datetime, int]:
    """P2: ``(0 if owner == holder else 1, submitted_at, seq)``; ``holder=None`` when no slot is in force."""
    cls = 0 if holder is not None and job.owner == holder else 1
    return (cls, job.submitted_at, job.seq)
