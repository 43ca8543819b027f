"""The Python client of QPI: :class:`AsyncClient`, the blocking :class:`Client` generated from it,
typed models, the error tree, and the upstream-compatible :class:`QPIClient`.

::

    from qpi.client import Client

    with Client() as client:                       # url and token from QPI_* or `qpi login`
        result = client.jobs.run("bell.qasm", shots=1000)
        print(result.counts())

Importing this package opens nothing, reads no environment variable or file, and imports neither
qiskit nor httpx: every name is loaded on first use. The Qiskit provider is
:mod:`qpi.client.qiskit`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qpi.client.aio import AsyncClient
    from qpi.client.compat import QPIClient
    from qpi.client.errors import (
        APIError,
        AuthenticationError,
        BadRequestError,
        ConfigError,
        ConflictError,
        InsufficientBalanceError,
        InvalidInputError,
        JobAlreadyFinishedError,
        JobCancelledError,
        JobError,
        JobFailedError,
        JobNotFinishedError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        QPIError,
        RateLimitedError,
        RequestTimeoutError,
        ServerError,
        ServerUnreachableError,
        TransportError,
        WaitTimeoutError,
    )
    from qpi.client.models import (
        FINAL,
        QPU,
        Account,
        APIToken,
        Booking,
        Circuit,
        CircuitResult,
        DeviceInfo,
        Driver,
        Event,
        Job,
        JobResult,
        JobState,
        LedgerEntry,
        NewAPIToken,
        NewDriver,
        Notification,
        Page,
        QueueInfo,
        ResultHeader,
        TimeRequest,
        User,
    )
    from qpi.client.settings import ClientSettings
    from qpi.client.sync import Client

_WHERE: dict[str, str] = {
    "AsyncClient": "qpi.client.aio",
    "Client": "qpi.client.sync",
    "QPIClient": "qpi.client.compat",
    "ClientSettings": "qpi.client.settings",
    **dict.fromkeys(
        (
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
            "NotFoundError",
            "PayloadTooLargeError",
            "PermissionDeniedError",
            "QPIError",
            "RateLimitedError",
            "RequestTimeoutError",
            "ServerError",
            "ServerUnreachableError",
            "TransportError",
            "WaitTimeoutError",
        ),
        "qpi.client.errors",
    ),
    **dict.fromkeys(
        (
            "FINAL",
            "QPU",
            "APIToken",
            "Account",
            "Booking",
            "Circuit",
            "CircuitResult",
            "DeviceInfo",
            "Driver",
            "Event",
            "Job",
            "JobResult",
            "JobState",
            "LedgerEntry",
            "NewAPIToken",
            "NewDriver",
            "Notification",
            "Page",
            "QueueInfo",
            "ResultHeader",
            "TimeRequest",
            "User",
        ),
        "qpi.client.models",
    ),
}

__all__ = [
    "FINAL",
    "QPU",
    "APIError",
    "APIToken",
    "Account",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Booking",
    "Circuit",
    "CircuitResult",
    "Client",
    "ClientSettings",
    "ConfigError",
    "ConflictError",
    "DeviceInfo",
    "Driver",
    "Event",
    "InsufficientBalanceError",
    "InvalidInputError",
    "Job",
    "JobAlreadyFinishedError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobNotFinishedError",
    "JobResult",
    "JobState",
    "LedgerEntry",
    "NewAPIToken",
    "NewDriver",
    "NotFoundError",
    "Notification",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QPIClient",
    "QPIError",
    "QueueInfo",
    "RateLimitedError",
    "RequestTimeoutError",
    "ResultHeader",
    "ServerError",
    "ServerUnreachableError",
    "TimeRequest",
    "TransportError",
    "User",
    "WaitTimeoutError",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'qpi.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
