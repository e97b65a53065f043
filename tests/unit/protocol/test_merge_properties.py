"""The merge rule as a CRDT: algebraic laws, convergence, conflict records (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from protocol import DELETED, Row, merge, mutation_row
from protocol.hlc import parse
from tests.unit.protocol.strategies import (
    FAST,
    WriteSpec,
    compacted_rows,
    fold,
    hlcs,
    mutations,
    rows,
    writes,
)

any_rows = rows | compacted_rows
"""Rows as writes leave them, and tombstones cleared by housekeeping (``CLEARED``)."""


def canonical(value: Any) -> str:
    """The tie-break order the contract names: compact JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def expected_state(specs: list[WriteSpec]) -> Row:
    """An independent model of the final row: per key, the write with the greatest
    (HLC, canonical value) wins; a winning ``None`` is stored as absence."""
    winners: dict[str, tuple[str, str, Any]] = {}
    for spec in specs:
        writes_ = {DELETED: spec.op == "delete"}
        if spec.op == "upsert":
            writes_.update(spec.fields)
        for key, value in writes_.items():
            candidate = (spec.hlc, canonical(value), value)
            if key not in winners or candidate[:2] > winners[key][:2]:
                winners[key] = candidate
    fields = {key: value for key, (_, _, value) in winners.items() if key != DELETED and value is not None}
    clocks = {key: stamp for key, (stamp, _, _) in winners.items()}
    return Row(fields, clocks, DELETED in winners and winners[DELETED][2])


@FAST
@given(a=any_rows, b=any_rows)
def test_merge_is_commutative(a: Row, b: Row) -> None:
    assert merge(a, b).row == merge(b, a).row


@FAST
@given(a=any_rows, b=any_rows, c=any_rows)
def test_merge_is_associative(a: Row, b: Row, c: Row) -> None:
    assert merge(merge(a, b).row, c).row == merge(a, merge(b, c).row).row


@FAST
@given(a=any_rows, b=any_rows)
def test_merge_is_idempotent(a: Row, b: Row) -> None:
    merged = merge(a, b)
    again = merge(merged.row, b)
    assert again.row == merged.row
    assert again.changed == ()
    assert merge(merged.row, merged.row).row == merged.row


@FAST
@given(
    specs=st.lists(writes, min_size=1, max_size=10),
    data=st.data(),
)
def test_any_delivery_order_with_duplicates_converges_to_one_state(
    specs: list[WriteSpec], data: st.DataObject
) -> None:
    delivered = data.draw(st.permutations(specs), label="order")
    repeats = data.draw(st.lists(st.sampled_from(specs), max_size=5), label="duplicates")
    for spec in repeats:
        delivered.insert(data.draw(st.integers(0, len(delivered)), label="at"), spec)

    in_order = fold([s.row() for s in specs])
    shuffled = fold([s.row() for s in delivered])
    assert shuffled == in_order
    assert shuffled == expected_state(specs)


@FAST
@given(specs=st.lists(writes, min_size=1, max_size=10), data=st.data())
def test_replicas_that_saw_different_subsets_converge_after_exchanging_rows(
    specs: list[WriteSpec], data: st.DataObject
) -> None:
    seen_by_a = data.draw(st.lists(st.booleans(), min_size=len(specs), max_size=len(specs)))
    replica_a = fold([s.row() for s, seen in zip(specs, seen_by_a, strict=True) if seen])
    replica_b = fold([s.row() for s, seen in zip(specs, seen_by_a, strict=True) if not seen])
    assert merge(replica_a, replica_b).row == merge(replica_b, replica_a).row == expected_state(specs)


@FAST
@given(
    start=rows, delete_at=hlcs, edit_at=hlcs, fields=writes.map(lambda w: w.fields), edit_first=st.booleans()
)
def test_edit_after_delete_resurrects_edit_before_delete_does_not(
    start: Row, delete_at: str, edit_at: str, fields: dict[str, Any], edit_first: bool
) -> None:
    assume(delete_at != edit_at)
    assume(max(delete_at, edit_at) > start.clocks.get(DELETED, ""))  # the race decides, not ``start``
    delete = mutation_row("delete", {}, delete_at)
    edit = mutation_row("upsert", fields, edit_at)
    row = fold([edit, delete] if edit_first else [delete, edit], start)
    assert row.deleted == (delete_at > edit_at)


@FAST
@given(current=rows, incoming=rows)
def test_lost_records_exactly_the_differing_values_that_lost(current: Row, incoming: Row) -> None:
    result = merge(current, incoming)
    contested = {
        key
        for key in incoming.clocks
        if key in current.clocks and canonical(incoming.value(key)) != canonical(current.value(key))
    }
    assert sorted(lost.field for lost in result.lost) == sorted(contested)
    for lost in result.lost:
        loser, winner = (current, incoming) if lost.loser == "current" else (incoming, current)
        assert (lost.losing_value, lost.losing_hlc) == (loser.value(lost.field), loser.clocks[lost.field])
        assert (lost.winning_value, lost.winning_hlc) == (winner.value(lost.field), winner.clocks[lost.field])
        assert canonical(lost.losing_value) != canonical(lost.winning_value)
        assert (lost.winning_hlc, canonical(lost.winning_value)) > (
            lost.losing_hlc,
            canonical(lost.losing_value),
        )
        assert lost.winner_device == parse(lost.winning_hlc).node
        assert result.row.value(lost.field) == lost.winning_value
        assert result.row.clocks[lost.field] == lost.winning_hlc


@FAST
@given(current=rows, incoming=rows)
def test_changed_lists_exactly_the_keys_the_incoming_row_replaced(current: Row, incoming: Row) -> None:
    result = merge(current, incoming)
    for key in set(current.clocks) | set(incoming.clocks):
        replaced = key in result.changed
        assert result.row.clocks[key] == (incoming.clocks[key] if replaced else current.clocks[key])
        if replaced:
            assert canonical(result.row.value(key)) == canonical(incoming.value(key))


@FAST
@given(a=mutations, b=mutations)
def test_merged_rows_store_no_explicit_none(a: Row, b: Row) -> None:
    assert None not in merge(a, b).row.fields.values()
    assert set(merge(a, b).row.fields) <= set(merge(a, b).row.clocks)


def test_fold_of_nothing_is_the_empty_row() -> None:
    assert fold([]) == expected_state([]) == Row()
