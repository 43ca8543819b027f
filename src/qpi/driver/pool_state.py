"""The pool's bookkeeping: held attempts, worker slots, and the outcome of a killed job.

Internal to :mod:`qpi.driver.pool`. Plain data and pure functions; no I/O.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from qpi.driver.pool_process import WorkerProcess
from qpi.protocol.messages import JobError

__all__ = ["Attempt", "KillReason", "Rejection", "Slot", "Status", "killed_outcome", "pool_error"]

#: why ``try_assign`` refused an attempt (the ``JobRejected`` reason)
Rejection = Literal["no_free_worker", "duplicate", "draining"]
#: why the pool stopped a worker: the running job's outcome follows from it
KillReason = Literal["timeout", "cancel", "shutdown", "discard"]
Status = Literal["completed", "failed", "cancelled"]


@dataclass
class Attempt:
    """One accepted attempt, from ``try_assign`` to its result."""

    job_id: str
    attempt: int
    payload: bytes  # msgpack of the JobPayload
    timeout_s: float
    received_at: datetime
    worker: int
    sent_generation: int = -1  # the worker process (generation) whose pipe holds it; -1: not sent
    started_at: datetime | None = None
    started_mono: float | None = None
    timeout_handle: asyncio.TimerHandle | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.job_id, self.attempt)


@dataclass
class Slot:
    """Worker number ``index`` across its successive processes (``generation``)."""

    index: int
    state: Literal["down", "starting", "ready", "killing", "stopping"] = "down"
    process: WorkerProcess | None = None
    generation: int = 0
    queue: list[Attempt] = field(default_factory=list)  # held attempts, the running one first
    discarding: set[tuple[str, int]] = field(default_factory=set)  # cancelled while in the pipe
    kill_reason: KillReason | None = None
    kill_timer: asyncio.TimerHandle | None = None
    init_failed: bool = False
    init_failures: int = 0
    crashes: deque[float] = field(default_factory=lambda: deque(maxlen=16))
    error: str | None = None

    def running(self) -> Attempt | None:
        return self.queue[0] if self.queue and self.queue[0].started_at is not None else None

    def unstarted(self) -> list[Attempt]:
        return [item for item in self.queue if item.started_at is None]


def pool_error(code: str, message: str, retryable: bool = False) -> JobError:
    return JobError(code=code, message=message, retryable=retryable)


def killed_outcome(item: Attempt, reason: KillReason | None, description: str) -> tuple[Status, JobError | None] | None:
    """The result of the job that was running when its worker ended; None when already reported.

    ``reason`` is why the pool stopped the worker (None: it died on its own); ``description``
    says how the process ended (see :func:`~qpi.driver.pool_events.exit_description`).
    """
    if reason == "timeout":
        message = f"the job ran past its timeout of {item.timeout_s:g} s; its worker was replaced"
        return "failed", pool_error("timeout", message)
    if reason == "cancel":
        return "cancelled", None
    if reason == "shutdown":
        return "failed", pool_error("driver_shutdown", "the driver shut down during the job", retryable=True)
    if reason is None:
        return "failed", pool_error("worker_crashed", f"{description} while running the job")
    return None  # "discard": the attempt was reported cancelled before it started
