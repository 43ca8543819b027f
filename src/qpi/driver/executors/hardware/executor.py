"""The pipeline shared by the ``quantify`` and ``qblox`` executors (``executors.md`` §3.3, §3.4).

Construction validates the options, finds and loads both config files, builds the backend's
device and clusters (:class:`~qpi.driver.executors.hardware.backend.HardwareBackend`) and the
transpiler. :meth:`HardwareExecutor.warm_up` runs the self-test: one CZ per edge is compiled
(E-3.9, a failure names the edge) and, in dummy mode, a one-shot schedule is compiled and run
(E-3.11, with the glibc message when the bundled assembler cannot run).

Per experiment (E-3.4 … E-3.6): parse and bind (:mod:`.experiments`), transpile (cached pass
manager), convert gate by gate (:mod:`.gates`), fold virtual Z rotations into pulse phases
(:mod:`.frames`), plan the readout (:mod:`.readout`), build the schedule (:mod:`.schedule`),
compile, run, and fill the ``qpi.dataset/1`` arrays (:mod:`.acquisition`).
"""

from __future__ import annotations

import logging
import math
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from qpi import qasm
from qpi.driver.executors.base import Executor
from qpi.driver.executors.dataset import CircuitLayout, ExperimentRecord
from qpi.driver.executors.expansion import Experiment, expand_payload
from qpi.driver.executors.hardware.acquisition import assemble
from qpi.driver.executors.hardware.assembler import assembler_glibc_message
from qpi.driver.executors.hardware.backend import AcqTarget, HardwareBackend
from qpi.driver.executors.hardware.clusters import quiet_libraries
from qpi.driver.executors.hardware.device_config import DeviceSpec, load_device_config
from qpi.driver.executors.hardware.device_info import build_device_info, library_versions
from qpi.driver.executors.hardware.frames import track_frames
from qpi.driver.executors.hardware.gates import CZ, ConvertedCircuit, Measure, convert_circuit
from qpi.driver.executors.hardware.hardware_config import ClusterInfo, clusters_of, load_hardware_config
from qpi.driver.executors.hardware.options import HardwareOptions, parse_basis, resolve_config_paths
from qpi.driver.executors.hardware.readout import MeasureSetting, plan_readout
from qpi.driver.executors.hardware.schedule import build_schedule, trace_passes
from qpi.driver.executors.hardware.transpile import NativeTranspiler
from qpi.driver.executors.pipeline import run_experiments, warn_unused_options
from qpi.errors import ConfigError, QPIError
from qpi.protocol.payload import DeviceInfo, JobPayload

if TYPE_CHECKING:
    import xarray as xr
    from qiskit.circuit import QuantumCircuit

__all__ = ["DEFAULT_ACQ_TIMEOUT_S", "CompiledExperiment", "CompiledPass", "HardwareExecutor"]

logger = logging.getLogger(__name__)

#: wait_done timeout when neither ``acquisition_timeout`` nor the job's timeout is known
DEFAULT_ACQ_TIMEOUT_S = 300.0

_WARM_UP_QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\n'


@dataclass(frozen=True)
class CompiledPass:
    """One compiled schedule; ``measures`` (as scheduled) return the data of ``originals``."""

    schedule: Any
    compiled: Any
    measures: tuple[Measure, ...]
    originals: tuple[Measure, ...]


@dataclass(frozen=True)
class CompiledExperiment:
    """One circuit taken down to compiled schedules (see :meth:`HardwareExecutor.compile_experiment`).

    Levels 1 and 2 need one pass; level 0 runs one pass per measurement when there are several
    (a raw trace is recorded for one measurement per channel and readout module at a time).
    """

    executed: QuantumCircuit
    converted: ConvertedCircuit
    settings: Mapping[int, MeasureSetting]
    passes: tuple[CompiledPass, ...]

    @property
    def compiled(self) -> Any:
        """The compiled schedule of the first pass."""
        return self.passes[0].compiled


class HardwareExecutor(Executor):
    """Base of the executors that drive Qblox clusters; subclasses provide the backend."""

    Options: ClassVar[type[HardwareOptions]] = HardwareOptions
    #: the ``qpi[<extra>]`` that installs the backend's libraries
    extra: ClassVar[str]
    #: top-level modules the backend imports
    libraries: ClassVar[tuple[str, ...]]
    #: distributions reported in ``DeviceInfo.versions``
    distributions: ClassVar[tuple[str, ...]]

    options: HardwareOptions

    def __init__(self, *, name: str, data_dir: Path, **options: Any) -> None:
        super().__init__(name=name, data_dir=data_dir, **options)
        opts = self.options
        if opts.workers != 1:
            raise ConfigError(
                f"the {self.kind} executor drives one set of instruments: --workers must be 1, not {opts.workers}"
            )
        missing = [module for module in self.libraries if util.find_spec(module) is None]
        if missing:
            raise ConfigError(
                f"the {self.kind} executor needs {', '.join(missing)}; install it with pip install 'qpi[{self.extra}]'"
            )
        #: The job's timeout, when the driver tells (used when acquisition_timeout is unset).
        self.job_timeout_s: float | None = None
        self.basis = parse_basis(opts.basis, executor=self.kind)
        self.device_path, self.hardware_path = resolve_config_paths(opts)
        self.spec: DeviceSpec = load_device_config(self.device_path)
        hardware = load_hardware_config(self.hardware_path)
        self.cluster_infos: list[ClusterInfo] = clusters_of(hardware, path=self.hardware_path, is_dummy=opts.is_dummy)
        self.transpiler = NativeTranspiler(
            self.spec.num_qubits,
            self.basis,
            self.spec.coupling_map(),
            layout_method=opts.layout_method,
            optimization_level=opts.optimization_level,
            seed_transpiler=opts.seed_transpiler,
        )
        with quiet_libraries():
            self.backend: HardwareBackend = self._make_backend(hardware)
        self._self_tested = False
        self._closed = False

    @abstractmethod
    def _make_backend(self, hardware: Mapping[str, Any]) -> HardwareBackend:
        """Build the backend (device elements, hardware config, clusters) from the loaded files."""

    # --- public helpers ------------------------------------------------------------------------

    @property
    def clusters(self) -> Mapping[str, Any]:
        """The ``qblox_instruments.Cluster`` objects by name (tests inject dummy data here)."""
        return self.backend.clusters

    def compile_experiment(
        self,
        circuit: QuantumCircuit | str,
        *,
        shots: int = 1,
        payload: JobPayload | None = None,
        transpile: bool | None = None,
    ) -> CompiledExperiment:
        """Take one circuit (or QASM text) down to compiled schedules without running them.

        ``payload`` supplies the readout settings (level, meas_return, acq_* overrides; default
        level 2); ``transpile`` overrides the option of the same name.
        """
        if isinstance(circuit, str):
            circuit = qasm.parse(circuit)
        payload = payload or JobPayload(id="compile", circuits=[])
        return self._compile(circuit, payload, shots=shots, name=circuit.name or "experiment", transpile=transpile)

    def acquisition_targets(self, compiled: CompiledExperiment) -> dict[int, list[AcqTarget]]:
        """Per measured qubit, where its binned data sits on the dummy clusters."""
        return self.backend.acquisition_targets(compiled.compiled)

    # --- Executor interface --------------------------------------------------------------------

    def warm_up(self) -> None:
        """Run the self-test, then take a one-qubit circuit through the whole path once.

        Off dummy mode the warm-up circuit is compiled but not played on the instruments.
        """
        qasm.warm_up()
        self.self_test()
        threshold = self.spec.qubits[0].get("measure.acq_threshold")
        level: Literal[1, 2] = 2 if isinstance(threshold, float) and math.isfinite(threshold) else 1
        compiled = self.compile_experiment(
            _WARM_UP_QASM, payload=JobPayload(id="warm-up", circuits=[], meas_level=level)
        )
        if self.options.is_dummy:
            with quiet_libraries():
                self.backend.run(
                    compiled.compiled, timeout_s=30, measures=compiled.converted.measures, settings=compiled.settings
                )
        self.begin_job()

    def self_test(self) -> None:
        """E-3.9: compile one CZ per edge. E-3.11: in dummy mode, compile and run one shot."""
        for edge in self.spec.edges:
            parent, child = int(edge.parent[1:]), int(edge.child[1:])
            ops = (CZ(parent, child),)
            converted = ConvertedCircuit(ops=ops, measures=(), used_qubits=(parent, child))
            try:
                with quiet_libraries():
                    schedule = build_schedule(self.backend, converted, {}, self.spec, name=f"cz_{edge.name}", shots=1)
                    self.backend.compile(schedule)
            except Exception as exc:
                raise ConfigError(
                    f"edge {edge.name}: a CZ does not compile with {self.device_path.name} and "
                    f"{self.hardware_path.name}: {type(exc).__name__}: {exc}"
                ) from exc
        measure = Measure(qubit=0, clbit=0, acq_index=0)
        converted = ConvertedCircuit(ops=(measure,), measures=(measure,), used_qubits=(0,))
        settings = {0: MeasureSetting(level=1, meas_return="avg")}
        with quiet_libraries():
            schedule = build_schedule(self.backend, converted, settings, self.spec, name="self_test", shots=1)
            compiled = self.backend.compile(schedule)
            if self.options.is_dummy:
                try:
                    self.backend.run(compiled, timeout_s=30, measures=(measure,), settings=settings)
                except Exception as exc:
                    message = assembler_glibc_message()
                    if message is not None:
                        raise ConfigError(message) from exc
                    raise
        self._self_tested = True
        logger.info("%s executor %s: self-test passed", self.kind, self.name)

    def device_info(self) -> DeviceInfo:
        return build_device_info(
            self.spec,
            executor=self.kind,
            backend_name=self.name,
            basis=self.basis,
            max_shots=self.options.max_shots,
            max_circuits=self.options.max_circuits,
            versions=library_versions(self.distributions),
        )

    def execute(self, payload: JobPayload) -> xr.Dataset:
        if payload.seed is not None:
            self.warn("seed is ignored by the hardware executors")
        warn_unused_options(self, payload)
        opts = self.options
        experiments = expand_payload(
            payload,
            max_shots=opts.max_shots,
            max_circuits=opts.max_circuits,
            num_qubits=self.spec.num_qubits,
            executor=self.kind,
        )
        many = len(experiments) > 1
        return run_experiments(self, payload, experiments, lambda e: self._run(e, payload, many=many))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.backend.close()
        except Exception:  # close() never raises
            logger.warning("%s executor %s: closing the instruments failed", self.kind, self.name, exc_info=True)

    # --- pipeline ------------------------------------------------------------------------------

    def _timeout(self) -> float:
        if self.options.acquisition_timeout is not None:
            return self.options.acquisition_timeout
        return self.job_timeout_s or DEFAULT_ACQ_TIMEOUT_S

    def _compile(
        self,
        circuit: QuantumCircuit,
        payload: JobPayload,
        *,
        shots: int,
        name: str,
        transpile: bool | None = None,
    ) -> CompiledExperiment:
        transpile = self.options.transpile if transpile is None else transpile
        with self.stage("transpile"):
            executed = self.transpiler.run(circuit) if transpile else circuit
        converted = convert_circuit(executed, self.spec, executor=self.kind)
        converted = track_frames(converted, self.spec, cz_corrections=self.backend.cz_corrections_in_frame).circuit
        settings = plan_readout(self.spec, payload, (m.qubit for m in converted.measures), executor=self.kind)
        plans: list[tuple[ConvertedCircuit, tuple[Measure, ...]]] = [(converted, converted.measures)]
        if payload.meas_level == 0 and len(converted.measures) > 1:
            plans = [(step.converted, (step.original,)) for step in trace_passes(converted)]
        passes = []
        with self.stage("compile"), quiet_libraries():
            for circuit_ops, originals in plans:
                schedule = build_schedule(self.backend, circuit_ops, settings, self.spec, name=name, shots=shots)
                compiled = self.backend.compile(schedule)
                passes.append(CompiledPass(schedule, compiled, circuit_ops.measures, originals))
        return CompiledExperiment(executed, converted, settings, tuple(passes))

    def _run(self, experiment: Experiment, payload: JobPayload, *, many: bool) -> ExperimentRecord:
        try:
            compiled = self._compile(experiment.circuit, payload, shots=experiment.shots, name=experiment.name)
            acquisitions: dict[tuple[int, int], Any] = {}
            elapsed = 0.0
            for step in compiled.passes:
                start = time.perf_counter()
                with self.stage("execute"), quiet_libraries():
                    data = self.backend.run(
                        step.compiled,
                        timeout_s=self._timeout(),
                        measures=step.measures,
                        settings=compiled.settings,
                    )
                for scheduled, original in zip(step.measures, step.originals, strict=True):
                    acquisitions[(original.qubit, original.acq_index)] = data[(scheduled.qubit, scheduled.acq_index)]
                elapsed += time.perf_counter() - start
        except QPIError as exc:
            if getattr(exc, "circuit_index", None) is None and hasattr(exc, "circuit_index"):
                exc.circuit_index = experiment.circuit_index
            raise
        with self.stage("process"):
            arrays = assemble(
                acquisitions,
                compiled.converted.measures,
                shots=experiment.shots,
                num_clbits=experiment.circuit.num_clbits,
                meas_level=payload.meas_level,
                meas_return=payload.meas_return,
            )
        for warning in arrays.warnings:
            self.warn(f"{experiment.name}: {warning}" if many else warning)
        return ExperimentRecord(
            name=experiment.name,
            shots=experiment.shots,
            layout=CircuitLayout.of(experiment.circuit, executed=compiled.executed),
            source_circuit=experiment.circuit_index,
            parameter_set=experiment.parameter_set,
            parameter_values=experiment.parameter_values,
            time_taken=elapsed,
            bits=arrays.bits,
            iq=arrays.iq,
            trace=arrays.trace,
            sample_times=arrays.sample_times,
        )
