"""What ``QPIBackend.run`` sends for circuits and parameter values (``client-and-cli.md`` §2.3)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from qpi.client.qiskit.runinput import prepare_run
from qpi.errors import InvalidInputError


def parametrised() -> QuantumCircuit:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(1, 1, name="pc")
    qc.rx(a, 0)
    qc.rz(b, 0)
    qc.measure(0, 0)
    return qc


def test_one_set_is_bound_locally() -> None:
    for values in ({"a": 0.1, "b": 0.2}, [0.1, 0.2], np.array([0.1, 0.2])):
        prepared = prepare_run(parametrised(), values, num_qubits=5)
        (entry,) = prepared.entries
        assert "parameter_values" not in entry and "input" not in entry["circuit"]
        assert entry["name"] == "pc" and prepared.names == ["pc"]


def test_a_sweep_is_sent_unbound_and_expands_per_row() -> None:
    prepared = prepare_run(
        [parametrised(), QuantumCircuit(1, 1, name="plain")], [[[0, 1], [2, 3], [4, 5]], None], num_qubits=2
    )
    first, second = prepared.entries
    assert first["parameter_values"] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert "input float" in first["circuit"]
    assert "parameter_values" not in second
    assert [c.name if c is not None else None for c in prepared.experiments] == ["pc[0]", "pc[1]", "pc[2]", "plain"]


def test_local_refusals() -> None:
    with pytest.raises(InvalidInputError, match="free parameters"):
        prepare_run(parametrised(), None, num_qubits=5)
    with pytest.raises(InvalidInputError, match="the backend has 1"):
        prepare_run(QuantumCircuit(2, 2), None, num_qubits=1)
    with pytest.raises(InvalidInputError, match="one per circuit"):
        prepare_run([parametrised()], [[0.1, 0.2], [0.3, 0.4]], num_qubits=5)
    with pytest.raises(InvalidInputError, match="missing"):
        prepare_run(parametrised(), {"a": 1.0}, num_qubits=5)
    with pytest.raises(InvalidInputError, match="finite"):
        prepare_run(parametrised(), [float("nan"), 1.0], num_qubits=5)


def test_duplicate_names_are_made_unique_but_reported_as_given() -> None:
    qc = QuantumCircuit(1, 1, name="same")
    qc.measure(0, 0)
    prepared = prepare_run([qc, qc.copy()], None, num_qubits=1)
    assert [e["name"] for e in prepared.entries] == ["same", "same-2"]
    assert prepared.names == ["same", "same"]
