"""Small time helpers shared by the policy modules (no clock is ever read here)."""

from __future__ import annotations

from datetime import datetime, timedelta

from qpi.errors import InvalidInputError

__all__ = ["ms", "require_aware"]

_MS = timedelta(milliseconds=1)


def require_aware(value: datetime, name: str = "now") -> datetime:
    """Refuse naive datetimes: every instant handed to the scheduler is timezone-aware UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def ms(delta: timedelta) -> int:
    """Whole milliseconds of a duration, rounded down (exact for the integer-µs timestamps of the store)."""
    return delta // _MS
