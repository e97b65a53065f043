"""Reconnection delays: capped exponential backoff with jitter, as a pure generator.

The shape follows websockets' ``backoff()``: a random first delay (so branches that
lost the server at the same moment do not all come back at the same moment), then
delays growing by ``factor`` up to ``max_delay``. Each later delay is also jittered
down by up to ``jitter`` of itself, for the same reason.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["BackoffPolicy", "backoff"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """The numbers behind ``backoff``; tests shrink them to keep fault runs fast."""

    initial_delay: float = 1.0
    min_delay: float = 0.5
    max_delay: float = 60.0
    factor: float = 1.6
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.min_delay <= self.max_delay:
            raise ValueError("need 0 < min_delay <= max_delay")
        if self.initial_delay < 0 or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("need initial_delay >= 0, factor >= 1 and 0 <= jitter < 1")


def backoff(policy: BackoffPolicy, rng: random.Random) -> Iterator[float]:
    """Endless delays in seconds between reconnection attempts.

    Args:
        policy: the delays' bounds and growth.
        rng: the randomness source; a seeded one makes the sequence reproducible.
    """
    yield rng.random() * policy.initial_delay
    delay = policy.min_delay
    while True:
        capped = min(delay, policy.max_delay)
        yield capped * (1 - policy.jitter * rng.random())
        if delay < policy.max_delay:
            delay *= policy.factor
