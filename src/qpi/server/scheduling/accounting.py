"""QPU-seconds rules (``scheduling.md`` §7): billable time, the charge per outcome, admission, time requests.

QPU time is integer milliseconds everywhere; APIs show seconds with 3 decimals (:func:`ms_to_seconds`).
The ledger and the balance cache are written by the store in one transaction (C4); this module only
decides amounts.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from qpi.errors import InsufficientBalanceError
from qpi.server.scheduling._time import ms

__all__ = [
    "INSUFFICIENT_BALANCE_DETAIL",
    "TIME_REQUEST_MAX_SECONDS",
    "TIME_REQUEST_MIN_SECONDS",
    "TIME_REQUEST_REASON_MAX_CHARS",
    "ChargeCase",
    "billable_ms",
    "charge_ms",
    "check_admission",
    "is_payable",
    "ms_to_seconds",
    "seconds_to_ms",
]

#: A5's detail, kept word for word.
INSUFFICIENT_BALANCE_DETAIL = "Insufficient QPU seconds balance."

#: §8: bounds of a time request's ``seconds`` and of its reason.
TIME_REQUEST_MIN_SECONDS = 0.001
TIME_REQUEST_MAX_SECONDS = 1e9
TIME_REQUEST_REASON_MAX_CHARS = 2000

#: The rows of M2.
ChargeCase = Literal[
    "completed",  # T5
    "failed_by_driver",  # T6: an error result of the driver
    "requeued",  # T7, T8: after a retryable error result, a rejection, a send failure or a loss
    "failed_by_server",  # T9-T11 (driver_lost, server_timeout, max_attempts_exceeded, queue_expired, ...)
    "cancelled_before_start",  # T12, and T14 (QPU deleted)
    "cancelled_while_running",  # T13: the driver's JobResult(cancelled) of that attempt
]

_CHARGED: frozenset[str] = frozenset({"completed", "failed_by_driver", "cancelled_while_running"})


def billable_ms(
    billable_s: float | None,
    received_at: datetime,
    dispatched_at: datetime,
    started_at: datetime | None = None,
) -> int:
    """M1b: the milliseconds charged for one attempt.

    ``clamp(round(billable_s * 1000), 0, received_at - dispatched_at)``: a driver never reports more
    time than the server observed between the dispatch and the receipt of the result. Without timings
    (``billable_s`` ``None``, or not a finite number) the fallback is ``received_at - (started_at or
    dispatched_at)``, clamped the same way.
    """
    cap = max(0, ms(received_at - dispatched_at))
    if billable_s is None or not math.isfinite(billable_s):
        since = started_at if started_at is not None else dispatched_at
        value = ms(received_at - since)
    else:
        value = round(billable_s * 1000)
    return min(max(value, 0), cap)


def charge_ms(case: ChargeCase, billable: int) -> int:
    """M2: the charge of an outcome, given its :func:`billable_ms` (0 where the table says 0).

    The ledger's ``usage`` entry is ``-charge`` (it may be 0) and is written even for superusers (A4).
    """
    return max(0, billable) if case in _CHARGED else 0


def is_payable(is_superuser: bool, balance_ms: int) -> bool:
    """P1 / §2.4: a job is payable when its owner is a superuser or has a balance above 0."""
    return is_superuser or balance_ms > 0


def check_admission(is_superuser: bool, balance_ms: int) -> None:
    """A5: a non-superuser with ``balance_ms <= 0`` may not submit (403 ``insufficient_balance``).

    Superusers are never gated (A4). Admission is not a reservation (A6).
    """
    if not is_payable(is_superuser, balance_ms):
        raise InsufficientBalanceError(INSUFFICIENT_BALANCE_DETAIL)


def seconds_to_ms(seconds: float) -> int:
    """API seconds (at most 3 decimals) → stored integer milliseconds."""
    return round(seconds * 1000)


def ms_to_seconds(value_ms: int) -> float:
    """Stored integer milliseconds → API seconds with 3 decimals (``qpu_seconds = balance_ms / 1000``)."""
    return round(value_ms / 1000, 3)
