"""Pure parts of the worker pool: respawn backoff, exit descriptions, progress rate limit."""

from __future__ import annotations

import signal
import threading

import pytest

from qpi.driver import progress
from qpi.driver.pool_events import crash_retry_delay, exit_description, init_retry_delay
from qpi.driver.worker import job_error
from qpi.errors import ConfigError, QasmParseError, TooManyQubits


def test_init_backoff_doubles_from_1_s_to_60_s() -> None:
    assert [init_retry_delay(n) for n in (1, 2, 3, 4, 6, 7, 20)] == [1, 2, 4, 8, 32, 60, 60]


def test_crash_backoff_starts_at_the_third_crash_within_5_minutes() -> None:
    assert crash_retry_delay([0.0], 0.0) == 0
    assert crash_retry_delay([0.0, 10.0], 10.0) == 0
    assert crash_retry_delay([0.0, 10.0, 20.0], 20.0) == 1
    assert crash_retry_delay([0.0, 10.0, 20.0, 30.0], 30.0) == 2
    # the first crash left the 5-minute window
    assert crash_retry_delay([0.0, 200.0, 301.0], 301.0) == 0
    assert crash_retry_delay([float(t) for t in range(20)], 20.0) == 60


@pytest.mark.parametrize(
    ("exitcode", "text"),
    [
        (3, "the worker process exited with code 3"),
        (-signal.SIGKILL, "the worker process was killed by SIGKILL (possibly out of memory)"),
        (-signal.SIGSEGV, "the worker process was killed by SIGSEGV"),
        (None, "unknown reason"),
    ],
)
def test_exit_descriptions(exitcode: int | None, text: str) -> None:
    assert text in exit_description(exitcode)


def test_job_errors_keep_codes_and_locations() -> None:
    error = job_error(QasmParseError("Failed to parse QASM circuit: x", line=4, column=7, circuit_index=1), "J", 1)
    assert (error.code, error.line, error.column, error.circuit_index, error.log_ref) == (
        "qasm_parse_error",
        4,
        7,
        1,
        None,
    )
    assert job_error(TooManyQubits("wide", circuit_index=0), "J", 1).code == "too_many_qubits"
    other = job_error(ValueError("x" * 5000), "J", 1)
    assert other.code == "executor_error" and other.message.startswith("ValueError: x")
    assert len(other.message) == 4000 and other.log_ref is not None and other.log_ref.startswith("log_")
    # a QPIError whose code is not a job error code is still an executor_error
    config = job_error(ConfigError("bad"), "J", 1)
    assert (config.code, config.message) == ("executor_error", "ConfigError: bad")


def test_report_progress_does_nothing_outside_a_worker() -> None:
    progress.report_progress(0.5, "running")  # no sink: must not fail


def test_report_progress_is_rate_limited_and_clamped() -> None:
    seen: list[tuple[float | None, str, str | None]] = []
    progress.install_sink(lambda f, s, m: seen.append((f, s, m)))
    try:
        progress.report_progress(1.7, "running")
        for _ in range(50):
            progress.report_progress(0.2, "running")
        threading.Thread(target=progress.report_progress, args=(0.3, "x")).start()
    finally:
        progress.install_sink(None)
    assert seen == [(1.0, "running", None)]


def test_a_failing_sink_never_fails_the_job() -> None:
    def broken(fraction: float | None, stage: str, message: str | None) -> None:
        raise OSError("pipe closed")

    progress.install_sink(broken)
    try:
        progress.report_progress(0.1, "running")
    finally:
        progress.install_sink(None)
