"""The clearing register: small tombstones that stay a CRDT and never resurrect old values."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    CLEARED,
    CLIENTS,
    DELETED,
    ErrorCode,
    Row,
    Timestamp,
    compaction_row,
    merge,
    mutation_row,
    validate_fields,
)
from protocol.merge import wire_clocks
from tests.unit.protocol.strategies import (
    FAST,
    WriteSpec,
    compacted_rows,
    fold,
    writes,
    writes_and_clears,
)

H1, H2, H3, H4 = (
    str(Timestamp(wall_ms, 0, node))
    for wall_ms, node in ((1, "dev-a"), (2, "dev-b"), (3, "server"), (4, "dev-a"))
)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def expected_state(specs: list[WriteSpec]) -> Row:
    """An independent model: per key the greatest (HLC, value) wins, then every field
    whose winning stamp is at or before the greatest clearing stamp is gone."""
    winners: dict[str, tuple[str, str, Any]] = {}
    for spec in specs:
        if spec.op == "clear":
            writes_: dict[str, Any] = {CLEARED: None}
        else:
            writes_ = {DELETED: spec.op == "delete", **(spec.fields if spec.op == "upsert" else {})}
        for key, value in writes_.items():
            candidate = (spec.hlc, _canonical(value), value)
            if key not in winners or candidate[:2] > winners[key][:2]:
                winners[key] = candidate
    cleared = winners[CLEARED][0] if CLEARED in winners else ""
    kept = {k: w for k, w in winners.items() if k in (DELETED, CLEARED) or w[0] > cleared}
    fields = {k: v for k, (_, _, v) in kept.items() if k not in (DELETED, CLEARED) and v is not None}
    clocks = {k: stamp for k, (stamp, _, _) in kept.items()}
    return Row(fields, clocks, DELETED in kept and kept[DELETED][2])


@FAST
@given(specs=st.lists(writes_and_clears, min_size=1, max_size=10), data=st.data())
def test_any_delivery_order_with_clearing_converges_to_the_model(
    specs: list[WriteSpec], data: st.DataObject
) -> None:
    delivered = data.draw(st.permutations(specs), label="order")
    assert fold([s.row() for s in delivered]) == fold([s.row() for s in specs]) == expected_state(specs)


@FAST
@given(start=compacted_rows, stale=writes)
def test_a_write_stamped_at_or_before_the_clearing_changes_no_field_and_loses_nothing(
    start: Row, stale: WriteSpec
) -> None:
    cleared = start.clocks.get(CLEARED)
    if cleared is None or stale.hlc > cleared:
        return
    result = merge(start, stale.row())
    assert result.row.fields == start.fields
    assert set(result.changed) <= {DELETED}
    assert {lost.field for lost in result.lost} <= {DELETED}


def test_compaction_drops_the_values_and_clocks_and_keeps_the_registers() -> None:
    row = fold([mutation_row("upsert", {"name": "Ada", "phone": "1"}, H1), mutation_row("delete", {}, H2)])
    result = merge(row, compaction_row(H2))
    assert result.row == Row({}, {DELETED: H2, CLEARED: H2}, deleted=True)
    assert sorted(result.changed) == sorted(["name", "phone", CLEARED])
    assert result.lost == ()
    assert merge(result.row, compaction_row(H1)).changed == ()  # an older clearing adds nothing


def test_a_stale_edit_after_compaction_does_not_resurrect_and_a_later_one_brings_back_only_its_fields() -> (
    None
):
    tombstone = fold([
        mutation_row("upsert", {"name": "Ada", "phone": "1"}, H1),
        mutation_row("delete", {}, H3),
        compaction_row(H3),
    ])  # fmt: skip
    stale = merge(tombstone, mutation_row("upsert", {"phone": "2"}, H2))
    assert stale.row == tombstone
    assert [lost.field for lost in stale.lost] == [DELETED]  # the edit lost to the delete, as before
    later = merge(tombstone, mutation_row("upsert", {"name": "Bo"}, H4)).row
    assert later == Row({"name": "Bo"}, {"name": H4, DELETED: H4, CLEARED: H3}, deleted=False)


def test_a_replica_holding_old_values_takes_a_newer_value_over_a_cleared_one_without_a_conflict() -> None:
    old = fold([mutation_row("upsert", {"name": "Ada"}, H1), mutation_row("delete", {}, H2)])
    revived = Row({"name": "Bo"}, {"name": H4, DELETED: H4, CLEARED: H2}, deleted=False)
    result = merge(old, revived)
    assert result.row == revived
    assert [lost.field for lost in result.lost] == [DELETED]  # the old name was cleared, not beaten
    assert merge(revived, old).row == revived


def test_wire_clocks_name_a_cleared_rows_fields_as_null_at_the_clearing_stamp() -> None:
    live = {"name": H1, DELETED: H1}
    assert wire_clocks(live, ["name", "phone"]) == live
    cleared = {"name": H4, DELETED: H4, CLEARED: H2}
    assert wire_clocks(cleared, ["name", "phone"]) == {**cleared, "phone": H2}


def test_an_old_replica_clears_its_copy_from_the_wire_clocks_and_a_new_one_is_unchanged() -> None:
    held = fold([mutation_row("upsert", {"name": "Ada", "phone": "1"}, H1), mutation_row("delete", {}, H2)])
    server = merge(held, compaction_row(H2)).row
    wired = wire_clocks(server.clocks, ["name", "phone"])
    old_view = Row({}, {k: v for k, v in wired.items() if k != CLEARED}, deleted=True)  # drops CLEARED
    assert merge(held, old_view).row.fields == {}
    assert merge(server, Row({}, wired, deleted=True)).row == server


def test_a_device_cannot_write_the_clearing_register_as_a_field() -> None:
    _, errors = validate_fields(CLIENTS, {CLEARED: H4})
    assert [(error.code, error.field) for error in errors] == [(ErrorCode.UNKNOWN_FIELD, CLEARED)]
