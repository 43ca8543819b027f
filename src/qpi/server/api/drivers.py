"""Driver records (``api.md`` §2.5): registration with a one-time token, toggle, rotate, delete.

The connect exchange itself lives in ``api/connect.py``.
"""

from __future__ import annotations

import shlex
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi import __version__
from qpi.errors import BadRequestError, NotFoundError
from qpi.server.api.common import (
    SUPERUSER,
    check_query,
    ctx_of,
    fmt_ts,
    page_headers,
    parse_bool,
    parse_page,
    parse_sort,
    require_superuser,
)
from qpi.server.api.dto import QpuRef, errors
from qpi.server.auth.secrets import new_api_token, sha256_hex, token_prefix
from qpi.server.context import ServerContext
from qpi.server.store import DriverRow, QpuRow
from qpi.server.store.common import json_dumps, json_loads

__all__ = ["DRIVER_KINDS", "ROUTES", "register_driver"]


class Kind(msgspec.Struct, frozen=True):
    kind: str
    role: str
    extra: str
    events: list[str]
    options: list[str]


CATALOG: dict[str, Kind] = {
    "mock": Kind(
        "mock", "process", "qpi", ["JobDispatch", "JobResult"], ["seed_simulator", "num_qubits", "optimization_level"]
    ),
    "qiskit_aer": Kind(
        "qiskit_aer",
        "process",
        "qpi[aer]",
        ["JobDispatch", "JobResult"],
        ["method", "seed_simulator", "noise_model", "device_file", "max_parallel_threads", "optimization_level"],
    ),
    "quantify": Kind(
        "quantify",
        "process",
        "qpi[quantify]",
        ["JobDispatch", "JobResult"],
        ["quantify_device_config", "quantify_hardware_config", "is_dummy", "acquisition_timeout"],
    ),
    "qblox": Kind(
        "qblox",
        "process",
        "qpi[qblox]",
        ["JobDispatch", "JobResult"],
        ["quantify_device_config", "quantify_hardware_config", "is_dummy", "acquisition_timeout"],
    ),
    "presto": Kind("presto", "process", "qpi", ["JobDispatch", "JobResult"], []),
    "bluefors_gen1": Kind("bluefors_gen1", "monitor", "qpi", ["CryostatReading"], []),
    "custom": Kind("custom", "process", "", ["JobDispatch", "JobResult", "CryostatReading"], []),
}
DRIVER_KINDS = frozenset(CATALOG)
EVENT_NAMES = frozenset({"JobDispatch", "JobResult", "CryostatReading"})
SIMULATOR_KINDS = frozenset({"mock", "qiskit_aer"})

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class DriverCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    qpu: str
    kind: str
    language: str = "python"
    events: Annotated[list[str], msgspec.Meta(min_length=1, max_length=3)] | None = None
    enabled: bool = True


class DriverToggle(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    enabled: bool


class DriverPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    enabled: bool | None = None


class Reported(msgspec.Struct):
    name: str
    host: str
    version: str
    executor: str
    workers: int


class DriverOut(msgspec.Struct):
    id: str
    name: str
    qpu: QpuRef
    kind: str
    role: str
    language: str
    events: list[str]
    enabled: bool
    status: str
    token_prefix: str
    nng_port: int | None
    reported: Reported
    last_seen: str | None
    connected_at: str | None
    client_cert_expires_at: str | None
    created: str | None
    updated: str | None


class Snippets(msgspec.Struct, omit_defaults=True):
    systemd: str | None = None
    manual_cli: str | None = None
    install: str | None = None
    stub: str | None = None


class NewDriverOut(DriverOut):
    token: str = ""
    ca_fingerprint: str | None = None
    qpi_addr: str = ""
    driver_version: str = __version__
    snippets: Snippets | None = None


class RotateOut(msgspec.Struct):
    id: str
    token: str
    ca_fingerprint: str | None
    snippets: Snippets


class DriverToggleOut(msgspec.Struct):
    id: str
    name: str
    enabled: bool
    status: str


def driver_out(d: DriverRow) -> DriverOut:
    return DriverOut(
        id=d.id,
        name=d.name,
        qpu=QpuRef(id=d.qpu_id, name=d.qpu_name),
        kind=d.kind,
        role=d.role,
        language=d.language,
        events=list(json_loads(d.events) or []),
        enabled=d.enabled,
        status="online" if d.status in ("online", "draining") else "offline",
        token_prefix=d.token_prefix,
        nng_port=d.port,
        reported=Reported(
            name=d.reported_name,
            host=d.reported_host,
            version=d.reported_version,
            executor=d.reported_executor,
            workers=d.reported_workers,
        ),
        last_seen=fmt_ts(d.last_seen),
        connected_at=fmt_ts(d.connected_at),
        client_cert_expires_at=fmt_ts(d.cert_expires_at),
        created=fmt_ts(d.created),
        updated=fmt_ts(d.updated),
    )


def snippets(ctx: ServerContext, driver: DriverRow, token: str) -> Snippets:
    kind = CATALOG[driver.kind]
    fingerprint = ctx.tls.fingerprint if ctx.tls else ""
    args = [
        "--qpi-addr",
        ctx.config.public_url,
        "--token",
        token,
        "--ca-fingerprint",
        fingerprint,
        "--name",
        driver.name,
    ]
    if driver.kind == "custom":
        return Snippets(
            install="pipx install qpi",
            stub="qpi driver start " + shlex.join([*args, "--executor", "my_package.my_module:MyExecutor"]),
        )
    args += ["--executor", driver.kind]
    return Snippets(
        systemd="qpi driver install-systemd " + shlex.join(args),
        manual_cli=f"pipx install {shlex.quote(kind.extra)} && qpi driver start " + shlex.join(args),
    )


async def register_driver(
    ctx: ServerContext, *, name: str, qpu: QpuRow, kind: str, events: list[str] | None, enabled: bool, actor: str
) -> tuple[DriverRow, str]:
    if kind not in CATALOG:
        raise BadRequestError(
            f"unknown driver kind {kind!r}; use one of {', '.join(sorted(CATALOG))}", code="unknown_kind", field="kind"
        )
    role = CATALOG[kind].role
    chosen = CATALOG[kind].events
    if kind == "custom":
        if not events:
            raise BadRequestError(
                "custom drivers must list the events they handle", code="events_required", field="events"
            )
        unknown = [e for e in events if e not in EVENT_NAMES]
        if unknown:
            raise BadRequestError(
                f"unknown event {unknown[0]!r}; use JobDispatch, JobResult or CryostatReading",
                code="unknown_event",
                field="events",
            )
        chosen = sorted(set(events))
        role = "process" if "JobDispatch" in chosen else "monitor"
    raw = new_api_token()
    driver = await ctx.store.drivers.create(
        name=name,
        qpu_id=qpu.id,
        kind=kind,
        role=role,
        language="python",
        events=json_dumps(chosen),
        token_hash=sha256_hex(raw),
        token_prefix=token_prefix(raw),
        enabled=enabled,
        now=ctx.clock.now_us(),
    )
    return driver, raw


@post(
    "/api/op/drivers/create",
    guards=SUPERUSER,
    operation_id="createDriver",
    tags=["drivers"],
    summary="Register a driver; its token is shown once",
    status_code=201,
    responses=errors(400, 403),
)
async def create_driver(request: Request[Any, Any, State], data: JSONBody[DriverCreate]) -> Response[NewDriverOut]:
    principal = require_superuser(request)
    ctx = ctx_of(request)
    if data.language != "python":
        raise BadRequestError("only Python drivers exist", code="unsupported_language", field="language")
    qpu = await ctx.store.qpus.get(data.qpu)
    if qpu is None:
        raise BadRequestError(f"QPU {data.qpu!r} not found", code="qpu_not_found", field="qpu")
    driver, token = await register_driver(
        ctx, name=data.name, qpu=qpu, kind=data.kind, events=data.events, enabled=data.enabled, actor=principal.id
    )
    body = NewDriverOut(
        **msgspec.structs.asdict(driver_out(driver)),
        token=token,
        ca_fingerprint=ctx.tls.fingerprint if ctx.tls else None,
        qpi_addr=ctx.config.public_url,
        snippets=snippets(ctx, driver, token),
    )
    return Response(body, status_code=201, headers={"Location": f"/api/drivers/{driver.id}"})


async def _set_enabled(ctx: ServerContext, driver: DriverRow, enabled: bool) -> DriverRow:
    now = ctx.clock.now_us()
    driver = await ctx.store.drivers.update(driver.id, {"enabled": enabled}, now=now)
    hook = ctx.extras.get("on_driver_change")
    if callable(hook):
        await hook(driver.id, "disabled" if not enabled else "enabled")
    await ctx.store.qpus.refresh_status(driver.qpu_id, now=now)
    ctx.hub.wake(driver.qpu_id)
    return await ctx.store.drivers.require(driver.id)


@post(
    "/api/op/drivers/toggle",
    guards=SUPERUSER,
    operation_id="toggleDriver",
    tags=["drivers"],
    summary="Enable or disable a driver",
    status_code=200,
    responses=errors(400, 403, 404),
)
async def toggle_driver(request: Request[Any, Any, State], data: JSONBody[DriverToggle]) -> DriverToggleOut:
    require_superuser(request)
    ctx = ctx_of(request)
    driver = await _set_enabled(ctx, await ctx.store.drivers.require(data.id), data.enabled)
    out = driver_out(driver)
    return DriverToggleOut(id=driver.id, name=driver.name, enabled=driver.enabled, status=out.status)


@get(
    "/api/drivers",
    guards=SUPERUSER,
    operation_id="listDrivers",
    tags=["drivers"],
    summary="List drivers",
    responses=errors(400, 403),
)
async def list_drivers(request: Request[Any, Any, State]) -> Response[list[DriverOut]]:
    require_superuser(request)
    ctx = ctx_of(request)
    check_query(request, {"qpu", "status", "kind", "enabled"})
    q = request.query_params
    page = parse_page(request, aliases=False)
    sort = parse_sort(q.get("sort"), ("name", "created"), "name")
    qpu_id = None
    if "qpu" in q:
        qpu = await ctx.store.qpus.get(q["qpu"])
        if qpu is None:
            return Response([], headers=page_headers(request, page, 0))
        qpu_id = qpu.id
    status = q.get("status")
    if status is not None and status not in {"online", "offline"}:
        raise BadRequestError("status must be online or offline", field="status")
    order = ", ".join(f"d.{n} {'DESC' if d else 'ASC'}" for n, d in sort)
    rows, total = await ctx.store.drivers.list(
        qpu_id=qpu_id,
        status=status,
        kind=q.get("kind"),
        enabled=parse_bool(q.get("enabled"), "enabled"),
        order=order,
        limit=page.limit,
        offset=page.offset,
    )
    return Response([driver_out(r) for r in rows], headers=page_headers(request, page, total))


@get(
    "/api/drivers/catalog",
    guards=SUPERUSER,
    operation_id="driverCatalog",
    tags=["drivers"],
    summary="Driver kinds",
    responses=errors(403),
)
async def catalog(request: Request[Any, Any, State]) -> list[Kind]:
    require_superuser(request)
    return list(CATALOG.values())


@get(
    "/api/drivers/{driver_id:str}",
    guards=SUPERUSER,
    operation_id="getDriver",
    tags=["drivers"],
    summary="One driver",
    responses=errors(403, 404),
)
async def get_driver(request: Request[Any, Any, State], driver_id: FromPath[str]) -> DriverOut:
    require_superuser(request)
    return driver_out(await ctx_of(request).store.drivers.require(driver_id))


@patch(
    "/api/drivers/{driver_id:str}",
    guards=SUPERUSER,
    operation_id="updateDriver",
    tags=["drivers"],
    summary="Rename or toggle",
    responses=errors(400, 403, 404),
)
async def update_driver(
    request: Request[Any, Any, State], driver_id: FromPath[str], data: JSONBody[DriverPatch]
) -> DriverOut:
    require_superuser(request)
    ctx = ctx_of(request)
    driver = await ctx.store.drivers.require(driver_id)
    if data.name is not None:
        driver = await ctx.store.drivers.update(driver.id, {"name": data.name}, now=ctx.clock.now_us())
    if data.enabled is not None and data.enabled != driver.enabled:
        driver = await _set_enabled(ctx, driver, data.enabled)
    return driver_out(driver)


@delete(
    "/api/drivers/{driver_id:str}",
    guards=SUPERUSER,
    operation_id="deleteDriver",
    tags=["drivers"],
    summary="Delete a driver",
    status_code=204,
    responses=errors(403, 404),
)
async def delete_driver(request: Request[Any, Any, State], driver_id: FromPath[str]) -> None:
    require_superuser(request)
    ctx = ctx_of(request)
    driver = await ctx.store.drivers.require(driver_id)
    hook = ctx.extras.get("on_driver_change")
    if callable(hook):
        await hook(driver.id, "deleted")
    if not await ctx.store.drivers.delete(driver.id):
        raise NotFoundError(f"driver {driver_id!r} not found")
    await ctx.store.qpus.refresh_status(driver.qpu_id, now=ctx.clock.now_us())


@post(
    "/api/drivers/{driver_id:str}/rotate-token",
    guards=SUPERUSER,
    operation_id="rotateDriverToken",
    tags=["drivers"],
    summary="Issue a new driver token; the old one stops working",
    status_code=200,
    responses=errors(403, 404),
)
async def rotate_token(request: Request[Any, Any, State], driver_id: FromPath[str]) -> RotateOut:
    require_superuser(request)
    ctx = ctx_of(request)
    driver = await ctx.store.drivers.require(driver_id)
    raw = new_api_token()
    driver = await ctx.store.drivers.update(
        driver.id, {"token_hash": sha256_hex(raw), "token_prefix": token_prefix(raw)}, now=ctx.clock.now_us()
    )
    hook = ctx.extras.get("on_driver_change")
    if callable(hook):
        await hook(driver.id, "token_revoked")
    return RotateOut(
        id=driver.id,
        token=raw,
        ca_fingerprint=ctx.tls.fingerprint if ctx.tls else None,
        snippets=snippets(ctx, driver, raw),
    )


ROUTES = [create_driver, toggle_driver, list_drivers, catalog, get_driver, update_driver, delete_driver, rotate_token]
