"""The mock and qiskit_aer executors end to end, in one process (executors.md §2.4, §2.5, §3.1, §3.2, §4)."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result

from qpi.driver.executors.aer import AerExecutor
from qpi.driver.executors.mock import MockExecutor
from qpi.driver.executors.results import to_result_doc
from qpi.driver.executors.simulated import SimulatorExecutor
from qpi.errors import (
    NoMeasurements,
    PayloadError,
    QasmParseError,
    TooManyQubits,
    UnsupportedFeature,
)
from qpi.protocol.payload import CircuitPayload, JobPayload

PARAMETRIZED = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
qubit[1] q;
bit[1] c;
rx(theta) q[0];
c[0] = measure q[0];
"""


def run(executor: SimulatorExecutor, payload: JobPayload) -> dict[str, Any]:
    executor.begin_job()
    document = executor.process_result(executor.execute(payload), payload.id)
    # the document must type as a ResultDoc and load into Qiskit (E-2.8)
    to_result_doc(document, payload.id)
    return document


def job(*circuits: CircuitPayload, **fields: Any) -> JobPayload:
    return JobPayload(id=fields.pop("id", "J1"), circuits=list(circuits), **fields)


def test_worked_example_a_matches_basic_simulator(mock: MockExecutor, bell_qasm: str) -> None:
    payload = job(CircuitPayload(circuit=bell_qasm, name="bell"), shots=1000, seed=42)
    dataset = mock.execute(payload)
    assert dict(dataset.sizes) == {"c0_shot": 1000, "c0_clbit": 2, "iq": 2}
    assert dataset["c0_bits"].dtype == np.uint8
    assert dataset.attrs["c0_creg_names"] == ["c"] and dataset.attrs["c0_creg_sizes"] == [2]
    assert dataset.attrs["c0_parameter_set"] == -1 and dataset.attrs["c0_seed"] == 42

    document = mock.process_result(dataset, "J1")
    counts = document["results"][0]["data"]["counts"]
    assert sum(counts.values()) == 1000
    assert set(counts) <= {"00", "11"} and len(counts) == 2
    assert list(counts) == sorted(counts)

    circuit = QuantumCircuit.from_qasm_str(bell_qasm)
    backend = BasicSimulator()
    direct = backend.run(transpile(circuit, backend), shots=1000, seed_simulator=42).result().get_counts()
    assert counts == direct  # {"00": 503, "11": 497} with qiskit 2.6.2

    experiment = document["results"][0]
    assert experiment["seed_simulator"] == 42
    assert experiment["header"]["name"] == "bell"
    assert experiment["header"]["creg_sizes"] == [["c", 2]]
    assert experiment["header"]["metadata"] == {
        "circuit_index": 0,
        "parameter_index": None,
        "parameter_values": None,
    }
    assert Result.from_dict(document).get_counts(0) == direct


@pytest.mark.parametrize("fixture", ["mock", "aer"])
def test_worked_example_b_two_registers_with_memory(
    fixture: str, request: pytest.FixtureRequest, two_registers_qasm: str
) -> None:
    executor = request.getfixturevalue(fixture)
    document = run(executor, job(CircuitPayload(circuit=two_registers_qasm), shots=100, memory=True))
    experiment = document["results"][0]
    assert experiment["data"]["counts"] == {"101": 100}
    assert experiment["data"]["memory"] == ["101"] * 100
    assert experiment["header"]["creg_sizes"] == [["a", 1], ["b", 2]]
    assert experiment["header"]["memory_slots"] == 3
    assert experiment["header"]["clbit_labels"] == [["a", 0], ["b", 0], ["b", 1]]
    result = Result.from_dict(document)
    assert result.get_counts(0) == {"10 1": 100}
    assert result.get_memory(0) == ["10 1"] * 100


def test_keys_keep_leading_zeros(mock: MockExecutor) -> None:
    qasm = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[3]; creg c[3]; measure q -> c;'
    document = run(mock, job(CircuitPayload(circuit=qasm), shots=10, memory=True))
    assert document["results"][0]["data"] == {"counts": {"000": 10}, "memory": ["000"] * 10}


def test_three_circuits_in_order_with_own_shots(mock: MockExecutor, bell_qasm: str) -> None:
    x_all = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; x q[0]; measure q -> c;'
    payload = job(
        CircuitPayload(circuit=bell_qasm, name="bell"),
        CircuitPayload(circuit=x_all, shots=7),
        CircuitPayload(circuit=x_all, name="third"),
        shots=50,
    )
    document = run(mock, payload)
    names = [r["header"]["name"] for r in document["results"]]
    assert names == ["bell", "circuit-1", "third"]
    assert [r["shots"] for r in document["results"]] == [50, 7, 50]
    assert document["shots"] == 50
    assert document["results"][1]["data"]["counts"] == {"1": 7}
    assert [r["header"]["metadata"]["circuit_index"] for r in document["results"]] == [0, 1, 2]
    result = Result.from_dict(document)
    assert result.get_counts(2) == {"1": 50}
    assert "seed_simulator" not in document["results"][0]  # no seed set, none reported


def test_parameter_sets_expand_in_order_with_names(mock: MockExecutor) -> None:
    payload = job(CircuitPayload(circuit=PARAMETRIZED, name="rot", parameter_values=[[0.0], [np.pi]]), shots=20, seed=1)
    dataset = mock.execute(payload)
    assert dataset.attrs["c1_parameter_set"] == 1
    assert dataset.attrs["c1_parameter_values"] == [pytest.approx(np.pi)]
    document = mock.process_result(dataset, "J1")
    first, second = document["results"]
    assert (first["header"]["name"], second["header"]["name"]) == ("rot[0]", "rot[1]")
    assert first["data"]["counts"] == {"0": 20}
    assert second["data"]["counts"] == {"1": 20}
    assert second["header"]["metadata"] == {
        "circuit_index": 0,
        "parameter_index": 1,
        "parameter_values": [pytest.approx(np.pi)],
    }


def test_missing_parameter_values_is_invalid_payload(mock: MockExecutor) -> None:
    with pytest.raises(PayloadError, match="circuit 0 has 1 unbound parameter: theta") as info:
        mock.execute(job(CircuitPayload(circuit=PARAMETRIZED)))
    assert info.value.code == "invalid_payload"


def test_circuit_wider_than_device_is_refused_before_transpiling(data_dir: Any, bell_qasm: str) -> None:
    narrow = MockExecutor(name="narrow", data_dir=data_dir, num_qubits=1)
    with pytest.raises(TooManyQubits, match="circuit 1 uses 2 qubits but this device has 1") as info:
        narrow.execute(
            job(
                CircuitPayload(circuit="OPENQASM 2.0; qreg q[1]; creg c[1]; measure q -> c;"),
                CircuitPayload(circuit=bell_qasm),
            )
        )
    assert info.value.code == "too_many_qubits" and info.value.circuit_index == 1
    assert narrow.job_report().stages.get("transpile") is None


def test_circuit_without_clbits_is_no_measurements(mock: MockExecutor) -> None:
    qasm = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; h q[0];'
    with pytest.raises(NoMeasurements) as info:
        mock.execute(job(CircuitPayload(circuit=qasm)))
    assert info.value.code == "no_measurements"


def test_declared_but_unmeasured_clbits_read_zero(mock: MockExecutor) -> None:
    qasm = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[2]; x q[0]; measure q[0] -> c[1];'
    document = run(mock, job(CircuitPayload(circuit=qasm), shots=5))
    assert document["results"][0]["data"]["counts"] == {"10": 5}


@pytest.mark.parametrize("fixture", ["mock", "aer"])
def test_level_0_is_refused_by_simulators(fixture: str, request: pytest.FixtureRequest, bell_qasm: str) -> None:
    executor = request.getfixturevalue(fixture)
    with pytest.raises(UnsupportedFeature, match="raw traces are not available from simulators"):
        executor.execute(job(CircuitPayload(circuit=bell_qasm), meas_level=0, meas_return="avg"))


def test_parse_error_carries_circuit_index(mock: MockExecutor, bell_qasm: str) -> None:
    with pytest.raises(QasmParseError) as info:
        mock.execute(job(CircuitPayload(circuit=bell_qasm), CircuitPayload(circuit="OPENQASM 2.0;\nqreg q[1;")))
    assert info.value.circuit_index == 1 and info.value.line == 2


def test_control_flow_is_refused_on_mock_and_runs_on_aer(
    mock: MockExecutor, aer: AerExecutor, control_flow_qasm: str
) -> None:
    with pytest.raises(UnsupportedFeature, match="control flow") as info:
        mock.execute(job(CircuitPayload(circuit=control_flow_qasm)))
    assert info.value.code == "unsupported_feature"
    document = run(aer, job(CircuitPayload(circuit=control_flow_qasm), shots=30, seed=5))
    assert document["results"][0]["data"]["counts"] == {"11": 30}


@pytest.mark.parametrize("meas_return", ["single", "avg"])
def test_level_1_synthetic_iq_is_seeded_and_shaped(mock: MockExecutor, meas_return: str) -> None:
    qasm = (
        'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[3]; x q[1]; measure q[0] -> c[0]; measure q[1] -> c[1];'
    )
    payload = job(CircuitPayload(circuit=qasm), shots=400, meas_level=1, meas_return=meas_return, seed=9)
    first = run(mock, payload)
    again = run(mock, payload)
    assert first["results"][0]["data"] == again["results"][0]["data"]
    experiment = first["results"][0]
    assert experiment["meas_level"] == 1 and experiment["meas_return"] == meas_return
    memory = np.asarray(experiment["data"]["memory"])
    iq = Result.from_dict(first).get_memory(0)
    if meas_return == "single":
        assert memory.shape == (400, 3, 2) and iq.shape == (400, 3)
        memory = memory.mean(axis=0)
    else:
        assert memory.shape == (3, 2) and iq.shape == (3,)
    assert memory[0] == pytest.approx([0.1, 0.05], abs=0.02)  # clbit 0 measured 0
    assert memory[1] == pytest.approx([0.9, 0.85], abs=0.02)  # clbit 1 measured 1
    assert memory[2].tolist() == [0.0, 0.0]  # clbit 2 never written
    other_seed = run(mock, msgspec.structs.replace(payload, seed=10))
    assert other_seed["results"][0]["data"] != first["results"][0]["data"]


def test_stage_times_and_warnings_are_reported(mock: MockExecutor, bell_qasm: str) -> None:
    payload = job(CircuitPayload(circuit=bell_qasm), options={"fancy": 1}, acq_threshold=0.3)
    mock.begin_job()
    mock.execute(payload)
    report = mock.job_report()
    assert report.stages["transpile"] > 0 and report.stages["execute"] > 0
    assert any("'fancy'" in warning for warning in report.warnings)
    assert any("acq_" in warning for warning in report.warnings)
    mock.begin_job()
    assert mock.job_report().warnings == ()


def test_shots_out_of_range_is_invalid_payload(data_dir: Any, bell_qasm: str) -> None:
    small = MockExecutor(name="small", data_dir=data_dir, max_shots=100)
    with pytest.raises(PayloadError, match=r"circuits\[0\]\.shots must be between 1 and 100"):
        small.execute(job(CircuitPayload(circuit=bell_qasm, shots=101), shots=10))
    with pytest.raises(PayloadError, match="shots must be between 1 and 100"):
        small.execute(job(CircuitPayload(circuit=bell_qasm), shots=1000))


def test_too_many_experiments_is_invalid_payload(data_dir: Any) -> None:
    small = MockExecutor(name="small", data_dir=data_dir, max_circuits=2)
    payload = job(CircuitPayload(circuit=PARAMETRIZED, parameter_values=[[0.1], [0.2], [0.3]]))
    with pytest.raises(PayloadError, match="3 experiments"):
        small.execute(payload)


def test_device_info_per_spec_table(mock: MockExecutor, aer: AerExecutor) -> None:
    info = mock.device_info()
    assert (info.executor, info.backend_name, info.simulator) == ("mock", "sim-1", True)
    assert info.num_qubits == 24 and info.coupling_map is None and info.dt is None
    assert {"cx", "h", "measure", "reset", "delay"} <= set(info.basis_gates)
    assert "unitary" not in info.basis_gates
    assert (info.max_shots, info.max_circuits, info.meas_levels) == (100_000, 300, [1, 2])
    assert info.supports_control_flow is False and info.versions["qiskit"]
    aer_info = aer.device_info()
    assert aer_info.supports_control_flow is True and aer_info.num_qubits == aer.backend.num_qubits
    assert "qiskit-aer" in aer_info.versions


def test_warm_up_leaves_no_job_state(mock: MockExecutor) -> None:
    mock.warm_up()
    assert mock.job_report().stages == {} and mock.job_report().warnings == ()
