"""Token buckets (``qpi.server.auth.ratelimit``) on an injected monotonic clock."""

from __future__ import annotations

import pytest

from qpi.server.auth.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_wait() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=4.0, clock=clock)
    assert [buckets.take("a") for _ in range(4)] == [0.0] * 4
    assert buckets.take("a") == pytest.approx(0.5)  # one token at 2/s
    assert buckets.take("b") == 0.0  # keys are independent
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)


def test_refill_is_capped_at_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=2.0, clock=clock)
    buckets.take("k")
    clock.now += 3600
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_peek_does_not_spend() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1 / 60, burst=5.0, clock=clock)
    for _ in range(5):
        assert buckets.peek("login") == 0.0
        buckets.take("login")
    assert buckets.peek("login") == pytest.approx(60.0)
    assert buckets.peek("login") == pytest.approx(60.0)
    clock.now += 60
    assert buckets.peek("login") == pytest.approx(0.0, abs=1e-9)


def test_zero_rate_turns_the_limiter_off() -> None:
    buckets = TokenBuckets(rate=0.0, burst=0.0, clock=Clock())
    assert not buckets.enabled
    assert all(buckets.take("x") == 0.0 for _ in range(1000))
    assert buckets.peek("x") == 0.0


def test_burst_is_at_least_one() -> None:
    buckets = TokenBuckets(rate=0.5, burst=0.0, clock=Clock())
    assert buckets.take("x") == 0.0
    assert buckets.take("x") == pytest.approx(2.0)


def test_reset_and_bounded_memory() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=1.0, clock=clock, max_keys=10)
    buckets.take("k")
    assert buckets.take("k") > 0
    buckets.reset("k")
    assert buckets.take("k") == 0.0
    for i in range(100):
        buckets.take(f"ip-{i}")
    assert len(buckets._buckets) <= 10
