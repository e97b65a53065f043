"""Hybrid logical clock: text form, order, monotonicity, observe, restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import HybridLogicalClock, ProtocolError, Timestamp
from protocol.errors import InvalidTimestamp
from protocol.hlc import parse, system_wall_ms
from tests.unit.protocol.strategies import FAST, timestamps

NODE = "3f2b8c1e-0d4a-4c55-9a6e-1b2c3d4e5f60"
MAX_WALL = 10**15 - 1
MAX_COUNTER = 999_999

nodes = st.text(st.characters(exclude_categories=("C", "Z")) | st.just("-"), min_size=1, max_size=64)
any_timestamps = st.builds(
    Timestamp,
    wall_ms=st.integers(min_value=0, max_value=MAX_WALL),
    counter=st.integers(min_value=0, max_value=MAX_COUNTER),
    node=nodes,
)
# stamps something can still follow: the very last representable wall has no successor
# in the 15-digit wall field (a remote clock there is refused by the skew check anyway)
followable_timestamps = st.builds(
    Timestamp,
    wall_ms=st.integers(min_value=0, max_value=MAX_WALL - 1),
    counter=st.integers(min_value=0, max_value=MAX_COUNTER),
    node=nodes,
)
# wall readings that stand still, jump back and leap ahead
wall_readings = st.lists(st.integers(min_value=0, max_value=50) | st.just(10**12), min_size=1, max_size=40)


def scripted(readings: Iterable[int]) -> Callable[[], int]:
    """A wall clock that returns ``readings`` in turn, then stands on the last one."""
    queue = list(readings)

    def wall_ms() -> int:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return wall_ms


def issue(clock: HybridLogicalClock, count: int) -> list[str]:
    return [clock.now() for _ in range(count)]


def assert_strictly_increasing(stamps: list[str]) -> None:
    assert all(a < b for a, b in pairwise(stamps)), stamps
    parsed = [parse(s) for s in stamps]
    assert all(a < b for a, b in pairwise(parsed)), parsed


# ---- text form -------------------------------------------------------------------


def test_text_form_is_fixed_width_wall_counter_node() -> None:
    assert str(Timestamp(1_767_346_200_000, 7, NODE)) == f"001767346200000-000007-{NODE}"


def test_timestamp_parse_reads_the_text_form_as_parse_does() -> None:
    text = f"001767346200000-000007-{NODE}"
    assert Timestamp.parse(text) == parse(text) == Timestamp(1_767_346_200_000, 7, NODE)
    with pytest.raises(InvalidTimestamp):
        Timestamp.parse("1767346200000-7-" + NODE)  # not fixed-width


@FAST
@given(stamp=any_timestamps)
def test_text_form_round_trips(stamp: Timestamp) -> None:
    text = str(stamp)
    assert parse(text) == stamp
    assert Timestamp.parse(text) == stamp
    assert str(parse(text)) == text


@FAST
@given(a=any_timestamps | timestamps, b=any_timestamps | timestamps)
def test_string_order_is_timestamp_order(a: Timestamp, b: Timestamp) -> None:
    assert (str(a) < str(b)) == (a < b)
    assert (str(a) == str(b)) == (a == b)


def test_order_is_wall_then_counter_then_node() -> None:
    ordered = [
        Timestamp(1, 999_999, "z"),
        Timestamp(2, 0, "z"),
        Timestamp(2, 1, "a"),
        Timestamp(2, 1, "b"),
    ]
    assert sorted(reversed(ordered)) == ordered
    assert sorted(str(t) for t in reversed(ordered)) == [str(t) for t in ordered]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "1-2-node",
        f"{'0' * 14}-000000-n",
        f"{'0' * 16}-000000-n",
        f"{'0' * 15}-00000-n",
        f"{'0' * 15}-0000000-n",
        f"{'0' * 15}-000000-",
        f"{'0' * 15}-000000",
        f"{'0' * 15}-000000-{'n' * 65}",
        f"-{'0' * 14}-000000-n",
        f" {'0' * 14}-000000-n",
        f"{'0' * 14}x-000000-n",
        f"{'²' * 15}-000000-n",
        f"{'٣' * 15}-000000-n",
        f"{'0' * 15}-{'٣' * 6}-n",
        f"{'0' * 15}-000000-no\x00de",
        f"{'0' * 15}-000000-no\nde",
        f"{'0' * 15}-000000-\ud800",
    ],
)
def test_invalid_text_raises_invalid_timestamp(text: str) -> None:
    with pytest.raises(InvalidTimestamp) as caught:
        parse(text)
    assert isinstance(caught.value, ProtocolError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [None, b"000000000000001-000000-n", 1, ["000000000000001-000000-n"]])
def test_non_text_raises_invalid_timestamp(value: object) -> None:
    with pytest.raises(InvalidTimestamp):
        parse(value)  # type: ignore[arg-type]


def test_node_may_contain_dashes_and_spaces() -> None:
    text = f"{'0' * 14}1-000002-{NODE} branch 2"
    assert parse(text) == Timestamp(1, 2, f"{NODE} branch 2")


# ---- now() -----------------------------------------------------------------------


@FAST
@given(readings=wall_readings, extra=st.integers(min_value=0, max_value=5))
def test_now_strictly_increases_whatever_the_wall_clock_does(readings: list[int], extra: int) -> None:
    clock = HybridLogicalClock(NODE, wall_ms=scripted(readings))
    stamps = issue(clock, len(readings) + extra)
    assert_strictly_increasing(stamps)
    assert {parse(s).node for s in stamps} == {NODE}
    assert clock.last == parse(stamps[-1])


@FAST
@given(readings=wall_readings)
def test_now_uses_the_wall_clock_when_it_moves_ahead(readings: list[int]) -> None:
    clock = HybridLogicalClock(NODE, wall_ms=scripted(readings))
    high = 0
    for reading in readings:
        stamp = parse(clock.now())
        if reading > high:
            assert (stamp.wall_ms, stamp.counter) == (reading, 0)
        high = max(high, stamp.wall_ms)


def test_standing_clock_counts_up_and_backwards_clock_is_ignored() -> None:
    clock = HybridLogicalClock("n", wall_ms=scripted([1000, 1000, 1000, 400, 1001]))
    stamps = [parse(stamp) for stamp in issue(clock, 5)]
    assert [(s.wall_ms, s.counter) for s in stamps] == [(1000, 0), (1000, 1), (1000, 2), (1000, 3), (1001, 0)]


def test_full_counter_carries_into_the_wall() -> None:
    clock = HybridLogicalClock("n", wall_ms=lambda: 1000, last=Timestamp(1000, MAX_COUNTER - 1, "n"))
    assert issue(clock, 3) == [
        str(Timestamp(1000, MAX_COUNTER, "n")),
        str(Timestamp(1001, 0, "n")),
        str(Timestamp(1001, 1, "n")),
    ]


def test_default_wall_clock_is_the_system_clock() -> None:
    before = time.time_ns() // 1_000_000
    stamp = parse(HybridLogicalClock("n").now())
    after = time.time_ns() // 1_000_000
    assert before <= stamp.wall_ms <= after
    assert before <= system_wall_ms() <= time.time_ns() // 1_000_000


# ---- observe() -------------------------------------------------------------------


@FAST
@given(readings=wall_readings, remote=any_timestamps, as_text=st.booleans())
def test_now_after_observing_a_remote_sorts_after_it(
    readings: list[int], remote: Timestamp, as_text: bool
) -> None:
    clock = HybridLogicalClock(NODE, wall_ms=scripted(readings))
    before = clock.now()
    clock.observe(str(remote) if as_text else remote)
    after = clock.now()
    assert after > before
    assert parse(after) > remote
    assert parse(after).node == NODE


def test_observing_a_remote_ahead_moves_last_to_it_under_our_node() -> None:
    clock = HybridLogicalClock("n", wall_ms=lambda: 5)
    clock.observe(f"{'0' * 13}90-000004-other")
    assert clock.last == Timestamp(90, 4, "n")
    assert clock.now() == str(Timestamp(90, 5, "n"))


def test_observing_a_remote_behind_changes_nothing() -> None:
    clock = HybridLogicalClock("n", wall_ms=scripted([100, 200]))
    clock.now()
    clock.observe(str(Timestamp(50, 9, "other")))
    assert clock.last == Timestamp(100, 0, "n")
    assert clock.now() == str(Timestamp(200, 0, "n"))


def test_observing_a_tie_with_a_greater_node_still_sorts_after_it() -> None:
    clock = HybridLogicalClock("a", wall_ms=lambda: 7)
    clock.now()
    clock.observe(Timestamp(7, 0, "zzz"))
    assert parse(clock.now()) > Timestamp(7, 0, "zzz")


def test_observing_a_full_counter_carries() -> None:
    clock = HybridLogicalClock("n", wall_ms=lambda: 7)
    clock.observe(Timestamp(7, MAX_COUNTER, "other"))
    assert clock.now() == str(Timestamp(8, 0, "n"))


@pytest.mark.parametrize("junk", ["not an hlc", "", None, b"000000000000001-000000-n", 12])
def test_observing_junk_raises_and_leaves_the_clock_alone(junk: object) -> None:
    clock = HybridLogicalClock("n", wall_ms=lambda: 7)
    clock.now()
    with pytest.raises(InvalidTimestamp):
        clock.observe(junk)  # type: ignore[arg-type]
    assert clock.last == Timestamp(7, 0, "n")


# ---- restart ---------------------------------------------------------------------


@FAST
@given(
    first=wall_readings,
    remote=followable_timestamps,
    second=wall_readings,
    as_text=st.booleans(),
)
def test_restart_from_persisted_last_never_goes_backwards(
    first: list[int], remote: Timestamp, second: list[int], as_text: bool
) -> None:
    before = HybridLogicalClock(NODE, wall_ms=scripted(first))
    issued = issue(before, len(first))
    before.observe(remote)
    persisted = str(before.last) if as_text else before.last

    after = HybridLogicalClock(NODE, wall_ms=scripted(second), last=persisted)
    assert after.last == before.last
    resumed = issue(after, len(second))
    assert_strictly_increasing([*issued, *resumed])
    assert parse(resumed[0]) > remote


def test_fresh_clock_starts_at_zero() -> None:
    assert HybridLogicalClock("n", wall_ms=lambda: 0).last == Timestamp(0, 0, "n")


@pytest.mark.parametrize("node", ["", "n" * 65, "line\nbreak", "nul\x00", "\udc80"])
def test_clock_refuses_a_node_no_stamp_could_carry(node: str) -> None:
    with pytest.raises(ValueError, match="node"):
        HybridLogicalClock(node)


def test_clock_refuses_an_invalid_persisted_last() -> None:
    with pytest.raises(InvalidTimestamp):
        HybridLogicalClock("n", last="yesterday")


def test_the_wall_reading_stays_the_machines_own_after_absorbing_a_stamp_from_ahead() -> None:
    """What a server reports as its clock: ``last`` runs ahead by what a fast device stamped."""
    clock = HybridLogicalClock("server", wall_ms=lambda: 1_000)
    clock.observe(Timestamp(11_000, 0, "fast-pc"))
    assert parse(clock.now()).wall_ms == 11_000
    assert clock.wall_ms() == 1_000
