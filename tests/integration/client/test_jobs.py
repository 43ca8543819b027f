"""``client.jobs`` against the real app: paging, filters, cancel, waiting without a stream, errors."""

from __future__ import annotations

import pytest

from qpi.client.errors import (
    AuthenticationError,
    BadRequestError,
    JobCancelledError,
    JobNotFinishedError,
    NotFoundError,
    PermissionDeniedError,
    WaitTimeoutError,
)
from qpi.client.models import JobState

from .conftest import BELL, World


@pytest.mark.anyio
async def test_paging_120_jobs_and_filters(world: World) -> None:
    async with world.client(world.admin_token) as admin:
        await admin.admin.qpus.create("other", num_qubits=5)
    async with world.client(world.user_token) as client:
        submitted = []
        for i in range(120):
            qpu = "other" if i % 4 == 0 else world.qpu
            tags = ["quarter"] if i % 4 == 0 else ["rest", "x"] if i % 2 else ["rest"]
            submitted.append(await client.jobs.submit(BELL, qpu=qpu, shots=10, tags=tags, name=f"job-{i}"))
        for job in submitted[:5]:
            await client.jobs.cancel(job)
        ids = [job.id async for job in client.jobs.iter(page_size=50)]
        assert len(ids) == 120 and len(set(ids)) == 120 and set(ids) == {j.id for j in submitted}
        assert ids[0] == submitted[-1].id  # newest first

        page = await client.jobs.list(limit=50, offset=100)
        assert (page.total, len(page.items), page.has_more) == (120, 20, False)
        assert (await client.jobs.list(limit=50)).has_more

        cancelled = await client.jobs.list(state=JobState.CANCELLED)
        assert cancelled.total == 5 and all(j.state is JobState.CANCELLED for j in cancelled)
        assert (await client.jobs.list(state=["pending", "cancelled"])).total == 120
        assert (await client.jobs.list(qpu="other")).total == 30
        assert (await client.jobs.list(tag="quarter")).total == 30
        assert (await client.jobs.list(tag=["rest", "x"])).total == 60
        assert (await client.jobs.list(search="job-11", limit=20)).total == 11  # job-11, job-110…119
        detail = await client.jobs.get(submitted[0])
        assert detail.circuit_names == ["circuit-0"] and detail.shots == 10 and detail.tags == ["quarter"]


@pytest.mark.anyio
async def test_cancel_twice_and_results_of_unfinished_jobs(world: World) -> None:
    async with world.client(world.user_token) as client:
        job = await client.jobs.submit([BELL, BELL], qpu=world.qpu, name="two")
        assert job.state is JobState.PENDING and job.num_circuits == 2
        assert job.queue is not None and job.queue.reason == "no_driver_online"
        with pytest.raises(JobNotFinishedError) as not_finished:
            await client.jobs.result(job, wait=False)
        assert not_finished.value.job is not None and not_finished.value.job.id == job.id
        first = await client.jobs.cancel(job)
        second = await client.jobs.cancel(job.id)
        assert first.state is second.state is JobState.CANCELLED
        with pytest.raises(JobCancelledError):
            await client.jobs.result(job, wait=False)
        with pytest.raises(JobCancelledError):
            await client.jobs.result(job)  # waiting on a finished job returns at once, then raises


@pytest.mark.anyio
async def test_wait_timeout_leaves_the_job_pending(world: World) -> None:
    """(Waits that reach a final state run against a live server: ``ASGITransport`` buffers the
    event stream until it ends, so here a wait can only time out.)"""
    async with world.client(world.user_token) as client:
        job = await client.jobs.submit(BELL, qpu=world.qpu)
        with pytest.raises(WaitTimeoutError) as caught:
            await client.jobs.wait(job, timeout=0.5)
        assert isinstance(caught.value, TimeoutError)
        assert caught.value.job is not None and caught.value.job.state is JobState.PENDING
        assert (await client.jobs.get(job)).state is JobState.PENDING


@pytest.mark.anyio
async def test_server_errors_keep_their_detail(world: World) -> None:
    async with world.client(world.user_token) as client:
        with pytest.raises(NotFoundError, match="job nope not found"):
            await client.jobs.get("nope")
        with pytest.raises(BadRequestError, match="line 4") as bad:
            await client.jobs.submit('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nfoo q[0];\n', qpu=world.qpu)
        assert bad.value.code == "invalid_circuit" and bad.value.field == "circuits[0].circuit"
        with pytest.raises(NotFoundError) as missing_qpu:
            await client.jobs.submit(BELL, qpu="no-such-qpu")
        assert missing_qpu.value.code == "qpu_not_found" and missing_qpu.value.status == 400
        with pytest.raises(PermissionDeniedError):
            await client.admin.users.list()
    async with world.client("qpi_" + "0" * 64) as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.me()
    async with world.client(None) as anonymous:
        assert [q.name for q in await anonymous.qpus.list()] == [world.qpu]
        with pytest.raises(AuthenticationError):
            await anonymous.jobs.list()
