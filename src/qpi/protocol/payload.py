"""Job payloads, result documents and device descriptions, typed once for server, driver and client.

These are the shapes of ``executors.md`` §1.2 (``JobPayload``), §2.3 (``ResultDoc``) and §5
(``DeviceInfo``). They travel inside the link messages of :mod:`qpi.protocol.messages` and are
stored as JSON by the server. Keep this module free of heavy imports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

__all__ = [
    "AcqOverride",
    "CircuitPayload",
    "DeviceInfo",
    "ExperimentData",
    "ExperimentHeader",
    "ExperimentMetadata",
    "ExperimentResult",
    "InstructionProps",
    "JobPayload",
    "OptionValue",
    "QubitProps",
    "ResultDoc",
]

OptionValue = str | int | float | bool


class _Frozen(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=False):
    pass


class AcqOverride(_Frozen, frozen=True):
    rotation_deg: float | None = None
    threshold: float | None = None


class CircuitPayload(_Frozen, frozen=True):
    circuit: str
    parameter_values: list[list[float]] | None = None
    shots: int | None = None
    name: str | None = None


class JobPayload(_Frozen, frozen=True):
    id: str
    circuits: list[CircuitPayload]
    shots: int = 1024
    meas_level: Literal[0, 1, 2] = 2
    meas_return: Literal["single", "avg"] = "single"
    memory: bool = False
    acq_rotation: float | None = None
    acq_threshold: float | None = None
    acq_overrides: dict[int, AcqOverride] | None = None
    seed: int | None = None
    options: dict[str, OptionValue] = {}


class ExperimentMetadata(_Frozen, frozen=True):
    circuit_index: int
    parameter_index: int | None = None
    parameter_values: list[float] | None = None


class ExperimentHeader(_Frozen, frozen=True):
    name: str
    n_qubits: int
    memory_slots: int
    creg_sizes: list[tuple[str, int]]
    qreg_sizes: list[tuple[str, int]]
    clbit_labels: list[tuple[str, int]]
    qubit_labels: list[tuple[str, int]]
    metadata: ExperimentMetadata


class ExperimentData(_Frozen, frozen=True):
    counts: dict[str, int] | None = None
    # level 2: list of keys; level 1 single: [shot][slot] = [I, Q]; avg: [slot] = [I, Q];
    # level 0 avg: [slot][sample] = [I, Q]
    memory: list[Any] | None = None


class ExperimentResult(_Frozen, frozen=True):
    shots: int
    success: bool
    header: ExperimentHeader
    data: ExperimentData
    status: str = "DONE"
    meas_level: int = 2
    meas_return: str | None = None
    seed_simulator: int | None = None
    time_taken: float = 0.0


class ResultDoc(_Frozen, frozen=True):
    """The result document a driver sends (``executors.md`` §2.3, keys not marked ◆)."""

    backend_name: str
    backend_version: str
    qobj_id: str
    job_id: str
    success: bool
    results: list[ExperimentResult]
    shots: int
    status: str = "COMPLETED"
    date: str | None = None


class InstructionProps(_Frozen, frozen=True):
    name: str
    qubits: list[int]
    duration_s: float | None = None
    error: float | None = None


class QubitProps(_Frozen, frozen=True):
    t1_s: float | None = None
    t2_s: float | None = None
    frequency_hz: float | None = None
    readout_error: float | None = None
    readout_duration_s: float | None = None


class DeviceInfo(_Frozen, frozen=True):
    executor: str
    backend_name: str
    simulator: bool
    num_qubits: int
    basis_gates: list[str]
    qubit_labels: list[str] = []
    coupling_map: list[tuple[int, int]] | None = None
    instructions: list[InstructionProps] = []
    qubits: list[QubitProps] = []
    dt: float | None = None
    max_shots: int = 100_000
    max_circuits: int = 300
    meas_levels: list[int] = msgspec.field(default_factory=lambda: [2])
    meas_returns: list[str] = msgspec.field(default_factory=lambda: ["single", "avg"])
    supports_memory: bool = True
    supports_control_flow: bool = False
    calibrated_at: datetime | None = None
    versions: dict[str, str] = {}
