"""What ``QPIBackend.run`` sends: circuits, parameter values and names (``client-and-cli.md`` §2.3).

``parameter_values`` for ``run(qc, …)`` describes ``qc``; for a list of N circuits it is a list
of N per-circuit values. A per-circuit value is a mapping ``{Parameter or name: value}`` (one
set), a flat number sequence (one set, in ``circuit.parameters`` order), or a 2-D sequence or
array (a sweep: one experiment per row). One set is bound here; a sweep sends the circuit once,
unbound, with its rows, and the server runs one experiment per row (circuit-major).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qiskit import QuantumCircuit, qasm2, qasm3

from qpi.errors import InvalidInputError

__all__ = ["Prepared", "prepare_run"]


@dataclass
class Prepared:
    """The submission's circuits, and per experiment (as the server expands them) the circuit
    and the name as the caller knows them, for result headers."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    experiments: list[QuantumCircuit | None] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)


def _as_list(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(row: Sequence[Any], where: str) -> list[float]:
    out = []
    for value in row:
        value = _as_list(value)
        if not _is_number(value) or not math.isfinite(float(value)):
            raise InvalidInputError(f"{where}: {value!r} is not a finite number")
        out.append(float(value))
    return out


def _sets(circuit: QuantumCircuit, value: Any, where: str) -> tuple[list[list[float]] | None, dict[Any, float] | None]:
    """(sweep rows, one binding) for one circuit's ``parameter_values``."""
    params = list(circuit.parameters)
    value = _as_list(value)
    if isinstance(value, Mapping):
        by_name = {str(getattr(k, "name", k)): v for k, v in value.items()}
        missing = [p.name for p in params if p.name not in by_name]
        unknown = sorted(set(by_name) - {p.name for p in params})
        if missing or unknown:
            raise InvalidInputError(
                f"{where}: parameter values do not match the circuit's parameters "
                f"({', '.join(p.name for p in params) or 'none'}); missing {missing}, unknown {unknown}"
            )
        return None, {p: _finite([by_name[p.name]], where)[0] for p in params}
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInputError(f"{where}: parameter values must be a mapping, a list or a 2-D list")
    rows = [_as_list(v) for v in value]
    if rows and all(_is_number(v) for v in rows):
        if len(rows) != len(params):
            raise InvalidInputError(f"{where}: {len(rows)} values for {len(params)} parameters")
        return None, dict(zip(params, _finite(rows, where), strict=True))
    sweep = []
    for i, row in enumerate(rows):
        if not isinstance(row, Sequence) or len(row) != len(params):
            raise InvalidInputError(f"{where}[{i}]: expected {len(params)} values, got {row!r}")
        sweep.append(_finite(row, f"{where}[{i}]"))
    if not sweep:
        raise InvalidInputError(f"{where}: no parameter sets given")
    return sweep, None


def _from_text(text: str) -> QuantumCircuit | None:
    try:
        if text.lstrip().startswith("OPENQASM 2"):
            return qasm2.loads(text)
        return qasm3.loads(text)
    except Exception:  # the server reports syntax errors with line and column
        return None


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def prepare_run(run_input: Any, parameter_values: Any, *, num_qubits: int | None) -> Prepared:
    """Check the input locally (width, free parameters) and build the submission."""
    items = list(run_input) if isinstance(run_input, list | tuple) else [run_input]
    if not items:
        raise InvalidInputError("run() needs at least one circuit")
    if parameter_values is None:
        per_circuit: list[Any] = [None] * len(items)
    elif isinstance(run_input, list | tuple):
        per_circuit = list(_as_list(parameter_values))
        if len(per_circuit) != len(items):
            raise InvalidInputError(
                f"parameter_values has {len(per_circuit)} entries for {len(items)} circuits (one per circuit)"
            )
    else:
        per_circuit = [parameter_values]
    out = Prepared()
    taken: set[str] = set()
    for i, (item, values) in enumerate(zip(items, per_circuit, strict=True)):
        where = f"circuit {i}"
        if isinstance(item, str):
            circuit = _from_text(item)
            qasm_text: str | None = item
        elif isinstance(item, QuantumCircuit):
            circuit, qasm_text = item, None
        else:
            raise InvalidInputError(f"{where} is a {type(item).__name__}; pass a QuantumCircuit or OpenQASM text")
        if circuit is not None and num_qubits is not None and circuit.num_qubits > num_qubits:
            raise InvalidInputError(
                f"{where} ({circuit.name}) uses {circuit.num_qubits} qubits; the backend has {num_qubits}"
            )
        sweep: list[list[float]] | None = None
        if circuit is not None and values is not None:
            sweep, binding = _sets(circuit, values, f"parameter_values of {where}")
            if binding is not None:
                name = circuit.name
                circuit = circuit.assign_parameters(binding)
                circuit.name = name
                qasm_text = None
        if circuit is not None and circuit.parameters and sweep is None:
            names = ", ".join(p.name for p in circuit.parameters)
            raise InvalidInputError(f"{where} ({circuit.name}) has free parameters ({names}); give parameter_values")
        if qasm_text is None:
            assert circuit is not None
            qasm_text = qasm3.dumps(circuit)
        original = circuit.name if isinstance(item, QuantumCircuit) and circuit is not None else None
        entry: dict[str, Any] = {"circuit": qasm_text, "name": _unique(original or f"circuit-{i}", taken)}
        if sweep is not None:
            entry["parameter_values"] = sweep
        out.entries.append(entry)
        if sweep is None:
            out.experiments.append(circuit)
            out.names.append(original)
        else:
            assert circuit is not None
            params = list(circuit.parameters)
            for k, row in enumerate(sweep):
                bound = circuit.assign_parameters(dict(zip(params, row, strict=True)), inplace=False)
                bound.name = f"{entry['name']}[{k}]"
                out.experiments.append(bound)
                out.names.append(None)
    return out
