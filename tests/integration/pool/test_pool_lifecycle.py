"""Start-up failures, drain and close (executors.md §1.3; driver-protocol.md P-5.8)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qpi.driver.pool import WorkerPool
from qpi.driver.pool_events import PoolChangedEvent
from qpi.errors import ConfigError
from qpi.protocol.messages import JobRef

if TYPE_CHECKING:
    from conftest import Kit

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("executor", "options", "workers", "expected"),
    [
        ("mock", {"nope": "1"}, 2, "unknown option 'nope' for executor 'mock'"),
        ("mock", {"num_qubits": "99"}, 1, "option 'num_qubits'"),
        ("no_such_kind", {}, 1, "known executors: mock, qiskit_aer"),
        ("presto", {}, 1, "The presto executor is not supported yet"),
    ],
)
async def test_a_config_error_in_the_first_worker_fails_start(
    tmp_path: Path, kit: type[Kit], executor: str, options: dict[str, str], workers: int, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        await kit.open_pool(tmp_path, executor=executor, options=options, workers=workers)


async def test_runtime_init_error_leaves_the_worker_down_then_it_recovers(tmp_path: Path, kit: type[Kit]) -> None:
    pool, recorder = await kit.open_pool(tmp_path, executor="helpers_executors:FlakyInitExecutor", workers=1)
    try:
        total, ready, busy, error = pool.status()
        assert (total, busy) == (1, 0)
        if ready == 0:  # start() returned after the failed first init
            assert error == "RuntimeError: instrument unreachable"
            assert pool.try_assign("J", 1, kit.bell(), 30.0) == "no_free_worker"
        # respawned after the 1 s backoff, this time successfully
        await recorder.ready(1)
        assert pool.status()[3] is None
        changes = [e for e in recorder.events if isinstance(e, PoolChangedEvent)]
        assert changes[0].executor_error == "RuntimeError: instrument unreachable"
        assert changes[-1].workers_ready == 1 and changes[-1].executor_error is None
        pool.try_assign("J", 1, kit.bell(shots=5), 30.0)
        assert (await recorder.result("J")).status == "completed"
    finally:
        await recorder.aclose()


async def test_drain_rejects_unstarted_lets_running_finish_and_kills_the_rest(tmp_path: Path, kit: type[Kit]) -> None:
    pool, recorder = await kit.open_pool(tmp_path, workers=2, max_held_per_worker=2)
    try:
        await recorder.ready(2)
        pool.try_assign("HANG", 1, kit.act("hang"), 60.0)
        pool.try_assign("SLOW", 1, kit.act("sleep", seconds=0.2), 60.0)
        pool.try_assign("AHEAD", 1, kit.bell(), 60.0)
        await recorder.wait_for(lambda: recorder.started("HANG") and recorder.started("SLOW"))
        assert pool.begin_drain() == [JobRef(job_id="AHEAD", attempt=1)]
        assert pool.try_assign("LATE", 1, kit.bell(), 60.0) == "draining"
        dropped = await pool.drain(grace_s=2.0)
        assert dropped == [JobRef(job_id="AHEAD", attempt=1)]
        assert (await recorder.result("SLOW")).status == "completed"
        killed = await recorder.result("HANG")
        assert killed.status == "failed" and killed.error is not None
        assert killed.error.code == "driver_shutdown" and killed.error.retryable is True
        assert recorder.finished("AHEAD") == [] and recorder.started("AHEAD") == []
        assert pool.held() == []
    finally:
        await recorder.aclose()
    assert pool.status()[1] == 0


def test_the_driver_process_never_imports_qiskit(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from qpi.driver.pool import WorkerPool
        from qpi.protocol.payload import CircuitPayload, JobPayload

        BELL = {open_qasm()!r}

        async def main():
            pool = WorkerPool(executor="mock", workers=1, name="q", data_dir=Path({str(tmp_path)!r}))
            await pool.start()
            pool.try_assign("J", 1, JobPayload(id="J", circuits=[CircuitPayload(circuit=BELL)], shots=10), 30.0)
            async for event in pool.events():
                if type(event).__name__ == "JobFinishedEvent":
                    print(event.body.status)
                    break
            await pool.close()
            print(sorted(m for m in ("qiskit", "xarray", "numpy", "qiskit_aer") if m in sys.modules))

        if __name__ == "__main__":
            asyncio.run(main())
        """
    )
    path = tmp_path / "driver_like.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["completed", "[]"], out.stderr


def open_qasm() -> str:
    return 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nmeasure q -> c;\n'


def test_pool_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        WorkerPool(executor="mock", workers=0, name="q", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="max_held_per_worker"):
        WorkerPool(executor="mock", name="q", data_dir=tmp_path, max_held_per_worker=0)
