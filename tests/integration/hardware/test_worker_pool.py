"""The hardware executors inside real driver workers (forkserver, own working directory).

A worker imports the Qblox stack, runs the self-test and reports ready; a Bell job comes back as
a result document; a missing config file stops the pool at start with a ConfigError.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from qpi.driver.executors.hardware.assembler import dummy_run_unavailable_reason
from qpi.driver.pool import WorkerPool
from qpi.driver.pool_events import JobFinishedEvent
from qpi.errors import ConfigError
from qpi.protocol.messages import JobResultBody
from qpi.protocol.payload import CircuitPayload, JobPayload

from .conftest import BELL

_NO_RUNS = dummy_run_unavailable_reason()
pytestmark = [
    pytest.mark.hardware,
    pytest.mark.anyio,
    pytest.mark.skipif(_NO_RUNS is not None, reason=_NO_RUNS or ""),
]


async def finished(pool: WorkerPool, job_id: str, timeout_s: float = 120) -> JobResultBody:
    with anyio.fail_after(timeout_s):
        async for event in pool.events():
            if isinstance(event, JobFinishedEvent) and event.body.job_id == job_id:
                return event.body
    raise AssertionError("the pool stopped before the job finished")


@pytest.mark.parametrize("kind", ["quantify", "qblox"])
async def test_a_bell_job_runs_in_a_worker_on_the_dummy_cluster(kind: str, tmp_path: Path) -> None:
    pool = WorkerPool(
        executor=kind,
        options={"is_dummy": "true"},
        name="hw",
        data_dir=tmp_path / "data",
        launch_dir=tmp_path,
        kill_grace_s=2.0,
    )
    with anyio.fail_after(120):
        await pool.start()
    try:
        info = pool.device_info
        assert info is not None and info.executor == kind and info.num_qubits == 3
        payload = JobPayload(id="B1", circuits=[CircuitPayload(circuit=BELL, name="bell")], shots=200)
        assert pool.try_assign("B1", 1, payload, 60.0) == 0
        body = await finished(pool, "B1")
        assert body.status == "completed", body.error
        assert body.result is not None
        experiment = body.result.results[0]
        assert experiment.header.name == "bell" and experiment.data.counts == {"00": 200}
        assert "200 shots had no data for q0" in body.warnings
        assert body.timings.compile_s is not None and body.timings.compile_s > 0
        # the dummy assembler wrote its files into the worker's own directory, not the launch one
        assert (tmp_path / "data" / "workers" / "0" / "tmp.q1asm").is_file()
        assert not (tmp_path / "tmp.q1asm").exists()
    finally:
        await pool.close()


async def test_a_missing_config_file_stops_the_pool_at_start(tmp_path: Path) -> None:
    pool = WorkerPool(
        executor="quantify",
        options={"quantify_device_config": "nowhere.yml", "is_dummy": "true"},
        name="hw",
        data_dir=tmp_path / "data",
        launch_dir=tmp_path,
        kill_grace_s=2.0,
    )
    with anyio.fail_after(120), pytest.raises(ConfigError, match=str(tmp_path / "nowhere.yml")):
        await pool.start()
