"""Virtual Z rotations folded into pulse phases (frame tracking)."""

from __future__ import annotations

from typing import Any

from qiskit.circuit import QuantumCircuit

from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.frames import track_frames
from qpi.driver.executors.hardware.gates import CZ, Measure, Reset, Rxy, convert_circuit

from .conftest import spec_of


def framed(circuit: QuantumCircuit, spec: DeviceSpec, *, cz_corrections: bool = False) -> Any:
    return track_frames(convert_circuit(circuit, spec, executor="test"), spec, cz_corrections=cz_corrections)


def test_a_z_rotation_turns_the_axis_of_later_pulses(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(1, 1)
    qc.rz(1.5707963267948966, 0)  # 90 degrees
    qc.sx(0)
    qc.x(0)
    qc.measure(0, 0)
    result = framed(qc, example_spec)
    assert result.circuit.ops == (Rxy(90, 270, 0), Rxy(180, 270, 0), Measure(0, 0, 0))
    assert result.final_frames == {0: 90.0}


def test_phase_gates_and_h(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(1)
    qc.s(0)
    qc.t(0)
    qc.h(0)
    qc.y(0)
    result = framed(qc, example_spec)
    # S+T = 135; H = Z (315 in all) then Ry(90) at 90-315; Y at 90-315
    assert result.circuit.ops == (Rxy(90, 135, 0), Rxy(180, 135, 0))
    assert result.final_frames == {0: 315.0}


def test_frames_survive_cz_reset_and_measure(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(2, 1)
    qc.z(0)
    qc.cz(0, 1)
    qc.measure(0, 0)
    qc.reset(0)
    qc.sx(0)
    ops = framed(qc, example_spec).circuit.ops
    assert ops == (CZ(0, 1), Measure(0, 0, 0), Reset((0,)), Rxy(90, 180, 0))


def test_cz_corrections_are_folded_only_when_the_library_undoes_them(device: dict[str, Any]) -> None:
    device["q0_q1"]["cz"]["q0_phase_correction"] = 30.0
    device["q0_q1"]["cz"]["q1_phase_correction"] = "-10"
    spec = spec_of(device)
    qc = QuantumCircuit(2)
    qc.cz(1, 0)
    qc.sx(0)
    qc.sx(1)
    kept = framed(qc, spec, cz_corrections=False)
    assert kept.circuit.ops[1:] == (Rxy(90, 0, 0), Rxy(90, 0, 1))  # the library's NCO shifts apply
    folded = framed(qc, spec, cz_corrections=True)
    # an NCO shift of +p on later pulses is a frame of -p: pulse phase 0 - (-p) = p
    assert folded.circuit.ops[1:] == (Rxy(90, 30, 0), Rxy(90, 350, 1))
    assert folded.final_frames == {0: 330.0, 1: 10.0}
