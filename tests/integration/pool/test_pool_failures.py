"""Killing, crashing and replacing workers (executors.md §1.3; driver-protocol.md P-5.4, P-6.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Kit, Recorder

pytestmark = pytest.mark.anyio


async def test_hung_job_is_killed_at_its_timeout_and_the_next_job_runs(solo: Recorder, kit: type[Kit]) -> None:
    pool = solo.pool
    await solo.ready(1)
    # ignores SIGTERM, so the pool must escalate to SIGKILL after the kill grace
    assert pool.try_assign("T1", 1, kit.act("stubborn"), 0.5) == 0
    assert pool.try_assign("T2", 1, kit.bell(shots=20, seed=1), 30.0) == 0  # waits ahead
    timed_out = await solo.result("T1")
    assert timed_out.status == "failed" and timed_out.error is not None
    assert timed_out.error.code == "timeout" and timed_out.error.retryable is False
    assert "timeout of 0.5 s" in timed_out.error.message
    assert timed_out.timings.billable_s >= 0.5
    assert [h.job_id for h in pool.held()] == ["T2"]
    # the replacement worker runs the job that was waiting ahead
    nxt = await solo.result("T2")
    assert nxt.status == "completed" and sum(nxt.result.results[0].data.counts.values()) == 20
    await solo.ready(1)


@pytest.mark.parametrize(
    ("act", "options", "expected"),
    [
        ("exit", {"code": 3}, "the worker process exited with code 3 while running the job"),
        ("sigkill", {}, "killed by SIGKILL (possibly out of memory)"),
    ],
)
async def test_a_dying_worker_fails_its_job_and_is_replaced(
    solo: Recorder, kit: type[Kit], act: str, options: dict[str, int], expected: str
) -> None:
    pool = solo.pool
    await solo.ready(1)
    job = f"C-{act}"
    pool.try_assign(job, 1, kit.act(act, **options), 30.0)
    crashed = await solo.result(job)
    assert crashed.status == "failed" and crashed.error is not None
    assert crashed.error.code == "worker_crashed" and expected in crashed.error.message
    await solo.ready(1)
    pool.try_assign(f"{job}-next", 1, kit.bell(shots=5), 30.0)
    assert (await solo.result(f"{job}-next")).status == "completed"
    assert pool.status()[3] is None  # two crashes are not a crash loop


async def test_cancel_of_a_running_job_kills_and_replaces_its_worker(solo: Recorder, kit: type[Kit]) -> None:
    pool = solo.pool
    await solo.ready(1)
    pool.try_assign("K1", 1, kit.act("hang"), 60.0)
    await solo.wait_for(lambda: solo.started("K1"))
    assert pool.held()[0].phase == "started"
    assert pool.status()[2] == 1  # busy
    assert pool.cancel("K1", 1) is True
    assert pool.cancel("K1", 1) is True  # still held until the worker is gone: no second result
    body = await solo.result("K1")
    assert body.status == "cancelled" and body.error is None and body.timings.billable_s > 0
    assert pool.cancel("K1", 1) is False
    await solo.ready(1)
    pool.try_assign("K2", 1, kit.bell(shots=5), 30.0)
    assert (await solo.result("K2")).status == "completed"
    assert len(solo.finished("K1")) == 1
