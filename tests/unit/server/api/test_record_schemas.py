"""The REST resources' documented field schemas read blank values as ``protocol.validate``
does: a blank value clears an optional field and is refused for a required one (found by
the schema fuzz, tests/integration/server/api/test_schema_fuzz.py)."""

from __future__ import annotations

import jsonschema_rs
import pytest

from protocol.collections import CLIENTS, COLLECTIONS, FieldKind
from protocol.validate import validate_value
from server.api.record_schemas import record_schemas


def _accepts(schema: dict[str, object], value: object) -> bool:
    return bool(jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value))


FIELDS = [(collection, spec) for collection in COLLECTIONS.values() for spec in collection.fields]


@pytest.mark.parametrize(
    "blank", ["", "  ", "\t\n", "\x1c", "\u3000"], ids=["empty", "spaces", "tab-newline", "x1c", "u3000"]
)
@pytest.mark.parametrize(("collection", "spec"), FIELDS, ids=[f"{c.name}.{s.name}" for c, s in FIELDS])
def test_a_blank_value_is_documented_as_it_is_validated(collection, spec, blank: str) -> None:  # type: ignore[no-untyped-def]
    documented = record_schemas(collection).create.model_json_schema()["properties"][spec.name]

    _, error = validate_value(spec, blank)

    assert _accepts(documented, blank) == (error is None)


@pytest.mark.parametrize(("collection", "spec"), FIELDS, ids=[f"{c.name}.{s.name}" for c, s in FIELDS])
def test_null_is_documented_for_optional_fields_only(collection, spec) -> None:  # type: ignore[no-untyped-def]
    documented = record_schemas(collection).create.model_json_schema()["properties"][spec.name]

    assert _accepts(documented, None) == (not spec.required)


def test_the_kinds_are_all_covered() -> None:
    assert {spec.kind for _, spec in FIELDS} == set(FieldKind)


@pytest.mark.parametrize("collection", COLLECTIONS.values(), ids=COLLECTIONS)
def test_a_create_documents_null_as_no_id_and_refuses_a_blank_one(collection) -> None:  # type: ignore[no-untyped-def]
    documented = record_schemas(collection).create.model_json_schema()["properties"]["id"]

    assert _accepts(documented, None)  # the server makes one, as when it is absent
    assert _accepts(documented, "0b7e8a4e-62a5-4c6e-9b8f-2a8f4d1f3c10")
    assert not _accepts(documented, "")


ACCEPTED_PHONES = ["\x1c+44 20 7946 0958\u3000", "+44 20 7946 0958", " (020) 7946-0958 ", "020/794.60", "123"]
REFUSED_PHONES = ["\ufeff123", "12", "call me", "(-)/.", "«à𩨥z", "1 2"]


@pytest.mark.parametrize("phone", ACCEPTED_PHONES + REFUSED_PHONES)
def test_a_phone_number_is_documented_as_it_is_validated(phone: str) -> None:
    """Found by the schema fuzz: the document said any text of up to 40 characters."""
    spec = CLIENTS.field("phone")
    assert spec is not None
    documented = record_schemas(CLIENTS).create.model_json_schema()["properties"]["phone"]

    _, error = validate_value(spec, phone)

    assert _accepts(documented, phone) == (error is None)


def test_tags_are_documented_as_counted_once_blank_and_repeated_ones_are_dropped() -> None:
    """Found by the schema fuzz: 60 tags of which 10 are distinct are fine, as 50 distinct ones."""
    spec = CLIENTS.field("tags")
    assert spec is not None
    documented = record_schemas(CLIENTS).create.model_json_schema()["properties"]["tags"]
    repeated = ["vip", "", "late"] * 30

    _, error = validate_value(spec, repeated)

    assert error is None and _accepts(documented, repeated)
