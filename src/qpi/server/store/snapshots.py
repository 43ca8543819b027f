"""Reads that feed the pure scheduling policy: one ``QpuSnapshot`` per QPU, and queue counts.

The queries follow what ``server/scheduling/model.py`` documents field by field; all of them use
indexes (pending rank index, lease index, booking window index). Driver link facts that only
live in this replica's memory (``attached``, ``suspect``, ``last_dispatch_at``) are overlaid by
the caller.
"""

from __future__ import annotations

from datetime import datetime

from qpi.server.clock import from_us, to_us
from qpi.server.scheduling import (
    DriverState,
    PendingJob,
    QpuInfo,
    QpuSnapshot,
    QueueCounts,
    SchedulerSettings,
    SlotInForce,
    is_simulator_qpu,
    reports_simulator,
)
from qpi.server.store.engine import Db
from qpi.server.store.names import TableNames

__all__ = ["Snapshots"]


def _dt(us: int | None) -> datetime | None:
    return None if us is None else from_us(int(us))


class Snapshots:
    def __init__(self, db: Db, names: TableNames) -> None:
        self.db = db
        self.n = names

    async def qpu_snapshot(
        self,
        qpu_id: str,
        *,
        now: datetime,
        settings: SchedulerSettings,
        pending_limit: int | None = 0,
        lock: bool = False,
    ) -> QpuSnapshot | None:
        """The snapshot of one QPU at ``now``; ``pending_limit`` jobs per rank class (0: none, None: all).

        With ``lock`` (inside the claim transaction on PostgreSQL) the QPU row is locked first (C1).
        """
        n = self.n
        now_us = to_us(now)
        if lock and self.db.dialect == "postgres":  # C1: claims of one QPU are serialised
            await self.db.execute(f"SELECT id FROM {n.qpus} WHERE id = {{}} FOR UPDATE", qpu_id)
        qpu = await self.db.fetchone(
            f"SELECT q.id, q.name, q.enabled, q.bookable, q.max_concurrent, q.device_info, "
            f"(SELECT COUNT(*) FROM {n.jobs} j WHERE j.qpu_id = q.id AND j.lease_open) AS open_leases, "
            f"(SELECT MIN(start_time) FROM {n.time_slots} b WHERE b.start_time > {{}} "
            "AND (b.qpu_id = q.id OR b.qpu_id IS NULL)) AS next_start, "
            f"(SELECT b.id FROM {n.time_slots} b WHERE b.start_time <= {{}} AND b.end_time > {{}} "
            "AND (b.qpu_id = q.id OR b.qpu_id IS NULL) ORDER BY b.start_time LIMIT 1) AS slot_id "
            f"FROM {n.qpus} q WHERE q.id = {{}}",
            now_us,
            now_us,
            now_us,
            qpu_id,
        )
        if qpu is None:
            return None
        drivers = await self.db.fetch(
            f"SELECT d.id, d.kind, d.role, d.enabled, d.status, d.last_seen, d.workers_ready, "
            f"(SELECT COUNT(*) FROM {n.jobs} j WHERE j.lease_driver = d.id AND j.lease_open) AS open_leases "
            f"FROM {n.drivers} d WHERE d.qpu_id = {{}}",
            qpu_id,
        )
        open_leases = qpu["open_leases"]
        simulator = is_simulator_qpu(
            [d["kind"] for d in drivers if d["role"] == "process"],
            custom_reports_simulator=reports_simulator(qpu["device_info"]),
        )
        slot = await self._slot(qpu_id, bool(qpu["bookable"]), now_us) if qpu["slot_id"] else None
        next_start = _dt(qpu["next_start"]) if qpu["bookable"] else None
        pending: list[PendingJob] = []
        if pending_limit != 0:
            pending = await self._pending(qpu_id, slot, pending_limit)
        return QpuSnapshot(
            qpu=QpuInfo(
                id=qpu["id"],
                name=qpu["name"],
                enabled=bool(qpu["enabled"]),
                bookable=bool(qpu["bookable"]),
                simulator=simulator,
                max_concurrent=qpu["max_concurrent"],
            ),
            settings=settings,
            open_leases=int(open_leases),
            drivers=tuple(
                DriverState(
                    id=d["id"],
                    role=d["role"],
                    enabled=bool(d["enabled"]),
                    link_state=d["status"],
                    last_seen=_dt(d["last_seen"]),
                    workers_ready=int(d["workers_ready"]),
                    open_leases=int(d["open_leases"]),
                )
                for d in drivers
            ),
            slot=slot,
            next_slot_start=next_start,
            pending=tuple(pending),
        )

    async def with_pending(self, snap: QpuSnapshot, limit: int | None) -> QpuSnapshot:
        """The snapshot with up to ``limit`` payable pending jobs per rank class (P1, P2)."""
        import msgspec

        jobs = await self._pending(snap.qpu.id, snap.slot, limit)
        return msgspec.structs.replace(snap, pending=tuple(jobs))

    async def _slot(self, qpu_id: str, bookable: bool, now_us: int) -> SlotInForce | None:
        if not bookable:
            return None
        n = self.n
        row = await self.db.fetchone(
            f"SELECT id, qpu_id, booked_by, start_time, end_time FROM {n.time_slots} "
            "WHERE start_time <= {} AND end_time > {} AND (qpu_id = {} OR qpu_id IS NULL) ORDER BY start_time LIMIT 1",
            now_us,
            now_us,
            qpu_id,
        )
        if row is None:
            return None
        holder = row["booked_by"]
        facts = await self.db.fetchone(
            f"SELECT "
            f"(SELECT COUNT(*) FROM {n.jobs} WHERE qpu_id = {{}} AND owner = {{}} AND lease_open "
            f"AND state IN ('dispatched', 'running')) AS in_flight, "
            f"(SELECT COUNT(*) FROM {n.jobs} j WHERE j.qpu_id = {{}} "
            f"AND j.owner = {{}} AND j.state = 'pending' AND j.payable) AS payable_pending, "
            f"(SELECT MAX(finished_at) FROM {n.jobs} WHERE qpu_id = {{}} AND owner = {{}} "
            f"AND finished_at IS NOT NULL) AS last_finished",
            qpu_id,
            holder,
            qpu_id,
            holder,
            qpu_id,
            holder,
        )
        assert facts is not None
        return SlotInForce(
            booking_id=row["id"],
            holder=holder,
            start=from_us(row["start_time"]),
            end=from_us(row["end_time"]),
            qpu_id=row["qpu_id"],
            holder_in_flight=int(facts["in_flight"]),
            holder_payable_pending=int(facts["payable_pending"]),
            holder_last_finished_at=_dt(facts["last_finished"]),
        )

    async def _pending(self, qpu_id: str, slot: SlotInForce | None, limit: int | None) -> list[PendingJob]:
        n = self.n
        base = (
            f"SELECT j.id, j.owner, j.submitted_at, j.seq, j.requeued_at, u.role, u.balance_ms "
            f"FROM {n.jobs} j JOIN {n.users} u ON u.id = j.owner "
            f"WHERE j.qpu_id = {{}} AND j.state = 'pending' AND j.payable"
        )
        tail = " ORDER BY j.submitted_at, j.seq" + (" LIMIT {}" if limit is not None else "")
        limit_args = [limit] if limit is not None else []
        rows = []
        if slot is None:
            rows = await self.db.fetch(base + tail, qpu_id, *limit_args)
        else:
            rows = await self.db.fetch(base + " AND j.owner = {}" + tail, qpu_id, slot.holder, *limit_args)
            rows += await self.db.fetch(base + " AND j.owner <> {}" + tail, qpu_id, slot.holder, *limit_args)
        return [
            PendingJob(
                id=r["id"],
                owner=r["owner"],
                submitted_at=from_us(r["submitted_at"]),
                seq=int(r["seq"]),
                payable=True,
                owner_balance_ms=None if r["role"] == "superuser" else int(r["balance_ms"]),
                requeued_at=_dt(r["requeued_at"]),
            )
            for r in rows
        ]

    async def pending_job(self, job_id: str) -> tuple[str, PendingJob] | None:
        """A pending job as the policy sees it, with its QPU id; None when it is not pending."""
        row = await self.db.fetchone(
            f"SELECT j.id, j.qpu_id, j.owner, j.submitted_at, j.seq, j.requeued_at, u.role, u.balance_ms "
            f"FROM {self.n.jobs} j LEFT JOIN {self.n.users} u ON u.id = j.owner "
            "WHERE j.id = {} AND j.state = 'pending'",
            job_id,
        )
        if row is None or row["qpu_id"] is None:
            return None
        superuser = row["role"] == "superuser"
        balance = int(row["balance_ms"] or 0)
        return row["qpu_id"], PendingJob(
            id=row["id"],
            owner=row["owner"] or "",
            submitted_at=from_us(row["submitted_at"]),
            seq=int(row["seq"]),
            payable=superuser or balance > 0,
            owner_balance_ms=None if superuser else balance,
            requeued_at=_dt(row["requeued_at"]),
        )

    async def queue_counts(self, qpu_id: str, job: PendingJob, slot: SlotInForce | None) -> QueueCounts:
        """Payable pending jobs of the QPU ranked by (submitted_at, seq) before ``job`` (and the holder's).

        Both are counts over the payable rank indexes; unpayable jobs are not in them.
        """
        n = self.n
        sub = to_us(job.submitted_at)
        # (submitted_at, seq) < (sub, seq), written so that the index serves it as a range
        rank = "AND j.submitted_at <= {} AND (j.submitted_at < {} OR j.seq < {})"
        earlier = await self.db.fetchval(
            f"SELECT COUNT(*) AS c FROM {n.jobs} j{self.db.use_index(f'{n.jobs}_payable_rank_idx')} "
            f"WHERE j.qpu_id = {{}} AND j.state = 'pending' AND j.payable AND j.id <> {{}} {rank}",
            qpu_id,
            job.id,
            sub,
            sub,
            job.seq,
        )
        of_holder = 0
        if slot is not None:
            of_holder = await self.db.fetchval(
                f"SELECT COUNT(*) AS c FROM {n.jobs} j{self.db.use_index(f'{n.jobs}_holder_rank_idx')} "
                f"WHERE j.qpu_id = {{}} AND j.owner = {{}} "
                f"AND j.state = 'pending' AND j.payable AND j.id <> {{}} {rank}",
                qpu_id,
                slot.holder,
                job.id,
                sub,
                sub,
                job.seq,
            )
        return QueueCounts(earlier_payable=int(earlier or 0), earlier_payable_of_holder=int(of_holder or 0))
