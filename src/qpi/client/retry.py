"""When to retry a request, and how long to wait (``client-and-cli.md`` §1.5). Pure functions.

| failure | retried |
|---|---|
| connect error, connect timeout (the request never left) | always |
| TLS failure | never (retrying cannot fix a certificate) |
| read/write timeout, connection lost mid-answer | only idempotent requests |
| 429, 502, 503, 504 | only idempotent requests |
| other 4xx, 500 | never |

Idempotent: GET, HEAD, PUT, DELETE, OPTIONS, and a POST that carries an ``Idempotency-Key``.
Delay before retry ``n`` (0-based): ``Retry-After`` when the server sent one (capped at 60 s),
else ``min(8, 0.5·2ⁿ)`` seconds with full jitter.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

__all__ = [
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "Failure",
    "backoff_delay",
    "is_idempotent",
    "retry_delay",
    "should_retry_failure",
    "should_retry_status",
]

MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Failure(enum.Enum):
    """Why no HTTP answer came back."""

    CONNECT = "connect"  # refused, DNS, connect timeout: the request was never sent
    TLS = "tls"  # the TLS handshake failed
    TIMEOUT = "timeout"  # sent, but no (complete) answer in time
    LOST = "lost"  # sent, then the connection broke before the answer was read


def is_idempotent(method: str, has_idempotency_key: bool) -> bool:
    method = method.upper()
    return method in _IDEMPOTENT or (method == "POST" and has_idempotency_key)


def should_retry_failure(failure: Failure, method: str, has_idempotency_key: bool) -> bool:
    if failure is Failure.CONNECT:
        return True
    if failure is Failure.TLS:
        return False
    return is_idempotent(method, has_idempotency_key)


def should_retry_status(status: int, method: str, has_idempotency_key: bool) -> bool:
    return status in RETRYABLE_STATUSES and is_idempotent(method, has_idempotency_key)


def backoff_delay(attempt: int, rand: Callable[[], float]) -> float:
    """Full jitter: a uniform draw in ``[0, min(8, 0.5·2^attempt)]``."""
    return min(MAX_BACKOFF, 0.5 * 2.0 ** max(0, attempt)) * rand()


def retry_delay(attempt: int, retry_after: float | None, rand: Callable[[], float]) -> float:
    """``Retry-After`` (capped at 60 s) when given, else :func:`backoff_delay`."""
    if retry_after is not None:
        return min(MAX_RETRY_AFTER, max(0.0, retry_after))
    return backoff_delay(attempt, rand)
