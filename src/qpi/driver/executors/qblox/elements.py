"""Device elements for qblox-scheduler: a transmon, a square-pulse CZ edge and a flux-tunable coupler.

qblox-scheduler 1.0.x ships only the abstract ``DeviceElement`` and ``Edge`` (``executors.md``
§3.4, E-3.13). These concrete elements take the parameter names of the quantify device file
(``rxy.motzoi`` is stored as ``beta``) and build device configs for every operation the QPI
converter emits, from qblox-scheduler's own pulse factories.

Importing this module imports qblox-scheduler: only the qblox executor (in a worker) does.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from qblox_scheduler.backends.graph_compilation import (
    DeviceCompilationConfig,
    OperationCompilationConfig,
)
from qblox_scheduler.device_under_test.composite_square_edge import CZ
from qblox_scheduler.device_under_test.device_element import DeviceElement
from qblox_scheduler.device_under_test.edge import Edge
from qblox_scheduler.operations import pulse_library
from qblox_scheduler.operations.composite_factories import hadamard_as_y90z
from qblox_scheduler.operations.measurement_factories import _dispersive_measurement
from qblox_scheduler.operations.pulse_factories import (
    composite_square_pulse,
    phase_shift,
    rxy_drag_pulse,
)
from qblox_scheduler.resources import BasebandClockResource, ClockResource
from qblox_scheduler.schedules.schedule import TimeableSchedule
from qblox_scheduler.structure.model import Numbers, Parameter, SchedulerSubmodule

from qpi.driver.executors.hardware.coupler import COUPLER_CLOCK_LIMIT_HZ, coupler_cz
from qpi.driver.executors.hardware.naming import coupler_clock, coupler_port, qubit_clock

__all__ = [
    "CompositeSquareEdge",
    "CouplerClocks",
    "FluxTunableCoupler",
    "TransmonElement",
    "flux_tunable_cz",
]

_NAN_OK = Numbers(allow_nan=True)


class IdlingReset(SchedulerSubmodule):  # type: ignore[misc]
    """Passive reset: wait for the qubit to relax."""

    duration: float = Parameter(initial_value=200e-6, unit="s", vals=Numbers(min_value=0, max_value=1))


class RxyDRAG(SchedulerSubmodule):  # type: ignore[misc]
    """DRAG pulse parameters of single-qubit rotations about an equatorial axis."""

    amp180: float = Parameter(initial_value=math.nan, unit="V", vals=_NAN_OK)
    beta: float = Parameter(initial_value=0.0, vals=_NAN_OK)
    duration: float = Parameter(initial_value=20e-9, unit="s", vals=Numbers(min_value=0, max_value=1))


class DispersiveMeasurement(SchedulerSubmodule):  # type: ignore[misc]
    """Square readout pulse followed by an integrated acquisition."""

    pulse_amp: float = Parameter(initial_value=0.25, unit="V", vals=_NAN_OK)
    pulse_duration: float = Parameter(initial_value=300e-9, unit="s", vals=_NAN_OK)
    acq_delay: float = Parameter(initial_value=0.0, unit="s", vals=_NAN_OK)
    integration_time: float = Parameter(initial_value=1e-6, unit="s", vals=_NAN_OK)
    acq_threshold: float = Parameter(initial_value=math.nan, vals=_NAN_OK)
    acq_rotation: float = Parameter(initial_value=0.0, unit="deg", vals=_NAN_OK)
    reset_clock_phase: bool = Parameter(initial_value=True)


class Ports(SchedulerSubmodule):  # type: ignore[misc]
    """Port names; empty means ``<name>:mw``, ``<name>:fl`` and ``<name>:res``."""

    microwave: str = Parameter(initial_value="")
    flux: str = Parameter(initial_value="")
    readout: str = Parameter(initial_value="")

    def _fill_defaults(self) -> None:
        parent = self.parent
        if parent is None:
            return
        for field, suffix in (("microwave", "mw"), ("flux", "fl"), ("readout", "res")):
            if not getattr(self, field):
                setattr(self, field, f"{parent.name}:{suffix}")


class ClocksFrequencies(SchedulerSubmodule):  # type: ignore[misc]
    """Transition frequencies (Hz)."""

    f01: float = Parameter(initial_value=math.nan, unit="Hz", vals=_NAN_OK)
    f12: float = Parameter(initial_value=math.nan, unit="Hz", vals=_NAN_OK)
    readout: float = Parameter(initial_value=math.nan, unit="Hz", vals=_NAN_OK)


class TransmonElement(DeviceElement):  # type: ignore[misc]
    """A fixed-frequency transmon with a dispersive readout (E-3.13)."""

    element_type: Literal["TransmonElement"] = "TransmonElement"

    reset: IdlingReset
    rxy: RxyDRAG
    measure: DispersiveMeasurement
    ports: Ports
    clock_freqs: ClocksFrequencies

    def _rxy(self, theta: float | None, phi: float | None) -> OperationCompilationConfig:
        kwargs: dict[str, Any] = {
            "amp180": self.rxy.amp180,
            "beta": self.rxy.beta,
            "port": self.ports.microwave,
            "clock": qubit_clock(self.name),
            "duration": self.rxy.duration,
        }
        if theta is None or phi is None:
            return OperationCompilationConfig(
                factory_func=rxy_drag_pulse,
                factory_kwargs=kwargs,
                gate_info_factory_kwargs=["theta", "phi"],
            )
        return OperationCompilationConfig(
            factory_func=rxy_drag_pulse, factory_kwargs={**kwargs, "theta": theta, "phi": phi}
        )

    def _rz(self, theta: float | None) -> OperationCompilationConfig:
        clock = qubit_clock(self.name)
        if theta is None:
            return OperationCompilationConfig(
                factory_func=phase_shift,
                factory_kwargs={"clock": clock},
                gate_info_factory_kwargs=["theta"],
            )
        return OperationCompilationConfig(factory_func=phase_shift, factory_kwargs={"clock": clock, "theta": theta})

    def _measure(self) -> OperationCompilationConfig:
        return OperationCompilationConfig(
            factory_func=_dispersive_measurement,
            factory_kwargs={
                "port": self.ports.readout,
                "clock": f"{self.name}.ro",
                "pulse_type": "SquarePulse",
                "pulse_amp": self.measure.pulse_amp,
                "pulse_duration": self.measure.pulse_duration,
                "gate_pulse_amp": None,
                "gate_port": None,
                "acq_delay": self.measure.acq_delay,
                "acq_duration": self.measure.integration_time,
                "acq_label": self.name,
                "acq_protocol_default": "IQIntegration",
                "reset_clock_phase": self.measure.reset_clock_phase,
                "acq_weights_a": None,
                "acq_weights_b": None,
                "acq_rotation": self.measure.acq_rotation,
                "acq_threshold": self.measure.acq_threshold,
                "num_points": 1,
                "freq": None,
            },
            gate_info_factory_kwargs=[
                "acq_label_override",
                "coords",
                "acq_protocol",
                "average_segment_repetitions",
                "feedback_trigger_label",
            ],
        )

    def generate_device_config(self) -> DeviceCompilationConfig:
        """Device config for Rxy, Rz, X, X90, Y, Y90, Z, Z90, H, S, SDagger, TDagger, measure, reset."""
        operations = {
            "reset": OperationCompilationConfig(
                factory_func=pulse_library.IdlePulse,
                factory_kwargs={"duration": self.reset.duration},
            ),
            "Rxy": self._rxy(None, None),
            "X": self._rxy(180.0, 0.0),
            "X90": self._rxy(90.0, 0.0),
            "Y": self._rxy(180.0, 90.0),
            "Y90": self._rxy(90.0, 90.0),
            "Rz": self._rz(None),
            "Z": self._rz(180.0),
            "Z90": self._rz(90.0),
            "S": self._rz(90.0),
            "SDagger": self._rz(-90.0),
            "TDagger": self._rz(-45.0),
            "H": OperationCompilationConfig(factory_func=hadamard_as_y90z, factory_kwargs={"qubit": self.name}),
            "measure": self._measure(),
        }
        return DeviceCompilationConfig(
            elements={self.name: operations},
            clocks={
                qubit_clock(self.name): self.clock_freqs.f01,
                f"{self.name}.12": self.clock_freqs.f12,
                f"{self.name}.ro": self.clock_freqs.readout,
            },
            edges={},
        )


class CompositeSquareEdge(Edge):  # type: ignore[misc]
    """CZ as a square flux pulse on the parent's flux port plus virtual-Z corrections."""

    edge_type: Literal["CompositeSquareEdge"] = "CompositeSquareEdge"

    cz: CZ

    def _virtual_z(self) -> dict[str, Any]:
        return {
            "square_amp": self.cz.square_amp,
            "square_duration": self.cz.square_duration,
            "virt_z_parent_qubit_phase": self.cz.parent_phase_correction,
            "virt_z_parent_qubit_clock": qubit_clock(self.parent_element_name),
            "virt_z_child_qubit_phase": self.cz.child_phase_correction,
            "virt_z_child_qubit_clock": qubit_clock(self.child_element_name),
        }

    def generate_edge_config(self) -> dict[str, dict[str, OperationCompilationConfig]]:
        parent = self.parent_element
        flux_port = parent.ports.flux if isinstance(parent, TransmonElement) else (f"{self.parent_element_name}:fl")
        return {
            self.name: {
                "CZ": OperationCompilationConfig(
                    factory_func=composite_square_pulse,
                    factory_kwargs={
                        **self._virtual_z(),
                        "square_port": flux_port,
                        "square_clock": BasebandClockResource.IDENTITY,
                    },
                )
            }
        }


class CouplerClocks(SchedulerSubmodule):  # type: ignore[misc]
    """Clock of a flux-tunable coupler's CZ pulse."""

    cz: float = Parameter(
        initial_value=0.0,
        unit="Hz",
        vals=Numbers(min_value=-COUPLER_CLOCK_LIMIT_HZ, max_value=COUPLER_CLOCK_LIMIT_HZ, allow_nan=True),
    )


def flux_tunable_cz(
    square_amp: float,
    square_duration: float,
    square_port: str,
    square_clock: str,
    square_clock_freq: float,
    virt_z_parent_qubit_phase: float,
    virt_z_parent_qubit_clock: str,
    virt_z_child_qubit_phase: float,
    virt_z_child_qubit_clock: str,
) -> TimeableSchedule:
    """CZ through a coupler: registers its clock, plays the square pulse, corrects both phases."""
    return coupler_cz(
        TimeableSchedule("FluxTunableCZ"),
        clock=ClockResource(name=square_clock, freq=square_clock_freq),
        pulse=pulse_library.SquarePulse(
            amplitude=square_amp, duration=square_duration, port=square_port, clock=square_clock
        ),
        phase_shifts=[
            pulse_library.ShiftClockPhase(phase_shift=virt_z_parent_qubit_phase, clock=virt_z_parent_qubit_clock),
            pulse_library.ShiftClockPhase(phase_shift=virt_z_child_qubit_phase, clock=virt_z_child_qubit_clock),
        ],
    )


class FluxTunableCoupler(CompositeSquareEdge):
    """A :class:`CompositeSquareEdge` whose CZ pulse plays on the coupler's own flux line.

    The pulse goes to port ``<edge>:fl`` on clock ``<edge>.cz`` at ``clock_freqs.cz`` (Hz).
    """

    edge_type: Literal["FluxTunableCoupler"] = "FluxTunableCoupler"  # type: ignore[assignment]

    clock_freqs: CouplerClocks

    def generate_edge_config(self) -> dict[str, dict[str, OperationCompilationConfig]]:
        return {
            self.name: {
                "CZ": OperationCompilationConfig(
                    factory_func=flux_tunable_cz,
                    factory_kwargs={
                        **self._virtual_z(),
                        "square_port": coupler_port(self.name),
                        "square_clock": coupler_clock(self.name),
                        "square_clock_freq": self.clock_freqs.cz,
                    },
                )
            }
        }
