"""``POST /api/op/drivers/connect`` (alias ``/api/op/qpus/connect``): the driver's handshake (P-2.x).

The driver has already checked the CA fingerprint before it sent its token. The server signs the
CSR (CN ``<driver_id>/<session>``), reserves the driver's port, opens its listener BEFORE it
replies (P-2.5), and answers with the link parameters. The token is never echoed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.params import JSONBody

from qpi import __version__
from qpi.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    PermissionDeniedError,
    RateLimitedError,
)
from qpi.protocol.messages import SUPPORTED_PROTOCOLS
from qpi.protocol.payload import DeviceInfo
from qpi.server.api.common import ctx_of, fmt_ts
from qpi.server.api.dto import errors
from qpi.server.api.middleware import client_ip
from qpi.server.auth.secrets import TOKEN_RE, sha256_hex
from qpi.server.clock import to_us
from qpi.server.context import ServerContext
from qpi.server.scheduling import is_simulator_qpu, prefetch_factor, reports_simulator, resolve_on_driver_loss
from qpi.server.tls import sign_client_csr

__all__ = ["ROUTES"]


class ConnectIn(msgspec.Struct, forbid_unknown_fields=True):
    csr: Annotated[str, msgspec.Meta(max_length=16_384)]
    instance_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    token: str | None = None
    access_token: str | None = None  # the alias route's legacy spelling
    role: Literal["process", "monitor"] | None = None
    protocol: int = 1
    executor: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    workers: Annotated[int, msgspec.Meta(ge=0, le=256)] = 0
    device: DeviceInfo | None = None
    name: Annotated[str, msgspec.Meta(max_length=64)] = ""
    host: Annotated[str, msgspec.Meta(max_length=255)] = ""
    version: Annotated[str, msgspec.Meta(max_length=64)] = ""
    # legacy fields upstream drivers send, accepted and ignored (api.md §1.1)
    device_config: Any = None
    executor_type: Any = None


class ConnectOut(msgspec.Struct, omit_defaults=True):
    status: str
    driver_id: str
    qpu_id: str
    qpu_name: str
    session: int
    protocol: int
    server_version: str
    nng_host: str
    nng_port: int
    nng_in_port: int
    nng_out_port: int
    server_name: str
    tls_hash: str
    client_cert: str
    client_cert_expires_at: str | None
    heartbeat_interval_s: float
    heartbeat_misses: int
    hello_timeout_s: float
    accept_timeout_s: float
    job_timeout_grace_s: float
    max_message_bytes: int
    event_rate_limit: float
    max_attempts: int
    on_driver_loss: str
    max_held_per_worker: int
    nng_command_port: int | None = None
    nng_result_port: int | None = None


def _client_ip(request: Request[Any, Any, State], trusted: tuple[str, ...]) -> str:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return client_ip(request.scope, headers, trusted)


def _executor_matches(kind: str, executor: str | None) -> bool:
    if executor in (None, ""):
        return True
    if kind == "custom":
        return executor.startswith("custom:") or ":" in executor or executor == "custom"
    return executor == kind


async def connect(ctx: ServerContext, request: Request[Any, Any, State], data: ConnectIn, *, alias: bool) -> ConnectOut:
    links = ctx.links
    if links is None:
        raise PermissionDeniedError("this server does not accept driver links", code="forbidden")
    ip = _client_ip(request, ctx.config.trusted_proxies)
    wait = ctx.limits.connect.peek(ip)
    if wait > 0:
        raise RateLimitedError(
            "too many failed driver connects from this address", code="too_many_attempts", retry_after=wait
        )
    raw = data.token or data.access_token or ""
    driver = await ctx.store.drivers.by_token_hash(sha256_hex(raw)) if TOKEN_RE.match(raw) else None
    if driver is None:
        ctx.limits.connect.take(ip)
        raise AuthenticationError("the driver token was rejected", code="invalid_token")
    if data.protocol not in SUPPORTED_PROTOCOLS:
        supported = ", ".join(str(p) for p in sorted(SUPPORTED_PROTOCOLS))
        raise BadRequestError(
            f"protocol {data.protocol} is not served; this server speaks {supported}",
            code="unsupported_protocol",
            field="protocol",
        )
    if not driver.enabled:
        raise PermissionDeniedError("this driver is disabled by an administrator", code="driver_disabled")
    if (data.role is not None and data.role != driver.role) or not _executor_matches(driver.kind, data.executor):
        raise ConflictError(
            f"this driver is registered as a {driver.role} driver of kind {driver.kind}, "
            f"but the process reports {data.role or driver.role}/{data.executor}",
            code="kind_mismatch",
        )
    now_us = ctx.clock.now_us()
    if driver.instance_id and driver.instance_id != data.instance_id and links.live(driver.id, now_us):
        window = ctx.config.heartbeat_interval * ctx.config.heartbeat_misses
        raise ConflictError(
            "another instance of this driver holds a live session",
            code="driver_already_connected",
            headers={"Retry-After": str(max(1, int(window)))},
        )
    assert ctx.tls is not None
    session = driver.session + 1
    now = datetime.now(UTC)
    cert_pem, serial, not_after = sign_client_csr(
        ctx.tls, data.csr, cn=f"{driver.id}/{session}", ttl_s=ctx.config.driver_cert_ttl, now=now
    )
    takeover = bool(driver.instance_id) and driver.instance_id != data.instance_id
    await ctx.store.drivers.update(
        driver.id,
        {
            "session": session,
            "instance_id": data.instance_id,
            "status": "connecting",
            "connected_at": now_us,
            "cert_serial": serial,
            "cert_expires_at": to_us(not_after),
            "reported_name": data.name,
            "reported_host": data.host,
            "reported_version": data.version,
            "reported_executor": data.executor or "",
            "reported_workers": data.workers,
        },
        now=now_us,
    )
    link = await links.open(
        driver.id, driver.qpu_id, session, port_start=ctx.config.port_range_start, port_end=ctx.config.port_range_end
    )
    if takeover:
        link.takeover_session = session
    link.instance_id = data.instance_id
    qpu = await ctx.store.qpus.require(driver.qpu_id)
    if data.device is not None:
        await ctx.store.qpus.set_device_info(qpu.id, msgspec.json.encode(data.device).decode(), now=now_us)
    drivers = await ctx.store.drivers.for_qpu(qpu.id)
    qpu = await ctx.store.qpus.require(qpu.id)  # with the device info just stored
    simulator = is_simulator_qpu(
        [d.kind for d in drivers if d.role == "process"], custom_reports_simulator=reports_simulator(qpu.device_info)
    )
    link.max_held_per_worker = prefetch_factor(simulator)
    interval = ctx.config.heartbeat_interval
    return ConnectOut(
        status="success",
        driver_id=driver.id,
        qpu_id=qpu.id,
        qpu_name=qpu.name,
        session=session,
        protocol=1,
        server_version=__version__,
        nng_host=ctx.config.ip_addr,
        nng_port=link.port,
        nng_in_port=link.port,
        nng_out_port=link.port,
        server_name=ctx.config.ip_addr,
        tls_hash=ctx.tls.fingerprint,
        client_cert=cert_pem,
        client_cert_expires_at=fmt_ts(to_us(not_after)),
        heartbeat_interval_s=interval,
        heartbeat_misses=ctx.config.heartbeat_misses,
        hello_timeout_s=2 * interval,
        accept_timeout_s=2 * interval,
        job_timeout_grace_s=ctx.config.job_timeout_grace,
        max_message_bytes=ctx.config.max_message_size,
        event_rate_limit=ctx.config.event_rate_limit,
        max_attempts=qpu.max_attempts if qpu.max_attempts is not None else ctx.config.max_attempts,
        on_driver_loss=resolve_on_driver_loss(qpu.on_driver_loss, ctx.settings.on_driver_loss, simulator),
        max_held_per_worker=link.max_held_per_worker,
        nng_command_port=link.port if alias else None,
        nng_result_port=link.port if alias else None,
    )


@post(
    "/api/op/drivers/connect",
    operation_id="connectDriver",
    tags=["drivers"],
    status_code=200,
    summary="A driver's handshake: CSR in, client certificate and link parameters out",
    responses=errors(400, 403, 409, 503),
    security=[],
)
async def connect_driver(request: Request[Any, Any, State], data: JSONBody[ConnectIn]) -> ConnectOut:
    return await connect(ctx_of(request), request, data, alias=False)


@post(
    "/api/op/qpus/connect",
    operation_id="connectQpu",
    tags=["drivers"],
    status_code=200,
    summary="Alias of /api/op/drivers/connect for upstream drivers",
    responses=errors(400, 403, 409, 503),
    security=[],
)
async def connect_qpu(request: Request[Any, Any, State], data: JSONBody[ConnectIn]) -> ConnectOut:
    return await connect(ctx_of(request), request, data, alias=True)


ROUTES = [connect_driver, connect_qpu]
