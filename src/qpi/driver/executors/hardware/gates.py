"""The gate conversion table: Qiskit instructions → backend-neutral native operations (E-3.6).

:func:`convert_circuit` walks a (transpiled) circuit and emits :data:`NativeOp` records; a backend
adapter (:class:`~qpi.driver.executors.hardware.backend.HardwareBackend`) turns each record into
its library's operation. Angles are converted from radians to degrees; physical qubit ``p`` is
element ``q<p>``. The table (``executors.md`` §3.3):

=================  ==========================================================
``reset``          ``Reset(q)``
``x y z h``        ``X Y Z H``
``s sdg t tdg``    ``S SDagger T TDagger``
``sx`` / ``sxdg``  ``Rxy(+90, 0)`` / ``Rxy(-90, 0)``
``rx`` / ``ry``    ``Rxy(θ, 0)`` / ``Rxy(θ, 90)``
``rz``, ``p``      ``Rz(θ)`` (global phase dropped)
``u(θ, φ, λ)``     ``Rz(λ), Rxy(θ, 90), Rz(φ)``
``cx(c, t)``       ``H(t), CZ, H(t)``
``cz(a, b)``       ``CZ`` on the declared edge ``a_b`` or ``b_a``; no edge → coupling_violation
``crz(θ)``         ``Rz(θ/2)ₜ, H, CZ, H, Rz(-θ/2)ₜ, H, CZ, H``
``cp(θ)``          the ``crz(θ)`` sequence, then ``Rz(θ/2)`` on the control
``ccx``            the 6-CNOT Toffoli with T/T†
``swap``           three CNOTs
``measure``        ``Measure(q, acq_index = running count for q)``
``delay(d)``       ``Idle(d rounded to 4 ns)``; units s, ms, us, ns, ps, dt (1 ns)
``barrier``        nothing
=================  ==========================================================

The executors then fold the virtual Z rotations into the phases of later pulses
(:mod:`~qpi.driver.executors.hardware.frames`) before scheduling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from qpi.errors import CouplingViolation, UnsupportedFeature, UnsupportedGate

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from qpi.driver.executors.hardware.device_config import DeviceSpec

__all__ = [
    "CZ",
    "GRID_S",
    "SUPPORTED_GATES",
    "ConvertedCircuit",
    "Gate",
    "Idle",
    "Measure",
    "NativeOp",
    "Reset",
    "Rxy",
    "Rz",
    "convert_circuit",
    "convert_instruction",
    "delay_seconds",
]

GRID_S = 4e-9  # Qblox timing grid: delays are rounded to it

FixedGate = Literal["X", "Y", "Z", "H", "S", "SDagger", "T", "TDagger"]


@dataclass(frozen=True, slots=True)
class Gate:
    """A fixed single-qubit gate of the device's gate library."""

    name: FixedGate
    qubit: int


@dataclass(frozen=True, slots=True)
class Rxy:
    """Rotation by ``theta`` degrees about the equatorial axis at ``phi`` degrees."""

    theta: float
    phi: float
    qubit: int


@dataclass(frozen=True, slots=True)
class Rz:
    """Virtual Z rotation by ``theta`` degrees."""

    theta: float
    qubit: int


@dataclass(frozen=True, slots=True)
class CZ:
    """CZ on the declared edge ``q<parent>_q<child>``."""

    parent: int
    child: int


@dataclass(frozen=True, slots=True)
class Reset:
    qubits: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Measure:
    """Measurement of ``qubit`` into ``clbit``; ``acq_index`` counts the qubit's measurements.

    ``discard`` marks a measurement whose data is not read (the other measurements of a level-0
    pass, :func:`~qpi.driver.executors.hardware.schedule.trace_passes`): it acquires on a channel of
    its own, with its own ``acq_index`` count.
    """

    qubit: int
    clbit: int
    acq_index: int
    discard: bool = False


@dataclass(frozen=True, slots=True)
class Idle:
    duration: float


NativeOp = Gate | Rxy | Rz | CZ | Reset | Measure | Idle

_FIXED: dict[str, FixedGate] = {
    "x": "X",
    "y": "Y",
    "z": "Z",
    "h": "H",
    "s": "S",
    "sdg": "SDagger",
    "t": "T",
    "tdg": "TDagger",
}

SUPPORTED_GATES: tuple[str, ...] = (
    "reset",
    "x",
    "y",
    "z",
    "h",
    "s",
    "sdg",
    "t",
    "tdg",
    "sx",
    "sxdg",
    "rx",
    "ry",
    "rz",
    "p",
    "u",
    "cx",
    "cz",
    "crz",
    "cp",
    "ccx",
    "swap",
    "measure",
    "delay",
    "barrier",
)

_UNIT_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12, "dt": 1e-9}


@dataclass(frozen=True)
class ConvertedCircuit:
    """The native operations of one circuit, its measurements and the qubits it uses."""

    ops: tuple[NativeOp, ...]
    measures: tuple[Measure, ...]
    used_qubits: tuple[int, ...]


def delay_seconds(duration: float, unit: str) -> float:
    """A delay in seconds, rounded to the 4 ns grid (``dt`` is 1 ns)."""
    try:
        factor = _UNIT_S[unit]
    except KeyError:
        raise UnsupportedFeature(f"delay unit {unit!r} is not supported; use s, ms, us, ns, ps or dt") from None
    return round(float(duration) * factor / GRID_S) * GRID_S


def _deg(radians: float) -> float:
    return math.degrees(float(radians))


class _Emitter:
    """Expands one instruction; ``cz`` resolves the edge through ``edge_of``."""

    def __init__(self, edge_of: Callable[[int, int], CZ]) -> None:
        self.edge_of = edge_of

    def cnot(self, control: int, target: int) -> list[NativeOp]:
        return [Gate("H", target), self.edge_of(control, target), Gate("H", target)]

    def crz(self, theta_deg: float, control: int, target: int) -> list[NativeOp]:
        return [
            Rz(theta_deg / 2, target),
            *self.cnot(control, target),
            Rz(-theta_deg / 2, target),
            *self.cnot(control, target),
        ]

    def toffoli(self, a: int, b: int, t: int) -> list[NativeOp]:
        return [
            Gate("H", t),
            *self.cnot(b, t),
            Gate("TDagger", t),
            *self.cnot(a, t),
            Gate("T", t),
            *self.cnot(b, t),
            Gate("TDagger", t),
            *self.cnot(a, t),
            Gate("T", b),
            Gate("T", t),
            Gate("H", t),
            *self.cnot(a, b),
            Gate("T", a),
            Gate("TDagger", b),
            *self.cnot(a, b),
        ]


def convert_instruction(
    name: str,
    qubits: Sequence[int],
    params: Sequence[float],
    edge_of: Callable[[int, int], CZ],
    *,
    executor: str,
) -> list[NativeOp]:
    """The native operations of one gate (not ``measure``/``delay``/``barrier``; see the table)."""
    emit = _Emitter(edge_of)
    q = list(qubits)
    if name in _FIXED:
        return [Gate(_FIXED[name], q[0])]
    if name == "reset":
        return [Reset((q[0],))]
    if name == "sx":
        return [Rxy(90.0, 0.0, q[0])]
    if name == "sxdg":
        return [Rxy(-90.0, 0.0, q[0])]
    if name == "rx":
        return [Rxy(_deg(params[0]), 0.0, q[0])]
    if name == "ry":
        return [Rxy(_deg(params[0]), 90.0, q[0])]
    if name in {"rz", "p"}:
        return [Rz(_deg(params[0]), q[0])]
    if name == "u":
        theta, phi, lam = (_deg(p) for p in params)
        return [Rz(lam, q[0]), Rxy(theta, 90.0, q[0]), Rz(phi, q[0])]
    if name == "cx":
        return emit.cnot(q[0], q[1])
    if name == "cz":
        return [edge_of(q[0], q[1])]
    if name == "crz":
        return emit.crz(_deg(params[0]), q[0], q[1])
    if name == "cp":
        theta = _deg(params[0])
        return [*emit.crz(theta, q[0], q[1]), Rz(theta / 2, q[0])]
    if name == "ccx":
        return emit.toffoli(q[0], q[1], q[2])
    if name == "swap":
        return [*emit.cnot(q[0], q[1]), *emit.cnot(q[1], q[0]), *emit.cnot(q[0], q[1])]
    raise UnsupportedGate(
        f"gate '{name}' is not supported by the {executor} executor; supported: {', '.join(SUPPORTED_GATES)}"
    )


def _edge_resolver(spec: DeviceSpec) -> Callable[[int, int], CZ]:
    declared = ", ".join(edge.name for edge in spec.edges) or "none"

    def edge_of(a: int, b: int) -> CZ:
        edge = spec.edge_between(a, b)
        if edge is None:
            raise CouplingViolation(
                f"cz between q{a} and q{b}: the device has no edge joining them (declared edges: {declared})"
            )
        return CZ(int(edge.parent[1:]), int(edge.child[1:]))

    return edge_of


def _float_params(name: str, params: Sequence[object]) -> list[float]:
    values: list[float] = []
    for param in params:
        try:
            values.append(float(param))  # type: ignore[arg-type]
        except TypeError as exc:
            raise UnsupportedFeature(f"gate '{name}' has an unbound parameter {param}") from exc
    return values


def convert_circuit(circuit: QuantumCircuit, spec: DeviceSpec, *, executor: str) -> ConvertedCircuit:
    """Convert every instruction of ``circuit`` (qubit index = physical qubit) in circuit order."""
    edge_of = _edge_resolver(spec)
    ops: list[NativeOp] = []
    measures: list[Measure] = []
    counts: dict[int, int] = {}
    used: set[int] = set()
    for instruction in circuit.data:
        operation = instruction.operation
        name = operation.name
        qubits = [circuit.find_bit(qubit).index for qubit in instruction.qubits]
        if getattr(operation, "blocks", None):
            raise UnsupportedFeature(f"classical control flow ('{name}') is not supported by the {executor} executor")
        if name == "barrier":
            continue
        used.update(qubits)
        if name == "measure":
            clbit = circuit.find_bit(instruction.clbits[0]).index
            measure = Measure(qubits[0], clbit, counts.get(qubits[0], 0))
            counts[qubits[0]] = measure.acq_index + 1
            ops.append(measure)
            measures.append(measure)
        elif name == "delay":
            seconds = delay_seconds(_float_params(name, operation.params)[0], str(operation.unit))
            if seconds > 0:
                ops.append(Idle(seconds))
        else:
            params = _float_params(name, operation.params)
            ops.extend(convert_instruction(name, qubits, params, edge_of, executor=executor))
    return ConvertedCircuit(tuple(ops), tuple(measures), tuple(sorted(used)))
