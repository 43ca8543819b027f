"""Driver records (``api.md`` §2.5): registration with a one-time token, toggle, rotate, delete.

The connect exchange itself lives in ``api/connect.py``; the kinds and registration in ``api/driver_kinds.py``,
the bodies in ``api/driver_dto.py``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi.errors import BadRequestError, NotFoundError
from qpi.server.api.common import (
    SUPERUSER,
    check_query,
    ctx_of,
    page_headers,
    parse_bool,
    parse_page,
    parse_sort,
    require_superuser,
)
from qpi.server.api.driver_dto import (
    DriverCreate,
    DriverOut,
    DriverPatch,
    DriverToggle,
    DriverToggleOut,
    NewDriverOut,
    RotateOut,
    driver_out,
)
from qpi.server.api.driver_kinds import CATALOG, DRIVER_KINDS, Kind, register_driver, snippets
from qpi.server.api.dto import errors
from qpi.server.auth.secrets import new_api_token, sha256_hex, token_prefix
from qpi.server.context import ServerContext
from qpi.server.store import DriverRow

__all__ = ["DRIVER_KINDS", "ROUTES", "register_driver"]


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


async def _driver_changed(ctx: ServerContext, driver_id: str, change: str) -> None:
    """Tell the link layer (``on_driver_change``, set by the server) so it closes or refreshes the link."""
    hook = ctx.extras.get("on_driver_change")
    if callable(hook):
        await hook(driver_id, change)


async def _set_enabled(ctx: ServerContext, driver: DriverRow, enabled: bool) -> DriverRow:
    now = ctx.clock.now_us()
    driver = await ctx.store.drivers.update(driver.id, {"enabled": enabled}, now=now)
    await _driver_changed(ctx, driver.id, "disabled" if not enabled else "enabled")
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
    await _driver_changed(ctx, driver.id, "deleted")
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
    await _driver_changed(ctx, driver.id, "token_revoked")
    return RotateOut(
        id=driver.id,
        token=raw,
        ca_fingerprint=ctx.tls.fingerprint if ctx.tls else None,
        snippets=snippets(ctx, driver, raw),
    )


ROUTES = [create_driver, toggle_driver, list_drivers, catalog, get_driver, update_driver, delete_driver, rotate_token]
