"""The dashboard's recent-history windows."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from server.observability.recent_history import LatencyWindow, MinuteSeries, quantile


def test_quantiles_of_a_window_forget_old_samples() -> None:
    window = LatencyWindow(span=10)
    for i in range(100):
        window.add(i / 1000, now=0.0)
    assert window.quantiles(5.0, 0.5, 0.99) == (0.049, 0.098)
    window.add(5.0, now=20.0)
    assert window.quantiles(20.0, 0.5) == (5.0,)
    assert len(window) == 1
    assert math.isnan(LatencyWindow().quantiles(0.0, 0.5)[0])


@given(st.lists(st.floats(0, 10), min_size=1), st.floats(0.01, 1))
def test_quantile_is_one_of_the_values_and_monotonic(values: list[float], q: float) -> None:
    ordered = sorted(values)
    assert quantile(ordered, q) in ordered
    assert quantile(ordered, q) <= quantile(ordered, 1.0) == ordered[-1]


def test_minute_series_counts_per_minute_with_zeros() -> None:
    series = MinuteSeries(minutes=3)
    series.add(120.5, accepted=2)
    series.add(179.0, rejected=1)
    series.add(240.0, accepted=1)
    counts = series.series(now=250.0)
    assert [(c.minute, c.accepted, c.rejected) for c in counts] == [(120, 2, 1), (180, 0, 0), (240, 1, 0)]
    series.add(600.0, accepted=1)
    assert [c.accepted for c in series.series(now=600.0)] == [0, 0, 1]
