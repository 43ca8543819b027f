"""Notifications (``api.md`` §2.10, ``scheduling.md`` §9).

Broadcast (no targets) or targeted to any number of users; an optional visibility window; per-user
dismissals. Users see their inbox; superusers manage every notification and also see
``target_users``, ``dismissed_count`` and ``created_by``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, patch, post
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
    parse_bool,
    parse_page,
    parse_sort,
    parse_ts,
    require_superuser,
)
from qpi.server.api.dto import errors
from qpi.server.auth.principal import Principal
from qpi.server.store.notifications import NotificationFields, NotificationView

__all__ = ["ROUTES", "NotificationOut", "notification_out"]

Severity = Literal["info", "warning", "critical"]
_Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
_Description = Annotated[str, msgspec.Meta(max_length=10000)]
_Targets = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=10000)]
_Ts = Annotated[str, msgspec.Meta(max_length=64)]


class NotificationIn(msgspec.Struct, forbid_unknown_fields=True):
    title: _Title
    description: _Description = ""
    severity: Severity = "info"
    target_users: _Targets = []
    start_time: _Ts | None = None
    end_time: _Ts | None = None


class NotificationPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Absent fields stay; ``start_time``/``end_time`` null open the window; ``target_users`` replaces
    the set (empty = broadcast)."""

    title: _Title | None = None
    description: _Description | None = None
    severity: Severity | None = None
    target_users: _Targets | None = None
    start_time: _Ts | msgspec.UnsetType | None = msgspec.UNSET
    end_time: _Ts | msgspec.UnsetType | None = msgspec.UNSET


class NotificationOut(msgspec.Struct, omit_defaults=True):
    """``target_users``, ``dismissed_count`` and ``created_by`` appear for superusers only."""

    id: str
    title: str
    description: str
    severity: str
    broadcast: bool
    start_time: str | None
    end_time: str | None
    dismissed: bool
    created: str | None
    updated: str | None
    target_users: list[str] | msgspec.UnsetType = msgspec.UNSET
    dismissed_count: int | msgspec.UnsetType = msgspec.UNSET
    created_by: str | msgspec.UnsetType | None = msgspec.UNSET


class Dismissed(msgspec.Struct):
    status: str


class DismissedAll(msgspec.Struct):
    status: str
    count: int


def notification_out(view: NotificationView, viewer: Principal) -> NotificationOut:
    out = NotificationOut(
        id=view.id,
        title=view.title,
        description=view.description,
        severity=view.severity,
        broadcast=view.broadcast,
        start_time=fmt_ts(view.start_time),
        end_time=fmt_ts(view.end_time),
        dismissed=view.dismissed,
        created=fmt_ts(view.created),
        updated=fmt_ts(view.updated),
    )
    if viewer.is_superuser:
        out.target_users = list(view.target_users)
        out.dismissed_count = view.dismissed_count
        out.created_by = view.created_by
    return out


def _window(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    start_us = parse_ts(start, "start_time") if start is not None else None
    end_us = parse_ts(end, "end_time") if end is not None else None
    if start_us is not None and end_us is not None and not start_us < end_us:
        raise BadRequestError("start_time must be strictly before end_time.", code="invalid_interval", field="end_time")
    return start_us, end_us


@get(
    "/api/notifications",
    guards=USER,
    operation_id="listNotifications",
    tags=["notifications"],
    summary="The caller's notifications (superusers: all=true lists every notification)",
    responses=errors(400),
)
async def list_notifications(request: Request[Any, Any, State]) -> Response[list[NotificationOut]]:
    ctx = ctx_of(request)
    principal = caller(request)
    check_query(request, {"include_dismissed", "all"})
    q = request.query_params
    page = parse_page(request, aliases=False)
    sort = parse_sort(q.get("sort"), ("created",), "-created")
    every = parse_bool(q.get("all"), "all") or False
    if every and not principal.is_superuser:
        raise BadRequestError("only superusers may list every notification", field="all")
    rows, total = await ctx.store.notifications.list(
        viewer=principal.id,
        now=ctx.clock.now_us(),
        include_dismissed=parse_bool(q.get("include_dismissed"), "include_dismissed") or False,
        every=every,
        admin=principal.is_superuser,
        descending=sort[0][1],
        limit=page.limit,
        offset=page.offset,
    )
    return Response([notification_out(r, principal) for r in rows], headers=page_headers(request, page, total))


@post(
    "/api/notifications",
    guards=SUPERUSER,
    operation_id="createNotification",
    tags=["notifications"],
    summary="Create a broadcast or targeted notification",
    responses=errors(400, 403),
)
async def create_notification(
    request: Request[Any, Any, State], data: JSONBody[NotificationIn]
) -> Response[NotificationOut]:
    ctx = ctx_of(request)
    principal = require_superuser(request)
    start, end = _window(data.start_time, data.end_time)
    fields = NotificationFields(
        title=data.title,
        description=data.description,
        severity=data.severity,
        start_time=start,
        end_time=end,
        target_users=tuple(data.target_users),
    )
    change = await ctx.store.notifications.create(fields, created_by=principal.id, now=ctx.clock.now_us())
    ctx.hub.publish(change.events)
    assert change.view is not None
    return Response(
        notification_out(change.view, principal),
        status_code=201,
        headers={"Location": f"/api/notifications/{change.view.id}"},
    )


@get(
    "/api/notifications/{notification_id:str}",
    guards=USER,
    operation_id="getNotification",
    tags=["notifications"],
    summary="One notification visible to (or dismissed by) the caller",
    responses=errors(404),
)
async def get_notification(request: Request[Any, Any, State], notification_id: FromPath[str]) -> NotificationOut:
    ctx = ctx_of(request)
    principal = caller(request)
    store = ctx.store.notifications
    view = await store.get(notification_id, viewer=principal.id, admin=principal.is_superuser)
    if view is None:
        raise NotFoundError("Notification not found.")
    if not principal.is_superuser and not view.dismissed:
        now = ctx.clock.now_us()
        in_window = (view.start_time is None or view.start_time <= now) and (
            view.end_time is None or view.end_time >= now
        )
        if not in_window or not await store.is_addressed(notification_id, principal.id):
            raise NotFoundError("Notification not found.")
    return notification_out(view, principal)


@patch(
    "/api/notifications/{notification_id:str}",
    guards=SUPERUSER,
    operation_id="updateNotification",
    tags=["notifications"],
    summary="Change a notification (target_users replaces the set; dismissals are kept)",
    responses=errors(400, 403, 404),
)
async def update_notification(
    request: Request[Any, Any, State], notification_id: FromPath[str], data: JSONBody[NotificationPatch]
) -> NotificationOut:
    ctx = ctx_of(request)
    principal = require_superuser(request)
    start: int | msgspec.UnsetType | None = msgspec.UNSET
    end: int | msgspec.UnsetType | None = msgspec.UNSET
    if not isinstance(data.start_time, msgspec.UnsetType):
        start = parse_ts(data.start_time, "start_time") if data.start_time is not None else None
    if not isinstance(data.end_time, msgspec.UnsetType):
        end = parse_ts(data.end_time, "end_time") if data.end_time is not None else None
    unset = msgspec.UNSET
    fields = NotificationFields(
        title=data.title if data.title is not None else unset,
        description=data.description if data.description is not None else unset,
        severity=data.severity if data.severity is not None else unset,
        start_time=start,
        end_time=end,
        target_users=tuple(data.target_users) if data.target_users is not None else unset,
    )
    change = await ctx.store.notifications.update(notification_id, fields, viewer=principal.id, now=ctx.clock.now_us())
    ctx.hub.publish(change.events)
    assert change.view is not None
    return notification_out(change.view, principal)


@delete(
    "/api/notifications/{notification_id:str}",
    guards=SUPERUSER,
    operation_id="deleteNotification",
    tags=["notifications"],
    summary="Delete a notification with its targets and dismissals",
    status_code=204,
    responses=errors(403, 404),
)
async def delete_notification(request: Request[Any, Any, State], notification_id: FromPath[str]) -> None:
    ctx = ctx_of(request)
    change = await ctx.store.notifications.delete(notification_id, now=ctx.clock.now_us())
    ctx.hub.publish(change.events)


@post(
    "/api/notifications/{notification_id:str}/dismiss",
    guards=USER,
    operation_id="dismissNotification",
    tags=["notifications"],
    summary="Dismiss a notification for the caller only (idempotent)",
    status_code=200,
    responses=errors(404),
)
async def dismiss_notification(request: Request[Any, Any, State], notification_id: FromPath[str]) -> Dismissed:
    ctx = ctx_of(request)
    change = await ctx.store.notifications.dismiss(notification_id, user_id=caller(request).id, now=ctx.clock.now_us())
    ctx.hub.publish(change.events)
    return Dismissed(status="dismissed")


@post(
    "/api/notifications/dismiss-all",
    guards=USER,
    operation_id="dismissAllNotifications",
    tags=["notifications"],
    summary="Dismiss every notification the caller sees now",
    status_code=200,
    responses=errors(),
)
async def dismiss_all_notifications(request: Request[Any, Any, State]) -> DismissedAll:
    ctx = ctx_of(request)
    count, events = await ctx.store.notifications.dismiss_all(user_id=caller(request).id, now=ctx.clock.now_us())
    ctx.hub.publish(events)
    return DismissedAll(status="dismissed", count=count)


ROUTES = [
    list_notifications,
    create_notification,
    get_notification,
    update_notification,
    delete_notification,
    dismiss_notification,
    dismiss_all_notifications,
]
