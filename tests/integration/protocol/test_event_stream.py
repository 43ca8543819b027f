"""The live event stream (SSE) on a real server: job transitions, queue positions, resume, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qpi.protocol.messages import (
    JobAccepted,
    JobAcceptedBody,
    JobDispatch,
    JobResult,
    JobStarted,
    JobStartedBody,
    ResultAck,
    utcnow,
)
from support import add_api_token

from .test_fencing import result_body

pytestmark = pytest.mark.anyio


async def frames(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse ``text/event-stream`` frames: ``{"id", "event", "data"}`` (comments as ``{"comment"}``)."""
    frame: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            key, _, value = line.partition(": ")
            frame[key] = json.loads(value) if key == "data" else value


async def collect(
    served,
    token: str,
    until: set[str],
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15,  # noqa: ASYNC109 - also the HTTP client's timeout; bounds the whole collection
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=served.url, timeout=timeout) as c,
        c.stream("GET", "/api/events/stream", params=params, headers={"X-API-Token": token, **(headers or {})}) as r,
    ):
        assert r.status_code == 200, await r.aread()
        assert r.headers["content-type"].startswith("text/event-stream")
        async with asyncio.timeout(timeout):
            async for frame in frames(r):
                out.append(frame)
                if frame.get("event") in until:
                    return out
    return out


async def user_token(served, email: str, seconds: float = 100) -> str:
    from qpi.server.api.users import create_user

    ctx = served.ctx
    user, _ = await create_user(
        ctx, email=email, name=email, password="password123", role="user", qpu_seconds=seconds, actor=None
    )
    return await add_api_token(ctx, user.id, name="t")


async def test_the_owner_sees_every_transition_in_order_and_others_do_not(served, proto) -> None:
    driver, _qpu = proto
    alice = await user_token(served, "alice@example.org")
    bob = await user_token(served, "bob@example.org")
    await driver.connect()
    watching = asyncio.create_task(collect(served, alice, {"job.completed"}))
    other = asyncio.create_task(collect(served, bob, {"job.completed"}, timeout=4))
    await asyncio.sleep(0.3)  # both streams open (events before a stream opens are not sent without a resume)
    job = await served.submit("sim", token=alice)
    await driver.expect(JobDispatch)
    await driver.send(JobAccepted(payload=JobAcceptedBody(job_id=job["id"], attempt=1, worker=0)))
    await driver.send(JobStarted(payload=JobStartedBody(job_id=job["id"], attempt=1, worker=0, started_at=utcnow())))
    await driver.send(JobResult(payload=result_body(job["id"], 1)))
    await driver.expect(ResultAck)
    seen = await watching
    assert seen[0] == {"retry": "3000"}
    kinds = [f["event"] for f in seen if "event" in f and f["event"] != "job.queue"]
    transitions = [k for k in kinds if k.startswith("job.")]
    assert transitions == ["job.created", "job.dispatched", "job.accepted", "job.started", "job.completed"]
    ids = [int(f["id"]) for f in seen if "id" in f]
    assert ids == sorted(ids)
    assert all(f["data"]["job"] == job["id"] for f in seen if f.get("event", "").startswith("job."))
    with pytest.raises(TimeoutError):
        await other  # bob's stream never sees alice's job (it ends by timing out)


async def test_resume_replays_what_was_missed(served, proto) -> None:
    alice = await user_token(served, "carol@example.org")
    first = await served.submit("sim", token=alice)
    async with served.http(alice) as c:
        events = (await c.get("/api/events", params={"job": first["id"], "sort": "id"})).json()
    assert [e["type"] for e in events] == ["job.created"]
    second = await served.submit("sim", token=alice)
    seen = await collect(served, alice, {"job.created"}, headers={"Last-Event-ID": str(events[0]["id"])})
    created = [f for f in seen if f.get("event") == "job.created"]
    assert [f["data"]["job"] for f in created] == [second["id"]]


async def test_queue_position_changes_are_pushed_live(served, proto) -> None:
    alice = await user_token(served, "dave@example.org")
    ahead = await served.submit("sim", token=alice)
    mine = await served.submit("sim", token=alice)
    assert mine["queue"]["position"] == 2

    async def cancel_soon() -> None:
        await asyncio.sleep(0.5)
        async with served.http(alice) as c:
            assert (await c.post(f"/api/jobs/{ahead['id']}/cancel")).status_code == 200

    task = asyncio.create_task(cancel_soon())
    seen = await collect(served, alice, {"job.queue"}, params={"job": mine["id"]})
    await task
    queue = [f for f in seen if f.get("event") == "job.queue"]
    assert queue and queue[-1]["data"]["data"]["queue"]["position"] == 1
    assert "id" not in queue[-1]  # live only: no id line, never replayed


async def test_the_charge_reaches_the_owner_as_a_ledger_entry(served, proto) -> None:
    driver, _qpu = proto
    alice = await user_token(served, "erin@example.org")
    await driver.connect()
    watching = asyncio.create_task(collect(served, alice, {"ledger.entry"}))
    await asyncio.sleep(0.3)
    job = await served.submit("sim", token=alice)
    await driver.expect(JobDispatch)
    await driver.send(JobResult(payload=result_body(job["id"], 1)))
    await driver.expect(ResultAck)
    entry = [f for f in await watching if f.get("event") == "ledger.entry"][-1]
    assert entry["data"]["data"]["kind"] == "usage" and entry["data"]["data"]["job"] == job["id"]


@pytest.mark.serve_options(sse_max_streams="1", sse_keepalive="1s")
async def test_stream_limit_and_revocation(served, proto) -> None:
    alice = await user_token(served, "frank@example.org")
    async with (
        httpx.AsyncClient(base_url=served.url, timeout=15) as c,
        c.stream("GET", "/api/events/stream", headers={"X-API-Token": alice}) as first,
    ):
        assert first.status_code == 200
        second = await c.get("/api/events/stream", headers={"X-API-Token": alice})
        assert second.status_code == 429 and second.json()["error"] == "too_many_streams"
        assert int(second.headers["retry-after"]) >= 1
        token_id = (await c.get("/api/auth/me", headers={"X-API-Token": alice})).json()["token_id"]
        assert (await c.delete(f"/api/tokens/{token_id}", headers={"X-API-Token": alice})).status_code == 200
        async with asyncio.timeout(10):
            lines = [line async for line in first.aiter_lines()]  # the server closes the stream
        assert lines is not None  # reaching here means the stream ended after the token was deleted
