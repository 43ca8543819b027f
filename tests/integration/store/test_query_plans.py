"""Queries whose cost must not grow with the backlog, on a temporary SQLite file and on PostgreSQL.

With a queue of pending jobs, the recovery sweep's "oldest pending" and "expired pending" reads and
a job's queue position must walk an index range, not every pending row (``benchmarks/dispatch.py``
measured 15 ms per sweep and a 4.7× slower submit-to-dispatch p95 at 100,000 jobs before). Each
test checks the answer on rows with known ranks AND the plan the database chose for the store's
own SQL, captured as it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from integration.store.seeding import pending_job, user_and_qpu
from qpi.server.scheduling import PendingJob
from qpi.server.store import Store, TableNames

pytestmark = pytest.mark.anyio

BASE_US = 1_700_000_000_000_000


class Captured:
    """Records the SQL the store sends through ``db.fetch`` while a method runs."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def __aenter__(self) -> Captured:
        original = self.store.db.fetch

        async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
            self.calls.append((sql, args))
            return await original(sql, *args)

        self.store.db.fetch = fetch  # type: ignore[method-assign]
        return self

    async def __aexit__(self, *exc: object) -> None:
        del self.store.db.fetch

    async def plan(self, index: int = 0) -> str:
        sql, args = self.calls[index]
        prefix = "EXPLAIN QUERY PLAN " if self.store.dialect == "sqlite" else "EXPLAIN "
        rows = await self.store.db.fetch(prefix + sql, *args)
        return "\n".join(str(r.get("detail") or r.get("QUERY PLAN")) for r in rows)


@pytest.fixture
async def store(database_url: str) -> Any:
    async with Store.open(database_url, TableNames()) as value:
        yield value


async def backlog(store: Store, n: int) -> tuple[str, list[tuple[str, int, int]]]:
    """``n`` pending jobs of one payable user on one QPU, submitted 1 s apart, pairs sharing an instant."""
    user, qpu = await user_and_qpu(store, now=BASE_US)
    jobs = []
    async with store.db.transaction():
        for k in range(n):
            submitted = BASE_US + (k // 2) * 1_000_000
            row = await pending_job(store, user.id, qpu, now=submitted)
            jobs.append((row.id, submitted, int(row.seq)))
    if store.dialect == "postgres":
        await store.db.execute("ANALYZE")  # what autovacuum does after a bulk load
    return qpu.id, jobs


async def test_recovery_reads_walk_the_pending_age_index(store: Store) -> None:
    _qpu, jobs = await backlog(store, 2000)
    async with Captured(store) as seen:
        oldest = await store.transitions.oldest_pending()
        expired = await store.transitions.expired_pending(BASE_US + 2_000_000)
        none = await store.transitions.expired_pending(BASE_US - 1)
    assert oldest[0]["submitted_at"] == BASE_US
    assert sorted(r["id"] for r in expired) == sorted(j[0] for j in jobs[:6])  # submitted at +0, +1, +2 s
    assert none == []
    for i in range(3):
        plan = await seen.plan(i)
        assert "pending_age_idx" in plan, plan
        if store.dialect == "postgres" and i:
            assert "Index Cond: (submitted_at <=" in plan, plan  # a range, not a filter over the index
        if store.dialect == "sqlite" and i:
            assert "(submitted_at<?)" in plan, plan


async def test_queue_position_counts_only_the_jobs_ahead_through_the_rank_index(store: Store) -> None:
    qpu_id, jobs = await backlog(store, 2000)
    plans = []
    for position in (2, 0, 1, 1001, 1999):
        job_id, submitted, seq = jobs[position]
        pending = PendingJob(
            id=job_id, owner="", submitted_at=datetime.fromtimestamp(submitted / 1e6, UTC), seq=seq, payable=True
        )
        async with Captured(store) as seen:
            counts = await store.snapshots.queue_counts(qpu_id, pending, None)
            plans.append(await seen.plan())
        assert counts.earlier_payable == position  # ties on submitted_at are broken by seq
    plan = plans[0]  # near the head of a long queue (further back, PostgreSQL rightly prefers a scan)
    if store.dialect == "sqlite":  # told which index to use (``Db.use_index``)
        assert "payable_rank_idx (qpu_id=? AND submitted_at<?)" in plan, plan
    else:  # its own choice from statistics: any index, as long as the rank bounds the range
        assert "Index Cond:" in plan and "submitted_at <=" in plan.split("Filter")[0], plan


async def test_the_jobs_ahead_exclude_later_ties_and_the_job_itself(store: Store) -> None:
    qpu_id, jobs = await backlog(store, 4)
    job_id, submitted, seq = jobs[1]  # shares its instant with jobs[0] (earlier seq)
    pending = PendingJob(
        id=job_id, owner="", submitted_at=datetime.fromtimestamp(submitted / 1e6, UTC), seq=seq, payable=True
    )
    counts = await store.snapshots.queue_counts(qpu_id, pending, None)
    assert counts.earlier_payable == 1
