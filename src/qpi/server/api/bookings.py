"""Bookings, i.e. time slots (``api.md`` §2.8, ``scheduling.md`` §6).

Everyone signed in sees every booking (to find a free slot); the note and the holder's e-mail only
its owner and superusers. The rules are the pure checks of :mod:`qpi.server.scheduling.bookings`,
run by the store inside one serialized transaction (C6). A change touching ``[now, ∞)`` wakes the
dispatcher for the booking's QPU (``*`` for all-QPU bookings) after the commit.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi.errors import BadRequestError, NotFoundError
from qpi.server.api.common import (
    USER,
    caller,
    check_query,
    ctx_of,
    fmt_ts,
    page_headers,
    parse_bool,
    parse_page,
    parse_sort,
    parse_ts,
)
from qpi.server.api.dto import QpuRef, errors
from qpi.server.auth.principal import Principal
from qpi.server.context import ServerContext
from qpi.server.hub import ALL_QPUS
from qpi.server.scheduling.bookings import Actor, change_wakes_dispatcher
from qpi.server.store import BookingRow
from qpi.server.store.bookings import BookingChange, BookingEdit, BookingFilter, as_booking, instant

__all__ = ["ROUTES", "BookingOut", "booking_event_data", "booking_out"]

_QpuName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Note = Annotated[str, msgspec.Meta(max_length=500)]
_Ts = Annotated[str, msgspec.Meta(max_length=64)]
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class BookingIn(msgspec.Struct, forbid_unknown_fields=True):
    start_time: _Ts
    end_time: _Ts
    qpu: _QpuName | None = None
    note: _Note = ""
    booked_by: _Id | None = None


class BookingPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Absent fields stay; ``qpu: null`` moves the booking to every bookable QPU."""

    start_time: _Ts | None = None
    end_time: _Ts | None = None
    qpu: _QpuName | msgspec.UnsetType | None = msgspec.UNSET
    note: _Note | None = None
    booked_by: _Id | None = None


class BookedBy(msgspec.Struct):
    id: str
    name: str
    email: str | None


class BookingOut(msgspec.Struct):
    id: str
    qpu: QpuRef | None
    booked_by: BookedBy
    start_time: str | None
    end_time: str | None
    note: str | None
    mine: bool
    released_at: str | None
    created: str | None
    updated: str | None


class BookingEventData(msgspec.Struct):
    """``booking.*`` event data: the public Booking (no note, no e-mail, no viewer-relative ``mine``)."""

    id: str
    qpu: QpuRef | None
    booked_by: BookedBy
    start_time: str | None
    end_time: str | None
    released_at: str | None
    created: str | None
    updated: str | None


def _qpu(row: BookingRow) -> QpuRef | None:
    return QpuRef(id=row.qpu_id, name=row.qpu_name or "") if row.qpu_id is not None else None


def booking_out(row: BookingRow, viewer: Principal) -> BookingOut:
    private = viewer.is_superuser or viewer.id == row.booked_by
    return BookingOut(
        id=row.id,
        qpu=_qpu(row),
        booked_by=BookedBy(
            id=row.booked_by, name=row.booked_by_name or "", email=row.booked_by_email if private else None
        ),
        start_time=fmt_ts(row.start_time),
        end_time=fmt_ts(row.end_time),
        note=row.note if private else None,
        mine=viewer.id == row.booked_by,
        released_at=fmt_ts(row.released_at),
        created=fmt_ts(row.created),
        updated=fmt_ts(row.updated),
    )


def booking_event_data(row: BookingRow) -> dict[str, Any]:
    data = BookingEventData(
        id=row.id,
        qpu=_qpu(row),
        booked_by=BookedBy(id=row.booked_by, name=row.booked_by_name or "", email=None),
        start_time=fmt_ts(row.start_time),
        end_time=fmt_ts(row.end_time),
        released_at=fmt_ts(row.released_at),
        created=fmt_ts(row.created),
        updated=fmt_ts(row.updated),
    )
    out: dict[str, Any] = msgspec.to_builtins(data)
    return out


def _actor(principal: Principal) -> Actor:
    return Actor(user_id=principal.id, is_superuser=principal.is_superuser)


def _committed(ctx: ServerContext, change: BookingChange, now: int) -> None:
    """After the commit: publish the events, and wake the dispatcher when ``[now, ∞)`` changed (W2)."""
    ctx.hub.publish(change.events)
    before = as_booking(change.before) if change.before is not None else None
    after = as_booking(change.after) if change.after is not None else None
    if not change_wakes_dispatcher(before, after, instant(now)):
        return
    qpus = {b.qpu_id for b in (before, after) if b is not None}
    if None in qpus:
        ctx.hub.wake(ALL_QPUS)
        return
    for qpu_id in sorted(q for q in qpus if q is not None):
        ctx.hub.wake(qpu_id)


@get(
    "/api/bookings",
    guards=USER,
    operation_id="listBookings",
    tags=["bookings"],
    summary="List bookings of every user (filter by QPU, window, holder)",
    responses=errors(400),
)
async def list_bookings(request: Request[Any, Any, State]) -> Response[list[BookingOut]]:
    ctx = ctx_of(request)
    principal = caller(request)
    check_query(request, {"qpu", "from", "to", "mine", "user"})
    q = request.query_params
    page = parse_page(request, aliases=False)
    sort = parse_sort(q.get("sort"), ("start_time",), "start_time")
    holders: list[str] = []
    if parse_bool(q.get("mine"), "mine"):
        holders.append(principal.id)
    if "user" in q:
        if not principal.is_superuser:
            raise BadRequestError("only superusers may filter bookings by user; use mine=true", field="user")
        holders.append(q["user"])
    qpu_id = None
    if q.get("qpu"):
        qpu = await ctx.store.qpus.get(q["qpu"])
        if qpu is None:
            return Response([], headers=page_headers(request, page, 0))
        qpu_id = qpu.id
    window_from = parse_ts(q["from"], "from") if "from" in q else None
    window_to = parse_ts(q["to"], "to") if "to" in q else None
    flt = BookingFilter(
        qpu_id=qpu_id,
        window_from=window_from,
        window_to=window_to,
        booked_by=tuple(holders),
        descending=sort[0][1],
    )
    rows, total = await ctx.store.bookings.list(flt, limit=page.limit, offset=page.offset)
    return Response([booking_out(r, principal) for r in rows], headers=page_headers(request, page, total))


@post(
    "/api/bookings",
    guards=USER,
    operation_id="createBooking",
    tags=["bookings"],
    summary="Book a time slot on one QPU or on every bookable QPU",
    responses=errors(400, 403, 409),
)
async def create_booking(request: Request[Any, Any, State], data: JSONBody[BookingIn]) -> Response[BookingOut]:
    ctx = ctx_of(request)
    principal = caller(request)
    start = parse_ts(data.start_time, "start_time")
    end = parse_ts(data.end_time, "end_time")
    now = ctx.clock.now_us()
    change = await ctx.store.bookings.create(
        _actor(principal),
        start=start,
        end=end,
        qpu_ref=data.qpu,
        note=data.note,
        booked_by=data.booked_by,
        limits=ctx.settings.bookings,
        now=now,
        describe=booking_event_data,
    )
    _committed(ctx, change, now)
    assert change.after is not None
    return Response(
        booking_out(change.after, principal), status_code=201, headers={"Location": f"/api/bookings/{change.after.id}"}
    )


@get(
    "/api/bookings/{booking_id:str}",
    guards=USER,
    operation_id="getBooking",
    tags=["bookings"],
    summary="One booking",
    responses=errors(404),
)
async def get_booking(request: Request[Any, Any, State], booking_id: FromPath[str]) -> BookingOut:
    row = await ctx_of(request).store.bookings.get(booking_id)
    if row is None:
        raise NotFoundError(f"booking {booking_id} not found")
    return booking_out(row, caller(request))


@patch(
    "/api/bookings/{booking_id:str}",
    guards=USER,
    operation_id="updateBooking",
    tags=["bookings"],
    summary="Move, resize or annotate a booking that has not started (superusers: any)",
    responses=errors(400, 403, 404, 409),
)
async def update_booking(
    request: Request[Any, Any, State], booking_id: FromPath[str], data: JSONBody[BookingPatch]
) -> BookingOut:
    ctx = ctx_of(request)
    principal = caller(request)
    edit = BookingEdit(
        start=parse_ts(data.start_time, "start_time") if data.start_time is not None else None,
        end=parse_ts(data.end_time, "end_time") if data.end_time is not None else None,
        qpu_ref=data.qpu,
        note=data.note,
        booked_by=data.booked_by,
    )
    now = ctx.clock.now_us()
    change = await ctx.store.bookings.edit(
        _actor(principal), booking_id, edit, limits=ctx.settings.bookings, now=now, describe=booking_event_data
    )
    _committed(ctx, change, now)
    assert change.after is not None
    return booking_out(change.after, principal)


@delete(
    "/api/bookings/{booking_id:str}",
    guards=USER,
    operation_id="deleteBooking",
    tags=["bookings"],
    summary="Cancel a booking that has not started (superusers: any; a slot in force ends at once)",
    status_code=204,
    responses=errors(400, 403, 404),
)
async def delete_booking(request: Request[Any, Any, State], booking_id: FromPath[str]) -> None:
    ctx = ctx_of(request)
    now = ctx.clock.now_us()
    change = await ctx.store.bookings.delete(_actor(caller(request)), booking_id, now=now, describe=booking_event_data)
    _committed(ctx, change, now)


@post(
    "/api/bookings/{booking_id:str}/release",
    guards=USER,
    operation_id="releaseBooking",
    tags=["bookings"],
    summary="End a booking in force now and free the QPU",
    status_code=200,
    responses=errors(403, 404, 409),
)
async def release_booking(request: Request[Any, Any, State], booking_id: FromPath[str]) -> BookingOut:
    ctx = ctx_of(request)
    principal = caller(request)
    now = ctx.clock.now_us()
    change = await ctx.store.bookings.release(_actor(principal), booking_id, now=now, describe=booking_event_data)
    _committed(ctx, change, now)
    assert change.after is not None
    return booking_out(change.after, principal)


ROUTES = [list_bookings, create_booking, get_booking, update_booking, delete_booking, release_booking]
