"""Waiting for a job to finish: the event stream first, polling as the fallback (``client-and-cli.md`` §1.6).

1. GET the job; a final job returns at once (no stream is opened).
2. Open ``GET /api/events/stream?job=<id>``, then GET the job again (the stream sends no
   snapshot). Each event updates the job and calls ``on_update``; a final state returns.
3. A dropped stream is reopened with ``Last-Event-ID`` (up to 3 times) and the job re-read.
4. No stream route (404/405/501) or 3 failed reopenings → poll ``GET /api/jobs/{id}``: first
   after 1 s, then ×1.5 per poll up to 10 s, ±10 % jitter.
5. ``timeout`` bounds the whole wait: :class:`~qpi.client.errors.WaitTimeoutError`, and the job
   keeps running.
"""

from __future__ import annotations

import inspect
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

import anyio
import msgspec

from qpi.client.errors import WaitTimeoutError
from qpi.client.models import Job, queue_from_api
from qpi.client.stream import OPENED, StreamUnavailable, read_stream
from qpi.client.transport import Transport

__all__ = ["POLL_FIRST", "POLL_MAX", "OnUpdate", "poll_delays", "wait_for_job"]

logger = logging.getLogger(__name__)

OnUpdate = Callable[[Job], Any]
POLL_FIRST = 1.0
POLL_FACTOR = 1.5
POLL_MAX = 10.0
_FINAL_EVENTS = frozenset({"job.completed", "job.failed", "job.cancelled"})


def poll_delays(rand: Callable[[], float]) -> Callable[[int], float]:
    """Delay before poll ``n`` (0-based): 1 s ×1.5ⁿ, capped at 10 s, ±10 % jitter."""

    def delay(n: int) -> float:
        base = min(POLL_MAX, POLL_FIRST * POLL_FACTOR**n)
        return base * (0.9 + 0.2 * rand())

    return delay


class _Tracker:
    """The last known job, and ``on_update`` called whenever it changes."""

    def __init__(self, on_update: OnUpdate | None) -> None:
        self.job: Job | None = None
        self._on_update = on_update

    async def update(self, job: Job) -> Job:
        changed = self.job is None or (job.state, job.queue, job.attempt) != (
            self.job.state,
            self.job.queue,
            self.job.attempt,
        )
        self.job = job
        if changed and self._on_update is not None:
            outcome = self._on_update(job)
            if inspect.isawaitable(outcome):
                await outcome
        return job


async def wait_for_job(
    transport: Transport,
    get_job: Callable[[str], Awaitable[Job]],
    job_id: str,
    *,
    timeout: float | None = None,  # noqa: ASYNC109 (the API contract: a bound on the whole wait)
    on_update: OnUpdate | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    rand: Callable[[], float] | None = None,
) -> Job:
    """The job in a final state (completed, failed or cancelled: none of them raises)."""
    tracker = _Tracker(on_update)
    pause = sleep or anyio.sleep
    draw = rand or random.random
    result: Job | None = None
    with anyio.move_on_after(timeout) as scope:
        job = await tracker.update(await get_job(job_id))
        if job.final:
            return job
        try:
            result = await _via_stream(transport, get_job, job_id, tracker, pause, draw)
        except StreamUnavailable as exc:
            logger.debug("job_id=%s waiting by polling: %s", job_id, exc)
            result = await _via_polling(get_job, job_id, tracker, pause, draw)
    if result is not None and not scope.cancelled_caught:
        return result
    last = tracker.job
    state = last.state.value if last is not None else "unknown"
    waited = f" after waiting {timeout:g} s" if timeout is not None else ""
    raise WaitTimeoutError(
        f"job {job_id} is still {state}{waited}; it keeps running (it was not cancelled)",
        job=last,
    )


async def _via_stream(
    transport: Transport,
    get_job: Callable[[str], Awaitable[Job]],
    job_id: str,
    tracker: _Tracker,
    pause: Callable[[float], Awaitable[None]],
    draw: Callable[[], float],
) -> Job:
    stream = read_stream(transport, {"job": job_id}, markers=True, sleep=pause, rand=draw)
    async with aclosing(stream) as events:
        async for event in events:
            if event.type == OPENED or event.type == "stream.reset":
                job = await tracker.update(await get_job(job_id))
            elif event.job not in (None, job_id):
                continue
            elif event.type == "job.queue" and tracker.job is not None:
                queue = queue_from_api(event.data.get("queue"))
                job = await tracker.update(msgspec.structs.replace(tracker.job, queue=queue))
            elif event.type.startswith("job."):
                job = await tracker.update(await get_job(job_id))
                if event.type in _FINAL_EVENTS and not job.final:
                    continue  # the record lags the event on a replica: the next event or GET catches up
            else:
                continue
            if job.final:
                return job
    raise StreamUnavailable("the event stream ended")


async def _via_polling(
    get_job: Callable[[str], Awaitable[Job]],
    job_id: str,
    tracker: _Tracker,
    pause: Callable[[float], Awaitable[None]],
    draw: Callable[[], float],
) -> Job:
    delay = poll_delays(draw)
    n = 0
    while True:
        await pause(delay(n))
        n += 1
        job = await tracker.update(await get_job(job_id))
        if job.final:
            return job
