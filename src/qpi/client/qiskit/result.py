"""``JobResult`` → ``qiskit.result.Result`` (``client-and-cli.md`` §2.5).

Counts and level-2 memory go to Qiskit's internal hex form, so ``get_counts()`` and
``get_memory()`` re-expand them to full width with the register spacing of ``creg_sizes``.
Level 1/0 memory stays as ``[I, Q]`` pairs (``get_memory()`` returns complex arrays). Every
experiment gets a header: the server's, else one rebuilt from the circuit submitted in this
process, else one derived from the key width — never an empty one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qpi.client.models import CircuitResult, JobResult

__all__ = ["circuit_header", "to_qiskit_result"]


def circuit_header(circuit: QuantumCircuit, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The experiment header Qiskit's simulators write for ``circuit``."""
    clbit_labels = []
    for bit in circuit.clbits:
        location = circuit.find_bit(bit)
        register, index = location.registers[0] if location.registers else (None, location.index)
        clbit_labels.append([register.name if register is not None else "c", index])
    qubit_labels = []
    for bit in circuit.qubits:
        location = circuit.find_bit(bit)
        register, index = location.registers[0] if location.registers else (None, location.index)
        qubit_labels.append([register.name if register is not None else "q", index])
    return {
        "name": circuit.name,
        "n_qubits": circuit.num_qubits,
        "memory_slots": circuit.num_clbits,
        "creg_sizes": [[reg.name, reg.size] for reg in circuit.cregs],
        "qreg_sizes": [[reg.name, reg.size] for reg in circuit.qregs],
        "clbit_labels": clbit_labels,
        "qubit_labels": qubit_labels,
        "metadata": dict(metadata or {}),
    }


def _to_hex(key: str) -> str:
    return hex(int(key.replace(" ", "") or "0", 2))


def _header(experiment: CircuitResult, circuit: QuantumCircuit | None, name: str | None) -> dict[str, Any]:
    server = experiment.header
    if server.memory_slots or server.creg_sizes:
        header: dict[str, Any] = {
            "name": server.name or experiment.name,
            "n_qubits": server.n_qubits,
            "memory_slots": server.memory_slots,
            "creg_sizes": [list(c) for c in server.creg_sizes],
            "qreg_sizes": [list(q) for q in server.qreg_sizes],
            "clbit_labels": [list(c) for c in server.clbit_labels],
            "qubit_labels": [list(q) for q in server.qubit_labels],
            "metadata": dict(server.metadata),
        }
    elif circuit is not None:
        header = circuit_header(circuit, dict(server.metadata))
    else:
        width = experiment.num_clbits
        header = {
            "name": experiment.name,
            "memory_slots": width,
            "creg_sizes": [["c", width]] if width else [],
            "metadata": dict(server.metadata),
        }
    if name is not None:
        header["name"] = name
    return {k: v for k, v in header.items() if v is not None}


def _experiment(experiment: CircuitResult, circuit: QuantumCircuit | None, name: str | None) -> ExperimentResult:
    data: dict[str, Any] = {}
    if experiment.meas_level == 2:
        data["counts"] = {_to_hex(k): v for k, v in experiment.counts.items()}
        if experiment.memory is not None:
            data["memory"] = [_to_hex(str(k)) for k in experiment.memory]
    elif experiment.memory is not None:
        data["memory"] = experiment.memory
    extra: dict[str, Any] = {}
    if experiment.time_taken is not None:
        extra["time_taken"] = experiment.time_taken
    return ExperimentResult(
        shots=experiment.shots,
        success=experiment.success,
        data=ExperimentResultData(**data),
        meas_level=experiment.meas_level,
        status=experiment.status,
        seed=experiment.seed_simulator,
        meas_return=experiment.meas_return,
        header=_header(experiment, circuit, name),
        **extra,
    )


def to_qiskit_result(
    result: JobResult,
    circuits: Sequence[QuantumCircuit | None] | None = None,
    names: Sequence[str | None] | None = None,
) -> Result:
    """``circuits``/``names``: the experiments as submitted in this process, if known."""
    experiments = []
    for i, experiment in enumerate(result.results):
        circuit = circuits[i] if circuits is not None and i < len(circuits) else None
        name = names[i] if names is not None and i < len(names) else None
        experiments.append(_experiment(experiment, circuit, name))
    success = result.success and all(e.success for e in result.results)
    timings = result.timings
    return Result(
        backend_name=result.backend_name,
        backend_version=result.backend_version,
        job_id=result.job_id,
        qobj_id=result.job_id,
        success=success,
        results=experiments,
        date=result.date.isoformat() if result.date is not None else None,
        status=result.status if success else (result.error or result.status or "ERROR"),
        header={"backend_name": result.backend_name},
        time_taken=timings.execution_s if timings is not None else None,
    )
