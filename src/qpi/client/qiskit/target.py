"""A Qiskit ``Target`` from the device description a QPU's driver reported (``executors.md`` §5).

Each basis gate goes through Qiskit's standard gate name mapping (parametric gates keep their
``Parameter``); unknown names are skipped with a warning. 1-qubit gates go on every qubit,
2-qubit gates on every directed edge of the coupling map (every ordered pair when there is none),
``measure`` on every qubit. Durations and errors come from the reported instructions and qubits.
Without any device description (an old driver), the fallback is ``rz, sx, x, cx, measure,
reset, delay`` on all pairs.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING

from qiskit.circuit import IfElseOp, SwitchCaseOp, WhileLoopOp
from qiskit.circuit.controlflow import BreakLoopOp, ContinueLoopOp, ForLoopOp
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers import QubitProperties
from qiskit.transpiler import InstructionProperties, Target

if TYPE_CHECKING:
    from qpi.client.models import DeviceInfo

__all__ = ["FALLBACK_BASIS", "build_target"]

logger = logging.getLogger(__name__)

FALLBACK_BASIS = ("rz", "sx", "x", "cx", "measure", "reset", "delay")
_CONTROL_FLOW = {
    "if_else": IfElseOp,
    "while_loop": WhileLoopOp,
    "for_loop": ForLoopOp,
    "switch_case": SwitchCaseOp,
    "break_loop": BreakLoopOp,
    "continue_loop": ContinueLoopOp,
}

Props = dict[tuple[int, ...], InstructionProperties | None]


def _known(device: DeviceInfo) -> dict[tuple[str, tuple[int, ...]], InstructionProperties]:
    out = {}
    for gate in device.instructions:
        out[(gate.name, tuple(gate.qubits))] = InstructionProperties(duration=gate.duration_s, error=gate.error)
    return out


def _measure_props(
    device: DeviceInfo | None, n: int, known: dict[tuple[str, tuple[int, ...]], InstructionProperties]
) -> Props:
    props: Props = {}
    for q in range(n):
        reported = known.get(("measure", (q,)))
        qubit = device.qubits[q] if device is not None and q < len(device.qubits) else None
        if (
            reported is None
            and qubit is not None
            and (qubit.readout_error is not None or qubit.readout_duration_s is not None)
        ):
            reported = InstructionProperties(duration=qubit.readout_duration_s, error=qubit.readout_error)
        props[(q,)] = reported
    return props


def _qubit_properties(device: DeviceInfo | None, n: int) -> list[QubitProperties] | None:
    if device is None or not device.qubits:
        return None
    out = []
    for q in range(n):
        p = device.qubits[q] if q < len(device.qubits) else None
        out.append(QubitProperties(t1=p.t1_s, t2=p.t2_s, frequency=p.frequency_hz) if p else QubitProperties())
    return out


def build_target(device: DeviceInfo | None, num_qubits: int | None = None, *, description: str | None = None) -> Target:
    """The Target of a QPU. ``num_qubits`` is the fallback width when ``device`` is None."""
    if device is None:
        logger.warning("the QPU reported no device description; using the fallback basis %s", ", ".join(FALLBACK_BASIS))
    n = device.num_qubits if device is not None else (num_qubits or 1)
    basis = list(device.basis_gates) if device is not None and device.basis_gates else list(FALLBACK_BASIS)
    if "measure" not in basis:
        basis.append("measure")
    edges = (
        [tuple(edge) for edge in device.coupling_map]
        if device is not None and device.coupling_map is not None
        else list(itertools.permutations(range(n), 2))
    )
    known = _known(device) if device is not None else {}
    target = Target(
        description=description,
        num_qubits=n,
        dt=device.dt if device is not None else None,
        qubit_properties=_qubit_properties(device, n),
    )
    mapping = get_standard_gate_name_mapping()
    for name in dict.fromkeys(basis):
        gate = mapping.get(name)
        if gate is None:
            if name not in _CONTROL_FLOW:
                logger.warning("basis gate %r is not a Qiskit standard gate; it is left out of the Target", name)
            continue
        if name == "measure":
            target.add_instruction(gate, _measure_props(device, n, known))
        elif gate.num_qubits == 1:
            target.add_instruction(gate, {(q,): known.get((name, (q,))) for q in range(n)})
        elif gate.num_qubits == 2:
            target.add_instruction(gate, {edge: known.get((name, edge)) for edge in edges})
        else:
            logger.debug("basis gate %r acts on %d qubits; the transpiler decomposes it", name, gate.num_qubits)
    if device is not None and device.supports_control_flow:
        for name, op in _CONTROL_FLOW.items():
            target.add_instruction(op, name=name)
    return target
