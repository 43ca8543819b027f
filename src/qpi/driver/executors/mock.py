"""The ``mock`` executor: Qiskit's ``BasicSimulator`` (``executors.md`` §3.1).

Options: ``seed_simulator`` (used when a job has no ``seed``), ``num_qubits`` (1..24, the
statevector limit of BasicSimulator; default 24), ``optimization_level`` (0..3, default 1), and
the common ``max_shots``, ``max_circuits``, ``save_datasets``. No classical control flow
(``unsupported_feature``); levels 2 and 1 (synthetic IQ).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from qiskit.providers import BackendV2
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.transpiler import PassManager, generate_preset_pass_manager

from qpi.driver.executors.simulated import SimulatorExecutor, SimulatorOptions
from qpi.protocol.payload import DeviceInfo

__all__ = ["MockExecutor", "MockOptions"]


class MockOptions(SimulatorOptions, frozen=True, forbid_unknown_fields=True):
    num_qubits: Annotated[int, msgspec.Meta(ge=1, le=BasicSimulator.MAX_QUBITS_STATEVECTOR)] = (
        BasicSimulator.MAX_QUBITS_STATEVECTOR
    )


class MockExecutor(SimulatorExecutor):
    """Runs circuits on ``qiskit.providers.basic_provider.BasicSimulator``."""

    kind: ClassVar[str] = "mock"
    Options: ClassVar[type[msgspec.Struct]] = MockOptions
    supports_control_flow: ClassVar[bool] = False

    def _make_backend(self) -> BackendV2:
        return BasicSimulator()

    def _make_pass_manager(self) -> PassManager:
        return generate_preset_pass_manager(optimization_level=self.options.optimization_level, backend=self.backend)

    @property
    def num_qubits(self) -> int:
        return int(self.options.num_qubits)

    def device_info(self) -> DeviceInfo:
        return self._device_info(basis_gates=sorted(self.backend.target.operation_names))
