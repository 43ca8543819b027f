"""qiskit_aer with a device file and a noise model (executors.md §3.2, §5, E-5.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from qiskit_aer.noise import NoiseModel, ReadoutError

from qpi.driver.executors.aer import AerExecutor
from qpi.driver.executors.base import set_launch_dir
from qpi.driver.executors.target import device_target, load_device_file
from qpi.errors import ConfigError, TooManyQubits
from qpi.protocol.payload import CircuitPayload, JobPayload

DEVICE = {
    "num_qubits": 3,
    "basis_gates": ["rz", "sx", "x", "cz", "measure", "reset", "delay"],
    "coupling_map": [[0, 1], [1, 0], [1, 2], [2, 1]],
    "instructions": [{"name": "cz", "qubits": [0, 1], "duration_s": 2e-7, "error": 0.01}],
    "qubits": [{"t1_s": 1e-4, "t2_s": 8e-5, "frequency_hz": 5e9, "readout_error": 0.1}] * 3,
}

GHZ3 = """OPENQASM 2.0; include "qelib1.inc";
qreg q[3]; creg c[3];
h q[0]; cx q[0],q[1]; cx q[1],q[2];
measure q -> c;
"""


@pytest.fixture
def device_file(tmp_path: Path) -> Path:
    path = tmp_path / "device.yml"
    path.write_text(yaml.safe_dump(DEVICE))
    return path


def test_device_file_sets_target_and_device_info(tmp_path: Path, device_file: Path) -> None:
    executor = AerExecutor(name="aer", data_dir=tmp_path, device_file=str(device_file), max_parallel_threads=1)
    info = executor.device_info()
    assert info.num_qubits == 3
    assert info.coupling_map == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert set(info.basis_gates) == {"rz", "sx", "x", "cz", "measure", "reset", "delay"}
    assert info.qubits[0].readout_error == 0.1
    target = executor.device_target
    assert target is not None and target["cz"][(0, 1)].error == 0.01
    assert target["measure"][(2,)].error == 0.1
    assert (0, 2) not in target["cz"]


def test_device_readout_noise_flips_about_ten_percent(tmp_path: Path, device_file: Path) -> None:
    executor = AerExecutor(name="aer", data_dir=tmp_path, device_file=str(device_file), max_parallel_threads=1)
    qasm = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; measure q -> c;'
    payload = JobPayload(id="J", circuits=[CircuitPayload(circuit=qasm)], shots=4000, seed=11)
    counts = executor.process_result(executor.execute(payload), "J")["results"][0]["data"]["counts"]
    assert 0.06 < counts.get("1", 0) / 4000 < 0.14


def test_device_file_width_is_enforced(tmp_path: Path, device_file: Path) -> None:
    executor = AerExecutor(name="aer", data_dir=tmp_path, device_file=str(device_file), max_parallel_threads=1)
    qasm = "OPENQASM 2.0; qreg q[4]; creg c[4]; measure q -> c;"
    with pytest.raises(TooManyQubits):
        executor.execute(JobPayload(id="J", circuits=[CircuitPayload(circuit=qasm)]))


def test_reset_and_delay_run_even_when_the_device_file_omits_them(tmp_path: Path) -> None:
    path = tmp_path / "small.yml"
    path.write_text(yaml.safe_dump({"num_qubits": 1, "basis_gates": ["x", "sx", "rz"]}))
    executor = AerExecutor(name="aer", data_dir=tmp_path, device_file=str(path), max_parallel_threads=1)
    assert {"measure", "reset", "delay"} <= set(executor.device_info().basis_gates)
    qasm = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; x q[0]; reset q[0]; x q[0]; measure q -> c;'
    payload = JobPayload(id="J", circuits=[CircuitPayload(circuit=qasm)], shots=10)
    assert executor.process_result(executor.execute(payload), "J")["results"][0]["data"]["counts"] == {"1": 10}


def test_ghz_routes_over_the_coupling_map(tmp_path: Path, device_file: Path) -> None:
    clean = dict(DEVICE, qubits=[], instructions=[])
    path = tmp_path / "clean.json"
    path.write_text(json.dumps(clean))
    executor = AerExecutor(name="aer", data_dir=tmp_path, device_file=str(path), max_parallel_threads=1)
    payload = JobPayload(id="J", circuits=[CircuitPayload(circuit=GHZ3)], shots=200, seed=3)
    counts = executor.process_result(executor.execute(payload), "J")["results"][0]["data"]["counts"]
    assert set(counts) == {"000", "111"} and sum(counts.values()) == 200


def test_relative_paths_resolve_against_the_launch_dir(
    tmp_path: Path, device_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "workers" / "0"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    set_launch_dir(tmp_path)
    try:
        executor = AerExecutor(name="aer", data_dir=tmp_path, device_file="device.yml", max_parallel_threads=1)
    finally:
        set_launch_dir(None)
    assert executor.device_info().num_qubits == 3


def test_noise_model_file_is_applied(tmp_path: Path) -> None:
    model = NoiseModel()
    model.add_all_qubit_readout_error(ReadoutError([[0.0, 1.0], [1.0, 0.0]]))  # always flips
    path = tmp_path / "noise.json"
    path.write_text(json.dumps(model.to_dict(serializable=True)))
    executor = AerExecutor(name="aer", data_dir=tmp_path, noise_model=str(path), max_parallel_threads=1)
    qasm = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; measure q -> c;'
    payload = JobPayload(id="J", circuits=[CircuitPayload(circuit=qasm)], shots=50)
    assert executor.process_result(executor.execute(payload), "J")["results"][0]["data"]["counts"] == {"11": 50}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"basis_gates": ["bogus"]}, "not a Qiskit standard gate name"),
        ({"coupling_map": [[0, 5]]}, "coupling_map pair"),
        ({"qubits": [{}]}, "'qubits' has 1 entries for 3 qubits"),
        ({"num_qubits": "many"}, "num_qubits"),
    ],
)
def test_bad_device_files_are_config_errors(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump({**DEVICE, **change}))
    with pytest.raises(ConfigError, match=expected):
        device_target(load_device_file(path))


def test_num_qubits_contradicting_the_device_file(tmp_path: Path, device_file: Path) -> None:
    with pytest.raises(ConfigError, match="contradicts the device file"):
        AerExecutor(name="aer", data_dir=tmp_path, device_file=str(device_file), num_qubits=5)


def test_all_to_all_target_is_global(tmp_path: Path) -> None:
    path = tmp_path / "a2a.yml"
    path.write_text(yaml.safe_dump({"num_qubits": 2, "basis_gates": ["cx", "h", "ccx"]}))
    target = device_target(load_device_file(path))
    assert target.instruction_supported("cx", (1, 0)) and target.instruction_supported("measure", (1,))
