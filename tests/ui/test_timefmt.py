"""Local times for people, UTC in the cache: across a daylight-saving change too."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from desktop.ui.timefmt import day_range, format_when, from_local, to_local, today

LONDON = ZoneInfo("Europe/London")


def test_a_day_in_summer_time_is_bounded_in_utc() -> None:
    assert day_range(date(2026, 7, 1), date(2026, 7, 1), LONDON) == (
        "2026-06-30T23:00:00+00:00",
        "2026-07-01T23:00:00+00:00",
    )


def test_the_day_the_clocks_go_forward_has_23_hours() -> None:
    start, end = day_range(date(2026, 3, 29), date(2026, 3, 29), LONDON)
    hours = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600
    assert hours == 23


def test_local_wall_time_keeps_its_offset_and_reads_back() -> None:
    text = from_local(date(2026, 7, 1), time(9, 30), LONDON)
    assert text == "2026-07-01T09:30:00+01:00"
    assert to_local("2026-07-01T08:30:00+00:00", LONDON).strftime("%H:%M") == "09:30"


def test_format_when_drops_this_year_and_keeps_other_years() -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    assert format_when("2026-07-01T08:30:00+00:00", LONDON, now) == "Wed 01 Jul, 09:30"
    assert format_when("2025-12-24T08:30:00+00:00", LONDON, now) == "Wed 24 Dec 2025, 08:30"
    assert format_when("not a date", LONDON, now) == "not a date"
    assert format_when(None, LONDON, now) == ""


def test_today_is_the_zones_date() -> None:
    late = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    assert today(LONDON, late) == date(2026, 7, 2)
    assert today(UTC, late) == date(2026, 7, 1)
