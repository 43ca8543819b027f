"""Events a :class:`~qpi.driver.pool.WorkerPool` reports, and its pure respawn policy.

The driver daemon reads the events with ``async for event in pool.events()`` and turns them
into link messages: :class:`JobStartedEvent` → ``JobStarted``, :class:`JobFinishedEvent` →
``JobResult`` (exactly one per accepted attempt, whatever happened to the worker),
:class:`JobProgressEvent` → ``JobProgress``, :class:`PoolChangedEvent` → an immediate
``Heartbeat`` (and ``DeviceInfo`` when ``device_info_changed``).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from qpi.protocol.messages import JobResultBody
from qpi.protocol.payload import DeviceInfo

__all__ = [
    "CRASH_LIMIT",
    "CRASH_WINDOW_S",
    "JobFinishedEvent",
    "JobProgressEvent",
    "JobStartedEvent",
    "PoolChangedEvent",
    "PoolEvent",
    "crash_retry_delay",
    "exit_description",
    "init_retry_delay",
]

#: this many unexpected worker exits within CRASH_WINDOW_S seconds start the respawn backoff
CRASH_LIMIT = 3
CRASH_WINDOW_S = 300.0
_BACKOFF_MIN_S = 1.0
_BACKOFF_MAX_S = 60.0


@dataclass(frozen=True)
class JobStartedEvent:
    job_id: str
    attempt: int
    worker: int
    started_at: datetime


@dataclass(frozen=True)
class JobFinishedEvent:
    """The attempt is over (completed, failed or cancelled); ``body`` is the ``JobResult`` payload."""

    body: JobResultBody


@dataclass(frozen=True)
class JobProgressEvent:
    job_id: str
    attempt: int
    stage: str
    fraction: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class PoolChangedEvent:
    """The number of ready workers, the executor error or the device description changed."""

    workers_total: int
    workers_ready: int
    workers_busy: int
    executor_error: str | None
    device_info: DeviceInfo | None
    device_info_changed: bool = False


PoolEvent = JobStartedEvent | JobFinishedEvent | JobProgressEvent | PoolChangedEvent


def init_retry_delay(failures: int) -> float:
    """Delay before respawning after the ``failures``-th init failure in a row: 1 s, 2 s, 4 s … 60 s."""
    return min(_BACKOFF_MAX_S, _BACKOFF_MIN_S * float(2 ** max(0, failures - 1)))


def crash_retry_delay(crash_times: Sequence[float], now: float) -> float:
    """Delay before respawning after a crash: 0 below the crash limit, then 1 s, 2 s … 60 s.

    ``crash_times`` are monotonic instants of the unexpected exits, the latest included.
    """
    recent = [t for t in crash_times if now - t <= CRASH_WINDOW_S]
    if len(recent) < CRASH_LIMIT:
        return 0.0
    return min(_BACKOFF_MAX_S, _BACKOFF_MIN_S * float(2 ** (len(recent) - CRASH_LIMIT)))


def exit_description(exitcode: int | None) -> str:
    """How a worker process ended, for ``worker_crashed`` messages and ``executor_error``."""
    if exitcode is None:
        return "the worker process ended for an unknown reason"
    if exitcode >= 0:
        return f"the worker process exited with code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    if -exitcode == signal.SIGKILL:
        return f"the worker process was killed by {name} (possibly out of memory)"
    return f"the worker process was killed by {name}"
