"""The merge rule on worked examples: edits, deletes, clears, conflict records."""

from __future__ import annotations

import pytest

from protocol import DELETED, Lost, Row, Timestamp, merge, mutation_row
from protocol.messages import LostWire

A = "dev-a"
B = "dev-b"


def hlc(wall_ms: int, node: str = A, counter: int = 0) -> str:
    return str(Timestamp(wall_ms, counter, node))


def created(**fields: object) -> Row:
    """A client row created by device A at wall time 1."""
    return merge(Row(), mutation_row("upsert", fields, hlc(1))).row


def test_mutation_row_of_an_upsert_stamps_every_field_and_the_deletion_register() -> None:
    row = mutation_row("upsert", {"name": "Ada", "notes": None}, hlc(3))
    assert row == Row({"name": "Ada", "notes": None}, {"name": hlc(3), "notes": hlc(3), DELETED: hlc(3)})
    assert not row.deleted


def test_mutation_row_of_a_delete_writes_only_the_deletion_register() -> None:
    assert mutation_row("delete", {"name": "ignored"}, hlc(3)) == Row({}, {DELETED: hlc(3)}, deleted=True)


def test_merging_into_an_empty_row_takes_everything_and_loses_nothing() -> None:
    assert not Row().exists
    result = merge(Row(), mutation_row("upsert", {"name": "Ada", "tags": ["vip"]}, hlc(1)))
    assert result.row == Row(
        {"name": "Ada", "tags": ["vip"]}, dict.fromkeys(["name", "tags", DELETED], hlc(1))
    )
    assert result.row.exists
    assert result.lost == ()
    assert set(result.changed) == {"name", "tags", DELETED}


def test_later_edit_wins_and_the_overwritten_value_is_recorded() -> None:
    result = merge(created(name="Ada", phone="123"), mutation_row("upsert", {"name": "Ada L."}, hlc(2, B)))
    assert result.row.fields == {"name": "Ada L.", "phone": "123"}
    assert result.row.clocks["name"] == hlc(2, B)
    assert result.row.clocks["phone"] == hlc(1)
    assert result.lost == (Lost("name", "Ada", hlc(1), "Ada L.", hlc(2, B), B, "current"),)
    assert set(result.changed) == {"name", DELETED}


def test_earlier_edit_loses_and_is_recorded_as_the_incoming_loser() -> None:
    current = merge(created(name="Ada"), mutation_row("upsert", {"name": "Ada L."}, hlc(5, B))).row
    result = merge(current, mutation_row("upsert", {"name": "Adah"}, hlc(3)))
    assert result.row.fields == {"name": "Ada L."}
    assert result.row.clocks["name"] == hlc(5, B)
    assert result.lost == (Lost("name", "Adah", hlc(3), "Ada L.", hlc(5, B), B, "incoming"),)
    assert result.changed == ()


def test_same_value_with_a_later_clock_updates_the_clock_without_a_conflict() -> None:
    result = merge(created(name="Ada"), mutation_row("upsert", {"name": "Ada"}, hlc(2, B)))
    assert result.lost == ()
    assert result.row.clocks["name"] == hlc(2, B)
    assert "name" in result.changed


def test_replaying_the_same_mutation_changes_nothing() -> None:
    mutation = mutation_row("upsert", {"name": "Ada", "phone": "123"}, hlc(1))
    once = merge(Row(), mutation).row
    again = merge(once, mutation)
    assert again.row == once
    assert again.lost == ()
    assert again.changed == ()


def test_equal_clock_with_different_values_picks_the_same_winner_in_either_order() -> None:
    stamp = hlc(4)
    left = mutation_row("upsert", {"name": "Ada"}, stamp)
    right = mutation_row("upsert", {"name": "Bea"}, stamp)
    one, two = merge(left, right), merge(right, left)
    assert one.row == two.row
    assert one.row.fields == {"name": "Bea"}  # '"Bea"' > '"Ada"' in canonical JSON
    assert [(lost.losing_value, lost.loser) for lost in one.lost] == [("Ada", "current")]
    assert [(lost.losing_value, lost.loser) for lost in two.lost] == [("Ada", "incoming")]


def test_equal_clock_delete_and_upsert_resolve_to_the_delete_in_either_order() -> None:
    upsert = mutation_row("upsert", {"name": "Ada"}, hlc(4))
    delete = mutation_row("delete", {}, hlc(4))
    assert merge(upsert, delete).row == merge(delete, upsert).row
    assert merge(upsert, delete).row.deleted


def test_delete_hides_the_row_but_keeps_its_fields() -> None:
    result = merge(created(name="Ada", phone="123"), mutation_row("delete", {}, hlc(2, B)))
    assert result.row.deleted
    assert result.row.value(DELETED) is True
    assert result.row.fields == {"name": "Ada", "phone": "123"}
    assert result.changed == (DELETED,)
    assert result.lost == (Lost(DELETED, False, hlc(1), True, hlc(2, B), B, "current"),)


def test_edit_stamped_after_the_delete_brings_the_row_back() -> None:
    deleted = merge(created(name="Ada", phone="123"), mutation_row("delete", {}, hlc(5, B))).row
    result = merge(deleted, mutation_row("upsert", {"phone": "456"}, hlc(6)))
    assert not result.row.deleted
    assert result.row.fields == {"name": "Ada", "phone": "456"}


def test_edit_stamped_before_the_delete_does_not_bring_the_row_back() -> None:
    deleted = merge(created(name="Ada", phone="123"), mutation_row("delete", {}, hlc(5, B))).row
    result = merge(deleted, mutation_row("upsert", {"phone": "456"}, hlc(4)))
    assert result.row.deleted
    assert result.row.fields["phone"] == "456"  # the field register still takes the newer value
    assert [lost.field for lost in result.lost] == ["phone", DELETED]
    assert result.lost[1].loser == "incoming"


def test_none_clears_a_field_but_keeps_its_clock() -> None:
    result = merge(created(name="Ada", notes="allergic"), mutation_row("upsert", {"notes": None}, hlc(2)))
    assert result.row.fields == {"name": "Ada"}
    assert result.row.clocks["notes"] == hlc(2)
    assert result.row.value("notes") is None
    assert result.lost == (Lost("notes", "allergic", hlc(1), None, hlc(2), A, "current"),)


def test_a_clear_stamped_before_the_value_does_not_clear_it() -> None:
    current = merge(created(notes="allergic"), mutation_row("upsert", {"notes": "allergic"}, hlc(3))).row
    result = merge(current, mutation_row("upsert", {"notes": None}, hlc(2, B)))
    assert result.row.fields["notes"] == "allergic"
    assert result.lost == (Lost("notes", None, hlc(2, B), "allergic", hlc(3), A, "incoming"),)


def test_explicit_none_and_absence_are_the_same_state_in_either_order() -> None:
    clearing = mutation_row("upsert", {"notes": None}, hlc(1))
    assert merge(clearing, Row()).row == merge(Row(), clearing).row == Row({}, clearing.clocks)


@pytest.mark.parametrize("node", ["server", "3f2b8c1e-0d4a-4c55-9a6e-1b2c3d4e5f60", "branch north-2"])
def test_winner_device_is_the_node_of_the_winning_stamp(node: str) -> None:
    result = merge(created(name="Ada"), mutation_row("upsert", {"name": "Bea"}, hlc(2, node, counter=7)))
    assert [lost.winner_device for lost in result.lost] == [node]


def test_lost_to_wire_is_what_the_push_answer_carries() -> None:
    lost = Lost("tags", ["vip"], hlc(1), None, hlc(2, B), B, "current")
    wire = lost.to_wire()
    assert "loser" not in wire
    assert LostWire.model_validate(wire).model_dump() == wire


def test_merge_does_not_touch_its_inputs() -> None:
    current = created(name="Ada")
    incoming = mutation_row("upsert", {"name": "Bea"}, hlc(2))
    snapshot = (dict(current.fields), dict(current.clocks), dict(incoming.fields), dict(incoming.clocks))
    merge(current, incoming)
    assert snapshot == (
        dict(current.fields),
        dict(current.clocks),
        dict(incoming.fields),
        dict(incoming.clocks),
    )
