"""Value transforms for moving records in: a source's value -> the value our wire format wants.

An old system's values reach us in three kinds: text from a CSV, JSON's types, and
what openpyxl reads from an .xlsx (str, int, float, bool, datetime). Excel is the
reason for most of what follows: it stores a phone number as a number (its leading
0 gone), a whole number as ``45.0`` and a date as a naive ``datetime``. Each function
here takes any of these kinds and returns exactly what ``protocol.validate`` accepts
for one field kind (``DATETIME`` is ISO 8601 with an offset, ``PHONE`` is E.164 here,
``TAGS`` a list of text), or raises ``TransformError`` with a message an IT person can
act on: it quotes the value (cut short when long) and says what would be accepted.

The functions are pure (no I/O) and cheap on the common path, since an import maps
hundreds of thousands of records: text already in ISO 8601 goes through
``datetime.fromisoformat`` before anything slower, and phone results and country
lookups are cached (the same clients arrive in every branch's copy, and checking a
number against the numbering plan is the one slow step, about 20 µs).

Times written without an offset are read in the mapping's zone with daylight saving
time applied: an hour the autumn repeats means its first occurrence (``fold=0``), and
a time in the hour the spring skips is refused rather than silently moved.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from protocol.errors import ProtocolError

__all__ = [
    "TransformError",
    "is_empty",
    "join_values",
    "map_value",
    "normalise_phone",
    "parse_datetime",
    "parse_integer",
    "parse_timestamp",
    "split_tags",
    "to_text",
]


class TransformError(ProtocolError, ValueError):
    """A source value that cannot become the value its field needs; the message says why."""


_SHOWN = 60
"""Characters of a value quoted in an error message; a huge cell is not echoed whole."""
_KNOWN_SHOWN = 10
"""Source values of a ``values`` table listed when a value is not in it."""


def _shown(value: Any) -> str:
    """``value`` quoted for a message: text as JSON writes it (double quotes), others by repr."""
    if isinstance(value, str):
        if len(value) > _SHOWN:
            return json.dumps(value[:_SHOWN], ensure_ascii=False)[:-1] + '…"'
        return json.dumps(value, ensure_ascii=False)
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"


# --- emptiness and text -------------------------------------------------------------


def is_empty(value: Any) -> bool:
    """No value: None, blank text, or an empty list/tuple/dict. ``0`` and ``False`` are values."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return False


def to_text(value: Any) -> str:
    """A scalar as text: str stripped, ``12.0`` as ``"12"`` (Excel's whole numbers), bools lower case.

    Raises:
        TransformError: a list, dict or other value that has no single text form.
    """
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    raise TransformError(
        f"{_shown(value)} ({type(value).__name__}) cannot be used as text: use text, a number, "
        "true/false or a date"
    )


def join_values(values: Sequence[Any], separator: str = " ") -> str | None:
    """Several source fields as one text, empty ones skipped; None when all are empty."""
    parts = [to_text(value) for value in values if not is_empty(value)]
    return separator.join(parts) if parts else None


# --- dates and times -----------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_OFFSET = timedelta(0)
_MILLISECONDS_FROM = 1e11
"""Epoch values from here up are milliseconds: 1e11 seconds is the year 5138, while 1e11
milliseconds is March 1973, earlier than any record an old system still holds."""
_EPOCH_TEXT = re.compile(r"[+-]?[0-9]{1,20}(?:\.[0-9]{1,9})?")


def parse_timestamp(value: Any, *, formats: Sequence[str] = (), zone: ZoneInfo) -> datetime:
    """A source's date and time as an aware datetime (to compare copies' ``updatedAt``).

    Its ``tzinfo`` is always a fixed ``datetime.timezone`` offset, so equal instants
    compare and hash equal even in a repeated autumn hour (PEP 495 makes a zoneinfo time
    in that hour unequal to every other zone's).

    Accepted, in this order: a ``datetime`` (naive ones are read in ``zone``, aware ones
    kept) or ``date`` (midnight in ``zone``); an int or float epoch (from ``1e11`` up it
    is milliseconds, as JavaScript's ``Date.now()`` gives, else seconds); text in ISO
    8601 with or without an offset (``Z`` too; a date alone is midnight in ``zone``);
    text matching one of ``formats`` (``strptime``, tried in order; a format with ``%z``
    keeps its offset); numeric text, as an epoch. Naive times get ``zone``'s offset
    for that moment: a repeated autumn hour means its first occurrence.

    Raises:
        TransformError: none of those, a negative or too large epoch, a local time in
            the hour ``zone`` skips in the spring, or a time outside the years 1 to
            9999 once moved to UTC.
    """
    if isinstance(value, str):
        parsed = _parse_text(value.strip(), (formats,) if isinstance(formats, str) else formats, zone)
    elif isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = _from_epoch(value, zone, value)
    else:
        raise TransformError(f"{_shown(value)} is not a date and time: {_accepted(formats)}")
    offset = parsed.utcoffset()
    if offset is None:  # naive
        parsed = _localise(parsed.replace(tzinfo=None), zone, value)
    elif type(parsed.tzinfo) is not timezone:
        # A fixed offset: PEP 495 makes a time in a repeated hour compare unequal to the
        # same instant in any other zone, which would break comparing copies' updatedAt.
        parsed = parsed.replace(tzinfo=timezone(offset), fold=0)
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise TransformError(f"{_shown(value)} falls outside the years 1 to 9999 in UTC") from None
    return parsed


def parse_datetime(value: Any, *, formats: Sequence[str] = (), zone: ZoneInfo) -> str:
    """A source's date and time as ISO 8601 with its offset (``2026-12-02T13:00:00+01:00``).

    Seconds precision, with a fraction only when the source has one; an aware source
    keeps its offset and an epoch is shown in ``zone``. What is accepted and refused is
    described in ``parse_timestamp``.
    """
    return parse_timestamp(value, formats=formats, zone=zone).isoformat()


def _parse_text(text: str, formats: Sequence[str], zone: tzinfo) -> datetime:
    """ISO 8601 first (fast), then the mapping's formats, then an epoch in digits."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for layout in formats:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    if _EPOCH_TEXT.fullmatch(text):
        number = float(text) if "." in text else int(text)
        return _from_epoch(number, zone, text)
    raise TransformError(f"{_shown(text)} is not a date and time: {_accepted(formats)}")


def _accepted(formats: Sequence[str]) -> str:
    if isinstance(formats, str):
        formats = (formats,)
    accepted = "use ISO 8601 (2026-12-02T13:00:00+01:00 or 2026-12-02), epoch seconds or milliseconds"
    if formats:
        accepted += ", or the format " + " or ".join(_shown(layout) for layout in formats)
    return accepted


def _from_epoch(number: float, zone: tzinfo, source: Any) -> datetime:
    """Seconds or milliseconds since 1970 as an aware datetime in ``zone``."""
    if math.isnan(number) or number < 0:
        raise TransformError(f"{_shown(source)} is not a time: epoch seconds or milliseconds are 0 or more")
    try:
        if number >= _MILLISECONDS_FROM:
            return (_EPOCH + timedelta(milliseconds=number)).astimezone(zone)
        return (_EPOCH + timedelta(seconds=number)).astimezone(zone)
    except OverflowError:  # past the year 9999, or infinite
        raise TransformError(
            f"{_shown(source)} is too large for epoch seconds or milliseconds (it lies after the year 9999)"
        ) from None


def _localise(naive: datetime, zone: tzinfo, source: Any) -> datetime:
    """``naive`` read as a wall-clock time in ``zone`` (a fixed offset); refused when the clocks skip it.

    PEP 495: in a skipped hour ``fold=0`` gives the offset from before the change and
    ``fold=1`` the one after, so the offset grows with ``fold``; in a repeated hour it
    shrinks. Elsewhere both are the same.
    """
    before = naive.replace(tzinfo=zone, fold=0).utcoffset() or _NO_OFFSET
    after = naive.replace(tzinfo=zone, fold=1).utcoffset() or _NO_OFFSET
    if before < after:
        name = getattr(zone, "key", None) or str(zone)
        raise TransformError(
            f"{_shown(source)} does not exist in {name}: the clocks skip that hour when "
            "daylight saving time starts (give the time with its offset)"
        )
    return naive.replace(tzinfo=timezone(before), fold=0)


# --- phone numbers -------------------------------------------------------------------

_INTERNATIONAL_00 = re.compile(r"00(?=[1-9])")
"""``00`` written before the country code, as most of Europe dials abroad."""
_PHONE_CACHE = 65_536


def normalise_phone(value: Any, *, country: str | None) -> str:
    """A phone number as E.164 (``+442078406180``), checked against the phone number plan.

    Text written with ``+`` or ``00`` before the country code needs no ``country``;
    a national number (``020 7840 6180``) is read in ``country`` (ISO 3166 alpha-2, any
    case). A number (Excel's numeric cell, which drops a leading 0) is read as national
    digits, with the trunk prefix ``0`` put back for countries that have one when only
    that makes a valid number.

    Raises:
        TransformError: not a valid number (in ``country``), a national number with no
            country, an extension (E.164 cannot hold one), or an unknown country code.
    """
    region = _region(country) if country is not None else None
    if isinstance(value, str):
        return _phone_text(value.strip(), region)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return _phone_number(value, region)
    raise TransformError(f"{_shown(value)} is not a phone number: use text such as +44 20 7840 6180")


@lru_cache(maxsize=512)
def _region(country: str) -> str:
    region = country.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise TransformError(
            f"unknown country {_shown(country)}: phone numbers need an ISO 3166 alpha-2 code such as GB or DE"
        )
    return region


@lru_cache(maxsize=_PHONE_CACHE)
def _phone_text(written: str, region: str | None) -> str:
    """Cached: the same clients arrive in each branch's copy, so numbers repeat."""
    text = written
    if not text.startswith("+"):
        if _INTERNATIONAL_00.match(text):
            text = "+" + text[2:]
        if region is None and not text.startswith("+"):
            raise TransformError(
                f"{_shown(written)} has no +country code and the mapping sets no country for "
                "national numbers: write it as +44 20 7840 6180 or set country"
            )
    number = _parse_phone(text, region)
    if number is None:
        where = f" in {region}" if region else ""
        raise TransformError(f"{_shown(written)} is not a phone number{where}")
    if number.extension:
        raise TransformError(
            f"{_shown(written)} has an extension, which E.164 cannot hold: "
            "remove it, or set keep: true to keep the text as written"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_number(digits: int, region: str | None) -> str:
    if region is None:
        raise TransformError(
            f"{digits} is a number without its +country code and the mapping sets no country: "
            "store phone numbers as text, or set country"
        )
    national = str(digits)
    candidates = [national]
    if _trunk_prefix(region) == "0":
        candidates.append("0" + national)
    for candidate in candidates:
        number = _parse_phone(candidate, region)
        if number is not None:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise TransformError(f"{digits} is not a phone number in {region}")


@lru_cache(maxsize=512)
def _trunk_prefix(region: str) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.national_prefix if metadata is not None else None


def _parse_phone(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The number ``text`` stands for when it is valid, else None."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


# --- tables, tags and numbers --------------------------------------------------------


_MISSING = object()


def map_value(value: Any, values: Mapping[str, Any]) -> Any:
    """The Branchsync value the mapping's ``values`` table gives for ``value``.

    Matched exactly on the value's text first, then stripped and case-insensitively.
    Keys the mapping file wrote as numbers or booleans match their text (``1``, ``true``).

    Raises:
        TransformError: the value is in neither; the message lists the known values.
    """
    text = to_text(value)
    if text in values:
        return values[text]
    folded = text.casefold()
    fallback: Any = _MISSING
    for key, target in values.items():
        key_text = key if isinstance(key, str) else to_text(key)
        if key_text == text:
            return target
        if fallback is _MISSING and key_text.strip().casefold() == folded:
            fallback = target
    if fallback is not _MISSING:
        return fallback
    known = [_shown(key) for key in list(values)[:_KNOWN_SHOWN]]
    more = f" and {len(values) - _KNOWN_SHOWN} more" if len(values) > _KNOWN_SHOWN else ""
    listed = ", ".join(known) + more if known else "none: the table is empty"
    raise TransformError(f"{_shown(value)} is not in the mapping's values table (known values: {listed})")


def split_tags(value: Any, *, separator: str = ";") -> list[str]:
    """Tags from a list (kept as a list) or from text split on ``separator``.

    Items are stripped; empty ones and repeats are dropped, keeping the first order
    (case-sensitive, as ``protocol.validate`` compares tags). Tag count and length are
    checked by ``protocol.validate``.

    Raises:
        TransformError: an empty ``separator``, or a list item that has no text form.
    """
    if is_empty(value):
        return []
    if isinstance(value, list | tuple):
        items = [to_text(item) for item in value if not is_empty(item)]
    else:
        if not separator:
            raise TransformError("the tags separator (split) must not be empty")
        items = to_text(value).split(separator)
    tags = dict.fromkeys(item.strip() for item in items)
    tags.pop("", None)
    return list(tags)


_INTEGER_TEXT = re.compile(r"([+-]?[0-9]{1,30})(?:[.,](0+))?(?:\s*[^\W\d_]+\.?)?")
"""A whole number, perhaps written ``45,0`` or ``45.0``, perhaps with a unit word (``45 Min.``)."""


def parse_integer(value: Any) -> int:
    """A whole number from an int, an integral float (Excel's ``45.0``) or text (``45``, ``45 min``).

    Raises:
        TransformError: a bool, a fraction, ``1.000`` (a thousands separator or three
            decimals?), or anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        match = _INTEGER_TEXT.fullmatch(value.strip())
        if match is not None:
            if match.group(2) is not None and len(match.group(2)) == 3:
                raise TransformError(
                    f"{_shown(value)} is ambiguous: a thousands separator or three decimals? "
                    "write the whole number without separators"
                )
            return int(match.group(1))
    raise TransformError(f"{_shown(value)} is not a whole number: use digits such as 45 or 45 min")
