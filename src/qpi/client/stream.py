"""Reading the live event stream (``GET /api/events/stream``, ``api.md`` §2.11), with resumption.

A dropped stream (network error, 45 s without data or keep-alive, or the server ending it) is
reopened with ``Last-Event-ID`` up to ``reopen`` times in a row, with the backoff of §1.5; ids
already seen are dropped (delivery is at-least-once). Markers tell a consumer when a stream
(re)opened, so it can re-read state the stream does not replay (``job.queue`` positions).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

import anyio

from qpi.client.errors import APIError, TransportError
from qpi.client.models import Event
from qpi.client.models._base import convert
from qpi.client.retry import backoff_delay
from qpi.client.sse import ServerSentEvent, SSEDecoder
from qpi.client.transport import Transport

__all__ = ["OPENED", "STREAM_PATH", "StreamUnavailable", "event_from_frame", "read_stream"]

logger = logging.getLogger(__name__)

STREAM_PATH = "/api/events/stream"
#: synthetic, client-side event type: the stream was (re)opened; re-read what it does not replay
OPENED = "stream.opened"
_UNSUPPORTED = frozenset({404, 405, 501})


class StreamUnavailable(TransportError):
    """The server has no usable event stream (no route, or it kept dropping)."""

    code = "stream_unavailable"


def event_from_frame(frame: ServerSentEvent) -> Event:
    """One SSE frame → :class:`Event` (the data is the Event JSON, or a bare payload)."""
    try:
        doc: Any = json.loads(frame.data) if frame.data else {}
    except ValueError:
        doc = {"text": frame.data}
    if isinstance(doc, dict) and "type" in doc:
        shaped = dict(doc)
        if not isinstance(shaped.get("data"), dict):
            shaped["data"] = {}
    else:
        shaped = {"type": frame.event, "data": doc if isinstance(doc, dict) else {"value": doc}}
    if frame.id is not None and shaped.get("id") is None and frame.id.isdigit():
        shaped["id"] = int(frame.id)
    shaped.setdefault("type", frame.event)
    return convert(Event, shaped, doc)


async def _read_once(
    transport: Transport, params: Mapping[str, str], last_id: int | None
) -> AsyncGenerator[Event, None]:
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else None
    async with transport.stream(STREAM_PATH, params=dict(params), headers=headers) as response:
        yield Event(type=OPENED)
        decoder = SSEDecoder()
        async for line in response.aiter_lines():
            frame = decoder.feed(line)
            if frame is None or (not frame.data and frame.event == "message"):
                continue
            yield event_from_frame(frame)


async def read_stream(
    transport: Transport,
    params: Mapping[str, str],
    *,
    last_event_id: int | None = None,
    reopen: int = 3,
    markers: bool = False,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    rand: Callable[[], float] | None = None,
) -> AsyncGenerator[Event, None]:
    """Events matching ``params``, in id order, across reconnections.

    Raises :class:`StreamUnavailable` when the route does not exist (404/405/501) or the stream
    could not be reopened ``reopen`` times in a row; other HTTP errors (401, 429) raise as is.
    """
    pause = sleep or anyio.sleep
    draw = rand or random.random
    last_id = last_event_id
    failures = 0
    while True:
        try:
            async with aclosing(_read_once(transport, params, last_id)) as frames:
                async for event in frames:
                    if event.type == OPENED:
                        if markers:
                            yield event
                        continue
                    failures = 0
                    if event.id is not None:
                        if last_id is not None and event.id <= last_id:
                            continue  # already seen: at-least-once delivery
                        last_id = event.id
                    yield event
            logger.debug("event stream ended by the server; reopening after id %s", last_id)
        except APIError as exc:
            if exc.status_code in _UNSUPPORTED:
                raise StreamUnavailable(f"the server has no event stream ({exc.status_code}): {exc.detail}") from exc
            raise
        except TransportError as exc:
            if isinstance(exc, StreamUnavailable):
                raise
            logger.debug("event stream dropped (%s); reopening after id %s", exc, last_id)
        failures += 1
        if failures > reopen:
            raise StreamUnavailable(f"the event stream dropped {failures} times in a row")
        await pause(backoff_delay(failures - 1, draw))
