"""The device file: allowlist, parameters, numeric strings, naming, and clear errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from qpi.driver.executors.hardware.device_config import load_device_config
from qpi.driver.executors.hardware.options import EXAMPLE_DEVICE_CONFIG, example_path
from qpi.errors import ConfigError

from .conftest import spec_of


def test_shipped_example_has_three_qubits_an_edge_and_a_coupler() -> None:
    spec = load_device_config(example_path(EXAMPLE_DEVICE_CONFIG))
    assert [q.name for q in spec.qubits] == ["q0", "q1", "q2"]
    assert [(e.name, e.kind) for e in spec.edges] == [("q0_q1", "edge"), ("q1_q2", "coupler")]
    assert spec.edges[1].number("clock_freqs.cz") == 3.9e9
    assert spec.coupling_map() == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert spec.modified_at is not None


def test_numeric_strings_are_converted(device: dict[str, Any]) -> None:
    # PyYAML reads 40e-9 and 4.8e9 as strings; the loader converts them.
    assert device["q0"]["rxy"]["duration"] == "40e-9"
    spec = spec_of(device)
    assert spec.qubits[0].get("rxy.duration") == pytest.approx(40e-9)
    assert spec.qubits[0].number("clock_freqs.f01") == 4.8e9


def test_missing_parameters_mean_the_element_defaults(device: dict[str, Any]) -> None:
    del device["q0"]["measure"]["acq_delay"]
    del device["q0"]["rxy"]["duration"]
    spec = spec_of(device)
    assert spec.qubits[0].get("measure.acq_delay") is None
    assert spec.qubits[0].number("measure.acq_delay") == 0.0
    assert spec.qubits[0].number("rxy.duration") == 20e-9
    del device["q1"]["rxy"]["amp180"]
    assert math.isnan(spec_of(device).qubits[1].number("rxy.amp180"))  # no default: NaN


def test_quantify_paths_and_short_names_are_allowed(device: dict[str, Any]) -> None:
    device["q0"]["element_type"]["path"] = "quantify_scheduler.device_under_test.transmon_element.BasicTransmonElement"
    device["q1"]["element_type"] = "BasicTransmonElement"
    device["q0_q1"]["element_type"]["path"] = (
        "quantify_scheduler.device_under_test.composite_square_edge.CompositeSquareEdge"
    )
    device["q1_q2"]["element_type"]["path"] = "qpi.driver.executors.qblox.elements.FluxTunableCoupler"
    spec = spec_of(device)
    assert [e.kind for e in spec.edges] == ["edge", "coupler"]


def test_a_path_outside_the_allowlist_is_refused_naming_the_element(device: dict[str, Any]) -> None:
    device["q1"]["element_type"]["path"] = "os.system"
    with pytest.raises(ConfigError) as info:
        spec_of(device)
    message = str(info.value)
    assert "q1: element_type.path 'os.system' is not allowed" in message
    assert "BasicTransmonElement" in message


def test_unknown_parameter_names_the_element_and_the_key(device: dict[str, Any]) -> None:
    device["q2"]["rxy"]["amp181"] = 0.3
    device["q0_q1"]["cz"]["q7_phase_correction"] = 1.0
    with pytest.raises(ConfigError) as info:
        spec_of(device)
    problems = info.value.problems
    assert any("q2: unknown parameter 'rxy.amp181'" in p and "amp180" in p for p in problems)
    assert any("q0_q1: unknown parameter 'cz.q7_phase_correction'" in p for p in problems)


def test_unknown_parameter_group_and_bad_value(device: dict[str, Any]) -> None:
    device["q0"]["flux"] = {"offset": 0.1}
    device["q1"]["measure"]["integration_time"] = "one microsecond"
    with pytest.raises(ConfigError) as info:
        spec_of(device)
    message = str(info.value)
    assert "q0: unknown parameter group 'flux'" in message
    assert "q1: parameter 'measure.integration_time' must be a float, not 'one microsecond'" in message


def test_edge_phase_corrections_accept_both_spellings(device: dict[str, Any]) -> None:
    device["q0_q1"]["cz"] = {"q0_phase_correction": 10, "child_phase_correction": "-5"}
    spec = spec_of(device)
    assert spec.edges[0].params["cz"] == {"parent_phase_correction": 10.0, "child_phase_correction": -5.0}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("q1"), "missing q1"),
        (lambda d: d.__setitem__("qubit5", d.pop("q2")), "must be named q<index>"),
        (lambda d: d["q0_q1"].pop("element_type"), "q0_q1: missing 'element_type'"),
        (lambda d: d.__setitem__("q0_q3", {"element_type": {"path": "CompositeSquareEdge"}}), "q3"),
        (lambda d: d.__setitem__("q1_q0", {"element_type": {"path": "CompositeSquareEdge"}}), "duplicates edge"),
        (lambda d: d["q0"]["element_type"].__setitem__("args", ["q9"]), "args"),
        (lambda d: d["q0"]["element_type"].__setitem__("module", "x"), "element_type.module"),
    ],
)
def test_structural_problems_are_reported(device: dict[str, Any], change: Any, expected: str) -> None:
    change(device)
    with pytest.raises(ConfigError, match=expected):
        spec_of(device)


def test_kwargs_are_parameters_too(device: dict[str, Any]) -> None:
    del device["q0"]["reset"]
    device["q0"]["element_type"]["kwargs"] = {"reset": {"duration": "1e-4"}, "rxy": {"amp180": 0.9}}
    spec = spec_of(device)
    assert spec.qubits[0].get("reset.duration") == 1e-4
    assert spec.qubits[0].get("rxy.amp180") == 0.45  # the entry's own mapping wins over kwargs


def test_broken_files_name_the_path(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "device.yml"
    bad_yaml.write_text("q0: [unclosed\n")
    with pytest.raises(ConfigError, match=r"device config .*device.yml: invalid YAML"):
        load_device_config(bad_yaml)
    bad_json = tmp_path / "device.json"
    bad_json.write_text('{"q0": }')
    with pytest.raises(ConfigError, match=r"invalid JSON at line 1"):
        load_device_config(bad_json)
    listing = tmp_path / "list.yml"
    listing.write_text("- q0\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_device_config(listing)
