"""The seam between the shared hardware pipeline and one scheduling library.

A :class:`HardwareBackend` (``quantify/backend.py``, ``qblox/backend.py``) knows how to make its
library's operations from the native records of :mod:`~qpi.driver.executors.hardware.gates`, how
to compile a schedule and how to run it on the clusters. Everything else (parsing, transpiling,
the conversion table, readout rules, the dataset) lives in this package and is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from qpi.driver.executors.hardware.gates import CZ, Gate, Idle, Measure, NativeOp, Reset, Rxy, Rz
from qpi.driver.executors.hardware.readout import MeasureSetting
from qpi.errors import UnsupportedFeature

__all__ = [
    "FIXED_GATES",
    "AcqTarget",
    "Acquisitions",
    "HardwareBackend",
    "library_operation",
    "trace_limit_error",
]

#: The fixed single-qubit gates of the conversion table, named alike in both libraries' gate libraries.
FIXED_GATES = ("X", "Y", "Z", "H", "S", "SDagger", "T", "TDagger")


#: Raw acquisitions of one run, by ``(qubit, acq_index)``: level 2 → float per shot (0/1, NaN or
#: -1 when there was no data); level 1 → complex per shot (single) or a complex scalar (avg);
#: level 0 → complex trace samples (averaged).
Acquisitions = Mapping[tuple[int, int], np.ndarray]


@dataclass(frozen=True)
class AcqTarget:
    """Where a qubit's binned acquisitions live on a dummy cluster (for injected test data).

    Use with ``clusters[cluster].set_dummy_binned_acquisition_data(slot, sequencer,
    acq_index_name, data)``.
    """

    cluster: str
    slot: int
    sequencer: int
    acq_index_name: str


class HardwareBackend(ABC):
    """One scheduling library (quantify-scheduler or qblox-scheduler) driving Qblox clusters."""

    #: Distribution name, for ``DeviceInfo.versions`` and messages.
    library: ClassVar[str]
    #: Whether the library undoes NCO phase shifts before pulses, so that the CZ's phase
    #: corrections must be folded into the software frame (:mod:`.frames`).
    cz_corrections_in_frame: ClassVar[bool] = False

    @property
    @abstractmethod
    def clusters(self) -> Mapping[str, Any]:
        """The ``qblox_instruments.Cluster`` objects by name (dummy or real)."""

    @abstractmethod
    def device_compilation_config(self) -> Any:
        """The library's ``DeviceCompilationConfig`` generated from the device elements."""

    @abstractmethod
    def new_schedule(self, name: str, repetitions: int) -> Any:
        """An empty schedule whose ``add(operation, rel_time, ref_op, ref_pt)`` places operations."""

    @abstractmethod
    def operation(self, op: NativeOp) -> Any:
        """The library operation of one native record (every kind but :class:`Measure`)."""

    @abstractmethod
    def measure(self, op: Measure, setting: MeasureSetting) -> Any:
        """The library's ``Measure`` of ``op.qubit`` with the protocol and overrides of ``setting``."""

    @abstractmethod
    def compile(self, schedule: Any) -> Any:
        """Compile ``schedule`` for the clusters."""

    @abstractmethod
    def run(
        self,
        compiled: Any,
        *,
        timeout_s: float,
        measures: Sequence[Measure],
        settings: Mapping[int, MeasureSetting],
    ) -> Acquisitions:
        """Prepare, start, wait and retrieve; return the data of each ``measures`` entry."""

    @abstractmethod
    def acquisition_targets(self, compiled: Any) -> dict[int, list[AcqTarget]]:
        """For each measured qubit, the binned acquisition targets of a compiled schedule."""

    @abstractmethod
    def close(self) -> None:
        """Release the instruments; never raises."""


def library_operation(op: NativeOp, *, gates: Any, fixed: Mapping[str, Any], idle_pulse: Any, library: str) -> Any:
    """A library's operation for one native record (every kind but Measure).

    ``gates`` is the library's ``gate_library`` module, ``fixed`` its gate class by :data:`FIXED_GATES` name,
    ``idle_pulse`` its ``IdlePulse`` and ``library`` the name used in the ``TypeError`` for anything else.
    """
    if isinstance(op, Gate):
        return fixed[op.name](f"q{op.qubit}")
    if isinstance(op, Rxy):
        return gates.Rxy(theta=op.theta, phi=op.phi, qubit=f"q{op.qubit}")
    if isinstance(op, Rz):
        return gates.Rz(theta=op.theta, qubit=f"q{op.qubit}")
    if isinstance(op, CZ):
        return gates.CZ(qC=f"q{op.parent}", qT=f"q{op.child}")
    if isinstance(op, Reset):
        return gates.Reset(*(f"q{q}" for q in op.qubits))
    if isinstance(op, Idle):
        return idle_pulse(duration=op.duration)
    raise TypeError(f"no {library} operation for {op!r}")


def trace_limit_error(exc: ValueError, *markers: str) -> UnsupportedFeature | None:
    """The error to raise when a library's compile error ``exc`` (one of ``markers`` in its text) is the
    one-raw-trace-per-readout-module limit of ``meas_level`` 0; ``None`` when it is anything else."""
    if not any(marker in str(exc) for marker in markers):
        return None
    return UnsupportedFeature(
        "meas_level 0 records a raw trace for one qubit per readout module only: "
        f"measure one qubit per module in this circuit ({exc})"
    )
