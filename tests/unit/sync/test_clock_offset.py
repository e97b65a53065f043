"""The NTP-style offset: server clock minus the midpoint of our send and receive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.sync.clock_offset import (
    OffsetEstimate,
    best_estimate,
    corrected_offset,
    estimate,
    measure_offset,
)
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


def test_an_estimate_carries_half_the_round_trip_as_its_uncertainty() -> None:
    assert estimate(1_000, 1_101, server_hlc(5_050)) == OffsetEstimate(offset_ms=4_000, uncertainty_ms=51)


def test_the_filter_keeps_the_sample_with_the_smallest_round_trip() -> None:
    stalled, quick, tie = OffsetEstimate(4_000, 4_000), OffsetEstimate(10, 20), OffsetEstimate(-5, 20)

    assert best_estimate(None, stalled) == stalled
    assert best_estimate(stalled, quick) == quick
    assert best_estimate(quick, stalled) == quick
    assert best_estimate(quick, tie) == quick  # no better: the earlier stays


def test_an_offset_inside_the_interval_stays_one_outside_moves_to_its_edge() -> None:
    best = OffsetEstimate(1_000, 50)

    assert corrected_offset(None, best) == 1_000  # none in use: take the estimate
    assert corrected_offset(980, best) == 980  # the measurement cannot tell them apart
    assert corrected_offset(0, best) == 950
    assert corrected_offset(DAY_MS, best) == 1_050  # a day wrong is put right at once


Exchange = tuple[int, int, int]
"""Local time a request leaves, its way out and its way back (ms)."""


@FAST
@given(
    true_offset=st.sampled_from([0, DAY_MS, -DAY_MS]) | st.integers(-DAY_MS, DAY_MS),
    initial=st.none() | st.integers(-2 * DAY_MS, 2 * DAY_MS),
    start=st.integers(10 * DAY_MS, 10**12),
    exchanges=st.lists(
        st.tuples(st.integers(0, 60_000), st.integers(0, 10_000), st.integers(0, 10_000)),
        min_size=1,
        max_size=12,
    ),
)
def test_edits_in_real_time_order_are_never_stamped_backwards_beyond_the_uncertainty(
    true_offset: int, initial: int | None, start: int, exchanges: list[Exchange]
) -> None:
    """One connection of exchanges with any asymmetric delays, an edit after each answer.

    The local clock is ``true - true_offset``; an edit is stamped ``local + offset in use``.
    The truth and the offset in use both lie in the best sample's interval ``offset ± u``,
    so from the first answer on the offset in use is off by at most that interval's width
    (2u) — a day-wrong start included — and a correction only moves it towards the truth:
    a later edit is never stamped before an earlier one by more than the error the earlier
    one's offset could have (2u then).
    """
    in_use, best, local, last_stamp, last_error = initial, None, start, None, 0
    for gap, way_out, way_back in exchanges:
        sent = local + gap
        received = sent + way_out + way_back
        server_read = sent + way_out + true_offset
        best = best_estimate(best, estimate(sent, received, server_hlc(server_read)))
        in_use = corrected_offset(in_use, best)
        assert abs(in_use - best.offset_ms) <= best.uncertainty_ms
        assert abs(in_use - true_offset) <= 2 * best.uncertainty_ms + 1
        stamp = received + in_use  # an edit made just after the answer
        if last_stamp is not None:
            assert stamp >= last_stamp - last_error
        local, last_stamp, last_error = received, stamp, 2 * best.uncertainty_ms + 1


def test_the_servers_own_wall_reading_is_measured_against_not_its_hlc() -> None:
    """A server whose HLC absorbed a stamp 10 s ahead still reads its own clock (issue 12)."""
    ahead = server_hlc(11_050)
    assert measure_offset(1_000, 1_100, ahead) == 10_000  # an older server: its HLC's wall
    assert measure_offset(1_000, 1_100, ahead, server_wall_ms=1_050) == 0
