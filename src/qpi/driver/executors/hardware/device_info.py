"""``DeviceInfo`` of a hardware executor, from the device config (``executors.md`` §5).

``num_qubits`` is the number of ``q<i>`` elements; ``basis_gates`` the ``basis`` option plus
``measure``, ``reset`` and ``delay``; ``coupling_map`` both directions of every edge. Durations
come from the device config: single-qubit pulses ``rxy.duration`` (virtual Z gates take no time),
CZ ``square_duration``, readout ``acq_delay + integration_time``, reset ``reset.duration``.
``frequency_hz`` is ``clock_freqs.f01``; T1/T2 and gate errors are unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib import metadata

from qpi.driver.executors.hardware.device_config import DeviceSpec, QubitSpec
from qpi.protocol.payload import DeviceInfo, InstructionProps, QubitProps

__all__ = ["build_device_info", "gate_duration", "library_versions"]

_VIRTUAL = {"rz", "z", "s", "sdg", "t", "tdg", "p"}
_PULSED = {"x", "y", "sx", "sxdg", "rx", "ry", "h"}
# two-qubit gates as (pulses on the target, CZs)
_TWO_QUBIT = {"cz": (0, 1), "cx": (2, 1), "crz": (4, 2), "cp": (4, 2), "swap": (6, 3)}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def gate_duration(name: str, qubits: Sequence[int], spec: DeviceSpec) -> float | None:
    """Duration in seconds of one native gate on ``qubits``, when the device config says."""
    if name in _VIRTUAL:
        return 0.0
    if name in _PULSED or name == "u":
        return _finite(spec.qubits[qubits[0]].number("rxy.duration"))
    if name == "measure":
        return _finite(spec.qubits[qubits[0]].readout_duration)
    if name == "reset":
        return _finite(spec.qubits[qubits[0]].number("reset.duration"))
    if name in _TWO_QUBIT:
        edge = spec.edge_between(qubits[0], qubits[1])
        if edge is None:
            return None
        pulses, czs = _TWO_QUBIT[name]
        return _finite(
            pulses * spec.qubits[qubits[-1]].number("rxy.duration") + czs * edge.number("cz.square_duration")
        )
    return None


def _qubit_props(qubit: QubitSpec) -> QubitProps:
    return QubitProps(
        frequency_hz=_finite(qubit.number("clock_freqs.f01")),
        readout_duration_s=_finite(qubit.readout_duration),
    )


def library_versions(distributions: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``distributions`` (without importing them)."""
    versions: dict[str, str] = {}
    for name in ("qpi", "qiskit", *distributions):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def build_device_info(
    spec: DeviceSpec,
    *,
    executor: str,
    backend_name: str,
    basis: Sequence[str],
    max_shots: int,
    max_circuits: int,
    versions: Mapping[str, str],
) -> DeviceInfo:
    """The :class:`DeviceInfo` of a hardware device described by ``spec``."""
    pairs = spec.coupling_map()
    instructions: list[InstructionProps] = []
    for name in (*basis, "measure", "reset"):
        qargs: list[tuple[int, ...]] = list(pairs) if name in _TWO_QUBIT else [(qubit.index,) for qubit in spec.qubits]
        for qubits in qargs:
            duration = gate_duration(name, qubits, spec)
            if duration is not None:
                instructions.append(InstructionProps(name=name, qubits=list(qubits), duration_s=duration))
    return DeviceInfo(
        executor=executor,
        backend_name=backend_name,
        simulator=False,
        num_qubits=spec.num_qubits,
        basis_gates=[*basis, "measure", "reset", "delay"],
        qubit_labels=[qubit.name for qubit in spec.qubits],
        coupling_map=pairs,
        instructions=instructions,
        qubits=[_qubit_props(qubit) for qubit in spec.qubits],
        dt=1e-9,
        max_shots=max_shots,
        max_circuits=max_circuits,
        meas_levels=[0, 1, 2],
        meas_returns=["single", "avg"],
        supports_memory=True,
        supports_control_flow=False,
        calibrated_at=spec.modified_at,
        versions=dict(versions),
    )
