"""Value transforms for moving records in: what each accepts from CSV, JSON and .xlsx, and its refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.transfer.transforms import (
    TransformError,
    is_empty,
    join_values,
    map_value,
    normalise_phone,
    parse_datetime,
    parse_integer,
    parse_timestamp,
    split_tags,
    to_text,
)
from protocol.validate import normalise_datetime

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")
GERMAN = "%d.%m.%Y %H:%M"


def test_transform_error_is_a_value_error_under_the_protocol_root() -> None:
    assert issubclass(TransformError, ValueError)
    assert issubclass(TransformError, ProtocolError)


# --- is_empty, to_text, join_values --------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n\xa0", [], (), {}])
def test_nothing_is_empty(value: Any) -> None:
    assert is_empty(value) is True


@pytest.mark.parametrize("value", [0, 0.0, False, "0", " x ", [""], {"a": 1}, datetime(2026, 1, 1)])
def test_zero_false_and_content_are_values(value: Any) -> None:
    assert is_empty(value) is False


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("  Anna Berg \n", "Anna Berg"),
        (12, "12"),
        (-3, "-3"),
        (12.0, "12"),  # Excel's whole numbers
        (-0.0, "0"),
        (12.5, "12.5"),
        (0.1, "0.1"),
        (True, "true"),
        (False, "false"),
        (datetime(2026, 12, 2, 13, 0), "2026-12-02T13:00:00"),
        (datetime(2026, 12, 2, 13, 0, tzinfo=UTC), "2026-12-02T13:00:00+00:00"),
        (date(2026, 12, 2), "2026-12-02"),
        (time(9, 30), "09:30:00"),
    ],
)
def test_to_text(value: Any, text: str) -> None:
    assert to_text(value) == text


@pytest.mark.parametrize("value", [["a"], {"a": 1}, None, b"bytes", object()])
def test_to_text_refuses_what_has_no_single_text(value: Any) -> None:
    with pytest.raises(TransformError, match=r"cannot be used as text: use text, a number"):
        to_text(value)


def test_to_text_names_the_type_it_refuses() -> None:
    with pytest.raises(TransformError) as refused:
        to_text({"first": "Anna"})
    assert str(refused.value).startswith("{'first': 'Anna'} (dict) cannot be used as text")


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_whole_floats_read_like_the_int(number: int) -> None:
    assert to_text(float(number)) == str(number) == to_text(number)


def test_join_values_skips_empty_fields() -> None:
    assert (
        join_values(["Nut allergy", None, "  ", "prefers mornings"], "\n") == "Nut allergy\nprefers mornings"
    )
    assert join_values([" Anna ", "Berg"]) == "Anna Berg"
    assert join_values(["Room", 3, 2.0, False]) == "Room 3 2 false"


def test_join_values_of_nothing_is_none() -> None:
    assert join_values([None, "", "   ", []]) is None
    assert join_values([]) is None


def test_join_values_refuses_a_field_with_no_text() -> None:
    with pytest.raises(TransformError, match="cannot be used as text"):
        join_values(["a", {"b": 1}])


# --- parse_datetime / parse_timestamp ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("2026-12-02T13:00:00+01:00", "2026-12-02T13:00:00+01:00"),
        ("  2026-12-02T13:00:00+01:00 ", "2026-12-02T13:00:00+01:00"),
        ("2026-12-02T12:00:00Z", "2026-12-02T12:00:00+00:00"),
        ("2026-12-02T13:00:00.250+01:00", "2026-12-02T13:00:00.250000+01:00"),
        ("2026-12-02 13:00:00-05:00", "2026-12-02T13:00:00-05:00"),  # aware: kept, not moved to the zone
        ("2026-12-02T13:00", "2026-12-02T13:00:00+01:00"),  # naive: Berlin in winter
        ("2026-07-02T13:00", "2026-07-02T13:00:00+02:00"),  # naive: Berlin in summer
        ("2026-12-02", "2026-12-02T00:00:00+01:00"),  # a date alone is midnight
        ("20261202", "2026-12-02T00:00:00+01:00"),  # ISO 8601's basic form
    ],
)
def test_iso_text(value: str, wire: str) -> None:
    assert parse_datetime(value, zone=BERLIN) == wire


def test_the_result_is_what_validation_accepts() -> None:
    wire = parse_datetime("02.12.2026 13:00", formats=[GERMAN], zone=BERLIN)
    assert normalise_datetime(wire) == "2026-12-02T12:00:00+00:00"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (datetime(2026, 12, 2, 13, 0), "2026-12-02T13:00:00+01:00"),  # openpyxl's naive cell
        (datetime(2026, 12, 2, 13, 0, 0, 500), "2026-12-02T13:00:00.000500+01:00"),
        (datetime(2026, 12, 2, 13, 0, tzinfo=timezone(timedelta(hours=-3))), "2026-12-02T13:00:00-03:00"),
        (date(2026, 12, 2), "2026-12-02T00:00:00+01:00"),
    ],
)
def test_datetime_and_date_values(value: date, wire: str) -> None:
    assert parse_datetime(value, zone=BERLIN) == wire


def test_an_aware_datetime_keeps_its_wall_clock_and_offset_as_a_fixed_offset() -> None:
    stamp = datetime(2026, 12, 2, 13, 0, tzinfo=LONDON)
    parsed = parse_timestamp(stamp, zone=BERLIN)
    assert parsed == stamp
    assert parsed.tzinfo == UTC
    assert parsed.isoformat() == "2026-12-02T13:00:00+00:00"


def test_a_fixed_offset_datetime_is_returned_as_it_is() -> None:
    stamp = datetime(2026, 12, 2, 13, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert parse_timestamp(stamp, zone=BERLIN) is stamp


def test_a_tzinfo_that_gives_no_offset_counts_as_naive() -> None:
    class Unknown(tzinfo):
        def utcoffset(self, dt: datetime | None) -> None:
            return None

    assert parse_datetime(datetime(2026, 12, 2, 13, 0, tzinfo=Unknown()), zone=BERLIN) == (
        "2026-12-02T13:00:00+01:00"
    )
    zone: Any = Unknown()  # a zone that gives no offset reads as UTC
    assert parse_datetime("2026-12-02T13:00", zone=zone) == "2026-12-02T13:00:00+00:00"


@pytest.mark.parametrize(
    ("formats", "value", "wire"),
    [
        ([GERMAN], "02.12.2026 13:00", "2026-12-02T13:00:00+01:00"),
        (GERMAN, "02.12.2026 13:00", "2026-12-02T13:00:00+01:00"),  # a single format as a string
        (["%d.%m.%Y", GERMAN], " 02.12.2026 13:00 ", "2026-12-02T13:00:00+01:00"),  # tried in order
        ([GERMAN, "%d.%m.%Y"], "02.12.2026", "2026-12-02T00:00:00+01:00"),
        (["%d/%m/%Y %H:%M %z"], "02/12/2026 13:00 +0000", "2026-12-02T13:00:00+00:00"),  # %z kept
        (["%Y%m%d%H%M"], "202612021300", "2026-12-02T13:00:00+01:00"),  # before the epoch reading
    ],
)
def test_the_mappings_formats(formats: Any, value: str, wire: str) -> None:
    assert parse_datetime(value, formats=formats, zone=BERLIN) == wire


def test_a_value_matching_no_format_is_refused_with_the_formats() -> None:
    with pytest.raises(TransformError) as refused:
        parse_datetime("2.12.26 13 Uhr", formats=[GERMAN, "%d.%m.%Y"], zone=BERLIN)
    assert str(refused.value) == (
        '"2.12.26 13 Uhr" is not a date and time: use ISO 8601 (2026-12-02T13:00:00+01:00 or '
        '2026-12-02), epoch seconds or milliseconds, or the format "%d.%m.%Y %H:%M" or "%d.%m.%Y"'
    )


def test_without_formats_the_message_offers_iso_and_epoch() -> None:
    with pytest.raises(TransformError) as refused:
        parse_datetime("next Tuesday", zone=BERLIN)
    assert str(refused.value) == (
        '"next Tuesday" is not a date and time: use ISO 8601 (2026-12-02T13:00:00+01:00 or 2026-12-02), '
        "epoch seconds or milliseconds"
    )


def test_a_long_value_is_shortened_in_the_message() -> None:
    with pytest.raises(TransformError) as refused:
        parse_datetime("x" * 500, zone=BERLIN)
    message = str(refused.value)
    assert message.startswith('"' + "x" * 60 + '…" is not a date and time')
    assert len(message) < 200


@pytest.mark.parametrize("value", [None, True, [2026, 12, 2], {"date": "2026-12-02"}, time(13, 0), "", "   "])
def test_what_is_no_date_is_refused(value: Any) -> None:
    with pytest.raises(TransformError, match="is not a date and time: use ISO 8601"):
        parse_datetime(value, formats=GERMAN, zone=BERLIN)


# epoch


def test_epoch_milliseconds_from_javascript_date_now() -> None:
    assert parse_datetime(1_800_000_000_123, zone=BERLIN) == "2027-01-15T09:00:00.123000+01:00"
    assert parse_datetime("1800000000123", zone=UTC_ZONE) == "2027-01-15T08:00:00.123000+00:00"
    assert parse_timestamp(1_800_000_000_123, zone=LONDON) == datetime(
        2027, 1, 15, 8, 0, 0, 123_000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (1_800_000_000, "2027-01-15T09:00:00+01:00"),
        ("1800000000", "2027-01-15T09:00:00+01:00"),
        (" +1800000000 ", "2027-01-15T09:00:00+01:00"),
        (1_800_000_000.5, "2027-01-15T09:00:00.500000+01:00"),
        ("1800000000.5", "2027-01-15T09:00:00.500000+01:00"),
        (1_800_000_000_000.0, "2027-01-15T09:00:00+01:00"),  # an Excel number of milliseconds
        (0, "1970-01-01T01:00:00+01:00"),
        (99_999_999_999, "5138-11-16T10:46:39+01:00"),  # the largest read as seconds
        (100_000_000_000, "1973-03-03T10:46:40+01:00"),  # the smallest read as milliseconds
    ],
)
def test_epoch_seconds_and_milliseconds(value: Any, wire: str) -> None:
    assert parse_datetime(value, zone=BERLIN) == wire


@pytest.mark.parametrize("value", [-1, -1.5, "-1800000000", float("-inf")])
def test_a_negative_epoch_is_refused(value: Any) -> None:
    with pytest.raises(TransformError, match=r"is not a time: epoch seconds or milliseconds are 0 or more$"):
        parse_datetime(value, zone=BERLIN)


def test_nan_is_not_a_time() -> None:
    with pytest.raises(TransformError, match=r"^nan is not a time"):
        parse_datetime(float("nan"), zone=BERLIN)


@pytest.mark.parametrize(
    "value",
    [10**16, "10000000000000000", 1e300, float("inf"), 253_402_300_799_999],  # the last: 9999's end
)
def test_an_absurd_epoch_is_refused(value: Any) -> None:
    with pytest.raises(
        TransformError, match=r"too large for epoch seconds or milliseconds .*after the year 9999"
    ):
        parse_datetime(value, zone=BERLIN)


def test_the_last_millisecond_of_9999_in_utc_is_accepted() -> None:
    assert parse_datetime(253_402_300_799_999, zone=UTC_ZONE) == "9999-12-31T23:59:59.999000+00:00"


# time zones and daylight saving time


@pytest.mark.parametrize(
    ("zone", "value", "wire"),
    [
        # London, spring 2026: 01:00 GMT becomes 02:00 BST
        (LONDON, "2026-03-29T00:59:59", "2026-03-29T00:59:59+00:00"),
        (LONDON, "2026-03-29T02:00", "2026-03-29T02:00:00+01:00"),
        # London, autumn 2026: 01:00-02:00 happens twice; the first (BST) is meant
        (LONDON, "2026-10-25T01:30", "2026-10-25T01:30:00+01:00"),
        (LONDON, "2026-10-25T02:00", "2026-10-25T02:00:00+00:00"),
        # Berlin, spring 2026: 02:00 CET becomes 03:00 CEST
        (BERLIN, "2026-03-29T01:59", "2026-03-29T01:59:00+01:00"),
        (BERLIN, "2026-03-29T03:00", "2026-03-29T03:00:00+02:00"),
        # Berlin, autumn 2026: 02:00-03:00 happens twice; the first (CEST) is meant
        (BERLIN, "2026-10-25T02:00", "2026-10-25T02:00:00+02:00"),
        (BERLIN, "2026-10-25T02:59", "2026-10-25T02:59:00+02:00"),
        (BERLIN, "2026-10-25T03:00", "2026-10-25T03:00:00+01:00"),
    ],
)
def test_naive_times_get_the_zones_offset_for_that_moment(zone: ZoneInfo, value: str, wire: str) -> None:
    assert parse_datetime(value, zone=zone) == wire


def test_the_repeated_autumn_hour_is_the_first_one_for_every_kind_of_value() -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert parse_timestamp(datetime(2026, 10, 25, 2, 30), zone=BERLIN) == first
    assert parse_timestamp("25.10.2026 02:30", formats=[GERMAN], zone=BERLIN) == first
    assert parse_timestamp(datetime(2026, 10, 25, 2, 30, fold=1), zone=BERLIN) == first


def test_times_in_the_repeated_hour_compare_and_hash_equal_to_the_same_instant() -> None:
    # zoneinfo datetimes in a repeated hour compare unequal to every other zone (PEP 495):
    # parse_timestamp must not hand those out, since copies' updatedAt are compared
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, the second 02:30 in Berlin
    from_epoch = parse_timestamp(int(second.timestamp()), zone=BERLIN)
    from_zoneinfo = parse_timestamp(second.astimezone(BERLIN), zone=UTC_ZONE)
    from_text = parse_timestamp("2026-10-25T02:30:00+01:00", zone=LONDON)
    assert from_epoch == from_zoneinfo == from_text == second
    assert len({from_epoch, from_zoneinfo, from_text, second}) == 1
    assert from_epoch.isoformat() == from_zoneinfo.isoformat() == "2026-10-25T02:30:00+01:00"


@pytest.mark.parametrize(
    ("zone", "value", "formats"),
    [
        (LONDON, "2026-03-29T01:00", ()),
        (LONDON, "2026-03-29T01:30", ()),
        (LONDON, datetime(2026, 3, 29, 1, 59, 59), ()),
        (BERLIN, "2026-03-29T02:00", ()),
        (BERLIN, "29.03.2026 02:30", (GERMAN,)),
        (BERLIN, datetime(2026, 3, 29, 2, 30), ()),
    ],
)
def test_a_time_in_the_spring_gap_does_not_exist(
    zone: ZoneInfo, value: Any, formats: tuple[str, ...]
) -> None:
    with pytest.raises(TransformError) as refused:
        parse_datetime(value, formats=formats, zone=zone)
    assert f"does not exist in {zone.key}: the clocks skip that hour" in str(refused.value)


def test_the_gap_message_quotes_the_value() -> None:
    with pytest.raises(TransformError) as refused:
        parse_datetime(" 29.03.2026 02:30 ", formats=[GERMAN], zone=BERLIN)
    assert str(refused.value).startswith('" 29.03.2026 02:30 " does not exist in Europe/Berlin')


class _AlwaysSkipping(tzinfo):
    """A zone with no IANA key (like ``ZoneInfo.from_file``) in which every time is skipped."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=dt.fold if dt is not None else 0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def __str__(self) -> str:
        return "the skipping zone"


def test_a_zone_without_a_key_is_named_by_its_text() -> None:
    zone: Any = _AlwaysSkipping()
    with pytest.raises(TransformError, match=r'^"2026-01-01T12:00" does not exist in the skipping zone: '):
        parse_datetime("2026-01-01T12:00", zone=zone)


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("9999-12-31T23:30:00-01:00", UTC_ZONE),
        (datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))), UTC_ZONE),
        ("0001-01-01T00:00", BERLIN),  # Berlin's 1 January of the year 1 is +00:53 (local mean time)
        ("0001-01-01T00:00:00+01:00", UTC_ZONE),
    ],
)
def test_past_the_calendar_in_utc_is_refused(value: Any, zone: ZoneInfo) -> None:
    with pytest.raises(TransformError, match=r"falls outside the years 1 to 9999 in UTC$"):
        parse_datetime(value, zone=zone)


def test_the_ends_of_the_calendar_within_utc_are_accepted() -> None:
    assert parse_datetime("9999-12-31T23:59:59+00:00", zone=BERLIN) == "9999-12-31T23:59:59+00:00"
    assert parse_datetime("0001-01-01T00:00", zone=UTC_ZONE) == "0001-01-01T00:00:00+00:00"


AWARE = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones()
) | st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-1439, 1439)),
)


@given(AWARE)
def test_any_aware_datetimes_isoformat_round_trips(stamp: datetime) -> None:
    assert parse_datetime(stamp.isoformat(), zone=BERLIN) == stamp.isoformat()
    # Compared as instants: an aware datetime in a zone's repeated hour never equals one
    # in another zone under ==, even at the same instant (PEP 495).
    parsed = parse_timestamp(stamp.isoformat(), zone=LONDON)
    assert parsed.utcoffset() == stamp.utcoffset()
    assert parsed.replace(tzinfo=None) == stamp.replace(tzinfo=None)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_a_naive_time_either_keeps_its_wall_clock_or_is_refused(naive: datetime) -> None:
    try:
        parsed = parse_timestamp(naive, zone=BERLIN)
    except TransformError as refused:
        assert "does not exist in Europe/Berlin" in str(refused)
        wall = naive.replace(tzinfo=BERLIN).astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None)
        assert wall != naive
    else:
        assert parsed.replace(tzinfo=None) == naive.replace(fold=0)
        assert parsed.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) == naive


# --- normalise_phone -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "country", "e164"),
    [
        ("020 7840 6180", "GB", "+442078406180"),
        ("  020 7840 6180 ", "gb", "+442078406180"),  # the country in any case
        ("(020) 7840-6180", " GB ", "+442078406180"),
        ("07400 123456", "GB", "+447400123456"),  # a mobile number
        ("+44 20 7840 6180", None, "+442078406180"),
        ("+44 20 7840 6180", "DE", "+442078406180"),  # +country wins over the country
        ("+442078406180", None, "+442078406180"),  # already E.164
        ("+44 (0)20 7840 6180", None, "+442078406180"),
        ("+4402078406180", None, "+442078406180"),  # the trunk 0 after +44 is dropped
        ("0044 20 7840 6180", None, "+442078406180"),
        ("0044 20 7840 6180", "GB", "+442078406180"),
        ("0044 20 7840 6180", "US", "+442078406180"),  # 00 read as + even where one dials 011
        ("030 1234567", "DE", "+49301234567"),
        ("030/1234567", "de", "+49301234567"),
        ("+49 30 1234567", None, "+49301234567"),
        ("(212) 555-0100", "US", "+12125550100"),
    ],
)
def test_phone_text(value: str, country: str | None, e164: str) -> None:
    assert normalise_phone(value, country=country) == e164


@pytest.mark.parametrize(
    ("value", "country", "e164"),
    [
        (2078406180, "GB", "+442078406180"),  # Excel dropped the leading 0
        (2078406180.0, "GB", "+442078406180"),
        (7400123456, "GB", "+447400123456"),
        (301234567, "DE", "+49301234567"),
        (2125550100, "US", "+12125550100"),  # no trunk 0 in the US
        (3123456789, "IT", "+393123456789"),  # Italy has no trunk prefix: no 0 put back
    ],
)
def test_phone_numbers_excel_stored_as_numbers(value: float, country: str, e164: str) -> None:
    assert normalise_phone(value, country=country) == e164


def test_a_number_that_is_invalid_with_and_without_the_trunk_zero_is_refused() -> None:
    assert normalise_phone(8001234567, country="GB") == "+448001234567"  # Excel's 0800 123 4567
    with pytest.raises(TransformError, match=r"^1234 is not a phone number in GB$"):
        normalise_phone(1234, country="GB")


@pytest.mark.parametrize(
    ("value", "country", "message"),
    [
        ("12", "GB", '"12" is not a phone number in GB'),
        ("07700 900123", "GB", '"07700 900123" is not a phone number in GB'),  # Ofcom's range for drama
        ("+44 12", None, '"+44 12" is not a phone number'),
        ("+999 1234567", "GB", '"+999 1234567" is not a phone number in GB'),
        ("call me", "DE", '"call me" is not a phone number in DE'),
        ("0000 123", "DE", '"0000 123" is not a phone number in DE'),
        (12, "GB", "12 is not a phone number in GB"),
        (44.5, "GB", "44.5 is not a phone number: use text such as +44 20 7840 6180"),
        (-2078406180, "GB", "-2078406180 is not a phone number: use text such as +44 20 7840 6180"),
        (True, "GB", "True is not a phone number: use text such as +44 20 7840 6180"),
        (None, "GB", "None is not a phone number: use text such as +44 20 7840 6180"),
    ],
)
def test_what_is_not_a_phone_number_is_refused(value: Any, country: str | None, message: str) -> None:
    with pytest.raises(TransformError) as refused:
        normalise_phone(value, country=country)
    assert str(refused.value) == message


def test_a_national_number_needs_a_country() -> None:
    with pytest.raises(TransformError) as refused:
        normalise_phone("020 7840 6180", country=None)
    assert str(refused.value) == (
        '"020 7840 6180" has no +country code and the mapping sets no country for national numbers: '
        "write it as +44 20 7840 6180 or set country"
    )
    with pytest.raises(TransformError, match=r"^2078406180 is a number without its \+country code"):
        normalise_phone(2078406180, country=None)


def test_an_extension_is_refused_rather_than_dropped() -> None:
    with pytest.raises(TransformError, match=r'^"\+44 20 7840 6180 ext\. 12" has an extension.*keep: true'):
        normalise_phone("+44 20 7840 6180 ext. 12", country=None)


@pytest.mark.parametrize("country", ["XX", "UK", "GBR", "", "001", "Germany"])
def test_an_unknown_country_is_refused_as_not_iso_alpha_2(country: str) -> None:
    with pytest.raises(
        TransformError, match=r"^unknown country .*: phone numbers need an ISO 3166 alpha-2 code"
    ):
        normalise_phone("+44 20 7840 6180", country=country)


def test_repeated_numbers_give_the_same_answer() -> None:
    first = normalise_phone("020 7840 6180", country="GB")
    assert normalise_phone("020 7840 6180", country="GB") == first == "+442078406180"
    with pytest.raises(TransformError):  # a refusal is not remembered as an answer
        normalise_phone("12", country="GB")
    with pytest.raises(TransformError):
        normalise_phone("12", country="GB")


# --- map_value -----------------------------------------------------------------------

STATUS = {"Gebucht": "booked", "Erledigt": "done", "Storniert": "cancelled", "Nicht erschienen": "no_show"}


@pytest.mark.parametrize(
    ("value", "mapped"),
    [
        ("Gebucht", "booked"),
        ("  Erledigt ", "done"),  # to_text strips
        ("storniert", "cancelled"),
        ("NICHT ERSCHIENEN", "no_show"),
    ],
)
def test_map_value(value: str, mapped: str) -> None:
    assert map_value(value, STATUS) == mapped


def test_an_exact_match_wins_over_a_case_insensitive_one() -> None:
    table = {"ok": "lower", "OK": "upper", " Ok ": "spaced"}
    assert map_value("OK", table) == "upper"
    assert map_value("ok", table) == "lower"
    assert map_value("oK", table) == "lower"  # the first case-insensitive match


def test_keys_written_as_numbers_or_booleans_match_their_text() -> None:
    numbers: dict[Any, str] = {1: "booked", 2.0: "done", " Offen ": "booked"}
    assert map_value(1, numbers) == "booked"
    assert map_value("1", numbers) == "booked"
    assert map_value(2, numbers) == "done"
    assert map_value("offen", numbers) == "booked"
    flags: dict[Any, str] = {False: "booked", True: "cancelled"}  # YAML reads yes/no as booleans
    assert map_value("true", flags) == "cancelled"
    assert map_value(" TRUE ", flags) == "cancelled"


def test_a_value_may_map_to_any_value() -> None:
    assert map_value(1, {"1": None}) is None
    assert map_value("x", {"X": 0}) == 0


def test_an_unknown_value_lists_the_known_ones() -> None:
    with pytest.raises(TransformError) as refused:
        map_value("Offen", STATUS)
    assert str(refused.value) == (
        '"Offen" is not in the mapping\'s values table (known values: '
        '"Gebucht", "Erledigt", "Storniert", "Nicht erschienen")'
    )


def test_a_long_table_is_listed_in_part() -> None:
    table = {f"v{n}": n for n in range(25)}
    with pytest.raises(TransformError) as refused:
        map_value(99, table)
    message = str(refused.value)
    assert message.startswith('99 is not in the mapping\'s values table (known values: "v0", ')
    assert message.endswith('"v9" and 15 more)')
    assert '"v10"' not in message


def test_an_empty_table_says_so() -> None:
    with pytest.raises(TransformError, match=r"known values: none: the table is empty\)$"):
        map_value("x", {})


def test_map_value_refuses_a_value_with_no_text() -> None:
    with pytest.raises(TransformError, match="cannot be used as text"):
        map_value(["Gebucht"], STATUS)


# --- split_tags ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "separator", "tags"),
    [
        ("vip; colour ;;  regular ", ";", ["vip", "colour", "regular"]),
        ("vip,colour,vip,VIP", ",", ["vip", "colour", "VIP"]),  # repeats dropped, case kept
        ("vip", ";", ["vip"]),
        ("a | b", " | ", ["a", "b"]),
        (["vip", " colour ", "", None, "vip", 7, 2.0], ";", ["vip", "colour", "7", "2"]),
        (("a", "b"), ";", ["a", "b"]),
        (["a;b"], ";", ["a;b"]),  # a list's items are not split
        (42, ";", ["42"]),
        (None, ";", []),
        ("", ";", []),
        ("  ", ";", []),
        (";;", ";", []),
        ([], ";", []),
        (["", "  "], ";", []),
    ],
)
def test_split_tags(value: Any, separator: str, tags: list[str]) -> None:
    assert split_tags(value, separator=separator) == tags


def test_split_tags_defaults_to_semicolons() -> None:
    assert split_tags("a;b, c") == ["a", "b, c"]


def test_an_empty_separator_is_refused() -> None:
    with pytest.raises(TransformError, match=r"separator \(split\) must not be empty"):
        split_tags("a,b", separator="")


def test_a_tag_with_no_text_is_refused() -> None:
    with pytest.raises(TransformError, match="cannot be used as text"):
        split_tags(["a", {"b": 1}])


@given(
    st.one_of(st.text(), st.lists(st.one_of(st.text(), st.none(), st.integers()))),
    st.sampled_from([";", ",", " ", "|", "; "]),
)
def test_split_tags_never_gives_empty_or_repeated_or_untrimmed_tags(value: Any, separator: str) -> None:
    tags = split_tags(value, separator=separator)
    assert all(tag and tag == tag.strip() for tag in tags)
    assert len(set(tags)) == len(tags)
    if isinstance(value, str):
        assert all(separator not in tag for tag in tags)


# --- parse_integer -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (45, 45),
        (-5, -5),
        (45.0, 45),  # Excel
        ("45", 45),
        (" 45 ", 45),
        ("+45", 45),
        ("-5", -5),
        ("45,0", 45),
        ("45.0", 45),
        ("45.00", 45),
        ("45.0000", 45),
        ("45 min", 45),
        ("45 Min.", 45),
        ("45min", 45),
        ("90 Minuten", 90),
        ("45,0 min", 45),
        ("0", 0),
    ],
)
def test_parse_integer(value: Any, number: int) -> None:
    assert parse_integer(value) == number


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        None,
        45.5,
        float("nan"),
        float("inf"),
        "45,5",
        "4.5",
        "",
        "min",
        "45 min 30",
        "1 2",
        "45-50",
        "٤٥",
        "1e3",
        [45],
        "9" * 31,
    ],
)
def test_what_is_not_a_whole_number_is_refused(value: Any) -> None:
    with pytest.raises(TransformError, match=r"is not a whole number: use digits such as 45 or 45 min$"):
        parse_integer(value)


def test_the_refusal_quotes_the_value() -> None:
    with pytest.raises(TransformError) as refused:
        parse_integer("45,5 min")
    assert str(refused.value).startswith('"45,5 min" is not a whole number')


@pytest.mark.parametrize("value", ["1.000", "1,000", "2.000 min"])
def test_three_zero_decimals_are_ambiguous(value: str) -> None:
    with pytest.raises(TransformError, match="is ambiguous: a thousands separator or three decimals"):
        parse_integer(value)


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_parse_integer_reads_its_text_back(number: int) -> None:
    assert parse_integer(str(number)) == number
    assert parse_integer(f" {number} min ") == number
