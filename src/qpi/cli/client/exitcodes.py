"""The exit code of every outcome (``client-and-cli.md`` §3.3): one table for the whole ``qpi`` binary.

| code | meaning |
|---|---|
| 0 | success |
| 1 | job failed or cancelled; cancelling a finished job; conflict (409, except ``no_qpu_available``); |
|   | 429 after retries; 500; anything unexpected |
| 2 | usage or configuration error; invalid input (400/422/413); 409 ``no_qpu_available`` |
| 3 | authentication, authorisation or trust (401, 403, no token, CA fingerprint mismatch) |
| 4 | not found (404; 400 ``qpu_not_found`` at submit) |
| 5 | server unreachable or unavailable (network, TLS, timeouts; 502/503/504 after retries) |
| 6 | wait timed out; a result asked for without waiting while the job still runs |
| 130 | interrupted (Ctrl-C) while waiting; the job continues |
"""

from __future__ import annotations

from qpi.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QPIError,
    ServerError,
)

__all__ = [
    "AUTH",
    "FAILED",
    "INTERRUPTED",
    "NOT_FOUND",
    "OK",
    "UNREACHABLE",
    "USAGE",
    "WAIT_TIMEOUT",
    "TrustError",
    "exit_code",
]

OK = 0
FAILED = 1
USAGE = 2
AUTH = 3
NOT_FOUND = 4
UNREACHABLE = 5
WAIT_TIMEOUT = 6
INTERRUPTED = 130


class TrustError(QPIError):
    """The server's CA does not match the fingerprint the user gave (exit 3)."""

    code = "ca_fingerprint_mismatch"


def exit_code(error: BaseException) -> int:
    """The exit code for an exception that ended a command."""
    from qpi.client.errors import (
        JobError,
        JobNotFinishedError,
        TransportError,
        WaitTimeoutError,
    )

    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(error, WaitTimeoutError | JobNotFinishedError):
        return WAIT_TIMEOUT
    if isinstance(error, JobError):
        return FAILED
    if isinstance(error, TransportError):
        return UNREACHABLE
    if isinstance(error, TrustError | AuthenticationError | PermissionDeniedError):
        return AUTH
    if isinstance(error, NotFoundError):
        return NOT_FOUND
    if isinstance(error, ConflictError):
        return USAGE if error.code == "no_qpu_available" else FAILED
    if isinstance(error, ServerError):
        return UNREACHABLE if error.status_code in (502, 503, 504) else FAILED
    if isinstance(error, PayloadTooLargeError | InvalidInputError | ConfigError):
        return USAGE
    if isinstance(error, APIError):
        return USAGE if error.status_code in (400, 413, 415, 422) else FAILED
    return FAILED
