"""The Qiskit Target built from a QPU's device description (``client-and-cli.md`` §2.2)."""

from __future__ import annotations

import logging

import msgspec
import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit, transpile

from qpi.client.models import DeviceInfo
from qpi.client.qiskit.target import FALLBACK_BASIS, build_target

LINEAR = [[0, 1], [1, 0], [1, 2], [2, 1], [2, 3], [3, 2], [3, 4], [4, 3]]


def linear_device(**extra: object) -> DeviceInfo:
    doc = {
        "executor": "qiskit_aer",
        "backend_name": "lin5",
        "simulator": True,
        "num_qubits": 5,
        "basis_gates": ["rz", "sx", "x", "cx", "measure", "reset", "delay", "not_a_gate"],
        "coupling_map": LINEAR,
        "instructions": [
            {"name": "cx", "qubits": [0, 1], "duration_s": 3.5e-7, "error": 0.01},
            {"name": "sx", "qubits": [2], "duration_s": 3.5e-8},
        ],
        "qubits": [{"t1_s": 1e-4, "t2_s": 8e-5, "frequency_hz": 5e9, "readout_error": 0.02, "readout_duration_s": 1e-6}]
        * 5,
        "dt": 1e-9,
        **extra,
    }
    return msgspec.convert(doc, DeviceInfo)


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, n)
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure(range(n), range(n))
    return qc


def test_transpile_ghz5_on_a_linear_device(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        target = build_target(linear_device())
    assert any("not_a_gate" in r.getMessage() for r in caplog.records)
    out = transpile(ghz(5), target=target, optimization_level=1, seed_transpiler=1)
    assert set(out.count_ops()) <= {"rz", "sx", "x", "cx", "measure", "barrier"}
    edges = {tuple(e) for e in LINEAR}
    for instruction in out.data:
        if instruction.operation.num_qubits == 2:
            pair = tuple(out.find_bit(q).index for q in instruction.qubits)
            assert pair in edges
    assert sorted(target.build_coupling_map().get_edges()) == sorted(edges)
    assert target["cx"][(0, 1)].duration == 3.5e-7 and target["cx"][(0, 1)].error == 0.01
    assert target["cx"][(1, 2)] is None  # no properties reported: unknown
    assert target["measure"][(3,)].error == 0.02
    assert target.qubit_properties[0].t1 == 1e-4
    assert target.dt == 1e-9


def test_all_to_all_and_control_flow() -> None:
    target = build_target(linear_device(coupling_map=None, supports_control_flow=True))
    assert len(target["cx"]) == 20  # every ordered pair of 5 qubits
    assert "if_else" in target.operation_names


def test_fallback_without_device_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        target = build_target(None, 3)
    assert any("fallback" in r.getMessage() for r in caplog.records)
    assert set(target.operation_names) == set(FALLBACK_BASIS)
    assert target.num_qubits == 3 and len(target["cx"]) == 6
