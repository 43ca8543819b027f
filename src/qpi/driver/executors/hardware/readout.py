"""Readout settings per measured qubit: levels, protocols and discrimination (``executors.md`` §3.3).

At level 2 each qubit is thresholded in hardware with **its own** ``measure.acq_threshold`` and
``measure.acq_rotation``. Payload values override them: ``acq_overrides[p]`` wins over
``acq_threshold`` / ``acq_rotation``, which apply to every measured qubit. Overrides travel as
per-``Measure`` device overrides. A qubit whose threshold is missing from the device file (and not
overridden) or NaN fails the job with ``calibration_missing``, naming the qubit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.errors import CalibrationMissing, UnsupportedFeature
from qpi.protocol.payload import JobPayload

__all__ = ["MeasureSetting", "plan_readout"]

MeasReturn = Literal["single", "avg"]


@dataclass(frozen=True)
class MeasureSetting:
    """How one qubit is read out in one experiment.

    ``threshold`` / ``rotation`` are device overrides for the ``Measure`` (None: the element's own
    value is used); ``effective_threshold`` is the value the hardware will use (level 2 only).
    """

    level: Literal[0, 1, 2]
    meas_return: MeasReturn
    threshold: float | None = None
    rotation: float | None = None
    effective_threshold: float | None = None

    @property
    def average(self) -> bool:
        """True when the hardware averages over shots (level 1 avg, level 0)."""
        return self.level == 0 or (self.level == 1 and self.meas_return == "avg")

    @property
    def overrides(self) -> dict[str, float]:
        """The ``Measure`` keyword arguments of the device overrides (``acq_threshold``, ``acq_rotation``)."""
        out: dict[str, float] = {}
        if self.threshold is not None:
            out["acq_threshold"] = self.threshold
        if self.rotation is not None:
            out["acq_rotation"] = self.rotation
        return out


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def plan_readout(
    spec: DeviceSpec, payload: JobPayload, qubits: Iterable[int], *, executor: str
) -> dict[int, MeasureSetting]:
    """The :class:`MeasureSetting` of every measured physical qubit of one experiment."""
    level = payload.meas_level
    if level == 0 and payload.meas_return == "single":
        raise UnsupportedFeature(
            f"meas_level 0 with meas_return 'single' is not supported by the {executor} executor; "
            "raw traces are averaged over shots (use meas_return 'avg')"
        )
    settings: dict[int, MeasureSetting] = {}
    overrides = payload.acq_overrides or {}
    for qubit in sorted(set(qubits)):
        if level != 2:
            settings[qubit] = MeasureSetting(level=level, meas_return=payload.meas_return)
            continue
        override = overrides.get(qubit)
        threshold = override.threshold if override and override.threshold is not None else payload.acq_threshold
        rotation = override.rotation_deg if override and override.rotation_deg is not None else payload.acq_rotation
        element = spec.qubits[qubit]
        own = element.get("measure.acq_threshold")
        effective = threshold if threshold is not None else (own if isinstance(own, float) else None)
        if not _finite(effective):
            where = "is NaN" if effective is not None else "is not set"
            raise CalibrationMissing(
                f"qubit q{qubit} has no readout calibration: measure.acq_threshold {where} in "
                f"{spec.path} (set it there, or pass acq_threshold / acq_overrides with the job)"
            )
        if rotation is not None and not math.isfinite(rotation):
            raise CalibrationMissing(f"qubit q{qubit}: the readout rotation override is not a finite number")
        settings[qubit] = MeasureSetting(
            level=2,
            meas_return=payload.meas_return,
            threshold=threshold,
            rotation=rotation,
            effective_threshold=effective,
        )
    return settings
