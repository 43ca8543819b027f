"""``client.jobs``: submit, read, list, cancel, wait for and fetch the results of jobs (``api.md`` §2.6)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Any

from qpi.client.api import Api, job_id_of, quote, rfc3339
from qpi.client.circuits import CircuitInput, circuit_entries
from qpi.client.errors import (
    ConflictError,
    InvalidInputError,
    JobAlreadyFinishedError,
    JobCancelledError,
    JobFailedError,
    JobNotFinishedError,
)
from qpi.client.models import Event, Job, JobResult, JobState, Page, job_from_api, result_from_api
from qpi.client.stream import read_stream
from qpi.client.wait import OnUpdate, wait_for_job

__all__ = ["AsyncJobs"]

_FINAL_EVENTS = frozenset({"job.completed", "job.failed", "job.cancelled"})
_MEAS_RETURNS = ("single", "avg")


def _states(state: str | JobState | Sequence[str | JobState] | None) -> str | None:
    if state is None:
        return None
    values = [state] if isinstance(state, str | JobState) else list(state)
    return ",".join(JobState(v).value if isinstance(v, JobState) else str(v) for v in values) or None


def _key(idempotency_key: str | None) -> str:
    """The ``Idempotency-Key`` every retry of one call reuses: the caller's, else a fresh UUID4."""
    return idempotency_key or str(uuid.uuid4())


def _tags(tag: str | Sequence[str] | None) -> list[str]:
    if tag is None:
        return []
    return [tag] if isinstance(tag, str) else list(tag)


class AsyncJobs:
    """Jobs of the caller (superusers: any job by id)."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def submit(
        self,
        circuits: CircuitInput,
        *,
        qpu: str | None = None,
        shots: int | None = None,
        meas_level: int = 2,
        meas_return: str = "single",
        memory: bool = False,
        name: str | None = None,
        tags: Sequence[str] = (),
        seed: int | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Submit one job. Without ``qpu`` the server places it (``api.md`` §3.1).

        Retries reuse one ``Idempotency-Key`` (a fresh UUID4, or ``idempotency_key``), so a
        submission whose answer was lost is never run twice.
        """
        if meas_level not in (0, 1, 2):
            raise InvalidInputError(f"meas_level must be 0, 1 or 2, not {meas_level!r}")
        if meas_return not in _MEAS_RETURNS:
            raise InvalidInputError(f"meas_return must be 'single' or 'avg', not {meas_return!r}")
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
            raise InvalidInputError(f"shots must be a positive integer, not {shots!r}")
        if isinstance(tags, str):
            tags = [tags]
        body: dict[str, Any] = {
            "circuits": circuit_entries(circuits),
            "meas_level": meas_level,
            "meas_return": meas_return,
            "memory": memory,
        }
        if shots is not None:
            body["shots"] = shots
        if qpu:
            body["qpu_target"] = qpu
        if name is not None:
            body["name"] = name
        if tags:
            body["tags"] = list(tags)
        if seed is not None:
            body["seed"] = seed
        return job_from_api(await self._api.post("/api/jobs", body, idempotency_key=_key(idempotency_key)))

    async def get(self, job: str | Job) -> Job:
        """The job's current record (metadata; the result is read with :meth:`result`)."""
        return job_from_api(await self._api.get(f"/api/jobs/{quote(job_id_of(job))}"))

    def _filters(
        self,
        state: str | JobState | Sequence[str | JobState] | None,
        qpu: str | None,
        tag: str | Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        sort: str,
        search: str | None,
    ) -> list[tuple[str, Any]]:
        query: list[tuple[str, Any]] = []
        states = _states(state)
        if states:
            query.append(("state", states))
        if qpu:
            query.append(("qpu", qpu))
        query += [("tag", t) for t in _tags(tag)]
        if since is not None:
            query.append(("created_after", rfc3339(since)))
        if until is not None:
            query.append(("created_before", rfc3339(until)))
        if search:
            query.append(("q", search))
        query.append(("sort", sort))
        return query

    async def list(
        self,
        *,
        state: str | JobState | Sequence[str | JobState] | None = None,
        qpu: str | None = None,
        tag: str | Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        sort: str = "-created",
        search: str | None = None,
    ) -> Page[Job]:
        """One page of jobs, newest first; ``total`` counts every match."""
        query = self._filters(state, qpu, tag, since, until, sort, search)
        return await self._api.page("/api/jobs", job_from_api, params=query, limit=limit, offset=offset)

    async def iter(
        self,
        *,
        state: str | JobState | Sequence[str | JobState] | None = None,
        qpu: str | None = None,
        tag: str | Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sort: str = "-created",
        search: str | None = None,
        page_size: int = 100,
    ) -> AsyncGenerator[Job, None]:
        """Every matching job, following the pages until the last one."""
        query = self._filters(state, qpu, tag, since, until, sort, search)
        async with aclosing(self._api.iterate("/api/jobs", job_from_api, params=query, page_size=page_size)) as jobs:
            async for job in jobs:
                yield job

    async def cancel(self, job: str | Job, *, idempotency_key: str | None = None) -> Job:
        """Cancel a pending or running job; a cancelled job stays cancelled (repeats succeed).

        Raises :class:`~qpi.client.errors.JobAlreadyFinishedError` if it completed or failed.
        """
        job_id = job_id_of(job)
        try:
            await self._api.post(f"/api/jobs/{quote(job_id)}/cancel", idempotency_key=_key(idempotency_key))
        except ConflictError as exc:
            if exc.code != "job_finished":
                raise
            current = await self.get(job_id)
            raise JobAlreadyFinishedError(
                f"job {job_id} already {current.state.value}; it cannot be cancelled", job=current
            ) from exc
        return await self.get(job_id)

    async def wait(
        self,
        job: str | Job,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the API contract: a bound on the whole wait)
        on_update: OnUpdate | None = None,
    ) -> Job:
        """The job once final (completed, failed or cancelled: none raises).

        ``on_update(job)`` (sync or async) is called on every change. ``timeout`` (seconds)
        raises :class:`~qpi.client.errors.WaitTimeoutError`; the job is not cancelled.
        """
        return await wait_for_job(self._api.transport, self.get, job_id_of(job), timeout=timeout, on_update=on_update)

    async def result(
        self,
        job: str | Job,
        *,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 (the API contract: a bound on the whole wait)
    ) -> JobResult:
        """The result document. Failed → :class:`JobFailedError`, cancelled → :class:`JobCancelledError`;
        ``wait=False`` on an active job → :class:`JobNotFinishedError`."""
        job_id = job_id_of(job)
        if wait:
            final = await self.wait(job_id, timeout=timeout)
            _raise_unless_completed(final)
        try:
            doc = await self._api.get(f"/api/jobs/{quote(job_id)}/result")
        except ConflictError as exc:
            current = await self.get(job_id)
            if exc.code == "job_not_finished":
                raise JobNotFinishedError(
                    f"job {job_id} is {current.state.value}; wait for it (qpi jobs wait {job_id})", job=current
                ) from exc
            _raise_unless_completed(current)
            raise
        result = result_from_api(doc)
        if not result.success and not result.results:
            _raise_unless_completed(await self.get(job_id))
        return result

    async def events(self, job: str | Job) -> AsyncGenerator[Event, None]:
        """The job's events from its first one (``job.created``), then live; ends after its
        final-state event. Opening the feed on a finished job replays its history and ends."""
        job_id = job_id_of(job)
        stream = read_stream(self._api.transport, {"job": job_id}, last_event_id=0)
        async with aclosing(stream) as events:
            async for event in events:
                if event.type == "stream.reset":  # history pruned: the job record tells where it is
                    if (await self.get(job_id)).final:
                        return
                    continue
                if event.job not in (None, job_id):
                    continue
                yield event
                if event.type in _FINAL_EVENTS:
                    return

    async def run(
        self,
        circuits: CircuitInput,
        *,
        qpu: str | None = None,
        shots: int | None = None,
        meas_level: int = 2,
        meas_return: str = "single",
        memory: bool = False,
        name: str | None = None,
        tags: Sequence[str] = (),
        seed: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the API contract: a bound on the whole wait)
    ) -> JobResult:
        """Submit, wait and return the result (``timeout`` bounds the wait)."""
        job = await self.submit(
            circuits,
            qpu=qpu,
            shots=shots,
            meas_level=meas_level,
            meas_return=meas_return,
            memory=memory,
            name=name,
            tags=tags,
            seed=seed,
            idempotency_key=idempotency_key,
        )
        return await self.result(job, timeout=timeout)


def _raise_unless_completed(job: Job) -> None:
    if job.state is JobState.FAILED:
        reason = f" ({job.failure_reason})" if job.failure_reason else ""
        message = job.error or "no error message"
        raise JobFailedError(f"job {job.id} failed{reason}: {message}", job=job)
    if job.state is JobState.CANCELLED:
        by = f" by {job.cancelled_by}" if job.cancelled_by else ""
        raise JobCancelledError(f"job {job.id} was cancelled{by}", job=job)
