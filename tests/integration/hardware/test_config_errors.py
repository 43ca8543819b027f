"""Configuration problems stop an executor at start with a message naming the culprit.

Each test builds its own executor (one at a time: QCoDeS instrument names are process-wide).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from qpi.driver.executors.hardware.assembler import dummy_run_unavailable_reason
from qpi.driver.executors.hardware.executor import HardwareExecutor
from qpi.driver.executors.hardware.options import EXAMPLE_DEVICE_CONFIG, EXAMPLE_HARDWARE_CONFIG, example_path
from qpi.errors import ConfigError

from .conftest import build_executor

pytestmark = pytest.mark.hardware

_NO_RUNS = dummy_run_unavailable_reason()
# E-3.12: where the bundled assembler cannot run, dummy runs are skipped with the reason.
needs_dummy_runs = pytest.mark.skipif(_NO_RUNS is not None, reason=_NO_RUNS or "")

KINDS = ["quantify", "qblox"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def files(workdir: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Copies of the example device and hardware files, written by ``write`` before building."""
    device = yaml.safe_load(example_path(EXAMPLE_DEVICE_CONFIG).read_text())
    hardware = json.loads(example_path(EXAMPLE_HARDWARE_CONFIG).read_text())
    yield copy.deepcopy(device), copy.deepcopy(hardware)


def build(
    kind: str, workdir: Path, device: dict[str, Any], hardware: dict[str, Any], **options: Any
) -> HardwareExecutor:
    (workdir / "device.yml").write_text(yaml.safe_dump(device))
    (workdir / "hardware.json").write_text(json.dumps(hardware))
    executor: HardwareExecutor = build_executor(
        kind,
        workdir,
        quantify_device_config=str(workdir / "device.yml"),
        quantify_hardware_config=str(workdir / "hardware.json"),
        **options,
    )
    return executor


@pytest.mark.parametrize("kind", KINDS)
def test_an_invalid_hardware_field_is_named(
    kind: str, workdir: Path, files: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    device, hardware = files
    hardware["hardware_options"]["modulation_frequencies"]["q0:mw-q0.01"] = {"interm_freq": "fast"}
    with pytest.raises(ConfigError) as info:
        build(kind, workdir, device, hardware, is_dummy=True)
    message = str(info.value)
    assert "hardware.json" in message
    assert "hardware_options.modulation_frequencies.q0:mw-q0.01.interm_freq" in message


@pytest.mark.parametrize("kind", KINDS)
def test_a_value_the_library_rejects_names_element_and_key(
    kind: str, workdir: Path, files: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    device, hardware = files
    device["q1"]["reset"]["duration"] = 5.0  # seconds: over the elements' limit of 1 s
    with pytest.raises(ConfigError, match=r"q1: parameter 'reset.duration'"):
        build(kind, workdir, device, hardware, is_dummy=True)


@pytest.mark.parametrize("kind", KINDS)
def test_an_element_outside_the_allowlist_is_refused(
    kind: str, workdir: Path, files: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    device, hardware = files
    device["q0"]["element_type"]["path"] = "builtins.eval"
    with pytest.raises(ConfigError, match=r"q0: element_type\.path 'builtins\.eval' is not allowed"):
        build(kind, workdir, device, hardware, is_dummy=True)


@needs_dummy_runs
@pytest.mark.parametrize("kind", KINDS)
def test_a_coupler_without_a_frequency_names_the_edge(
    kind: str, workdir: Path, files: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    device, hardware = files
    del hardware["hardware_options"]["modulation_frequencies"]["q1_q2:fl-q1_q2.cz"]
    executor = build(kind, workdir, device, hardware, is_dummy=True)
    try:
        with pytest.raises(ConfigError, match=r"edge q1_q2: a CZ does not compile.*underconstrained"):
            executor.warm_up()
    finally:
        executor.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_real_cluster_needs_an_ip(kind: str, workdir: Path, files: tuple[dict[str, Any], dict[str, Any]]) -> None:
    device, hardware = files
    with pytest.raises(ConfigError, match=r"hardware_description.cluster0.ip is required"):
        build(kind, workdir, device, hardware)


@pytest.mark.parametrize("kind", KINDS)
def test_missing_default_files_outside_dummy_mode(kind: str, workdir: Path) -> None:
    with pytest.raises(
        ConfigError, match=rf"quantify_device_config: file not found: {workdir / 'quantify.device.yml'}"
    ):
        build_executor(kind, workdir)


def test_hardware_kinds_take_one_worker(workdir: Path) -> None:
    with pytest.raises(ConfigError, match="--workers must be 1"):
        build_executor("quantify", workdir, is_dummy=True, workers=2)


def test_unknown_options_list_the_valid_ones(workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown option 'dummy' for executor 'qblox'; valid options: .*is_dummy"):
        build_executor("qblox", workdir, dummy=True)
