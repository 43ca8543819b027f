"""Parameter binding sets and experiment expansion (``executors.md`` E-4.5, E-4.6).

A circuit with parameters runs once per binding set; each set holds exactly
``circuit.num_parameters`` finite numbers, bound in ``circuit.parameters`` order. ``None`` or ``[]``
means one run and requires a circuit without parameters; sets for a circuit without parameters
are refused. Experiments are named after the circuit, or ``<name>[<k>]`` for set ``k`` when the
circuit has more than one set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from qiskit.circuit import QuantumCircuit

from qpi.errors import PayloadError

__all__ = ["BoundExperiment", "bind_parameter_sets", "check_parameter_sets", "experiment_name"]


class BoundExperiment(NamedTuple):
    """One experiment: the bound circuit, the index of its binding set and the values bound."""

    circuit: QuantumCircuit
    parameter_index: int | None
    parameter_values: list[float] | None


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def check_parameter_sets(
    parameter_names: Sequence[str],
    sets: Sequence[Sequence[float]] | None,
    *,
    circuit_index: int = 0,
) -> None:
    """Raise :class:`PayloadError` unless ``sets`` fit a circuit with these parameters (E-4.5)."""
    count = len(parameter_names)
    listing = ", ".join(parameter_names)
    if not sets:
        if count:
            raise PayloadError(
                f"circuit {circuit_index} has {_plural(count, 'unbound parameter', 'unbound parameters')}: {listing}",
                circuit_index=circuit_index,
            )
        return
    if count == 0:
        given = _plural(len(sets), "parameter set was", "parameter sets were")
        raise PayloadError(f"circuit {circuit_index} has no parameters but {given} given", circuit_index=circuit_index)
    for set_index, values in enumerate(sets):
        if len(values) != count:
            raise PayloadError(
                f"circuit {circuit_index} parameter set {set_index} has "
                f"{_plural(len(values), 'value', 'values')} but the circuit has "
                f"{_plural(count, 'parameter', 'parameters')}: {listing}",
                circuit_index=circuit_index,
            )
        for value_index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise PayloadError(
                    f"circuit {circuit_index} parameter set {set_index} value {value_index} "
                    f"({parameter_names[value_index]}) must be a finite number, not {value!r}",
                    circuit_index=circuit_index,
                )


def experiment_name(name: str, parameter_index: int | None, num_sets: int) -> str:
    """``name``, or ``name[k]`` for binding set ``k`` of a circuit with more than one set (E-4.6)."""
    if parameter_index is None or num_sets <= 1:
        return name
    return f"{name}[{parameter_index}]"


def bind_parameter_sets(
    circuit: QuantumCircuit,
    sets: Sequence[Sequence[float]] | None,
    *,
    circuit_index: int = 0,
    name: str | None = None,
) -> list[BoundExperiment]:
    """Expand one circuit into its experiments, in binding-set order (E-4.5, E-4.6).

    Without sets the result is ``[(circuit, None, None)]``. With sets, each element holds a new
    bound circuit, the set index and the values as floats. When ``name`` is given, each circuit's
    ``name`` is set to its experiment name (a copy is made rather than renaming the input).
    """
    names = [parameter.name for parameter in circuit.parameters]
    check_parameter_sets(names, sets, circuit_index=circuit_index)
    if not sets:
        if name is not None and circuit.name != name:
            circuit = circuit.copy(name)
        return [BoundExperiment(circuit, None, None)]
    experiments: list[BoundExperiment] = []
    for index, values in enumerate(sets):
        floats = [float(value) for value in values]
        bound = circuit.assign_parameters(floats, inplace=False)
        if name is not None:
            bound.name = experiment_name(name, index, len(sets))
        experiments.append(BoundExperiment(bound, index, floats))
    return experiments
