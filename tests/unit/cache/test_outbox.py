"""The outbox as the engine drives it: batches, push answers, re-stamping after clock skew."""

from __future__ import annotations

import json
import uuid
from typing import Any

from desktop.cache import Cache, Counts, OutboxEntry
from protocol.hlc import Timestamp
from protocol.messages import MutationResult, PushRequest
from protocol.wire import mutation_body
from tests.unit.cache.helpers import START_MS, FakeWall, stamp

DAY_MS = 86_400_000


def _answer(entry: OutboxEntry, status: str, **extra: Any) -> MutationResult:
    return MutationResult.model_validate({"id": entry.mutation_id, "status": status, **extra})


def test_batches_come_oldest_first_and_fit_one_push_request(cache: Cache) -> None:
    ids = [cache.create("clients", {"name": f"C{i}", "notes": "x" * 9_000}) for i in range(5)]

    assert [e.row_id for e in cache.pending_batch(limit=3)] == ids[:3]
    small = cache.pending_batch(max_bytes=20_000)
    assert [e.row_id for e in small] == ids[:2]
    body = json.dumps({"mutations": [e.to_wire() for e in small]}, separators=(",", ":"))
    assert len(body) <= 20_000
    PushRequest.model_validate_json(body)  # the server's own parser takes it
    assert [e.row_id for e in cache.pending_batch(max_bytes=10)] == ids[:1]  # never stuck
    assert cache.pending_count() == 5


def test_a_push_batch_carries_its_body_encoded_once_and_can_start_after_a_pushed_one(cache: Cache) -> None:
    ids = [cache.create("clients", {"name": f"C{i}", "notes": "é" * 100}) for i in range(5)]
    cache.update("clients", ids[0], {"phone": "+44 20 7946 0000"})  # an edit: it has a base
    cache.delete("clients", ids[1])

    first = cache.next_push(limit=3)
    assert [e.row_id for e in first.entries] == ids[:3]
    assert (
        first.body
        == json.dumps({"mutations": [e.to_wire() for e in first.entries]}, separators=(",", ":")).encode()
    )
    sent = PushRequest.model_validate_json(first.body)  # the server's own parser takes it
    assert [m.id for m in sent.mutations] == [uuid.UUID(e.mutation_id) for e in first.entries]
    rest = cache.next_push(after=first.last_seq)
    assert [e.seq for e in rest.entries] == [e.seq for e in cache.pending_batch()][3:]
    assert cache.next_push(after=rest.last_seq).entries == []


def test_the_wire_form_built_by_hand_is_the_models_own(cache: Cache) -> None:
    row = cache.create("clients", {"name": "Ada", "email": None})
    cache.update("clients", row, {"email": "ada@example.com"})
    cache.delete("clients", row)
    entries = cache.pending_batch()
    assert len(entries) == 3
    for entry in entries:
        assert entry.to_wire() == mutation_body(entry.to_mutation())
    assert "base" in entries[1].to_wire()


def test_push_answers_drop_reject_or_keep_each_mutation(cache: Cache) -> None:
    for name in ("Ada", "Bea", "Cy", "Di", "Ed"):
        cache.create("clients", {"name": name})
    applied, duplicate, refused, skewed, unanswered = cache.pending_batch()
    results = [
        _answer(applied, "applied", seq=1),
        _answer(duplicate, "duplicate", seq=2),
        _answer(
            refused, "rejected", error={"code": "too_long", "message": "name is too long", "field": "name"}
        ),
        _answer(skewed, "rejected", error={"code": "clock_skew", "message": "clock ahead"}),
    ]

    outcome = cache.apply_push_results(
        [applied, duplicate, refused, skewed, unanswered], results, stamp(START_MS)
    )

    assert (outcome.done, outcome.rejected, outcome.clock_skew, outcome.unanswered) == (2, 1, 1, 1)
    assert [e.mutation_id for e in cache.pending_batch()] == [skewed.mutation_id, unanswered.mutation_id]
    [kept] = cache.rejected()
    assert (kept.mutation_id, kept.code, kept.field, kept.message) == (
        refused.mutation_id,
        "too_long",
        "name",
        "name is too long",
    )
    assert (kept.op, dict(kept.fields), kept.hlc) == ("upsert", {"name": "Cy"}, refused.hlc)
    assert cache.counts() == Counts(pending=2, rejected=1, conflicts=0)
    assert outcome.counts == cache.counts()  # the engine takes these instead of counting again
    assert cache.state().hlc_observed == duplicate.hlc  # the newest stamp the server took


def test_a_pushed_value_that_lost_on_the_server_is_a_conflict_and_the_winner_is_taken(cache: Cache) -> None:
    row_id = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100"})
    [entry] = cache.pending_batch()
    winner = stamp(START_MS + 5_000, node="branch-b")
    lost = [
        {
            "field": "phone",
            "losing_value": "+1 555 0100",
            "losing_hlc": entry.hlc,
            "winning_value": "+1 555 0999",
            "winning_hlc": winner,
            "winner_device": "branch-b",
        },
        {  # a value of someone else that mine beat: not my conflict
            "field": "name",
            "losing_value": "Old",
            "losing_hlc": stamp(1, node="branch-c"),
            "winning_value": "Ada",
            "winning_hlc": entry.hlc,
            "winner_device": "me",
        },
    ]

    outcome = cache.apply_push_results([entry], [_answer(entry, "applied", seq=3, lost=lost)])

    assert (outcome.done, outcome.conflicts) == (1, 1)
    record = cache.get("clients", row_id)
    assert record is not None and record.fields == {"name": "Ada", "phone": "+1 555 0999"}
    assert record.clocks["phone"] == winner
    [conflict] = cache.conflicts()
    assert (conflict.field, conflict.my_value, conflict.winning_value, conflict.winning_device) == (
        "phone",
        "+1 555 0100",
        "+1 555 0999",
        "branch-b",
    )


def test_restamping_after_clock_skew_moves_future_stamps_to_the_corrected_clock(
    cache: Cache, wall: FakeWall
) -> None:
    cache.observe_hlc(stamp(START_MS - 1_000))
    honest = cache.create("clients", {"name": "Before"})  # stamped while the clock was right
    wall.ms = START_MS + DAY_MS  # then the PC's clock jumps a day ahead
    ahead = cache.create("clients", {"name": "Ahead"})
    cache.update("clients", ahead, {"phone": "+1 555 0100"})
    wall.ms = START_MS + DAY_MS + 10  # still wrong; the engine measures the offset

    changed = cache.restamp_pending(clock_offset_ms=-DAY_MS, server_hlc=stamp(START_MS + 5))

    assert changed == 2
    entries = cache.pending_batch()
    assert [e.row_id for e in entries] == [honest, ahead, ahead]
    walls = [Timestamp.parse(e.hlc).wall_ms for e in entries]
    assert walls[0] == START_MS and all(START_MS <= w <= START_MS + 10 for w in walls[1:])
    assert entries[1].hlc < entries[2].hlc
    assert entries[2].base == {"phone": None, "_deleted": entries[1].hlc}  # the base follows its stamp
    record = cache.get("clients", ahead)
    assert record is not None
    assert record.clocks == {"name": entries[1].hlc, "phone": entries[2].hlc, "_deleted": entries[2].hlc}
    assert cache.state().clock_offset_ms == -DAY_MS
    cache.update("clients", ahead, {"notes": "next"})
    assert cache.pending_batch()[-1].hlc > entries[2].hlc


def test_mutation_ids_are_uuids_and_unique(cache: Cache) -> None:
    for i in range(3):
        cache.create("clients", {"name": f"C{i}"})
    ids = [uuid.UUID(e.mutation_id) for e in cache.pending_batch()]
    assert len(set(ids)) == 3


def test_restamping_never_goes_below_a_stamp_the_server_already_took(cache: Cache, wall: FakeWall) -> None:
    wall.ms = START_MS + 180_000  # three minutes fast: still accepted
    row_id = cache.create("clients", {"name": "Ada"})
    [taken] = cache.pending_batch()
    cache.apply_push_results([taken], [_answer(taken, "applied", seq=1)])
    wall.ms = START_MS + DAY_MS  # then a day fast: refused
    cache.update("clients", row_id, {"name": "Ada B."})

    assert cache.restamp_pending(clock_offset_ms=-DAY_MS, server_hlc=stamp(START_MS)) == 1

    [entry] = cache.pending_batch()
    assert entry.hlc > taken.hlc  # my later edit still wins over my earlier one
    assert Timestamp.parse(entry.hlc).wall_ms == START_MS + 180_000


def test_restamping_with_nothing_in_the_future_only_saves_the_offset(cache: Cache) -> None:
    cache.create("clients", {"name": "Ada"})
    before = cache.pending_batch()
    last = cache.state().hlc_last

    assert cache.restamp_pending(clock_offset_ms=250, server_hlc=stamp(START_MS - 10)) == 0

    assert cache.pending_batch() == before
    assert (cache.state().hlc_last, cache.state().clock_offset_ms) == (last, 250)
