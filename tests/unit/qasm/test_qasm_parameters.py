"""Binding sets and expansion (executors.md E-4.5, E-4.6)."""

from __future__ import annotations

import math

import pytest
from qiskit.circuit import QuantumCircuit

from qpi.errors import PayloadError
from qpi.qasm import bind_parameter_sets, check_parameter_sets, experiment_name, parse

H3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
PARAM3 = H3 + (
    "input float[64] beta;\ninput float[64] alpha;\nqubit[1] q;\nbit[1] c;\n"
    "rx(alpha) q[0];\nry(beta) q[0];\nc[0] = measure q[0];\n"
)
BELL3 = H3 + "qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n"


def angles(circuit: QuantumCircuit) -> dict[str, float]:
    return {i.operation.name: float(i.operation.params[0]) for i in circuit.data if i.operation.params}


@pytest.mark.parametrize("sets", [None, []])
def test_unbound_parameters_are_refused(sets: list[list[float]] | None) -> None:
    with pytest.raises(PayloadError) as info:
        bind_parameter_sets(parse(PARAM3), sets)
    assert str(info.value) == "circuit 0 has 2 unbound parameters: alpha, beta"
    assert info.value.code == "invalid_payload"


def test_sets_for_a_circuit_without_parameters_are_refused() -> None:
    with pytest.raises(PayloadError) as info:
        bind_parameter_sets(parse(BELL3), [[], [], []], circuit_index=0)
    assert str(info.value) == "circuit 0 has no parameters but 3 parameter sets were given"
    with pytest.raises(PayloadError, match="circuit 4 has no parameters but 1 parameter set was given"):
        bind_parameter_sets(parse(BELL3), [[1.0]], circuit_index=4)


def test_count_mismatch() -> None:
    with pytest.raises(PayloadError) as info:
        bind_parameter_sets(parse(PARAM3), [[0.1, 0.2], [0.3]], circuit_index=2)
    assert str(info.value) == ("circuit 2 parameter set 1 has 1 value but the circuit has 2 parameters: alpha, beta")
    assert info.value.circuit_index == 2


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_values_must_be_finite(bad: float) -> None:
    with pytest.raises(PayloadError, match="set 0 value 1 \\(beta\\) must be a finite number"):
        check_parameter_sets(["alpha", "beta"], [[0.5, bad]])


def test_no_sets_for_a_plain_circuit_is_one_run() -> None:
    circuit = parse(BELL3)
    [(bound, index, values)] = bind_parameter_sets(circuit, None)
    assert (index, values) == (None, None)
    assert bound.count_ops()["measure"] == 2


def test_sets_bind_in_qiskit_parameter_order_and_are_named() -> None:
    circuit = parse(PARAM3)
    experiments = bind_parameter_sets(circuit, [[0.1, 0.2], [0.3, 0.4], [1, 2]], name="sweep")
    assert [e.parameter_index for e in experiments] == [0, 1, 2]
    assert [e.circuit.name for e in experiments] == ["sweep[0]", "sweep[1]", "sweep[2]"]
    assert experiments[2].parameter_values == [1.0, 2.0]
    # alpha is the first parameter in Qiskit's sorted order, bound to the first value.
    assert angles(experiments[0].circuit) == {"rx": 0.1, "ry": 0.2}
    assert angles(experiments[1].circuit) == {"rx": 0.3, "ry": 0.4}
    for experiment in experiments:
        assert experiment.circuit.num_parameters == 0
    assert circuit.num_parameters == 2  # the input circuit is left unbound


def test_a_single_set_keeps_the_plain_name() -> None:
    [experiment] = bind_parameter_sets(parse(PARAM3), [[0.1, 0.2]], name="one")
    assert experiment.circuit.name == "one"
    assert experiment.parameter_index == 0
    assert experiment_name("one", 0, 1) == "one"
    assert experiment_name("many", 3, 4) == "many[3]"
    assert experiment_name("plain", None, 0) == "plain"
