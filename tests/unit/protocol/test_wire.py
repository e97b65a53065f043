"""The wire vocabulary: paths, close codes, and the exact bytes of every frame and body."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from protocol import ErrorCode, Row, Timestamp, merge, mutation_row
from protocol.messages import (
    Change,
    ChangesFrame,
    ErrorBody,
    HelloFrame,
    LostWire,
    Mutation,
    MutationResult,
    PushRequest,
    ResyncFrame,
    StatusFrame,
    parse_server_frame,
)
from protocol.wire import (
    API_PREFIX,
    BRANCHES_PATH,
    ENROLL_PATH,
    PULL_PATH,
    PUSH_ENVELOPE_BYTES,
    PUSH_PATH,
    RESYNC_TEXT,
    SERVER_FRAME_TYPES,
    SOCKET_PATH,
    CloseCode,
    change_text,
    changes_text,
    error_body,
    hello_text,
    lost_from_wire,
    lost_wire,
    mutation_body,
    push_body,
    records_path,
    status_text,
)
from tests.unit.protocol.strategies import FAST, hlcs

HLC = str(Timestamp(1_767_346_200_000, 0, "dev-a"))
LATER = str(Timestamp(1_767_346_200_001, 0, "dev-b"))
ROW_ID = "5b1f0e4c-9d4e-4a57-8a8e-2f3c1d0b9a77"
MUTATION_ID = "0d7c3f52-1c4b-4f43-9d3e-6a2b8f1e5c90"


def a_change(seq: int = 8) -> Change:
    return Change(
        seq=seq,
        collection="clients",
        row_id=uuid.UUID(ROW_ID),
        fields={"name": "Zoë", "tags": ["vip"]},
        clocks={"name": HLC, "tags": HLC, "_deleted": HLC},
        deleted=False,
        bases={"name": None},
    )


# ---- paths and close codes -------------------------------------------------------


def test_paths_are_the_contract() -> None:
    assert API_PREFIX == "/api/v1"
    assert (ENROLL_PATH, BRANCHES_PATH) == ("/api/v1/enroll", "/api/v1/branches")
    assert (PUSH_PATH, PULL_PATH, SOCKET_PATH) == (
        "/api/v1/sync/push",
        "/api/v1/sync/pull",
        "/api/v1/sync/ws",
    )
    assert [records_path(name) for name in ("clients", "appointments")] == [
        "/api/v1/clients",
        "/api/v1/appointments",
    ]


def test_close_codes_are_the_contract() -> None:
    assert {code.name: (int(code), code.reason) for code in CloseCode} == {
        "PROTOCOL_ERROR": (1002, "update_required"),
        "POLICY_VIOLATION": (1008, "refused"),
        "SERVICE_RESTART": (1012, "server restarting"),
        "RESYNC": (4000, "resync"),
        "REVOKED": (4401, "device revoked"),
        "REPLACED": (4409, "replaced by a newer socket of this device"),
    }
    assert CloseCode(4401) is CloseCode.REVOKED  # what a client reads off a closed socket


# ---- frames: exact bytes ---------------------------------------------------------


def test_server_frame_types_are_the_frames_a_client_parses() -> None:
    assert sorted(SERVER_FRAME_TYPES) == ["changes", "hello", "resync"]


def test_hello_frame_bytes() -> None:
    text = hello_text(HLC, 41, "e1", 1_700_000_000_123)
    assert text == (
        f'{{"type": "hello", "server_hlc": "{HLC}", "head": 41, "epoch": "e1", '
        '"server_wall_ms": 1700000000123}'
    )
    hello = HelloFrame(type="hello", server_hlc=HLC, head=41, epoch="e1", server_wall_ms=1_700_000_000_123)
    assert parse_server_frame(text) == hello


def test_a_hello_from_an_older_server_has_no_wall_reading() -> None:
    text = f'{{"type": "hello", "server_hlc": "{HLC}", "head": 41, "epoch": "e1"}}'
    assert parse_server_frame(text) == HelloFrame(type="hello", server_hlc=HLC, head=41, epoch="e1")


def test_resync_frame_bytes() -> None:
    assert RESYNC_TEXT == '{"type": "resync"}'
    assert parse_server_frame(RESYNC_TEXT) == ResyncFrame(type="resync")


def test_changes_frame_bytes() -> None:
    text = changes_text(7, 8, [change_text(a_change(8))])
    assert text == (
        '{"type":"changes","from":7,"to":8,"changes":[{"seq":8,"collection":"clients",'
        f'"row_id":"{ROW_ID}","fields":{{"name":"Zoë","tags":["vip"]}},'
        f'"clocks":{{"name":"{HLC}","tags":"{HLC}","_deleted":"{HLC}"}},"deleted":false,'
        '"bases":{"name":null}}]}'
    )
    assert changes_text(3, 3, []) == '{"type":"changes","from":3,"to":3,"changes":[]}'


def test_status_frame_bytes() -> None:
    assert status_text(12, 3) == '{"type":"status","cursor":12,"pending":3}'
    text = status_text(12, 0, "1.4.0")
    assert text == '{"type":"status","cursor":12,"pending":0,"app_version":"1.4.0"}'
    assert StatusFrame.model_validate_json(text) == StatusFrame(
        type="status", cursor=12, pending=0, app_version="1.4.0"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
changes = st.builds(
    Change,
    seq=st.integers(min_value=1, max_value=2**63 - 1),
    collection=st.sampled_from(["clients", "appointments"]),
    row_id=st.uuids(),
    fields=st.dictionaries(st.text(max_size=6), json_values, max_size=3),
    clocks=st.dictionaries(st.text(max_size=6), hlcs, max_size=3),
    deleted=st.booleans(),
    bases=st.dictionaries(st.text(max_size=6), st.none() | hlcs, max_size=2),
)


@FAST
@given(
    since=st.integers(min_value=0, max_value=2**63 - 1),
    to=st.integers(min_value=0, max_value=2**63 - 1),
    batch=st.lists(changes, max_size=4),
)
def test_the_hand_built_changes_frame_is_the_models_json(since: int, to: int, batch: list[Change]) -> None:
    text = changes_text(since, to, [change_text(change) for change in batch])
    model = ChangesFrame(type="changes", from_=since, to=to, changes=batch)
    assert text == model.model_dump_json(by_alias=True)
    assert parse_server_frame(text) == model
    assert json.loads(text) == model.to_wire()


# ---- push bodies -----------------------------------------------------------------


def a_mutation(**overrides: Any) -> Mutation:
    body: dict[str, Any] = {
        "id": MUTATION_ID,
        "collection": "clients",
        "row_id": ROW_ID,
        "op": "upsert",
        "fields": {"name": "Ada", "phone": None},
        "hlc": HLC,
    }
    return Mutation.model_validate(body | overrides)


def test_push_body_bytes() -> None:
    upsert = a_mutation(base={"name": None, "phone": HLC, "_deleted": HLC})
    delete = a_mutation(op="delete", fields={})
    text = json.dumps(push_body([upsert, delete]), separators=(",", ":"))
    assert text == (
        f'{{"mutations":[{{"id":"{MUTATION_ID}","collection":"clients","row_id":"{ROW_ID}","op":"upsert",'
        f'"fields":{{"name":"Ada","phone":null}},"hlc":"{HLC}",'
        f'"base":{{"name":null,"phone":"{HLC}","_deleted":"{HLC}"}}}},'
        f'{{"id":"{MUTATION_ID}","collection":"clients","row_id":"{ROW_ID}","op":"delete",'
        f'"fields":{{}},"hlc":"{HLC}"}}]}}'
    )
    assert PushRequest.model_validate_json(text).mutations == [upsert, delete]


def test_an_unknown_base_is_left_out_and_the_envelope_is_measured() -> None:
    assert "base" not in mutation_body(a_mutation())
    assert mutation_body(a_mutation(base={}))["base"] == {}
    assert push_body([]) == {"mutations": []}
    assert PUSH_ENVELOPE_BYTES == len('{"mutations":[]}') == 16


mutations = st.builds(
    Mutation,
    id=st.uuids(),
    collection=st.sampled_from(["clients", "appointments"]),
    row_id=st.uuids(),
    op=st.sampled_from(["upsert", "delete"]),
    fields=st.dictionaries(st.text(max_size=6), json_values, max_size=3),
    hlc=hlcs,
    base=st.none() | st.dictionaries(st.text(max_size=6), st.none() | hlcs, max_size=2),
)


@FAST
@given(batch=st.lists(mutations, max_size=4))
def test_a_push_body_parses_back_to_its_mutations(batch: list[Mutation]) -> None:
    body = push_body(batch)
    assert PushRequest.model_validate_json(json.dumps(body)).mutations == batch
    assert body["mutations"] == [mutation_body(mutation) for mutation in batch]


# ---- losses ----------------------------------------------------------------------


def test_a_loss_travels_as_lost_wire_and_comes_back_as_the_shared_model() -> None:
    current = merge(Row(), mutation_row("upsert", {"name": "Ada"}, LATER)).row
    (lost,) = merge(current, mutation_row("upsert", {"name": "Bea"}, HLC)).lost
    assert lost.loser == "incoming"
    wire = lost_wire(lost)
    assert wire == LostWire.model_validate(lost.to_wire())
    answer = MutationResult.model_validate_json(
        MutationResult(id=uuid.UUID(MUTATION_ID), status="applied", seq=3, lost=[wire]).model_dump_json()
    )
    assert lost_from_wire(answer.lost[0]) == lost
    (taken,) = merge(mutation_row("upsert", {"name": "Bea"}, HLC), current).lost
    assert lost_from_wire(lost_wire(taken), "current") == taken


# ---- errors ----------------------------------------------------------------------


def test_error_body_bytes() -> None:
    body = error_body(ErrorCode.TOO_LONG, "at most 200 characters", field="name")
    assert json.dumps(body, separators=(",", ":")) == (
        '{"error":{"code":"too_long","message":"at most 200 characters","field":"name"}}'
    )
    assert error_body("internal", "boom") == {"error": {"code": "internal", "message": "boom"}}
    assert ErrorBody.model_validate(body).error.field == "name"
