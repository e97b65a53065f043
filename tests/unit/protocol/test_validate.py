"""Field validation: every kind, every error code, normalisation, create vs edit."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from protocol import APPOINTMENTS, CLIENTS, COLLECTIONS, Collection, ErrorCode, FieldError, validate_fields
from protocol.collections import MAX_TAG_LENGTH, MAX_TAGS
from protocol.validate import BLANK_PATTERN, NOT_BLANK_PATTERN, WHITE_SPACE, normalise_datetime, printable
from tests.unit.protocol.strategies import FAST

UUID = "12345678-1234-5678-1234-567812345678"
HUGE = "9" * 5000

FIELD_CODES = {
    ErrorCode.REQUIRED,
    ErrorCode.TOO_LONG,
    ErrorCode.INVALID_TYPE,
    ErrorCode.INVALID_EMAIL,
    ErrorCode.INVALID_PHONE,
    ErrorCode.INVALID_DATETIME,
    ErrorCode.INVALID_UUID,
    ErrorCode.INVALID_CHOICE,
    ErrorCode.OUT_OF_RANGE,
    ErrorCode.UNKNOWN_FIELD,
}
"""The codes field validation may produce (the 'field validation' group of ErrorCode)."""

REFUSED: list[tuple[Collection, str, Any, ErrorCode]] = [
    # text
    (CLIENTS, "name", 42, ErrorCode.INVALID_TYPE),
    (CLIENTS, "name", ["Ada"], ErrorCode.INVALID_TYPE),
    (CLIENTS, "name", "x" * 201, ErrorCode.TOO_LONG),
    (CLIENTS, "name", "", ErrorCode.REQUIRED),
    (CLIENTS, "name", " \t\n ", ErrorCode.REQUIRED),
    (CLIENTS, "name", None, ErrorCode.REQUIRED),
    (CLIENTS, "name", "Ada\x00Lovelace", ErrorCode.INVALID_TYPE),
    (CLIENTS, "notes", "half a pair \ud800", ErrorCode.INVALID_TYPE),
    (CLIENTS, "notes", "n" * 10_001, ErrorCode.TOO_LONG),
    (APPOINTMENTS, "service", "s" * 201, ErrorCode.TOO_LONG),
    # email
    (CLIENTS, "email", "ada.example.com", ErrorCode.INVALID_EMAIL),
    (CLIENTS, "email", "ada@example", ErrorCode.INVALID_EMAIL),
    (CLIENTS, "email", "ada lovelace@example.com", ErrorCode.INVALID_EMAIL),
    (CLIENTS, "email", "ada@@example.com", ErrorCode.INVALID_EMAIL),
    (CLIENTS, "email", 7, ErrorCode.INVALID_TYPE),
    (CLIENTS, "email", "a" * 250 + "@b.co", ErrorCode.TOO_LONG),
    # phone
    (CLIENTS, "phone", "12", ErrorCode.INVALID_PHONE),
    (CLIENTS, "phone", "call me", ErrorCode.INVALID_PHONE),
    (CLIENTS, "phone", "+44 20 CALL", ErrorCode.INVALID_PHONE),
    (CLIENTS, "phone", "(-)/.", ErrorCode.INVALID_PHONE),
    (CLIENTS, "phone", 442079460958, ErrorCode.INVALID_TYPE),
    (CLIENTS, "phone", "1" * 41, ErrorCode.TOO_LONG),
    # uuid
    (CLIENTS, "home_branch_id", "north", ErrorCode.INVALID_UUID),
    (CLIENTS, "home_branch_id", UUID[:-1], ErrorCode.INVALID_UUID),
    (CLIENTS, "home_branch_id", 123, ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "client_id", "", ErrorCode.REQUIRED),
    (APPOINTMENTS, "client_id", None, ErrorCode.REQUIRED),
    (APPOINTMENTS, "client_id", "not-an-id", ErrorCode.INVALID_UUID),
    # datetime
    (APPOINTMENTS, "starts_at", "2026-01-02T09:30:00", ErrorCode.INVALID_DATETIME),
    (APPOINTMENTS, "starts_at", "2026-01-02", ErrorCode.INVALID_DATETIME),
    (APPOINTMENTS, "starts_at", "tomorrow at ten", ErrorCode.INVALID_DATETIME),
    (APPOINTMENTS, "starts_at", "2026-02-30T09:30:00+00:00", ErrorCode.INVALID_DATETIME),
    (APPOINTMENTS, "starts_at", "0001-01-01T00:30:00+01:00", ErrorCode.INVALID_DATETIME),
    (APPOINTMENTS, "starts_at", "9999-12-31T23:30:00-01:00", ErrorCode.INVALID_DATETIME),
    (APPOINTMENTS, "starts_at", 1_767_346_200, ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "starts_at", None, ErrorCode.REQUIRED),
    # integer
    (APPOINTMENTS, "duration_min", 0, ErrorCode.OUT_OF_RANGE),
    (APPOINTMENTS, "duration_min", 24 * 60 + 1, ErrorCode.OUT_OF_RANGE),
    (APPOINTMENTS, "duration_min", "-5", ErrorCode.OUT_OF_RANGE),
    (APPOINTMENTS, "duration_min", 10**40, ErrorCode.OUT_OF_RANGE),
    (APPOINTMENTS, "duration_min", True, ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "duration_min", 30.0, ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "duration_min", 1.5, ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "duration_min", "thirty", ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "duration_min", "--5", ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "duration_min", "3-0", ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "duration_min", "²", ErrorCode.INVALID_TYPE),
    (APPOINTMENTS, "duration_min", HUGE, ErrorCode.INVALID_TYPE),
    # choice
    (APPOINTMENTS, "status", "maybe", ErrorCode.INVALID_CHOICE),
    (APPOINTMENTS, "status", "BOOKED", ErrorCode.INVALID_CHOICE),
    (APPOINTMENTS, "status", 1, ErrorCode.INVALID_CHOICE),
    # tags
    (CLIENTS, "tags", "vip", ErrorCode.INVALID_TYPE),
    (CLIENTS, "tags", "", ErrorCode.INVALID_TYPE),
    (CLIENTS, "tags", ("vip",), ErrorCode.INVALID_TYPE),
    (CLIENTS, "tags", ["vip", 3], ErrorCode.INVALID_TYPE),
    (CLIENTS, "tags", ["vip\x00"], ErrorCode.INVALID_TYPE),
    (CLIENTS, "tags", ["t" * (MAX_TAG_LENGTH + 1)], ErrorCode.TOO_LONG),
    (CLIENTS, "tags", [f"t{i}" for i in range(MAX_TAGS + 1)], ErrorCode.OUT_OF_RANGE),
    # unknown
    (CLIENTS, "colour", "blue", ErrorCode.UNKNOWN_FIELD),
    (CLIENTS, "_deleted", True, ErrorCode.UNKNOWN_FIELD),
    (CLIENTS, "id", UUID, ErrorCode.UNKNOWN_FIELD),
    (APPOINTMENTS, "name", "Ada", ErrorCode.UNKNOWN_FIELD),
]

ACCEPTED: list[tuple[Collection, str, Any, Any]] = [
    # text: trimmed, length counted after trimming, inner whitespace kept
    (CLIENTS, "name", "  Ada Lovelace \n", "Ada Lovelace"),
    (CLIENTS, "name", "x" * 200, "x" * 200),
    (CLIENTS, "name", "  " + "x" * 200 + "  ", "x" * 200),
    (CLIENTS, "name", "Zoë Ñúñez 山田", "Zoë Ñúñez 山田"),
    (CLIENTS, "notes", "line 1\n\tline 2", "line 1\n\tline 2"),
    (CLIENTS, "notes", "   ", None),
    (APPOINTMENTS, "service", " cut ", "cut"),
    # email and phone
    (CLIENTS, "email", " ada@example.com ", "ada@example.com"),
    (CLIENTS, "email", "a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
    (CLIENTS, "phone", " +44 (0)20 7946-0958 ", "+44 (0)20 7946-0958"),
    (CLIENTS, "phone", "555.123.4567", "555.123.4567"),
    # uuid: any form uuid.UUID reads, stored canonical
    (CLIENTS, "home_branch_id", UUID.upper(), UUID),
    (CLIENTS, "home_branch_id", "{" + UUID + "}", UUID),
    (CLIENTS, "home_branch_id", UUID.replace("-", ""), UUID),
    (APPOINTMENTS, "client_id", f" {UUID} ", UUID),
    # datetime: canonical UTC
    (APPOINTMENTS, "starts_at", "2026-01-02T10:30:00+01:00", "2026-01-02T09:30:00+00:00"),
    (APPOINTMENTS, "starts_at", "2026-01-02T09:30:00Z", "2026-01-02T09:30:00+00:00"),
    (APPOINTMENTS, "starts_at", " 2026-01-02T04:30:00-05:00 ", "2026-01-02T09:30:00+00:00"),
    (APPOINTMENTS, "starts_at", "2026-01-01T23:30:00-10:00", "2026-01-02T09:30:00+00:00"),
    (APPOINTMENTS, "starts_at", "2026-01-02 09:30+00:00", "2026-01-02T09:30:00+00:00"),
    (APPOINTMENTS, "starts_at", "2026-01-02T09:30:00.000+00:00", "2026-01-02T09:30:00+00:00"),
    (APPOINTMENTS, "starts_at", "2026-01-02T09:30:00.25+00:00", "2026-01-02T09:30:00.250000+00:00"),
    # integer: bounds inclusive, decimal text read
    (APPOINTMENTS, "duration_min", 1, 1),
    (APPOINTMENTS, "duration_min", 24 * 60, 24 * 60),
    (APPOINTMENTS, "duration_min", " 45 ", 45),
    (APPOINTMENTS, "duration_min", "045", 45),
    # choice
    (APPOINTMENTS, "status", " no_show ", "no_show"),
    # tags: trimmed, blanks dropped, de-duplicated in first-seen order
    (CLIENTS, "tags", [" vip ", "new", "vip", "", "   ", "new "], ["vip", "new"]),
    (CLIENTS, "tags", [], []),
    (CLIENTS, "tags", ["t" * MAX_TAG_LENGTH], ["t" * MAX_TAG_LENGTH]),
    (CLIENTS, "tags", [f"t{i % MAX_TAGS}" for i in range(3 * MAX_TAGS)], [f"t{i}" for i in range(MAX_TAGS)]),
]

OPTIONAL = [(c, f.name) for c in COLLECTIONS.values() for f in c.fields if not f.required]
REQUIRED = [(c, f.name) for c in COLLECTIONS.values() for f in c.fields if f.required]


def _ids(case: tuple[Any, ...]) -> str:
    return f"{case[0].name}.{case[1]}={case[2]!r:.30}"


@pytest.mark.parametrize("case", REFUSED, ids=_ids)
def test_refused_value_gives_one_error_and_no_clean_value(
    case: tuple[Collection, str, Any, ErrorCode],
) -> None:
    collection, name, value, code = case
    clean, errors = validate_fields(collection, {name: value})
    assert [(e.code, e.field) for e in errors] == [(code, name)]
    assert name not in clean
    assert errors[0].message


def test_refusals_cover_every_field_code() -> None:
    assert {code for *_, code in REFUSED} == FIELD_CODES


@pytest.mark.parametrize("case", ACCEPTED, ids=_ids)
def test_accepted_value_is_normalised(case: tuple[Collection, str, Any, Any]) -> None:
    collection, name, value, expected = case
    assert validate_fields(collection, {name: value}) == ({name: expected}, [])


@pytest.mark.parametrize("case", ACCEPTED, ids=_ids)
def test_normalised_value_validates_to_itself(case: tuple[Collection, str, Any, Any]) -> None:
    collection, name, _, expected = case
    assert validate_fields(collection, {name: expected}) == ({name: expected}, [])


@pytest.mark.parametrize(("collection", "name"), OPTIONAL, ids=lambda v: getattr(v, "name", v))
def test_none_clears_an_optional_field(collection: Collection, name: str) -> None:
    assert validate_fields(collection, {name: None}) == ({name: None}, [])


@pytest.mark.parametrize(("collection", "name"), REQUIRED, ids=lambda v: getattr(v, "name", v))
@pytest.mark.parametrize("blank", [None, "", "   "])
def test_required_field_refuses_none_and_blank_on_edit_and_create(
    collection: Collection, name: str, blank: Any
) -> None:
    for creating in (False, True):
        clean, errors = validate_fields(collection, {name: blank}, creating=creating)
        assert name not in clean
        assert [e for e in errors if e.field == name] == [
            FieldError(ErrorCode.REQUIRED, name, f"{name} is required")
        ]


def test_required_fields_are_the_documented_ones() -> None:
    assert REQUIRED == [(CLIENTS, "name"), (APPOINTMENTS, "client_id"), (APPOINTMENTS, "starts_at")]


@pytest.mark.parametrize(
    ("collection", "missing"),
    [(CLIENTS, ["name"]), (APPOINTMENTS, ["client_id", "starts_at"])],
    ids=["clients", "appointments"],
)
def test_creating_needs_every_required_field(collection: Collection, missing: list[str]) -> None:
    clean, errors = validate_fields(collection, {"notes": "first visit"}, creating=True)
    assert clean == {"notes": "first visit"}
    assert [(e.code, e.field) for e in errors] == [(ErrorCode.REQUIRED, name) for name in missing]


def test_editing_may_leave_required_fields_out() -> None:
    assert validate_fields(APPOINTMENTS, {"status": "done"}) == ({"status": "done"}, [])
    assert validate_fields(CLIENTS, {}) == ({}, [])


def test_complete_create_is_accepted() -> None:
    fields = {"client_id": UUID, "starts_at": "2026-03-01T08:00:00+02:00", "duration_min": 30}
    clean, errors = validate_fields(APPOINTMENTS, fields, creating=True)
    assert errors == []
    assert clean == {"client_id": UUID, "starts_at": "2026-03-01T06:00:00+00:00", "duration_min": 30}


def test_create_with_an_invalid_required_field_reports_it_once() -> None:
    clean, errors = validate_fields(APPOINTMENTS, {"client_id": UUID, "starts_at": "soon"}, creating=True)
    assert clean == {"client_id": UUID}
    assert [(e.code, e.field) for e in errors] == [(ErrorCode.INVALID_DATETIME, "starts_at")]


def test_bad_fields_do_not_hide_good_ones() -> None:
    fields = {"name": " Ada ", "email": "nope", "colour": "blue", "tags": ["vip"], "phone": "12"}
    clean, errors = validate_fields(CLIENTS, fields)
    assert clean == {"name": "Ada", "tags": ["vip"]}
    assert {(e.code, e.field) for e in errors} == {
        (ErrorCode.INVALID_EMAIL, "email"),
        (ErrorCode.UNKNOWN_FIELD, "colour"),
        (ErrorCode.INVALID_PHONE, "phone"),
    }


def test_validation_does_not_touch_its_input() -> None:
    tags = [" vip ", "vip"]
    fields = {"name": " Ada ", "tags": tags}
    validate_fields(CLIENTS, fields)
    assert fields == {"name": " Ada ", "tags": tags}
    assert tags == [" vip ", "vip"]


@pytest.mark.parametrize(
    ("collection", "name", "value"),
    [
        (APPOINTMENTS, "starts_at", HUGE),
        (APPOINTMENTS, "client_id", HUGE),
        (CLIENTS, "x" * 5000, 1),
    ],
    ids=["datetime", "uuid", "unknown-field"],
)
def test_error_messages_do_not_echo_huge_input(collection: Collection, name: str, value: Any) -> None:
    _, errors = validate_fields(collection, {name: value})
    assert len(errors) == 1
    assert len(errors[0].message) < 200


def test_normalise_datetime_raises_value_error_on_bad_text() -> None:
    for text in ("2026-01-02T09:30:00", "nonsense", "0001-01-01T00:00:00+00:01"):
        with pytest.raises(ValueError):
            normalise_datetime(text)


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@FAST
@given(moment=st.datetimes(timezones=offsets))
@example(moment=datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))
@example(moment=datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))))
def test_any_aware_datetime_is_stored_as_the_same_instant_in_utc(moment: datetime) -> None:
    clean, errors = validate_fields(APPOINTMENTS, {"starts_at": moment.isoformat()})
    if errors:  # only the ends of the calendar, pushed past year 1 or 9999 by the offset
        assert [e.code for e in errors] == [ErrorCode.INVALID_DATETIME]
        assert moment.year in (1, 9999)
        return
    stored = clean["starts_at"]
    assert stored.endswith("+00:00")
    assert datetime.fromisoformat(stored) == moment
    assert validate_fields(APPOINTMENTS, {"starts_at": stored}) == (clean, [])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
nasty_text = st.text(st.characters() | st.sampled_from(["\x00", "\udc80", " ", "@", ".", "-", "5"]))
fields_of_any_collection = st.sampled_from([(c, f.name) for c in COLLECTIONS.values() for f in c.fields])


@FAST
@given(target=fields_of_any_collection, value=json_values | nasty_text | st.lists(nasty_text))
@example(target=(CLIENTS, "email"), value="ada\x00@example.com")
@example(target=(APPOINTMENTS, "duration_min"), value="²")
def test_any_wire_value_is_either_cleaned_or_refused_never_raises(
    target: tuple[Collection, str], value: Any
) -> None:
    collection, name = target
    clean, errors = validate_fields(collection, {name: value})
    assert (name in clean) != bool(errors)
    assert len(errors) <= 1
    assert {e.code for e in errors} <= FIELD_CODES
    if name in clean:
        # what passes can be stored: JSON, UTF-8, no NUL; and validating it again changes nothing
        encoded = json.dumps(clean[name], ensure_ascii=False).encode("utf-8")
        assert b"\\u0000" not in encoded
        assert validate_fields(collection, {name: clean[name]}) == (clean, [])


def test_printable_cuts_and_replaces_what_json_and_postgresql_cannot_hold() -> None:
    assert printable("ok\x00\udfffend", 100) == "ok\ufffd\ufffdend"
    assert printable("x" * 300_000, 100) == "x" * 100
    printable("\udfff" * 3, 2).encode("utf-8")  # encodable: no UnicodeEncodeError


def test_the_white_space_of_the_patterns_is_what_strip_removes() -> None:
    """JSON Schema's, Python's and Rust's ``\\s`` differ (``\\x1c`` is white space to Python
    only, ``\\ufeff`` to JSON Schema only): the documented patterns name the set themselves.
    Found by the schema fuzz: an enrolment named ``"\\x1c"`` was documented valid."""
    class_ = re.compile(WHITE_SPACE)
    every = [chr(code) for code in range(sys.maxunicode + 1)]

    assert [ch for ch in every if class_.fullmatch(ch)] == [ch for ch in every if ch.isspace()]
    assert [bool(re.search(NOT_BLANK_PATTERN, text)) for text in ("\x1c\u3000 ", " x ", "\ufeff")] == [
        False,
        True,
        True,
    ]
    assert [bool(re.search(BLANK_PATTERN, text)) for text in ("", "\x1c\u3000 \n", " x ")] == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize("text", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_datetime_past_the_calendar_in_utc_is_refused_in_words_that_say_so(text: str) -> None:
    """It is ISO 8601 with an offset; what is wrong is its year once moved to UTC (seen in the
    schema fuzz: the answer said it was not ISO 8601)."""
    _, errors = validate_fields(APPOINTMENTS, {"starts_at": text})

    assert [(e.code, e.message) for e in errors] == [
        (ErrorCode.INVALID_DATETIME, f"starts_at {text!r} falls outside the years 1 to 9999 in UTC")
    ]
