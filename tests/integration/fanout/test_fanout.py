"""The event pump behind live streams, on a real database: pause without streams, start from the
newest event on subscribe, and late-committed ids looked up by id (``qpi.server.fanout``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from qpi.server.fanout import EventFilter, FanOut, Subscriber
from qpi.server.store.events import NewEvent

pytestmark = pytest.mark.anyio


async def append(ctx: Any, name: str) -> int:
    row = await ctx.store.events.append(NewEvent(name, "public", {}), now=ctx.clock.now_us())
    return int(row.id)


async def insert_with_id(ctx: Any, event_id: int, name: str) -> None:
    """An id committed after a larger one, as concurrent PostgreSQL transactions do."""
    await ctx.store.db.execute(
        f"INSERT INTO {ctx.store.events.n.events} (id, ts, type, visibility) VALUES ({{}}, {{}}, {{}}, 'public')",
        event_id,
        ctx.clock.now_us(),
        name,
    )


def drained(sub: Subscriber) -> list[str]:
    out = []
    while not sub.queue.empty():
        item = sub.queue.get_nowait()
        out.append(item.type if hasattr(item, "type") else item["type"])
    return out


def subscriber() -> Subscriber:
    return Subscriber(user_id="u", superuser=True, filter=EventFilter())


async def test_a_new_stream_gets_what_commits_after_it_joined(app) -> None:
    fanout = FanOut(app.ctx)
    await append(app.ctx, "test.before")
    sub = subscriber()
    await fanout.subscribe(sub)
    await append(app.ctx, "test.after")
    await fanout.pump()
    assert drained(sub) == ["test.after"]


async def test_a_late_id_is_delivered_once_without_rereading(app) -> None:
    fanout = FanOut(app.ctx)
    sub = subscriber()
    await fanout.subscribe(sub)
    first = await append(app.ctx, "test.first")
    await insert_with_id(app.ctx, first + 2, "test.third")
    await fanout.pump()
    assert drained(sub) == ["test.first", "test.third"]
    assert first + 1 in fanout._holes  # (PostgreSQL may also list ids its sequence skipped earlier)
    await insert_with_id(app.ctx, first + 1, "test.late")
    await fanout.pump()
    await fanout.pump()
    assert drained(sub) == ["test.late"]  # once, though pumped twice
    assert first + 1 not in fanout._holes


async def test_the_pump_pauses_without_streams_and_resumes_on_subscribe(app) -> None:
    fanout = FanOut(app.ctx)
    task = asyncio.create_task(fanout.run())
    try:
        await append(app.ctx, "test.unheard")
        fanout.wake()
        for _ in range(100):
            await asyncio.sleep(0.01)
        assert fanout._cursor is None  # nothing read while nobody listens
        sub = subscriber()
        await fanout.subscribe(sub)
        await append(app.ctx, "test.heard")
        fanout.wake()
        async with asyncio.timeout(5):
            item = await sub.queue.get()
        assert getattr(item, "type", None) == "test.heard"
        assert drained(sub) == []
    finally:
        task.cancel()
