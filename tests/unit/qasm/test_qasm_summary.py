"""circuit_summary: widths, registers, parameters, measurements and control flow."""

from __future__ import annotations

from qpi.qasm import circuit_summary, parse

H3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def test_bell_summary() -> None:
    summary = circuit_summary(parse(H3 + "qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n"))
    assert summary.num_qubits == 2
    assert summary.num_clbits == 2
    assert summary.has_measurements
    assert not summary.has_control_flow
    assert summary.parameter_names == ()
    assert summary.num_parameters == 0
    assert summary.qregs == (("q", 2),)
    assert summary.cregs == (("c", 2),)


def test_registers_in_declaration_order_and_parameters() -> None:
    text = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg b[1];\nqreg a[2];\ncreg m[2];\ncreg k[1];\nmeasure a[0] -> k[0];\n'
    )
    summary = circuit_summary(parse(text))
    assert summary.qregs == (("b", 1), ("a", 2))
    assert summary.cregs == (("m", 2), ("k", 1))
    assert summary.num_qubits == 3
    assert summary.num_clbits == 3
    params = circuit_summary(parse(H3 + "input float[64] zeta;\ninput float[64] alpha;\nqubit q;\nrx(zeta) q;\n"))
    assert params.parameter_names == ("alpha", "zeta")
    assert params.num_parameters == 2


def test_clbits_without_measurement() -> None:
    summary = circuit_summary(parse(H3 + "qubit q;\nbit[1] c;\nh q;\n"))
    assert summary.num_clbits == 1
    assert not summary.has_measurements


def test_measurement_only_inside_control_flow() -> None:
    text = H3 + "qubit[2] q;\nbit[2] c;\nh q[0];\nif (c[0]) { c[1] = measure q[1]; }\n"
    summary = circuit_summary(parse(text))
    assert summary.has_control_flow
    assert summary.has_measurements


def test_control_flow_without_measurement() -> None:
    summary = circuit_summary(parse(H3 + "qubit[1] q;\nbit[1] c;\nif (c[0]) { x q[0]; }\n"))
    assert summary.has_control_flow
    assert not summary.has_measurements


def test_loose_bits_have_no_registers() -> None:
    summary = circuit_summary(parse(H3 + "qubit a;\nqubit b;\nbit c;\nc = measure b;\n"))
    assert (summary.num_qubits, summary.num_clbits) == (2, 1)
    assert summary.qregs == ()
    assert summary.cregs == ()
    assert summary.has_measurements
