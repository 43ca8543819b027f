"""Events: the list, the live stream (SSE) and telemetry series (``api.md`` §2.11)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.response import Stream

from qpi.errors import BadRequestError, RateLimitedError
from qpi.server.api.common import (
    caller,
    check_query,
    ctx_of,
    fmt_ts,
    page_headers,
    parse_list,
    parse_page,
    parse_sort,
    parse_ts,
    require_superuser,
)
from qpi.server.api.dto import errors
from qpi.server.fanout import EventFilter, FanOut, Subscriber, visible
from qpi.server.store import EventRow, JobFilter
from qpi.server.store.common import json_loads

__all__ = ["ROUTES", "event_json"]

_MAX_REPLAY = 10_000
_FILTERS = {"type", "qpu", "driver", "job", "after_id", "since", "until"}


class EventOut(msgspec.Struct):
    id: int | None
    ts: str | None
    type: str
    source: str
    qpu: str | None
    driver: str | None
    job: str | None
    user: str | None
    data: dict[str, Any]


def event_json(row: EventRow) -> EventOut:
    return EventOut(
        id=row.id,
        ts=fmt_ts(row.ts),
        type=row.type,
        source=row.source,
        qpu=row.qpu,
        driver=row.driver,
        job=row.job,
        user=row.user_id,
        data=json_loads(row.data) or {},
    )


def _filter(q: Any) -> EventFilter:
    types = parse_list(q, "type")
    return EventFilter(types=types, qpu=q.get("qpu"), driver=q.get("driver"), job=q.get("job"))


@get(
    "/api/events",
    operation_id="listEvents",
    tags=["events"],
    summary="Events visible to the caller",
    responses=errors(400),
)
async def list_events(request: Request[Any, Any, State]) -> Response[list[EventOut]]:
    principal = caller(request)
    ctx = ctx_of(request)
    check_query(request, _FILTERS)
    q = request.query_params
    page = parse_page(request, aliases=False)
    sort = parse_sort(q.get("sort"), ("id",), "-id")
    flt = _filter(q)
    after = _int(q.get("after_id"), "after_id")
    rows, total = await ctx.store.events.list(
        viewer=principal.id,
        superuser=principal.is_superuser,
        types=list(flt.types) or None,
        qpu=flt.qpu,
        driver=flt.driver,
        job=flt.job,
        after_id=after,
        since=parse_ts(q["since"], "since") if "since" in q else None,
        until=parse_ts(q["until"], "until") if "until" in q else None,
        ascending=not sort[0][1],
        limit=page.limit,
        offset=page.offset,
    )
    return Response([event_json(r) for r in rows], headers=page_headers(request, page, total))


def _int(value: str | None, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequestError(f"{field} must be an integer event id", field=field) from exc


def _frame(row: EventRow | dict[str, Any]) -> bytes:
    if isinstance(row, dict):  # a live-only job.queue frame: no id line (never replayed)
        body = {
            "id": None,
            "ts": None,
            "type": row["type"],
            "source": "server",
            "qpu": row.get("qpu"),
            "driver": None,
            "job": row.get("job"),
            "user": row.get("user"),
            "data": row["data"],
        }
        return b"event: job.queue\ndata: " + msgspec.json.encode(body) + b"\n\n"
    return f"id: {row.id}\nevent: {row.type}\ndata: ".encode() + msgspec.json.encode(event_json(row)) + b"\n\n"


@get(
    "/api/events/stream",
    operation_id="streamEvents",
    tags=["events"],
    media_type="text/event-stream",
    summary="Live events (SSE), resumable with Last-Event-ID",
    responses=errors(400),
)
async def stream_events(request: Request[Any, Any, State]) -> Stream:
    principal = caller(request)
    ctx = ctx_of(request)
    check_query(request, _FILTERS | {"last_event_id"})
    fanout: FanOut = ctx.extras["fanout"]  # type: ignore[assignment]
    if fanout.count_for(principal.id) >= ctx.config.sse_max_streams:
        raise RateLimitedError(
            f"at most {ctx.config.sse_max_streams} event streams may be open at once",
            code="too_many_streams",
            retry_after=5,
        )
    q = request.query_params
    resume = _int(request.headers.get("last-event-id") or q.get("last_event_id"), "last_event_id")
    sub = Subscriber(user_id=principal.id, superuser=principal.is_superuser, filter=_filter(q))
    if sub.filter.job is not None:
        sub.watched.add(sub.filter.job)
    else:
        pending, _ = await ctx.store.jobs.list(
            JobFilter(owner=principal.id, states=("pending",)),
            full=False,
            limit=100,
            offset=0,
        )
        sub.watched.update(j.id for j in pending)
    await fanout.subscribe(sub)

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n\n"
            last = 0
            if resume is not None:
                oldest = await ctx.store.events.oldest_id()
                rows, total = await ctx.store.events.list(
                    viewer=principal.id,
                    superuser=principal.is_superuser,
                    types=list(sub.filter.types) or None,
                    qpu=sub.filter.qpu,
                    driver=sub.filter.driver,
                    job=sub.filter.job,
                    after_id=resume,
                    ascending=True,
                    limit=_MAX_REPLAY,
                    offset=0,
                )
                if (oldest is not None and resume < oldest - 1) or total > _MAX_REPLAY:
                    yield b"event: stream.reset\ndata: " + msgspec.json.encode({"oldest_id": oldest}) + b"\n\n"
                else:
                    for row in rows:
                        yield _frame(row)
                        last = row.id
            keepalive = ctx.config.sse_keepalive
            while not sub.closed:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), timeout=keepalive)
                except TimeoutError:
                    if not await ctx.authenticator.still_valid(principal):
                        return  # credential revoked or expired: the stream ends
                    yield b": keepalive\n\n"
                    continue
                if item is None:
                    return
                if isinstance(item, EventRow):
                    if item.id <= last:
                        continue  # already replayed
                    if not visible(item, principal.id, principal.is_superuser):
                        continue
                yield _frame(item)
        finally:
            fanout.unsubscribe(sub)

    return Stream(
        frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@get(
    "/api/telemetry",
    operation_id="queryTelemetry",
    tags=["events"],
    summary="Telemetry series (superusers)",
    responses=errors(400, 403),
)
async def telemetry(request: Request[Any, Any, State]) -> list[dict[str, Any]]:
    require_superuser(request)
    ctx = ctx_of(request)
    check_query(request, {"qpu", "driver", "channel", "since", "until", "max_points"})
    q = request.query_params
    if "since" not in q:
        raise BadRequestError("since is required", field="since")
    since = parse_ts(q["since"], "since")
    until = parse_ts(q["until"], "until") if "until" in q else ctx.clock.now_us()
    max_points = _int(q.get("max_points"), "max_points") or 500
    if not 2 <= max_points <= 5000:
        raise BadRequestError("max_points must be between 2 and 5000", field="max_points")
    rows, _ = await ctx.store.events.list(
        viewer=None,
        superuser=True,
        types=["telemetry.*"],
        qpu=q.get("qpu"),
        driver=q.get("driver"),
        since=since,
        until=until,
        ascending=True,
        limit=200_000,
        offset=0,
    )
    series: dict[tuple[str | None, str | None, str], dict[str, Any]] = {}
    for row in rows:
        data = json_loads(row.data) or {}
        for channel, reading in (data.get("readings") or {}).items():
            if q.get("channel") not in (None, channel) or not isinstance(reading, dict):
                continue
            value = reading.get("value")
            if value is None:
                continue
            key = (row.qpu, row.driver, channel)
            entry = series.setdefault(
                key,
                {"qpu": row.qpu, "driver": row.driver, "channel": channel, "unit": reading.get("unit", ""), "raw": []},
            )
            entry["raw"].append((row.ts, float(value)))
    out = []
    for entry in series.values():
        raw = entry.pop("raw")
        entry["points"] = [[fmt_ts(ts), v] for ts, v in _downsample(raw, since, until, max_points)]
        out.append(entry)
    return out


def _downsample(points: list[tuple[int, float]], start: int, end: int, n: int) -> list[tuple[int, float]]:
    """Mean per time bucket, at most ``n`` buckets over the window."""
    if len(points) <= n:
        return points
    width = max(1, (end - start) // n)
    buckets: dict[int, list[tuple[int, float]]] = {}
    for ts, value in points:
        buckets.setdefault(min(n - 1, (ts - start) // width), []).append((ts, value))
    return [(b[len(b) // 2][0], sum(v for _, v in b) / len(b)) for _, b in sorted(buckets.items())]


ROUTES = [list_events, stream_events, telemetry]
