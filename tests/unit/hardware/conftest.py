"""Fixtures of the hardware executor unit tests: device files as dicts and specs, no Qblox stack."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from qpi.driver.executors.hardware.device_config import DeviceSpec, parse_device_config
from qpi.driver.executors.hardware.options import EXAMPLE_DEVICE_CONFIG, example_path


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def example_device() -> dict[str, Any]:
    """The shipped example device file, as loaded by PyYAML."""
    return dict(yaml.safe_load(example_path(EXAMPLE_DEVICE_CONFIG).read_text()))


@pytest.fixture
def device(example_device: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of the example device file to modify."""
    return copy.deepcopy(example_device)


def spec_of(data: dict[str, Any]) -> DeviceSpec:
    return parse_device_config(data, path=Path("device.yml"))


@pytest.fixture
def example_spec(example_device: dict[str, Any]) -> DeviceSpec:
    return spec_of(copy.deepcopy(example_device))


def triangle_spec() -> DeviceSpec:
    """Three qubits with an edge between every pair (for the Toffoli)."""
    qubit = {"element_type": {"path": "BasicTransmonElement"}, "measure": {"acq_threshold": 0.0}}
    return spec_of(
        {
            "q0": qubit,
            "q1": qubit,
            "q2": qubit,
            "q0_q1": {"element_type": {"path": "CompositeSquareEdge"}},
            "q1_q2": {"element_type": {"path": "CompositeSquareEdge"}},
            "q0_q2": {"element_type": {"path": "FluxTunableCoupler"}, "clock_freqs": {"cz": "4e9"}},
        }
    )
