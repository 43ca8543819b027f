"""Parsing OpenQASM 2 and 3, error messages and positions (executors.md E-4.2 … E-4.4)."""

from __future__ import annotations

from pathlib import Path

import pytest
import qiskit.qasm2
import qiskit.qasm3
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.circuit.library import CU1Gate, U1Gate, U2Gate, U3Gate
from qiskit.quantum_info import Operator

from qpi.errors import QasmParseError
from qpi.qasm import parse, parse_versioned, warm_up

PREFIX = "Failed to parse QASM circuit: "
H2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
H3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def parse_error(text: str, **kwargs: object) -> QasmParseError:
    with pytest.raises(QasmParseError) as info:
        parse(text, **kwargs)  # type: ignore[arg-type]
    error = info.value
    assert error.message.startswith(PREFIX)
    assert error.code == "qasm_parse_error"
    return error


def test_bell_circuits_parse() -> None:
    two = parse(H2 + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n")
    three = parse(H3 + "qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n")
    for circuit in (two, three):
        assert (circuit.num_qubits, circuit.num_clbits) == (2, 2)
        assert [i.operation.name for i in circuit.data] == ["h", "cx", "measure", "measure"]


def test_parse_versioned_reports_the_version() -> None:
    assert parse_versioned(H2 + "qreg q[1];\n")[0] == 2
    assert parse_versioned("qubit q;\n", require_header=False)[0] == 3


def test_legacy_qelib1_gates_that_strict_qiskit_refuses() -> None:
    circuit = parse(H2 + "qreg q[2];\nsx q[0];\nsxdg q[1];\np(0.1) q[0];\nu(1,2,3) q[0];\nswap q[0],q[1];\n")
    assert [i.operation.name for i in circuit.data] == ["sx", "sxdg", "p", "u", "swap"]


# --- error paths -----------------------------------------------------------------------------


def test_qasm2_unknown_gate() -> None:
    error = parse_error(H2 + "qreg q[2];\nfoo q[0];\n")
    assert error.message == PREFIX + "'foo' is not defined in this scope"
    assert (error.line, error.column) == (4, 1)


def test_qasm2_syntax_error() -> None:
    error = parse_error(H2 + "qreg q[2];\nh q[0]\ncx q[0],q[1];\n")
    assert "needed ';'" in error.message
    assert (error.line, error.column) == (5, 1)


def test_qasm2_out_of_range_index_says_out_of_range() -> None:
    error = parse_error(H2 + "qreg q[2];\nh q[5];\n")
    assert "out of range" in error.message
    assert (error.line, error.column) == (4, 5)


def test_qasm3_syntax_error_is_located_by_the_native_parser() -> None:
    error = parse_error(H3 + "qubit[2] q;\nh q[0]\ncx q[0], q[1];\n", circuit_index=3)
    assert error.message.startswith(PREFIX + "syntax error")
    assert (error.line, error.column) == (4, 7)
    assert error.circuit_index == 3


def test_qasm3_syntax_error_without_header() -> None:
    error = parse_error("qubit[2] q;\nh q[0]\n", require_header=False)
    assert (error.line, error.column) == (2, 7)


def test_qasm3_lexer_error_has_a_one_line_message() -> None:
    error = parse_error(H3 + "qubit[2] q;\nh q[0]; $\n")
    assert (error.line, error.column) == (4, 9)
    assert "\n" not in error.message


def test_qasm3_out_of_range_index() -> None:
    error = parse_error(H3 + "qubit[2] q;\nbit[2] c;\nh q[5];\nc = measure q;\n")
    assert "out of range" in error.message
    assert "5" in error.message


def test_qasm3_undefined_register_column_is_within_its_line() -> None:
    error = parse_error(H3 + "qubit[2] q;\nbit[2] c;\nh r[0];\nc = measure q;\n")
    assert error.message == PREFIX + "Undefined symbol 'r'."
    assert (error.line, error.column) == (5, 3)


def test_qasm3_wrong_operand_count() -> None:
    error = parse_error(H3 + "qubit[2] q;\nbit[2] c;\ncx q[0];\nc = measure q;\n")
    assert "does not match" in error.message
    assert error.line == 5


def test_qasm3_unknown_gate() -> None:
    error = parse_error(H3 + "qubit[1] q;\nfoo q[0];\n")
    assert error.message == PREFIX + "gate 'foo' is not defined."
    assert (error.line, error.column) == (4, 1)


def test_qasm3_redeclared_register() -> None:
    error = parse_error(H3 + "qubit[2] q;\nqubit[2] q;\n")
    assert "already exists" in error.message
    assert error.line == 4


def test_empty_text() -> None:
    error = parse_error("// nothing here\n\n", require_header=False)
    assert error.message == PREFIX + "the circuit is empty"


def test_missing_header_for_the_driver() -> None:
    error = parse_error("qubit q;\n")
    assert error.message == PREFIX + "missing or unrecognized OPENQASM version header"


# --- includes --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/etc/passwd", "gates.inc", "./gates.inc"])
def test_qasm2_file_includes_are_refused(path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gates.inc").write_text("gate myg a { U(0,0,0) a; }\n")
    monkeypatch.chdir(tmp_path)
    error = parse_error(f'OPENQASM 2.0;\ninclude "{path}";\nqreg q[1];\n')
    assert "unable to find" in error.message
    assert error.line == 2


def test_qasm2_absolute_include_of_an_existing_file_is_refused(tmp_path: Path) -> None:
    gates = tmp_path / "gates.inc"
    gates.write_text("gate myg a { U(0,0,0) a; }\n")
    error = parse_error(f'OPENQASM 2.0;\ninclude "{gates}";\nqreg q[1];\nmyg q[0];\n')
    assert "unable to find" in error.message


@pytest.mark.parametrize("path", ["/etc/passwd", "gates.inc"])
def test_qasm3_file_includes_are_refused(path: str) -> None:
    error = parse_error(f'OPENQASM 3.0;\ninclude "{path}";\nqubit q;\n')
    assert "imports not currently supported" in error.message
    assert error.line == 2


# --- round trips and parameters --------------------------------------------------------------


def legacy_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3)
    circuit.sx(0)
    circuit.sxdg(1)
    circuit.p(0.3, 2)
    circuit.u(0.1, 0.2, 0.3, 0)
    circuit.swap(0, 1)
    circuit.cp(0.4, 1, 2)
    circuit.rzz(0.5, 0, 2)
    circuit.append(U1Gate(0.1), [0])
    circuit.append(U2Gate(0.1, 0.2), [1])
    circuit.append(U3Gate(0.1, 0.2, 0.3), [2])
    circuit.id(0)
    circuit.append(CU1Gate(0.2), [0, 1])
    circuit.ch(1, 2)
    circuit.crx(0.7, 2, 0)
    circuit.cswap(0, 1, 2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


def assert_same_circuit(original: QuantumCircuit, loaded: QuantumCircuit) -> None:
    assert (loaded.num_qubits, loaded.num_clbits) == (original.num_qubits, original.num_clbits)
    assert loaded.count_ops()["measure"] == 3
    unitary = Operator(original.remove_final_measurements(inplace=False))
    assert Operator(loaded.remove_final_measurements(inplace=False)).equiv(unitary)


def test_qasm2_dumps_round_trips() -> None:
    original = legacy_circuit()
    loaded = parse(qiskit.qasm2.dumps(original))
    names = [i.operation.name for i in loaded.data]
    assert names == [i.operation.name for i in original.data]
    assert_same_circuit(original, loaded)


def test_qasm3_dumps_round_trips() -> None:
    original = legacy_circuit()
    assert_same_circuit(original, parse(qiskit.qasm3.dumps(original)))


def test_qasm3_inputs_become_parameters_in_qiskit_order() -> None:
    circuit = parse(H3 + "input float[64] theta;\ninput float[64] alpha;\nqubit q;\nrx(theta + alpha) q;\n")
    assert [p.name for p in circuit.parameters] == ["alpha", "theta"]


def test_parametrised_qasm3_dumps_round_trips() -> None:
    original = QuantumCircuit(1, 1)
    original.rx(Parameter("theta"), 0)
    original.measure(0, 0)
    loaded = parse(qiskit.qasm3.dumps(original))
    assert [p.name for p in loaded.parameters] == ["theta"]


def test_warm_up_runs() -> None:
    warm_up()


# --- hostile input ---------------------------------------------------------------------------


def test_deep_bracket_nesting_is_refused_before_parsing() -> None:
    depth = 20_000
    error = parse_error(H3 + "qubit q;\nrx(" + "(" * depth + "1" + ")" * depth + ") q;\n")
    assert error.message == PREFIX + "brackets are nested more than 256 deep"
    assert (error.line, error.column) == (4, 259)  # "rx(" then 256 more


def test_recursion_in_the_importer_is_a_parse_error() -> None:
    error = parse_error(H3 + "qubit q;\nrx(" + "-" * 600 + "1) q;\n")
    assert error.message == PREFIX + "expressions or blocks are nested too deeply"


def test_syntax_error_falls_back_to_the_standard_position_when_the_native_parser_is_unsafe() -> None:
    # 150 nested parentheses parse in the standard importer, but are too deep for a native re-parse.
    deep = "rx(" + "(" * 150 + "1" + ")" * 150 + ") q;\n"
    error = parse_error(H3 + "qubit q;\n" + deep + "h q\nx q;\n")
    assert error.message == PREFIX + "syntax error at 'x'"
    assert (error.line, error.column) == (6, 1)
