"""Field validation shared by the server (authoritative) and the desktop (early, inline).

Validation normalises as it checks (trims text, canonicalises datetimes to UTC ISO
8601), so both ends store byte-identical values and merges compare equal values as
equal. It never raises on bad input: it returns typed ``FieldError`` values.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from protocol.collections import MAX_TAG_LENGTH, MAX_TAGS, Collection, Field, FieldKind
from protocol.errors import ErrorCode, FieldError

__all__ = [
    "BLANK_PATTERN",
    "NOT_BLANK_PATTERN",
    "PHONE_PATTERN",
    "UNSTORABLE",
    "WHITE_SPACE",
    "normalise_datetime",
    "printable",
    "validate_fields",
    "validate_value",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WHITE_SPACE = r"[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""The characters ``str.strip`` removes, as a regular expression class that JSON Schema
(ECMA-262), Python and Rust read alike; their ``\\s`` each mean a different set."""
BLANK_PATTERN = f"^{WHITE_SPACE}*$"
"""Blank text, which validation reads as no value (the OpenAPI document's pattern)."""
NOT_BLANK_PATTERN = WHITE_SPACE.replace("[", "[^", 1)
"""Text with something in it besides white space (a pattern found anywhere in the text)."""
PHONE_PATTERN = rf"^{WHITE_SPACE}*\+?[ ()./-]*(?:[0-9][ ()./-]*){{3,}}{WHITE_SPACE}*$"
"""A phone number: an optional ``+``, then at least three digits among spaces, brackets,
dots, slashes and dashes; blank around it is trimmed. Also the OpenAPI document's
``pattern``, so what the document allows and what is accepted cannot drift apart."""
_PHONE = re.compile(PHONE_PATTERN)
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL text refuses it) and lone surrogates (not encodable as UTF-8)."""
_SHOWN = 80


def validate_fields(
    collection: Collection, fields: Mapping[str, Any], *, creating: bool = False
) -> tuple[dict[str, Any], list[FieldError]]:
    """Check and normalise ``fields`` against ``collection``.

    Args:
        collection: the collection the fields belong to.
        fields: field name -> wire value; a partial set (an edit) is fine.
        creating: the row does not exist yet, so required fields must be present.

    Returns:
        The normalised fields and the list of errors (empty when all are valid).
    """
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in fields.items():
        spec = collection.field(name)
        if spec is None:
            message = f"{collection.name} has no field {_shown(name)}"
            errors.append(FieldError(ErrorCode.UNKNOWN_FIELD, name, message))
            continue
        normalised, error = validate_value(spec, value)
        if error is not None:
            errors.append(error)
        else:
            clean[name] = normalised
    if creating:
        for spec in collection.fields:
            if spec.required and spec.name not in fields:
                errors.append(FieldError(ErrorCode.REQUIRED, spec.name, f"{spec.name} is required"))
    return clean, errors


def validate_value(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    """Normalise one value, or say why it is refused. ``None`` clears an optional field."""
    if value is None or (isinstance(value, str) and not value.strip() and spec.kind != FieldKind.TAGS):
        if spec.required:
            return None, FieldError(ErrorCode.REQUIRED, spec.name, f"{spec.name} is required")
        return None, None
    checker = _CHECKERS[spec.kind]
    return checker(spec, value)


def printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with NUL and lone surrogates made U+FFFD.

    For client-supplied text that goes back into an answer or a log table: JSON and
    PostgreSQL must be able to encode it, and a huge input must not be echoed whole.
    """
    return UNSTORABLE.sub("\ufffd", text[:limit])


def _error(code: ErrorCode, spec: Field, message: str) -> tuple[Any, FieldError]:
    return None, FieldError(code, spec.name, message)


def _shown(value: Any) -> str:
    """``value`` quoted for an error message, cut short so a huge input is not echoed back."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"


def _unstorable(spec: Field) -> tuple[Any, FieldError | None]:
    return _error(ErrorCode.INVALID_TYPE, spec, f"{spec.name} contains a NUL or an unpaired surrogate")


def _text(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    if not isinstance(value, str):
        return _error(ErrorCode.INVALID_TYPE, spec, f"{spec.name} must be text")
    if UNSTORABLE.search(value):
        return _unstorable(spec)
    text = value.strip()
    if spec.max_length is not None and len(text) > spec.max_length:
        return _error(ErrorCode.TOO_LONG, spec, f"{spec.name} is longer than {spec.max_length} characters")
    return text, None


def _email(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    text, error = _text(spec, value)
    if error is not None:
        return None, error
    if not _EMAIL.match(text):
        return _error(ErrorCode.INVALID_EMAIL, spec, f"{text!r} is not an email address")
    return text, None


def _phone(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    text, error = _text(spec, value)
    if error is not None:
        return None, error
    if not _PHONE.match(text):
        return _error(ErrorCode.INVALID_PHONE, spec, f"{text!r} is not a phone number")
    return text, None


def _uuid(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    if not isinstance(value, str):
        return _error(ErrorCode.INVALID_TYPE, spec, f"{spec.name} must be an id")
    try:
        return str(uuid.UUID(value.strip())), None
    except ValueError:
        return _error(ErrorCode.INVALID_UUID, spec, f"{spec.name} {_shown(value)} is not a valid id")


class _PastTheCalendar(ValueError):
    """ISO 8601 with an offset, but before the year 1 or after 9999 once moved to UTC."""


def normalise_datetime(value: str) -> str:
    """ISO 8601 with an offset -> canonical UTC text (``2026-01-02T09:30:00+00:00``).

    Raises:
        ValueError: the text is not ISO 8601, has no UTC offset, or falls outside
            the years 1-9999 once moved to UTC.
    """
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("datetime needs a UTC offset")
    try:
        return parsed.astimezone(UTC).isoformat()
    except OverflowError as exc:
        raise _PastTheCalendar("datetime is out of range in UTC") from exc


def _datetime(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    if not isinstance(value, str):
        return _error(ErrorCode.INVALID_TYPE, spec, f"{spec.name} must be ISO 8601 text")
    try:
        return normalise_datetime(value), None
    except _PastTheCalendar:
        message = f"{spec.name} {_shown(value)} falls outside the years 1 to 9999 in UTC"
        return _error(ErrorCode.INVALID_DATETIME, spec, message)
    except ValueError:
        return _error(
            ErrorCode.INVALID_DATETIME,
            spec,
            f"{spec.name} {_shown(value)} is not an ISO 8601 date and time with an offset",
        )


def _as_integer(value: Any) -> int | None:
    """An int (not a bool) or ASCII decimal text as an int; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        try:
            return int(value.strip())
        except ValueError:  # more digits than Python will convert
            return None
    return None


def _integer(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    number = _as_integer(value)
    if number is None:
        return _error(ErrorCode.INVALID_TYPE, spec, f"{spec.name} must be a whole number")
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        return _error(
            ErrorCode.OUT_OF_RANGE, spec, f"{spec.name} must be between {spec.minimum} and {spec.maximum}"
        )
    return number, None


def _choice(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    if not isinstance(value, str) or value.strip() not in spec.choices:
        return _error(ErrorCode.INVALID_CHOICE, spec, f"{spec.name} must be one of {', '.join(spec.choices)}")
    return value.strip(), None


def _tags(spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        return _error(ErrorCode.INVALID_TYPE, spec, f"{spec.name} must be a list of text")
    tags: list[str] = []
    for tag in value:
        if UNSTORABLE.search(tag):
            return _unstorable(spec)
        tag = tag.strip()
        if len(tag) > MAX_TAG_LENGTH:
            message = f"tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH} characters"
            return _error(ErrorCode.TOO_LONG, spec, message)
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        return _error(ErrorCode.OUT_OF_RANGE, spec, f"at most {MAX_TAGS} tags")
    return tags, None


_CHECKERS = {
    FieldKind.TEXT: _text,
    FieldKind.EMAIL: _email,
    FieldKind.PHONE: _phone,
    FieldKind.UUID: _uuid,
    FieldKind.DATETIME: _datetime,
    FieldKind.INTEGER: _integer,
    FieldKind.CHOICE: _choice,
    FieldKind.TAGS: _tags,
}
