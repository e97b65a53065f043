"""Reconnection delays: random start, growth by the factor, a cap, jitter within bounds."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.sync.backoff import BackoffPolicy, after_restart, backoff
from tests.unit.protocol.strategies import FAST

policies = st.builds(
    BackoffPolicy,
    initial_delay=st.floats(0, 10),
    min_delay=st.floats(0.01, 5),
    max_delay=st.floats(5, 120),
    factor=st.floats(1, 3),
    jitter=st.floats(0, 0.9),
)


@FAST
@given(policy=policies, seed=st.integers(0, 2**32))
def test_every_delay_stays_within_its_bounds(policy: BackoffPolicy, seed: int) -> None:
    delays = list(itertools.islice(backoff(policy, random.Random(seed)), 60))
    assert 0 <= delays[0] <= policy.initial_delay
    for delay in delays[1:]:
        assert policy.min_delay * (1 - policy.jitter) <= delay <= policy.max_delay


@FAST
@given(policy=policies, seed=st.integers(0, 2**32))
def test_delays_reach_the_cap_and_stay_near_it(policy: BackoffPolicy, seed: int) -> None:
    delays = list(itertools.islice(backoff(policy, random.Random(seed)), 400))
    if policy.factor > 1.05:
        assert all(d >= policy.max_delay * (1 - policy.jitter) for d in delays[-10:])


def test_without_jitter_the_delays_grow_by_the_factor_up_to_the_cap() -> None:
    policy = BackoffPolicy(initial_delay=0, min_delay=1, max_delay=10, factor=1.6, jitter=0)
    delays = list(itertools.islice(backoff(policy, random.Random(1)), 8))
    assert delays == pytest.approx([0, 1, 1.6, 2.56, 4.096, 6.5536, 10, 10])


def test_the_first_delay_is_spread_so_branches_do_not_come_back_together() -> None:
    firsts = {next(backoff(BackoffPolicy(), random.Random(seed))) for seed in range(50)}
    assert len(firsts) == 50
    assert max(firsts) - min(firsts) > 0.5


def test_the_same_seed_gives_the_same_delays() -> None:
    first = list(itertools.islice(backoff(BackoffPolicy(), random.Random(7)), 20))
    again = list(itertools.islice(backoff(BackoffPolicy(), random.Random(7)), 20))
    assert first == again


@FAST
@given(policy=policies, seed=st.integers(0, 2**32))
def test_after_a_restart_the_delays_stay_short_for_the_window_then_grow(
    policy: BackoffPolicy, seed: int
) -> None:
    delays = list(itertools.islice(after_restart(policy, random.Random(seed)), 400))
    assert 0 <= delays[0] <= policy.initial_delay
    waited, index = 0.0, 1
    while waited < policy.restart_window:
        assert policy.restart_delay * (1 - policy.jitter) <= delays[index] <= policy.restart_delay
        waited += delays[index]
        index += 1
    assert all(policy.min_delay * (1 - policy.jitter) <= d <= policy.max_delay for d in delays[index:])
    if policy.factor > 1.05:
        assert all(d >= policy.max_delay * (1 - policy.jitter) for d in delays[-10:])


def test_after_a_restart_a_fleet_retries_spread_over_the_first_second() -> None:
    firsts = sorted(next(after_restart(BackoffPolicy(), random.Random(seed))) for seed in range(200))
    assert firsts[-1] <= 1.0
    assert firsts[100] - firsts[0] > 0.3 and firsts[-1] - firsts[100] > 0.3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_delay": 0},
        {"min_delay": 5, "max_delay": 1},
        {"initial_delay": -1},
        {"factor": 0.5},
        {"jitter": 1.0},
        {"restart_delay": 0},
        {"restart_window": -1},
    ],
)
def test_unsafe_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)
