"""Store concurrency contract (``scheduling.md`` §10), on a temporary SQLite file and on PostgreSQL.

Two claimers on separate connections (on PostgreSQL: separate pools, as two server replicas
would have) race over the same queue; cancels race claims; balances change concurrently.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from integration.store.seeding import pending_job, user_and_qpu
from qpi.server.scheduling import DriverState, QpuSnapshot, SchedulerSettings
from qpi.server.store import Store, TableNames
from qpi.server.store.common import new_id

pytestmark = pytest.mark.anyio

SETTINGS = SchedulerSettings.from_seconds(heartbeat_interval=5)


def attached(snap: QpuSnapshot, *, capacity: int = 1000) -> QpuSnapshot:
    """Every driver of the QPU attached to this claimer, online, with plenty of free workers."""
    now = datetime.now(UTC)
    drivers = tuple(
        DriverState(
            id=d.id,
            role="process",
            enabled=True,
            link_state="online",
            attached=True,
            last_seen=now,
            workers_ready=capacity,
            open_leases=d.open_leases,
        )
        for d in snap.drivers
    )
    return msgspec.structs.replace(snap, drivers=drivers)


async def seed(store: Store, jobs: int) -> tuple[str, str, str, list[str]]:
    now = int(datetime.now(UTC).timestamp() * 1e6)
    user, qpu = await user_and_qpu(store, now=now)
    driver = await store.drivers.create(
        name="d",
        qpu_id=qpu.id,
        kind="mock",
        role="process",
        language="python",
        events="[]",
        token_hash=new_id(),
        token_prefix="x",
        enabled=True,
        now=now,
    )
    ids = [(await pending_job(store, user.id, qpu, now=now)).id for _ in range(jobs)]
    return user.id, qpu.id, driver.id, ids


async def claim_all(store: Store, qpu_id: str, claimed: list[str]) -> None:
    while True:
        _plan, claims, _events = await store.transitions.claim(
            qpu_id, now=datetime.now(UTC), settings=SETTINGS, overlay=attached, sessions=lambda _d: 1
        )
        if not claims:
            return
        claimed.extend(c.job_id for c in claims)


@pytest.fixture
async def stores(database_url: str) -> Any:
    """Two stores on the same database, each with its own connection(s)."""
    async with Store.open(database_url, TableNames()) as one:
        if one.dialect == "sqlite":
            yield one, one  # one server per SQLite file: the race runs on its one writer
            return
        async with Store.open(database_url, TableNames()) as two:
            yield one, two


async def test_two_claimers_never_claim_the_same_job(stores: tuple[Store, Store]) -> None:
    one, two = stores
    n = 2000 if one.dialect == "postgres" else 1000
    _user, qpu_id, _driver, ids = await seed(one, n)
    a: list[str] = []
    b: list[str] = []
    await asyncio.gather(claim_all(one, qpu_id, a), claim_all(two, qpu_id, b))
    assert len(a) + len(b) == n
    assert sorted(a + b) == sorted(ids)  # each job exactly once
    rows = await one.db.fetch(
        "SELECT attempt, COUNT(*) AS c FROM quantum_jobs WHERE qpu_id = {} GROUP BY attempt", qpu_id
    )
    assert [(r["attempt"], r["c"]) for r in rows] == [(1, n)]


async def test_cancel_racing_claim_ends_cancelled_or_dispatched_never_both(stores: tuple[Store, Store]) -> None:
    one, two = stores
    user, qpu_id, _driver, ids = await seed(one, 200)
    claimed: list[str] = []
    now = int(datetime.now(UTC).timestamp() * 1e6)

    async def cancel_all() -> list[str]:
        done = []
        for job_id in ids:
            outcome = await two.jobs.cancel(job_id, actor=user, now=now)
            if outcome is not None and outcome.changed and outcome.was_state == "pending":
                done.append(job_id)
        return done

    cancelled_pending, _ = await asyncio.gather(cancel_all(), claim_all(one, qpu_id, claimed))
    states = {
        r["id"]: r
        for r in await one.db.fetch(
            "SELECT id, state, attempt, cancel_sent_at FROM quantum_jobs WHERE qpu_id = {}", qpu_id
        )
    }
    for job_id in ids:
        row = states[job_id]
        assert row["state"] == "cancelled"  # every job was cancelled, before or after its claim
        if job_id in cancelled_pending:
            assert job_id not in claimed and row["attempt"] == 0 and row["cancel_sent_at"] is None
        else:
            assert job_id in claimed and row["attempt"] == 1 and row["cancel_sent_at"] is not None


async def test_concurrent_balance_changes_add_up(stores: tuple[Store, Store]) -> None:
    one, two = stores
    user, _qpu, _driver, _ids = await seed(one, 0)
    now = int(datetime.now(UTC).timestamp() * 1e6)
    amounts = [random.randint(-500, 1000) for _ in range(100)]

    async def apply(store: Store, amount: int) -> None:
        async with store.db.transaction():
            await store.ledger.apply(user_id=user, kind="grant", amount_ms=amount, now=now, actor="test")

    await asyncio.gather(*(apply(one if i % 2 else two, a) for i, a in enumerate(amounts)))
    balance = await one.db.fetchval("SELECT balance_ms FROM users WHERE id = {}", user)
    assert balance == 10**9 + sum(amounts)
    sums = await one.ledger.sums()
    assert sums[user] == balance  # A1b: the ledger sums to the balance
