"""The ``qiskit_aer`` executor: ``qiskit_aer.AerSimulator`` (``executors.md`` §3.2).

Options (plus the common ``max_shots``, ``max_circuits``, ``save_datasets``):

==========================  ==========================================================
``method``                  automatic, statevector, density_matrix, stabilizer,
                            matrix_product_state or extended_stabilizer
``seed_simulator``          used when a job has no ``seed``
``noise_model``             JSON file of ``NoiseModel.to_dict(serializable=True)``
``device_file``             device description (YAML/JSON, the §5 schema): sets the target
                            (basis, coupling map, qubits); without ``noise_model`` the noise
                            comes from ``NoiseModel.from_backend`` on that target
``max_parallel_threads``    Aer threads per worker; default ``cpu_count // workers``
``max_parallel_experiments``  default 1
``max_parallel_shots``      default 0 (Aer decides)
``num_qubits``              advertised width: the device file's, else this, else Aer's
``optimization_level``      0..3, default 1 (pass manager built once)
==========================  ==========================================================

Relative paths are resolved against the directory the driver was started in. Classical control
flow is supported; levels 2 and 1 (synthetic IQ).
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Annotated, Any, ClassVar, Literal

import msgspec
import qiskit
import qiskit_aer
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import PassManager, Target, generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel

from qpi.driver.executors.base import resolve_path
from qpi.driver.executors.simulated import SimulatorExecutor, SimulatorOptions
from qpi.driver.executors.target import device_target, load_device_file
from qpi.errors import ConfigError
from qpi.protocol.payload import DeviceInfo

__all__ = ["AerExecutor", "AerOptions", "load_noise_model"]

AerMethod = Literal[
    "automatic", "statevector", "density_matrix", "stabilizer", "matrix_product_state", "extended_stabilizer"
]


class AerOptions(SimulatorOptions, frozen=True, forbid_unknown_fields=True):
    method: AerMethod = "automatic"
    noise_model: str | None = None
    device_file: str | None = None
    max_parallel_threads: Annotated[int, msgspec.Meta(ge=0)] | None = None
    max_parallel_experiments: Annotated[int, msgspec.Meta(ge=0)] = 1
    max_parallel_shots: Annotated[int, msgspec.Meta(ge=0)] = 0
    num_qubits: Annotated[int, msgspec.Meta(ge=1)] | None = None


class _TargetBackend(BackendV2):  # type: ignore[misc]
    """The smallest BackendV2 around a Target, so that ``NoiseModel.from_backend`` can read it."""

    def __init__(self, target: Target, name: str) -> None:
        super().__init__(name=name)
        self._device_target = target

    @property
    def target(self) -> Target:
        return self._device_target

    @property
    def max_circuits(self) -> None:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    def run(self, run_input: Any, **options: Any) -> Any:
        raise NotImplementedError("this backend only describes a device")


def load_noise_model(path: os.PathLike[str]) -> NoiseModel:
    """Read a noise model saved as JSON by ``NoiseModel.to_dict(serializable=True)``."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read noise model file {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"noise model file {os.fspath(path)!r} is not valid JSON: {exc}") from exc
    try:
        with warnings.catch_warnings():
            # from_dict is deprecated since aer 0.15, but it is the way to read a saved model back
            warnings.simplefilter("ignore", DeprecationWarning)
            return NoiseModel.from_dict(raw)
    except Exception as exc:
        raise ConfigError(
            f"noise model file {os.fspath(path)!r} is not a NoiseModel.to_dict() document: {exc}"
        ) from exc


class AerExecutor(SimulatorExecutor):
    """Runs circuits on ``qiskit_aer.AerSimulator``."""

    kind: ClassVar[str] = "qiskit_aer"
    Options: ClassVar[type[msgspec.Struct]] = AerOptions
    supports_control_flow: ClassVar[bool] = True

    def __init__(self, *, name: str, data_dir: Any, **options: Any) -> None:
        self.device: DeviceInfo | None = None
        self.device_target: Target | None = None
        super().__init__(name=name, data_dir=data_dir, **options)

    def _make_backend(self) -> BackendV2:
        opts: AerOptions = self.options
        noise = load_noise_model(resolve_path(opts.noise_model)) if opts.noise_model else None
        if opts.device_file:
            device = load_device_file(resolve_path(opts.device_file), executor=self.kind)
            # Aer runs measure, reset and delay on every qubit, listed or not (executors.md §5)
            basis = list(dict.fromkeys([*device.basis_gates, "measure", "reset", "delay"]))
            self.device = msgspec.structs.replace(device, basis_gates=basis)
            if opts.num_qubits is not None and opts.num_qubits != self.device.num_qubits:
                raise ConfigError(
                    f"option num_qubits={opts.num_qubits} contradicts the device file "
                    f"({self.device.num_qubits} qubits); leave num_qubits out"
                )
            self.device_target = device_target(self.device, control_flow=True)
            if noise is None:
                noise = self._noise_from_target(self.device_target)
        threads = opts.max_parallel_threads
        if threads is None:
            threads = max(1, (os.cpu_count() or 1) // max(1, opts.workers))
        return AerSimulator(
            method=opts.method,
            noise_model=noise,
            max_parallel_threads=threads,
            max_parallel_experiments=opts.max_parallel_experiments,
            max_parallel_shots=opts.max_parallel_shots,
        )

    def _noise_from_target(self, target: Target) -> NoiseModel | None:
        with warnings.catch_warnings():
            # "has no QubitProperties, so ... no thermal relaxation": expected for a readout-only file
            warnings.simplefilter("ignore", UserWarning)
            noise = NoiseModel.from_backend(_TargetBackend(target, self.name))
        return None if noise.is_ideal() else noise

    def _make_pass_manager(self) -> PassManager:
        level = self.options.optimization_level
        if self.device_target is not None:
            return generate_preset_pass_manager(optimization_level=level, target=self.device_target)
        return generate_preset_pass_manager(optimization_level=level, backend=self.backend)

    @property
    def num_qubits(self) -> int:
        if self.device is not None:
            return self.device.num_qubits
        if self.options.num_qubits is not None:
            return int(self.options.num_qubits)
        return int(self.backend.num_qubits)

    def _versions(self) -> dict[str, str]:
        return {"qiskit": qiskit.__version__, "qiskit-aer": qiskit_aer.__version__}

    def device_info(self) -> DeviceInfo:
        if self.device is None:
            return self._device_info(basis_gates=sorted(self.backend.operation_names))
        return self._device_info(
            basis_gates=self.device.basis_gates,
            coupling_map=self.device.coupling_map,
            instructions=self.device.instructions,
            qubits=self.device.qubits,
            dt=self.device.dt,
        )
