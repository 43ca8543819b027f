"""E-3.7: every converted gate's unitary equals Qiskit's up to global phase, on both backends.

Twice: for the operations of the conversion table, and for what the executors really play after
the virtual Z rotations were folded into pulse phases (:mod:`~qpi.driver.executors.hardware.frames`),
where the frames left at the end are applied as the trailing Z rotations they stand for.

The unitary of each emitted operation is the library's own ``gate_info["unitary"]``. Each is
scaled to determinant modulus 1 first: qblox-scheduler 1.0.1 declares ``S`` as
``[[1-i, 0], [0, 1+i]]`` without the ``1/√2`` of its docstring (the pulse it compiles to is right;
``test_dummy_runs`` compares the compiled programs). A positive scale cannot hide a wrong gate.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import Operator

from qpi.driver.executors.hardware.clusters import quiet_libraries
from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.frames import track_frames
from qpi.driver.executors.hardware.gates import CZ, ConvertedCircuit, convert_circuit

from .conftest import triangle_spec

pytestmark = pytest.mark.hardware  # imports quantify-scheduler and qblox-scheduler

THETA, PHI, LAM = 0.7, -1.1, 2.3

ROWS: dict[str, Callable[[QuantumCircuit], Any]] = {
    "x": lambda qc: qc.x(0),
    "y": lambda qc: qc.y(0),
    "z": lambda qc: qc.z(0),
    "h": lambda qc: qc.h(0),
    "s": lambda qc: qc.s(0),
    "sdg": lambda qc: qc.sdg(0),
    "t": lambda qc: qc.t(0),
    "tdg": lambda qc: qc.tdg(0),
    "sx": lambda qc: qc.sx(0),
    "sxdg": lambda qc: qc.sxdg(0),
    "rx": lambda qc: qc.rx(THETA, 0),
    "rx_negative": lambda qc: qc.rx(-2.9, 0),
    "ry": lambda qc: qc.ry(THETA, 0),
    "rz": lambda qc: qc.rz(LAM, 0),
    "p": lambda qc: qc.p(PHI, 0),
    "u": lambda qc: qc.u(THETA, PHI, LAM, 0),
    "cx": lambda qc: qc.cx(0, 1),
    "cx_reversed": lambda qc: qc.cx(2, 1),
    "cz": lambda qc: qc.cz(1, 2),
    "crz": lambda qc: qc.crz(THETA, 0, 1),
    "cp": lambda qc: qc.cp(PHI, 2, 0),
    "ccx": lambda qc: qc.ccx(0, 1, 2),
    "ccx_permuted": lambda qc: qc.ccx(2, 0, 1),
    "swap": lambda qc: qc.swap(0, 2),
}


@pytest.fixture(scope="module", params=["quantify", "qblox"])
def native_operation(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    with quiet_libraries():
        module = importlib.import_module(f"qpi.driver.executors.{request.param}.backend")
    function: Callable[[Any], Any] = module.native_operation
    return function


@pytest.fixture(scope="module")
def spec() -> DeviceSpec:
    triangle: DeviceSpec = triangle_spec()
    return triangle


def ops_unitary(converted: ConvertedCircuit, num_qubits: int, native_operation: Callable[[Any], Any]) -> Operator:
    total = Operator(np.eye(2**num_qubits))
    for op in converted.ops:
        with quiet_libraries():
            operation = native_operation(op)
        unitary = np.asarray(operation.data["gate_info"]["unitary"], dtype=complex)
        unitary = unitary / abs(np.linalg.det(unitary)) ** (1 / len(unitary))
        qubits = [op.parent, op.child] if isinstance(op, CZ) else [op.qubit]  # type: ignore[union-attr]
        total = total.compose(Operator(unitary), qargs=qubits)
    return total


def library_unitary(circuit: QuantumCircuit, spec: DeviceSpec, native_operation: Callable[[Any], Any]) -> Operator:
    return ops_unitary(convert_circuit(circuit, spec, executor="test"), circuit.num_qubits, native_operation)


def played_unitary(circuit: QuantumCircuit, spec: DeviceSpec, native_operation: Callable[[Any], Any]) -> Operator:
    framed = track_frames(convert_circuit(circuit, spec, executor="test"), spec, cz_corrections=True)
    assert not any(type(op).__name__ in {"Rz", "Gate"} for op in framed.circuit.ops)  # only pulses and CZs
    total = ops_unitary(framed.circuit, circuit.num_qubits, native_operation)
    trailing = QuantumCircuit(circuit.num_qubits)
    for qubit, degrees in framed.final_frames.items():
        trailing.rz(np.radians(degrees), qubit)
    return total.compose(Operator(trailing))


@pytest.mark.parametrize("row", list(ROWS))
def test_converted_gate_matches_qiskit(row: str, spec: DeviceSpec, native_operation: Callable[[Any], Any]) -> None:
    circuit = QuantumCircuit(3)
    ROWS[row](circuit)
    expected = Operator(circuit)
    actual = library_unitary(circuit, spec, native_operation)
    assert actual.equiv(expected), f"{row}: converted unitary differs from Qiskit's"


@pytest.mark.parametrize("row", list(ROWS))
def test_played_pulses_match_qiskit(row: str, spec: DeviceSpec, native_operation: Callable[[Any], Any]) -> None:
    circuit = QuantumCircuit(3)
    ROWS[row](circuit)
    assert played_unitary(circuit, spec, native_operation).equiv(Operator(circuit)), row


def test_a_whole_transpiled_style_sequence_matches(spec: DeviceSpec, native_operation: Callable[[Any], Any]) -> None:
    circuit = QuantumCircuit(3)
    circuit.rz(0.3, 0), circuit.sx(0), circuit.rz(1.2, 0), circuit.sx(0), circuit.rz(-0.7, 0)
    circuit.h(1), circuit.cz(0, 1), circuit.s(1), circuit.sx(1), circuit.t(2), circuit.cx(1, 2), circuit.ry(0.9, 2)
    assert played_unitary(circuit, spec, native_operation).equiv(Operator(circuit))


def test_a_wrong_conversion_would_be_caught(spec: DeviceSpec, native_operation: Callable[[Any], Any]) -> None:
    # The comparison is not vacuous: S is not T, and CX is not CZ.
    s, t = QuantumCircuit(3), QuantumCircuit(3)
    s.s(0)
    t.t(0)
    assert not library_unitary(s, spec, native_operation).equiv(Operator(t))
    cx, cz = QuantumCircuit(3), QuantumCircuit(3)
    cx.cx(0, 1)
    cz.cz(0, 1)
    assert not library_unitary(cx, spec, native_operation).equiv(Operator(cz))
