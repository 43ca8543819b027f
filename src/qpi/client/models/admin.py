"""Driver records and telemetry, for superusers (``api.md`` §2.5, §2.11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qpi.client.models._base import Model
from qpi.client.models.scheduling import QpuRef

__all__ = ["Driver", "DriverToken", "NewDriver", "Reported", "Snippets", "TelemetrySeries"]


class Reported(Model, frozen=True, kw_only=True):
    name: str = ""
    host: str = ""
    version: str = ""
    executor: str = ""
    workers: int = 0


class Snippets(Model, frozen=True, kw_only=True):
    systemd: str | None = None
    manual_cli: str | None = None
    install: str | None = None
    stub: str | None = None


class Driver(Model, frozen=True, kw_only=True):
    id: str
    name: str
    qpu: QpuRef | None = None
    kind: str
    role: str = "process"
    status: str = "offline"
    enabled: bool = True
    token_prefix: str = ""
    last_seen: datetime | None = None
    connected_at: datetime | None = None
    reported: Reported = Reported()
    created: datetime | None = None


class NewDriver(Driver, frozen=True, kw_only=True):
    """A driver just registered: ``token`` is shown once; ``snippets`` start it."""

    token: str = ""
    ca_fingerprint: str | None = None
    qpi_addr: str = ""
    driver_version: str = ""
    snippets: Snippets | None = None

    def __repr__(self) -> str:
        return f"NewDriver(id={self.id!r}, name={self.name!r}, kind={self.kind!r}, token='{self.token[:12]}…')"


class DriverToken(Model, frozen=True, kw_only=True):
    """A rotated driver token (``POST /api/drivers/{id}/rotate-token``)."""

    id: str
    token: str
    ca_fingerprint: str | None = None
    snippets: Snippets | None = None

    def __repr__(self) -> str:
        return f"DriverToken(id={self.id!r}, token='{self.token[:12]}…')"


class TelemetrySeries(Model, frozen=True, kw_only=True):
    qpu: str | None = None
    driver: str | None = None
    channel: str
    unit: str | None = None
    points: list[tuple[datetime, Any]] = []
