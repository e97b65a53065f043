"""Reconnection delays: capped exponential backoff with jitter, as a pure generator.

The shape follows websockets' ``backoff()``: a random first delay (so branches that
lost the server at the same moment do not all come back at the same moment), then
delays growing by ``factor`` up to ``max_delay``. Each later delay is also jittered
down by up to ``jitter`` of itself, for the same reason.

After the server said it is restarting (close 1012), ``after_restart`` retries about every
``restart_delay`` seconds for ``restart_window`` seconds first: a restart takes seconds, and
the growing schedule would leave most of a fleet waiting tens of seconds after the server
is back (200 engines took ~50 s to return). The random first delay and the jitter keep the
fleet from arriving in one wave.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["BackoffPolicy", "after_restart", "backoff"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """The numbers behind ``backoff``; tests shrink them to keep fault runs fast."""

    initial_delay: float = 1.0
    min_delay: float = 0.5
    max_delay: float = 60.0
    factor: float = 1.6
    jitter: float = 0.2
    restart_delay: float = 1.0
    restart_window: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.min_delay <= self.max_delay:
            raise ValueError("need 0 < min_delay <= max_delay")
        if self.restart_delay <= 0 or self.restart_window < 0:
            raise ValueError("need restart_delay > 0 and restart_window >= 0")
        if self.initial_delay < 0 or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("need initial_delay >= 0, factor >= 1 and 0 <= jitter < 1")


def backoff(policy: BackoffPolicy, rng: random.Random) -> Iterator[float]:
    """Endless delays in seconds between reconnection attempts.

    Args:
        policy: the delays' bounds and growth.
        rng: the randomness source; a seeded one makes the sequence reproducible.
    """
    yield rng.random() * policy.initial_delay
    yield from _growing(policy, rng)


def after_restart(policy: BackoffPolicy, rng: random.Random) -> Iterator[float]:
    """Delays after the server announced a restart: the same random first one, then about
    ``restart_delay`` each until ``restart_window`` seconds are used, then ``backoff``'s growth."""
    yield rng.random() * policy.initial_delay
    waited = 0.0
    while waited < policy.restart_window:
        delay = policy.restart_delay * (1 - policy.jitter * rng.random())
        waited += delay
        yield delay
    yield from _growing(policy, rng)


def _growing(policy: BackoffPolicy, rng: random.Random) -> Iterator[float]:
    delay = policy.min_delay
    while True:
        capped = min(delay, policy.max_delay)
        yield capped * (1 - policy.jitter * rng.random())
        if delay < policy.max_delay:
            delay *= policy.factor
