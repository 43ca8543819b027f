"""Exact microsecond timestamps and CSPRNG ids: the store's units (``api.md`` §1.6)."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from qpi.server.api.common import fmt_ts
from qpi.server.clock import from_us, to_us
from qpi.server.store.common import new_id


def test_microseconds_round_trip_exactly() -> None:
    rng = random.Random(7)
    values = [0, -1, 1, 999_999, 1_764_000_000_999_999, 253_402_300_799_999_999]
    values += [rng.randrange(-(10**15), 10**17) for _ in range(2000)]
    for us in values:
        assert to_us(from_us(us)) == us, us
    assert from_us(1_764_000_000_123_456) == datetime(2025, 11, 24, 16, 0, 0, 123_456, tzinfo=UTC)


def test_naive_is_utc_and_offsets_are_honoured() -> None:
    naive = datetime(2026, 1, 1)
    assert to_us(naive) == to_us(naive.replace(tzinfo=UTC)) == 1_767_225_600_000_000
    plus_one = datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert to_us(plus_one) == 1_767_225_600_000_000


def test_api_timestamps_truncate_to_milliseconds() -> None:
    assert fmt_ts(None) is None
    assert fmt_ts(0) == "1970-01-01T00:00:00.000Z"
    assert fmt_ts(1_764_000_000_999_999) == "2025-11-24T16:00:00.999Z"
    assert fmt_ts(-1) == "1969-12-31T23:59:59.999Z"


def test_ids_are_15_lowercase_alphanumerics_spread_evenly() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[a-z0-9]{15}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    counts = Counter(ch for i in ids for ch in i)
    assert len(counts) == 36
    expected = len(ids) * 15 / 36  # 8333: a skewed mapping would leave some characters far off
    assert all(abs(c - expected) < 0.06 * expected for c in counts.values()), counts
