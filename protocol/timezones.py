"""Branch time zones: IANA names, checked by the server and read safely by the desktop.

A branch's zone travels as its IANA name (``Europe/Vienna``), never as an offset, so
daylight saving time is handled by whoever shows a time. The server refuses a name
its tz database does not know when IT sets it (``canonical_zone``). The desktop may
run with an older tz database than the server, so it must not fail on a name it
lacks: ``zone_or_none`` gives None and the app falls back to the PC's own zone.
"""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from protocol.errors import UnknownTimeZone

__all__ = ["EXAMPLE_ZONE", "canonical_zone", "zone_or_none"]

EXAMPLE_ZONE = "Europe/Vienna"
"""Shown in the error when no known zone is close to what was typed."""


@cache
def _known() -> dict[str, str]:
    """Case-folded name -> IANA name. Reading the tz database takes ~0.2 s: once only."""
    return {name.casefold(): name for name in available_timezones()}


def canonical_zone(name: str) -> str:
    """The IANA name ``name`` stands for; surrounding spaces and letter case do not matter.

    Checked against the list of zones rather than by loading the file, so the answer is
    the same on every platform (a case-insensitive file system would accept
    ``europe/vienna`` and store a key other machines cannot load) and files in the tz
    folder that are not zones (``zone.tab``, ``posixrules``) are refused.

    Raises:
        UnknownTimeZone: no such zone; the message suggests the nearest known name.
    """
    cleaned = name.strip()
    found = _known().get(cleaned.casefold())
    if found is None:
        nearest = difflib.get_close_matches(cleaned, _known().values(), n=1, cutoff=0.8)
        example = nearest[0] if nearest else EXAMPLE_ZONE
        raise UnknownTimeZone(f"unknown time zone {cleaned!r}; use an IANA name such as {example}")
    return found


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The zone called ``name``, or None when it is unset or this machine does not know it."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, malformed key, not a TZif file
        return None
