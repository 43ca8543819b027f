"""Raw acquisitions → dataset arrays: clbit order, last write wins, shots without data."""

from __future__ import annotations

import numpy as np
import pytest

from qpi.driver.executors.hardware.acquisition import assemble
from qpi.driver.executors.hardware.gates import Measure
from qpi.errors import ExecutionError


def test_bits_go_to_their_clbits_and_the_last_write_wins() -> None:
    measures = [Measure(0, 1, 0), Measure(1, 0, 0), Measure(0, 1, 1)]
    data = {
        (0, 0): np.array([1.0, 1.0, 1.0]),
        (1, 0): np.array([0.0, 1.0, 0.0]),
        (0, 1): np.array([0.0, 1.0, 0.0]),
    }
    arrays = assemble(data, measures, shots=3, num_clbits=3, meas_level=2, meas_return="single")
    assert arrays.bits is not None and arrays.bits.dtype == np.uint8
    assert arrays.bits.tolist() == [[0, 0, 0], [1, 1, 0], [0, 0, 0]]  # clbit 2 never written: 0
    assert arrays.warnings == []


def test_shots_without_data_count_as_zero_with_a_warning() -> None:
    measures = [Measure(0, 0, 0), Measure(2, 1, 0)]
    data = {(0, 0): np.array([1.0, np.nan, -1.0, 1.0]), (2, 0): np.array([-1, -1, -1, -1])}
    arrays = assemble(data, measures, shots=4, num_clbits=2, meas_level=2, meas_return="single")
    assert arrays.bits is not None
    assert arrays.bits[:, 0].tolist() == [1, 0, 0, 1]
    assert arrays.bits[:, 1].tolist() == [0, 0, 0, 0]
    assert arrays.warnings == ["2 shots had no data for q0", "4 shots had no data for q2"]


def test_iq_single_and_avg_shapes() -> None:
    measures = [Measure(1, 0, 0)]
    single = assemble(
        {(1, 0): np.array([1 + 2j, np.nan, 3 - 1j])},
        measures,
        shots=3,
        num_clbits=2,
        meas_level=1,
        meas_return="single",
    )
    assert single.iq is not None and single.iq.shape == (3, 2, 2)
    assert single.iq[:, 0].tolist() == [[1, 2], [0, 0], [3, -1]]
    assert single.iq[:, 1].tolist() == [[0, 0]] * 3
    assert single.warnings == ["1 shots had no data for q1"]
    avg = assemble({(1, 0): np.array(0.5 - 0.25j)}, measures, shots=3, num_clbits=2, meas_level=1, meas_return="avg")
    assert avg.iq is not None and avg.iq.tolist() == [[0.5, -0.25], [0.0, 0.0]]


def test_traces_are_padded_and_timed() -> None:
    measures = [Measure(0, 0, 0), Measure(1, 1, 0)]
    data = {(0, 0): np.full(4, 1 + 1j), (1, 0): np.array([2j, np.nan])}
    arrays = assemble(data, measures, shots=10, num_clbits=2, meas_level=0, meas_return="avg")
    assert arrays.trace is not None and arrays.trace.shape == (2, 4, 2)
    assert arrays.trace[1].tolist() == [[0, 2], [0, 0], [0, 0], [0, 0]]
    assert arrays.sample_times is not None and arrays.sample_times.tolist() == pytest.approx([0, 1e-9, 2e-9, 3e-9])
    assert arrays.warnings == ["the raw trace of q1 had no data"]


def test_a_wrong_shot_count_is_an_error() -> None:
    with pytest.raises(ExecutionError, match="returned 2 values for 3 shots"):
        assemble({(0, 0): np.zeros(2)}, [Measure(0, 0, 0)], shots=3, num_clbits=1, meas_level=2, meas_return="single")
    with pytest.raises(ExecutionError, match="no acquisition for measurement 0 of q0"):
        assemble({}, [Measure(0, 0, 0)], shots=3, num_clbits=1, meas_level=2, meas_return="single")
