"""The exit code table (``client-and-cli.md`` §3.3)."""

from __future__ import annotations

import pytest

from qpi.cli.client.exitcodes import TrustError, exit_code
from qpi.client.errors import (
    ConfigError,
    JobAlreadyFinishedError,
    JobCancelledError,
    JobFailedError,
    JobNotFinishedError,
    RequestTimeoutError,
    ServerUnreachableError,
    WaitTimeoutError,
    error_from_response,
)
from qpi.errors import InvalidInputError


def http(status: int, code: str) -> BaseException:
    return error_from_response(status, f'{{"status": {status}, "error": "{code}", "detail": "d"}}'.encode(), {})


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (JobFailedError("x"), 1),
        (JobCancelledError("x"), 1),
        (JobAlreadyFinishedError("x"), 1),
        (http(409, "booking_overlap"), 1),
        (http(429, "rate_limited"), 1),
        (http(500, "internal_error"), 1),
        (RuntimeError("bug"), 1),
        (InvalidInputError("x"), 2),
        (ConfigError("x"), 2),
        (http(400, "invalid_circuit"), 2),
        (http(422, "idempotency_key_reused"), 2),
        (http(413, "payload_too_large"), 2),
        (http(409, "no_qpu_available"), 2),
        (http(401, "invalid_token"), 3),
        (http(403, "forbidden"), 3),
        (http(403, "insufficient_balance"), 3),
        (TrustError("mismatch"), 3),
        (http(404, "not_found"), 4),
        (http(400, "qpu_not_found"), 4),
        (ServerUnreachableError("x"), 5),
        (RequestTimeoutError("x"), 5),
        (http(502, "bad_gateway"), 5),
        (http(503, "unavailable"), 5),
        (http(504, "gateway_timeout"), 5),
        (WaitTimeoutError("x"), 6),
        (JobNotFinishedError("x"), 6),
        (KeyboardInterrupt(), 130),
    ],
)
def test_exit_codes(error: BaseException, code: int) -> None:
    assert exit_code(error) == code
