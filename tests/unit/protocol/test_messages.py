"""Wire messages: strict requests, lenient answers, server frames."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jsonschema_rs
import pydantic
import pytest

from protocol import MAX_MUTATIONS_PER_PUSH, Row, Timestamp, merge, mutation_row
from protocol.messages import (
    Change,
    ChangesFrame,
    EnrollRequest,
    ErrorBody,
    HelloFrame,
    Mutation,
    MutationResult,
    PushRequest,
    ResyncFrame,
    StatusFrame,
    parse_server_frame,
)

HLC = str(Timestamp(1_767_346_200_000, 0, "dev-a"))
ROW_ID = "5b1f0e4c-9d4e-4a57-8a8e-2f3c1d0b9a77"


def mutation(**overrides: Any) -> dict[str, Any]:
    body = {
        "id": str(uuid.uuid4()),
        "collection": "clients",
        "row_id": ROW_ID,
        "op": "upsert",
        "fields": {"name": "Ada"},
        "hlc": HLC,
    }
    return body | overrides


def change(seq: int) -> dict[str, Any]:
    row = merge(Row(), mutation_row("upsert", {"name": "Ada", "tags": ["vip"]}, HLC)).row
    return {
        "seq": seq,
        "collection": "clients",
        "row_id": ROW_ID,
        "fields": dict(row.fields),
        "clocks": dict(row.clocks),
        "deleted": row.deleted,
    }


def error_types(caught: pytest.ExceptionInfo[pydantic.ValidationError]) -> set[str]:
    return {error["type"] for error in caught.value.errors()}


# ---- push ------------------------------------------------------------------------


def test_push_request_takes_up_to_the_limit() -> None:
    request = PushRequest.model_validate({"mutations": [mutation() for _ in range(MAX_MUTATIONS_PER_PUSH)]})
    assert len(request.mutations) == MAX_MUTATIONS_PER_PUSH == 500
    assert isinstance(request.mutations[0].row_id, uuid.UUID)


def test_push_request_refuses_one_mutation_too_many() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        PushRequest.model_validate({"mutations": [mutation() for _ in range(MAX_MUTATIONS_PER_PUSH + 1)]})
    assert error_types(caught) == {"too_long"}


def test_push_request_refuses_unknown_keys() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        PushRequest.model_validate({"mutations": [], "cursor": 3})
    assert error_types(caught) == {"extra_forbidden"}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"colour": "blue"}, "extra_forbidden"),
        ({"op": "insert"}, "literal_error"),
        ({"row_id": "not-a-uuid"}, "uuid_parsing"),
        ({"id": None}, "uuid_type"),
        ({"fields": ["name", "Ada"]}, "dict_type"),
        ({"hlc": None}, "string_type"),
    ],
)
def test_mutation_refuses_malformed_entries(overrides: dict[str, Any], error: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        PushRequest.model_validate({"mutations": [mutation(), mutation(**overrides)]})
    assert error_types(caught) == {error}
    assert {e["loc"][:2] for e in caught.value.errors()} == {("mutations", 1)}


def test_mutation_fields_default_to_empty_for_a_delete() -> None:
    body = mutation(op="delete")
    del body["fields"]
    assert Mutation.model_validate(body).fields == {}


def test_push_request_parses_from_json_text() -> None:
    body = {"mutations": [mutation()]}
    request = PushRequest.model_validate_json(json.dumps(body))
    assert request.mutations[0].model_dump(mode="json") == body["mutations"][0] | {"base": None}


def test_a_mutation_may_say_what_its_author_had_seen() -> None:
    base = {"name": HLC, "phone": None, "_deleted": HLC}
    assert Mutation.model_validate(mutation(base=base)).base == base
    assert Mutation.model_validate(mutation()).base is None  # an older client: unknown


@pytest.mark.parametrize("base", [["name"], {"name": 5}, {"name": {"hlc": HLC}}, "x"])
def test_a_mutation_base_of_the_wrong_shape_is_refused(base: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        Mutation.model_validate(mutation(base=base))


def test_a_change_from_an_older_server_has_no_bases() -> None:
    assert Change.model_validate(change(1)).bases == {}
    with_bases = Change.model_validate(change(1) | {"bases": {"name": None, "_deleted": HLC}})
    assert with_bases.bases == {"name": None, "_deleted": HLC}


def test_answers_a_client_receives_ignore_keys_a_newer_server_adds() -> None:
    result = MutationResult.model_validate({"id": ROW_ID, "status": "applied", "seq": 9, "shard": 2})
    assert (result.status, result.seq, result.lost, result.error) == ("applied", 9, [], None)
    error = ErrorBody.model_validate({"error": {"code": "too_large", "message": "…", "hint": "split"}})
    assert (error.error.code, error.error.field) == ("too_large", None)


def test_client_messages_are_strict() -> None:
    with pytest.raises(pydantic.ValidationError):
        StatusFrame.model_validate({"type": "status", "cursor": 1, "pending": 0, "extra": 1})
    with pytest.raises(pydantic.ValidationError):
        EnrollRequest.model_validate({"code": "", "device_name": "Front desk"})


# ---- server frames ---------------------------------------------------------------


def test_parses_hello_from_text_and_bytes() -> None:
    text = json.dumps({"type": "hello", "server_hlc": HLC, "head": 41, "epoch": "e1"})
    frame = parse_server_frame(text)
    assert frame == HelloFrame(type="hello", server_hlc=HLC, head=41, epoch="e1")
    assert parse_server_frame(text.encode()) == frame


def test_parses_changes_with_the_from_alias() -> None:
    frame = parse_server_frame(
        json.dumps({"type": "changes", "from": 4, "to": 6, "changes": [change(5), change(6)]})
    )
    assert isinstance(frame, ChangesFrame)
    assert (frame.from_, frame.to) == (4, 6)
    assert [c.seq for c in frame.changes] == [5, 6]
    assert frame.changes[0].row_id == uuid.UUID(ROW_ID)


def test_parses_resync_and_ignores_added_keys() -> None:
    assert parse_server_frame('{"type": "resync", "reason": "slow"}') == ResyncFrame(type="resync")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "null",
        "{}",
        '{"type": "bogus"}',
        '{"type": "status", "cursor": 1, "pending": 0}',
        '{"type": "hello", "server_hlc": "x", "head": 1}',
        '{"type": "changes", "to": 2, "changes": []}',
        '{"type": "changes", "from": 1, "to": 2, "changes": [{"seq": 2}]}',
        b"\xff\xfe",
    ],
)
def test_garbage_and_unknown_frames_raise_validation_error(text: str | bytes) -> None:
    with pytest.raises(pydantic.ValidationError):
        parse_server_frame(text)


def test_changes_frame_round_trips_through_the_wire_form() -> None:
    frame = ChangesFrame(type="changes", from_=7, to=8, changes=[Change.model_validate(change(8))])
    wire = frame.to_wire()
    assert set(wire) == {"type", "from", "to", "changes"}
    assert wire["from"] == 7
    assert wire["changes"][0]["row_id"] == ROW_ID
    assert wire["changes"][0]["bases"] == {}
    assert parse_server_frame(json.dumps(wire)) == frame
    assert ChangesFrame.model_validate(wire) == frame


@pytest.mark.parametrize(
    ("status", "code", "skewed"),
    [
        ("rejected", "clock_skew", True),
        ("rejected", "invalid_field", False),
        ("rejected", None, False),
        ("applied", None, False),
    ],
)
def test_only_a_refusal_for_clock_skew_counts_as_skewed(status: str, code: str | None, skewed: bool) -> None:
    error = None if code is None else {"code": code, "message": "m"}
    result = MutationResult.model_validate({"id": ROW_ID, "status": status, "error": error})
    assert result.clock_skewed is skewed


def test_an_enrolment_with_a_nul_or_a_lone_surrogate_is_invalid() -> None:
    for bad in ("Front\x00desk", "Front\udfffdesk"):
        with pytest.raises(pydantic.ValidationError, match="NUL or an unpaired surrogate"):
            EnrollRequest(code="ABCD", device_name=bad)
    assert EnrollRequest(code="ABCD", device_name="Front desk", app_version="1.0").app_version == "1.0"


def test_the_enrolment_documents_that_a_device_name_must_not_be_blank() -> None:
    """The server refuses a blank name 422; the OpenAPI document says so (found by the schema fuzz)."""
    documented = jsonschema_rs.validator_for(EnrollRequest.model_json_schema()["properties"]["device_name"])

    names = ("Front desk", " x ", "\ufeff", "", "  ", "\n\t", "\x1c", "\u3000")

    assert [documented.is_valid(name) for name in names] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
