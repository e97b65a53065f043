"""The per-device token bucket, driven with an explicit clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.identity.rate_limit import RateLimiter, retry_after_header


def test_a_burst_is_allowed_then_the_rate_holds() -> None:
    limiter = RateLimiter(rate=10, burst=5)

    burst = [limiter.acquire("pc", 0.0) for _ in range(5)]
    refused = limiter.acquire("pc", 0.0)
    after_one_token = limiter.acquire("pc", 0.1)

    assert burst == [0.0] * 5
    assert refused == pytest.approx(0.1)
    assert after_one_token == 0.0


def test_keys_do_not_share_a_bucket() -> None:
    limiter = RateLimiter(rate=1, burst=1)

    assert limiter.acquire("a", 0.0) == 0.0
    assert limiter.acquire("a", 0.0) > 0
    assert limiter.acquire("b", 0.0) == 0.0


def test_a_refused_request_takes_no_token() -> None:
    limiter = RateLimiter(rate=1, burst=1)
    limiter.acquire("pc", 0.0)

    waits = [limiter.acquire("pc", 0.5) for _ in range(3)]

    assert waits == [pytest.approx(0.5)] * 3
    assert limiter.acquire("pc", 1.0) == 0.0


def test_idle_time_refills_only_up_to_the_burst() -> None:
    limiter = RateLimiter(rate=100, burst=3)
    for _ in range(3):
        limiter.acquire("pc", 0.0)

    allowed = [limiter.acquire("pc", 3600.0) for _ in range(4)]

    assert allowed[:3] == [0.0] * 3 and allowed[3] > 0


def test_a_clock_going_back_grants_nothing() -> None:
    limiter = RateLimiter(rate=1, burst=1)
    limiter.acquire("pc", 10.0)

    assert limiter.acquire("pc", 5.0) > 0


def test_memory_stays_bounded_by_forgetting_idle_keys() -> None:
    limiter = RateLimiter(rate=1, burst=1, max_keys=10)
    for key in range(100):
        limiter.acquire(key, float(key))

    assert len(limiter) <= 10
    assert limiter.acquire(99, 99.0) > 0, "the busy, recent key keeps its bucket"


@given(
    rate=st.floats(0.5, 1000),
    burst=st.integers(1, 100),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=300),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate: float, burst: int, gaps: list[float]) -> None:
    limiter = RateLimiter(rate=rate, burst=burst)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        allowed += limiter.acquire("pc", now) == 0.0

    assert allowed <= burst + rate * now + 1e-6


@pytest.mark.parametrize(("wait", "header"), [(0.001, "1"), (1.0, "1"), (1.2, "2"), (30.0, "30")])
def test_retry_after_rounds_up_to_whole_seconds(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate=rate, burst=burst)


def test_waiting_says_when_a_key_may_go_again_and_takes_nothing() -> None:
    limiter = RateLimiter(rate=2, burst=1)

    assert limiter.waiting("addr", 0.0) == 0.0  # never seen
    limiter.acquire("addr", 0.0)
    assert limiter.waiting("addr", 0.25) == pytest.approx(0.25)
    assert limiter.waiting("addr", 0.25) == pytest.approx(0.25)  # asking again took nothing
    assert limiter.waiting("addr", 0.5) == 0.0
    assert limiter.acquire("addr", 0.5) == 0.0
