"""The flux-tunable coupler for quantify-scheduler (``executors.md`` §3.3, "Flux-tunable coupler").

:class:`FluxTunableCoupler` extends quantify's ``CompositeSquareEdge`` with ``clock_freqs.cz``
(Hz, default 0.0, NaN allowed, bounds ±1e12). Its CZ factory registers the clock ``<edge>.cz`` at
that frequency, plays ``SquarePulse(square_amp, square_duration)`` on port ``<edge>:fl`` and
applies the parent and child phase corrections on their qubit clocks at the pulse start.

Importing this module imports quantify-scheduler: only the quantify executor (in a worker) does.
"""

from __future__ import annotations

import math
from typing import Any

from qcodes.instrument import InstrumentChannel
from qcodes.instrument.parameter import ManualParameter
from quantify_scheduler.backends.graph_compilation import OperationCompilationConfig
from quantify_scheduler.device_under_test.composite_square_edge import CompositeSquareEdge
from quantify_scheduler.helpers.validators import Numbers
from quantify_scheduler.operations.pulse_library import ShiftClockPhase, SquarePulse
from quantify_scheduler.resources import ClockResource
from quantify_scheduler.schedules.schedule import Schedule

from qpi.driver.executors.hardware.coupler import COUPLER_CLOCK_LIMIT_HZ, coupler_cz
from qpi.driver.executors.hardware.naming import coupler_clock, coupler_port, qubit_clock

__all__ = ["CouplerClocks", "FluxTunableCoupler", "flux_tunable_cz"]


class CouplerClocks(InstrumentChannel):
    """Clock of a flux-tunable coupler's CZ pulse."""

    def __init__(self, parent: Any, name: str, *, cz: float = 0.0) -> None:
        super().__init__(parent=parent, name=name)
        self.cz = ManualParameter(
            "cz",
            instrument=self,
            unit="Hz",
            initial_value=cz,
            vals=Numbers(min_value=-COUPLER_CLOCK_LIMIT_HZ, max_value=COUPLER_CLOCK_LIMIT_HZ, allow_nan=True),
            docstring="Frequency of the coupler's CZ clock <edge>.cz.",
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
) -> Schedule:
    """CZ through a coupler: registers its clock, plays the square pulse, corrects both phases."""
    return coupler_cz(
        Schedule("FluxTunableCZ"),
        clock=ClockResource(name=square_clock, freq=square_clock_freq),
        pulse=SquarePulse(amp=square_amp, duration=square_duration, port=square_port, clock=square_clock),
        phase_shifts=[
            ShiftClockPhase(phase_shift=virt_z_parent_qubit_phase, clock=virt_z_parent_qubit_clock),
            ShiftClockPhase(phase_shift=virt_z_child_qubit_phase, clock=virt_z_child_qubit_clock),
        ],
    )


class FluxTunableCoupler(CompositeSquareEdge):  # type: ignore[misc]
    """A ``CompositeSquareEdge`` whose CZ pulse plays on the coupler's own flux line."""

    def __init__(self, parent_element_name: str, child_element_name: str, **kwargs: Any) -> None:
        clocks = kwargs.pop("clock_freqs", {}) or {}
        super().__init__(parent_element_name, child_element_name, **kwargs)
        self.add_submodule("clock_freqs", CouplerClocks(parent=self, name="clock_freqs", **clocks))

    def generate_edge_config(self) -> dict[str, dict[str, OperationCompilationConfig]]:
        cz = self.cz
        freq = self.submodules["clock_freqs"].parameters["cz"]()
        return {
            self.name: {
                "CZ": OperationCompilationConfig(
                    factory_func=flux_tunable_cz,
                    factory_kwargs={
                        "square_amp": cz.square_amp(),
                        "square_duration": cz.square_duration(),
                        "square_port": coupler_port(self.name),
                        "square_clock": coupler_clock(self.name),
                        "square_clock_freq": math.nan if freq is None else freq,
                        "virt_z_parent_qubit_phase": cz.parameters[f"{self._parent_element_name}_phase_correction"](),
                        "virt_z_parent_qubit_clock": qubit_clock(self._parent_element_name),
                        "virt_z_child_qubit_phase": cz.parameters[f"{self._child_element_name}_phase_correction"](),
                        "virt_z_child_qubit_clock": qubit_clock(self._child_element_name),
                    },
                )
            }
        }
