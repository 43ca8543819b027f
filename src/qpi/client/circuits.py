"""Turning what callers pass to ``jobs.submit`` into the ``circuits`` of a submission (``api.md`` §3.1).

Accepted, alone or in a list (mixing allowed): OpenQASM 2/3 text (``str``), a file
(``os.PathLike``, named after its stem), :class:`~qpi.client.models.Circuit`, an upstream-style
dict ``{"circuit": …, "parameter_values": …, "shots": …, "name": …}``, or a Qiskit
``QuantumCircuit`` (serialised with ``qiskit.qasm3.dumps``, its name kept; qiskit is imported
only when such a circuit is given). Everything is checked locally first: a problem raises
:class:`~qpi.errors.InvalidInputError` before any request.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qpi.client.models import Circuit
from qpi.errors import InvalidInputError

__all__ = ["CircuitInput", "circuit_entries", "is_quantum_circuit"]

CircuitInput = Any  # str | os.PathLike[str] | Circuit | Mapping[str, Any] | QuantumCircuit, or a list of them

_DICT_KEYS = frozenset({"circuit", "parameter_values", "shots", "name"})


def is_quantum_circuit(value: object) -> bool:
    """True for a Qiskit ``QuantumCircuit``, without importing qiskit."""
    return any(cls.__name__ == "QuantumCircuit" and cls.__module__.startswith("qiskit") for cls in type(value).__mro__)


def _values(raw: object, where: str) -> list[list[float]]:
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise InvalidInputError(f"{where}.parameter_values must be a list of value lists")
    sets: list[list[float]] = []
    for i, row in enumerate(raw):
        if not isinstance(row, Sequence) or isinstance(row, str | bytes):
            raise InvalidInputError(f"{where}.parameter_values[{i}] must be a list of numbers")
        values = []
        for value in row:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
                raise InvalidInputError(f"{where}.parameter_values[{i}] holds {value!r}, not a finite number")
            values.append(float(value))
        sets.append(values)
    return sets


def _entry(qasm: object, name: object, values: object, shots: object, where: str) -> dict[str, Any]:
    if not isinstance(qasm, str) or not qasm.strip():
        raise InvalidInputError(f"{where} has no OpenQASM source")
    entry: dict[str, Any] = {"circuit": qasm}
    if name is not None:
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise InvalidInputError(f"{where}.name must be 1 to 128 characters")
        entry["name"] = name
    if values is not None:
        entry["parameter_values"] = _values(values, where)
    if shots is not None:
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise InvalidInputError(f"{where}.shots must be a positive integer, not {shots!r}")
        entry["shots"] = shots
    return entry


def _qiskit_entry(circuit: Any, where: str) -> dict[str, Any]:
    if circuit.parameters:
        names = ", ".join(sorted(p.name for p in circuit.parameters))
        raise InvalidInputError(
            f"{where} has free parameters ({names}); bind them, or pass Circuit(qasm, parameter_values=…)"
        )
    from qiskit import qasm3

    return _entry(qasm3.dumps(circuit), circuit.name or None, None, None, where)


def _one(item: object, index: int) -> dict[str, Any]:
    where = f"circuits[{index}]"
    if isinstance(item, Circuit):
        return _entry(item.qasm, item.name, item.parameter_values, item.shots, where)
    if isinstance(item, str):
        return _entry(item, None, None, None, where)
    if isinstance(item, os.PathLike):
        path = Path(item)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{where}: cannot read {str(path)!r}: {exc}") from exc
        return _entry(text, path.stem, None, None, f"{where} ({path})")
    if isinstance(item, dict):
        unknown = sorted(set(item) - _DICT_KEYS)
        if unknown:
            raise InvalidInputError(f"{where} has unknown key {unknown[0]!r} (known: {', '.join(sorted(_DICT_KEYS))})")
        return _entry(item.get("circuit"), item.get("name"), item.get("parameter_values"), item.get("shots"), where)
    if is_quantum_circuit(item):
        return _qiskit_entry(item, where)
    raise InvalidInputError(
        f"{where} is a {type(item).__name__}; pass OpenQASM text, a file path, a Circuit, a dict or a QuantumCircuit"
    )


def circuit_entries(circuits: CircuitInput) -> list[dict[str, Any]]:
    """The ``circuits`` array of a submission."""
    items = list(circuits) if isinstance(circuits, list | tuple) else [circuits]
    if not items:
        raise InvalidInputError("give at least one circuit")
    entries = [_one(item, i) for i, item in enumerate(items)]
    names = [e["name"] for e in entries if "name" in e]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise InvalidInputError(f"circuit name {duplicate!r} is used twice; names must be unique in a job")
    return entries
