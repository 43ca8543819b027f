"""Transpiling to the native gate set and the device's coupling map (E-3.5).

The Qiskit ``Target`` holds the ``basis`` option's gates (plus ``measure``, ``reset``, ``delay``);
two-qubit gates are allowed on both directions of every declared edge (CZ is symmetric). The pass
manager is built once per executor and reused for every circuit. ``layout_method=trivial`` keeps
virtual qubit ``i`` on element ``q<i>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from qiskit.circuit import QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.transpiler import Target, TranspilerError, generate_preset_pass_manager

from qpi.errors import ExecutionError

__all__ = ["NativeTranspiler", "build_target"]

DT_S = 1e-9


def build_target(num_qubits: int, basis: Sequence[str], coupling: Sequence[tuple[int, int]]) -> Target:
    """A Target with ``basis`` (+ measure, reset, delay) on ``num_qubits`` and ``coupling`` pairs."""
    gates = get_standard_gate_name_mapping()
    target = Target(num_qubits=num_qubits, dt=DT_S)
    singles = {(q,): None for q in range(num_qubits)}
    pairs = {tuple(pair): None for pair in coupling}
    for name in (*basis, "measure", "reset", "delay"):
        gate = gates[name]
        if gate.num_qubits == 1:
            target.add_instruction(gate, dict(singles))
        elif gate.num_qubits == 2 and pairs:
            target.add_instruction(gate, dict(pairs))
    return target


class NativeTranspiler:
    """A preset pass manager for one device, built once and reused (E-3.5)."""

    def __init__(
        self,
        num_qubits: int,
        basis: Sequence[str],
        coupling: Sequence[tuple[int, int]],
        *,
        layout_method: str = "trivial",
        optimization_level: int = 1,
        seed_transpiler: int = 0,
    ) -> None:
        self.target = build_target(num_qubits, basis, coupling)
        self._basis = ", ".join(basis)
        self._pass_manager = generate_preset_pass_manager(
            optimization_level=optimization_level,
            target=self.target,
            layout_method=layout_method,
            seed_transpiler=seed_transpiler,
        )

    def run(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """``circuit`` in native gates on physical qubits (index = element ``q<i>``)."""
        try:
            result = self._pass_manager.run(circuit)
        except TranspilerError as exc:
            raise ExecutionError(
                f"transpiling to the native gates ({self._basis}) and the device's coupling map failed: {exc}"
            ) from exc
        assert isinstance(result, QuantumCircuit)
        return result
