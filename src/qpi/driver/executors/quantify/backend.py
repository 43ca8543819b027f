"""quantify-scheduler 0.28 as a :class:`~qpi.driver.executors.hardware.backend.HardwareBackend`.

Elements are quantify's ``BasicTransmonElement`` and ``CompositeSquareEdge`` plus our
:class:`~qpi.driver.executors.quantify.elements.FluxTunableCoupler`; schedules are compiled with
``SerialCompiler`` and run through an ``InstrumentCoordinator`` holding one ``ClusterComponent``
per cluster (``prepare``, ``start``, ``wait_done``, ``retrieve_acquisition``). Each measured qubit
``p`` acquires on channel ``p`` with ``acq_index`` = its running measurement count.

Importing this module imports quantify-scheduler (seconds): the executor does it lazily.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from quantify_scheduler.backends import SerialCompiler
from quantify_scheduler.backends.qblox_backend import QbloxHardwareCompilationConfig
from quantify_scheduler.device_under_test import BasicTransmonElement, CompositeSquareEdge, QuantumDevice
from quantify_scheduler.enums import BinMode
from quantify_scheduler.instrument_coordinator import InstrumentCoordinator
from quantify_scheduler.instrument_coordinator.components.qblox import ClusterComponent
from quantify_scheduler.operations import gate_library as gates
from quantify_scheduler.operations.pulse_library import IdlePulse
from quantify_scheduler.schedules.schedule import Schedule

from qpi.driver.executors.hardware.backend import (
    FIXED_GATES,
    AcqTarget,
    Acquisitions,
    HardwareBackend,
    library_operation,
    trace_limit_error,
)
from qpi.driver.executors.hardware.clusters import close_cluster, close_instrument, create_cluster
from qpi.driver.executors.hardware.device_config import DeviceSpec, ElementSpec
from qpi.driver.executors.hardware.gates import Measure, NativeOp
from qpi.driver.executors.hardware.hardware_config import ClusterInfo, validate_hardware_config
from qpi.driver.executors.hardware.readout import MeasureSetting
from qpi.driver.executors.quantify.elements import FluxTunableCoupler
from qpi.errors import ConfigError, ExecutionError

__all__ = ["QuantifyBackend", "native_operation"]

logger = logging.getLogger(__name__)

CONFIG_TYPE = "quantify_scheduler.backends.qblox_backend.QbloxHardwareCompilationConfig"
_DEVICE = "qpi_quantum_device"
_COORDINATOR = "qpi_instrument_coordinator"

_FIXED: dict[str, Any] = {name: getattr(gates, name) for name in FIXED_GATES}


def native_operation(op: NativeOp) -> Any:
    """quantify-scheduler's operation for one native record (every kind but Measure)."""
    return library_operation(op, gates=gates, fixed=_FIXED, idle_pulse=IdlePulse, library="quantify")


def _quantify_key(element: ElementSpec, submodule: str, key: str) -> str:
    if submodule == "cz" and key in {"parent_phase_correction", "child_phase_correction"}:
        end = element.name.split("_")[0 if key.startswith("parent") else 1]
        return f"{end}_phase_correction"
    return key


def _apply(instrument: Any, element: ElementSpec, spec: DeviceSpec) -> None:
    """Set every parameter the device file gives; a rejected value names the element and key."""
    for submodule, values in element.params.items():
        for key, value in values.items():
            name = _quantify_key(element, submodule, key)
            try:
                instrument.submodules[submodule].parameters[name](value)
            except (ValueError, TypeError, KeyError) as exc:
                raise ConfigError(
                    f"device config {spec.path}: {element.name}: parameter '{submodule}.{key}' = {value!r} "
                    f"is rejected by quantify-scheduler: {exc}"
                ) from exc


def _value_at(data: Any, channel: int, acq_index: int) -> np.ndarray[Any, Any]:
    dim = f"acq_index_{channel}"
    legacy = f"acq_index_legacy_{channel}"
    if dim not in data.dims:
        return np.asarray(data.values)
    positions = data.coords[legacy].values if legacy in data.coords else data.coords[dim].values
    matches = np.flatnonzero(np.asarray(positions) == acq_index)
    if matches.size == 0:
        raise ExecutionError(f"no data for acquisition index {acq_index} of channel {channel}")
    return np.asarray(data.isel({dim: int(matches[0])}).values)


class QuantifyBackend(HardwareBackend):
    library = "quantify-scheduler"

    def __init__(
        self,
        spec: DeviceSpec,
        hardware: Mapping[str, Any],
        clusters: Sequence[ClusterInfo],
        *,
        is_dummy: bool,
        hardware_path: Any,
    ) -> None:
        self._names: list[str] = []
        self._clusters: dict[str, Any] = {}
        try:
            self._build(spec, hardware, clusters, is_dummy=is_dummy, hardware_path=hardware_path)
        except BaseException:
            self.close()
            raise

    def _own(self, name: str) -> str:
        close_instrument(name)
        self._names.append(name)
        return name

    def _build(
        self,
        spec: DeviceSpec,
        hardware: Mapping[str, Any],
        clusters: Sequence[ClusterInfo],
        *,
        is_dummy: bool,
        hardware_path: Any,
    ) -> None:
        config = validate_hardware_config(
            hardware, config_class=QbloxHardwareCompilationConfig, config_type=CONFIG_TYPE, path=hardware_path
        )
        self.device = QuantumDevice(self._own(_DEVICE))
        for qubit in spec.qubits:
            element = BasicTransmonElement(self._own(qubit.name))
            element.measure.acq_channel(qubit.index)
            _apply(element, qubit, spec)
            self.device.add_element(element)
        for edge in spec.edges:
            edge_class = FluxTunableCoupler if edge.kind == "coupler" else CompositeSquareEdge
            self._own(edge.name)
            instrument = edge_class(edge.parent, edge.child)
            _apply(instrument, edge, spec)
            self.device.add_edge(instrument)
        self.device.hardware_config(config)
        self.coordinator = InstrumentCoordinator(self._own(_COORDINATOR), add_default_generic_icc=False)
        for info in clusters:
            cluster = create_cluster(info, is_dummy=is_dummy)
            self._clusters[info.name] = cluster
            self.coordinator.add_component(ClusterComponent(cluster))
        self.device.instr_instrument_coordinator(self.coordinator.name)
        self._compiler = SerialCompiler(name="qpi_compiler", quantum_device=self.device)
        self._config = self.device.generate_compilation_config()

    @property
    def clusters(self) -> Mapping[str, Any]:
        return dict(self._clusters)

    def device_compilation_config(self) -> Any:
        return self._config.device_compilation_config

    def new_schedule(self, name: str, repetitions: int) -> Any:
        return Schedule(name, repetitions=repetitions)

    def operation(self, op: NativeOp) -> Any:
        return native_operation(op)

    def measure(self, op: Measure, setting: MeasureSetting) -> Any:
        if setting.level == 2:
            protocol, bin_mode = "ThresholdedAcquisition", BinMode.APPEND
        elif setting.level == 1:
            protocol = "SSBIntegrationComplex"
            bin_mode = BinMode.AVERAGE if setting.average else BinMode.APPEND
        else:
            protocol, bin_mode = "Trace", BinMode.AVERAGE
        return gates.Measure(
            f"q{op.qubit}",
            acq_channel=f"discard_q{op.qubit}" if op.discard else op.qubit,
            acq_index=op.acq_index,
            acq_protocol=protocol,
            bin_mode=bin_mode,
            **setting.overrides,
        )

    def compile(self, schedule: Any) -> Any:
        try:
            return self._compiler.compile(schedule, config=self._config)
        except ValueError as exc:
            refused = trace_limit_error(exc, "scope mode", "raw trace")
            if refused is not None:
                raise refused from exc
            raise

    def run(
        self,
        compiled: Any,
        *,
        timeout_s: float,
        measures: Sequence[Measure],
        settings: Mapping[int, MeasureSetting],
    ) -> Acquisitions:
        seconds = max(1, math.ceil(timeout_s))
        self.coordinator.timeout(seconds)
        try:
            self.coordinator.prepare(compiled)
            self.coordinator.start()
            self.coordinator.wait_done(timeout_sec=seconds)
            dataset = self.coordinator.retrieve_acquisition()
        except TimeoutError as exc:
            raise ExecutionError(f"the acquisition did not finish within {seconds} s (acquisition_timeout)") from exc
        finally:
            self.coordinator.stop(allow_failure=True)
        out: dict[tuple[int, int], np.ndarray[Any, Any]] = {}
        for measure in measures:
            if measure.qubit not in dataset.data_vars:
                raise ExecutionError(f"the hardware returned no data for q{measure.qubit}")
            out[(measure.qubit, measure.acq_index)] = _value_at(
                dataset[measure.qubit], measure.qubit, measure.acq_index
            )
        return out

    def acquisition_targets(self, compiled: Any) -> dict[int, list[AcqTarget]]:
        targets: dict[int, list[AcqTarget]] = {}
        for cluster, instructions in compiled.compiled_instructions.items():
            if not isinstance(instructions, dict):
                continue
            for module, content in instructions.items():
                if not isinstance(content, dict) or "acq_hardware_mapping" not in content:
                    continue
                slot = int(module.rsplit("module", 1)[1])
                for sequencer, channels in content["acq_hardware_mapping"].items():
                    for channel, indices in channels.items():
                        for location in indices.values():
                            target = AcqTarget(cluster, slot, int(sequencer.removeprefix("seq")), str(location.index))
                            if target not in targets.setdefault(int(channel), []):
                                targets[int(channel)].append(target)
        return targets

    def close(self) -> None:
        for name in list(self._clusters):
            close_cluster(name, leftover=False)
        for name in reversed(self._names):
            close_instrument(name, leftover=False)
        self._names.clear()
        self._clusters.clear()
