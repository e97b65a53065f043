"""The NTP-style offset: server clock minus the midpoint of our send and receive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.sync.clock_offset import measure_offset
from protocol.errors import InvalidTimestamp
from tests.unit.protocol.strategies import FAST

DAY_MS = 86_400_000


def server_hlc(wall_ms: int) -> str:
    return f"{wall_ms:015d}-000003-server.abc"


def test_a_clock_a_day_behind_measures_plus_one_day() -> None:
    local = 1_700_000_000_000
    assert measure_offset(local, local + 40, server_hlc(local + DAY_MS + 20)) == DAY_MS


def test_a_clock_ahead_measures_negative() -> None:
    assert measure_offset(10_000, 10_100, server_hlc(5_050)) == -5_000


@FAST
@given(
    true_offset=st.integers(-10 * DAY_MS, 10 * DAY_MS),
    sent=st.integers(10 * DAY_MS, 10**12),
    way_out=st.integers(0, 5_000),
    way_back=st.integers(0, 5_000),
)
def test_the_error_is_at_most_half_the_round_trip(
    true_offset: int, sent: int, way_out: int, way_back: int
) -> None:
    server_read = sent + way_out + true_offset  # the server reads its clock on arrival
    received = sent + way_out + way_back
    measured = measure_offset(sent, received, server_hlc(server_read))
    assert abs(measured - true_offset) <= (way_out + way_back) / 2 + 1


def test_an_answer_before_the_request_is_a_clock_jump_not_a_measurement() -> None:
    with pytest.raises(ValueError, match="jumped"):
        measure_offset(2_000, 1_000, server_hlc(1_500))


def test_a_server_stamp_that_is_not_an_hlc_is_refused() -> None:
    with pytest.raises(InvalidTimestamp):
        measure_offset(1_000, 1_100, "yesterday")
