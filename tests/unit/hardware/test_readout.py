"""Per-qubit readout settings: each element's own threshold, payload overrides, calibration_missing."""

from __future__ import annotations

import math
from typing import Any

import pytest

from qpi.driver.executors.hardware.device_config import DeviceSpec
from qpi.driver.executors.hardware.readout import MeasureSetting, plan_readout
from qpi.errors import CalibrationMissing, UnsupportedFeature
from qpi.protocol.payload import AcqOverride, JobPayload

from .conftest import spec_of


def payload(**fields: Any) -> JobPayload:
    return JobPayload(id="j", circuits=[], **fields)


@pytest.fixture
def spec(device: dict[str, Any]) -> DeviceSpec:
    device["q0"]["measure"]["acq_threshold"] = 0.25
    device["q1"]["measure"]["acq_threshold"] = "-0.5"
    device["q1"]["measure"]["acq_rotation"] = 30
    result: DeviceSpec = spec_of(device)
    return result


def test_each_qubit_keeps_its_own_threshold(spec: DeviceSpec) -> None:
    settings = plan_readout(spec, payload(), [0, 1], executor="quantify")
    assert settings[0] == MeasureSetting(level=2, meas_return="single", effective_threshold=0.25)
    assert settings[1].effective_threshold == -0.5
    assert settings[1].threshold is None and settings[1].rotation is None  # no override: the element's own


def test_job_values_override_every_qubit_and_per_qubit_overrides_win(spec: DeviceSpec) -> None:
    job = payload(acq_threshold=0.1, acq_rotation=12.0, acq_overrides={1: AcqOverride(threshold=0.9)})
    settings = plan_readout(spec, job, [0, 1, 2], executor="quantify")
    assert (settings[0].threshold, settings[0].rotation) == (0.1, 12.0)
    assert (settings[1].threshold, settings[1].rotation, settings[1].effective_threshold) == (0.9, 12.0, 0.9)
    assert settings[2].threshold == 0.1


def test_a_missing_threshold_names_the_qubit(device: dict[str, Any]) -> None:
    del device["q2"]["measure"]["acq_threshold"]
    spec = spec_of(device)
    plan_readout(spec, payload(), [0, 1], executor="quantify")  # q2 is not measured: fine
    with pytest.raises(
        CalibrationMissing, match=r"qubit q2 has no readout calibration: measure.acq_threshold is not set"
    ) as info:
        plan_readout(spec, payload(), [0, 2], executor="quantify")
    assert info.value.code == "calibration_missing"
    # an override supplies it
    settings = plan_readout(spec, payload(acq_overrides={2: AcqOverride(threshold=0.3)}), [2], executor="quantify")
    assert settings[2].effective_threshold == 0.3


def test_a_nan_threshold_is_missing(device: dict[str, Any]) -> None:
    device["q1"]["measure"]["acq_threshold"] = "nan"
    with pytest.raises(CalibrationMissing, match=r"qubit q1 .* is NaN"):
        plan_readout(spec_of(device), payload(), [1], executor="qblox")
    with pytest.raises(CalibrationMissing, match="qubit q0"):
        plan_readout(
            spec_of(device), payload(acq_overrides={0: AcqOverride(threshold=math.nan)}), [0], executor="qblox"
        )


def test_levels_0_and_1_need_no_threshold(device: dict[str, Any]) -> None:
    del device["q0"]["measure"]["acq_threshold"]
    spec = spec_of(device)
    avg = plan_readout(spec, payload(meas_level=1, meas_return="avg"), [0], executor="quantify")[0]
    assert (avg.level, avg.average) == (1, True)
    single = plan_readout(spec, payload(meas_level=1), [0], executor="quantify")[0]
    assert single.average is False
    assert plan_readout(spec, payload(meas_level=0, meas_return="avg"), [0], executor="quantify")[0].average


def test_level_0_single_is_unsupported(example_spec: DeviceSpec) -> None:
    with pytest.raises(UnsupportedFeature, match="meas_level 0 with meas_return 'single'"):
        plan_readout(example_spec, payload(meas_level=0, meas_return="single"), [0], executor="qblox")
