"""Dataset layout → result document, and typing it once (executors.md §2, E-1.4, E-2.8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
import xarray as xr
from qiskit.result import Result

from qpi.driver.executors.dataset import CircuitLayout, ExperimentRecord, build_dataset, write_dataset
from qpi.driver.executors.results import dataset_to_result, to_result_doc
from qpi.errors import InvalidResult
from qpi.protocol.payload import ResultDoc

LAYOUT = CircuitLayout(
    num_qubits=3,
    num_clbits=3,
    qregs=(("q", 3),),
    cregs=(("a", 1), ("b", 2)),
    measured_qubits=(0, 1, -1),
)


def record(**data: Any) -> ExperimentRecord:
    return ExperimentRecord(name="exp", shots=4, layout=LAYOUT, source_circuit=0, seed=5, **data)


BITS = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.uint8)


def dataset_for(level: int, meas_return: str, memory: bool = False) -> xr.Dataset:
    rng = np.random.default_rng(0)
    if level == 2:
        rec = record(bits=BITS)
    elif level == 1:
        shape = (4, 3, 2) if meas_return == "single" else (3, 2)
        rec = record(iq=rng.normal(size=shape))
    else:
        shape = (4, 3, 5, 2) if meas_return == "single" else (3, 5, 2)
        rec = record(trace=rng.normal(size=shape), sample_times=np.arange(5) * 1e-9)
    return build_dataset("J1", "test", meas_level=level, meas_return=meas_return, memory=memory, experiments=[rec])


def test_level_2_counts_are_full_width_sorted_and_only_observed() -> None:
    document = dataset_to_result(dataset_for(2, "single", memory=True), "J1", "mock")
    data = document["results"][0]["data"]
    # clbit 0 rightmost: [1,0,0] → "001", [0,1,0] → "010", [1,1,0] → "011"
    assert data["counts"] == {"001": 2, "010": 1, "011": 1}
    assert list(data["counts"]) == ["001", "010", "011"]
    assert data["memory"] == ["001", "001", "010", "011"]
    result = Result.from_dict(document)
    assert result.get_counts(0) == {"00 1": 2, "01 0": 1, "01 1": 1}
    assert result.get_memory(0) == ["00 1", "00 1", "01 0", "01 1"]


@pytest.mark.parametrize(
    ("level", "meas_return", "shape"),
    [(1, "single", (4, 3)), (1, "avg", (3,)), (0, "avg", (3, 5)), (0, "single", (4, 3, 5))],
)
def test_iq_levels_round_trip_through_qiskit(level: int, meas_return: str, shape: tuple[int, ...]) -> None:
    dataset = dataset_for(level, meas_return)
    document = dataset_to_result(dataset, "J1", "test")
    experiment = document["results"][0]
    assert experiment["meas_level"] == level and experiment["meas_return"] == meas_return
    memory = Result.from_dict(document).get_memory(0)
    assert memory.shape == shape
    variable = "c0_iq" if level == 1 else "c0_trace"
    raw = dataset[variable].values
    np.testing.assert_allclose(memory, raw[..., 0] + 1j * raw[..., 1])


def test_header_metadata_seed_and_time() -> None:
    rec = ExperimentRecord(
        name="rot[1]",
        shots=4,
        layout=LAYOUT,
        source_circuit=2,
        parameter_set=1,
        parameter_values=(0.5,),
        seed=5,
        time_taken=0.25,
        bits=BITS,
    )
    dataset = build_dataset("J1", "mock", meas_level=2, meas_return="avg", memory=False, experiments=[rec])
    experiment = dataset_to_result(dataset, "J1", "mock")["results"][0]
    assert experiment["header"] == {
        "name": "rot[1]",
        "n_qubits": 3,
        "memory_slots": 3,
        "creg_sizes": [["a", 1], ["b", 2]],
        "qreg_sizes": [["q", 3]],
        "clbit_labels": [["a", 0], ["b", 0], ["b", 1]],
        "qubit_labels": [["q", 0], ["q", 1], ["q", 2]],
        "metadata": {"circuit_index": 2, "parameter_index": 1, "parameter_values": [0.5]},
    }
    assert experiment["seed_simulator"] == 5 and experiment["time_taken"] == 0.25
    assert "meas_return" not in experiment and "memory" not in experiment["data"]


def test_document_holds_only_plain_python_values() -> None:
    document = dataset_to_result(dataset_for(1, "single"), "J1", "test")

    def walk(value: Any) -> None:
        assert not isinstance(value, np.generic | np.ndarray), type(value)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    msgspec.convert(document, ResultDoc)  # strict: would reject numpy scalars


@pytest.mark.parametrize(("level", "meas_return"), [(2, "single"), (1, "single"), (1, "avg"), (0, "avg")])
def test_netcdf_round_trip_gives_the_same_document(tmp_path: Path, level: int, meas_return: str) -> None:
    dataset = dataset_for(level, meas_return, memory=True)
    path = write_dataset(dataset, tmp_path / "datasets", "J1", 2)
    assert path == tmp_path / "datasets" / "J1.2.nc"
    loaded = xr.load_dataset(path, engine="h5netcdf")
    before = dataset_to_result(dataset, "J1", "test")
    after = dataset_to_result(loaded, "J1", "test")
    before.pop("date"), after.pop("date")
    assert after == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"bits": np.zeros((4, 2), dtype=np.uint8)}, "bits has shape"),
        ({"bits": np.full((4, 3), 2, dtype=np.uint8)}, "bits must be 0 or 1"),
        ({"bits": None}, "no bits data"),
        ({"bits": BITS, "extra": {"bad-name": (("shot",), np.zeros(4))}}, "not NetCDF-safe"),
    ],
)
def test_malformed_records_are_invalid_results(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidResult, match=expected):
        build_dataset("J", "t", meas_level=2, meas_return="single", memory=False, experiments=[record(**change)])


def test_extra_variables_are_prefixed_and_ignored() -> None:
    rec = record(bits=BITS, extra={"raw_iq": (("shot", "clbit", "iq"), np.zeros((4, 3, 2)))})
    dataset = build_dataset("J", "t", meas_level=2, meas_return="single", memory=False, experiments=[rec])
    assert dataset["c0_raw_iq"].dims == ("c0_shot", "c0_clbit", "iq")
    assert dataset_to_result(dataset, "J", "t")["results"][0]["data"] == {"counts": {"001": 2, "010": 1, "011": 1}}


# --- to_result_doc ------------------------------------------------------------------------------


def test_to_result_doc_types_the_default_document_once() -> None:
    document = dataset_to_result(dataset_for(2, "single"), "J1", "mock")
    warnings: list[str] = []
    doc = to_result_doc(document, "J1", warnings=warnings)
    assert isinstance(doc, ResultDoc) and warnings == []
    assert doc.results[0].data.counts == {"001": 2, "010": 1, "011": 1}
    assert doc.results[0].header.creg_sizes == [("a", 1), ("b", 2)]


def test_bare_counts_are_wrapped_with_a_warning() -> None:
    warnings: list[str] = []
    doc = to_result_doc({"counts": {"11": 6, "00": 4}, "shots": 10}, "J9", backend_name="custom", warnings=warnings)
    assert len(warnings) == 1 and "wrapped" in warnings[0]
    assert (doc.job_id, doc.qobj_id, doc.backend_name, doc.shots) == ("J9", "J9", "custom", 10)
    assert doc.results[0].data.counts == {"00": 4, "11": 6}
    result = Result.from_dict(msgspec.to_builtins(doc))
    assert result.get_counts(0) == {"00": 4, "11": 6}


def test_spaced_and_hex_keys_are_normalised() -> None:
    warnings: list[str] = []
    doc = to_result_doc({"counts": {"1 0": 3, "0x1": 2}}, "J", warnings=warnings)
    assert doc.results[0].data.counts == {"01": 2, "10": 3}
    assert any("normalised" in w for w in warnings)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (["not", "a", "dict"], "not a dict"),
        ({"whatever": 1}, "neither 'results' nor 'counts'"),
        ({"counts": {"11": np.int64(3)}}, "invalid"),
        ({"results": "nope"}, "invalid"),
        ({"results": []}, "empty 'results'"),
        ({"counts": {"1 2": 1}}, "binary"),
    ],
)
def test_other_shapes_are_invalid_results(obj: Any, expected: str) -> None:
    with pytest.raises(InvalidResult, match=expected) as info:
        to_result_doc(obj, "J")
    assert info.value.code == "invalid_result"
