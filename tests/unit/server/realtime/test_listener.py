"""The fan-out adapter's pure helpers: reading a notification, pacing reconnections."""

from __future__ import annotations

import itertools

import pytest

from server.realtime.listener import parse_head, reconnect_delays


@pytest.mark.parametrize(("payload", "head"), [("42", 42), ("0", 0), ("", None), ("4x", None), ("ab", None)])
def test_parse_head(payload: str, head: int | None) -> None:
    assert parse_head(payload) == head


def test_reconnect_delays_double_with_jitter_up_to_the_cap() -> None:
    delays = list(itertools.islice(reconnect_delays(first=0.1, cap=1.0), 12))
    bounds = [min(1.0, 0.1 * 2**i) for i in range(12)]
    assert all(bound / 2 <= delay <= bound for delay, bound in zip(delays, bounds, strict=True))
    assert max(delays) <= 1.0
    assert delays[-1] >= 0.5, "it stays near the cap once there"
