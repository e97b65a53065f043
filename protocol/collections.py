"""The record collections, declared once for both ends.

Each collection is a tuple of typed fields with their limits. The server derives its
typed PostgreSQL columns from these, the desktop its SQLite columns, and
``protocol.validate`` its rules, so a new field is added here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["APPOINTMENTS", "CLIENTS", "COLLECTIONS", "Collection", "Field", "FieldKind"]


class FieldKind(StrEnum):
    """How a field's value is typed on the wire and stored."""

    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    UUID = "uuid"
    DATETIME = "datetime"  # ISO 8601 with a UTC offset
    INTEGER = "integer"
    CHOICE = "choice"
    TAGS = "tags"  # a list of short strings


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a collection with its limits."""

    name: str
    kind: FieldKind
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    searchable: bool = False
    """Included in full-text search on both ends."""


@dataclass(frozen=True, slots=True)
class Collection:
    """A named set of rows that share fields."""

    name: str
    fields: tuple[Field, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field | None:
        """The field called ``name``, or None when the collection has none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        return None


MAX_TAGS = 50
MAX_TAG_LENGTH = 50

CLIENTS = Collection(
    "clients",
    (
        Field("name", FieldKind.TEXT, required=True, max_length=200, searchable=True),
        Field("phone", FieldKind.PHONE, max_length=40, searchable=True),
        Field("email", FieldKind.EMAIL, max_length=254, searchable=True),
        Field("notes", FieldKind.TEXT, max_length=10_000, searchable=True),
        Field("home_branch_id", FieldKind.UUID),
        Field("tags", FieldKind.TAGS, searchable=True),
    ),
)

APPOINTMENT_STATUSES = ("booked", "done", "cancelled", "no_show")

APPOINTMENTS = Collection(
    "appointments",
    (
        Field("client_id", FieldKind.UUID, required=True),
        Field("branch_id", FieldKind.UUID),
        Field("starts_at", FieldKind.DATETIME, required=True),
        Field("duration_min", FieldKind.INTEGER, minimum=1, maximum=24 * 60),
        Field("service", FieldKind.TEXT, max_length=200, searchable=True),
        Field("status", FieldKind.CHOICE, choices=APPOINTMENT_STATUSES),
        Field("notes", FieldKind.TEXT, max_length=10_000, searchable=True),
    ),
)

COLLECTIONS: dict[str, Collection] = {c.name: c for c in (CLIENTS, APPOINTMENTS)}
