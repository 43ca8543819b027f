"""Placing native operations in a schedule (E-3.6).

Every repetition starts with a ``Reset`` of all used qubits (passive reset for ``reset.duration``).
A run of consecutive ``measure`` instructions on different qubits is anchored to start together
(parallel readout); the operation after the run waits for its longest measurement. Every other
operation follows circuit order, one after another.

A raw trace (level 0) can be recorded for one measurement per acquisition channel and per readout
module at a time, so a level-0 experiment with several measurements runs in passes
(:func:`trace_passes`): each pass records one measurement as a trace and keeps the others as
averaged integrations (``discard``) so that every pass plays the same pulses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from qpi.driver.executors.hardware.backend import HardwareBackend
from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.gates import ConvertedCircuit, Measure, NativeOp, Reset
from qpi.driver.executors.hardware.readout import MeasureSetting

__all__ = ["TracePass", "build_schedule", "trace_passes"]

_DISCARDED = MeasureSetting(level=1, meas_return="avg")


@dataclasses.dataclass(frozen=True)
class TracePass:
    """One level-0 pass: the circuit as scheduled, its traced measurement and the original one."""

    converted: ConvertedCircuit
    traced: Measure
    original: Measure


def trace_passes(converted: ConvertedCircuit) -> list[TracePass]:
    """One pass per measurement; the traced one keeps its channel, the others are discarded."""
    passes: list[TracePass] = []
    for original in converted.measures:
        ops: list[NativeOp] = []
        discard_counts: dict[int, int] = {}
        traced = original
        for op in converted.ops:
            if not isinstance(op, Measure):
                ops.append(op)
            elif op is original:
                traced = dataclasses.replace(op, acq_index=0)
                ops.append(traced)
            else:
                index = discard_counts.get(op.qubit, 0)
                discard_counts[op.qubit] = index + 1
                ops.append(dataclasses.replace(op, acq_index=index, discard=True))
        circuit = ConvertedCircuit(tuple(ops), (traced,), converted.used_qubits)
        passes.append(TracePass(circuit, traced, original))
    return passes


def build_schedule(
    backend: HardwareBackend,
    converted: ConvertedCircuit,
    settings: Mapping[int, MeasureSetting],
    spec: DeviceSpec,
    *,
    name: str,
    shots: int,
) -> Any:
    """The schedule of one experiment, repeated ``shots`` times."""

    def measure(op: Measure) -> Any:
        return backend.measure(op, _DISCARDED if op.discard else settings[op.qubit])

    schedule = backend.new_schedule(name, shots)
    last = schedule.add(backend.operation(Reset(converted.used_qubits)))
    ops = converted.ops
    i = 0
    while i < len(ops):
        op = ops[i]
        if not isinstance(op, Measure):
            last = schedule.add(backend.operation(op), ref_op=last)
            i += 1
            continue
        first = schedule.add(measure(op), ref_op=last)
        longest, longest_s = first, spec.qubits[op.qubit].measure_duration
        seen = {op.qubit}
        i += 1
        while i < len(ops):
            nxt = ops[i]
            if not isinstance(nxt, Measure) or nxt.qubit in seen:
                break
            added = schedule.add(measure(nxt), ref_op=first, ref_pt="start", rel_time=0)
            seen.add(nxt.qubit)
            duration = spec.qubits[nxt.qubit].measure_duration
            if duration > longest_s:
                longest, longest_s = added, duration
            i += 1
        last = longest
    return schedule
