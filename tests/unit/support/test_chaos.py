"""The chaos suite's pure parts: the schedule is reproducible and heals everything; the checks
catch a lost write, a wrong winner, a cache that differs, and bad accounting."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from protocol.hlc import Timestamp
from protocol.merge import DELETED
from tests.support.chaos import Fault, FaultKind, Heal, Ledger, Made, Verdict, Write, check, schedule

Recorded = tuple[str, str, str]


def test_a_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert schedule(7, 3, 200) == schedule(7, 3, 200)
    assert schedule(7, 3, 200) != schedule(8, 3, 200)


@pytest.mark.parametrize("seed", range(20))
def test_every_fault_is_healed_and_no_two_open_faults_share_a_slot(seed: int) -> None:
    steps = schedule(seed, 4, 300, fault_rate=0.5)
    open_slots: set[str] = set()
    for step in steps:
        match step:
            case Fault() as fault:
                assert fault.slot not in open_slots
                open_slots.add(fault.slot)
            case Heal(fault=fault):
                open_slots.remove(fault.slot)
            case Write() as write:
                assert 0 <= write.branch < 4 and 0 <= write.pick < 1
                assert write.kind == "delete" or write.fields
    assert open_slots == set()
    assert sum(isinstance(step, Write) for step in steps) == 300


def test_the_schedule_uses_every_kind_it_is_given_and_no_other() -> None:
    kinds = Counter(step.kind for step in schedule(1, 3, 2000) if isinstance(step, Fault))
    assert set(kinds) == set(FaultKind)
    only = {step.kind for step in schedule(1, 3, 500, kinds=[FaultKind.CUT]) if isinstance(step, Fault)}
    assert only == {FaultKind.CUT}


def test_a_write_picks_among_the_live_rows_in_id_order() -> None:
    assert Write(0, "edit", 0.0).row(["b", "a", "c"]) == "a"
    assert Write(0, "edit", 0.99).row(["b", "a", "c"]) == "c"
    assert Write(0, "delete", 0.5).row([]) is None


# ---- the checks --------------------------------------------------------------------------


def _stamp(ms: int, node: str = "north") -> str:
    return str(Timestamp(1_700_000_000_000 + ms, 0, node))


class _Run:
    """A ledger built write by write, a second apart, with the stamps a correct engine would give."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.seq = 0

    def write(self, branch: int, row_id: str, base: str | None = None, **values: Any) -> Made:
        self.seq += 1
        stamp = _stamp(self.seq, f"b{branch}")
        values = values or {"notes": f"notes {self.seq}"}
        values.setdefault(DELETED, False)
        stamps, bases = dict.fromkeys(values, stamp), dict.fromkeys(values, base)
        made = Made(self.seq, branch, row_id, values, stamps, bases, at_ms=1000 * self.seq, uncertainty_ms=5)
        self.ledger.record(made)
        return made


def _verdict(
    run: _Run,
    server: dict[str, dict[str, Any]],
    conflicts: list[set[Recorded]] | None = None,
    **overrides: Any,
) -> Verdict:
    options: dict[str, Any] = {"applied": len(run.ledger.writes), "pending": [0, 0], "rejected": [0, 0]}
    options.update(overrides)
    caches = options.pop("caches", [server, server])
    return check(run.ledger, server, caches, conflicts or [set(), set()], **options)


def test_a_run_whose_state_is_the_last_write_of_every_register_passes() -> None:
    run = _Run()
    first = run.write(0, "r", name="name 1", notes="notes 1")
    run.write(1, "r", base=first.stamps["notes"], notes="notes 2")
    verdict = _verdict(run, {"r": {"name": "name 1", "notes": "notes 2", DELETED: False}})
    assert verdict.ok, verdict.problems()
    assert verdict.writes_checked == 2


def test_an_earlier_write_winning_is_out_of_order_and_the_later_one_lost() -> None:
    run = _Run()
    first = run.write(0, "r", notes="notes 1")
    later = run.write(1, "r", base=first.stamps["notes"], notes="notes 2")
    verdict = _verdict(run, {"r": {"notes": "notes 1", DELETED: False}})
    assert not verdict.ok
    assert verdict.out_of_order == ["r notes: final 'notes 1', last written 'notes 2'"]
    assert verdict.lost == [later]


def test_an_earlier_write_may_win_only_within_both_clocks_uncertainty() -> None:
    run = _Run()
    run.write(0, "r", notes="notes 1")
    run.write(1, "r", base=None, notes="notes 2")
    close = [replace(m, at_ms=1000 + 30 * m.seq, uncertainty_ms=20) for m in run.ledger.writes]
    run.ledger = Ledger(close)
    server = {"r": {"notes": "notes 1", DELETED: False}}
    conflict = [set(), {("r", "notes", close[1].stamps["notes"])}]  # the later one lost a race
    verdict = _verdict(run, server, conflict)
    assert verdict.ok and verdict.close_calls == 1, verdict.problems()
    apart = [replace(m, uncertainty_ms=10) for m in close]  # 30 ms apart, 20 ms of uncertainty
    run.ledger = Ledger(apart)
    assert _verdict(run, server, conflict).out_of_order == [
        "r notes: final 'notes 1', last written 'notes 2'"
    ]


def test_a_concurrent_overwrite_is_a_loss_unless_the_writer_recorded_the_conflict() -> None:
    run = _Run()
    first = run.write(0, "r", notes="notes 1")
    mine = run.write(0, "r", base=first.stamps["notes"], notes="notes 2")
    run.write(1, "r", base=first.stamps["notes"], notes="notes 3")  # made without seeing notes 2
    server = {"r": {"notes": "notes 3", DELETED: False}}
    assert _verdict(run, server).lost == [mine]
    assert _verdict(run, server, [{("r", "notes", mine.stamps["notes"])}, set()]).ok


def test_an_overwrite_based_on_a_newer_value_accounts_for_the_older_one() -> None:
    run = _Run()
    old = run.write(0, "r", notes="notes 1")
    newer = run.write(1, "r", base=old.stamps["notes"], notes="notes 2")
    run.write(0, "r", base=newer.stamps["notes"], notes="notes 3")
    assert _verdict(run, {"r": {"notes": "notes 3", DELETED: False}}).ok


def test_a_delete_then_an_unseen_edit_needs_the_delete_recorded_as_lost() -> None:
    run = _Run()
    created = run.write(0, "r", name="name 1")
    gone = run.write(0, "r", base=created.stamps[DELETED], **{DELETED: True})
    run.write(1, "r", base=created.stamps[DELETED], notes="notes 3")  # brings the row back
    server = {"r": {"name": "name 1", "notes": "notes 3", DELETED: False}}
    assert _verdict(run, server).lost == [gone]
    assert _verdict(run, server, [{("r", DELETED, gone.stamps[DELETED])}, set()]).ok


def test_an_edit_carried_on_by_an_unseen_edit_is_lost_with_it_only_where_that_one_is() -> None:
    run = _Run()
    created = run.write(0, "r", name="name 1")
    mine = run.write(1, "r", base=created.stamps["name"], name="name 2")  # its deletion flag: False
    theirs = run.write(2, "r", base=created.stamps[DELETED], notes="notes 3")  # False again, unseen
    run.write(0, "r", base=created.stamps[DELETED], **{DELETED: True})  # saw neither
    server = {"r": {"name": "name 2", "notes": "notes 3", DELETED: True}}
    # branch 2 held the flag when the delete came, so the conflict is recorded there, not on branch 1
    recorded: list[set[Recorded]] = [set(), set(), {("r", DELETED, theirs.stamps[DELETED])}]
    assert _verdict(run, server, recorded, pending=[0, 0, 0], rejected=[0, 0, 0]).ok
    assert _verdict(run, server, [set(), set(), set()], pending=[0, 0, 0], rejected=[0, 0, 0]).lost == [
        mine,
        theirs,
    ]


def test_a_cache_that_differs_from_the_server_is_a_mismatch_but_a_deleted_row_may_be_absent() -> None:
    run = _Run()
    run.write(0, "a", name="name 1")
    created = run.write(0, "b", name="name 2")
    run.write(1, "b", base=created.stamps[DELETED], **{DELETED: True})
    server = {"a": {"name": "name 1", DELETED: False}, "b": {"name": "name 2", DELETED: True}}
    stale = {"a": {"name": "something else", DELETED: False}}
    verdict = _verdict(run, server, caches=[server, stale])
    assert len(verdict.mismatches) == 1 and verdict.mismatches[0].startswith("branch 1: a ")
    assert _verdict(run, server, caches=[server, {"a": server["a"]}]).ok


def test_pending_rejected_unknown_rows_and_double_applies_fail_the_run() -> None:
    run = _Run()
    run.write(0, "r", name="name 1")
    server = {"r": {"name": "name 1", DELETED: False}}
    assert _verdict(run, server, applied=2).accounting == ["the server applied 2 mutations for 1 writes"]
    assert _verdict(run, server, pending=[0, 3]).accounting == ["branch 1: 3 pending"]
    assert _verdict(run, server, rejected=[1, 0]).accounting == ["branch 0: 1 rejected"]
    extra = {**server, "x": {"name": "from nowhere", DELETED: False}}
    assert "unknown row on the server: x" in _verdict(run, extra, caches=[extra, extra]).accounting


def test_the_values_of_a_write_are_unique_per_step() -> None:
    assert Ledger.values_for(5, Write(0, "edit", 0.1, ("notes",))) == {"notes": "notes 5", DELETED: False}
    assert Ledger.values_for(6, Write(0, "delete", 0.1)) == {DELETED: True}
