"""The one injectable clock of the server's loops and handlers (policy code receives ``now``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SystemClock", "from_us", "to_us"]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(dt: datetime) -> int:
    """Datetime (naive means UTC) → integer microseconds since the epoch (the store's time unit), exact."""
    return ((dt if dt.tzinfo else dt.replace(tzinfo=UTC)) - EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """Integer microseconds since the epoch → aware UTC datetime, exact (no float round trip)."""
    return EPOCH + timedelta(microseconds=us)


class Clock(Protocol):
    def now_us(self) -> int: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1_000

    def monotonic(self) -> float:
        return time.monotonic()
