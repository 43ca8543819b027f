"""Dispatch-time job transitions: claim (T2), accept/start (T3/T4), and applying an ``Outcome``.

Each unit of work is one transaction; every state change is a compare-and-set on
``(id, state, attempt)`` (C3) and appends its ``job.*`` event (J4); a charge is the ``usage``
ledger entry, unique per ``(job, attempt)`` (G4), written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qpi.errors import ConflictError
from qpi.server.clock import to_us
from qpi.server.scheduling import (
    DispatchPlan,
    Outcome,
    QpuSnapshot,
    SchedulerSettings,
    candidate_limit,
    effective_job_timeout,
    plan_dispatch,
)
from qpi.server.store.common import new_id
from qpi.server.store.engine import Db
from qpi.server.store.events import Events, NewEvent
from qpi.server.store.ledger import Ledger
from qpi.server.store.names import TableNames
from qpi.server.store.outcome_rows import (
    Applied,
    ResultFacts,
    failed_results_doc,
    legacy,
    outcome_sets,
    timings_doc,
)
from qpi.server.store.rows import EventRow
from qpi.server.store.snapshots import Snapshots

__all__ = ["Applied", "Claim", "ResultFacts", "Transitions", "failed_results_doc", "legacy", "timings_doc"]


@dataclass(frozen=True)
class Claim:
    job_id: str
    attempt: int
    driver_id: str
    qpu_id: str
    owner: str | None
    payload_json: str
    timeout_s: float
    dispatched_at: int
    queued_since: int = 0  # submitted_at, or requeued_at after a requeue


_JOB_FACT_COLUMNS = (
    "id, state, attempt, rejections, owner, qpu_id, qpu_name, lease_driver, lease_open, submitted_at, "
    "dispatched_at, accepted_at, started_at, cancel_sent_at, failure_reason, max_attempts, held_seen_at, "
    "session, charged_ms"
)


class Transitions:
    def __init__(self, db: Db, names: TableNames, events: Events, ledger: Ledger, snapshots: Snapshots) -> None:
        self.db = db
        self.n = names
        self.events = events
        self.ledger = ledger
        self.snapshots = snapshots
        self._by_age = db.use_index(f"{names.jobs}_pending_age_idx")  # migration 0002

    # --- claim (C1) ---------------------------------------------------------------------------

    async def claim(
        self,
        qpu_id: str,
        *,
        now: datetime,
        settings: SchedulerSettings,
        overlay: Callable[[QpuSnapshot], QpuSnapshot],
        sessions: Callable[[str], int],
    ) -> tuple[DispatchPlan | None, list[Claim], list[EventRow]]:
        """Lock the QPU, read the snapshot, plan, CAS each chosen job to ``dispatched``, commit."""
        claims: list[Claim] = []
        events: list[EventRow] = []
        now_us = to_us(now)
        async with self.db.transaction():
            snap = await self.snapshots.qpu_snapshot(qpu_id, now=now, settings=settings, lock=True)
            if snap is None:
                return None, [], []
            snap = overlay(snap)
            limit = candidate_limit(snap, now)
            snap = await self.snapshots.with_pending(snap, limit)
            plan = plan_dispatch(snap, now)
            if not plan.assignments:
                return plan, [], []
            qpu = await self.db.fetchone(f"SELECT job_timeout_ms FROM {self.n.qpus} WHERE id = {{}}", qpu_id)
            timeout_ms = qpu["job_timeout_ms"] if qpu else None
            timeout = effective_job_timeout(None if timeout_ms is None else timeout_ms / 1000, settings)
            for a in plan.assignments:
                row = await self.db.fetchone(
                    f"UPDATE {self.n.jobs} SET state = 'dispatched', attempt = attempt + 1, lease_driver = {{}}, "
                    "lease_open = TRUE, session = {}, dispatched_at = {}, accepted_at = NULL, started_at = NULL, "
                    "held_seen_at = NULL, updated = {} WHERE id = {} AND state = 'pending' "
                    "RETURNING attempt, owner, payload, submitted_at, requeued_at",
                    a.driver_id,
                    sessions(a.driver_id),
                    now_us,
                    now_us,
                    a.job_id,
                )
                if row is None:
                    continue
                claims.append(
                    Claim(
                        job_id=a.job_id,
                        attempt=int(row["attempt"]),
                        driver_id=a.driver_id,
                        qpu_id=qpu_id,
                        owner=row["owner"],
                        payload_json=row["payload"],
                        timeout_s=timeout.total_seconds(),
                        dispatched_at=now_us,
                        queued_since=int(row["requeued_at"] or row["submitted_at"]),
                    )
                )
                events.append(
                    await self._event(
                        "job.dispatched",
                        a.job_id,
                        row["owner"],
                        qpu_id,
                        a.driver_id,
                        now_us,
                        {
                            "from": "pending",
                            "state": "dispatched",
                            "attempt": int(row["attempt"]),
                            "actor": "dispatcher",
                        },
                    )
                )
        return plan, claims, events

    # --- reads ----------------------------------------------------------------------------------

    async def facts(self, job_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        suffix = " FOR UPDATE" if lock and self.db.dialect == "postgres" else ""
        return await self.db.fetchone(f"SELECT {_JOB_FACT_COLUMNS} FROM {self.n.jobs} WHERE id = {{}}{suffix}", job_id)

    async def result_recorded(self, job_id: str, attempt: int) -> bool:
        row = await self.db.fetchone(
            f"SELECT 1 AS one FROM {self.n.ledger} WHERE job_id = {{}} AND attempt = {{}} AND kind = 'usage'",
            job_id,
            attempt,
        )
        return row is not None

    async def in_flight(self) -> list[dict[str, Any]]:
        """Every attempt holding a lease: ``dispatched``/``running``, or ``cancelled`` with an open lease."""
        return await self.db.fetch(
            f"SELECT j.{_JOB_FACT_COLUMNS.replace(', ', ', j.')}, q.job_timeout_ms, q.on_driver_loss, "
            f"q.max_attempts AS qpu_max_attempts FROM {self.n.jobs} j LEFT JOIN {self.n.qpus} q ON q.id = j.qpu_id "
            "WHERE j.lease_open OR j.state IN ('dispatched', 'running')"
        )

    async def oldest_pending(self) -> list[dict[str, Any]]:
        return await self.db.fetch(
            f"SELECT id, submitted_at FROM {self.n.jobs}{self._by_age} WHERE state = 'pending' "
            "ORDER BY submitted_at LIMIT 1"
        )

    async def expired_pending(self, cutoff_us: int, limit: int = 500) -> list[dict[str, Any]]:
        return await self.db.fetch(
            f"SELECT {_JOB_FACT_COLUMNS} FROM {self.n.jobs}{self._by_age} WHERE state = 'pending' "
            "AND submitted_at <= {} LIMIT {}",
            cutoff_us,
            limit,
        )

    # --- small updates (T3, T4, held lists) -------------------------------------------------------

    async def mark_accepted(self, job_id: str, attempt: int, driver_id: str, now_us: int) -> EventRow | None:
        return await self._lease_step(
            "job.accepted",
            "dispatched",
            job_id,
            attempt,
            driver_id,
            now_us,
            sets="accepted_at = {}, held_seen_at = {}",
            values=(now_us, now_us),
            guard=" AND accepted_at IS NULL",
        )

    async def mark_started(self, job_id: str, attempt: int, driver_id: str, now_us: int) -> EventRow | None:
        return await self._lease_step(
            "job.started",
            "running",
            job_id,
            attempt,
            driver_id,
            now_us,
            sets="state = 'running', started_at = {}, accepted_at = COALESCE(accepted_at, {}), held_seen_at = {}",
            values=(now_us, now_us, now_us),
        )

    async def _lease_step(
        self,
        kind: str,
        to_state: str,
        job_id: str,
        attempt: int,
        driver_id: str,
        now_us: int,
        *,
        sets: str,
        values: tuple[Any, ...],
        guard: str = "",
    ) -> EventRow | None:
        """T3/T4: update the ``dispatched`` attempt leased to ``driver_id`` and append its event (None: stale)."""
        row = await self.db.fetchone(
            f"UPDATE {self.n.jobs} SET {sets}, updated = {{}} WHERE id = {{}} AND attempt = {{}} "
            f"AND lease_driver = {{}} AND state = 'dispatched'{guard} RETURNING owner, qpu_id",
            *values,
            now_us,
            job_id,
            attempt,
            driver_id,
        )
        if row is None:
            return None
        return await self._event(
            kind,
            job_id,
            row["owner"],
            row["qpu_id"],
            driver_id,
            now_us,
            {"from": "dispatched", "state": to_state, "attempt": attempt, "actor": "listener"},
        )

    async def mark_named(self, refs: list[tuple[str, int]], driver_id: str, now_us: int) -> None:
        """Record that the lease driver's held list / outbox named these attempts (L1, L3)."""
        for job_id, attempt in refs:
            await self.db.execute(
                f"UPDATE {self.n.jobs} SET held_seen_at = {{}} WHERE id = {{}} AND attempt = {{}} "
                "AND lease_driver = {} AND lease_open",
                now_us,
                job_id,
                attempt,
                driver_id,
            )

    # --- outcomes -------------------------------------------------------------------------------

    async def apply(
        self,
        job: dict[str, Any],
        outcome: Outcome,
        *,
        now_us: int,
        actor: str,
        driver_id: str | None = None,
        facts: ResultFacts | None = None,
        attempt: int | None = None,
    ) -> Applied:
        """Apply ``outcome`` to the job row ``job`` (read in this transaction); CAS on state and attempt."""
        assert self.db.in_transaction()
        facts = facts or ResultFacts()
        applied = Applied()
        job_id, state, current = job["id"], job["state"], int(job["attempt"])
        if outcome.late_result and facts.late_body is not None:
            await self.db.execute(
                f"INSERT INTO {self.n.late_results} (id, job_id, attempt, driver_id, received_at, reason, body) "
                "VALUES ({}, {}, {}, {}, {}, {}, {})",
                new_id(),
                job_id,
                attempt if attempt is not None else current,
                driver_id,
                now_us,
                outcome.ack or "stale",
                facts.late_body,
            )
            applied.events.append(
                await self.events.append(
                    NewEvent(
                        "job.result_discarded",
                        "admin",
                        {"attempt": attempt, "reason": "stale_attempt" if state != "cancelled" else "cancelled"},
                        job=job_id,
                        qpu=job["qpu_id"],
                        driver=driver_id,
                    ),
                    now=now_us,
                )
            )
        if outcome.charge and job["owner"]:
            try:
                await self.ledger.apply(
                    user_id=job["owner"],
                    kind="usage",
                    amount_ms=-facts.billable_ms,
                    now=now_us,
                    job_id=job_id,
                    attempt=current,
                    actor=actor,
                    reason="execution time measured by the driver",
                )
                applied.charged_ms = facts.billable_ms
            except ConflictError:
                applied.charged_ms = 0  # already charged for this attempt (G4)
        if outcome.to_state is None:
            if outcome.close_lease and job["lease_open"]:
                await self.db.execute(
                    f"UPDATE {self.n.jobs} SET lease_open = FALSE, charged_ms = charged_ms + {{}}, "
                    "duration_ms = COALESCE({}, duration_ms), updated = {} WHERE id = {} AND attempt = {}",
                    applied.charged_ms,
                    facts.billable_ms if outcome.charge else None,
                    now_us,
                    job_id,
                    current,
                )
                applied.changed = True
            return applied
        sets, args = outcome_sets(outcome, facts, now_us, applied.charged_ms)
        row = await self.db.fetchone(
            f"UPDATE {self.n.jobs} SET {sets}, updated = {{}} WHERE id = {{}} AND state = {{}} AND attempt = {{}} "
            "RETURNING attempt",
            *args,
            now_us,
            job_id,
            state,
            current,
        )
        if row is None:
            return applied
        applied.changed = True
        to = outcome.to_state
        data: dict[str, Any] = {
            "from": state,
            "state": to,
            "status": legacy(to),
            "attempt": int(row["attempt"]),
            "actor": actor,
            "driver": driver_id or job["lease_driver"],
        }
        if outcome.failure_reason:
            data["reason"] = outcome.failure_reason
            data["error"] = {"code": outcome.failure_reason, "message": facts.error_message or outcome.failure_reason}
        if outcome.loss_reason:
            data["reason"] = outcome.loss_reason
        if applied.charged_ms:
            data["qpu_seconds"] = applied.charged_ms / 1000
        kind = "job.requeued" if to == "pending" else f"job.{to}"
        applied.events.append(
            await self._event(kind, job_id, job["owner"], job["qpu_id"], driver_id or job["lease_driver"], now_us, data)
        )
        return applied

    async def _event(
        self,
        kind: str,
        job_id: str,
        owner: str | None,
        qpu_id: str | None,
        driver: str | None,
        now_us: int,
        data: dict[str, Any],
    ) -> EventRow:
        data.setdefault("status", legacy(str(data.get("state", ""))))
        return await self.events.append(
            NewEvent(kind, "owner", data, job=job_id, user_id=owner, qpu=qpu_id, driver=driver), now=now_us
        )
