"""QPU time requests (``api.md`` §2.9, ``scheduling.md`` §8).

A user asks for QPU-seconds; a superuser approves (credited exactly once, through a ``time_request``
ledger entry in the approval's transaction) or rejects with a reason; either way the requester gets
a targeted notification. Requests are private: another user's request answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi.errors import BadRequestError, NotFoundError
from qpi.server.api.common import (
    SUPERUSER,
    USER,
    caller,
    check_query,
    ctx_of,
    fmt_ts,
    page_headers,
    parse_list,
    parse_page,
    parse_sort,
    require_superuser,
)
from qpi.server.api.dto import as_dict, errors
from qpi.server.auth.principal import Principal
from qpi.server.context import ServerContext
from qpi.server.scheduling.accounting import (
    TIME_REQUEST_MAX_SECONDS,
    TIME_REQUEST_MIN_SECONDS,
    TIME_REQUEST_REASON_MAX_CHARS,
    ms_to_seconds,
    seconds_to_ms,
)
from qpi.server.store.time_requests import Decision, TimeRequestView

__all__ = ["ROUTES", "TimeRequestOut", "time_request_out"]

_STATUSES = ("pending", "approved", "rejected")
_Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=TIME_REQUEST_REASON_MAX_CHARS)]


class TimeRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    """``user`` and ``status`` are accepted for upstream clients and ignored: a request is always the
    caller's and always starts ``pending`` (``scheduling.md`` §8)."""

    seconds: Annotated[float, msgspec.Meta(ge=TIME_REQUEST_MIN_SECONDS, le=TIME_REQUEST_MAX_SECONDS)]
    requested_reason: _Reason
    user: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    status: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class ApproveIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class RejectIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: _Reason


class RequestUser(msgspec.Struct):
    id: str
    email: str
    name: str


class Handler(msgspec.Struct):
    id: str
    name: str


class TimeRequestOut(msgspec.Struct):
    id: str
    user: RequestUser
    seconds: float
    status: str
    requested_reason: str
    rejection_reason: str | None
    admin_note: str
    handled_by: Handler | None
    handled_at: str | None
    created: str | None
    updated: str | None


def time_request_out(view: TimeRequestView) -> TimeRequestOut:
    return TimeRequestOut(
        id=view.id,
        user=RequestUser(id=view.user_id, email=view.user_email, name=view.user_name),
        seconds=ms_to_seconds(view.seconds_ms),
        status=view.status,
        requested_reason=view.requested_reason,
        rejection_reason=view.rejection_reason,
        admin_note=view.admin_note,
        handled_by=Handler(id=view.handled_by, name=view.handled_by_name or "") if view.handled_by else None,
        handled_at=fmt_ts(view.handled_at),
        created=fmt_ts(view.created),
        updated=fmt_ts(view.updated),
    )


def _describe(view: TimeRequestView) -> dict[str, Any]:
    return as_dict(time_request_out(view))


async def _own(ctx: ServerContext, principal: Principal, request_id: str) -> TimeRequestView:
    view = await ctx.store.time_requests.get(request_id)
    if view is None or (view.user_id != principal.id and not principal.is_superuser):
        raise NotFoundError(f"time request {request_id} not found")
    return view


def _committed(ctx: ServerContext, decision: Decision) -> None:
    ctx.hub.publish(decision.events)
    if decision.lifted:  # the user's pending jobs became payable (W2)
        ctx.hub.wake()


@post(
    "/api/time-requests",
    guards=USER,
    operation_id="createTimeRequest",
    tags=["time requests"],
    summary="Ask a superuser for QPU-seconds",
    responses=errors(400),
)
async def create_time_request(
    request: Request[Any, Any, State], data: JSONBody[TimeRequestIn]
) -> Response[TimeRequestOut]:
    ctx = ctx_of(request)
    principal = caller(request)
    decision = await ctx.store.time_requests.create(
        user_id=principal.id,
        seconds_ms=seconds_to_ms(data.seconds),
        reason=data.requested_reason,
        max_pending=ctx.settings.time_request_max_pending,
        now=ctx.clock.now_us(),
        describe=_describe,
    )
    _committed(ctx, decision)
    return Response(
        time_request_out(decision.request),
        status_code=201,
        headers={"Location": f"/api/time-requests/{decision.request.id}"},
    )


@get(
    "/api/time-requests",
    guards=USER,
    operation_id="listTimeRequests",
    tags=["time requests"],
    summary="List time requests (own; superusers all)",
    responses=errors(400),
)
async def list_time_requests(request: Request[Any, Any, State]) -> Response[list[TimeRequestOut]]:
    ctx = ctx_of(request)
    principal = caller(request)
    check_query(request, {"status", "user"})
    q = request.query_params
    page = parse_page(request, aliases=False)
    sort = parse_sort(q.get("sort"), ("created",), "-created")
    statuses = parse_list(q, "status")
    for status in statuses:
        if status not in _STATUSES:
            raise BadRequestError(f"unknown status {status!r}; use {', '.join(_STATUSES)}", field="status")
    user_id: str | None = principal.id
    if principal.is_superuser:
        user_id = q.get("user") or None
    elif q.get("user") not in (None, principal.id):
        raise BadRequestError("only superusers may list other users' time requests", field="user")
    rows, total = await ctx.store.time_requests.list(
        user_id=user_id, statuses=statuses, descending=sort[0][1], limit=page.limit, offset=page.offset
    )
    return Response([time_request_out(r) for r in rows], headers=page_headers(request, page, total))


@get(
    "/api/time-requests/{request_id:str}",
    guards=USER,
    operation_id="getTimeRequest",
    tags=["time requests"],
    summary="One time request",
    responses=errors(404),
)
async def get_time_request(request: Request[Any, Any, State], request_id: FromPath[str]) -> TimeRequestOut:
    return time_request_out(await _own(ctx_of(request), caller(request), request_id))


@delete(
    "/api/time-requests/{request_id:str}",
    guards=USER,
    operation_id="deleteTimeRequest",
    tags=["time requests"],
    summary="Withdraw a pending time request",
    status_code=204,
    responses=errors(404, 409),
)
async def delete_time_request(request: Request[Any, Any, State], request_id: FromPath[str]) -> None:
    ctx = ctx_of(request)
    await _own(ctx, caller(request), request_id)
    decision = await ctx.store.time_requests.delete(request_id, now=ctx.clock.now_us(), describe=_describe)
    _committed(ctx, decision)


@post(
    "/api/time-requests/{request_id:str}/approve",
    guards=SUPERUSER,
    operation_id="approveTimeRequest",
    tags=["time requests"],
    summary="Approve a pending request: credits its seconds exactly once",
    status_code=200,
    responses=errors(400, 403, 404, 409),
)
async def approve_time_request(
    request: Request[Any, Any, State], request_id: FromPath[str], data: JSONBody[ApproveIn | None] = None
) -> TimeRequestOut:
    ctx = ctx_of(request)
    principal = require_superuser(request)
    decision = await ctx.store.time_requests.approve(
        request_id,
        actor_id=principal.id,
        note=data.note if data is not None else "",
        now=ctx.clock.now_us(),
        describe=_describe,
    )
    _committed(ctx, decision)
    return time_request_out(decision.request)


@post(
    "/api/time-requests/{request_id:str}/reject",
    guards=SUPERUSER,
    operation_id="rejectTimeRequest",
    tags=["time requests"],
    summary="Reject a pending request with a reason",
    status_code=200,
    responses=errors(400, 403, 404, 409),
)
async def reject_time_request(
    request: Request[Any, Any, State], request_id: FromPath[str], data: JSONBody[RejectIn]
) -> TimeRequestOut:
    ctx = ctx_of(request)
    principal = require_superuser(request)
    decision = await ctx.store.time_requests.reject(
        request_id, actor_id=principal.id, reason=data.reason, now=ctx.clock.now_us(), describe=_describe
    )
    _committed(ctx, decision)
    return time_request_out(decision.request)


ROUTES = [
    create_time_request,
    list_time_requests,
    get_time_request,
    delete_time_request,
    approve_time_request,
    reject_time_request,
]
