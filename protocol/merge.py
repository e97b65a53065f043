"""The one merge rule: last-write-wins per field, ordered by hybrid logical clock.

A row is an LWW map: every field holds (value, HLC of the write that set it). The
deletion state is one more register, ``DELETED``: a delete writes ``True``, every
upsert writes ``False`` with its own stamp, so an edit stamped later than the delete
brings the row back and an older edit does not.

A third register, ``CLEARED``, makes a deleted row small: its stamp is the point up to
which values are cleared. The merged row keeps the greater ``CLEARED`` of both sides
and drops every field (value and clock) stamped at or before it, so a stale write
(stamped before the delete) is ignored and reports no conflict. The server writes it
(``compaction_row``) once a row has been deleted longer than the retention, with the
row's own ``DELETED`` stamp, so it changes no winner. A later edit still brings the
row back, but with only the fields written after the delete.

``merge`` is commutative, associative and idempotent on the row state (a CRDT), so
the server and every desktop converge whatever order changes arrive in. Equal stamps
mean the same write; if a misbehaving peer sends two different values with one stamp
the larger canonical JSON wins, so convergence holds even then.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from protocol.hlc import parse

__all__ = [
    "CLEARED",
    "DELETED",
    "Lost",
    "MergeResult",
    "Row",
    "compaction_row",
    "merge",
    "mutation_row",
    "wire_clocks",
]

DELETED = "_deleted"
"""Clock key of the deletion register (never a real field name)."""
CLEARED = "_cleared"
"""Clock key of the clearing register: fields stamped at or before it are gone (never a field name)."""
_REGISTERS = frozenset({DELETED, CLEARED})


@dataclass(frozen=True, slots=True)
class Row:
    """A row's replicated state: field values, their clocks and the deletion flag.

    ``clocks`` has one entry per field ever written, plus ``DELETED`` once the row
    has been created or deleted, plus ``CLEARED`` once its old values were cleared.
    A field in ``clocks`` but not in ``fields`` is null.
    """

    fields: Mapping[str, Any] = field(default_factory=dict)
    clocks: Mapping[str, str] = field(default_factory=dict)
    deleted: bool = False

    def value(self, key: str) -> Any:
        """The value of ``key``; ``DELETED`` reads the deletion flag."""
        return self.deleted if key == DELETED else self.fields.get(key)

    @property
    def exists(self) -> bool:
        """Whether any write has reached this row."""
        return bool(self.clocks)


@dataclass(frozen=True, slots=True)
class Lost:
    """One value that lost a last-write-wins race: the conflict record staff see."""

    field: str
    losing_value: Any
    losing_hlc: str
    winning_value: Any
    winning_hlc: str
    winner_device: str
    """The node part of the winning HLC: the device (or server) that wrote it."""
    loser: Literal["current", "incoming"]
    """Which side of ``merge`` held the losing value."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "losing_value": self.losing_value,
            "losing_hlc": self.losing_hlc,
            "winning_value": self.winning_value,
            "winning_hlc": self.winning_hlc,
            "winner_device": self.winner_device,
        }


@dataclass(frozen=True, slots=True)
class MergeResult:
    row: Row
    lost: tuple[Lost, ...]
    changed: tuple[str, ...]
    """Keys whose stored value or clock the incoming write replaced."""


def mutation_row(op: Literal["upsert", "delete"], fields: Mapping[str, Any], hlc: str) -> Row:
    """The partial row one mutation writes: its fields and the deletion register."""
    if op == "delete":
        return Row({}, {DELETED: hlc}, deleted=True)
    clocks = dict.fromkeys(fields, hlc)
    clocks[DELETED] = hlc
    return Row(dict(fields), clocks, deleted=False)


def compaction_row(hlc: str) -> Row:
    """The partial row that clears every value stamped at or before ``hlc`` (a tombstone's
    own ``DELETED`` stamp, so nothing that was winning changes)."""
    return Row({}, {CLEARED: hlc}, deleted=False)


def wire_clocks(clocks: Mapping[str, str], field_names: Iterable[str]) -> dict[str, str]:
    """``clocks`` as a change on the wire carries them: a cleared row also names every field
    it has no clock for as null at the ``CLEARED`` stamp.

    A desktop that predates ``CLEARED`` drops that key, and this is what makes it clear
    its copy too (the null is newer than any value written before the delete); a newer
    one ignores those entries, as they are stamped at the ``CLEARED`` stamp.
    """
    wired = dict(clocks)
    cleared = clocks.get(CLEARED)
    if cleared is not None:
        for name in field_names:
            wired.setdefault(name, cleared)
    return wired


def merge(current: Row, incoming: Row) -> MergeResult:
    """Merge ``incoming`` (a whole or partial row) into ``current``.

    For every key ``incoming`` has a clock for, the greater HLC wins. Returns the
    merged row, the values that lost (from either side, only when they differ from
    the winner) and the keys that changed.
    """
    # None is stored as absence (see Row), whichever way the caller built ``current``,
    # so equal states compare equal whatever order they were merged in.
    cleared = max(current.clocks.get(CLEARED, ""), incoming.clocks.get(CLEARED, "")) or None
    fields = {key: value for key, value in current.fields.items() if value is not None}
    clocks = dict(current.clocks)
    deleted = current.deleted
    lost: list[Lost] = []
    changed: list[str] = []
    for key, in_clock in incoming.clocks.items():
        if key == CLEARED or _is_cleared(key, in_clock, cleared):
            continue  # a stale value: it can neither win nor lose
        in_value = incoming.value(key)
        cur_clock = current.clocks.get(key)
        if cur_clock is None or _is_cleared(key, cur_clock, cleared):
            take = True
        else:
            cur_value = current.value(key)
            if in_clock == cur_clock:
                take = _canonical(in_value) > _canonical(cur_value)
            else:
                take = in_clock > cur_clock
            if _canonical(in_value) != _canonical(cur_value):
                if take:
                    lost.append(_lost(key, cur_value, cur_clock, in_value, in_clock, "current"))
                else:
                    lost.append(_lost(key, in_value, in_clock, cur_value, cur_clock, "incoming"))
        if not take:
            continue
        if key == DELETED:
            deleted = bool(in_value)
        elif in_value is None:
            fields.pop(key, None)
        else:
            fields[key] = in_value
        changed.append(key)
        clocks[key] = in_clock
    if cleared is not None:
        changed.extend(_clear(fields, clocks, cleared))
    return MergeResult(Row(fields, clocks, deleted), tuple(lost), tuple(changed))


def _is_cleared(key: str, clock: str, cleared: str | None) -> bool:
    """Whether the value of ``key`` stamped ``clock`` is gone under ``cleared``."""
    return cleared is not None and key not in _REGISTERS and clock <= cleared


def _clear(fields: dict[str, Any], clocks: dict[str, str], cleared: str) -> list[str]:
    """Set ``CLEARED`` and drop the fields stamped at or before it; returns the keys that changed."""
    gone = [key for key, clock in clocks.items() if _is_cleared(key, clock, cleared)]
    for key in gone:
        del clocks[key]
        fields.pop(key, None)
    if clocks.get(CLEARED) != cleared:
        clocks[CLEARED] = cleared
        gone.append(CLEARED)
    return gone


def _lost(
    key: str,
    losing_value: Any,
    losing_hlc: str,
    winning_value: Any,
    winning_hlc: str,
    loser: Literal["current", "incoming"],
) -> Lost:
    return Lost(key, losing_value, losing_hlc, winning_value, winning_hlc, parse(winning_hlc).node, loser)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
