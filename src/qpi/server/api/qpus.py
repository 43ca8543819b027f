"""QPUs (``api.md`` §2.4): public reads, superuser registration, toggle, edit, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi.errors import BadRequestError, ConflictError, NotFoundError
from qpi.server.api.common import (
    SUPERUSER,
    check_query,
    ctx_of,
    fmt_ts,
    maybe_caller,
    page_headers,
    parse_bool,
    parse_page,
    parse_sort,
    require_superuser,
)
from qpi.server.api.drivers import DRIVER_KINDS, register_driver
from qpi.server.api.dto import errors
from qpi.server.context import ServerContext
from qpi.server.store import QpuRow, QpuStats
from qpi.server.store.common import json_loads

__all__ = ["ROUTES", "qpu_detail"]

QpuName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
OnLoss = Literal["auto", "requeue", "fail"]


class QpuCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: QpuName
    num_qubits: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    enabled: bool = True
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    max_shots: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    max_circuits: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    job_timeout: Annotated[float, msgspec.Meta(gt=0)] | None = None
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    on_driver_loss: OnLoss | None = None
    with_driver: bool = True
    executor_type: str = "mock"
    # legacy keys sent by upstream clients, accepted and ignored (api.md §1.1)
    device_config: Any = None
    id: Any = None
    access_token: Any = None


class QpuPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: QpuName | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    num_qubits: Annotated[int, msgspec.Meta(ge=1, le=100000)] | msgspec.UnsetType | None = msgspec.UNSET
    enabled: bool | None = None
    max_shots: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    max_circuits: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    job_timeout: Annotated[float, msgspec.Meta(gt=0)] | msgspec.UnsetType | None = msgspec.UNSET
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] | msgspec.UnsetType | None = msgspec.UNSET
    on_driver_loss: OnLoss | None = None
    bookable: bool | None = None
    max_concurrent: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType | None = msgspec.UNSET


class Toggle(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool
    id: str | None = None
    name: str | None = None


class QpuToggleOut(msgspec.Struct):
    id: str
    name: str
    enabled: bool
    status: str


class QueueCounts(msgspec.Struct):
    pending: int
    running: int


class BookingSummary(msgspec.Struct):
    id: str
    user_name: str
    start_time: str | None
    end_time: str | None
    mine: bool


class Limits(msgspec.Struct):
    max_shots: int
    max_circuits: int
    job_timeout_s: float | None
    max_attempts: int | None
    max_concurrent: int | None


class QpuOut(msgspec.Struct, omit_defaults=False):
    id: str
    name: str
    description: str
    status: str
    enabled: bool
    num_qubits: int | None
    executor: str | None
    drivers_online: int
    queue: QueueCounts
    current_booking: BookingSummary | None
    last_seen: str | None
    created: str | None
    updated: str | None


class QpuDetailOut(QpuOut):
    device_info: dict[str, Any] | None = None
    limits: Limits | None = None
    on_driver_loss: str = "auto"
    bookable: bool = True


class QpuCreatedOut(QpuDetailOut):
    driver_id: str | None = None
    access_token: str | None = None
    ca_fingerprint: str | None = None


def _num_qubits(qpu: QpuRow) -> int | None:
    if qpu.device_info:
        info = json_loads(qpu.device_info)
        if isinstance(info, dict) and isinstance(info.get("num_qubits"), int):
            return int(info["num_qubits"])
    return qpu.num_qubits


def qpu_out(qpu: QpuRow, stats: QpuStats, viewer: str | None) -> QpuOut:
    booking = None
    if stats.booking_id and viewer is not None:
        booking = BookingSummary(
            id=stats.booking_id,
            user_name=stats.booking_user_name or "",
            start_time=fmt_ts(stats.booking_start),
            end_time=fmt_ts(stats.booking_end),
            mine=stats.booking_user_id == viewer,
        )
    return QpuOut(
        id=qpu.id,
        name=qpu.name,
        description=qpu.description,
        status=qpu.status,
        enabled=qpu.enabled,
        num_qubits=_num_qubits(qpu),
        executor=stats.executor,
        drivers_online=stats.drivers_online,
        queue=QueueCounts(pending=stats.pending, running=stats.running),
        current_booking=booking,
        last_seen=fmt_ts(qpu.last_seen),
        created=fmt_ts(qpu.created),
        updated=fmt_ts(qpu.updated),
    )


async def qpu_detail(ctx: ServerContext, qpu: QpuRow, viewer: str | None) -> QpuDetailOut:
    stats = (await ctx.store.qpus.stats([qpu.id], now=ctx.clock.now_us()))[qpu.id]
    base = msgspec.structs.asdict(qpu_out(qpu, stats, viewer))
    device = None
    if qpu.device_info:
        device = dict(json_loads(qpu.device_info))
        device["reported_at"] = fmt_ts(qpu.device_reported_at)
    limits = Limits(
        max_shots=qpu.max_shots,
        max_circuits=qpu.max_circuits,
        job_timeout_s=None if qpu.job_timeout_ms is None else qpu.job_timeout_ms / 1000,
        max_attempts=qpu.max_attempts,
        max_concurrent=qpu.max_concurrent,
    )
    return QpuDetailOut(
        **base, device_info=device, limits=limits, on_driver_loss=qpu.on_driver_loss, bookable=qpu.bookable
    )


async def _find(ctx: ServerContext, name: str) -> QpuRow:
    qpu = await ctx.store.qpus.get(name)
    if qpu is None:
        raise NotFoundError(f"QPU {name!r} not found")
    return qpu


@post(
    "/api/op/qpus/create",
    guards=SUPERUSER,
    operation_id="createQpu",
    tags=["qpus"],
    summary="Register a QPU (and its driver)",
    status_code=201,
    responses=errors(400, 403, 409),
)
async def create_qpu(request: Request[Any, Any, State], data: JSONBody[QpuCreate]) -> Response[QpuCreatedOut]:
    principal = require_superuser(request)
    ctx = ctx_of(request)
    if data.with_driver and data.executor_type not in DRIVER_KINDS:
        raise BadRequestError(
            f"unknown executor_type {data.executor_type!r}; use one of {', '.join(sorted(DRIVER_KINDS))}",
            code="unknown_kind",
            field="executor_type",
        )
    now = ctx.clock.now_us()
    values = {
        "name": data.name,
        "description": data.description,
        "num_qubits": data.num_qubits,
        "enabled": data.enabled,
        "max_shots": data.max_shots or ctx.config.max_shots,
        "max_circuits": data.max_circuits or ctx.config.max_circuits_per_job,
        "job_timeout_ms": None if data.job_timeout is None else round(data.job_timeout * 1000),
        "max_attempts": data.max_attempts,
        "on_driver_loss": data.on_driver_loss or ctx.config.on_driver_loss,
        "bookable": True,
    }
    qpu = await ctx.store.qpus.create(values, now=now)
    extra: dict[str, Any] = {}
    if data.with_driver:
        driver, token = await register_driver(
            ctx,
            name=f"{data.name}-driver",
            qpu=qpu,
            kind=data.executor_type,
            events=None,
            enabled=True,
            actor=principal.id,
        )
        extra = {
            "driver_id": driver.id,
            "access_token": token,
            "ca_fingerprint": ctx.tls.fingerprint if ctx.tls else None,
        }
    qpu = await ctx.store.qpus.require(qpu.id)
    await ctx.store.qpus.refresh_status(qpu.id, now=now)
    detail = await qpu_detail(ctx, await ctx.store.qpus.require(qpu.id), principal.id)
    body = QpuCreatedOut(**msgspec.structs.asdict(detail), **extra)
    return Response(body, status_code=201, headers={"Location": f"/api/qpus/{qpu.name}"})


@post(
    "/api/op/qpu/toggle",
    guards=SUPERUSER,
    operation_id="toggleQpu",
    tags=["qpus"],
    summary="Enable or disable a QPU",
    status_code=200,
    responses=errors(400, 403, 404),
)
async def toggle_qpu(request: Request[Any, Any, State], data: JSONBody[Toggle]) -> QpuToggleOut:
    require_superuser(request)
    ctx = ctx_of(request)
    if not data.id and not data.name:
        raise BadRequestError("give the QPU's id or name", field="id")
    qpu = await _find(ctx, data.id or data.name or "")
    now = ctx.clock.now_us()
    await ctx.store.qpus.update(qpu.id, {"enabled": data.enabled}, now=now)
    status = await ctx.store.qpus.refresh_status(qpu.id, now=now)
    ctx.hub.wake(qpu.id)
    return QpuToggleOut(id=qpu.id, name=qpu.name, enabled=data.enabled, status=status)


@get("/api/qpus", operation_id="listQpus", tags=["qpus"], summary="Every registered QPU", responses=errors(400))
async def list_qpus(request: Request[Any, Any, State]) -> Response[list[QpuOut]]:
    ctx = ctx_of(request)
    check_query(request, {"status", "enabled"})
    q = request.query_params
    page = parse_page(request, aliases=True)
    sort = parse_sort(q.get("sort"), ("name", "created"), "name")
    statuses = [s for s in q.get("status", "").split(",") if s]
    bad = [s for s in statuses if s not in {"online", "offline", "maintenance"}]
    if bad:
        raise BadRequestError(f"unknown status {bad[0]!r}; use online, offline or maintenance", field="status")
    order = ", ".join(f"{n} {'DESC' if d else 'ASC'}" for n, d in sort)
    rows, total = await ctx.store.qpus.list(
        status=statuses or None,
        enabled=parse_bool(q.get("enabled"), "enabled"),
        order=order,
        limit=page.limit,
        offset=page.offset,
    )
    stats = await ctx.store.qpus.stats([r.id for r in rows], now=ctx.clock.now_us())
    viewer = maybe_caller(request)
    out = [qpu_out(r, stats[r.id], viewer.id if viewer else None) for r in rows]
    return Response(out, headers=page_headers(request, page, total))


@get(
    "/api/qpus/{name:str}", operation_id="getQpu", tags=["qpus"], summary="One QPU by name or id", responses=errors(404)
)
async def get_qpu(request: Request[Any, Any, State], name: FromPath[str]) -> QpuDetailOut:
    ctx = ctx_of(request)
    viewer = maybe_caller(request)
    return await qpu_detail(ctx, await _find(ctx, name), viewer.id if viewer else None)


@patch(
    "/api/qpus/{name:str}",
    guards=SUPERUSER,
    operation_id="updateQpu",
    tags=["qpus"],
    summary="Edit a QPU",
    responses=errors(400, 403, 404, 409),
)
async def update_qpu(request: Request[Any, Any, State], name: FromPath[str], data: JSONBody[QpuPatch]) -> QpuDetailOut:
    principal = require_superuser(request)
    ctx = ctx_of(request)
    qpu = await _find(ctx, name)
    values: dict[str, Any] = {}
    for key in ("name", "description", "enabled", "max_shots", "max_circuits", "on_driver_loss", "bookable"):
        value = getattr(data, key)
        if value is not None:
            values[key] = value
    for key in ("num_qubits", "max_attempts", "max_concurrent"):
        value = getattr(data, key)
        if value is not msgspec.UNSET:
            values[key] = value
    if data.job_timeout is not msgspec.UNSET:
        values["job_timeout_ms"] = None if data.job_timeout is None else round(data.job_timeout * 1000)
    now = ctx.clock.now_us()
    if values:
        await ctx.store.qpus.update(qpu.id, values, now=now)
        await ctx.store.qpus.refresh_status(qpu.id, now=now)
        ctx.hub.wake(qpu.id)
    return await qpu_detail(ctx, await ctx.store.qpus.require(qpu.id), principal.id)


@delete(
    "/api/qpus/{name:str}",
    guards=SUPERUSER,
    operation_id="deleteQpu",
    tags=["qpus"],
    summary="Delete a QPU",
    status_code=204,
    responses=errors(403, 404, 409),
)
async def delete_qpu(request: Request[Any, Any, State], name: FromPath[str]) -> None:
    require_superuser(request)
    ctx = ctx_of(request)
    qpu = await _find(ctx, name)
    force = parse_bool(request.query_params.get("force"), "force") or False
    check_query(request, {"force"})
    active = await ctx.store.jobs.active_count_for_qpu(qpu.id)
    if active and not force:
        raise ConflictError(
            f"QPU {qpu.name} has {active} pending or running jobs; cancel them or delete with force=true",
            code="qpu_in_use",
        )
    on_delete = ctx.extras.get("on_qpu_delete")
    if callable(on_delete):
        await on_delete(qpu.id)
    if active:
        await ctx.store.jobs.cancel_all_for_qpu(qpu.id, now=ctx.clock.now_us())
    await ctx.store.qpus.delete(qpu.id)


ROUTES = [create_qpu, toggle_qpu, list_qpus, get_qpu, update_qpu, delete_qpu]
