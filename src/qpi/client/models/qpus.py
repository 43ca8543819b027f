"""QPUs and their device description (``api.md`` §2.4, ``executors.md`` §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from qpi.client.models._base import Model, convert, obj

__all__ = ["QPU", "DeviceInfo", "GateProps", "QubitProps", "Slot", "qpu_from_api"]


class GateProps(Model, frozen=True, kw_only=True):
    name: str
    qubits: list[int] = []
    duration_s: float | None = None
    error: float | None = None


class QubitProps(Model, frozen=True, kw_only=True):
    t1_s: float | None = None
    t2_s: float | None = None
    frequency_hz: float | None = None
    readout_error: float | None = None
    readout_duration_s: float | None = None


class DeviceInfo(Model, frozen=True, kw_only=True):
    """What the QPU's driver reported about the device; the Qiskit Target is built from it."""

    executor: str = ""
    backend_name: str = ""
    simulator: bool = False
    num_qubits: int
    qubit_labels: list[str] = []
    basis_gates: list[str] = []
    coupling_map: list[tuple[int, int]] | None = None
    instructions: list[GateProps] = []
    qubits: list[QubitProps] = []
    dt: float | None = None
    max_shots: int | None = None
    max_circuits: int | None = None
    meas_levels: list[int] = msgspec.field(default_factory=lambda: [2])
    meas_returns: list[str] = msgspec.field(default_factory=lambda: ["single", "avg"])
    supports_memory: bool = True
    supports_control_flow: bool = False
    calibrated_at: datetime | None = None
    reported_at: datetime | None = None
    versions: dict[str, str] = {}


class Slot(Model, frozen=True, kw_only=True):
    """The booking in force on a QPU."""

    id: str
    user_name: str = ""
    start: datetime | None = None
    until: datetime | None = None
    mine: bool = False


class QPU(Model, frozen=True, kw_only=True):
    """A QPU as listed; the detail fields (``device``, limits) are set by ``qpus.get()``."""

    id: str
    name: str
    description: str = ""
    status: str
    enabled: bool = True
    num_qubits: int | None = None
    executor: str | None = None
    drivers_online: int = 0
    pending_jobs: int = 0
    running_jobs: int = 0
    slot: Slot | None = None
    last_seen: datetime | None = None
    created: datetime | None = None
    # detail reads only
    bookable: bool | None = None
    max_shots: int | None = None
    max_circuits: int | None = None
    max_concurrent: int | None = None
    job_timeout_s: float | None = None
    max_attempts: int | None = None
    on_driver_loss: str | None = None
    device: DeviceInfo | None = None

    @property
    def online(self) -> bool:
        return self.status == "online"


def _slot(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not raw.get("id"):
        return None
    return {
        "id": raw["id"],
        "user_name": raw.get("user_name") or "",
        "start": raw.get("start_time"),
        "until": raw.get("end_time"),
        "mine": bool(raw.get("mine", False)),
    }


def qpu_from_api(raw: dict[str, Any]) -> QPU:
    """The server's QPU (list object or ``QPUDetail``) → :class:`QPU`."""
    queue = obj(raw.get("queue"))
    limits = obj(raw.get("limits"))
    device = raw.get("device_info") if isinstance(raw.get("device_info"), dict) else None
    shaped: dict[str, Any] = {
        "id": raw["id"],
        "name": raw["name"],
        "description": raw.get("description") or "",
        "status": raw.get("status") or "offline",
        "enabled": bool(raw.get("enabled", True)),
        "num_qubits": raw.get("num_qubits"),
        "executor": raw.get("executor"),
        "drivers_online": raw.get("drivers_online") or 0,
        "pending_jobs": queue.get("pending") or 0,
        "running_jobs": queue.get("running") or 0,
        "slot": _slot(raw.get("current_booking")),
        "last_seen": raw.get("last_seen"),
        "created": raw.get("created"),
        "bookable": raw.get("bookable"),
        "max_shots": limits.get("max_shots"),
        "max_circuits": limits.get("max_circuits"),
        "max_concurrent": limits.get("max_concurrent"),
        "job_timeout_s": limits.get("job_timeout_s"),
        "max_attempts": limits.get("max_attempts"),
        "on_driver_loss": raw.get("on_driver_loss"),
        "device": device,
    }
    return convert(QPU, shaped, raw)
