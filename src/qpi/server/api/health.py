"""Operations: health, readiness, version, the public CA certificate (``api.md`` §2.1)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State

from qpi import __version__
from qpi.errors import StoreError, UnavailableError
from qpi.server.api.common import SUPERUSER, ctx_of, require_superuser
from qpi.server.api.dto import errors

__all__ = ["ROUTES"]


class Health(msgspec.Struct):
    status: str


class Ready(msgspec.Struct):
    status: str
    checks: dict[str, str]


class Version(msgspec.Struct):
    version: str


@get("/api/health", operation_id="getHealth", tags=["operations"], summary="Liveness")
async def health() -> Health:
    return Health(status="ok")


@get(
    "/api/ready",
    operation_id="getReady",
    tags=["operations"],
    summary="Readiness: database, migrations, tasks",
    responses=errors(503),
)
async def ready(request: Request[Any, Any, State]) -> Response[Ready]:
    ctx = ctx_of(request)
    checks: dict[str, str] = {}
    try:
        await ctx.store.ping()
        checks["database"] = "ok"
        status = await ctx.store.migration_status()
        checks["migrations"] = "ok" if not status.pending else f"pending: {list(status.pending)}"
    except StoreError as exc:
        checks["database"] = f"failing: {exc}"
        checks["migrations"] = "unknown"
    checks["tasks"] = "ok" if ctx.tasks_healthy else "failing: " + ", ".join(ctx.failing_tasks)
    ok = all(v == "ok" for v in checks.values())
    if ok:
        return Response(Ready(status="ready", checks=checks))
    body = {"status": 503, "error": "not_ready", "detail": "the server is not ready", "checks": checks}
    return Response(body, status_code=503, headers={"Retry-After": "2"})  # type: ignore[arg-type]


@get(
    "/api/op/version",
    guards=SUPERUSER,
    operation_id="getVersion",
    tags=["operations"],
    summary="Server version (superusers)",
    responses=errors(403),
)
async def version(request: Request[Any, Any, State]) -> Version:
    require_superuser(request)
    return Version(version=__version__)


@get(
    "/api/pub/root-ca.pem",
    operation_id="getRootCa",
    tags=["operations"],
    media_type="application/x-pem-file",
    summary="The server's root CA certificate (drivers pin its fingerprint)",
    responses=errors(503),
)
async def root_ca(request: Request[Any, Any, State]) -> Response[bytes]:
    ctx = ctx_of(request)
    if ctx.tls is None:
        raise UnavailableError("the TLS material is not ready yet")
    return Response(
        ctx.tls.ca_cert_pem.encode(),
        media_type="application/x-pem-file",
        headers={"X-CA-Fingerprint": ctx.tls.fingerprint},
    )


ROUTES = [health, ready, version, root_ca]
