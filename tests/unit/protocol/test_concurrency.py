"""Telling a race from a later edit: bases, how the server keeps them, what a receiver decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from protocol import DELETED, HybridLogicalClock, Row, bases_before, merge, merge_bases, mutation_row
from protocol import overwrote_unseen as unseen
from protocol.hlc import parse
from tests.unit.protocol.strategies import FAST

OLD = "000000000000001-000000-server"
MINE = "000000000000002-000000-dev-a"
THEIRS = "000000000000003-000000-dev-b"


def test_a_base_is_the_clock_each_written_key_had_before() -> None:
    clocks = {"name": OLD, DELETED: OLD}

    assert bases_before(clocks, ["name", "phone", DELETED]) == {"name": OLD, "phone": None, DELETED: OLD}
    assert bases_before({}, [DELETED]) == {DELETED: None}


def test_a_writer_that_had_my_value_replaced_it_sequentially() -> None:
    assert unseen(MINE, {"phone": MINE}, "phone") is False


def test_a_writer_that_had_an_older_value_or_none_raced_mine() -> None:
    assert unseen(MINE, {"phone": OLD}, "phone") is True
    assert unseen(MINE, {"phone": None}, "phone") is True


def test_a_writer_that_had_a_newer_value_is_reported_rather_than_trusted() -> None:
    assert unseen(MINE, {"phone": THEIRS}, "phone") is True


def test_a_write_without_a_base_for_the_key_says_nothing() -> None:
    assert unseen(MINE, {}, "phone") is None
    assert unseen(MINE, {"name": MINE}, "phone") is None


def test_kept_bases_follow_the_keys_a_write_took() -> None:
    current = {"name": OLD, "phone": OLD, DELETED: None}

    kept = merge_bases(current, {"phone": MINE, "notes": None, DELETED: OLD}, ["phone", "notes"])

    assert kept == {"name": OLD, "phone": MINE, "notes": None, DELETED: None}
    assert current == {"name": OLD, "phone": OLD, DELETED: None}  # not changed in place


def test_a_write_without_bases_leaves_its_keys_unknown() -> None:
    current = {"name": OLD, "phone": OLD}

    assert merge_bases(current, None, ["phone"]) == {"name": OLD}
    assert merge_bases(current, {"name": MINE}, ["phone"]) == {"name": OLD}
    assert merge_bases(current, {"phone": MINE}, []) == current  # the write lost: nothing moves


# ---- a simulated fleet -----------------------------------------------------------

KEYS = ("phone", "notes")
REPLICAS = ("dev-a", "dev-b", "dev-c")


@dataclass
class Replica:
    """A branch: its row, its clock, its unpushed writes and every clock it ever held per key."""

    clock: HybridLogicalClock
    row: Row = field(default_factory=Row)
    pending: list[tuple[Row, dict[str, str | None]]] = field(default_factory=list)
    held: dict[str, set[str]] = field(default_factory=dict)

    def take(self, incoming: Row) -> list[Any]:
        result = merge(self.row, incoming)
        self.row = result.row
        for key in result.changed:
            self.held.setdefault(key, set()).add(self.row.clocks[key])
        return [lost for lost in result.lost if lost.loser == "current"]


@dataclass
class Written:
    """What the writer of one stamp held when it wrote."""

    current: dict[str, str | None]
    held: dict[str, set[str]]


_steps = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.sampled_from(REPLICAS), st.sampled_from(KEYS), st.integers(0, 9)),
        st.tuples(st.sampled_from(["push", "pull", "sync"]), st.sampled_from(REPLICAS)),
    ),
    min_size=6,
    max_size=40,
)
"""Edits, pushes and pulls of three branches in any interleaving (``sync``: push, then pull)."""


@FAST
@given(steps=_steps)
def test_a_receiver_tells_exactly_whether_the_winner_had_its_value(steps: list[tuple[Any, ...]]) -> None:
    replicas = {name: Replica(HybridLogicalClock(name, wall_ms=lambda: 1)) for name in REPLICAS}
    server = Row()
    server_bases: dict[str, str | None] = {}
    written: dict[str, Written] = {}
    for step in steps:
        me = replicas[step[1]]
        if step[0] == "edit":
            key, value = step[2], f"v{step[3]}"
            incoming = mutation_row("upsert", {key: value}, me.clock.now())
            base = bases_before(me.row.clocks, incoming.clocks)
            written[incoming.clocks[key]] = Written(
                {k: me.row.clocks.get(k) for k in KEYS}, {k: set(v) for k, v in me.held.items()}
            )
            me.take(incoming)
            me.pending.append((incoming, base))
            continue
        if step[0] in ("push", "sync"):
            for incoming, base in me.pending:
                result = merge(server, incoming)
                server, server_bases = result.row, merge_bases(server_bases, base, result.changed)
            me.pending.clear()
        if step[0] in ("pull", "sync"):
            for clock in server.clocks.values():
                me.clock.observe(clock)
            for lost in me.take(server):
                if lost.field == DELETED or parse(lost.losing_hlc).node != step[1]:
                    continue
                writer = written[lost.winning_hlc]
                verdict = unseen(lost.losing_hlc, server_bases, lost.field)
                # exact: "seen" means the writer's field held my value when it edited
                assert verdict is (writer.current[lost.field] != lost.losing_hlc)
                # never missed: a writer that never held my value always counts as a race
                if lost.losing_hlc not in writer.held.get(lost.field, set()):
                    assert verdict is True
