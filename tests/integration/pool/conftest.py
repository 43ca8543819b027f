from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from qpi.driver.pool import WorkerPool
from qpi.driver.pool_events import JobFinishedEvent, JobStartedEvent, PoolEvent
from qpi.protocol.messages import JobResultBody
from qpi.protocol.payload import CircuitPayload, JobPayload

HERE = Path(__file__).resolve().parent
SCRIPTED = "helpers_executors:ScriptedExecutor"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
LIMIT_S = 60.0  # liveness bound for anything a test waits on; never a timing assertion


@pytest.fixture(scope="package")
def anyio_backend() -> str:
    return "asyncio"


def bell(**fields: Any) -> JobPayload:
    return JobPayload(id="x", circuits=[CircuitPayload(circuit=BELL, name="bell")], **fields)


def act(name: str, **options: Any) -> JobPayload:
    return bell(shots=10, options={"act": name, **options})


class Recorder:
    """Collects a pool's events; tests wait on them with a bounded timeout."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self.events: list[PoolEvent] = []
        self._changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for event in self.pool.events():
            self.events.append(event)
            self._changed.set()

    async def wait_for(self, predicate: Callable[[], Any], limit_s: float = LIMIT_S) -> Any:
        deadline = time.monotonic() + limit_s
        while not (value := predicate()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {limit_s} s; events: {self.events[-10:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
        return value

    def finished(self, job_id: str, attempt: int = 1) -> list[JobResultBody]:
        return [
            e.body
            for e in self.events
            if isinstance(e, JobFinishedEvent) and (e.body.job_id, e.body.attempt) == (job_id, attempt)
        ]

    def started(self, job_id: str, attempt: int = 1) -> list[JobStartedEvent]:
        return [e for e in self.events if isinstance(e, JobStartedEvent) and (e.job_id, e.attempt) == (job_id, attempt)]

    async def result(self, job_id: str, attempt: int = 1) -> JobResultBody:
        bodies = await self.wait_for(lambda: self.finished(job_id, attempt))
        assert len(bodies) == 1, bodies
        return bodies[0]

    async def ready(self, count: int) -> None:
        await self.wait_for(lambda: self.pool.status()[1] == count)

    def index(self, predicate: Callable[[PoolEvent], bool]) -> int:
        return next(i for i, e in enumerate(self.events) if predicate(e))

    async def aclose(self) -> None:
        await self.pool.close()
        await asyncio.wait_for(self._task, LIMIT_S)


async def open_pool(tmp: Path, **kwargs: Any) -> tuple[WorkerPool, Recorder]:
    kwargs.setdefault("executor", SCRIPTED)
    kwargs.setdefault("name", "qpu-test")
    kwargs.setdefault("kill_grace_s", 1.0)
    pool = WorkerPool(data_dir=tmp, python_path=[HERE], **kwargs)
    recorder = Recorder(pool)
    try:
        await pool.start()
    except BaseException:
        await recorder.aclose()
        raise
    return pool, recorder


@pytest.fixture(scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Recorder]:
    """Two scripted workers, one job ahead each, datasets saved."""
    _, recorder = await open_pool(
        tmp_path_factory.mktemp("shared"), workers=2, max_held_per_worker=2, options={"save_datasets": "true"}
    )
    await recorder.ready(2)
    yield recorder
    await recorder.aclose()


@pytest.fixture(scope="module")
async def solo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Recorder]:
    """One scripted worker with one job ahead: for the tests that kill it."""
    _, recorder = await open_pool(tmp_path_factory.mktemp("solo"), workers=1, max_held_per_worker=2)
    yield recorder
    await recorder.aclose()


class Kit:
    """Helpers for the tests (test modules cannot import conftest under --import-mode=importlib)."""

    bell = staticmethod(bell)
    act = staticmethod(act)
    open_pool = staticmethod(open_pool)
    BELL = BELL
    LIMIT_S = LIMIT_S


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
