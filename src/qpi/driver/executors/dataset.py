"""Building the ``qpi.dataset/1`` layout (``executors.md`` §2.1), shared by every executor.

An executor describes each experiment it ran with an :class:`ExperimentRecord` (the circuit's
shape in a :class:`CircuitLayout`, plus the measured data of its level) and calls
:func:`build_dataset`, which checks the shapes, names every variable and dimension with the
``c<i>_`` prefix and writes the NetCDF-safe attributes (str, int, float or 1-D lists of them; no
bools, no nested dicts)::

    layout = CircuitLayout.of(bound_circuit, executed=transpiled_circuit)
    record = ExperimentRecord(name="bell", shots=1000, layout=layout, source_circuit=0, bits=bits)
    dataset = build_dataset(job_id, "mock", meas_level=2, meas_return="single", memory=False,
                            experiments=[record])

Data by level (``clbits`` = the circuit's classical bits, clbit 0 first):

- level 2: ``bits`` uint8 (shots, clbits), values 0/1;
- level 1: ``iq`` float64 (shots, clbits, 2) for ``single``, (clbits, 2) for ``avg``;
- level 0: ``trace`` float64 (clbits, samples, 2) for ``avg``, (shots, clbits, samples, 2) for
  ``single``, with ``sample_times`` (seconds from the start of the acquisition).

:func:`write_dataset` saves a dataset with h5netcdf (option ``save_datasets``, E-1.10).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from qpi.errors import InvalidResult

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

__all__ = [
    "LAYOUT",
    "CircuitLayout",
    "ExperimentRecord",
    "build_dataset",
    "measured_qubits",
    "write_dataset",
]

LAYOUT = "qpi.dataset/1"
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_SHARED_DIMS = {"iq"}


@dataclass(frozen=True)
class CircuitLayout:
    """The shape of one experiment's circuit: widths, registers and what each clbit measured.

    ``measured_qubits[k]`` is the (physical) qubit last measured into clbit ``k``, or -1.
    """

    num_qubits: int
    num_clbits: int
    qregs: tuple[tuple[str, int], ...]
    cregs: tuple[tuple[str, int], ...]
    measured_qubits: tuple[int, ...]

    @classmethod
    def of(cls, circuit: QuantumCircuit, *, executed: QuantumCircuit | None = None) -> CircuitLayout:
        """Registers and widths from ``circuit``; measured qubits from ``executed`` when given.

        Pass the transpiled circuit as ``executed`` so that measured qubits are physical indices.
        """
        return cls(
            num_qubits=circuit.num_qubits,
            num_clbits=circuit.num_clbits,
            qregs=tuple((register.name, register.size) for register in circuit.qregs),
            cregs=tuple((register.name, register.size) for register in circuit.cregs),
            measured_qubits=measured_qubits(executed if executed is not None else circuit),
        )


def measured_qubits(circuit: QuantumCircuit) -> tuple[int, ...]:
    """Per clbit, the qubit last measured into it (-1 if none), looking into control flow blocks."""
    out = [-1] * circuit.num_clbits
    _scan_measures(circuit, list(range(circuit.num_qubits)), list(range(circuit.num_clbits)), out)
    return tuple(out)


def _scan_measures(circuit: QuantumCircuit, qubit_map: list[int], clbit_map: list[int], out: list[int]) -> None:
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name == "measure":
            qubit = qubit_map[circuit.find_bit(instruction.qubits[0]).index]
            clbit = clbit_map[circuit.find_bit(instruction.clbits[0]).index]
            out[clbit] = qubit
        elif getattr(operation, "blocks", None):
            inner_qubits = [qubit_map[circuit.find_bit(bit).index] for bit in instruction.qubits]
            inner_clbits = [clbit_map[circuit.find_bit(bit).index] for bit in instruction.clbits]
            for block in operation.blocks:
                _scan_measures(block, inner_qubits, inner_clbits, out)


@dataclass(frozen=True)
class ExperimentRecord:
    """One experiment as an executor ran it (see the module docstring for the data shapes).

    ``extra`` holds further variables, ``{name: (dims, array)}``; names and dims are given
    without the ``c<i>_`` prefix (dims ``shot``, ``clbit``, ``sample`` map to the experiment's
    own; ``iq`` is shared). ``process_result`` ignores them.
    """

    name: str
    shots: int
    layout: CircuitLayout
    source_circuit: int
    parameter_set: int | None = None
    parameter_values: Sequence[float] = ()
    seed: int | None = None
    time_taken: float = 0.0
    bits: np.ndarray[Any, Any] | None = None
    iq: np.ndarray[Any, Any] | None = None
    trace: np.ndarray[Any, Any] | None = None
    sample_times: np.ndarray[Any, Any] | None = None
    extra: Mapping[str, tuple[tuple[str, ...], np.ndarray[Any, Any]]] = field(default_factory=dict)


def build_dataset(
    job_id: str,
    executor: str,
    *,
    meas_level: int,
    meas_return: Literal["single", "avg"] | str,
    memory: bool,
    experiments: Sequence[ExperimentRecord],
) -> xr.Dataset:
    """Assemble the ``qpi.dataset/1`` dataset of one job; a malformed record raises InvalidResult."""
    if meas_level not in (0, 1, 2):
        raise InvalidResult(f"meas_level must be 0, 1 or 2, not {meas_level!r}")
    if meas_return not in ("single", "avg"):
        raise InvalidResult(f"meas_return must be 'single' or 'avg', not {meas_return!r}")
    data_vars: dict[str, tuple[tuple[str, ...], np.ndarray[Any, Any]]] = {}
    coords: dict[str, Any] = {"iq": ["I", "Q"]}
    attrs: dict[str, Any] = {
        "qpi_layout": LAYOUT,
        "job_id": job_id,
        "executor": executor,
        "n_experiments": len(experiments),
        "meas_level": int(meas_level),
        "meas_return": str(meas_return),
        "memory": int(bool(memory)) if meas_level == 2 else 0,
    }
    for index, record in enumerate(experiments):
        prefix = f"c{index}_"
        coords[prefix + "shot"] = np.arange(record.shots)
        coords[prefix + "clbit"] = np.arange(record.layout.num_clbits)
        name, dims, array = _main_variable(index, record, meas_level, str(meas_return))
        data_vars[name] = (dims, array)
        if meas_level == 0:
            coords[prefix + "sample"] = _sample_times(index, record, array.shape[-2])
        for extra_name, (extra_dims, extra_array) in record.extra.items():
            if not _NAME.match(extra_name):
                raise InvalidResult(f"experiment {index}: variable name {extra_name!r} is not NetCDF-safe")
            full_dims = tuple(dim if dim in _SHARED_DIMS else prefix + dim for dim in extra_dims)
            data_vars[prefix + extra_name] = (full_dims, np.asarray(extra_array))
        attrs.update(_experiment_attrs(prefix, record))
    try:
        return xr.Dataset(data_vars=data_vars, coords=coords, attrs=attrs)
    except (ValueError, TypeError) as exc:
        raise InvalidResult(f"the dataset could not be built: {exc}") from exc


def _main_variable(
    index: int, record: ExperimentRecord, meas_level: int, meas_return: str
) -> tuple[str, tuple[str, ...], np.ndarray[Any, Any]]:
    prefix = f"c{index}_"
    shot, clbit = prefix + "shot", prefix + "clbit"
    clbits = record.layout.num_clbits
    if meas_level == 2:
        bits = _require(index, "bits", record.bits)
        _check_shape(index, "bits", bits, (record.shots, clbits))
        if bits.size and int(bits.max()) > 1:
            raise InvalidResult(f"experiment {index}: bits must be 0 or 1")
        return prefix + "bits", (shot, clbit), bits.astype(np.uint8, copy=False)
    if meas_level == 1:
        iq = _require(index, "iq", record.iq).astype(np.float64, copy=False)
        if meas_return == "single":
            _check_shape(index, "iq", iq, (record.shots, clbits, 2))
            return prefix + "iq", (shot, clbit, "iq"), iq
        _check_shape(index, "iq", iq, (clbits, 2))
        return prefix + "iq", (clbit, "iq"), iq
    trace = _require(index, "trace", record.trace).astype(np.float64, copy=False)
    sample = prefix + "sample"
    if meas_return == "single":
        _check_shape(index, "trace", trace, (record.shots, clbits, None, 2))
        return prefix + "trace", (shot, clbit, sample, "iq"), trace
    _check_shape(index, "trace", trace, (clbits, None, 2))
    return prefix + "trace", (clbit, sample, "iq"), trace


def _require(index: int, what: str, array: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
    if array is None:
        raise InvalidResult(f"experiment {index}: no {what} data for this measurement level")
    return np.asarray(array)


def _check_shape(index: int, what: str, array: np.ndarray[Any, Any], expected: tuple[int | None, ...]) -> None:
    ok = array.ndim == len(expected) and all(
        want is None or have == want for have, want in zip(array.shape, expected, strict=True)
    )
    if not ok:
        shown = tuple("n" if want is None else want for want in expected)
        raise InvalidResult(f"experiment {index}: {what} has shape {array.shape}, expected {shown}")


def _sample_times(index: int, record: ExperimentRecord, samples: int) -> np.ndarray[Any, Any]:
    if record.sample_times is None:
        raise InvalidResult(f"experiment {index}: level 0 data needs sample_times")
    times = np.asarray(record.sample_times, dtype=np.float64)
    if times.shape != (samples,):
        raise InvalidResult(f"experiment {index}: {samples} samples but {times.shape} sample times")
    return times


def _experiment_attrs(prefix: str, record: ExperimentRecord) -> dict[str, Any]:
    layout = record.layout
    if len(layout.measured_qubits) != layout.num_clbits:
        raise InvalidResult(f"{prefix}measured_qubits must have one entry per clbit")
    attrs: dict[str, Any] = {
        prefix + "name": record.name,
        prefix + "shots": int(record.shots),
        prefix + "num_qubits": int(layout.num_qubits),
        prefix + "source_circuit": int(record.source_circuit),
        prefix + "parameter_set": -1 if record.parameter_set is None else int(record.parameter_set),
        prefix + "parameter_values": [float(value) for value in record.parameter_values],
        prefix + "creg_names": [name for name, _ in layout.cregs],
        prefix + "creg_sizes": [int(size) for _, size in layout.cregs],
        prefix + "qreg_names": [name for name, _ in layout.qregs],
        prefix + "qreg_sizes": [int(size) for _, size in layout.qregs],
        prefix + "measured_qubits": [int(qubit) for qubit in layout.measured_qubits],
        prefix + "time_taken": float(record.time_taken),
    }
    if record.seed is not None:
        attrs[prefix + "seed"] = int(record.seed)
    return attrs


def write_dataset(dataset: xr.Dataset, directory: Path, job_id: str, attempt: int) -> Path:
    """Write ``<directory>/<job_id>.<attempt>.nc`` with h5netcdf, atomically; return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{job_id}.{attempt}.nc"
    partial = directory / f".{job_id}.{attempt}.nc.partial"
    dataset.to_netcdf(partial, engine="h5netcdf")
    os.replace(partial, path)
    return path
