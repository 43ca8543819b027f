"""A tiny in-memory world for the scheduling tests.

:class:`World` keeps QPUs, drivers, users, bookings and jobs, and builds each :class:`QpuSnapshot`
exactly as the store is documented to (``qpi.server.scheduling.model``): two steps, bounded candidate
lists per rank class, index counts for queue positions. It then applies the plan the way the
dispatcher's claim does. It is a fake at the store seam, not a copy of the policy: every decision
comes from the functions under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import pytest

from qpi.server.scheduling import (
    DriverState,
    PendingJob,
    QpuCandidate,
    QpuInfo,
    QpuSnapshot,
    QueueCounts,
    QueueInfo,
    SchedulerSettings,
    SlotInForce,
    candidate_limit,
    check_admission,
    check_target,
    is_payable,
    plan_dispatch,
    queue_info,
    rank_key,
    waiting_info,
)

DAY = (2026, 7, 24)


def t(clock: str) -> datetime:
    """``"10:00:05"`` or ``"14:00:00.500"`` on the test day, UTC."""
    hms, _, frac = clock.partition(".")
    h, m, s = (int(x) for x in hms.split(":"))
    micro = int((frac or "0").ljust(6, "0"))
    return datetime(*DAY, h, m, s, micro, tzinfo=UTC)


@dataclass
class WQpu:
    id: str
    enabled: bool = True
    bookable: bool = True
    simulator: bool = False
    max_concurrent: int | None = None


@dataclass
class WDriver:
    id: str
    qpu: str
    role: str = "process"
    enabled: bool = True
    link_state: str = "online"
    attached: bool = True
    silent: bool = False
    suspect: bool = False
    workers_ready: int = 1
    last_seen: datetime | None = None
    last_dispatch_at: datetime | None = None


@dataclass
class WUser:
    balance_ms: int = 100_000
    superuser: bool = False


@dataclass
class WBooking:
    id: str
    holder: str
    start: datetime
    end: datetime
    qpu: str | None = None


@dataclass
class WJob:
    id: str
    owner: str
    qpu: str
    submitted_at: datetime
    seq: int
    state: str = "pending"
    attempt: int = 0
    lease_driver: str | None = None
    lease_open: bool = False
    finished_at: datetime | None = None


@dataclass
class World:
    settings: SchedulerSettings = field(default_factory=SchedulerSettings)
    qpus: dict[str, WQpu] = field(default_factory=dict)
    drivers: dict[str, WDriver] = field(default_factory=dict)
    users: dict[str, WUser] = field(default_factory=dict)
    bookings: list[WBooking] = field(default_factory=list)
    jobs: dict[str, WJob] = field(default_factory=dict)
    seq: int = 0

    # --- set-up and events -------------------------------------------------------------------
    def qpu(self, qpu_id: str, **kw: object) -> World:
        self.qpus[qpu_id] = WQpu(qpu_id, **kw)  # type: ignore[arg-type]
        return self

    def driver(self, driver_id: str, qpu: str, **kw: object) -> World:
        self.drivers[driver_id] = WDriver(driver_id, qpu, **kw)  # type: ignore[arg-type]
        return self

    def user(self, name: str, **kw: object) -> World:
        self.users[name] = WUser(**kw)  # type: ignore[arg-type]
        return self

    def book(self, booking_id: str, holder: str, start: str, end: str, qpu: str | None = None) -> World:
        self.bookings.append(WBooking(booking_id, holder, t(start), t(end), qpu))
        return self

    def submit(self, job_id: str, owner: str, qpu: str, now: datetime) -> None:
        """The submit handler's scheduling checks (A5, §2.2 step 1), then T1."""
        user = self.users[owner]
        check_admission(user.superuser, user.balance_ms)
        q = self.qpus[qpu]
        check_target(QpuCandidate(id=q.id, name=q.id, enabled=q.enabled))
        self.seq += 1
        self.jobs[job_id] = WJob(job_id, owner, qpu, now, self.seq)

    def finish(self, job_id: str, now: datetime, state: str = "completed", charge_ms: int = 0) -> None:
        job = self.jobs[job_id]
        job.state, job.finished_at, job.lease_open = state, now, False
        self.users[job.owner].balance_ms -= charge_ms

    def cancel(self, job_id: str, now: datetime) -> None:
        job = self.jobs[job_id]
        job.state, job.finished_at = "cancelled", now  # a pending job has no lease to keep open

    # --- the store's reads --------------------------------------------------------------------
    def _payable(self, owner: str) -> bool:
        user = self.users[owner]
        return is_payable(user.superuser, user.balance_ms)

    def _pending(self, qpu: str) -> list[WJob]:
        return sorted(
            (j for j in self.jobs.values() if j.qpu == qpu and j.state == "pending"),
            key=lambda j: (j.submitted_at, j.seq),
        )

    def _as_pending(self, job: WJob) -> PendingJob:
        user = self.users[job.owner]
        return PendingJob(
            id=job.id,
            owner=job.owner,
            submitted_at=job.submitted_at,
            seq=job.seq,
            payable=self._payable(job.owner),
            owner_balance_ms=None if user.superuser else user.balance_ms,
        )

    def _slot(self, q: WQpu, now: datetime) -> SlotInForce | None:
        if not q.bookable:
            return None
        for b in self.bookings:
            if b.start <= now < b.end and b.qpu in (None, q.id):
                mine = [j for j in self.jobs.values() if j.qpu == q.id and j.owner == b.holder]
                finished = [j.finished_at for j in mine if j.finished_at is not None]
                return SlotInForce(
                    booking_id=b.id,
                    holder=b.holder,
                    start=b.start,
                    end=b.end,
                    qpu_id=b.qpu,
                    holder_in_flight=sum(1 for j in mine if j.state in ("dispatched", "running") and j.lease_open),
                    holder_payable_pending=sum(1 for j in mine if j.state == "pending")
                    if self._payable(b.holder)
                    else 0,
                    holder_last_finished_at=max(finished) if finished else None,
                )
        return None

    def snapshot(self, qpu: str, now: datetime) -> QpuSnapshot:
        q = self.qpus[qpu]
        drivers = tuple(
            DriverState(
                id=d.id,
                role=d.role,  # type: ignore[arg-type]
                enabled=d.enabled,
                link_state=d.link_state,  # type: ignore[arg-type]
                attached=d.attached,
                last_seen=d.last_seen,
                suspect=d.suspect,
                workers_ready=d.workers_ready,
                open_leases=sum(1 for j in self.jobs.values() if j.lease_driver == d.id and j.lease_open),
                last_dispatch_at=d.last_dispatch_at,
            )
            for d in self.drivers.values()
            if d.qpu == qpu
        )
        upcoming = [b.start for b in self.bookings if q.bookable and b.qpu in (None, qpu) and b.start > now]
        base = QpuSnapshot(
            qpu=QpuInfo(
                id=q.id,
                name=q.id,
                enabled=q.enabled,
                bookable=q.bookable,
                simulator=q.simulator,
                max_concurrent=q.max_concurrent,
            ),
            settings=self.settings,
            open_leases=sum(1 for j in self.jobs.values() if j.qpu == qpu and j.lease_open),
            drivers=drivers,
            slot=self._slot(q, now),
            next_slot_start=min(upcoming) if upcoming else None,
        )
        # Second step: the bounded candidate lists, per rank class, payable jobs only.
        limit = candidate_limit(base, now)
        payable = [j for j in self._pending(qpu) if self._payable(j.owner)]
        if base.slot is not None:
            holder = base.slot.holder
            chosen = [j for j in payable if j.owner == holder][:limit]
            chosen += [j for j in payable if j.owner != holder][:limit]
        else:
            chosen = payable[:limit]
        return msgspec.structs.replace(base, pending=tuple(self._as_pending(j) for j in chosen))

    def queue(self, qpu: str, now: datetime) -> dict[str, QueueInfo]:
        """Queue objects from index counts (the store's path), cross-checked with :func:`waiting_info`."""
        snap = self.snapshot(qpu, now)
        holder = snap.slot.holder if snap.slot is not None else None
        pending = self._pending(qpu)
        out: dict[str, QueueInfo] = {}
        for job in pending:
            earlier = [
                j
                for j in pending
                if j is not job and self._payable(j.owner) and (j.submitted_at, j.seq) < (job.submitted_at, job.seq)
            ]
            counts = QueueCounts(
                earlier_payable=len(earlier),
                earlier_payable_of_holder=sum(1 for j in earlier if j.owner == holder),
            )
            out[job.id] = queue_info(snap, self._as_pending(job), counts, now)
        assert out == waiting_info(snap, [self._as_pending(j) for j in pending], now)
        return out

    # --- the dispatcher -------------------------------------------------------------------------
    def tick(self, now: datetime) -> tuple[list[tuple[str, str]], dict[str, datetime | None]]:
        """Drivers that are not silent have just sent a heartbeat; then one claim per QPU."""
        for d in self.drivers.values():
            if d.link_state != "offline" and not d.silent:
                d.last_seen = now
        claimed: list[tuple[str, str]] = []
        wakes: dict[str, datetime | None] = {}
        for qpu in self.qpus:
            snap = self.snapshot(qpu, now)
            plan = plan_dispatch(snap, now)
            wakes[qpu] = plan.next_wakeup_at
            order = [j.id for j in sorted(snap.pending, key=lambda j: rank_key(j, None))]
            assert len(plan.assignments) <= len(order)
            for a in plan.assignments:
                job = self.jobs[a.job_id]
                assert job.state == "pending"
                job.state, job.attempt = "dispatched", job.attempt + 1
                job.lease_driver, job.lease_open = a.driver_id, True
                self.drivers[a.driver_id].last_dispatch_at = now
                claimed.append((a.job_id, a.driver_id))
        return claimed, wakes


@pytest.fixture
def world() -> World:
    """The common set-up of ``scheduling.md`` §2.6: q1/d1 and q2/d2 (hardware, 1 worker), users A, B, C."""
    w = World(settings=SchedulerSettings())
    w.qpu("q1").qpu("q2").driver("d1", "q1").driver("d2", "q2")
    for name in ("A", "B", "C"):
        w.user(name)
    return w
