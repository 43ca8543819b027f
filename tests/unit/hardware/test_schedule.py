"""Placing operations: reset first, parallel readout, circuit order, level-0 passes.

A recording backend stands in for a scheduling library at the ``HardwareBackend`` seam.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qiskit.circuit import QuantumCircuit

from qpi.driver.executors.hardware.backend import AcqTarget, Acquisitions, HardwareBackend
from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.gates import Gate, Measure, NativeOp, Reset, convert_circuit
from qpi.driver.executors.hardware.readout import MeasureSetting
from qpi.driver.executors.hardware.schedule import build_schedule, trace_passes

from .conftest import spec_of


@dataclass
class Added:
    index: int
    item: Any
    ref_op: Any
    ref_pt: str | None
    rel_time: float


@dataclass
class RecordingSchedule:
    name: str
    repetitions: int
    added: list[Added] = field(default_factory=list)

    def add(self, operation: Any, rel_time: float = 0, ref_op: Any = None, ref_pt: str | None = None) -> Added:
        entry = Added(len(self.added), operation, ref_op, ref_pt, rel_time)
        self.added.append(entry)
        return entry


class RecordingBackend(HardwareBackend):
    library = "recording"

    @property
    def clusters(self) -> Mapping[str, Any]:
        return {}

    def device_compilation_config(self) -> Any:
        return None

    def new_schedule(self, name: str, repetitions: int) -> RecordingSchedule:
        return RecordingSchedule(name, repetitions)

    def operation(self, op: NativeOp) -> Any:
        return op

    def measure(self, op: Measure, setting: MeasureSetting) -> Any:
        return (op, setting)

    def compile(self, schedule: Any) -> Any:
        return schedule

    def run(
        self, compiled: Any, *, timeout_s: float, measures: Sequence[Measure], settings: Mapping[int, MeasureSetting]
    ) -> Acquisitions:
        return {}

    def acquisition_targets(self, compiled: Any) -> dict[int, list[AcqTarget]]:
        return {}

    def close(self) -> None:
        return None


SETTING = MeasureSetting(level=2, meas_return="single", effective_threshold=0.0)


def schedule_of(circuit: QuantumCircuit, spec: DeviceSpec) -> RecordingSchedule:
    converted = convert_circuit(circuit, spec, executor="test")
    settings = {q: SETTING for q in converted.used_qubits}
    schedule = build_schedule(RecordingBackend(), converted, settings, spec, name="exp", shots=7)
    assert isinstance(schedule, RecordingSchedule)
    return schedule


def test_every_repetition_starts_with_a_reset_of_the_used_qubits(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(3, 1)
    qc.x(2)
    qc.measure(0, 0)
    schedule = schedule_of(qc, example_spec)
    assert (schedule.name, schedule.repetitions) == ("exp", 7)
    assert schedule.added[0].item == Reset((0, 2))
    assert schedule.added[1].item == Gate("X", 2) and schedule.added[1].ref_op is schedule.added[0]


def test_consecutive_measurements_start_together_and_the_next_op_waits_for_the_longest(device: dict[str, Any]) -> None:
    device["q1"]["measure"]["integration_time"] = 3e-6  # q1 reads out longest
    spec = spec_of(device)
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.measure([0, 1, 2], [0, 1, 2])
    qc.x(0)
    schedule = schedule_of(qc, spec)
    h, m0, m1, m2, x = schedule.added[1:]
    assert m0.ref_op is h and m0.ref_pt is None
    assert (m1.ref_op, m1.ref_pt, m1.rel_time) == (m0, "start", 0)
    assert (m2.ref_op, m2.ref_pt) == (m0, "start")
    assert x.item == Gate("X", 0) and x.ref_op is m1


def test_a_second_measurement_of_the_same_qubit_is_not_parallel(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(1, 2)
    qc.measure(0, 0)
    qc.measure(0, 1)
    schedule = schedule_of(qc, example_spec)
    first, second = schedule.added[1:]
    assert second.ref_op is first and second.ref_pt is None
    assert [m[0].acq_index for m in (first.item, second.item)] == [0, 1]


def test_level_0_runs_one_pass_per_measurement(example_spec: DeviceSpec) -> None:
    qc = QuantumCircuit(2, 3)
    qc.measure(0, 0)
    qc.measure(1, 1)
    qc.measure(0, 2)
    converted = convert_circuit(qc, example_spec, executor="test")
    passes = trace_passes(converted)
    assert [p.original for p in passes] == list(converted.measures)
    last = passes[2]
    # the traced measurement restarts its channel's count; the others are discarded, counted apart
    assert last.traced == Measure(0, 2, 0)
    assert [op for op in last.converted.ops if isinstance(op, Measure)] == [
        Measure(0, 0, 0, discard=True),
        Measure(1, 1, 0, discard=True),
        Measure(0, 2, 0),
    ]
    assert last.converted.measures == (last.traced,)
    # discarded measurements are averaged integrations in the schedule
    schedule = build_schedule(
        RecordingBackend(), last.converted, {0: SETTING, 1: SETTING}, example_spec, name="p", shots=1
    )
    kinds = [entry.item[1].level for entry in schedule.added[1:]]
    assert kinds == [1, 1, 2]
