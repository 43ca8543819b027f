"""What the simulator executors (``mock``, ``qiskit_aer``) share (``executors.md`` §3.1, §3.2, §4).

:class:`SimulatorExecutor` runs the whole pipeline; a subclass only says which Qiskit backend
it drives, how its pass manager is built and what its device looks like:

- per circuit: parse (:mod:`qpi.qasm`), check shots, clbits (``no_measurements``), width
  (``too_many_qubits``, before transpiling), control flow; expand binding sets (E-4.5, E-4.6);
- per experiment: transpile with the pass manager built once per executor, then
  ``backend.run(circuit, shots=…, memory=True, seed_simulator=…)``;
- level 2 from the per-shot memory; level 1 synthetic IQ (bit 0 around (0.1, 0.05), bit 1
  around (0.9, 0.85), Gaussian sigma = 0.05, seeded from the job seed); level 0 refused.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec
import numpy as np
import qiskit
from qiskit.circuit.library import get_standard_gate_name_mapping

from qpi import qasm
from qpi.driver.executors.base import CommonOptions, Executor
from qpi.driver.executors.dataset import CircuitLayout, ExperimentRecord
from qpi.driver.executors.expansion import Experiment, expand_payload
from qpi.driver.executors.pipeline import run_experiments, warn_unused_options
from qpi.errors import ExecutionError, UnsupportedFeature
from qpi.protocol.payload import (
    CircuitPayload,
    DeviceInfo,
    InstructionProps,
    JobPayload,
    QubitProps,
)

if TYPE_CHECKING:
    import xarray as xr
    from qiskit.providers import BackendV2
    from qiskit.transpiler import PassManager

__all__ = [
    "IQ_CENTRES",
    "IQ_SIGMA",
    "SimulatorExecutor",
    "SimulatorOptions",
    "memory_to_bits",
    "synthetic_iq",
]

logger = logging.getLogger(__name__)

#: centre of the synthetic IQ blob of a 0 (row 0) and of a 1 (row 1)
IQ_CENTRES = np.array([[0.1, 0.05], [0.9, 0.85]])
IQ_SIGMA = 0.05

_WARM_UP_QASM = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
)


class SimulatorOptions(CommonOptions, frozen=True, forbid_unknown_fields=True):
    """Options shared by the simulator executors."""

    seed_simulator: int | None = None
    optimization_level: Annotated[int, msgspec.Meta(ge=0, le=3)] = 1


def memory_to_bits(memory: Sequence[str], num_clbits: int) -> np.ndarray[Any, Any]:
    """Qiskit hex memory (``['0x3', …]``) → uint8 (shots, clbits), clbit k = bit k of the value."""
    bits = np.zeros((len(memory), num_clbits), dtype=np.uint8)
    if not memory or num_clbits == 0:
        return bits
    states, inverse = np.unique(np.asarray(memory), return_inverse=True)
    rows = np.zeros((len(states), num_clbits), dtype=np.uint8)
    for row, state in enumerate(states.tolist()):
        value = int(state, 16)
        for clbit in range(min(num_clbits, value.bit_length())):
            rows[row, clbit] = (value >> clbit) & 1
    bits[:] = rows[inverse.reshape(-1)]
    return bits


def synthetic_iq(
    bits: np.ndarray[Any, Any],
    measured: Sequence[int],
    rng: np.random.Generator,
    meas_return: str,
) -> np.ndarray[Any, Any]:
    """Level 1 data for ``bits``: (shots, clbits, 2) for ``single``, (clbits, 2) for ``avg``.

    Clbits that were never measured hold [0.0, 0.0].
    """
    iq: np.ndarray[Any, Any] = IQ_CENTRES[bits] + rng.normal(0.0, IQ_SIGMA, size=(*bits.shape, 2))
    unmeasured = [clbit for clbit, qubit in enumerate(measured) if qubit < 0]
    iq[:, unmeasured, :] = 0.0
    if meas_return == "avg":
        return np.asarray(iq.mean(axis=0)) if len(iq) else np.zeros((bits.shape[1], 2))
    return iq


class SimulatorExecutor(Executor):
    """Base of ``mock`` and ``qiskit_aer``: parse → bind → transpile → run → dataset."""

    Options: ClassVar[type[msgspec.Struct]] = SimulatorOptions
    #: whether circuits with classical control flow may run (E-4.8)
    supports_control_flow: ClassVar[bool] = False

    def __init__(self, *, name: str, data_dir: Any, **options: Any) -> None:
        super().__init__(name=name, data_dir=data_dir, **options)
        self.backend: BackendV2 = self._make_backend()
        self.pass_manager: PassManager = self._make_pass_manager()

    # --- what a subclass provides -----------------------------------------------------------

    @abstractmethod
    def _make_backend(self) -> BackendV2:
        """The Qiskit backend that runs the circuits (built once)."""

    @abstractmethod
    def _make_pass_manager(self) -> PassManager:
        """The preset pass manager (built once, reused for every circuit)."""

    @property
    @abstractmethod
    def num_qubits(self) -> int:
        """Width of the simulated device."""

    def _versions(self) -> dict[str, str]:
        return {"qiskit": qiskit.__version__}

    # --- the shared pipeline ----------------------------------------------------------------

    def execute(self, payload: JobPayload) -> xr.Dataset:
        if payload.meas_level == 0:
            raise UnsupportedFeature("raw traces are not available from simulators")
        self._warn_ignored_fields(payload)
        seed = payload.seed if payload.seed is not None else self.options.seed_simulator
        experiments = self._expand(payload)
        return run_experiments(self, payload, experiments, lambda e: self._run(e, payload, seed))

    def _warn_ignored_fields(self, payload: JobPayload) -> None:
        if payload.acq_rotation is not None or payload.acq_threshold is not None or payload.acq_overrides:
            self.warn("acq_rotation, acq_threshold and acq_overrides have no effect on a simulator")
        warn_unused_options(self, payload)

    def _expand(self, payload: JobPayload) -> list[Experiment]:
        return expand_payload(
            payload,
            max_shots=self.options.max_shots,
            max_circuits=self.options.max_circuits,
            num_qubits=self.num_qubits,
            executor=self.kind,
            control_flow=self.supports_control_flow,
        )

    def _run(self, experiment: Experiment, payload: JobPayload, seed: int | None) -> ExperimentRecord:
        with self.stage("transpile"):
            executed = self.pass_manager.run(experiment.circuit)
        options: dict[str, Any] = {"shots": experiment.shots, "memory": True}
        if seed is not None:
            options["seed_simulator"] = seed
        start = time.perf_counter()
        with self.stage("execute"):
            result = self.backend.run(executed, **options).result()
        elapsed = time.perf_counter() - start
        outcome = result.results[0]
        if not outcome.success:
            raise ExecutionError(
                f"the {self.kind} simulator failed on experiment {experiment.index}: {outcome.status}",
                circuit_index=experiment.circuit_index,
            )
        layout = CircuitLayout.of(experiment.circuit, executed=executed)
        memory = getattr(outcome.data, "memory", None) or ["0x0"] * experiment.shots
        bits = memory_to_bits(memory, layout.num_clbits)
        iq = None
        if payload.meas_level == 1:
            rng = np.random.default_rng(None if seed is None else [seed % 2**63, experiment.index])
            iq = synthetic_iq(bits, layout.measured_qubits, rng, payload.meas_return)
        return ExperimentRecord(
            name=experiment.name,
            shots=experiment.shots,
            layout=layout,
            source_circuit=experiment.circuit_index,
            parameter_set=experiment.parameter_set,
            parameter_values=experiment.parameter_values,
            seed=seed,
            time_taken=elapsed,
            bits=bits if payload.meas_level == 2 else None,
            iq=iq,
        )

    # --- device description and warm-up --------------------------------------------------

    def _device_info(
        self,
        *,
        basis_gates: Sequence[str],
        coupling_map: list[tuple[int, int]] | None = None,
        instructions: Sequence[InstructionProps] = (),
        qubits: Sequence[QubitProps] = (),
        dt: float | None = None,
    ) -> DeviceInfo:
        standard = get_standard_gate_name_mapping()
        return DeviceInfo(
            executor=self.kind,
            backend_name=self.name,
            simulator=True,
            num_qubits=self.num_qubits,
            basis_gates=sorted({*(g for g in basis_gates if g in standard), "measure", "reset", "delay"}),
            qubit_labels=[f"q{index}" for index in range(self.num_qubits)],
            coupling_map=coupling_map,
            instructions=list(instructions),
            qubits=list(qubits),
            dt=dt,
            max_shots=self.options.max_shots,
            max_circuits=self.options.max_circuits,
            meas_levels=[1, 2],
            meas_returns=["single", "avg"],
            supports_memory=True,
            supports_control_flow=self.supports_control_flow,
            versions=self._versions(),
        )

    def warm_up(self) -> None:
        """Warm the QASM parsers, the pass manager and the simulator with one 8-shot Bell job."""
        qasm.warm_up()
        payload = JobPayload(id="warm-up", circuits=[CircuitPayload(circuit=_WARM_UP_QASM)], shots=8, seed=1)
        self.begin_job()
        self.process_result(self.execute(payload), payload.id)
        self.begin_job()
