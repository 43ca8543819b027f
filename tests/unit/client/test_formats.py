"""Human formats and the times and durations the commands accept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qpi.cli.client.formats import format_instant, format_seconds, parse_expires, parse_instant, parse_span
from qpi.errors import InvalidInputError

NOW = datetime(2026, 7, 24, 10, 0, tzinfo=UTC)


def test_seconds() -> None:
    assert [format_seconds(s) for s in (None, 0.41, 12.5, 185, 3780)] == [
        "-",
        "0.41 s",
        "12.5 s",
        "3 min 05 s",
        "1 h 03 min",
    ]


def test_instants_and_offsets() -> None:
    assert parse_instant("+10m", NOW) == NOW + timedelta(minutes=10)
    assert parse_instant("-2h", NOW) == NOW - timedelta(hours=2)
    assert parse_instant("2026-07-24T12:00:00Z", NOW) == datetime(2026, 7, 24, 12, tzinfo=UTC)
    assert parse_instant("2026-07-24T12:00:00").tzinfo is not None
    with pytest.raises(InvalidInputError):
        parse_instant("tomorrow-ish", NOW)
    assert "ago" in format_instant(NOW - timedelta(minutes=3), NOW)
    assert "in 1 h" in format_instant(NOW + timedelta(hours=1), NOW)
    assert format_instant(None) == "-"


def test_spans_and_expiry() -> None:
    assert parse_span("1h30m") == timedelta(minutes=90)
    assert parse_expires("never") is None
    assert parse_expires("30d") == timedelta(days=30)
    assert parse_expires("2027-01-01T00:00:00Z") == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInputError):
        parse_span("soon")
