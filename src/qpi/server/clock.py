"""The one injectable clock of the server's loops and handlers (policy code receives ``now``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "SystemClock", "from_us", "to_us"]


def to_us(dt: datetime) -> int:
    """Aware datetime → integer microseconds since the epoch (the store's time unit)."""
    return int(dt.timestamp() * 1_000_000) if dt.tzinfo else int(dt.replace(tzinfo=UTC).timestamp() * 1_000_000)


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


class Clock(Protocol):
    def now_us(self) -> int: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1_000

    def monotonic(self) -> float:
        return time.monotonic()
