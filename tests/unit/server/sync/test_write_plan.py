"""The write decisions, by calling ``plan_batch`` (no database)."""

from __future__ import annotations

import uuid
from typing import Any

from protocol.errors import ErrorCode
from protocol.hlc import HybridLogicalClock
from protocol.merge import DELETED, Row
from protocol.messages import Mutation
from server.sync.write_plan import Applied, Duplicate, Plan, Rejected, RowKey, payload_digest, plan_batch

NOW_MS = 1_800_000_000_000
SKEW_MS = 300_000


def _stamp(offset_ms: int = 0, counter: int = 0, node: str = "dev-a") -> str:
    return f"{NOW_MS + offset_ms:015d}-{counter:06d}-{node}"


def _mutation(
    hlc: str, fields: dict[str, Any] | None = None, *, row_id: uuid.UUID | None = None, **extra: Any
) -> Mutation:
    return Mutation.model_validate(
        {
            "id": extra.pop("id", uuid.uuid4()),
            "collection": extra.pop("collection", "clients"),
            "row_id": row_id or uuid.uuid4(),
            "op": extra.pop("op", "upsert"),
            "fields": fields or {},
            "hlc": hlc,
            "base": extra.pop("base", None),
        }
    )


def _server_clock() -> HybridLogicalClock:
    return HybridLogicalClock("server.t", wall_ms=lambda: NOW_MS)


def _plan(
    mutations: list[Mutation],
    current: dict[RowKey, Row] | None = None,
    answered: dict[uuid.UUID, dict[str, Any]] | None = None,
    clock: HybridLogicalClock | None = None,
    **options: Any,
) -> Plan:
    return plan_batch(
        mutations,
        current or {},
        answered or {},
        clock or _server_clock(),
        now_ms=NOW_MS,
        max_skew_ms=SKEW_MS,
        **options,
    )


def test_a_new_row_is_created_with_its_clocks() -> None:
    row_id = uuid.uuid4()

    plan = _plan([_mutation(_stamp(), {"name": " Ann "}, row_id=row_id)])

    assert plan.outcomes == [Applied(("clients", row_id), ())]
    assert plan.rows[("clients", row_id)] == Row(
        {"name": "Ann"}, {"name": _stamp(), DELETED: _stamp()}, False
    )


def test_later_mutations_of_a_batch_see_the_earlier_ones() -> None:
    row_id = uuid.uuid4()

    plan = _plan(
        [
            _mutation(_stamp(0, 0), {"name": "Ann"}, row_id=row_id),
            _mutation(_stamp(0, 1), {"phone": "555 0100"}, row_id=row_id),  # not a create: no name needed
            _mutation(_stamp(0, 2), op="delete", row_id=row_id),
        ]
    )

    assert [type(o) for o in plan.outcomes] == [Applied, Applied, Applied]
    assert plan.rows[("clients", row_id)].fields == {"name": "Ann", "phone": "555 0100"}
    assert plan.rows[("clients", row_id)].deleted is True


def test_only_values_the_mutation_lost_are_reported() -> None:
    row_id = uuid.uuid4()
    stored = Row({"name": "New"}, {"name": _stamp(-10), DELETED: _stamp(-20)})

    plan = _plan(
        [_mutation(_stamp(-30), {"name": "Old", "phone": "555 0100"}, row_id=row_id)],
        current={("clients", row_id): stored},
    )

    applied = plan.outcomes[0]
    assert isinstance(applied, Applied)
    assert [(lost.field, lost.losing_value, lost.winning_value) for lost in applied.lost] == [
        ("name", "Old", "New"),
    ]
    assert plan.rows[("clients", row_id)].fields == {"name": "New", "phone": "555 0100"}


def test_a_mutation_that_changes_nothing_is_applied_but_writes_no_row() -> None:
    row_id = uuid.uuid4()
    stored = Row({"name": "Same"}, {"name": _stamp(), DELETED: _stamp()})

    plan = _plan(
        [_mutation(_stamp(), {"name": "Same"}, row_id=row_id)], current={("clients", row_id): stored}
    )

    assert plan.outcomes == [Applied(("clients", row_id), ())]
    assert plan.rows == {}


def test_an_answered_id_is_a_duplicate_and_touches_nothing() -> None:
    seen = _mutation(_stamp(), {"name": "Ann"})
    answer = {"seq": 7, "lost": []}

    plan = _plan([seen], answered={seen.id: answer})

    assert plan.outcomes == [Duplicate(answer)] and plan.rows == {}


def test_an_id_repeated_in_a_batch_is_applied_once() -> None:
    once = _mutation(_stamp(), {"name": "Ann"})

    plan = _plan([once, once])

    assert isinstance(plan.outcomes[0], Applied)
    assert plan.outcomes[1] == Duplicate(plan.outcomes[0])


def test_an_answered_id_with_another_write_is_refused() -> None:
    seen = _mutation(_stamp(), {"name": "Ann"})
    reused = seen.model_copy(update={"fields": {"name": "Someone else"}})
    answer = {"seq": 7, "lost": [], "payload": payload_digest(seen)}

    plan = _plan([seen, reused], answered={seen.id: answer})

    assert plan.outcomes[0] == Duplicate(answer)
    assert isinstance(plan.outcomes[1], Rejected) and plan.outcomes[1].code == ErrorCode.INVALID_MUTATION
    assert plan.rows == {}


def test_a_replay_with_a_new_stamp_is_still_a_replay() -> None:
    """A device re-stamps a queued write after ``clock_skew``: the digest leaves the stamp out."""
    seen = _mutation(_stamp(), {"name": "Ann"}, base={"name": None})
    restamped = seen.model_copy(update={"hlc": _stamp(-5_000), "base": None})

    assert payload_digest(restamped) == payload_digest(seen)
    assert payload_digest(seen.model_copy(update={"op": "delete", "fields": {}})) != payload_digest(seen)


def test_an_answer_stored_without_a_digest_is_answered_as_a_replay() -> None:
    seen = _mutation(_stamp(), {"name": "Ann"})
    answer = {"seq": 7, "lost": []}

    plan = _plan([seen.model_copy(update={"fields": {"name": "Other"}})], answered={seen.id: answer})

    assert plan.outcomes == [Duplicate(answer)]


def test_a_stamp_naming_another_node_is_taken_as_the_pushing_device_s() -> None:
    """No device writes in another's name, and an older app's stamps from before its
    enrolment (its local node) still go in, in their order."""
    mine, foreign = (
        _mutation(_stamp(counter=1, node="dev-a"), {"name": "Ann"}),
        _mutation(_stamp(counter=2, node="dev-b"), {"name": "Bo"}),
    )

    plan = _plan([mine, foreign], author_node="dev-a")

    assert all(isinstance(outcome, Applied) for outcome in plan.outcomes)
    assert plan.rows[("clients", foreign.row_id)].clocks["name"] == _stamp(counter=2, node="dev-a")


def test_server_stamped_writes_skip_the_node_check() -> None:
    plan = _plan([_mutation("", {"name": "Ann"})], author_node="dev-a", stamp_with_server_clock=True)

    assert isinstance(plan.outcomes[0], Applied)


def test_each_broken_rule_has_its_code_and_the_neighbours_go_on() -> None:
    deleted_empty = uuid.uuid4()
    cases = [
        (_mutation(_stamp(), {"name": "X"}, collection="invoices"), ErrorCode.UNKNOWN_COLLECTION, None),
        (_mutation("not-a-clock", {"name": "X"}), ErrorCode.INVALID_HLC, None),
        (_mutation(_stamp(SKEW_MS + 1), {"name": "X"}), ErrorCode.CLOCK_SKEW, None),
        (_mutation(_stamp(), {"name": "X"}, op="delete"), ErrorCode.INVALID_MUTATION, None),
        (_mutation(_stamp(), {"email": "x@example.com"}), ErrorCode.REQUIRED, "name"),
        (_mutation(_stamp(), {"phone": "555 0100"}, row_id=deleted_empty), ErrorCode.REQUIRED, "name"),
        (_mutation(_stamp(), {"name": "X", "duration_min": 5}), ErrorCode.UNKNOWN_FIELD, "duration_min"),
    ]
    good = _mutation(_stamp(), {"name": "Fine"})
    tombstone = Row({}, {DELETED: _stamp(-1)}, deleted=True)

    plan = _plan([m for m, _, _ in cases] + [good], current={("clients", deleted_empty): tombstone})

    outcomes = plan.outcomes[:-1]
    assert all(isinstance(o, Rejected) for o in outcomes)
    assert [(o.code, o.field) for o in outcomes if isinstance(o, Rejected)] == [(c, f) for _, c, f in cases]
    assert isinstance(plan.outcomes[-1], Applied)
    assert list(plan.rows) == [("clients", good.row_id)]


def test_several_field_errors_are_counted_in_the_message() -> None:
    plan = _plan([_mutation(_stamp(), {"name": "", "email": "nope", "phone": "x"})])

    rejected = plan.outcomes[0]
    assert isinstance(rejected, Rejected)
    assert rejected.code == ErrorCode.REQUIRED and "and 2 more problems" in rejected.message


def test_the_server_clock_absorbs_accepted_stamps_only() -> None:
    clock = _server_clock()

    _plan(
        [_mutation(_stamp(60_000), {"name": "Soon"}), _mutation(_stamp(SKEW_MS + 5), {"name": "Late"})],
        clock=clock,
    )

    assert clock.last.wall_ms == NOW_MS + 60_000


def test_server_stamped_writes_win_over_a_row_stamped_ahead() -> None:
    row_id = uuid.uuid4()
    ahead = _stamp(120_000, node="dev-fast")
    stored = Row({"name": "Fast"}, {"name": ahead, DELETED: ahead})

    plan = _plan(
        [_mutation("ignored", {"name": "From the booking form"}, row_id=row_id)],
        current={("clients", row_id): stored},
        stamp_with_server_clock=True,
    )

    row = plan.rows[("clients", row_id)]
    assert row.fields["name"] == "From the booking form"
    assert row.clocks["name"] > ahead and row.clocks["name"].endswith("-server.t")


# ---- bases: what the author of each value had seen -------------------------------


def test_a_winning_write_leaves_its_base_and_a_losing_one_changes_nothing() -> None:
    row_id = uuid.uuid4()
    key = ("clients", row_id)
    stored = Row(
        {"name": "Ann", "phone": "555 0101"}, {"name": _stamp(-30), "phone": _stamp(-5), DELETED: _stamp(-30)}
    )
    known = {"name": None, "phone": _stamp(-30), DELETED: None}
    wins = _mutation(
        _stamp(-1), {"name": "Anna"}, row_id=row_id, base={"name": _stamp(-30), DELETED: _stamp(-5)}
    )
    loses = _mutation(_stamp(-10), {"phone": "555 0102"}, row_id=row_id, base={"phone": None, DELETED: None})

    plan = _plan([wins, loses], current={key: stored}, current_bases={key: known})

    assert [type(o) for o in plan.outcomes] == [Applied, Applied]
    assert plan.bases[key] == {"name": _stamp(-30), "phone": _stamp(-30), DELETED: _stamp(-5)}


def test_a_write_without_a_base_leaves_the_keys_it_took_unknown() -> None:
    row_id = uuid.uuid4()
    key = ("clients", row_id)
    stored = Row({"name": "Ann"}, {"name": _stamp(-30), DELETED: _stamp(-30)})

    plan = _plan(
        [_mutation(_stamp(), {"name": "Anna"}, row_id=row_id)],
        current={key: stored},
        current_bases={key: {"name": None, DELETED: None}},
    )

    assert plan.bases[key] == {}


def test_a_batch_builds_on_the_bases_of_its_own_earlier_writes() -> None:
    row_id = uuid.uuid4()
    first = _mutation(_stamp(0, 0), {"name": "Ann"}, row_id=row_id, base={"name": None, DELETED: None})
    second = _mutation(
        _stamp(0, 1), {"phone": "555 0101"}, row_id=row_id, base={"phone": None, DELETED: _stamp(0, 0)}
    )

    plan = _plan([first, second])

    assert [type(o) for o in plan.outcomes] == [Applied, Applied]
    assert plan.bases[("clients", row_id)] == {"name": None, "phone": None, DELETED: _stamp(0, 0)}


def test_server_stamped_writes_are_based_on_the_row_as_stored() -> None:
    row_id = uuid.uuid4()
    key = ("clients", row_id)
    stored = Row({"name": "Ann"}, {"name": _stamp(-30), DELETED: _stamp(-20)})

    plan = _plan(
        [_mutation("ignored", {"name": "Anna", "phone": "555 0101"}, row_id=row_id, base={"name": None})],
        current={key: stored},
        stamp_with_server_clock=True,
    )

    assert plan.bases[key] == {"name": _stamp(-30), "phone": None, DELETED: _stamp(-20)}


def test_a_bad_base_refuses_its_mutation_only() -> None:
    bad = [
        (_mutation(_stamp(), {"name": "X"}, base={"phone": None}), ErrorCode.INVALID_MUTATION, "phone"),
        (_mutation(_stamp(), {"name": "X"}, base={"name": "yesterday"}), ErrorCode.INVALID_HLC, "name"),
        (_mutation(_stamp(), op="delete", base={"name": None}), ErrorCode.INVALID_MUTATION, "name"),
    ]
    good = _mutation(_stamp(), {"name": "Fine"}, base={"name": None, DELETED: None})

    plan = _plan([m for m, _, _ in bad] + [good])

    assert [(o.code, o.field) for o in plan.outcomes if isinstance(o, Rejected)] == [
        (c, f) for _, c, f in bad
    ]
    assert all("base" in o.message for o in plan.outcomes if isinstance(o, Rejected))
    assert isinstance(plan.outcomes[-1], Applied) and list(plan.rows) == [("clients", good.row_id)]
