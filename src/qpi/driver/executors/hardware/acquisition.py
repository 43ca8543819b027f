"""Raw acquisitions of one run → the arrays of the ``qpi.dataset/1`` layout (§2.1).

Each ``Measure`` writes its clbit; when a clbit is written twice the last write wins, and clbits
never written hold 0 (bits) or ``[0, 0]`` (IQ). A shot without data (NaN, or -1 from a
thresholded acquisition that never happened) counts as 0 and adds the warning
``"N shots had no data for q<p>"`` (E-3.8). Level 0 traces are averaged over shots; traces of
different lengths are zero-padded to the longest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from qpi.driver.executors.hardware.backend import Acquisitions
from qpi.driver.executors.hardware.gates import Measure
from qpi.errors import ExecutionError

__all__ = ["SAMPLE_S", "ExperimentArrays", "assemble"]

SAMPLE_S = 1e-9  # Qblox trace sampling period

Array = np.ndarray[Any, Any]


@dataclass
class ExperimentArrays:
    """The data of one experiment in dataset shapes, plus its warnings."""

    bits: Array | None = None
    iq: Array | None = None
    trace: Array | None = None
    sample_times: Array | None = None
    warnings: list[str] = field(default_factory=list)


def _data(acquisitions: Acquisitions, measure: Measure) -> Array:
    try:
        return np.asarray(acquisitions[(measure.qubit, measure.acq_index)])
    except KeyError:
        raise ExecutionError(
            f"the hardware returned no acquisition for measurement {measure.acq_index} of q{measure.qubit}"
        ) from None


def _shots(values: Array, shots: int, measure: Measure) -> Array:
    flat = values.reshape(-1)
    if flat.shape != (shots,):
        raise ExecutionError(
            f"measurement {measure.acq_index} of q{measure.qubit} returned {flat.size} values for {shots} shots"
        )
    return flat


def _missing_warnings(missing: Mapping[int, Array]) -> list[str]:
    return [
        f"{int(mask.sum())} shots had no data for q{qubit}" for qubit, mask in sorted(missing.items()) if mask.any()
    ]


def _bits(acquisitions: Acquisitions, measures: Sequence[Measure], shots: int, clbits: int) -> ExperimentArrays:
    bits = np.zeros((shots, clbits), dtype=np.uint8)
    missing: dict[int, Array] = {}
    for measure in measures:
        values = _shots(_data(acquisitions, measure), shots, measure).astype(np.float64)
        valid = np.isfinite(values) & ((values == 0) | (values == 1))
        bits[:, measure.clbit] = np.where(valid, values, 0).astype(np.uint8)
        missing[measure.qubit] = missing.get(measure.qubit, np.zeros(shots, dtype=bool)) | ~valid
    return ExperimentArrays(bits=bits, warnings=_missing_warnings(missing))


def _iq(
    acquisitions: Acquisitions, measures: Sequence[Measure], shots: int, clbits: int, average: bool
) -> ExperimentArrays:
    iq = np.zeros((clbits, 2) if average else (shots, clbits, 2), dtype=np.float64)
    missing: dict[int, Array] = {}
    for measure in measures:
        values = _data(acquisitions, measure).astype(np.complex128)
        if average:
            value = complex(values.reshape(-1)[0]) if values.size else complex("nan")
            valid = np.array([np.isfinite(value)])
            iq[measure.clbit] = [value.real, value.imag] if valid[0] else [0.0, 0.0]
        else:
            flat = _shots(values, shots, measure)
            valid = np.isfinite(flat)
            iq[:, measure.clbit, 0] = np.where(valid, flat.real, 0.0)
            iq[:, measure.clbit, 1] = np.where(valid, flat.imag, 0.0)
        previous = missing.get(measure.qubit)
        missing[measure.qubit] = ~valid if previous is None else previous | ~valid
    arrays = ExperimentArrays(iq=iq)
    if average:
        arrays.warnings = [
            f"the averaged acquisition of q{q} had no data" for q, m in sorted(missing.items()) if m.any()
        ]
    else:
        arrays.warnings = _missing_warnings(missing)
    return arrays


def _trace(acquisitions: Acquisitions, measures: Sequence[Measure], clbits: int) -> ExperimentArrays:
    traces: dict[int, Array] = {}
    missing: set[int] = set()
    for measure in measures:
        values = _data(acquisitions, measure).astype(np.complex128).reshape(-1)
        valid = np.isfinite(values)
        if not valid.all():
            missing.add(measure.qubit)
        traces[measure.clbit] = np.where(valid, values, 0.0)
    samples = max((len(t) for t in traces.values()), default=0)
    trace = np.zeros((clbits, samples, 2), dtype=np.float64)
    for clbit, values in traces.items():
        trace[clbit, : len(values), 0] = values.real
        trace[clbit, : len(values), 1] = values.imag
    warnings = [f"the raw trace of q{qubit} had no data" for qubit in sorted(missing)]
    return ExperimentArrays(trace=trace, sample_times=np.arange(samples) * SAMPLE_S, warnings=warnings)


def assemble(
    acquisitions: Acquisitions,
    measures: Sequence[Measure],
    *,
    shots: int,
    num_clbits: int,
    meas_level: Literal[0, 1, 2],
    meas_return: Literal["single", "avg"],
) -> ExperimentArrays:
    """The dataset arrays of one experiment from its raw acquisitions (circuit order)."""
    if meas_level == 2:
        return _bits(acquisitions, measures, shots, num_clbits)
    if meas_level == 1:
        return _iq(acquisitions, measures, shots, num_clbits, average=meas_return == "avg")
    return _trace(acquisitions, measures, num_clbits)
