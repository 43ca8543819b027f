"""A payload becomes experiments: shots, parsing, width, binding sets, names (executors.md §4)."""

from __future__ import annotations

import pytest

from qpi.driver.executors.expansion import expand_payload
from qpi.errors import NoMeasurements, PayloadError, QasmParseError, TooManyQubits, UnsupportedFeature
from qpi.protocol.payload import CircuitPayload, JobPayload

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
PARAM = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\n'
    "qubit[1] q;\nbit[1] c;\nrx(theta) q[0];\nc[0] = measure q[0];\n"
)


def expand(*circuits: CircuitPayload, **fields: object) -> list[object]:
    payload = JobPayload(id="j", circuits=list(circuits), **fields)  # type: ignore[arg-type]
    return expand_payload(payload, max_shots=10_000, max_circuits=5, num_qubits=3, executor="quantify")  # type: ignore[return-value]


def test_expansion_order_names_and_shots() -> None:
    experiments = expand(
        CircuitPayload(circuit=BELL, name="bell", shots=10),
        CircuitPayload(circuit=PARAM, parameter_values=[[0.1], [0.2]]),
        shots=100,
    )
    names = [e.name for e in experiments]  # type: ignore[attr-defined]
    assert names == ["bell", "circuit-1[0]", "circuit-1[1]"]
    assert [e.shots for e in experiments] == [10, 100, 100]  # type: ignore[attr-defined]
    assert [(e.circuit_index, e.parameter_set, e.parameter_values) for e in experiments] == [  # type: ignore[attr-defined]
        (0, None, ()),
        (1, 0, (0.1,)),
        (1, 1, (0.2,)),
    ]


@pytest.mark.parametrize(
    ("circuit", "fields", "error", "match"),
    [
        (CircuitPayload(circuit=BELL), {"shots": 10_001}, PayloadError, "between 1 and 10000"),
        (CircuitPayload(circuit=BELL, shots=0), {}, PayloadError, r"circuits\[0\].shots"),
        (
            CircuitPayload(circuit=BELL.replace("qreg q[2]", "qreg q[4]").replace("creg c[2]", "creg c[4]")),
            {},
            TooManyQubits,
            "4 qubits but this device has 3",
        ),
        (
            CircuitPayload(circuit='OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nx q[0];\n'),
            {},
            NoMeasurements,
            "no classical bits",
        ),
        (CircuitPayload(circuit="qreg q[1];"), {}, QasmParseError, "Failed to parse QASM circuit"),
        (CircuitPayload(circuit=PARAM), {}, PayloadError, "unbound parameter"),
        (
            CircuitPayload(
                circuit='OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\n'
                "c[0] = measure q[0];\nif (c[0]) { x q[0]; }\n"
            ),
            {},
            UnsupportedFeature,
            "control flow",
        ),
    ],
)
def test_payload_problems(
    circuit: CircuitPayload, fields: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        expand(circuit, **fields)


def test_too_many_experiments() -> None:
    with pytest.raises(PayloadError, match="expands to 6 experiments; at most 5"):
        expand(CircuitPayload(circuit=PARAM, parameter_values=[[0.1]] * 6))
