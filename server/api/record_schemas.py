"""In/Out schemas of the REST resources, made from the protocol's collections.

A field is declared once, in ``protocol.collections``; these models only describe it
for ``/docs``. The *In* models accept any JSON value for each field on purpose: the
values are then checked by ``protocol.validate`` on the write path, the same rules a
push obeys, so an integration gets the same ``{code, message, field}`` as a branch
(a pydantic type error would say less and carry no ``field``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, JsonValue, WithJsonSchema, create_model

from protocol.collections import MAX_TAG_LENGTH, MAX_TAGS, Collection, Field, FieldKind
from protocol.validate import BLANK_PATTERN, NOT_BLANK_PATTERN, PHONE_PATTERN

__all__ = ["RecordSchemas", "record_schemas"]

_ANY_ID: Any = Annotated[
    Any, WithJsonSchema({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]})
]
"""A create's optional ``id``: checked by ``protocol.validate`` like every field; null (or
none given) lets the server make one."""

_FORMATS = {FieldKind.EMAIL: "email", FieldKind.UUID: "uuid", FieldKind.DATETIME: "date-time"}

_BLANK = {"type": "string", "pattern": BLANK_PATTERN}
"""Blank text, which ``protocol.validate`` reads as no value: it clears an optional field
(as null does) and is refused for a required one."""


@dataclass(frozen=True, slots=True)
class RecordSchemas:
    """The models of one collection's resource."""

    create: type[BaseModel]
    patch: type[BaseModel]
    out: type[BaseModel]
    page: type[BaseModel]


def _json_schema(spec: Field) -> dict[str, Any]:
    """What a value of ``spec`` looks like on the wire, for the OpenAPI document."""
    schema: dict[str, Any]
    if spec.kind is FieldKind.INTEGER:
        schema = {"type": "integer", "minimum": spec.minimum, "maximum": spec.maximum}
    elif spec.kind is FieldKind.TAGS:
        item = {"type": "string", "maxLength": MAX_TAG_LENGTH}
        # no maxItems: the limit counts the tags left once blank and repeated ones are dropped
        described = f"At most {MAX_TAGS} tags once blank and repeated ones are dropped."
        schema = {"type": "array", "items": item, "description": described}
    else:
        schema = {"type": "string", "format": _FORMATS.get(spec.kind), "maxLength": spec.max_length}
        if spec.choices:
            schema["enum"] = list(spec.choices)
        if spec.kind is FieldKind.PHONE:
            schema["pattern"] = PHONE_PATTERN
    return {key: value for key, value in schema.items() if value is not None}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _accepted(spec: Field) -> dict[str, Any]:
    """What a create or patch accepts for ``spec``: blank or null clear an optional field
    (a list of tags has no blank form); a required one needs a value that is not blank."""
    schema = _json_schema(spec)
    if spec.required:
        return {**schema, "pattern": NOT_BLANK_PATTERN}
    if spec.kind is FieldKind.TAGS:
        return _nullable(schema)
    return {"anyOf": [schema, _BLANK, {"type": "null"}]}


def _given_type(spec: Field) -> Any:
    return Annotated[Any, WithJsonSchema(_accepted(spec))]


def _stored_type(spec: Field) -> Any:
    return Annotated[Any, WithJsonSchema(_nullable(_json_schema(spec)))]


def _title(collection: Collection) -> str:
    return collection.name.removesuffix("s").capitalize()


def _fields(collection: Collection, *, stored: bool) -> dict[str, Any]:
    """``create_model`` definitions of the collection's fields, each defaulting to None:
    as a create or patch gives them, or as they are stored (any of them may be null)."""
    field_type = _stored_type if stored else _given_type
    return {spec.name: (field_type(spec), None) for spec in collection.fields}


def record_schemas(collection: Collection) -> RecordSchemas:
    """Build the Create/Patch/Out/Page models of ``collection`` (e.g. ``ClientCreate``)."""
    title = _title(collection)
    required: list[JsonValue] = [spec.name for spec in collection.fields if spec.required]
    given: dict[str, Any] = _fields(collection, stored=False)
    create = create_model(
        f"{title}Create",
        __config__=ConfigDict(
            extra="allow", json_schema_extra={"required": required, "additionalProperties": False}
        ),
        __doc__=f"A new {title.lower()}; the server makes the id unless one is given.",
        id=(_ANY_ID, None),
        **given,
    )
    patch = create_model(
        f"{title}Patch",
        __config__=ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False}),
        __doc__="The fields to change; null clears an optional field, absent ones stay.",
        **given,
    )
    stored: dict[str, Any] = _fields(collection, stored=True)
    out = create_model(
        f"{title}Out",
        __doc__=f"A {title.lower()} as stored now, with who changed it last and its change number.",
        id=(uuid.UUID, ...),
        **stored,
        deleted=(bool, ...),
        seq=(int, ...),
        updated_at=(datetime, ...),
        updated_by_device=(uuid.UUID | None, None),
        updated_by_branch=(uuid.UUID | None, None),
    )
    items: Any = list[out]  # type: ignore[valid-type]
    page = create_model(
        f"{title}Page",
        __doc__=f"One page of {collection.name}, ordered by change number.",
        items=(items, ...),
        total=(int, ...),
        limit=(int, ...),
        offset=(int, ...),
    )
    return RecordSchemas(create=create, patch=patch, out=out, page=page)
