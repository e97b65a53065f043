"""The pure half of the chaos suite: a seeded schedule, the ledger of writes, the final checks.

No I/O here, so the rules that decide "lost", "out of order" and "applied twice" are
tested by calling them (``tests/unit/support/test_chaos.py``), and the CI run
(``tests/faults/test_chaos.py``) and the soak (``bench/soak.py``) share one definition of
success. ``tests/support/chaos_run.py`` carries a schedule out against real processes.
It lives in ``tests/support`` because the benchmarks already import from there.

Theory of operation: one driver makes every write, one at a time and a small gap
apart, on a clock all processes share. So the ledger's order *is* real-time order,
and last-write-wins must leave, in every register (a field, or the deletion flag), the
value of the last write to it in the ledger. The one allowance is the product's own
promise: clocks are corrected only to within their measured uncertainty, so an earlier
write may win over writes made within both branches' uncertainty of it (a "close call",
counted, never hidden). Every written value is unique, so a final
value names the write it came from. A write that is not final must have been
overwritten knowingly (a later write whose base stamp is at least its own) or be
recorded as a conflict, with its stamp, on the branch that made it, or (the deletion
flag, the one register whose values repeat) be carried on by a later write of the same
value that is itself accounted for; anything else is a write lost.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from protocol.hlc import parse
from protocol.merge import DELETED

__all__ = [
    "FIELDS",
    "Fault",
    "FaultKind",
    "Heal",
    "Ledger",
    "Made",
    "Step",
    "Verdict",
    "Write",
    "check",
    "schedule",
]

FIELDS = ("name", "notes")
"""The client fields the driver writes: free text, so every value passes validation."""

Registers = Mapping[str, Any]
"""One row as the checks compare it: register -> value (``DELETED`` -> bool)."""


class FaultKind(Enum):
    CUT = "link cut"
    STALL = "link stalled"
    SLOW = "link slowed"
    KILL_ENGINE = "engine kill -9"
    KILL_SERVER = "server kill -9"
    RESTART_POSTGRES = "PostgreSQL restart"


_LINK = (FaultKind.CUT, FaultKind.STALL, FaultKind.SLOW)
"""Faults of one branch's relay: one at a time, since ``restore()`` ends them all."""


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault that starts now and lasts until its ``Heal``.

    ``detail`` is the stall direction, PostgreSQL's stop mode, or "" for the others.
    """

    kind: FaultKind
    branch: int | None = None
    detail: str = ""

    @property
    def slot(self) -> str:
        """What the fault occupies: no two open faults share a slot."""
        if self.kind in _LINK:
            return f"link {self.branch}"
        if self.kind is FaultKind.KILL_ENGINE:
            return f"engine {self.branch}"
        return self.kind.name


@dataclass(frozen=True, slots=True)
class Heal:
    """The end of ``fault``: the link restored, the process started again, PostgreSQL back."""

    fault: Fault


@dataclass(frozen=True, slots=True)
class Write:
    """One local write on ``branch``; the row is chosen when it runs, from what that cache has."""

    branch: int
    kind: Literal["create", "edit", "delete"]
    pick: float
    """In [0, 1): which of the branch's live rows (sorted by id) an edit or delete takes."""
    fields: tuple[str, ...] = ()

    def row(self, live: Iterable[str]) -> str | None:
        """The row this write takes among ``live`` ids; None when there is none (then it creates)."""
        ordered = sorted(live)
        return ordered[int(self.pick * len(ordered))] if ordered else None


Step = Write | Fault | Heal


def schedule(
    seed: int,
    branches: int,
    writes: int,
    *,
    fault_rate: float = 0.2,
    kinds: Sequence[FaultKind] = tuple(FaultKind),
    heal_after: tuple[int, int] = (3, 15),
) -> list[Step]:
    """A reproducible run: ``writes`` writes with faults among them, every fault healed by the end.

    Args:
        fault_rate: the chance that a fault starts before a write (if its slot is free).
        heal_after: the fewest and most writes a fault lasts.
    """
    rng = random.Random(seed)
    steps: list[Step] = []
    open_until: dict[str, tuple[Fault, int]] = {}
    for n in range(writes):
        for slot, (fault, until) in sorted(open_until.items()):
            if until <= n:
                steps.append(Heal(fault))
                del open_until[slot]
        if rng.random() < fault_rate:
            fault = _fault(rng, rng.choice(kinds), branches)
            if fault.slot not in open_until:
                steps.append(fault)
                open_until[fault.slot] = (fault, n + rng.randint(*heal_after))
        steps.append(_write(rng, branches))
    steps += [Heal(fault) for _, (fault, _) in sorted(open_until.items())]
    return steps


def _fault(rng: random.Random, kind: FaultKind, branches: int) -> Fault:
    if kind is FaultKind.STALL:
        return Fault(kind, rng.randrange(branches), rng.choice(("both", "to_server", "to_client")))
    if kind is FaultKind.RESTART_POSTGRES:
        return Fault(kind, None, rng.choice(("fast", "immediate")))
    if kind is FaultKind.KILL_SERVER:
        return Fault(kind)
    return Fault(kind, rng.randrange(branches))


def _write(rng: random.Random, branches: int) -> Write:
    branch, roll, pick = rng.randrange(branches), rng.random(), rng.random()
    if roll < 0.3:
        return Write(branch, "create", pick, FIELDS if rng.random() < 0.5 else FIELDS[:1])
    if roll < 0.85:
        chosen = tuple(name for name in FIELDS if rng.random() < 0.5)
        return Write(branch, "edit", pick, chosen or (rng.choice(FIELDS),))
    return Write(branch, "delete", pick)


# ---- the ledger -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Made:
    """A write as made: its place in real time, its row, what it set, its stamps and bases.

    ``bases`` holds, per register written, the base its mutation carried: the stamp the
    branch's cache held in the write's own transaction (None when the register was empty),
    what the writer had seen.
    """

    seq: int
    branch: int
    row_id: str
    values: Registers
    stamps: Mapping[str, str]
    bases: Mapping[str, str | None]
    at_ms: int = 0
    """The shared clock when it was made."""
    uncertainty_ms: int = 0
    """How far the branch's corrected clock may be off then, by its own measure."""


@dataclass
class Ledger:
    """Every write made, in the order made (real-time order)."""

    writes: list[Made] = field(default_factory=list)

    @staticmethod
    def values_for(seq: int, write: Write) -> dict[str, Any]:
        """The registers ``write`` sets: a unique text per field, and the deletion flag."""
        if write.kind == "delete":
            return {DELETED: True}
        return {**{name: f"{name} {seq}" for name in write.fields}, DELETED: False}

    def record(self, made: Made) -> None:
        assert not self.writes or made.seq > self.writes[-1].seq, "writes are recorded in order"
        self.writes.append(made)

    def expected(self) -> dict[str, dict[str, Any]]:
        """Row id -> register -> the last value written to it."""
        rows: dict[str, dict[str, Any]] = {}
        for made in self.writes:
            rows.setdefault(made.row_id, {}).update(made.values)
        return rows

    def by_branch(self) -> Counter[int]:
        return Counter(made.branch for made in self.writes)


# ---- the checks ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the final state says; ``ok`` only when every list is empty."""

    writes_checked: int
    lost: list[Made]
    """Acknowledged writes neither final, nor overwritten knowingly, nor recorded as a conflict."""
    out_of_order: list[str]
    """Registers whose final value is not the last write to them, beyond the clocks' uncertainty."""
    mismatches: list[str]
    """Caches that differ from the server."""
    accounting: list[str]
    """Pending, rejected, or applied a number of times other than once."""
    close_calls: int = 0
    """Registers won by an earlier write made within the two clocks' uncertainty of the last:
    the order the product promises only beyond that (not a fault; counted to show how tight)."""

    @property
    def ok(self) -> bool:
        return not (self.lost or self.out_of_order or self.mismatches or self.accounting)

    def problems(self) -> list[str]:
        lost = [f"lost: write {m.seq} of branch {m.branch} to {m.row_id} {dict(m.values)}" for m in self.lost]
        return [*lost, *self.out_of_order, *self.mismatches, *self.accounting]


def check(
    ledger: Ledger,
    server: Mapping[str, Registers],
    caches: Sequence[Mapping[str, Registers]],
    conflicts: Sequence[Iterable[tuple[str, str, str]]],
    *,
    applied: int,
    pending: Sequence[int],
    rejected: Sequence[int],
) -> Verdict:
    """Judge a healed run.

    Args:
        server: row id -> registers, every row the server has (deleted ones included).
        caches: the same, per branch, from its cache.
        conflicts: per branch, the (row id, register, my stamp) of each conflict it recorded.
        applied: how many mutations the server applied.
        pending, rejected: per branch, what its outbox still holds and what was refused.
    """
    expected = ledger.expected()
    by_row: dict[str, list[Made]] = {}
    for made in ledger.writes:
        by_row.setdefault(made.row_id, []).append(made)
    out_of_order: list[str] = []
    close_calls = 0
    for row_id, registers in expected.items():
        final = server.get(row_id, {})
        for register, value in registers.items():
            if final.get(register) == value:
                continue
            if _close_call(by_row[row_id], register, final.get(register)):
                close_calls += 1
            else:
                out_of_order.append(
                    f"{row_id} {register}: final {final.get(register)!r}, last written {value!r}"
                )
    mismatches = [
        f"branch {n}: {row_id} is {cache.get(row_id)!r} there, {server.get(row_id)!r} on the server"
        for n, cache in enumerate(caches)
        for row_id in sorted(set(cache) | set(server))
        if _visible(cache.get(row_id)) != _visible(server.get(row_id))
    ]
    recorded = [set(branch) for branch in conflicts]
    accounted: set[tuple[int, str]] = set()
    for row_id, row_writes in by_row.items():
        accounted |= _accounted(row_writes, server.get(row_id, {}), recorded)
    lost = [made for made in ledger.writes if any((made.seq, r) not in accounted for r in made.values)]
    accounting = [f"unknown row on the server: {row_id}" for row_id in sorted(set(server) - set(expected))]
    if applied != len(ledger.writes):
        accounting.append(f"the server applied {applied} mutations for {len(ledger.writes)} writes")
    accounting += [f"branch {n}: {count} pending" for n, count in enumerate(pending) if count]
    accounting += [f"branch {n}: {count} rejected" for n, count in enumerate(rejected) if count]
    return Verdict(len(ledger.writes), lost, out_of_order, mismatches, accounting, close_calls)


def _close_call(row_writes: Sequence[Made], register: str, final: Any) -> bool:
    """Whether ``final`` came from the last write of it to ``register`` and every later write
    with another value was made within both clocks' uncertainty of it."""
    to_it = [made for made in row_writes if register in made.values]
    winner = next((made for made in reversed(to_it) if made.values[register] == final), None)
    return winner is not None and all(
        later.at_ms - winner.at_ms <= winner.uncertainty_ms + later.uncertainty_ms
        for later in to_it
        if later.seq > winner.seq and later.values[register] != final
    )


def _visible(registers: Registers | None) -> Registers | None:
    """What a user can see of a row: nothing when deleted (a cache may keep a deleted row's
    old values, or never have had the row at all)."""
    if registers is None or registers.get(DELETED, False):
        return None
    return {key: value for key, value in registers.items() if value is not None}


def _accounted(
    row_writes: Sequence[Made], final: Registers, recorded: Sequence[set[tuple[str, str, str]]]
) -> set[tuple[int, str]]:
    """The (seq, register) of each write to one row whose value is accounted for.

    It is, when the value is final; or recorded as a conflict, with its stamp, on the branch
    that wrote it; or a later write to the register was based on it (or on a newer value);
    or a later write of the same value (the deletion flag of one edit after another) carried
    it on and is itself accounted for: that one then holds the loss, if there is one.
    Worked from the last write back, so "later" is always decided first.
    """
    done: set[tuple[int, str]] = set()
    for n in range(len(row_writes) - 1, -1, -1):
        made, later = row_writes[n], row_writes[n + 1 :]
        for register, value in made.values.items():
            stamp = parse(made.stamps[register])
            followers = [w for w in later if register in w.values]
            if (
                final.get(register) == value
                or (made.row_id, register, made.stamps[register]) in recorded[made.branch]
                or any(
                    (base := w.bases.get(register)) is not None and parse(base) >= stamp for w in followers
                )
                or any(w.values[register] == value and (w.seq, register) in done for w in followers)
            ):
                done.add((made.seq, register))
    return done
