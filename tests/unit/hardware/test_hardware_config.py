"""The hardware file: config_type rewriting, clusters, dummy mode and ip (no Qblox stack needed)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from qpi.driver.executors.hardware.hardware_config import (
    ClusterInfo,
    clusters_of,
    load_hardware_config,
    prepare_hardware_config,
)
from qpi.driver.executors.hardware.options import EXAMPLE_HARDWARE_CONFIG, example_path
from qpi.errors import ConfigError

PATH = Path("hw.json")


@pytest.fixture
def hardware() -> dict[str, Any]:
    return load_hardware_config(example_path(EXAMPLE_HARDWARE_CONFIG))


def test_json_and_yaml_examples_are_the_same() -> None:
    yml = load_hardware_config(example_path("quantify.hardware.example.yml"))
    assert yml == json.loads(example_path(EXAMPLE_HARDWARE_CONFIG).read_text())


def test_example_has_one_cluster_and_no_ip(hardware: dict[str, Any]) -> None:
    assert clusters_of(hardware, path=PATH, is_dummy=True) == [
        ClusterInfo("cluster0", None, {2: "QCM_RF", 3: "QRM_RF", 4: "QCM", 5: "QCM_RF"})
    ]
    options = hardware["hardware_options"]["modulation_frequencies"]
    assert options["q1_q2:fl-q1_q2.cz"] == {"lo_freq": 3.8e9}
    for qubit in range(3):
        assert "interm_freq" in options[f"q{qubit}:mw-q{qubit}.01"]
        assert "interm_freq" in options[f"q{qubit}:res-q{qubit}.ro"]


def test_off_dummy_a_cluster_needs_an_ip(hardware: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"hardware_description.cluster0.ip is required"):
        clusters_of(hardware, path=PATH, is_dummy=False)
    hardware["hardware_description"]["cluster0"]["ip"] = "192.0.2.10"
    assert clusters_of(hardware, path=PATH, is_dummy=False)[0].ip == "192.0.2.10"


def test_only_clusters_are_supported(hardware: dict[str, Any]) -> None:
    hardware["hardware_description"]["lo0"] = {"instrument_type": "LocalOscillator", "power": 1}
    with pytest.raises(ConfigError, match=r"hardware_description.lo0: only Qblox clusters"):
        clusters_of(hardware, path=PATH, is_dummy=True)


def test_unknown_module_type_names_the_field(hardware: dict[str, Any]) -> None:
    hardware["hardware_description"]["cluster0"]["modules"]["2"]["instrument_type"] = "QXM"
    with pytest.raises(ConfigError, match=r"hardware_description.cluster0.modules.2.instrument_type"):
        clusters_of(hardware, path=PATH, is_dummy=True)


@pytest.mark.parametrize(
    "given",
    [
        "QbloxHardwareCompilationConfig",
        "quantify_scheduler.backends.qblox_backend.QbloxHardwareCompilationConfig",
        "qblox_scheduler.backends.qblox_backend.QbloxHardwareCompilationConfig",
    ],
)
def test_config_type_is_rewritten_for_the_backend(hardware: dict[str, Any], given: str) -> None:
    hardware["config_type"] = given
    original = copy.deepcopy(hardware)
    prepared = prepare_hardware_config(hardware, config_type="QbloxHardwareCompilationConfig", path=PATH)
    assert prepared["config_type"] == "QbloxHardwareCompilationConfig"
    assert hardware == original  # the input is not modified


def test_a_foreign_config_type_is_never_imported(hardware: dict[str, Any]) -> None:
    hardware["config_type"] = "os.system"
    with pytest.raises(ConfigError, match=r"config_type 'os.system' is not supported"):
        prepare_hardware_config(hardware, config_type="QbloxHardwareCompilationConfig", path=PATH)
