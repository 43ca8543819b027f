"""Both hardware executors end to end on the dummy cluster (executors.md §3.3, §3.4).

Bell, GHZ-3 and a parametrized circuit at every level; per-qubit discrimination with injected
dummy data; the coupler; compile-only checks that still run where the assembler cannot (E-3.12).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from qiskit.result import Result

from qpi.driver.executors.dataset import LAYOUT, write_dataset
from qpi.driver.executors.hardware.assembler import dummy_run_unavailable_reason
from qpi.driver.executors.hardware.backend import AcqTarget
from qpi.driver.executors.hardware.clusters import quiet_libraries
from qpi.driver.executors.hardware.executor import CompiledExperiment, HardwareExecutor
from qpi.errors import CalibrationMissing, CouplingViolation, TooManyQubits, UnsupportedFeature, UnsupportedGate
from qpi.protocol.payload import AcqOverride, CircuitPayload, JobPayload

from .conftest import BELL, GHZ3, PARAMETRIZED

pytestmark = pytest.mark.hardware

_NO_RUNS = dummy_run_unavailable_reason()
# E-3.12: where the bundled assembler cannot run, dummy runs are skipped with the reason.
needs_dummy_runs = pytest.mark.skipif(_NO_RUNS is not None, reason=_NO_RUNS or "")

Injector = Callable[[HardwareExecutor, list[AcqTarget], list[int]], None]


def run(executor: HardwareExecutor, payload: JobPayload) -> tuple[xr.Dataset, dict[str, Any], Result]:
    executor.begin_job()
    dataset = executor.execute(payload)
    document = executor.process_result(dataset, payload.id)
    return dataset, document, Result.from_dict(document)


def one_qubit(gates: str, clbits: int = 1) -> str:
    return f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[{clbits}];\n{gates}\nmeasure q[0] -> c[0];\n'


@pytest.fixture
def inject(executor: HardwareExecutor) -> Iterator[Injector]:
    """Put thresholded bits into the dummy cluster's bins; removed again after the test."""
    from qblox_instruments.ieee488_2.dummy_transport import DummyBinnedAcquisitionData

    used: list[AcqTarget] = []

    def put(target_executor: HardwareExecutor, targets: list[AcqTarget], bits: list[int]) -> None:
        for target in targets:
            data = [DummyBinnedAcquisitionData(data=(0.01 * b, -0.02), thres=b, avg_cnt=0) for b in bits]
            target_executor.clusters[target.cluster].set_dummy_binned_acquisition_data(
                target.slot, target.sequencer, target.acq_index_name, data
            )
            used.append(target)

    yield put
    # Remove each sequencer's whole entry: qblox-instruments 1.1.1 would otherwise replace the
    # sequencer's acquisitions by an empty dict on the next start.
    for target in used:
        executor.clusters[target.cluster].delete_dummy_binned_acquisition_data(target.slot, target.sequencer, None)


def sequencer_settings(compiled: CompiledExperiment) -> dict[tuple[int, int], Any]:
    """(slot, sequencer) → the compiled sequencer settings of the first pass."""
    out: dict[tuple[int, int], Any] = {}
    for instructions in compiled.compiled.compiled_instructions.values():
        for module, content in instructions.items():
            if isinstance(content, dict) and "sequencers" in content:
                slot = int(module.rsplit("module", 1)[1])
                for name, settings in content["sequencers"].items():
                    out[(slot, int(name.removeprefix("seq")))] = settings
    return out


# --- compile-only (run even where the assembler cannot) ----------------------------------------


def test_every_used_sequencer_gets_a_program(executor: HardwareExecutor) -> None:
    compiled = executor.compile_experiment(GHZ3, shots=10)
    programs = {key: s.sequence["program"] for key, s in sequencer_settings(compiled).items()}
    assert programs, "no sequencer was programmed"
    assert all("stop" in program and "loop" in program for program in programs.values())
    # drive (slots 2 and 5), flux for the q0_q1 CZ (slot 4), coupler (slot 5) and readout (slot 3)
    assert {slot for slot, _ in programs} == {2, 3, 4, 5}
    readout = executor.acquisition_targets(compiled)
    assert sorted(readout) == [0, 1, 2] and all(t.slot == 3 for ts in readout.values() for t in ts)


def test_each_qubit_is_thresholded_with_its_own_calibration(executor: HardwareExecutor) -> None:
    compiled = executor.compile_experiment(BELL, shots=5)
    settings = sequencer_settings(compiled)
    targets = executor.acquisition_targets(compiled)
    samples = 1000  # integration_time 1 us at 1 GS/s: the hardware threshold is per sample sum
    for qubit, threshold, rotation in ((0, 0.002, 12.5), (1, -0.001, 320.0)):
        (target,) = targets[qubit]
        sequencer = settings[(target.slot, target.sequencer)]
        assert sequencer.thresholded_acq_threshold == pytest.approx(threshold * samples)
        assert sequencer.thresholded_acq_rotation == pytest.approx(rotation)
    # a per-qubit override in the job changes that qubit only; the job-wide one every qubit
    job = JobPayload(
        id="j", circuits=[], acq_threshold=0.005, acq_overrides={1: AcqOverride(threshold=0.003, rotation_deg=90.0)}
    )
    overridden = executor.compile_experiment(BELL, shots=5, payload=job)
    settings = sequencer_settings(overridden)
    targets = executor.acquisition_targets(overridden)
    assert settings[(targets[0][0].slot, targets[0][0].sequencer)].thresholded_acq_threshold == pytest.approx(5.0)
    q1 = settings[(targets[1][0].slot, targets[1][0].sequencer)]
    assert (q1.thresholded_acq_threshold, q1.thresholded_acq_rotation) == (pytest.approx(3.0), pytest.approx(90.0))


@pytest.mark.parametrize(("gate", "angle"), [("z", 180), ("s", 90), ("sdg", -90), ("t", 45), ("tdg", -45)])
def test_virtual_z_gates_compile_to_the_same_phase_as_rz(executor: HardwareExecutor, gate: str, angle: float) -> None:
    def drive_program(gates: str) -> str:
        compiled = executor.compile_experiment(one_qubit(gates + "\nx q[0];"), transpile=False)
        return str(sequencer_settings(compiled)[(2, 0)].sequence["program"])

    assert drive_program(f"{gate} q[0];") == drive_program(f"rz({math.radians(angle)!r}) q[0];")
    # a virtual Z turns the axis of the next pulse (the frame is tracked in software)
    assert drive_program(f"{gate} q[0];") != drive_program("")
    assert drive_program("s q[0];") != drive_program("t q[0];")


def test_the_coupler_pulses_on_its_own_port_and_clock(executor: HardwareExecutor) -> None:
    with quiet_libraries():
        config = executor.backend.device_compilation_config()
    kwargs = config.edges["q1_q2"]["CZ"].factory_kwargs
    assert (kwargs["square_port"], kwargs["square_clock"]) == ("q1_q2:fl", "q1_q2.cz")
    assert kwargs["square_clock_freq"] == 3.9e9
    assert config.edges["q0_q1"]["CZ"].factory_kwargs["square_port"] == "q0:fl"
    compiled = executor.compile_experiment(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[1];\ncz q[2],q[1];\nmeasure q[1] -> c[0];\n',
        transpile=False,
    )
    assert compiled.compiled.resources["q1_q2.cz"]["freq"] == 3.9e9
    # the only pulse on slot 5 (which also drives q2) is the coupler's square pulse
    programs = [s.sequence["program"] for (slot, _), s in sequencer_settings(compiled).items() if slot == 5]
    assert any("play" in program for program in programs)


def test_cz_works_in_either_orientation_without_transpiling(executor: HardwareExecutor) -> None:
    base = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[2];\n'
    executor.compile_experiment(base + "cz q[1],q[0];\nmeasure q[0] -> c[0];\n", transpile=False)
    with pytest.raises(CouplingViolation, match="q0 and q2"):
        executor.compile_experiment(base + "cz q[0],q[2];\nmeasure q[0] -> c[0];\n", transpile=False)
    with pytest.raises(UnsupportedGate, match=f"'rzz' is not supported by the {executor.kind} executor"):
        executor.compile_experiment(base + "rzz(0.1) q[0],q[1];\nmeasure q[0] -> c[0];\n", transpile=False)


def test_device_info_describes_the_example(executor: HardwareExecutor) -> None:
    info = executor.device_info()
    assert (info.executor, info.num_qubits, info.simulator) == (executor.kind, 3, False)
    assert info.basis_gates == ["rz", "sx", "x", "cz", "measure", "reset", "delay"]
    assert info.coupling_map == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert info.meas_levels == [0, 1, 2] and info.max_shots == 10_000
    library = "quantify-scheduler" if executor.kind == "quantify" else "qblox-scheduler"
    assert library in info.versions and info.versions["qblox-instruments"] == "1.1.1"


def test_job_problems_are_reported_with_their_codes(executor: HardwareExecutor) -> None:
    wide = BELL.replace("qreg q[2]", "qreg q[4]").replace("creg c[2]", "creg c[4]")
    with pytest.raises(TooManyQubits):
        executor.execute(JobPayload(id="j", circuits=[CircuitPayload(circuit=wide)]))
    nan = JobPayload(
        id="j", circuits=[CircuitPayload(circuit=BELL)], acq_overrides={1: AcqOverride(threshold=math.nan)}
    )
    with pytest.raises(CalibrationMissing, match="qubit q1") as info:
        executor.execute(nan)
    assert info.value.circuit_index == 0
    single = JobPayload(id="j", circuits=[CircuitPayload(circuit=BELL)], meas_level=0)
    with pytest.raises(UnsupportedFeature, match="meas_return 'single'"):
        executor.execute(single)


# --- runs on the dummy cluster ---------------------------------------------------------------


@needs_dummy_runs
def test_warm_up_ran_the_self_test(executor: HardwareExecutor) -> None:
    assert executor._self_tested


CIRCUITS = {
    "bell": (CircuitPayload(circuit=BELL, name="bell"), 2),
    "ghz3": (CircuitPayload(circuit=GHZ3, name="ghz3"), 3),
    "parametrized": (CircuitPayload(circuit=PARAMETRIZED, name="param", parameter_values=[[0.1, 0.2], [1.5, -0.3]]), 2),
}
LEVELS = [(2, "single"), (1, "single"), (1, "avg"), (0, "avg")]


@needs_dummy_runs
@pytest.mark.parametrize("circuit", list(CIRCUITS))
@pytest.mark.parametrize(("level", "meas_return"), LEVELS)
def test_circuits_at_every_level(executor: HardwareExecutor, circuit: str, level: int, meas_return: str) -> None:
    entry, width = CIRCUITS[circuit]
    shots = 50
    payload = JobPayload(
        id="job-1",
        circuits=[entry],
        shots=shots,
        meas_level=level,  # type: ignore[arg-type]
        meas_return=meas_return,  # type: ignore[arg-type]
        memory=True,
    )
    dataset, document, result = run(executor, payload)
    experiments = len(entry.parameter_values or [None])
    assert dataset.attrs["qpi_layout"] == LAYOUT and dataset.attrs["n_experiments"] == experiments
    assert dataset.attrs["executor"] == executor.kind and dataset.attrs["meas_level"] == level
    assert dataset.attrs["c0_measured_qubits"] == list(range(width))
    assert document["success"] is True and len(document["results"]) == experiments
    for index in range(experiments):
        assert result.results[index].header["memory_slots"] == width
        if level == 2:
            counts = result.get_counts(index)
            assert sum(counts.values()) == shots
            assert all(len(key) == width for key in counts)  # full width keys
            assert len(result.get_memory(index)) == shots
        elif level == 1:
            memory = np.asarray(result.get_memory(index))
            assert memory.shape == ((shots, width) if meas_return == "single" else (width,))
        else:
            memory = np.asarray(result.get_memory(index))
            assert memory.shape[0] == width and memory.ndim == 2 and memory.shape[1] > 0
    if circuit == "parametrized":
        assert [r.header["name"] for r in result.results] == ["param[0]", "param[1]"]
        assert document["results"][1]["header"]["metadata"]["parameter_values"] == [1.5, -0.3]


@needs_dummy_runs
def test_injected_bits_come_back_on_each_qubit(executor: HardwareExecutor, inject: Injector) -> None:
    shots = 100
    targets = executor.acquisition_targets(executor.compile_experiment(BELL, shots=shots))
    q0 = [1] * shots
    q1 = [k % 2 for k in range(shots)]
    inject(executor, targets[0], q0)
    inject(executor, targets[1], q1)
    payload = JobPayload(id="j", circuits=[CircuitPayload(circuit=BELL)], shots=shots, memory=True)
    _, _, result = run(executor, payload)
    assert result.get_counts(0) == {"01": 50, "11": 50}  # clbit 0 (q0) is the rightmost character
    assert result.get_memory(0)[:4] == ["01", "11", "01", "11"]
    assert executor.job_report().warnings == ()


@needs_dummy_runs
def test_a_qubit_measured_twice_fills_both_clbits(executor: HardwareExecutor, inject: Injector) -> None:
    circuit = one_qubit("measure q[0] -> c[1];\nx q[0];", clbits=2)  # c1 first, then c0
    shots = 6
    (target,) = executor.acquisition_targets(executor.compile_experiment(circuit, shots=shots))[0]
    inject(executor, [target], [1, 0] * shots)  # per shot: first measurement 1, second 0
    _, _, result = run(executor, JobPayload(id="j", circuits=[CircuitPayload(circuit=circuit)], shots=shots))
    assert result.get_counts(0) == {"10": shots}


@needs_dummy_runs
def test_shots_without_data_count_as_zero_with_a_warning(executor: HardwareExecutor) -> None:
    payload = JobPayload(id="j", circuits=[CircuitPayload(circuit=BELL)], shots=20)
    _, _, result = run(executor, payload)
    assert result.get_counts(0) == {"00": 20}
    assert executor.job_report().warnings == ("20 shots had no data for q0", "20 shots had no data for q1")


@needs_dummy_runs
def test_level_0_records_a_trace_per_measured_qubit(executor: HardwareExecutor) -> None:
    from qblox_instruments.ieee488_2.dummy_transport import DummyScopeAcquisitionData

    cluster = executor.clusters["cluster0"]
    cluster.set_dummy_scope_acquisition_data(
        3, None, DummyScopeAcquisitionData(data=[(0.5, -0.25)] * 16384, out_of_range=(False, False), avg_cnt=(0, 0))
    )
    try:
        payload = JobPayload(id="j", circuits=[CircuitPayload(circuit=BELL)], shots=10, meas_level=0, meas_return="avg")
        dataset, _, result = run(executor, payload)
    finally:
        cluster.delete_dummy_scope_acquisition_data(3, None)
    trace = dataset["c0_trace"].values
    assert trace.shape == (2, 1000, 2)  # one 1 us trace per clbit, from two passes
    assert np.allclose(trace[..., 0], 0.5) and np.allclose(trace[..., 1], -0.25)
    assert dataset.coords["c0_sample"].values[1] == pytest.approx(1e-9)
    memory = result.get_memory(0)
    assert memory.shape == (2, 1000) and memory[0][0] == pytest.approx(0.5 - 0.25j)


@needs_dummy_runs
def test_datasets_are_netcdf_safe(executor: HardwareExecutor, tmp_path: Path) -> None:
    for level, meas_return in ((2, "single"), (0, "avg")):
        payload = JobPayload(
            id="j",
            circuits=[CircuitPayload(circuit=BELL)],
            shots=5,
            meas_level=level,  # type: ignore[arg-type]
            meas_return=meas_return,  # type: ignore[arg-type]
        )
        dataset, _, _ = run(executor, payload)
        path = write_dataset(dataset, tmp_path, f"j{level}", 1)
        with xr.open_dataset(path, engine="h5netcdf") as loaded:
            assert loaded.attrs["meas_level"] == level
