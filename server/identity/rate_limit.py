"""Per-device request rate limiting: a token bucket per key, with no I/O and no clock.

The caller passes the time in, so the rule is tested by calling it and the adapter
(``server.api.deps.current_device``) owns the clock. Each process limits on its own; with
N processes behind a load balancer a device may reach N times the rate, which is
fine for a guard whose job is to stop a runaway client, not to meter usage.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["RateLimiter", "retry_after_header"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Allows ``rate`` requests per second per key on average, ``burst`` at once.

    Args:
        rate: tokens added per second.
        burst: bucket size; a key idle for long may make this many requests at once.
        max_keys: buckets kept before idle (full) ones are forgotten.
    """

    def __init__(self, rate: float, burst: int, *, max_keys: int = 10_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._max_keys = max_keys
        self._buckets: dict[Hashable, _Bucket] = {}

    def acquire(self, key: Hashable, now: float) -> float:
        """Take one token for ``key`` at time ``now`` (seconds, monotonic).

        Returns:
            0.0 when the request may go ahead, else the seconds to wait before a
            token is available (nothing is taken then).
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def waiting(self, key: Hashable, now: float) -> float:
        """Seconds until ``key`` has a token again (0.0: it has one now); takes nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(float(self.burst), bucket.tokens + max(0.0, now - bucket.at) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that would be full by now: forgetting them changes nothing."""
        refill = self.burst / self.rate
        idle = [key for key, b in self._buckets.items() if now - b.at >= refill]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:  # all busy: forget the stalest
            oldest = min(self._buckets, key=lambda k: self._buckets[k].at)
            del self._buckets[oldest]


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` is whole seconds; round up so a polite client never retries early."""
    return str(max(1, math.ceil(wait_s)))
