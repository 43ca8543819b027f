"""Supervision of the pool's worker processes: spawn, respawn, kill, and what workers report.

Internal to :mod:`qpi.driver.pool`: :class:`PoolSupervision` is the base of
:class:`~qpi.driver.pool.WorkerPool` and holds everything that reacts to a worker (messages from
its pipe, its exit, a job's timeout). Handlers run in the event loop: the watcher threads of
:class:`~qpi.driver.pool_process.WorkerProcess` hop there with ``call_soon_threadsafe``, and a
process ``generation`` number makes messages of a replaced process harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import msgspec

from qpi.aio import wait_event
from qpi.driver import worker_messages as wm
from qpi.driver.pool_events import (
    JobFinishedEvent,
    JobProgressEvent,
    JobStartedEvent,
    PoolChangedEvent,
    PoolEvent,
    crash_retry_delay,
    exit_description,
    init_retry_delay,
)
from qpi.driver.pool_process import WorkerProcess
from qpi.driver.pool_state import Attempt, KillReason, Slot, Status, killed_outcome, pool_error
from qpi.protocol.messages import JobError, JobResultBody, JobTimings, utcnow
from qpi.protocol.payload import DeviceInfo

__all__ = ["PoolSupervision"]

logger = logging.getLogger("qpi.driver.pool")


class PoolSupervision:
    """Process supervision and worker-message handling shared by :class:`~qpi.driver.pool.WorkerPool`."""

    workers: int
    name: str
    executor: str
    kill_grace_s: float
    device_info: DeviceInfo | None
    versions: dict[str, str]
    _slots: list[Slot]
    _state: Literal["new", "running", "draining", "closed"]
    _events: asyncio.Queue[PoolEvent | None]
    _tick: asyncio.Event
    _tasks: set[asyncio.Task[None]]
    _first_init: asyncio.Future[wm.Ready | wm.InitFailed] | None
    _loop: asyncio.AbstractEventLoop | None
    _context: Any
    _data_dir: Path
    _options: dict[str, Any]
    _python_path: tuple[str, ...]
    _launch_dir: str
    _log_level: int

    def status(self) -> tuple[int, int, int, str | None]:
        """``(workers_total, workers_ready, workers_busy, executor_error)`` for heartbeats."""
        ready = sum(1 for s in self._slots if s.state == "ready")
        busy = sum(1 for s in self._slots if s.running() is not None)
        error = next((s.error for s in self._slots if s.error), None)
        return (self.workers, ready, busy, error)

    async def _spawn(self, slot: Slot) -> None:
        slot.generation += 1
        generation = slot.generation
        slot.state = "starting"
        slot.init_failed = False
        spec = wm.WorkerSpec(
            index=slot.index,
            executor=self.executor,
            options=self._options,
            name=self.name,
            data_dir=str(self._data_dir),
            workers_total=self.workers,
            launch_dir=self._launch_dir,
            python_path=self._python_path,
            log_level=self._log_level,
        )
        loop = self._loop
        assert loop is not None
        process = WorkerProcess(
            spec,
            context=self._context,
            on_message=lambda m: self._post(loop, self._on_message, slot, generation, m),
            on_exit=lambda code: self._post(loop, self._on_exit, slot, generation, code),
        )
        slot.process = process

        def start_process() -> None:
            process.start()
            if self._state == "closed":  # closed while the process was being forked
                process.kill()

        try:
            await asyncio.to_thread(start_process)
        except Exception as exc:  # fork failed (resources, permissions)
            logger.exception("worker %s could not be started", slot.index)
            slot.process = None
            self._init_failed(slot, f"the worker process could not be started: {exc}", config=False)
            self._schedule_respawn(slot, init_retry_delay(slot.init_failures))
            return
        logger.info("worker %s started (pid %s)", slot.index, process.pid)

    @staticmethod
    def _post(loop: asyncio.AbstractEventLoop, handler: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is listening any more
            loop.call_soon_threadsafe(handler, *args)

    def _schedule_respawn(self, slot: Slot, delay: float) -> None:
        if self._state != "running":
            slot.state = "down"
            return
        slot.state = "down"

        async def respawn() -> None:
            if delay > 0:
                logger.warning("worker %s restarts in %.0f s", slot.index, delay)
                await asyncio.sleep(delay)
            if self._state == "running" and slot.process is None:
                await self._spawn(slot)

        task = asyncio.ensure_future(respawn())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send_run(self, slot: Slot, item: Attempt) -> None:
        if slot.state != "ready" or slot.process is None:
            return
        message = wm.RunJob(job_id=item.job_id, attempt=item.attempt, payload=item.payload, timeout_s=item.timeout_s)
        if slot.process.send(message):
            item.sent_generation = slot.generation

    def _unqueue(self, slot: Slot, item: Attempt) -> None:
        """Take a not-yet-started attempt out of a worker (and out of its pipe)."""
        slot.queue.remove(item)
        if item.sent_generation == slot.generation and slot.process is not None:
            slot.discarding.add(item.key)
            slot.process.send(wm.CancelQueued(job_id=item.job_id, attempt=item.attempt))

    def _kill(self, slot: Slot, reason: KillReason) -> None:
        process = slot.process
        slot.kill_reason = reason
        was_ready = slot.state == "ready"
        if process is None:
            return
        slot.state = "killing"
        logger.warning("worker %s (pid %s): stopping it (%s)", slot.index, process.pid, reason)
        process.terminate()
        assert self._loop is not None
        slot.kill_timer = self._loop.call_later(self.kill_grace_s, process.kill)
        if was_ready:
            self._pool_changed()

    def _on_message(self, slot: Slot, generation: int, message: wm.ToParent) -> None:
        if generation != slot.generation:
            return
        self._tick.set()
        if isinstance(message, wm.Ready):
            self._on_ready(slot, message)
        elif isinstance(message, wm.InitFailed):
            self._init_failed(slot, message.message, config=message.config_error)
        elif isinstance(message, wm.Started):
            self._on_started(slot, message)
        elif isinstance(message, wm.Progress):
            running = slot.running()
            if running is not None and running.key == (message.job_id, message.attempt) and slot.kill_reason is None:
                self._events.put_nowait(
                    JobProgressEvent(message.job_id, message.attempt, message.stage, message.fraction, message.message)
                )
        elif isinstance(message, wm.Finished):
            self._on_finished(slot, message.body)
        elif isinstance(message, wm.Dropped):
            slot.discarding.discard((message.job_id, message.attempt))

    def _on_ready(self, slot: Slot, message: wm.Ready) -> None:
        if self._state == "closed":
            return
        slot.state = "ready" if slot.kill_reason is None else slot.state
        slot.error = None
        slot.init_failures = 0
        changed = self.device_info is not None and message.device_info != self.device_info
        self.device_info = message.device_info
        self.versions = dict(message.versions)
        if self._first_init is not None and not self._first_init.done():
            self._first_init.set_result(message)
        if self._state == "draining":
            slot.state = "stopping"
            if slot.process is not None:
                slot.process.send(wm.Stop())
            return
        for item in slot.queue:
            if item.sent_generation != slot.generation:
                self._send_run(slot, item)
        self._pool_changed(device_info_changed=changed)

    def _init_failed(self, slot: Slot, message: str, *, config: bool) -> None:
        slot.init_failed = True
        slot.init_failures += 1
        slot.error = message
        logger.error("worker %s failed to start: %s", slot.index, message)
        if self._first_init is not None and not self._first_init.done():
            self._first_init.set_result(wm.InitFailed(message=message, config_error=config))
        self._fail_unstarted(slot, message)
        self._pool_changed()

    def _fail_unstarted(self, slot: Slot, why: str) -> None:
        for item in slot.unstarted():
            slot.queue.remove(item)
            self._finish(
                item, "failed", pool_error("executor_unavailable", f"no worker could run the job: {why}", True)
            )

    def _on_started(self, slot: Slot, message: wm.Started) -> None:
        key = (message.job_id, message.attempt)
        if key in slot.discarding:  # cancelled while in the pipe, but the worker was faster
            slot.discarding.discard(key)
            if slot.kill_reason is None:
                self._kill(slot, "discard")
            return
        item = next((a for a in slot.queue if a.key == key), None)
        if item is None or slot.kill_reason is not None:
            return
        if slot.queue[0] is not item:  # keep the running attempt first
            slot.queue.remove(item)
            slot.queue.insert(0, item)
        item.started_at = message.started_at
        item.started_mono = time.monotonic()
        assert self._loop is not None
        item.timeout_handle = self._loop.call_later(item.timeout_s, self._on_timeout, slot, slot.generation, item.key)
        self._events.put_nowait(JobStartedEvent(item.job_id, item.attempt, slot.index, message.started_at))

    def _on_timeout(self, slot: Slot, generation: int, key: tuple[str, int]) -> None:
        running = slot.running()
        if generation == slot.generation and running is not None and running.key == key and slot.kill_reason is None:
            logger.warning("job %s attempt %s passed its timeout of %s s", key[0], key[1], running.timeout_s)
            self._kill(slot, "timeout")

    def _on_finished(self, slot: Slot, body: JobResultBody) -> None:
        item = next((a for a in slot.queue if a.key == (body.job_id, body.attempt)), None)
        if item is None or slot.kill_reason is not None:
            return  # cancelled, superseded or being killed: that path reports the outcome
        slot.queue.remove(item)
        if item.timeout_handle is not None:
            item.timeout_handle.cancel()
        finished_at = body.timings.finished_at or utcnow()
        timings = msgspec.structs.replace(
            body.timings,
            received_at=item.received_at,
            total_s=max(0.0, (finished_at - item.received_at).total_seconds()),
        )
        self._events.put_nowait(JobFinishedEvent(msgspec.structs.replace(body, timings=timings)))
        if body.status == "completed" and slot.crashes:  # the executor works again
            slot.crashes.clear()
            if slot.error is not None:
                slot.error = None
                self._pool_changed()

    def _on_exit(self, slot: Slot, generation: int, exitcode: int | None) -> None:
        if generation != slot.generation:
            return
        self._tick.set()
        if slot.kill_timer is not None:
            slot.kill_timer.cancel()
            slot.kill_timer = None
        was_ready = slot.state == "ready"
        state, reason = slot.state, slot.kill_reason
        slot.process, slot.kill_reason = None, None
        slot.discarding.clear()
        running = slot.running()
        description = exit_description(exitcode)
        if running is not None:
            slot.queue.remove(running)
            if running.timeout_handle is not None:
                running.timeout_handle.cancel()
            outcome = killed_outcome(running, reason, description)
            if outcome is not None:
                self._finish(running, *outcome)
        if self._state != "running" or state == "stopping":
            slot.state = "down"
            self._fail_unstarted(slot, "the driver is shutting down")
            self._pool_changed()
            return
        if slot.init_failed:
            delay = init_retry_delay(slot.init_failures)
        elif state == "starting":
            self._init_failed(slot, f"{description} during start-up", config=False)
            delay = init_retry_delay(slot.init_failures)
        elif reason is not None:
            delay = 0.0
        else:
            logger.error("worker %s: %s", slot.index, description)
            slot.crashes.append(time.monotonic())
            delay = crash_retry_delay(slot.crashes, time.monotonic())
            if delay > 0:
                slot.error = f"workers keep crashing ({len(slot.crashes)} times); last: {description}"
        if delay > 0:
            self._fail_unstarted(slot, slot.error or description)
        self._schedule_respawn(slot, delay)
        if was_ready or delay > 0:
            self._pool_changed()

    def _finish(
        self,
        item: Attempt,
        status: Status,
        error: JobError | None = None,
    ) -> None:
        if item.timeout_handle is not None:
            item.timeout_handle.cancel()
        now = utcnow()
        billable = 0.0 if item.started_mono is None else time.monotonic() - item.started_mono
        timings = JobTimings(
            received_at=item.received_at,
            started_at=item.started_at,
            finished_at=now,
            total_s=max(0.0, (now - item.received_at).total_seconds()),
            billable_s=billable,
        )
        body = JobResultBody(job_id=item.job_id, attempt=item.attempt, status=status, timings=timings, error=error)
        self._events.put_nowait(JobFinishedEvent(body))
        self._tick.set()

    def _pool_changed(self, *, device_info_changed: bool = False) -> None:
        total, ready, busy, error = self.status()
        self._events.put_nowait(
            PoolChangedEvent(total, ready, busy, error, self.device_info, device_info_changed=device_info_changed)
        )

    async def _wait(self, predicate: Callable[[], bool], limit_s: float) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every worker message or exit)."""
        deadline = time.monotonic() + limit_s
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._tick.clear()
            if not await wait_event(self._tick, remaining):
                return predicate()
        return True
