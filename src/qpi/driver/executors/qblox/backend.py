"""qblox-scheduler 1.0 as a :class:`~qpi.driver.executors.hardware.backend.HardwareBackend`.

Elements are ours (:mod:`.elements`: qblox-scheduler ships no concrete transmon); schedules are
``TimeableSchedule`` objects compiled and run by a ``HardwareAgent(hardware_configuration,
quantum_device_configuration, create_dummy_connections=is_dummy, output_dir=<worker dir>)``
(``executors.md`` §3.4). qblox-scheduler's ``Measure`` has no ``acq_channel``/``acq_index``/
``bin_mode``: each measurement gets the label ``q<p>_<k>`` (``k`` = its running count for qubit
``p``) and ``average_segment_repetitions`` selects averaging; the protocols are
``ThresholdedIQIntegration``, ``IQIntegration`` and ``Trace``.

qblox-scheduler 1.0.1 undoes NCO phase shifts before every DRAG pulse, so virtual Z rotations
and the CZ's phase corrections are tracked in software (:mod:`~qpi.driver.executors.hardware.frames`,
``cz_corrections_in_frame``). :func:`native_operation` still maps every native record (the
conversion-table tests use it); its ``T`` is ``Rz(45)`` because qblox-scheduler 1.0.1's ``T``
reports the operation type ``"Z"``.

Importing this module imports qblox-scheduler (seconds): the executor does it lazily.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from qblox_scheduler.backends.qblox_backend import QbloxHardwareCompilationConfig
from qblox_scheduler.device_under_test.quantum_device import QuantumDevice
from qblox_scheduler.operations import gate_library as gates
from qblox_scheduler.operations.pulse_library import IdlePulse
from qblox_scheduler.qblox.hardware_agent import HardwareAgent
from qblox_scheduler.schedules.schedule import TimeableSchedule

from qpi.driver.executors.hardware.backend import (
    FIXED_GATES,
    AcqTarget,
    Acquisitions,
    HardwareBackend,
    library_operation,
    trace_limit_error,
)
from qpi.driver.executors.hardware.clusters import close_cluster
from qpi.driver.executors.hardware.device_config import DeviceSpec, ElementSpec
from qpi.driver.executors.hardware.gates import Gate, Measure, NativeOp
from qpi.driver.executors.hardware.hardware_config import validate_hardware_config
from qpi.driver.executors.hardware.readout import MeasureSetting
from qpi.driver.executors.qblox.elements import CompositeSquareEdge, FluxTunableCoupler, TransmonElement
from qpi.errors import ConfigError, ExecutionError

__all__ = ["QbloxBackend", "measure_label", "native_operation"]

logger = logging.getLogger(__name__)

CONFIG_TYPE = "QbloxHardwareCompilationConfig"

_FIXED: dict[str, Any] = {name: getattr(gates, name) for name in FIXED_GATES if name != "T"}
# The device file gives quantify's unitless DRAG ``motzoi``: quantify's derivative is
# -motzoi*(t-mu)/sigma*G(t), qblox-scheduler's -beta*(t-mu)/sigma**2*G(t), so beta = motzoi*sigma
# with sigma = duration / (2*nr_sigma), nr_sigma = 4 in both libraries: the same pulse on both.
_RENAMED = {("rxy", "motzoi"): "beta"}
_NR_SIGMA = 4


def measure_label(op: Measure) -> str:
    """Acquisition label of one measurement: ``q<p>_<k>`` (``discard_q<p>_<k>`` when discarded)."""
    return f"{'discard_' if op.discard else ''}q{op.qubit}_{op.acq_index}"


def native_operation(op: NativeOp) -> Any:
    """qblox-scheduler's operation for one native record (every kind but Measure)."""
    if isinstance(op, Gate) and op.name == "T":  # qblox-scheduler 1.0.1's T has operation type "Z"; see above
        return gates.Rz(theta=45.0, qubit=f"q{op.qubit}")
    return library_operation(op, gates=gates, fixed=_FIXED, idle_pulse=IdlePulse, library="qblox-scheduler")


def _kwargs(element: ElementSpec) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for submodule, values in element.params.items():
        for key, value in values.items():
            if (submodule, key) == ("rxy", "motzoi") and isinstance(value, float):
                value = value * element.number("rxy.duration") / (2 * _NR_SIGMA)
            out.setdefault(submodule, {})[_RENAMED.get((submodule, key), key)] = value
    return out


def _rejected(spec: DeviceSpec, element: ElementSpec, exc: ValidationError) -> ConfigError:
    problems = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ()) if part != "name")
        for (submodule, key), renamed in _RENAMED.items():
            loc = loc.replace(f"{submodule}.{renamed}", f"{submodule}.{key}")
        problems.append(f"{element.name}: parameter '{loc}' is rejected by qblox-scheduler: {error.get('msg')}")
    head = f"device config {spec.path}: "
    return ConfigError(head + "; ".join(problems), problems=[head + p for p in problems])


def _labels(node: Any) -> list[str]:
    """Acquisition labels under a node of qblox-scheduler's binned acquisition tree."""
    label = getattr(node, "acq_label", None)
    if label is not None:
        return [str(label)]
    found: list[str] = []
    for child in getattr(node, "children", None) or []:
        found.extend(_labels(child))
    return found


class QbloxBackend(HardwareBackend):
    library = "qblox-scheduler"
    cz_corrections_in_frame = True  # qblox-scheduler 1.0.1 undoes NCO phase shifts before DRAG pulses

    def __init__(
        self,
        spec: DeviceSpec,
        hardware: Mapping[str, Any],
        *,
        is_dummy: bool,
        hardware_path: Path,
        output_dir: Path,
    ) -> None:
        config = validate_hardware_config(
            hardware, config_class=QbloxHardwareCompilationConfig, config_type=CONFIG_TYPE, path=hardware_path
        )
        device = QuantumDevice("qpi_quantum_device")
        for qubit in spec.qubits:
            try:
                device.add_element(TransmonElement(qubit.name, **_kwargs(qubit)))
            except ValidationError as exc:
                raise _rejected(spec, qubit, exc) from exc
        for edge in spec.edges:
            edge_class = FluxTunableCoupler if edge.kind == "coupler" else CompositeSquareEdge
            try:
                device.add_edge(edge_class(edge.parent, edge.child, **_kwargs(edge)))
            except ValidationError as exc:
                raise _rejected(spec, edge, exc) from exc
        self._cluster_names = list((config.hardware_description or {}).keys())
        for name in self._cluster_names:
            close_cluster(name)
        self.agent = HardwareAgent(config, device, create_dummy_connections=is_dummy, output_dir=output_dir)
        try:
            self.agent.connect_clusters()
        except (ValueError, TypeError) as exc:
            self.close()
            raise ConfigError(f"hardware config {hardware_path}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    @property
    def clusters(self) -> Mapping[str, Any]:
        return dict(self.agent.get_clusters())

    def device_compilation_config(self) -> Any:
        return self.agent.quantum_device.generate_device_config()

    def new_schedule(self, name: str, repetitions: int) -> Any:
        return TimeableSchedule(name, repetitions=repetitions)

    def operation(self, op: NativeOp) -> Any:
        return native_operation(op)

    def measure(self, op: Measure, setting: MeasureSetting) -> Any:
        if setting.level == 2:
            protocol = "ThresholdedIQIntegration"
        elif setting.level == 1:
            protocol = "IQIntegration"
        else:
            protocol = "Trace"
        return gates.Measure(
            f"q{op.qubit}",
            acq_label=measure_label(op),
            acq_protocol=protocol,
            average_segment_repetitions=setting.average,
            **setting.overrides,
        )

    def compile(self, schedule: Any) -> Any:
        try:
            return self.agent.compile(schedule)
        except ValueError as exc:
            refused = trace_limit_error(exc, "scope mode", "trace acquisition")
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
        try:
            dataset = self.agent.run(compiled, timeout=seconds, save_to_experiment=False, save_snapshot=False)
        except TimeoutError as exc:
            raise ExecutionError(f"the acquisition did not finish within {seconds} s (acquisition_timeout)") from exc
        out: dict[tuple[int, int], np.ndarray[Any, Any]] = {}
        for measure in measures:
            label = measure_label(measure)
            if label not in dataset.data_vars:
                raise ExecutionError(
                    f"the hardware returned no data for measurement {measure.acq_index} of q{measure.qubit}"
                )
            out[(measure.qubit, measure.acq_index)] = np.asarray(dataset[label].values)
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
                for sequencer, mapping in content["acq_hardware_mapping"].items():
                    for binned in mapping.binned:
                        for label in _labels(binned.tree):
                            if not label.startswith("q"):
                                continue
                            qubit = int(label[1:].split("_")[0])
                            target = AcqTarget(
                                cluster,
                                slot,
                                int(str(sequencer).removeprefix("seq")),
                                str(binned.qblox_acq_index),
                            )
                            if target not in targets.setdefault(qubit, []):
                                targets[qubit].append(target)
        return targets

    def close(self) -> None:
        try:
            self.agent.instrument_coordinator.close()
        except Exception:  # close() never raises
            logger.warning("closing the instrument coordinator failed", exc_info=True)
        for name in self._cluster_names:
            close_cluster(name, leftover=False)
