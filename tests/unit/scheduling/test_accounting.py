"""Accounting rules (``scheduling.md`` §7): M1b, M2, A4-A6."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qpi.errors import InsufficientBalanceError
from qpi.server.scheduling import (
    billable_ms,
    charge_ms,
    check_admission,
    is_payable,
    ms_to_seconds,
    seconds_to_ms,
)

DISPATCHED = datetime(2026, 7, 24, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return DISPATCHED + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("billable_s", "received", "started", "expected"),
    [
        (10.2, at(12), at(1), 10_200),  # the driver's figure
        (0.0004, at(1), None, 0),  # rounds to 0
        (0.0015, at(1), None, 2),  # round(1.5) -> 2
        (3.0, at(2.5), at(0.5), 2_500),  # never more than the server observed since the dispatch
        (-1.0, at(2), None, 0),  # never negative
        (None, at(7), at(2), 5_000),  # no timings: received - started
        (None, at(7), None, 7_000),  # no timings, never started: received - dispatched
        (float("nan"), at(7), at(2), 5_000),  # garbage counts as no timings
        (float("inf"), at(7), None, 7_000),
        (1.0, at(-1), None, 0),  # a clock oddity cannot create a negative cap
    ],
)
def test_billable_ms(billable_s: float | None, received: datetime, started: datetime | None, expected: int) -> None:
    assert billable_ms(billable_s, received, DISPATCHED, started) == expected


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("completed", 4_200),
        ("failed_by_driver", 4_200),
        ("cancelled_while_running", 4_200),
        ("requeued", 0),
        ("failed_by_server", 0),
        ("cancelled_before_start", 0),
    ],
)
def test_charge_per_outcome(case: str, expected: int) -> None:
    assert charge_ms(case, 4_200) == expected  # type: ignore[arg-type]


def test_admission_gates_users_at_zero_but_never_superusers() -> None:
    check_admission(is_superuser=False, balance_ms=1)
    check_admission(is_superuser=True, balance_ms=-5_000)
    for balance in (0, -2_500):
        with pytest.raises(InsufficientBalanceError) as info:
            check_admission(is_superuser=False, balance_ms=balance)
        assert (info.value.status_code, info.value.code) == (403, "insufficient_balance")
        assert info.value.detail == "Insufficient QPU seconds balance."
    assert is_payable(False, 1)
    assert not is_payable(False, 0)
    assert is_payable(True, -1)


def test_seconds_and_milliseconds() -> None:
    assert seconds_to_ms(97.5) == 97_500
    assert seconds_to_ms(0.001) == 1
    assert ms_to_seconds(-2_500) == -2.5
    assert ms_to_seconds(1) == 0.001
