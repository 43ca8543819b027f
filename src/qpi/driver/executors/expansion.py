"""From a job payload to the list of experiments to run (``executors.md`` §4, E-4.5 … E-4.9).

Shared by every built-in executor. Per circuit: shots (the circuit's, else the job's; 1..``max_shots``),
parse (:mod:`qpi.qasm`), classical bits (``no_measurements``), width against the device
(``too_many_qubits``, before transpiling), control flow (``unsupported_feature`` unless the executor
supports it); then the binding sets expand the circuit into experiments, circuit by circuit, set by
set, named ``<name>`` or ``<name>[<k>]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qpi import qasm
from qpi.errors import NoMeasurements, PayloadError, TooManyQubits, UnsupportedFeature
from qpi.protocol.payload import CircuitPayload, JobPayload

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

__all__ = ["Experiment", "expand_payload"]


@dataclass(frozen=True)
class Experiment:
    """One experiment: a bound circuit and where it came from."""

    index: int
    circuit_index: int
    circuit: QuantumCircuit
    name: str
    shots: int
    parameter_set: int | None
    parameter_values: tuple[float, ...]


def _checked_circuit(
    index: int, entry: CircuitPayload, *, num_qubits: int, executor: str, control_flow: bool
) -> QuantumCircuit:
    circuit = qasm.parse(entry.circuit, circuit_index=index)
    if circuit.num_clbits == 0:
        raise NoMeasurements(
            f"circuit {index} has no classical bits, so there is nothing to measure into",
            circuit_index=index,
        )
    if circuit.num_qubits > num_qubits:
        raise TooManyQubits(
            f"circuit {index} uses {circuit.num_qubits} qubits but this device has {num_qubits}",
            circuit_index=index,
        )
    if not control_flow and circuit.has_control_flow_op():
        raise UnsupportedFeature(
            f"circuit {index} uses classical control flow, which the {executor} executor does not "
            "support; use qiskit_aer",
            circuit_index=index,
        )
    return circuit


def expand_payload(
    payload: JobPayload,
    *,
    max_shots: int,
    max_circuits: int,
    num_qubits: int,
    executor: str,
    control_flow: bool = False,
) -> list[Experiment]:
    """Every experiment of ``payload`` in expansion order; payload problems raise QPIErrors.

    ``executor`` names the executor kind in messages; ``control_flow`` says whether it runs circuits with
    classical control flow (E-4.8).
    """
    if not 1 <= payload.shots <= max_shots:
        raise PayloadError(f"shots must be between 1 and {max_shots}, not {payload.shots}")
    if not payload.circuits:
        raise PayloadError("the job has no circuits")
    experiments: list[Experiment] = []
    for index, entry in enumerate(payload.circuits):
        shots = entry.shots if entry.shots is not None else payload.shots
        if not 1 <= shots <= max_shots:
            raise PayloadError(
                f"circuits[{index}].shots must be between 1 and {max_shots}, not {shots}",
                circuit_index=index,
            )
        circuit = _checked_circuit(index, entry, num_qubits=num_qubits, executor=executor, control_flow=control_flow)
        name = entry.name or f"circuit-{index}"
        for bound in qasm.bind_parameter_sets(circuit, entry.parameter_values, circuit_index=index, name=name):
            experiments.append(
                Experiment(
                    index=len(experiments),
                    circuit_index=index,
                    circuit=bound.circuit,
                    name=bound.circuit.name,
                    shots=shots,
                    parameter_set=bound.parameter_index,
                    parameter_values=tuple(bound.parameter_values or ()),
                )
            )
    if len(experiments) > max_circuits:
        raise PayloadError(f"the job expands to {len(experiments)} experiments; at most {max_circuits} are accepted")
    return experiments
