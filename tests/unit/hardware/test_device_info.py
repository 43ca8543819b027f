"""DeviceInfo of a hardware executor from its device file (executors.md §5)."""

from __future__ import annotations

from typing import Any

import msgspec
from qiskit.transpiler import Target

from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.device_info import build_device_info, gate_duration
from qpi.protocol.payload import DeviceInfo

from .conftest import spec_of


def info_of(spec: DeviceSpec, basis: tuple[str, ...] = ("rz", "sx", "x", "cz")) -> DeviceInfo:
    return build_device_info(
        spec,
        executor="quantify",
        backend_name="qpu-1",
        basis=basis,
        max_shots=10_000,
        max_circuits=300,
        versions={"qpi": "0"},
    )


def test_fields_follow_the_spec_table(example_spec: DeviceSpec) -> None:
    info = info_of(example_spec)
    assert (info.executor, info.backend_name, info.simulator) == ("quantify", "qpu-1", False)
    assert info.num_qubits == 3 and info.qubit_labels == ["q0", "q1", "q2"]
    assert info.basis_gates == ["rz", "sx", "x", "cz", "measure", "reset", "delay"]
    assert info.coupling_map == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert (info.dt, info.max_shots, info.max_circuits) == (1e-9, 10_000, 300)
    assert info.meas_levels == [0, 1, 2] and info.supports_control_flow is False
    assert [q.frequency_hz for q in info.qubits] == [4.8e9, 4.9e9, 5.0e9]
    assert all(q.t1_s is None and q.t2_s is None for q in info.qubits)
    assert info.calibrated_at is None  # parsed from a dict, not a file


def test_durations_come_from_the_device_file(example_spec: DeviceSpec) -> None:
    durations = {(i.name, tuple(i.qubits)): i.duration_s for i in info_of(example_spec).instructions}
    assert durations[("sx", (0,))] == 40e-9
    assert durations[("rz", (2,))] == 0.0
    assert durations[("cz", (0, 1))] == durations[("cz", (1, 0))] == 40e-9
    assert durations[("cz", (2, 1))] == 60e-9
    assert durations[("measure", (1,))] == 100e-9 + 1e-6  # acq_delay + integration_time
    assert durations[("reset", (2,))] == 200e-6


def test_cx_in_the_basis_costs_two_pulses_and_a_cz(example_spec: DeviceSpec) -> None:
    assert gate_duration("cx", (0, 1), example_spec) == 2 * 40e-9 + 40e-9
    assert gate_duration("cx", (0, 2), example_spec) is None  # no edge


def test_unknown_frequencies_are_left_out(device: dict[str, Any]) -> None:
    del device["q1"]["clock_freqs"]["f01"]
    info = info_of(spec_of(device))
    assert info.qubits[1].frequency_hz is None


def test_device_info_round_trips_and_builds_a_qiskit_target(example_spec: DeviceSpec) -> None:
    info = info_of(example_spec)
    decoded = msgspec.json.decode(msgspec.json.encode(info), type=DeviceInfo)
    assert decoded == info
    from qpi.driver.executors.target import device_target

    target = device_target(info)
    assert isinstance(target, Target) and target.num_qubits == 3
    assert set(target["cz"]) == {(0, 1), (1, 0), (1, 2), (2, 1)}
