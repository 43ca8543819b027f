"""Jobs: submit, read, list and cancel. Dispatch-time transitions live in ``store/leases.py``.

Every state change is a compare-and-set on ``(id, state, attempt)`` whose affected rows are
checked (``scheduling.md`` C3), and appends its ``job.*`` event in the same transaction (J4).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from qpi.errors import RateLimitedError
from qpi.server.store.common import rows_to, to_row
from qpi.server.store.engine import Db
from qpi.server.store.events import Events, NewEvent
from qpi.server.store.names import TableNames
from qpi.server.store.rows import EventRow, JobRow

__all__ = ["CancelOutcome", "JobFilter", "Jobs", "NewJob", "legacy_status"]

ACTIVE_STATES = ("pending", "dispatched", "running")
FINAL_STATES = ("completed", "failed", "cancelled")
JOB_SORTS = {"created": "j.created", "updated": "j.updated", "finished_at": "j.finished_at"}

_LIST_COLUMNS = (
    "j.id, j.seq, j.owner, j.qpu_id, j.qpu_name, j.qpu_auto, j.name, j.state, j.failure_reason, j.error_message, "
    "j.shots, j.num_circuits, j.meas_level, j.attempt, j.rejections, j.max_attempts, j.lease_driver, j.lease_open, "
    "j.session, j.submitted_at, j.dispatched_at, j.accepted_at, j.started_at, j.finished_at, j.requeued_at, "
    "j.cancel_sent_at, j.cancelled_by, j.last_loss_reason, j.duration_ms, j.charged_ms, j.created, j.updated, "
    "j.held_seen_at"
)


def legacy_status(state: str) -> str:
    """Upstream's five values (J1): ``dispatched`` shows as ``running``."""
    return "running" if state == "dispatched" else state


@dataclass(frozen=True)
class NewJob:
    id: str
    owner: str
    qpu_id: str
    qpu_name: str
    qpu_auto: bool
    name: str | None
    payload_json: str
    shots: int
    num_circuits: int
    meas_level: int
    max_attempts: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobFilter:
    owner: str | None = None  # None = every owner (superusers only)
    q: str | None = None
    states: tuple[str, ...] = ()
    qpu_id: str | None = None
    tags: tuple[str, ...] = ()
    created_after: int | None = None
    created_before: int | None = None
    sort: tuple[tuple[str, bool], ...] = (("created", True),)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelOutcome:
    job: JobRow
    changed: bool
    was_state: str
    events: tuple[EventRow, ...] = ()


class Jobs:
    def __init__(self, db: Db, names: TableNames, events: Events) -> None:
        self.db = db
        self.n = names
        self.events = events
        self._pending_of_owner = (
            f"SELECT COUNT(*) AS c FROM {names.jobs}{db.use_index(f'{names.jobs}_pending_owner_idx')} "
            "WHERE owner = {} AND state = 'pending'"
        )

    async def _next_seq(self) -> int:
        if self.db.dialect == "postgres":
            return int(await self.db.fetchval("SELECT nextval('qpi_job_seq') AS s"))
        return int(
            await self.db.fetchval("UPDATE qpi_counters SET value = value + 1 WHERE name = 'job_seq' RETURNING value")
        )

    async def insert(self, job: NewJob, *, now: int, max_pending: int | None) -> tuple[JobRow, EventRow]:
        """T1 in one transaction: pending cap, insert, tags, ``job.created`` event (G1)."""
        async with self.db.transaction():
            if max_pending:
                pending = await self.db.fetchval(self._pending_of_owner, job.owner)
                if int(pending) >= max_pending:
                    raise RateLimitedError(
                        f"you already have {pending} pending jobs, the limit is {max_pending}; "
                        "wait for some to finish or cancel them",
                        code="too_many_pending_jobs",
                        retry_after=5,
                    )
            seq = await self._next_seq()
            # payable (P1) is read under the owner's row lock, so a concurrent charge that crosses zero
            # either sees this job (and flips it) or is seen by it; the ledger keeps it current after.
            share = " FOR SHARE" if self.db.dialect == "postgres" else ""
            owner = await self.db.fetchone(
                f"SELECT role, balance_ms FROM {self.n.users} WHERE id = {{}}{share}", job.owner
            )
            payable = owner is None or owner["role"] == "superuser" or int(owner["balance_ms"]) > 0
            await self.db.execute(
                f"INSERT INTO {self.n.jobs} (id, seq, owner, qpu_id, qpu_name, qpu_auto, name, state, payable, "
                "payload, shots, num_circuits, meas_level, attempt, rejections, max_attempts, lease_open, session, "
                "submitted_at, charged_ms, created, updated) VALUES ({}, {}, {}, {}, {}, {}, {}, 'pending', {}, {}, "
                "{}, {}, {}, 0, 0, {}, FALSE, 0, {}, 0, {}, {})",
                job.id,
                seq,
                job.owner,
                job.qpu_id,
                job.qpu_name,
                job.qpu_auto,
                job.name,
                payable,
                job.payload_json,
                job.shots,
                job.num_circuits,
                job.meas_level,
                job.max_attempts,
                now,
                now,
                now,
            )
            if job.tags:
                await self.db.executemany(
                    f"INSERT INTO {self.n.job_tags} (job_id, tag) VALUES ({{}}, {{}})",
                    [(job.id, t) for t in job.tags],
                )
            event = await self.events.append(
                NewEvent(
                    "job.created",
                    "owner",
                    {"status": "pending", "state": "pending", "from": None, "attempt": 0, "actor": job.owner},
                    job=job.id,
                    user_id=job.owner,
                    qpu=job.qpu_id,
                ),
                now=now,
            )
        row = JobRow(
            id=job.id,
            seq=seq,
            owner=job.owner,
            qpu_id=job.qpu_id,
            qpu_name=job.qpu_name,
            qpu_auto=job.qpu_auto,
            name=job.name,
            state="pending",
            payload=job.payload_json,
            shots=job.shots,
            num_circuits=job.num_circuits,
            meas_level=job.meas_level,
            attempt=0,
            rejections=0,
            max_attempts=job.max_attempts,
            lease_open=False,
            session=0,
            submitted_at=now,
            charged_ms=0,
            created=now,
            updated=now,
            tags=sorted(job.tags),
        )
        return row, event

    async def get(self, job_id: str, *, full: bool = True) -> JobRow | None:
        cols = "j.*" if full else _LIST_COLUMNS
        row = await self.db.fetchone(f"SELECT {cols} FROM {self.n.jobs} j WHERE j.id = {{}}", job_id)
        if row is None:
            return None
        tags = await self.db.fetch(f"SELECT tag FROM {self.n.job_tags} WHERE job_id = {{}} ORDER BY tag", job_id)
        row["tags"] = [t["tag"] for t in tags]
        return to_row(row, JobRow)

    async def get_many(self, ids: list[str]) -> list[JobRow]:
        if not ids:
            return []
        marks = ", ".join("{}" for _ in ids)
        rows = await self.db.fetch(f"SELECT {_LIST_COLUMNS} FROM {self.n.jobs} j WHERE j.id IN ({marks})", *ids)
        return rows_to(rows, JobRow)

    async def list(self, flt: JobFilter, *, full: bool, limit: int, offset: int) -> tuple[list[JobRow], int]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if flt.owner is not None:
            where.append("j.owner = {}")
            args.append(flt.owner)
        if flt.q:
            where.append("(j.id LIKE {} OR LOWER(COALESCE(j.name, '')) LIKE {})")
            args.extend([f"%{flt.q}%", f"%{flt.q.lower()}%"])
        if flt.states:
            where.append("j.state IN (" + ", ".join("{}" for _ in flt.states) + ")")
            args.extend(flt.states)
        if flt.qpu_id is not None:
            where.append("j.qpu_id = {}")
            args.append(flt.qpu_id)
        for tag in flt.tags:
            where.append(f"EXISTS (SELECT 1 FROM {self.n.job_tags} t WHERE t.job_id = j.id AND t.tag = {{}})")
            args.append(tag)
        if flt.created_after is not None:
            where.append("j.created > {}")
            args.append(flt.created_after)
        if flt.created_before is not None:
            where.append("j.created < {}")
            args.append(flt.created_before)
        cond = " AND ".join(where)
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {self.n.jobs} j WHERE {cond}", *args)
        order = ", ".join(f"{JOB_SORTS[f]} {'DESC' if d else 'ASC'}" for f, d in flt.sort)
        cols = "j.*" if full else _LIST_COLUMNS
        rows = await self.db.fetch(
            f"SELECT {cols} FROM {self.n.jobs} j WHERE {cond} ORDER BY {order}, j.seq DESC LIMIT {{}} OFFSET {{}}",
            *args,
            limit,
            offset,
        )
        if rows:
            ids = [r["id"] for r in rows]
            marks = ", ".join("{}" for _ in ids)
            tag_rows = await self.db.fetch(
                f"SELECT job_id, tag FROM {self.n.job_tags} WHERE job_id IN ({marks}) ORDER BY tag", *ids
            )
            by_job: dict[str, list[str]] = {}
            for t in tag_rows:
                by_job.setdefault(t["job_id"], []).append(t["tag"])
            for r in rows:
                r["tags"] = by_job.get(r["id"], [])
        return rows_to(rows, JobRow), int(total)

    async def cancel(self, job_id: str, *, actor: str, now: int) -> CancelOutcome | None:
        """T12/T13: pending → cancelled at once; dispatched/running → cancelled, lease stays open."""
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""  # a claim cannot slip in between (C3)
        async with self.db.transaction():
            row = await self.db.fetchone(
                f"SELECT state, attempt, owner, qpu_id, lease_driver FROM {self.n.jobs} WHERE id = {{}}{lock}", job_id
            )
            if row is None:
                return None
            state = row["state"]
            events: list[EventRow] = []
            if state in ACTIVE_STATES:
                in_flight = state != "pending"
                updated = await self.db.fetch(
                    f"UPDATE {self.n.jobs} SET state = 'cancelled', finished_at = {{}}, cancelled_by = {{}}, "
                    f"cancel_sent_at = {{}}, updated = {{}} WHERE id = {{}} AND state = {{}} AND attempt = {{}} "
                    "RETURNING id",
                    now,
                    actor,
                    now if in_flight else None,
                    now,
                    job_id,
                    state,
                    row["attempt"],
                )
                if updated:
                    events.append(
                        await self.events.append(
                            NewEvent(
                                "job.cancelled",
                                "owner",
                                {
                                    "status": "cancelled",
                                    "state": "cancelled",
                                    "from": state,
                                    "attempt": row["attempt"],
                                    "actor": actor,
                                    "driver": row["lease_driver"],
                                },
                                job=job_id,
                                user_id=row["owner"],
                                qpu=row["qpu_id"],
                                driver=row["lease_driver"],
                            ),
                            now=now,
                        )
                    )
        job = await self.get(job_id)
        assert job is not None
        return CancelOutcome(job=job, changed=bool(events), was_state=state, events=tuple(events))

    async def cancel_all_for_qpu(self, qpu_id: str, *, now: int) -> builtins.list[EventRow]:
        """T14: every non-final job of a force-deleted QPU → ``cancelled`` by ``system``."""
        events: list[EventRow] = []
        async with self.db.transaction():
            rows = await self.db.fetch(
                f"UPDATE {self.n.jobs} SET state = 'cancelled', finished_at = {{}}, cancelled_by = 'system', "
                "failure_reason = 'qpu_deleted', error_message = 'the QPU was deleted', "
                "cancel_sent_at = CASE WHEN state = 'pending' THEN NULL ELSE CAST({} AS BIGINT) END, updated = {} "
                "WHERE qpu_id = {} AND state IN ('pending', 'dispatched', 'running') "
                "RETURNING id, owner, attempt, lease_driver",
                now,
                now,
                now,
                qpu_id,
            )
            for r in rows:
                events.append(
                    await self.events.append(
                        NewEvent(
                            "job.cancelled",
                            "owner",
                            {
                                "status": "cancelled",
                                "state": "cancelled",
                                "attempt": r["attempt"],
                                "actor": "system",
                                "reason": "qpu_deleted",
                                "error": {"code": "qpu_deleted"},
                            },
                            job=r["id"],
                            user_id=r["owner"],
                            qpu=qpu_id,
                            driver=r["lease_driver"],
                        ),
                        now=now,
                    )
                )
        return events

    async def pending_count_for_owner(self, owner: str) -> int:
        value = await self.db.fetchval(self._pending_of_owner, owner)
        return int(value)

    async def active_count_for_owner(self, owner: str) -> int:
        value = await self.db.fetchval(
            f"SELECT COUNT(*) AS c FROM {self.n.jobs} WHERE owner = {{}} AND state IN ('pending', 'dispatched', "
            "'running')",
            owner,
        )
        return int(value)

    async def active_count_for_qpu(self, qpu_id: str) -> int:
        value = await self.db.fetchval(
            f"SELECT COUNT(*) AS c FROM {self.n.jobs} WHERE qpu_id = {{}} AND state IN ('pending', 'dispatched', "
            "'running')",
            qpu_id,
        )
        return int(value)
