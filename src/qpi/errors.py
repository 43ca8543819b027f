"""The one error tree of QPI.

Everything QPI raises derives from :class:`QPIError`. A second base (``ValueError``,
``LookupError``, ``TimeoutError``) is added where it helps callers::

    QPIError                              .code: stable snake_case identifier
    ├── ConfigError (ValueError)          bad option, config file or executor option (CLI exit 2)
    ├── InvalidInputError (ValueError)    input rejected before it reached a server
    ├── StoreError                        the database failed (never read as "no rows")
    ├── LinkError                         NNG/TLS link between server and driver (protocol/transport.py)
    │   ├── LinkClosed                    the socket or pipe is gone
    │   ├── LinkTimeout (TimeoutError)    a send or receive timed out
    │   └── MessageTooLarge               an encoded message passes the negotiated size limit
    ├── APIError                          an HTTP error answer: .status .code .detail .field .headers
    │   ├── BadRequestError (InvalidInputError)      400, 422
    │   ├── AuthenticationError                       401
    │   ├── PermissionDeniedError                     403
    │   │   └── InsufficientBalanceError              403 insufficient_balance
    │   ├── NotFoundError (LookupError)               404 (and 400 qpu_not_found at submit)
    │   ├── MethodNotAllowedError                     405
    │   ├── ConflictError                             409
    │   ├── PayloadTooLargeError                      413
    │   ├── UnsupportedMediaTypeError                 415
    │   ├── RateLimitedError                          429, .retry_after
    │   └── ServerError                               5xx
    │       └── UnavailableError                      503, .retry_after
    ├── ExecutionError                    a job failed in a driver worker; .code is a job error code
    │   ├── PayloadError                  invalid_payload
    │   ├── QasmParseError                qasm_parse_error (.line, .column, .circuit_index)
    │   ├── UnsupportedGate               unsupported_gate
    │   ├── UnsupportedFeature            unsupported_feature
    │   ├── TooManyQubits                 too_many_qubits
    │   ├── CouplingViolation             coupling_violation
    │   ├── CalibrationMissing            calibration_missing
    │   ├── NoMeasurements                no_measurements
    │   └── InvalidResult                 invalid_result
    └── (client side, in qpi.client.errors) TransportError, JobError and their subclasses

The server raises :class:`APIError` subclasses from its handlers and maps them to HTTP in one
place (``qpi.server.app``); the client maps HTTP answers back to the same classes, so
``except NotFoundError`` works on both sides of the wire.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar, TypedDict, Unpack

__all__ = [
    "APIError",
    "APIErrorOptions",
    "AuthenticationError",
    "BadRequestError",
    "CalibrationMissing",
    "ConfigError",
    "ConflictError",
    "CouplingViolation",
    "ExecutionError",
    "InsufficientBalanceError",
    "InvalidInputError",
    "InvalidResult",
    "LinkClosed",
    "LinkError",
    "LinkTimeout",
    "MessageTooLarge",
    "MethodNotAllowedError",
    "NoMeasurements",
    "NotFoundError",
    "PayloadError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QPIError",
    "QasmParseError",
    "RateLimitedError",
    "ServerError",
    "StoreError",
    "TooManyQubits",
    "UnavailableError",
    "UnsupportedFeature",
    "UnsupportedGate",
    "UnsupportedMediaTypeError",
    "api_error_class",
    "retry_after_headers",
]


class QPIError(Exception):
    """Root of every error QPI raises."""

    code: str = "qpi_error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(QPIError, ValueError):
    """A configuration value, file or executor option is invalid.

    ``problems`` holds one line per problem (the CLI prints them all and exits 2).
    """

    code = "config_error"

    def __init__(self, message: str = "", *, problems: list[str] | None = None) -> None:
        self.problems = problems or ([message] if message else [])
        super().__init__(message or "; ".join(self.problems))


class InvalidInputError(QPIError, ValueError):
    """Input rejected locally, before any request was made."""

    code = "invalid_input"


class StoreError(QPIError):
    """The database failed. Never swallowed as "no rows"."""

    code = "store_error"


class LinkError(QPIError):
    """The NNG/TLS link between server and driver failed."""

    code = "link_error"


class LinkClosed(LinkError):
    code = "link_closed"


class LinkTimeout(LinkError, TimeoutError):
    code = "link_timeout"


class MessageTooLarge(LinkError):
    code = "message_too_large"


class APIErrorOptions(TypedDict, total=False):
    """The keyword arguments of :class:`APIError` besides ``detail``, for subclasses that add their own."""

    code: str | None
    field: str | None
    status: int | None
    headers: Mapping[str, str] | None
    request_id: str | None


def retry_after_headers(headers: Mapping[str, str] | None, retry_after: float) -> dict[str, str]:
    """``headers`` with ``Retry-After`` set (unless given) to ``retry_after`` in whole seconds, rounded up, ≥ 1."""
    out = dict(headers or {})
    out.setdefault("Retry-After", str(max(1, math.ceil(retry_after))))
    return out


class APIError(QPIError):
    """An HTTP error answer, as sent by the server or received by the client.

    The JSON body is ``{"status", "error", "detail", "field"?}`` (``api.md`` §1.2).
    """

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "invalid_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(detail, code=code or self.default_code)
        self.detail = detail
        self.field = field
        self.headers: dict[str, str] = dict(headers or {})
        self.request_id = request_id
        if status is not None:
            self.status_code = status
        else:
            self.status_code = type(self).status

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"status": self.status_code, "error": self.code, "detail": self.detail}
        if self.field is not None:
            out["field"] = self.field
        return out


class BadRequestError(APIError, InvalidInputError):
    status = 400
    default_code = "invalid_request"


class AuthenticationError(APIError):
    status = 401
    default_code = "unauthenticated"


class PermissionDeniedError(APIError):
    status = 403
    default_code = "forbidden"


class InsufficientBalanceError(PermissionDeniedError):
    default_code = "insufficient_balance"

    def __init__(self, detail: str = "Insufficient QPU seconds balance.", **kwargs: Unpack[APIErrorOptions]) -> None:
        super().__init__(detail, **kwargs)


class NotFoundError(APIError, LookupError):
    status = 404
    default_code = "not_found"


class MethodNotAllowedError(APIError):
    status = 405
    default_code = "method_not_allowed"


class ConflictError(APIError):
    status = 409
    default_code = "conflict"


class PayloadTooLargeError(APIError):
    status = 413
    default_code = "payload_too_large"


class UnsupportedMediaTypeError(APIError):
    status = 415
    default_code = "unsupported_media_type"


class RateLimitedError(APIError):
    status = 429
    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: float = 1.0, **kwargs: Unpack[APIErrorOptions]) -> None:
        self.retry_after = retry_after
        kwargs["headers"] = retry_after_headers(kwargs.get("headers"), retry_after)
        super().__init__(detail, **kwargs)


class ServerError(APIError):
    status = 500
    default_code = "internal_error"


class UnavailableError(ServerError):
    status = 503
    default_code = "unavailable"

    def __init__(self, detail: str, *, retry_after: float = 1.0, **kwargs: Unpack[APIErrorOptions]) -> None:
        self.retry_after = retry_after
        kwargs["headers"] = retry_after_headers(kwargs.get("headers"), retry_after)
        super().__init__(detail, **kwargs)


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: BadRequestError,
    429: RateLimitedError,
    503: UnavailableError,
}


def api_error_class(status: int, code: str | None) -> type[APIError]:
    """The one (status, code) → class table, used by the client to rebuild server errors."""
    if status == 403 and code == "insufficient_balance":
        return InsufficientBalanceError
    if status == 400 and code == "qpu_not_found":
        return NotFoundError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError


class ExecutionError(QPIError):
    """A job failed inside a driver worker. ``code`` is a job error code (driver-protocol §3.4)."""

    code = "executor_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        circuit_index: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.circuit_index = circuit_index
        self.line = line
        self.column = column


class PayloadError(ExecutionError):
    code = "invalid_payload"


class QasmParseError(ExecutionError):
    code = "qasm_parse_error"


class UnsupportedGate(ExecutionError):
    code = "unsupported_gate"


class UnsupportedFeature(ExecutionError):
    code = "unsupported_feature"


class TooManyQubits(ExecutionError):
    code = "too_many_qubits"


class CouplingViolation(ExecutionError):
    code = "coupling_violation"


class CalibrationMissing(ExecutionError):
    code = "calibration_missing"


class NoMeasurements(ExecutionError):
    code = "no_measurements"


class InvalidResult(ExecutionError):
    code = "invalid_result"
