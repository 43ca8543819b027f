"""The driver's supervised worker pool (``executors.md`` §1.3, E-1.7, E-1.8; ``driver-protocol.md`` §6).

Usage by the driver daemon (one asyncio loop; every method is called from it)::

    pool = WorkerPool(executor="mock", options={...}, workers=2, name="qpu1", data_dir=path,
                      max_held_per_worker=2, kill_grace_s=5.0)
    await pool.start()                  # ConfigError when the first worker's init is a config error
    pool.try_assign(job_id, attempt, payload, timeout_s)   # worker index, or a rejection reason
    pool.cancel(job_id, attempt)
    async for event in pool.events(): ...                  # see qpi.driver.pool_events
    refs = pool.begin_drain()           # SIGTERM: held, not started → JobRejected(draining)
    await pool.drain(grace_s)           # running jobs finish, or fail with driver_shutdown
    await pool.close()

**Processes.** Workers are ``multiprocessing`` processes (``forkserver`` on Linux, ``spawn``
elsewhere), never ``concurrent.futures``: one worker can be killed and replaced without touching
the others. This process never imports qiskit, xarray or the executor; workers never import pynng.

**Prefetch.** Each worker holds at most ``max_held_per_worker`` attempts: the one it runs and,
on a simulator QPU (2), one ahead. The job ahead is sent into the worker's pipe at once, so it
starts the moment the current one ends, without a round trip to the server. A reader thread in
the worker drains the pipe, so a cancel of the job ahead reaches it while it still runs the
current job: the parent reports ``cancelled`` at once and the worker drops the job (if the
worker had already started it, a race of a few microseconds, the worker is killed and replaced;
the attempt still gets exactly one result). Hardware QPUs use ``max_held_per_worker=1``.

**Outcomes.** Every accepted attempt ends in exactly one :class:`JobFinishedEvent`: the worker's
result, or ``timeout`` (killed ``timeout_s`` after it started: SIGTERM, ``kill_grace_s``, SIGKILL,
respawn), ``cancelled``, ``worker_crashed`` (unexpected exit), ``driver_shutdown`` (retryable;
drain grace or close) or ``executor_unavailable`` (retryable; the worker could not be restarted).
Attempts held ahead in a worker that dies are sent again to its replacement.

**Respawn.** A killed or crashed worker is replaced at once, except after 3 crashes within
5 minutes (backoff 1 s → 60 s and ``executor_error`` set) and after an init failure (backoff
1 s → 60 s, ``executor_error`` = the failure, the worker is not counted as ready).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from qpi.driver import worker_messages as wm
from qpi.driver.pool_events import PoolEvent
from qpi.driver.pool_process import mp_context
from qpi.driver.pool_state import Attempt, Rejection, Slot, pool_error
from qpi.driver.pool_supervision import PoolSupervision
from qpi.errors import ConfigError
from qpi.protocol.messages import HeldJob, JobRef, utcnow
from qpi.protocol.payload import DeviceInfo, JobPayload

__all__ = ["Rejection", "WorkerPool"]

logger = logging.getLogger(__name__)

_encode_payload = msgspec.msgpack.Encoder().encode


class WorkerPool(PoolSupervision):
    """Worker processes running one executor; see the module docstring."""

    def __init__(
        self,
        *,
        executor: str,
        options: Mapping[str, Any] | None = None,
        workers: int = 1,
        name: str,
        data_dir: Path,
        max_held_per_worker: int = 1,
        kill_grace_s: float = 5.0,
        python_path: Sequence[str | os.PathLike[str]] = (),
        launch_dir: Path | None = None,
    ) -> None:
        """``python_path``: extra import directories for ``module:Class`` executors in the workers;
        ``launch_dir``: where relative option paths resolve (default: the current directory)."""
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, not {workers}")
        if max_held_per_worker < 1:
            raise ConfigError(f"max_held_per_worker must be at least 1, not {max_held_per_worker}")
        self.executor = executor
        self.workers = workers
        self.name = name
        self.max_held_per_worker = max_held_per_worker
        self.kill_grace_s = kill_grace_s
        self._data_dir = Path(data_dir).resolve()
        self._options = dict(options or {})
        self._python_path = tuple(str(Path(p).resolve()) for p in python_path)
        self._launch_dir = str((launch_dir or Path.cwd()).resolve())
        self._log_level = logging.getLogger().getEffectiveLevel()
        self._context = mp_context()
        self._slots = [Slot(index) for index in range(workers)]
        self._state = "new"
        self._events: asyncio.Queue[PoolEvent | None] = asyncio.Queue()
        self._tick = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._first_init: asyncio.Future[wm.Ready | wm.InitFailed] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drained: list[JobRef] | None = None
        self.device_info: DeviceInfo | None = None
        self.versions: dict[str, str] = {}

    async def start(self) -> None:
        """Start every worker; return once the first one has finished its init.

        Raises :class:`ConfigError` (the driver exits 2) when that init failed with a
        configuration error; a runtime init error only leaves the worker down (respawned with
        backoff, ``executor_error`` in :meth:`status`).
        """
        if self._state != "new":
            raise RuntimeError("a WorkerPool can be started once")
        self._loop = asyncio.get_running_loop()
        self._first_init = self._loop.create_future()
        self._log_level = logging.getLogger().getEffectiveLevel()
        self._state = "running"
        atexit.register(self._kill_all)  # never leave workers behind, even if close() is skipped
        self._data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.gather(*(self._spawn(slot) for slot in self._slots))
        outcome = await self._first_init
        if isinstance(outcome, wm.InitFailed) and outcome.config_error:
            await self.close()
            raise ConfigError(outcome.message)

    async def close(self) -> None:
        """Stop every worker (Stop, then kill after ``kill_grace_s``); running jobs fail (shutdown)."""
        if self._state == "closed":
            return
        self._state = "closed"
        for slot in self._slots:
            for attempt in slot.unstarted():
                slot.queue.remove(attempt)
                self._finish(attempt, "failed", pool_error("driver_shutdown", "the driver shut down", retryable=True))
            if slot.running() is not None:
                if slot.kill_reason is None:
                    self._kill(slot, "shutdown")
            elif slot.process is not None and slot.state == "starting":
                slot.state = "stopping"
                slot.process.terminate()  # do not wait for a long init to finish
            elif slot.process is not None and slot.state != "killing":
                slot.state = "stopping"
                slot.process.send(wm.Stop())
        if not await self._wait(lambda: all(s.process is None for s in self._slots), self.kill_grace_s):
            for slot in self._slots:
                if slot.process is not None:
                    slot.process.kill()
            await self._wait(lambda: all(s.process is None for s in self._slots), self.kill_grace_s + 5.0)
        for task in list(self._tasks):
            task.cancel()
        atexit.unregister(self._kill_all)
        self._events.put_nowait(None)

    def _kill_all(self) -> None:
        """SIGKILL every worker (interpreter exit without :meth:`close`)."""
        for slot in self._slots:
            if slot.process is not None:
                slot.process.kill()

    def begin_drain(self) -> list[JobRef]:
        """Stop accepting; drop every held attempt that has not started and return them.

        The caller answers them with ``JobRejected(draining)``; no event is emitted for them.
        """
        if self._drained is not None:
            return list(self._drained)
        self._state = "draining" if self._state == "running" else self._state
        dropped: list[JobRef] = []
        for slot in self._slots:
            for attempt in slot.unstarted():
                self._unqueue(slot, attempt)
                dropped.append(JobRef(job_id=attempt.job_id, attempt=attempt.attempt))
        self._drained = dropped
        return list(dropped)

    async def drain(self, grace_s: float) -> list[JobRef]:
        """SIGTERM path: :meth:`begin_drain`, let running jobs finish within ``grace_s``, then kill
        them (``failed(driver_shutdown)``, retryable). Returns the attempts dropped unstarted."""
        dropped = self.begin_drain()
        if not await self._wait(lambda: all(s.running() is None for s in self._slots), grace_s):
            for slot in self._slots:
                if slot.running() is not None and slot.kill_reason is None:
                    self._kill(slot, "shutdown")
            await self._wait(lambda: all(s.running() is None for s in self._slots), self.kill_grace_s + 5.0)
        return dropped

    async def events(self) -> AsyncIterator[PoolEvent]:
        """Every event in order, until :meth:`close` (one consumer)."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    def held(self) -> list[HeldJob]:
        """Every accepted, unfinished attempt, with its phase and worker."""
        return [
            HeldJob(
                job_id=a.job_id,
                attempt=a.attempt,
                phase="accepted" if a.started_at is None else "started",
                worker=slot.index,
            )
            for slot in self._slots
            for a in slot.queue
        ]

    def try_assign(self, job_id: str, attempt: int, payload: JobPayload, timeout_s: float) -> int | Rejection:
        """Hand an attempt to a worker: its index, or the ``JobRejected`` reason.

        A higher attempt of a job held here kills (cancels) the older attempt first (P-4.8).
        """
        if self._state != "running":
            return "draining"
        held = self._find_job(job_id)
        if held is not None:
            if held[1].attempt >= attempt:
                return "duplicate"
            logger.info("job %s: attempt %s supersedes attempt %s", job_id, attempt, held[1].attempt)
            self.cancel(job_id, held[1].attempt)
        candidates = [s for s in self._slots if s.state == "ready" and len(s.queue) < self.max_held_per_worker]
        if not candidates:
            return "no_free_worker"
        slot = min(candidates, key=lambda s: (len(s.queue), s.index))
        item = Attempt(
            job_id=job_id,
            attempt=attempt,
            payload=_encode_payload(msgspec.structs.replace(payload, id=job_id)),
            timeout_s=timeout_s,
            received_at=utcnow(),
            worker=slot.index,
        )
        slot.queue.append(item)
        self._send_run(slot, item)
        logger.info("job %s attempt %s assigned to worker %s", job_id, attempt, slot.index)
        return slot.index

    def cancel(self, job_id: str, attempt: int) -> bool:
        """Cancel a held attempt: dropped if not started, else its worker is killed and replaced.

        Either way exactly one ``cancelled`` :class:`JobFinishedEvent` follows. False when the
        attempt is not held here (the cancel is ignored, P-4.8).
        """
        for slot in self._slots:
            for item in slot.queue:
                if item.key != (job_id, attempt):
                    continue
                if item.started_at is None:
                    self._unqueue(slot, item)
                    self._finish(item, "cancelled")
                elif slot.kill_reason is None:
                    self._kill(slot, "cancel")
                logger.info("job %s attempt %s cancelled on worker %s", job_id, attempt, slot.index)
                return True
        return False

    def _find_job(self, job_id: str) -> tuple[Slot, Attempt] | None:
        for slot in self._slots:
            for item in slot.queue:
                if item.job_id == job_id:
                    return slot, item
        return None
