"""What the server and the executors need to know about a parsed circuit, computed once."""

from __future__ import annotations

from dataclasses import dataclass

from qiskit.circuit import ControlFlowOp, QuantumCircuit

__all__ = ["CircuitSummary", "circuit_summary"]


@dataclass(frozen=True, slots=True)
class CircuitSummary:
    """Shape of a circuit: widths, registers in declaration order, parameters, measurements.

    ``parameter_names`` follow ``circuit.parameters`` (Qiskit's sorted order, the binding order of
    ``executors.md`` E-4.5). ``has_measurements`` also looks inside control-flow blocks.
    """

    num_qubits: int
    num_clbits: int
    has_measurements: bool
    parameter_names: tuple[str, ...]
    has_control_flow: bool
    qregs: tuple[tuple[str, int], ...]
    cregs: tuple[tuple[str, int], ...]

    @property
    def num_parameters(self) -> int:
        return len(self.parameter_names)


def _scan(circuit: QuantumCircuit) -> tuple[bool, bool]:
    """(has a measurement, has control flow), looking into every control-flow block."""
    measured = False
    control_flow = False
    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, ControlFlowOp):
            control_flow = True
            for block in operation.blocks:
                measured = _scan(block)[0] or measured
        elif operation.name == "measure":
            measured = True
    return measured, control_flow


def circuit_summary(circuit: QuantumCircuit) -> CircuitSummary:
    """Summarise ``circuit`` (linear in its number of instructions)."""
    measured, control_flow = _scan(circuit)
    return CircuitSummary(
        num_qubits=circuit.num_qubits,
        num_clbits=circuit.num_clbits,
        has_measurements=measured,
        parameter_names=tuple(parameter.name for parameter in circuit.parameters),
        has_control_flow=control_flow,
        qregs=tuple((register.name, register.size) for register in circuit.qregs),
        cregs=tuple((register.name, register.size) for register in circuit.cregs),
    )
