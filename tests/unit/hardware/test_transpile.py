"""Transpiling to the native gates and the coupling map, with one pass manager per executor."""

from __future__ import annotations

from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import Operator

from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.gates import convert_circuit
from qpi.driver.executors.hardware.transpile import NativeTranspiler, build_target


def test_target_has_the_basis_on_every_qubit_and_cz_both_ways() -> None:
    target = build_target(3, ("rz", "sx", "x", "cz"), [(0, 1), (1, 0), (1, 2), (2, 1)])
    assert set(target.operation_names) == {"rz", "sx", "x", "cz", "measure", "reset", "delay"}
    assert set(target["cz"]) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert set(target["sx"]) == {(0,), (1,), (2,)}
    assert target.dt == 1e-9


def test_a_ghz_circuit_lands_on_native_gates_and_declared_edges(example_spec: DeviceSpec) -> None:
    transpiler = NativeTranspiler(3, ("rz", "sx", "x", "cz"), example_spec.coupling_map())
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(0, 2)  # no edge q0_q2: routing must go through q1
    native = transpiler.run(qc)
    assert set(native.count_ops()) <= {"rz", "sx", "x", "cz", "measure", "reset", "delay", "barrier"}
    for instruction in native.data:
        if instruction.operation.name == "cz":
            pair = tuple(native.find_bit(q).index for q in instruction.qubits)
            assert pair in {(0, 1), (1, 0), (1, 2), (2, 1)}
    convert_circuit(native, example_spec, executor="quantify")  # converts without a coupling violation


def test_trivial_layout_keeps_virtual_qubits_on_their_elements(example_spec: DeviceSpec) -> None:
    transpiler = NativeTranspiler(3, ("rz", "sx", "x", "cz"), example_spec.coupling_map())
    qc = QuantumCircuit(2, 2)
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    native = transpiler.run(qc)
    measured = {
        native.find_bit(i.clbits[0]).index: native.find_bit(i.qubits[0]).index
        for i in native.data
        if i.operation.name == "measure"
    }
    assert measured == {0: 0, 1: 1}


def test_the_transpiled_unitary_is_unchanged(example_spec: DeviceSpec) -> None:
    transpiler = NativeTranspiler(3, ("rz", "sx", "x", "cz"), example_spec.coupling_map(), optimization_level=0)
    qc = QuantumCircuit(3)
    qc.h(1)
    qc.cx(1, 2)
    qc.cp(0.4, 0, 1)
    native = transpiler.run(qc)
    assert Operator(native).equiv(Operator(qc))
