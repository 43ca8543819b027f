"""Errors of :mod:`qpi.client`, all rooted in :class:`qpi.errors.QPIError`.

The HTTP error classes are the shared ones of :mod:`qpi.errors` (the server raises the same
classes, so ``except NotFoundError`` reads the same on both sides of the wire); this module adds
what only a client can see — no usable answer, and jobs that did not end the way the caller
wanted::

    QPIError
    ├── ConfigError                       bad or unreadable config file, malformed URL
    ├── InvalidInputError (ValueError)    rejected locally before any request
    ├── TransportError                    no usable HTTP response
    │   ├── ServerUnreachableError        DNS, refused, TLS failure, connect timeout
    │   └── RequestTimeoutError (TimeoutError)   read/write timeout after retries
    ├── APIError                          .status .code .detail .request_id
    │   ├── BadRequestError (InvalidInputError)  400, 422
    │   ├── AuthenticationError           401
    │   ├── PermissionDeniedError         403
    │   │   └── InsufficientBalanceError  403 insufficient_balance
    │   ├── NotFoundError (LookupError)   404; also 400 qpu_not_found
    │   ├── ConflictError                 409
    │   ├── PayloadTooLargeError          413
    │   ├── RateLimitedError              429, .retry_after
    │   └── ServerError                   5xx (UnavailableError: 503)
    └── JobError                          .job (last known Job)
        ├── JobFailedError                .failure_reason .error_message
        ├── JobCancelledError
        ├── JobAlreadyFinishedError       cancel() on a completed/failed job
        ├── JobNotFinishedError
        └── WaitTimeoutError (TimeoutError)   the job is NOT cancelled

:func:`error_from_response` is the one place where an HTTP error answer becomes an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qpi.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    InsufficientBalanceError,
    InvalidInputError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QPIError,
    RateLimitedError,
    ServerError,
    UnavailableError,
    UnsupportedMediaTypeError,
    api_error_class,
)

if TYPE_CHECKING:
    from qpi.client.models import Job

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "InsufficientBalanceError",
    "InvalidInputError",
    "JobAlreadyFinishedError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobNotFinishedError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QPIError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ServerError",
    "ServerUnreachableError",
    "TransportError",
    "UnavailableError",
    "UnsupportedMediaTypeError",
    "WaitTimeoutError",
    "error_from_response",
    "parse_retry_after",
]

_MAX_TEXT = 500


class TransportError(QPIError):
    """No usable HTTP response (after the retries the request allowed)."""

    code = "transport_error"


class ServerUnreachableError(TransportError):
    """DNS failure, connection refused, TLS failure or connect timeout."""

    code = "server_unreachable"


class RequestTimeoutError(TransportError, TimeoutError):
    """The server accepted the connection but did not answer in time."""

    code = "request_timeout"


class JobError(QPIError):
    """A job did not end the way the call needed. ``job`` is the last known state."""

    code = "job_error"

    def __init__(self, message: str, *, job: Job | None = None) -> None:
        super().__init__(message)
        self.job = job


class JobFailedError(JobError):
    """The job ended ``failed``; ``failure_reason`` is its job error code."""

    code = "job_failed"

    def __init__(self, message: str, *, job: Job | None = None) -> None:
        super().__init__(message, job=job)
        self.failure_reason: str | None = job.failure_reason if job is not None else None
        self.error_message: str | None = job.error if job is not None else None


class JobCancelledError(JobError):
    code = "job_cancelled"


class JobAlreadyFinishedError(JobError):
    """``cancel()`` on a job that already completed or failed (server: 409 ``job_finished``)."""

    code = "job_finished"


class JobNotFinishedError(JobError):
    """A result was asked for without waiting, and the job is still active."""

    code = "job_not_finished"


class WaitTimeoutError(JobError, TimeoutError):
    """Waiting for a job took longer than the timeout. The job keeps running."""

    code = "wait_timeout"


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (integer seconds or an HTTP date), or None."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, method: str = "", url: str = ""
) -> APIError:
    """Rebuild the server's error from its answer (``api.md`` §1.2 ``{"status","error","detail"}``).

    A body that is not the JSON error shape gives its first 500 characters as the detail.
    """
    code: str | None = None
    detail = ""
    field: str | None = None
    try:
        doc: Any = json.loads(body) if body else None
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("detail") or doc.get("message"), str):
        detail = str(doc.get("detail") or doc.get("message"))
        code = doc.get("error") if isinstance(doc.get("error"), str) else None
        field = doc.get("field") if isinstance(doc.get("field"), str) else None
    else:
        text = body.decode("utf-8", errors="replace").strip()[:_MAX_TEXT]
        where = f" on {method} {url}" if method else ""
        detail = f"HTTP {status}{where}: {text}" if text else f"HTTP {status}{where}"
    request_id = next((v for k, v in headers.items() if k.lower() == "x-request-id"), None) or None
    cls = api_error_class(status, code)
    kwargs: dict[str, Any] = {
        "code": code,
        "field": field,
        "status": status,
        "headers": dict(headers),
        "request_id": request_id,
    }
    if cls in (RateLimitedError, UnavailableError):
        retry_after = parse_retry_after(headers)
        kwargs["retry_after"] = retry_after if retry_after is not None else 1.0
    error = cls(detail, **kwargs)
    # ``APIError.status`` is the class's default status; the instance carries the real one.
    error.__dict__["status"] = status
    return error
