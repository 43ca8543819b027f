"""Virtual Z rotations tracked in software (frame tracking), for both hardware executors.

Neither library's own virtual-Z operations can be trusted on the drive line:

- quantify-scheduler 0.28 compiles ``Rz(θ)`` (and ``Z``, ``S``, ``T``, …) to an NCO phase shift
  of ``+θ``; with its own ``Rxy`` convention a pulse after a phase shift of ``+θ`` realises
  ``Rz(-θ)``. (qblox-scheduler negates the shift for this reason; its source says so.)
- qblox-scheduler 1.0.1 treats NCO phase shifts as a "background" that it undoes before every
  DRAG pulse (``_wrap_pulses_with_phase_updates``), so a shift has no effect on later pulses.

So the executors never emit a virtual Z. For each qubit a frame angle ``f`` (degrees) is kept:
``Rz(λ)`` adds ``λ`` to it and emits nothing; a pulse ``Rxy(θ, φ)`` is played as
``Rxy(θ, φ - f)``. This is exact: ``Rxy(θ, φ)·Rz(f) = Rz(f)·Rxy(θ, φ - f)``, and CZ,
measurements and resets commute with the pending ``Rz(f)``, so the device realises
``Rz(f_end)·U`` and the trailing Z rotations cannot change a Z-basis measurement.

The CZ's phase corrections are NCO shifts inside the library's CZ operation. quantify applies
them; qblox-scheduler undoes them before the next DRAG pulse, so for it they are folded into the
frame instead (an NCO shift of ``+p`` on later pulses is a frame change of ``-p``). Either way a
correction of ``p`` degrees in the device file means the same pulses on both executors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.gates import CZ, ConvertedCircuit, Gate, NativeOp, Rxy, Rz

__all__ = ["FramedCircuit", "track_frames"]

_VIRTUAL = {"Z": 180.0, "S": 90.0, "SDagger": -90.0, "T": 45.0, "TDagger": -45.0}
_AXIS = {"X": 0.0, "Y": 90.0}


def _wrap(angle: float) -> float:
    """An angle in degrees, in [0, 360), rounded like the libraries round phases."""
    return round(angle % 360.0, 8) % 360.0


@dataclass(frozen=True)
class FramedCircuit:
    """The circuit with virtual Zs folded into pulse phases, and the frames left at the end."""

    circuit: ConvertedCircuit
    final_frames: Mapping[int, float]


def track_frames(converted: ConvertedCircuit, spec: DeviceSpec, *, cz_corrections: bool) -> FramedCircuit:
    """Fold every virtual Z rotation of ``converted`` into the phases of later pulses.

    ``X``, ``Y`` and ``H`` become ``Rxy`` pulses (``H`` = ``Z`` then ``Ry(90)``); ``Rz`` and the
    fixed phase gates disappear. ``cz_corrections=True`` also folds each CZ's phase corrections
    (for a library that undoes NCO phase shifts before pulses).
    """
    frames: dict[int, float] = {}
    ops: list[NativeOp] = []

    def rotate(qubit: int, degrees: float) -> None:
        frames[qubit] = _wrap(frames.get(qubit, 0.0) + degrees)

    def pulse(theta: float, phi: float, qubit: int) -> None:
        ops.append(Rxy(theta, _wrap(phi - frames.get(qubit, 0.0)), qubit))

    for op in converted.ops:
        if isinstance(op, Rz):
            rotate(op.qubit, op.theta)
        elif isinstance(op, Gate) and op.name in _VIRTUAL:
            rotate(op.qubit, _VIRTUAL[op.name])
        elif isinstance(op, Gate) and op.name in _AXIS:
            pulse(180.0, _AXIS[op.name], op.qubit)
        elif isinstance(op, Gate):  # H
            rotate(op.qubit, 180.0)
            pulse(90.0, 90.0, op.qubit)
        elif isinstance(op, Rxy):
            pulse(op.theta, op.phi, op.qubit)
        else:
            ops.append(op)
            if isinstance(op, CZ) and cz_corrections:
                _fold_corrections(op, spec, rotate)
    framed = ConvertedCircuit(tuple(ops), converted.measures, converted.used_qubits)
    return FramedCircuit(framed, {q: f for q, f in sorted(frames.items()) if f})


def _fold_corrections(op: CZ, spec: DeviceSpec, rotate: Callable[[int, float], None]) -> None:
    edge = spec.edge_between(op.parent, op.child)
    if edge is None:
        return
    for qubit, key in ((op.parent, "cz.parent_phase_correction"), (op.child, "cz.child_phase_correction")):
        correction = edge.get(key)
        if isinstance(correction, float) and correction:
            rotate(qubit, -correction)
