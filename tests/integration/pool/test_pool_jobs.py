"""Jobs through real worker processes (executors.md §1.3, §1.4; driver-protocol.md P-6.1, P-6.3, P-4.8)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qpi.driver.pool_events import JobFinishedEvent, JobProgressEvent, JobStartedEvent
from qpi.protocol.payload import CircuitPayload

if TYPE_CHECKING:
    from conftest import Kit, Recorder

pytestmark = pytest.mark.anyio


async def test_bell_job_through_the_pool(shared: Recorder, kit: type[Kit]) -> None:
    pool = shared.pool
    worker = pool.try_assign("JB", 1, kit.bell(shots=1000, seed=42), 30.0)
    assert worker in (0, 1)
    body = await shared.result("JB")
    assert body.status == "completed" and body.error is None
    assert body.result is not None
    assert body.result.job_id == "JB" and body.result.date is not None
    assert body.result.results[0].data.counts == {"00": 503, "11": 497}
    timings = body.timings
    assert timings.received_at is not None and timings.started_at is not None and timings.finished_at is not None
    assert timings.received_at <= timings.started_at <= timings.finished_at
    assert 0 < timings.billable_s <= timings.total_s + 0.5
    assert timings.transpile_s > 0 and timings.execute_s > 0 and timings.process_s > 0
    assert shared.started("JB")[0].worker == worker
    assert pool.held() == []
    # save_datasets=true: the worker wrote <data_dir>/datasets/<job>.<attempt>.nc
    assert (pool._data_dir / "datasets" / "JB.1.nc").is_file()
    assert pool.device_info is not None and pool.device_info.executor == "scripted"
    assert {"qpi", "python", "qiskit"} <= set(pool.versions)


async def test_two_workers_run_concurrently_with_one_job_ahead_each(shared: Recorder, kit: type[Kit]) -> None:
    pool = shared.pool
    await shared.ready(2)
    first = pool.try_assign("S1", 1, kit.act("sleep", seconds=1.5), 30.0)
    second = pool.try_assign("S2", 1, kit.act("sleep", seconds=1.5), 30.0)
    assert {first, second} == {0, 1}
    ahead_1 = pool.try_assign("A1", 1, kit.bell(shots=5), 30.0)
    ahead_2 = pool.try_assign("A2", 1, kit.bell(shots=5), 30.0)
    assert {ahead_1, ahead_2} == {0, 1}
    # full: 2 workers x 2 held; a repeated attempt is a duplicate, whatever the capacity
    assert pool.try_assign("NF", 1, kit.bell(), 30.0) == "no_free_worker"
    assert pool.try_assign("A1", 1, kit.bell(), 30.0) == "duplicate"
    await shared.wait_for(lambda: shared.started("S1") and shared.started("S2"))
    phases = {(h.job_id, h.phase) for h in pool.held()}
    assert phases == {("S1", "started"), ("S2", "started"), ("A1", "accepted"), ("A2", "accepted")}
    # cancel the job ahead on one worker: reported at once, never started
    assert pool.cancel("A2", 1) is True
    cancelled = await shared.result("A2")
    assert cancelled.status == "cancelled" and cancelled.timings.billable_s == 0
    for job in ("S1", "S2", "A1"):
        assert (await shared.result(job)).status == "completed"
    # both sleeps ran at the same time: each started before the other finished
    s1_end = shared.index(lambda e: isinstance(e, JobFinishedEvent) and e.body.job_id == "S1")
    s2_end = shared.index(lambda e: isinstance(e, JobFinishedEvent) and e.body.job_id == "S2")
    for job in ("S1", "S2"):
        begun = shared.index(lambda e, job=job: isinstance(e, JobStartedEvent) and e.job_id == job)
        assert begun < min(s1_end, s2_end)
    assert shared.started("A2") == []
    assert pool.cancel("A2", 1) is False  # no longer held
    assert pool.held() == []


async def test_errors_are_mapped_to_job_error_codes(shared: Recorder, kit: type[Kit]) -> None:
    pool = shared.pool
    pool.try_assign("E1", 1, kit.act("raise"), 30.0)
    broken = kit.bell()
    broken = type(broken)(
        id="x", circuits=[CircuitPayload(circuit=kit.BELL), CircuitPayload(circuit="OPENQASM 2.0;\nqreg q[1;")]
    )
    pool.try_assign("E2", 1, broken, 30.0)
    failed = await shared.result("E1")
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "executor_error" and failed.error.message == "RuntimeError: boom"
    assert failed.error.log_ref and failed.error.retryable is False
    parse = (await shared.result("E2")).error
    assert parse is not None and parse.code == "qasm_parse_error"
    assert (parse.circuit_index, parse.line) == (1, 2)
    # msgspec does not check types at construction: the worker's strict decode does (E-1.6)
    mistyped = type(broken)(
        id="x", circuits=[CircuitPayload(circuit=kit.BELL), CircuitPayload(circuit=kit.BELL, shots="9")]
    )  # type: ignore[arg-type]
    pool.try_assign("E4", 1, mistyped, 30.0)
    invalid = (await shared.result("E4")).error
    assert invalid is not None and invalid.code == "invalid_payload"
    assert invalid.circuit_index == 1 and "$.circuits[1].shots" in invalid.message
    pool.try_assign("E3", 1, kit.bell(meas_level=0, meas_return="avg"), 30.0)
    level0 = (await shared.result("E3")).error
    assert level0 is not None and level0.code == "unsupported_feature"
    assert "raw traces are not available from simulators" in level0.message


async def test_progress_warnings_and_worker_isolation(shared: Recorder, kit: type[Kit]) -> None:
    pool = shared.pool
    pool.try_assign("P1", 1, kit.act("progress"), 30.0)
    pool.try_assign("P2", 1, kit.act("modules"), 30.0)
    assert (await shared.result("P1")).status == "completed"
    progress = [e for e in shared.events if isinstance(e, JobProgressEvent) and e.job_id == "P1"]
    assert progress and (progress[0].fraction, progress[0].stage, progress[0].message) == (0.5, "compiling", "half way")
    body = await shared.result("P2")
    note = next(w for w in body.warnings if w.startswith("modules loaded"))
    assert "pynng" not in note and "qiskit" in note  # workers never import pynng
    worker = shared.started("P2")[0].worker
    assert note.endswith(str(Path(pool._data_dir) / "workers" / str(worker)))


async def test_higher_attempt_replaces_the_held_one(shared: Recorder, kit: type[Kit]) -> None:
    pool = shared.pool
    await shared.ready(2)
    pool.try_assign("R", 1, kit.act("hang"), 60.0)
    await shared.wait_for(lambda: shared.started("R", 1))
    worker = pool.try_assign("R", 2, kit.act("sleep", seconds=0.5), 30.0)
    assert isinstance(worker, int)
    assert pool.try_assign("R", 1, kit.bell(), 30.0) == "duplicate"  # an older attempt than the held one
    old = await shared.result("R", 1)
    assert old.status == "cancelled" and old.timings.billable_s > 0
    assert (await shared.result("R", 2)).status == "completed"
    await shared.ready(2)
    assert pool.held() == []
