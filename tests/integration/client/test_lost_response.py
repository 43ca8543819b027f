"""A submission whose answer is lost after the server committed it is not run twice (§1.5).

The seam: an ``httpx`` transport wrapping the real app that lets the first request through (the
server commits the job) and then raises as if the connection broke before the answer arrived.
"""

from __future__ import annotations

import httpx
import pytest

from qpi.client.errors import TransportError

from .conftest import BELL, World


class LosingTransport(httpx.AsyncBaseTransport):
    """Delivers every request to the app; loses the answers of the first ``lose`` POSTs."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lose: int = 1) -> None:
        self.inner = inner
        self.lose = lose
        self.keys: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST":
            self.keys.append(request.headers.get("Idempotency-Key"))
            await response.aread()
            if self.lose > 0:
                self.lose -= 1
                raise httpx.ReadError("connection reset by peer after the request was sent")
        return response


@pytest.mark.anyio
async def test_lost_answer_to_submit_gives_one_job_and_the_same_id(world: World) -> None:
    losing = LosingTransport(world.transport)
    async with world.client(world.user_token, transport=losing) as client:
        job = await client.jobs.submit(BELL, qpu=world.qpu, shots=10)
        page = await client.jobs.list()
    assert page.total == 1 and [j.id for j in page.items] == [job.id]
    assert len(losing.keys) == 2 and losing.keys[0] == losing.keys[1] and losing.keys[0] is not None


@pytest.mark.anyio
async def test_lost_answer_to_cancel_is_retried_safely(world: World) -> None:
    async with world.client(world.user_token) as plain:
        job = await plain.jobs.submit(BELL, qpu=world.qpu)
    losing = LosingTransport(world.transport)
    async with world.client(world.user_token, transport=losing) as client:
        cancelled = await client.jobs.cancel(job)
    assert cancelled.state.value == "cancelled"
    assert losing.keys[0] == losing.keys[1]


@pytest.mark.anyio
async def test_without_a_key_a_lost_post_is_not_retried(world: World) -> None:
    losing = LosingTransport(world.transport)
    async with world.client(world.user_token, transport=losing) as client:
        with pytest.raises(TransportError, match="broke"):
            await client.tokens.create("lost")
        tokens = await client.tokens.list()
    assert len(losing.keys) == 1 and losing.keys[0] is None
    assert [t.name for t in tokens].count("lost") == 1  # created once, by the one attempt
