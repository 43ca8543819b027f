"""Dataset → result document (``executors.md`` §2.2, §2.3), and typing the document once.

:func:`dataset_to_result` is the default ``Executor.process_result``: it reads any layout of
``qpi.dataset/1`` (levels 2, 1 and 0, ``single`` or ``avg``, with or without per-shot memory;
also a dataset read back from a NetCDF file) and returns a plain dict of Python numbers, strings
and lists. Keys are full-width binary strings with clbit 0 rightmost and no spaces; counts hold
only observed states, sorted ascending.

:func:`to_result_doc` turns whatever ``process_result`` returned into a
:class:`~qpi.protocol.payload.ResultDoc` with one ``msgspec.convert`` (failure →
:class:`~qpi.errors.InvalidResult`), wrapping the seed README's ``{"counts": …, "shots": …}``
style into a one-experiment document with a warning (E-1.4).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from qpi.errors import InvalidResult
from qpi.protocol.payload import ExperimentResult, ResultDoc

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["bits_to_keys", "dataset_to_result", "result_date", "to_result_doc"]

logger = logging.getLogger(__name__)


def result_date(when: datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, e.g. ``2026-11-24T10:00:01.250Z``."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def bits_to_keys(bits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """(shots, clbits) 0/1 array → one bytes key per shot, clbit 0 rightmost (E-2.2)."""
    shots, width = bits.shape
    if width == 0:
        return np.full(shots, b"", dtype="S1")
    chars = np.ascontiguousarray(bits[:, ::-1], dtype=np.uint8) + np.uint8(ord("0"))
    return chars.view(f"S{width}").reshape(shots)


def dataset_to_result(dataset: xr.Dataset, job_id: str, backend_name: str) -> dict[str, Any]:
    """The result document (§2.3, keys not marked ◆) of a ``qpi.dataset/1`` dataset."""
    from qpi import __version__

    attrs = dataset.attrs
    meas_level = _int(attrs, "meas_level")
    meas_return = str(attrs.get("meas_return", "single"))
    with_memory = bool(_int(attrs, "memory", 0))
    results = [
        _experiment(dataset, index, meas_level, meas_return, with_memory)
        for index in range(_int(attrs, "n_experiments"))
    ]
    if not results:
        raise InvalidResult("the dataset holds no experiment")
    return {
        "backend_name": backend_name,
        "backend_version": __version__,
        "qobj_id": job_id,
        "job_id": job_id,
        "success": all(result["success"] for result in results),
        "status": "COMPLETED",
        "date": result_date(),
        "shots": results[0]["shots"],
        "results": results,
    }


def _experiment(
    dataset: xr.Dataset, index: int, meas_level: int, meas_return: str, with_memory: bool
) -> dict[str, Any]:
    attrs = dataset.attrs
    prefix = f"c{index}_"
    shots = _int(attrs, prefix + "shots")
    clbits = int(dataset.sizes.get(prefix + "clbit", 0))
    data: dict[str, Any] = {}
    if meas_level == 2:
        bits = np.asarray(dataset[prefix + "bits"].values)
        if bits.size and int(bits.max()) > 1:
            raise InvalidResult(f"experiment {index}: bits must be 0 or 1")
        keys = bits_to_keys(bits)
        states, counts = np.unique(keys, return_counts=True)
        data["counts"] = {state.decode(): int(count) for state, count in zip(states, counts, strict=True)}
        if with_memory:
            data["memory"] = keys.astype(str).tolist()
    elif meas_level == 1:
        data["memory"] = np.asarray(dataset[prefix + "iq"].values, dtype=np.float64).tolist()
    else:
        data["memory"] = np.asarray(dataset[prefix + "trace"].values, dtype=np.float64).tolist()
    parameter_set = _int(attrs, prefix + "parameter_set", -1)
    result: dict[str, Any] = {
        "shots": shots,
        "success": True,
        "status": "DONE",
        "meas_level": meas_level,
        "time_taken": float(attrs.get(prefix + "time_taken", 0.0)),
        "header": {
            "name": str(attrs.get(prefix + "name", f"circuit-{index}")),
            "n_qubits": _int(attrs, prefix + "num_qubits"),
            "memory_slots": clbits,
            "creg_sizes": _registers(attrs, prefix + "creg"),
            "qreg_sizes": _registers(attrs, prefix + "qreg"),
            "clbit_labels": _labels(_registers(attrs, prefix + "creg")),
            "qubit_labels": _labels(_registers(attrs, prefix + "qreg")),
            "metadata": {
                "circuit_index": _int(attrs, prefix + "source_circuit", index),
                "parameter_index": None if parameter_set < 0 else parameter_set,
                "parameter_values": None
                if parameter_set < 0
                else [float(v) for v in _as_list(attrs.get(prefix + "parameter_values", []))],
            },
        },
        "data": data,
    }
    if meas_level in (0, 1):
        result["meas_return"] = meas_return
    if prefix + "seed" in attrs:
        result["seed_simulator"] = _int(attrs, prefix + "seed")
    return result


def _int(attrs: Mapping[str, Any], key: str, default: int | None = None) -> int:
    if key not in attrs:
        if default is None:
            raise InvalidResult(f"the dataset has no attribute {key!r}")
        return default
    value = attrs[key]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    return int(value)


def _as_list(value: Any) -> list[Any]:
    """A list attribute; NetCDF gives back a length-1 list as a scalar and an empty one as floats."""
    if isinstance(value, str | bytes):
        return [value.decode() if isinstance(value, bytes) else value]
    items = np.atleast_1d(np.asarray(value)).tolist()
    return list(items)


def _registers(attrs: Mapping[str, Any], prefix: str) -> list[list[Any]]:
    names = [str(name) for name in _as_list(attrs.get(prefix + "_names", []))]
    sizes = [int(size) for size in _as_list(attrs.get(prefix + "_sizes", []))]
    if len(names) != len(sizes):
        raise InvalidResult(f"{prefix}_names and {prefix}_sizes differ in length")
    return [[name, size] for name, size in zip(names, sizes, strict=True)]


def _labels(registers: list[list[Any]]) -> list[list[Any]]:
    return [[name, bit] for name, size in registers for bit in range(size)]


# --- typing the document once -------------------------------------------------------------


def to_result_doc(
    obj: Any,
    job_id: str,
    *,
    backend_name: str = "unknown",
    warnings: list[str] | None = None,
) -> ResultDoc:
    """Type ``process_result``'s return value once; warnings are appended to ``warnings``.

    ``job_id`` and ``qobj_id`` are always set to ``job_id``; missing ``backend_name``,
    ``backend_version``, ``success``, ``status``, ``date`` and ``shots`` are filled in.
    Counts and memory keys given in hex (``0x5``) or with register spaces are normalised to the
    spaceless binary form of E-2.2, with a warning.
    """
    from qpi import __version__

    if isinstance(obj, ResultDoc):
        obj = msgspec.to_builtins(obj)
    if not isinstance(obj, Mapping):
        raise InvalidResult(f"process_result returned {type(obj).__name__}, not a dict")
    notes: list[str] = warnings if warnings is not None else []
    document = dict(obj)
    if "results" not in document:
        if "counts" not in document:
            raise InvalidResult("the result document has neither 'results' nor 'counts'")
        document = _wrap_counts(document, backend_name)
        notes.append("process_result returned bare counts; wrapped into a one-experiment result document")
        logger.warning("job %s: %s", job_id, notes[-1])
    document["job_id"] = job_id
    document["qobj_id"] = job_id
    document.setdefault("backend_name", backend_name)
    document.setdefault("backend_version", __version__)
    document.setdefault("status", "COMPLETED")
    document.setdefault("date", result_date())
    results = document.get("results")
    if isinstance(results, list) and not results:
        raise InvalidResult("the result document has an empty 'results' list")
    if isinstance(results, list) and isinstance(results[0], Mapping):
        document.setdefault("shots", results[0].get("shots"))
        document.setdefault("success", all(bool(r.get("success", False)) for r in results if isinstance(r, Mapping)))
    try:
        doc = msgspec.convert(document, ResultDoc)
    except msgspec.ValidationError as exc:
        raise InvalidResult(f"the result document is invalid: {exc}") from exc
    normalised = [_normalise_keys(index, result) for index, result in enumerate(doc.results)]
    if any(new is not old for new, old in zip(normalised, doc.results, strict=True)):
        notes.append("result keys were normalised to spaceless binary strings (clbit 0 rightmost)")
        doc = msgspec.structs.replace(doc, results=normalised)
    return doc


def _wrap_counts(obj: Mapping[str, Any], backend_name: str) -> dict[str, Any]:
    counts = obj["counts"]
    if not isinstance(counts, Mapping) or not counts:
        raise InvalidResult("'counts' must be a non-empty mapping of bitstrings to integers")
    width = max([0, *(len(str(key).replace(" ", "")) for key in counts if not str(key).startswith("0x"))])
    hex_keys = [str(key) for key in counts if str(key).startswith("0x")]
    try:
        width = max([width, *(int(key, 16).bit_length() for key in hex_keys)])
    except ValueError as exc:
        raise InvalidResult(f"'counts' keys must be binary or hex strings: {exc}") from exc
    try:
        shots = int(obj.get("shots") or sum(int(value) for value in counts.values()))
    except (TypeError, ValueError) as exc:
        raise InvalidResult(f"'counts' values must be integers: {exc}") from exc
    data: dict[str, Any] = {"counts": dict(counts)}
    if isinstance(obj.get("memory"), list):
        data["memory"] = obj["memory"]
    return {
        "backend_name": obj.get("backend_name", backend_name),
        "shots": shots,
        "success": True,
        "results": [
            {
                "shots": shots,
                "success": True,
                "status": "DONE",
                "meas_level": 2,
                "header": {
                    "name": str(obj.get("name", "circuit-0")),
                    "n_qubits": width,
                    "memory_slots": width,
                    "creg_sizes": [["c", width]],
                    "qreg_sizes": [["q", width]],
                    "clbit_labels": [["c", bit] for bit in range(width)],
                    "qubit_labels": [["q", bit] for bit in range(width)],
                    "metadata": {"circuit_index": 0},
                },
                "data": data,
            }
        ],
    }


def _normalise_key(key: str, width: int) -> str:
    if key.startswith("0x"):
        return format(int(key, 16), f"0{width}b")
    plain = key.replace(" ", "")
    if plain.strip("01"):
        raise ValueError(f"key {key!r} is not a binary string")
    return plain.zfill(width)


def _normalise_keys(index: int, result: ExperimentResult) -> ExperimentResult:
    if result.meas_level != 2:
        return result
    width = result.header.memory_slots
    counts = result.data.counts
    memory = result.data.memory
    plain = all(_is_binary(key, width) for key in counts or ()) and all(
        isinstance(key, str) and _is_binary(key, width) for key in memory or ()
    )
    if plain:
        return result
    try:
        new_counts: dict[str, int] | None = None
        if counts is not None:
            new_counts = {}
            for key, value in counts.items():
                fixed = _normalise_key(key, width)
                new_counts[fixed] = new_counts.get(fixed, 0) + value
            new_counts = dict(sorted(new_counts.items()))
        new_memory = None if memory is None else [_normalise_key(str(key), width) for key in memory]
    except ValueError as exc:
        raise InvalidResult(f"experiment {index}: keys must be binary or hex strings: {exc}") from exc
    for key in list(new_counts or ()) + list(new_memory or ()):
        if not _is_binary(key, width):
            raise InvalidResult(f"experiment {index}: key {key!r} does not fit {width} memory slots")
    data = msgspec.structs.replace(result.data, counts=new_counts, memory=new_memory)
    return msgspec.structs.replace(result, data=data)


def _is_binary(key: str, width: int) -> bool:
    return len(key) == width and not key.strip("01")
