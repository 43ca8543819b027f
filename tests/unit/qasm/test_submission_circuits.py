"""Submission validation of circuits (api.md §3.1, §3.3 checks 6 and 9 to 13)."""

from __future__ import annotations

import math

import anyio
import anyio.to_thread
import msgspec
import pytest

from qpi.errors import BadRequestError
from qpi.protocol.payload import CircuitPayload
from qpi.qasm import parse
from qpi.server.circuits import CircuitIn, ValidatedCircuit, count_experiments, max_width, validate_circuits

H3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
BELL2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
BELL3 = H3 + "qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n"
GHZ3_NO_HEADER = (
    'include "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\nc = measure q;\n'
)
PARAM3 = H3 + (
    "input float[64] beta;\ninput float[64] alpha;\nqubit[1] q;\nbit[1] c;\n"
    "rx(alpha) q[0];\nry(beta) q[0];\nc[0] = measure q[0];\n"
)
SYNTAX_LINE_4 = H3 + "qubit[2] q;\nh q[0]\ncx q[0], q[1];\n"
NO_CLBITS = H3 + "qubit[2] q;\nh q[0];\n"
NO_MEASURE = H3 + "qubit[2] q;\nbit[2] c;\nh q[0];\n"

LIMITS = {"default_shots": 1024, "max_shots": 100_000, "max_experiments": 300, "num_qubits": 3}


def validate(circuits: list[CircuitIn], **overrides: object) -> list[ValidatedCircuit]:
    options = {**LIMITS, **overrides}
    return validate_circuits(circuits, **options)  # type: ignore[arg-type]


def refusal(circuits: list[CircuitIn], **overrides: object) -> BadRequestError:
    with pytest.raises(BadRequestError) as info:
        validate(circuits, **overrides)
    assert info.value.status_code == 400
    return info.value


def test_valid_submission_is_normalised() -> None:
    circuits = [
        CircuitIn(circuit=BELL2),
        CircuitIn(circuit=GHZ3_NO_HEADER, name="ghz", shots=10),
        CircuitIn(circuit=PARAM3, parameter_values=[[0.1, 0.2], [0.3, 0.4]]),
        CircuitIn(circuit=BELL3, parameter_values=[]),
    ]
    result = validate(circuits)
    assert [v.name for v in result] == ["circuit-0", "ghz", "circuit-2", "circuit-3"]
    assert [v.shots for v in result] == [1024, 10, 1024, 1024]
    assert [v.num_qubits for v in result] == [2, 3, 1, 2]
    assert [v.num_clbits for v in result] == [2, 3, 1, 2]
    assert [v.qasm_version for v in result] == [2, 3, 3, 3]
    assert result[0].source == BELL2
    assert result[1].source == "OPENQASM 3.0;\n" + GHZ3_NO_HEADER
    assert result[2].parameter_values == [[0.1, 0.2], [0.3, 0.4]]
    assert result[2].parameter_names == ("alpha", "beta")
    assert result[2].num_experiments == 2
    assert result[3].parameter_values is None
    assert max_width(result) == 3
    assert max_width([]) == 0
    assert result[1].to_payload() == CircuitPayload(circuit="OPENQASM 3.0;\n" + GHZ3_NO_HEADER, shots=10, name="ghz")
    # The stored source is accepted by a driver, which requires the header.
    assert parse(result[1].source).num_qubits == 3


def test_body_decoding_refuses_unknown_fields_and_bad_names() -> None:
    decoder = msgspec.json.Decoder(list[CircuitIn])
    [item] = decoder.decode(b'[{"circuit": "x", "name": "n", "parameter_values": [[1, 2.5]], "shots": 5}]')
    assert item == CircuitIn(circuit="x", name="n", parameter_values=[[1.0, 2.5]], shots=5)
    with pytest.raises(msgspec.ValidationError, match="qasm"):
        decoder.decode(b'[{"circuit": "x", "qasm": "y"}]')
    with pytest.raises(msgspec.ValidationError):
        decoder.decode(b'[{"circuit": "x", "name": ""}]')
    with pytest.raises(msgspec.ValidationError):
        decoder.decode(b'[{"circuit": "x", "name": "' + b"n" * 129 + b'"}]')


# --- check 6: names ---------------------------------------------------------------------------


def test_duplicate_names() -> None:
    error = refusal([CircuitIn(circuit=BELL3, name="a"), CircuitIn(circuit=BELL3, name="a")])
    assert error.code == "duplicate_circuit_name"
    assert error.field == "circuits[1].name"
    assert "'a'" in error.detail


def test_explicit_name_colliding_with_a_default_name() -> None:
    error = refusal([CircuitIn(circuit=BELL3, name="circuit-1"), CircuitIn(circuit=BELL3)])
    assert error.code == "duplicate_circuit_name"
    assert error.field == "circuits[1].name"


def test_name_length() -> None:
    assert validate([CircuitIn(circuit=BELL3, name="n" * 128)])[0].name == "n" * 128
    for bad in ("", "n" * 129):
        error = refusal([CircuitIn(circuit=BELL3, name=bad)])
        assert (error.code, error.field) == ("invalid_request", "circuits[0].name")


def test_no_circuits() -> None:
    error = refusal([])
    assert (error.code, error.field) == ("invalid_request", "circuits")


def test_names_are_checked_before_anything_else() -> None:
    error = refusal([CircuitIn(circuit="garbage", name="a", shots=0), CircuitIn(circuit=BELL3, name="a")])
    assert error.code == "duplicate_circuit_name"


# --- check 9: experiment count and shots ------------------------------------------------------


def test_three_hundred_circuits_are_accepted() -> None:
    circuits = [CircuitIn(circuit=BELL3 if i % 2 else BELL2) for i in range(300)]
    result = validate(circuits)
    assert len(result) == 300
    assert result[299].name == "circuit-299"
    assert {v.num_qubits for v in result} == {2}


def test_too_many_experiments_counts_parameter_sets() -> None:
    circuits = [CircuitIn(circuit=PARAM3, parameter_values=[[0.0, 0.0]] * 299), CircuitIn(circuit=BELL3)]
    assert count_experiments(circuits) == 300
    assert len(validate(circuits)) == 2
    circuits.append(CircuitIn(circuit=BELL3, parameter_values=[]))
    error = refusal(circuits)
    assert (error.code, error.field) == ("too_many_circuits", "circuits")
    assert "301" in error.detail
    assert "300" in error.detail


def test_circuit_shots_out_of_range() -> None:
    circuits = [
        CircuitIn(circuit=BELL3),
        CircuitIn(circuit=BELL3, shots=5),
        CircuitIn(circuit=BELL3, shots=100_001),
    ]
    error = refusal(circuits)
    assert error.code == "shots_out_of_range"
    assert error.field == "circuits[2].shots"
    assert error.detail == "circuits[2].shots must be between 1 and 100000."
    assert error.body() == {
        "status": 400,
        "error": "shots_out_of_range",
        "detail": "circuits[2].shots must be between 1 and 100000.",
        "field": "circuits[2].shots",
    }
    error = refusal([CircuitIn(circuit=BELL3, shots=0)])
    assert error.field == "circuits[0].shots"


def test_job_shots_out_of_range_even_when_every_circuit_overrides() -> None:
    error = refusal([CircuitIn(circuit=BELL3, shots=10)], default_shots=20_000, max_shots=10_000)
    assert (error.code, error.field) == ("shots_out_of_range", "shots")
    assert error.detail == "shots must be between 1 and 10000."


def test_count_and_shots_come_before_parsing() -> None:
    error = refusal([CircuitIn(circuit="garbage"), CircuitIn(circuit=BELL3, shots=0)])
    assert error.code == "shots_out_of_range"
    error = refusal([CircuitIn(circuit="garbage")] * 2, max_experiments=1)
    assert error.code == "too_many_circuits"


# --- check 10: parsing ------------------------------------------------------------------------


def test_syntax_error_on_line_4_of_circuit_1() -> None:
    error = refusal([CircuitIn(circuit=BELL3), CircuitIn(circuit=SYNTAX_LINE_4)])
    assert error.code == "invalid_circuit"
    assert error.field == "circuits[1].circuit"
    assert error.detail.startswith("circuits[1].circuit: line 4, column 7: Failed to parse QASM circuit: ")


def test_syntax_error_in_a_headerless_circuit_counts_lines_of_the_submitted_text() -> None:
    error = refusal([CircuitIn(circuit="qubit[2] q;\nbit[2] c;\nh q[0]\n")])
    assert error.detail.startswith("circuits[0].circuit: line 3, column 7: ")


def test_qasm2_error_detail() -> None:
    error = refusal([CircuitIn(circuit='OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nfoo q[0];\n')])
    assert error.detail == (
        "circuits[0].circuit: line 4, column 1: Failed to parse QASM circuit: 'foo' is not defined in this scope"
    )


def test_unlocated_error_detail() -> None:
    error = refusal([CircuitIn(circuit=H3 + "qubit[2] q;\nbit[2] c;\nh q[7];\nc = measure q;\n")])
    assert error.code == "invalid_circuit"
    assert error.detail.startswith("circuits[0].circuit: Failed to parse QASM circuit: ")
    assert "out of range" in error.detail


@pytest.mark.parametrize("text", ["", "   \n// only a comment\n", "OPENQASM 9;\nqubit q;\n"])
def test_empty_or_badly_versioned_circuit(text: str) -> None:
    error = refusal([CircuitIn(circuit=text)])
    assert (error.code, error.field) == ("invalid_circuit", "circuits[0].circuit")


def test_parse_errors_come_before_width_errors_of_earlier_circuits() -> None:
    error = refusal([CircuitIn(circuit=GHZ3_NO_HEADER), CircuitIn(circuit=SYNTAX_LINE_4)], num_qubits=2)
    assert (error.code, error.field) == ("invalid_circuit", "circuits[1].circuit")


# --- checks 11 to 13 ------------------------------------------------------------------------


def test_circuit_too_wide() -> None:
    error = refusal([CircuitIn(circuit=BELL3), CircuitIn(circuit=GHZ3_NO_HEADER)], num_qubits=2)
    assert (error.code, error.field) == ("circuit_too_wide", "circuits[1].circuit")
    assert error.detail == "circuits[1] uses 3 qubits but the QPU has 2 qubits."


def test_width_check_skipped_while_unknown() -> None:
    assert len(validate([CircuitIn(circuit=GHZ3_NO_HEADER)], num_qubits=None)) == 1


def test_width_comes_before_measurements() -> None:
    error = refusal([CircuitIn(circuit=NO_CLBITS), CircuitIn(circuit=GHZ3_NO_HEADER)], num_qubits=2)
    assert error.code == "circuit_too_wide"


@pytest.mark.parametrize(("text", "reason"), [(NO_CLBITS, "no classical bits"), (NO_MEASURE, "no measurement")])
def test_no_measurements(text: str, reason: str) -> None:
    error = refusal([CircuitIn(circuit=BELL3), CircuitIn(circuit=text)])
    assert (error.code, error.field) == ("no_measurements", "circuits[1].circuit")
    assert reason in error.detail


def test_measurements_come_before_parameters() -> None:
    error = refusal([CircuitIn(circuit=PARAM3), CircuitIn(circuit=NO_MEASURE)])
    assert error.code == "no_measurements"


def test_missing_parameter_values() -> None:
    error = refusal([CircuitIn(circuit=PARAM3)])
    assert (error.code, error.field) == ("parameter_mismatch", "circuits[0].parameter_values")
    assert error.detail == "circuits[0].parameter_values: circuit 0 has 2 unbound parameters: alpha, beta."


def test_parameter_values_for_a_parameterless_circuit() -> None:
    error = refusal([CircuitIn(circuit=BELL3), CircuitIn(circuit=BELL3, parameter_values=[[], [], []])])
    assert error.code == "parameter_mismatch"
    assert "circuit 1 has no parameters but 3 parameter sets were given" in error.detail


def test_parameter_count_and_finiteness() -> None:
    error = refusal([CircuitIn(circuit=PARAM3, parameter_values=[[0.1, 0.2], [0.3]])])
    assert error.code == "parameter_mismatch"
    assert "parameter set 1 has 1 value but the circuit has 2 parameters" in error.detail
    error = refusal([CircuitIn(circuit=PARAM3, parameter_values=[[0.1, math.inf]])])
    assert error.code == "parameter_mismatch"
    assert "finite" in error.detail


# --- threads ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_validation_in_worker_threads() -> None:
    good = [CircuitIn(circuit=BELL3 if i % 2 else BELL2) for i in range(40)]
    bad = [CircuitIn(circuit=BELL3), CircuitIn(circuit=SYNTAX_LINE_4)]
    outcomes: dict[int, object] = {}

    def run(index: int) -> None:
        try:
            outcomes[index] = len(validate(good if index % 2 else bad))
        except BadRequestError as exc:
            outcomes[index] = exc.detail

    async with anyio.create_task_group() as group:
        for index in range(8):
            group.start_soon(anyio.to_thread.run_sync, run, index)
    for index in range(8):
        if index % 2:
            assert outcomes[index] == 40
        else:
            assert str(outcomes[index]).startswith("circuits[1].circuit: line 4, column 7: ")


def test_a_repeated_circuit_gives_the_same_answer_and_its_own_errors() -> None:
    """Parsing is remembered per exact text: a repeat gives the same result, limits still apply per
    submission, and a bad circuit is reported at its own index whatever came before."""
    first = validate([CircuitIn(circuit=GHZ3_NO_HEADER)])
    again = validate([CircuitIn(circuit=BELL2), CircuitIn(circuit=GHZ3_NO_HEADER, shots=7)])
    assert again[1].source == first[0].source == "OPENQASM 3.0;\n" + GHZ3_NO_HEADER
    assert (again[1].num_qubits, again[1].shots) == (3, 7)
    assert refusal([CircuitIn(circuit=GHZ3_NO_HEADER)], num_qubits=2).code == "circuit_too_wide"
    error = refusal([CircuitIn(circuit=BELL2), CircuitIn(circuit=SYNTAX_LINE_4)])
    assert (error.code, error.field) == ("invalid_circuit", "circuits[1].circuit")
    error = refusal([CircuitIn(circuit=SYNTAX_LINE_4)])  # the same bad text again: not remembered as good
    assert (error.code, error.field) == ("invalid_circuit", "circuits[0].circuit")
