"""Branch time zones: what the server accepts from IT and what the desktop can load."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from protocol.errors import ProtocolError, UnknownTimeZone
from protocol.timezones import EXAMPLE_ZONE, canonical_zone, zone_or_none


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Europe/Vienna", "Europe/Vienna"),
        ("  europe/VIENNA ", "Europe/Vienna"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("utc", "UTC"),
    ],
)
def test_known_zones_come_back_as_their_iana_name(typed: str, canonical: str) -> None:
    assert canonical_zone(typed) == canonical


def test_an_unknown_zone_is_refused_with_the_nearest_name() -> None:
    with pytest.raises(UnknownTimeZone) as refused:
        canonical_zone("Europe/Vienn")

    assert str(refused.value) == "unknown time zone 'Europe/Vienn'; use an IANA name such as Europe/Vienna"
    assert isinstance(refused.value, ProtocolError) and isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    "typed", ["", "   ", "Mars/Olympus_Mons", "Europe", "zone.tab", "posixrules", "../etc/passwd", "+01:00"]
)
def test_what_is_not_a_zone_is_refused_with_an_example(typed: str) -> None:
    with pytest.raises(
        UnknownTimeZone, match=f"^unknown time zone .*; use an IANA name such as {EXAMPLE_ZONE}$"
    ):
        canonical_zone(typed)


def test_a_known_name_loads_as_its_zone() -> None:
    zone = zone_or_none("Europe/Vienna")

    assert zone == ZoneInfo("Europe/Vienna")
    assert datetime(2026, 7, 1, 10, tzinfo=UTC).astimezone(zone).hour == 12  # summer time


@pytest.mark.parametrize(
    "name", [None, "", "Mars/Olympus_Mons", "../etc/passwd", "/etc/localtime", "zone.tab"]
)
def test_an_unset_or_unloadable_zone_is_none_not_an_error(name: str | None) -> None:
    assert zone_or_none(name) is None
