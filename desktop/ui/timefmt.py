"""Dates and times as staff see them: in the branch's time zone, stored as UTC (pure).

The cache keeps ``starts_at`` as canonical UTC ISO text (``protocol.validate``), which
sorts as it reads; people book in local time. A zone of ``None`` means this PC's
own rules, looked up per instant, so a list spanning a daylight-saving change shows
each time with its own offset. The branch PC's zone is the branch's zone; a
``ZoneInfo`` can be passed where that is not so (tests, a PC set to UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["Zone", "day_range", "format_when", "from_local", "to_local", "today"]

Zone = tzinfo | None
"""A time zone, or None for this computer's local rules."""


def _localise(naive: datetime, zone: Zone) -> datetime:
    """``naive`` read as a wall-clock time in ``zone``, as an aware datetime."""
    return naive.astimezone() if zone is None else naive.replace(tzinfo=zone)


def to_local(utc_text: str, zone: Zone) -> datetime:
    """Canonical UTC ISO text -> aware datetime in ``zone``.

    Raises:
        ValueError: the text is not ISO 8601.
    """
    moment = datetime.fromisoformat(utc_text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def format_when(utc_text: str | None, zone: Zone, now: datetime | None = None) -> str:
    """``Tue 14 Jan, 09:30`` in ``zone`` (with the year when it is not this one).

    Text that is not a date comes back as it is.
    """
    if not utc_text:
        return ""
    try:
        moment = to_local(utc_text, zone)
    except ValueError:
        return utc_text
    this_year = (now or datetime.now(UTC)).astimezone(zone).year
    return moment.strftime("%a %d %b, %H:%M" if moment.year == this_year else "%a %d %b %Y, %H:%M")


def from_local(day: date, clock: time, zone: Zone) -> str:
    """A wall-clock date and time in ``zone`` as ISO 8601 text with its offset (what forms save)."""
    return _localise(datetime.combine(day, clock), zone).isoformat()


def today(zone: Zone, now: datetime | None = None) -> date:
    """The current date in ``zone`` (``now`` for tests)."""
    moment = now if now is not None else datetime.now(UTC)
    return moment.astimezone(zone).date()


def day_range(first: date, last: date, zone: Zone) -> tuple[str, str]:
    """UTC bounds ``[start of first, start of the day after last)`` as canonical ISO text."""
    start = _localise(datetime.combine(first, time()), zone)
    end = _localise(datetime.combine(last + timedelta(days=1), time()), zone)
    return start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()
