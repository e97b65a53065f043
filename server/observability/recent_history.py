"""Recent-history windows the dashboard reads: latency quantiles and per-minute counts.

Prometheus histograms answer "p99 over any range" only inside Prometheus; the
``/admin`` page must show current figures without one, so this process keeps a small
window of its own. Pure: the caller passes the time in (monotonic or wall seconds,
as long as it is the same clock throughout).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["LatencyWindow", "MinuteCounts", "MinuteSeries", "quantile"]


def quantile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of already sorted values, nearest-rank; NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class LatencyWindow:
    """The latencies observed during the last ``span`` seconds (at most ``max_samples``)."""

    def __init__(self, span: float = 300.0, max_samples: int = 20_000) -> None:
        self.span = span
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)

    def add(self, seconds: float, now: float) -> None:
        self._samples.append((now, seconds))

    def quantiles(self, now: float, *qs: float) -> tuple[float, ...]:
        """Each of ``qs`` over the window at ``now`` (NaN when it is empty)."""
        self._expire(now)
        values = sorted(value for _, value in self._samples)
        return tuple(quantile(values, q) for q in qs)

    def __len__(self) -> int:
        return len(self._samples)

    def _expire(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - self.span:
            self._samples.popleft()


@dataclass(frozen=True, slots=True)
class MinuteCounts:
    """Writes accepted and refused during one minute starting at ``minute`` (epoch s)."""

    minute: int
    accepted: int
    rejected: int


class MinuteSeries:
    """Accepted and rejected write counts per wall-clock minute for the last ``minutes``."""

    def __init__(self, minutes: int = 60) -> None:
        self.minutes = minutes
        self._counts: dict[int, list[int]] = {}

    def add(self, now: float, *, accepted: int = 0, rejected: int = 0) -> None:
        minute = int(now // 60) * 60
        bucket = self._counts.setdefault(minute, [0, 0])
        bucket[0] += accepted
        bucket[1] += rejected
        oldest = minute - 60 * self.minutes
        for stale in [m for m in self._counts if m <= oldest]:
            del self._counts[stale]

    def series(self, now: float) -> list[MinuteCounts]:
        """One entry per minute of the window, oldest first, zeros included."""
        last = int(now // 60) * 60
        first = last - 60 * (self.minutes - 1)
        return [
            MinuteCounts(minute, *self._counts.get(minute, (0, 0))) for minute in range(first, last + 60, 60)
        ]
