"""Waiting (``client-and-cli.md`` §1.6) against a fake QPI at the HTTP seam: job reads and an event stream.

The fake implements the two routes the wait uses, with the server's shapes; the real server is
exercised by the integration and end-to-end tests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from qpi.client.api import Api
from qpi.client.errors import WaitTimeoutError
from qpi.client.models import Job, JobState
from qpi.client.resources.jobs import AsyncJobs
from qpi.client.settings import ClientSettings
from qpi.client.transport import Transport
from qpi.client.wait import poll_delays, wait_for_job


def job_doc(state: str) -> dict[str, Any]:
    queue = {"position": 1, "jobs_ahead": 0, "reason": "dispatching", "since": "2026-07-24T10:00:00.000Z"}
    return {
        "id": "j1",
        "state": state,
        "status": state,
        "qpu": {"id": "q", "name": "sim"},
        "queue": queue if state == "pending" else None,
        "attempt": 1,
        "tags": [],
    }


def frame(event_id: int | None, kind: str, data: dict[str, Any]) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = {"id": event_id, "type": kind, "job": "j1", "data": data}
    return f"{head}event: {kind}\ndata: {json.dumps(body)}\n\n".encode()


class FakeQPI:
    """GET /api/jobs/j1 answers ``states`` in turn (the last one repeats); streams come from ``streams``."""

    def __init__(self, states: list[str], streams: list[Any] | None = None) -> None:
        self.states = states
        self.streams = list(streams or [])
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/jobs/j1":
            state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return httpx.Response(200, json=job_doc(state))
        if request.url.path == "/api/events/stream":
            if not self.streams:
                return httpx.Response(404, json={"status": 404, "error": "not_found", "detail": "no route"})
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=self.streams.pop(0)())
        return httpx.Response(404, json={"status": 404, "error": "not_found", "detail": "no route"})

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def jobs_over(fake: FakeQPI) -> tuple[Transport, AsyncJobs]:
    settings = ClientSettings(url="http://qpi.test", token="qpi_t", profile="default", timeout=5.0, verify=True)
    transport = Transport(settings, transport=httpx.MockTransport(fake))
    return transport, AsyncJobs(Api(transport))


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.mark.anyio
async def test_a_finished_job_returns_without_opening_a_stream() -> None:
    fake = FakeQPI(["completed"])
    transport, jobs = jobs_over(fake)
    job = await wait_for_job(transport, jobs.get, "j1")
    assert job.state is JobState.COMPLETED
    assert fake.paths() == ["/api/jobs/j1"]
    await transport.aclose()


@pytest.mark.anyio
async def test_stream_events_drive_the_wait_and_a_drop_resumes_with_last_event_id() -> None:
    async def first() -> AsyncIterator[bytes]:
        yield b"retry: 3000\n\n"
        yield frame(None, "job.queue", {"queue": {"position": 1, "jobs_ahead": 0, "reason": "qpu_busy"}})
        yield frame(5, "job.started", {"state": "running"})
        raise httpx.ReadError("connection reset")

    async def second() -> AsyncIterator[bytes]:
        yield b": keepalive\n\n"
        yield frame(5, "job.started", {"state": "running"})  # a duplicate: dropped
        yield frame(6, "job.completed", {"state": "completed"})
        await anyio.sleep_forever()

    # GETs: initial, after the first open, after job.started, after the reopen, after job.completed
    fake = FakeQPI(["pending", "pending", "running", "running", "completed"], [first, second])
    transport, jobs = jobs_over(fake)
    seen: list[tuple[str, str | None]] = []
    sleeps = Sleeps()
    job = await wait_for_job(
        transport,
        jobs.get,
        "j1",
        on_update=lambda j: seen.append((j.state.value, j.queue.reason if j.queue else None)),
        sleep=sleeps,
        rand=lambda: 0.5,
    )
    assert job.state is JobState.COMPLETED
    streams = [r for r in fake.requests if r.url.path == "/api/events/stream"]
    assert len(streams) == 2
    assert streams[0].url.params["job"] == "j1" and "Last-Event-ID" not in streams[0].headers
    assert streams[1].headers["Last-Event-ID"] == "5"
    assert seen == [("pending", "dispatching"), ("pending", "qpu_busy"), ("running", None), ("completed", None)]
    assert sleeps.delays == [0.25]  # one reopen, backoff 0.5 s × jitter 0.5
    await transport.aclose()


@pytest.mark.anyio
async def test_without_a_stream_route_the_wait_polls_with_growing_delays() -> None:
    fake = FakeQPI(["pending", "pending", "running", "completed"])
    transport, jobs = jobs_over(fake)
    sleeps = Sleeps()
    job = await wait_for_job(transport, jobs.get, "j1", sleep=sleeps, rand=lambda: 0.5)
    assert job.state is JobState.COMPLETED
    assert sleeps.delays == [1.0, 1.5, 2.25]
    assert fake.paths().count("/api/events/stream") == 1
    await transport.aclose()


def test_poll_delays_cap_at_ten_seconds_with_ten_percent_jitter() -> None:
    low, high = poll_delays(lambda: 0.0), poll_delays(lambda: 1.0)
    assert [round(low(n), 3) for n in (0, 1, 10)] == [0.9, 1.35, 9.0]
    assert [round(high(n), 3) for n in (0, 1, 10)] == [1.1, 1.65, 11.0]


@pytest.mark.anyio
async def test_timeout_raises_and_the_job_is_left_alone() -> None:
    async def silent() -> AsyncIterator[bytes]:
        yield b"retry: 3000\n\n"
        await anyio.sleep_forever()

    fake = FakeQPI(["pending"], [silent])
    transport, jobs = jobs_over(fake)
    with pytest.raises(WaitTimeoutError, match="still pending") as caught:
        await wait_for_job(transport, jobs.get, "j1", timeout=0.2)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value.job, Job) and caught.value.job.state is JobState.PENDING
    assert all(r.method == "GET" for r in fake.requests)  # nothing was cancelled
    await transport.aclose()


@pytest.mark.anyio
async def test_a_stream_that_keeps_dropping_falls_back_to_polling() -> None:
    def dropping() -> Any:
        async def stream() -> AsyncIterator[bytes]:
            yield b"retry: 3000\n\n"
            raise httpx.ReadError("reset")

        return stream

    fake = FakeQPI(["pending"] * 6 + ["completed"], [dropping() for _ in range(4)])
    transport, jobs = jobs_over(fake)
    sleeps = Sleeps()
    job = await wait_for_job(transport, jobs.get, "j1", sleep=sleeps, rand=lambda: 1.0)
    assert job.state is JobState.COMPLETED
    assert fake.paths().count("/api/events/stream") == 4  # the first open and 3 reopenings
    assert sleeps.delays[:3] == [0.5, 1.0, 2.0]  # reopen backoff, then polling
    await transport.aclose()
