"""Request and response bodies of the driver routes (``api.md`` §2.5)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from qpi import __version__
from qpi.server.api.common import fmt_ts
from qpi.server.api.dto import QpuRef
from qpi.server.store import DriverRow
from qpi.server.store.common import json_loads

__all__ = [
    "DriverCreate",
    "DriverOut",
    "DriverPatch",
    "DriverToggle",
    "DriverToggleOut",
    "NewDriverOut",
    "Reported",
    "RotateOut",
    "Snippets",
    "driver_out",
]


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
