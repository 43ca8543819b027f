"""``qpi.client`` against a live ``qpi serve --local-qpu mock``: the seed example, the blocking client
(also inside a running event loop), waiting through the event stream, the job event feed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from e2e.support import BELL

from .conftest import CONTROL_FLOW, Shared


@pytest.fixture
def client_env(shared: Shared, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's client reads the server's client configuration, like the CLI subprocesses."""
    for name in list(os.environ):
        if name.startswith("QPI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("QPI_CONFIG_DIR", shared.server.env["QPI_CONFIG_DIR"])
    yield


def test_seed_example_submits_and_the_job_completes(shared: Shared, client_env: None) -> None:
    from qpi.client import QPIClient

    qpi = QPIClient(shared.server.url, api_token=shared.server.token)
    try:
        job_id = qpi.submit_job(circuits=[{"circuit": BELL}], shots=100)
        assert isinstance(job_id, str) and len(job_id) == 15
        job = shared.server.wait_job(job_id)
        assert job["state"] == "completed" and job["qpu_auto"] is True
        assert sum(job["results"]["results"][0]["data"]["counts"].values()) == 100
        assert qpi.get_job(job_id)["status"] == "completed"
        assert job_id in {j["id"] for j in qpi.list_jobs()}
        assert {"local_mock", "idle"} <= {q["name"] for q in qpi.list_qpus()}
        assert qpi.get_qpu("local_mock")["device_info"]["num_qubits"] == 24
        pending = qpi.submit_job([{"circuit": BELL}], shots=10, qpu_target="idle")
        assert qpi.cancel_job(pending) == {"id": pending, "status": "cancelled"}
        from qpi.errors import QPIError

        with pytest.raises(QPIError, match="qpi driver start"):
            qpi.connect_qpu("x", "y")
    finally:
        qpi.close()


def test_blocking_client_end_to_end_and_inside_a_running_loop(shared: Shared, client_env: None) -> None:
    from qpi.client import Client, JobFailedError, JobState

    with Client() as client:  # url and token from the `local` profile the server wrote
        result = client.jobs.run(BELL, shots=200, name="sync")
        assert sum(result.counts().values()) == 200 and set(result.counts()) <= {"00", "11"}
        with pytest.raises(JobFailedError) as failed:
            client.jobs.run(CONTROL_FLOW, shots=10)
        assert failed.value.failure_reason == "unsupported_feature" and failed.value.job is not None
        assert failed.value.job.state is JobState.FAILED
        ids = [job.id for job in client.jobs.iter(page_size=2)]
        assert len(ids) == len(set(ids)) >= 2
        pages = client.jobs.iter(page_size=1)
        assert next(pages).id == ids[0]
        pages.close()  # stopping early closes the async generator in the client's loop
        assert client.health() is True

    async def notebook_cell() -> dict[str, int]:
        with Client() as client:  # blocking calls from code that runs an event loop (Jupyter)
            return client.jobs.run(BELL, shots=50).counts()

    counts = asyncio.run(notebook_cell())
    assert sum(counts.values()) == 50


@pytest.mark.anyio
async def test_async_wait_through_the_event_stream_and_job_events(shared: Shared, client_env: None) -> None:
    from qpi.client import AsyncClient, JobState

    async with AsyncClient() as client:
        job = await client.jobs.submit(BELL, shots=100)
        states: list[str] = []
        final = await client.jobs.wait(job, timeout=60, on_update=lambda j: states.append(j.state.value))
        assert final.state is JobState.COMPLETED and states[-1] == "completed"
        assert (await client.jobs.result(final)).counts()

        history = [event.type async for event in client.jobs.events(final)]
        assert history[0] == "job.created" and history[-1] == "job.completed"
        assert "job.started" in history

        pending = await client.jobs.submit(BELL, qpu=shared.driverless, shots=10)
        seen: list[str] = []

        async def follow() -> None:
            async for event in client.jobs.events(pending):
                seen.append(event.type)

        async with asyncio.timeout(30):
            task = asyncio.create_task(follow())
            cancelled = await client.jobs.cancel(pending)
            await task  # the feed replays from the job's first event, so it ends whenever it opened
        assert cancelled.state is JobState.CANCELLED
        assert seen[0] == "job.created" and seen[-1] == "job.cancelled"


def test_qiskit_job_failure_and_cancel_on_mock(shared: Shared, client_env: None) -> None:
    from qiskit import qasm3
    from qiskit.providers import JobStatus
    from qiskit.providers.exceptions import JobError

    from qpi.client.errors import JobCancelledError, JobFailedError
    from qpi.client.qiskit import QPIProvider

    with QPIProvider() as provider:
        backend = provider.get_backend("local_mock")
        job = backend.run(qasm3.loads(CONTROL_FLOW), shots=10)
        with pytest.raises(JobError) as failed:
            job.result(timeout=60)
        assert isinstance(failed.value, JobFailedError) and failed.value.failure_reason == "unsupported_feature"
        assert "unsupported_feature" in str(failed.value) and job.status() is JobStatus.ERROR

        idle = provider.get_backend(shared.driverless)
        waiting = idle.run(BELL, shots=10, tags=["qiskit"])
        with shared.server.client() as c:
            queued = c.get(f"/api/qpus/{shared.driverless}").json()["queue"]["pending"]  # other tests' jobs too
        assert waiting.status() is JobStatus.QUEUED and waiting.queue_position() == queued
        assert waiting.waiting_reason() == "no driver online" and waiting.tags == ["qiskit"]
        assert waiting.cancel() is True and waiting.status() is JobStatus.CANCELLED
        with pytest.raises(JobError) as cancelled:
            waiting.result()
        assert isinstance(cancelled.value, JobCancelledError)
        assert [j.job_id() for j in provider.jobs(limit=2)] == [waiting.job_id(), job.job_id()]
