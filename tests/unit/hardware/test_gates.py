"""The conversion table (pure part): which native operations each Qiskit instruction becomes."""

from __future__ import annotations

import math

import pytest
from qiskit.circuit import QuantumCircuit

from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.gates import (
    CZ,
    SUPPORTED_GATES,
    Gate,
    Idle,
    Measure,
    Reset,
    Rxy,
    Rz,
    convert_circuit,
    delay_seconds,
)
from qpi.errors import CouplingViolation, UnsupportedFeature, UnsupportedGate


def ops_of(circuit: QuantumCircuit, spec: DeviceSpec) -> list[object]:
    return list(convert_circuit(circuit, spec, executor="quantify").ops)


def test_single_qubit_rows(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(1)
    qc.x(0), qc.y(0), qc.z(0), qc.h(0), qc.s(0), qc.sdg(0), qc.t(0), qc.tdg(0)
    qc.sx(0), qc.sxdg(0), qc.rx(math.pi / 2, 0), qc.ry(math.pi, 0), qc.rz(-math.pi / 4, 0), qc.p(math.pi, 0)
    qc.u(0.1, 0.2, 0.3, 0)
    qc.reset(0)
    ops = ops_of(qc, example_spec)
    assert ops[:8] == [Gate(name, 0) for name in ("X", "Y", "Z", "H", "S", "SDagger", "T", "TDagger")]
    assert ops[8:14] == [Rxy(90, 0, 0), Rxy(-90, 0, 0), Rxy(90, 0, 0), Rxy(180, 90, 0), Rz(-45, 0), Rz(180, 0)]
    lam, theta, phi = (math.degrees(v) for v in (0.3, 0.1, 0.2))
    rz_lam, rxy, rz_phi = ops[14:17]
    assert isinstance(rz_lam, Rz) and isinstance(rxy, Rxy) and isinstance(rz_phi, Rz)
    assert (rz_lam.theta, rxy.theta, rxy.phi, rz_phi.theta) == pytest.approx((lam, theta, 90, phi))
    assert ops[17] == Reset((0,))


def test_cx_is_h_cz_h_on_the_target(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(2)
    qc.cx(0, 1)
    assert ops_of(qc, example_spec) == [Gate("H", 1), CZ(0, 1), Gate("H", 1)]


def test_cz_uses_the_declared_edge_in_either_orientation(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(3)
    qc.cz(1, 0)
    qc.cz(2, 1)
    assert ops_of(qc, example_spec) == [CZ(0, 1), CZ(1, 2)]


def test_cz_without_an_edge_is_a_coupling_violation(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(3)
    qc.cz(0, 2)
    with pytest.raises(CouplingViolation, match=r"q0 and q2.*declared edges: q0_q1, q1_q2") as info:
        ops_of(qc, example_spec)
    assert info.value.code == "coupling_violation"


def test_unsupported_gates_list_the_table(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(2)
    qc.rzz(0.3, 0, 1)
    with pytest.raises(UnsupportedGate) as info:
        ops_of(qc, example_spec)
    assert str(info.value).startswith("gate 'rzz' is not supported by the quantify executor; supported: reset, x")
    assert info.value.code == "unsupported_gate"
    assert "ccx" in str(info.value) and len(SUPPORTED_GATES) == 25


def test_measurements_count_per_qubit_and_barriers_vanish(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(2, 3)
    qc.measure(0, 2)
    qc.barrier()
    qc.measure(1, 0)
    qc.measure(0, 1)
    converted = convert_circuit(qc, example_spec, executor="qblox")
    assert converted.measures == (Measure(0, 2, 0), Measure(1, 0, 0), Measure(0, 1, 1))
    assert converted.ops == converted.measures
    assert converted.used_qubits == (0, 1)


@pytest.mark.parametrize(
    ("duration", "unit", "seconds"),
    [(100, "ns", 100e-9), (101, "ns", 100e-9), (3, "us", 3e-6), (1, "ms", 1e-3), (30, "dt", 32e-9), (0.5, "s", 0.5)],
)
def test_delays_round_to_the_4_ns_grid(duration: float, unit: str, seconds: float) -> None:
    assert delay_seconds(duration, unit) == pytest.approx(seconds)


def test_delay_instructions_become_idles(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(1)
    qc.delay(200, 0, unit="ns")
    qc.delay(1, 0, unit="ns")  # rounds to nothing
    (idle,) = ops_of(qc, example_spec)
    assert isinstance(idle, Idle) and idle.duration == pytest.approx(200e-9)
    with pytest.raises(UnsupportedFeature, match="delay unit"):
        delay_seconds(1, "fortnight")


def test_control_flow_is_refused(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(1, 1)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
    with pytest.raises(UnsupportedFeature, match="control flow"):
        ops_of(qc, example_spec)
