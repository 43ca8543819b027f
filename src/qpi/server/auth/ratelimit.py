"""Token buckets per key, in memory (counters are per replica: a documented approximation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TokenBuckets"]


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """``rate`` tokens per second, at most ``burst``; ``take`` answers the wait in seconds, or 0.

    A rate of 0 turns the limiter off. Idle buckets are dropped so memory stays bounded.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float], max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _refill(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._evict(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        return bucket

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens; 0 when allowed, else the seconds until it would be."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        bucket = self._refill(key, now)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate

    def peek(self, key: str, cost: float = 1.0) -> float:
        """Like :meth:`take` without spending (used to refuse before a costly check)."""
        if not self.enabled:
            return 0.0
        bucket = self._refill(key, self.clock())
        return 0.0 if bucket.tokens >= cost else (cost - bucket.tokens) / self.rate

    def reset(self, key: str) -> None:
        self._buckets.pop(key, None)

    def _evict(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()
