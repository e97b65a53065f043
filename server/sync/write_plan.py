"""What a batch of mutations does to the rows it touches, decided without any I/O.

``server.sync.write_path`` loads the touched rows and the already-answered mutation ids, asks
``plan_batch`` what to do, then stores the plan. Keeping the decisions here means the
rules (duplicates, validation, clock checks, merge, what counts as ``lost``) are
tested by calling one function, and the database code only moves rows.

Each mutation is judged on its own against the row state the batch has built so far,
so a rejected mutation never changes what its neighbours see or do.

Beside each row's state the plan keeps its ``bases`` (``protocol.concurrency``): per
key, what the author of the current value had seen, so a receiver can tell a race
from a later edit.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from protocol.collections import COLLECTIONS, Collection
from protocol.concurrency import Bases, bases_before, merge_bases
from protocol.errors import ErrorCode, FieldError, InvalidTimestamp
from protocol.hlc import HybridLogicalClock, Timestamp, parse
from protocol.merge import DELETED, Lost, Row, compaction_row, merge, mutation_row
from protocol.messages import Mutation
from protocol.validate import validate_fields

__all__ = [
    "Applied",
    "Duplicate",
    "Outcome",
    "Plan",
    "Rejected",
    "RowKey",
    "payload_digest",
    "plan_batch",
    "plan_compaction",
]

RowKey = tuple[str, uuid.UUID]
"""A row: (collection name, row id)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """The mutation was merged into row ``key``; ``lost`` lists its values that lost."""

    key: RowKey
    lost: tuple[Lost, ...]
    payload: bytes = field(default=b"", compare=False)
    """The mutation's ``payload_digest``, stored with its answer."""


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The mutation id was applied before: answer as then, change nothing.

    ``previous`` is the stored answer (``{"seq", "lost"}``, and ``"payload"``: the
    ``payload_digest`` it was applied with, absent for answers stored before digests
    were kept) of an earlier request, or the ``Applied`` outcome of the same id earlier
    in this batch.
    """

    previous: Mapping[str, Any] | Applied


@dataclass(frozen=True, slots=True)
class Rejected:
    """The mutation breaks a rule; nothing of it is applied."""

    code: ErrorCode
    message: str
    field: str | None = None


Outcome = Applied | Duplicate | Rejected


@dataclass
class Plan:
    """One outcome per mutation (same order), and the final state and bases of every changed row."""

    outcomes: list[Outcome] = field(default_factory=list)
    rows: dict[RowKey, Row] = field(default_factory=dict)
    bases: dict[RowKey, dict[str, str | None]] = field(default_factory=dict)
    """Same keys as ``rows``: per field, the base of the write that set its value."""


def plan_batch(
    mutations: Sequence[Mutation],
    current: Mapping[RowKey, Row],
    answered: Mapping[uuid.UUID, Mapping[str, Any]],
    clock: HybridLogicalClock,
    *,
    now_ms: int,
    max_skew_ms: int,
    stamp_with_server_clock: bool = False,
    current_bases: Mapping[RowKey, Bases] | None = None,
    author_node: str | None = None,
) -> Plan:
    """Decide every mutation of a batch, in order.

    Args:
        mutations: the batch, in the order its author made them.
        current: the stored state of the rows the batch touches (absent: no row yet).
        answered: stored answers of mutation ids already applied by earlier requests.
        clock: the server's clock; it observes every accepted stamp, and stamps each
            mutation itself when ``stamp_with_server_clock`` (REST writes).
        now_ms: the server's wall clock, for the ``clock_skew`` check.
        max_skew_ms: how far ahead of ``now_ms`` a stamp may be.
        stamp_with_server_clock: ignore the mutations' ``hlc`` and stamp them now,
            after the row's own clocks, so the write wins like a fresh edit; its base
            is then the row as stored (an edit made with the current state in hand).
        current_bases: the stored bases of the rows in ``current`` (absent: none known).
        author_node: the pushing device's id: a pushed stamp that names another node is
            taken as this device's, at the same wall time and counter (so its order among
            the device's writes stays), and no device writes, or wins conflicts, in another's
            name. An older app pushes such stamps: writes queued before its enrolment (its
            local node) or before a re-enrolment (its old id), and an epoch push-back that
            relays another branch's value. None: stamps are kept as pushed.
    """
    plan = Plan()
    rows: dict[RowKey, Row] = {}
    applied_here: dict[uuid.UUID, Applied] = {}
    for mutation in mutations:
        digest = payload_digest(mutation)
        earlier = _earlier_answer(mutation.id, digest, answered, applied_here)
        if earlier is not None:
            plan.outcomes.append(earlier)
            continue
        collection = COLLECTIONS.get(mutation.collection)
        if collection is None:
            plan.outcomes.append(
                Rejected(ErrorCode.UNKNOWN_COLLECTION, f"no collection called {mutation.collection[:80]!r}")
            )
            continue
        key = (collection.name, mutation.row_id)
        row = rows.get(key) or current.get(key) or Row()
        if stamp_with_server_clock:
            if row.clocks:
                clock.observe(max(row.clocks.values()))
            hlc = clock.now()
        else:
            hlc = mutation.hlc
        stamp = _check_stamp(hlc, now_ms=now_ms, max_skew_ms=max_skew_ms)
        if isinstance(stamp, Rejected):
            plan.outcomes.append(stamp)
            continue
        if author_node is not None and not stamp_with_server_clock and stamp.node != author_node:
            stamp = Timestamp(stamp.wall_ms, stamp.counter, author_node)
            hlc = str(stamp)
        fields = _clean_fields(collection, mutation, row)
        if isinstance(fields, Rejected):
            plan.outcomes.append(fields)
            continue
        refused = _check_base(mutation)
        if refused is not None:
            plan.outcomes.append(refused)
            continue
        clock.observe(stamp)
        incoming = mutation_row(mutation.op, fields, hlc)
        result = merge(row, incoming)
        if result.changed:
            base = bases_before(row.clocks, incoming.clocks) if stamp_with_server_clock else mutation.base
            known = plan.bases[key] if key in plan.bases else (current_bases or {}).get(key, {})
            rows[key] = plan.rows[key] = result.row
            plan.bases[key] = merge_bases(known, base, result.changed)
        applied = Applied(key, tuple(lost for lost in result.lost if lost.loser == "incoming"), digest)
        applied_here[mutation.id] = applied
        plan.outcomes.append(applied)
    return plan


def payload_digest(mutation: Mutation) -> bytes:
    """SHA-256 of what a mutation writes (collection, row, op, fields), to tell a replay
    from a different write that reuses its id. The stamp and base are left out: a device
    re-stamps a queued write after a ``clock_skew`` answer, and that is still a replay."""
    payload = [mutation.collection, str(mutation.row_id), mutation.op, mutation.fields]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("ascii")).digest()


def _earlier_answer(
    mutation_id: uuid.UUID,
    digest: bytes,
    answered: Mapping[uuid.UUID, Mapping[str, Any]],
    applied_here: Mapping[uuid.UUID, Applied],
) -> Duplicate | Rejected | None:
    """A replay's earlier answer, a refusal when the id came with another write, or None."""
    previous: Mapping[str, Any] | Applied
    if mutation_id in applied_here:
        previous = applied_here[mutation_id]
        earlier_digest = previous.payload
    elif mutation_id in answered:
        previous = answered[mutation_id]
        earlier_digest = previous.get("payload", digest)  # kept before digests were: a replay
    else:
        return None
    if earlier_digest != digest:
        return Rejected(
            ErrorCode.INVALID_MUTATION,
            f"mutation id {mutation_id} was already used for a different write; every write needs its own id",
        )
    return Duplicate(previous)


def plan_compaction(current: Mapping[RowKey, Row], current_bases: Mapping[RowKey, Bases]) -> Plan:
    """Clear the values of the deleted rows in ``current`` (housekeeping's small tombstones).

    Each row takes ``CLEARED`` at its own ``DELETED`` stamp, so no winner changes: a later
    edit still brings it back, with only the fields it writes. Rows that are live, or
    cleared already, are left out of the plan (they may have changed since they were chosen).
    """
    plan = Plan()
    for key, row in current.items():
        if not row.deleted or DELETED not in row.clocks:
            continue
        result = merge(row, compaction_row(row.clocks[DELETED]))
        if result.changed:
            plan.rows[key] = result.row
            plan.bases[key] = merge_bases(current_bases.get(key, {}), None, result.changed)
    return plan


def _check_stamp(hlc: str, *, now_ms: int, max_skew_ms: int) -> Timestamp | Rejected:
    """The mutation's HLC, unless it is not one or is too far ahead of the server."""
    try:
        stamp = parse(hlc)
    except InvalidTimestamp as exc:
        return Rejected(ErrorCode.INVALID_HLC, str(exc))
    if stamp.wall_ms > now_ms + max_skew_ms:
        ahead_s = (stamp.wall_ms - now_ms) / 1000
        return Rejected(
            ErrorCode.CLOCK_SKEW,
            f"stamped {ahead_s:.0f} s ahead of the server clock (at most {max_skew_ms / 1000:.0f} s allowed);"
            " correct the clock offset and stamp again",
        )
    return stamp


def _check_base(mutation: Mutation) -> Rejected | None:
    """Why the mutation's ``base`` is refused: a key it does not write, or a clock that is not an HLC."""
    if not mutation.base:
        return None
    for key, clock in mutation.base.items():
        if key != DELETED and key not in mutation.fields:
            return Rejected(
                ErrorCode.INVALID_MUTATION,
                f"base names {key[:80]!r}, which this mutation does not write",
                key,
            )
        if clock is not None:
            try:
                parse(clock)
            except InvalidTimestamp as exc:
                return Rejected(ErrorCode.INVALID_HLC, f"base of {key[:80]!r}: {exc}", key)
    return None


def _clean_fields(collection: Collection, mutation: Mutation, row: Row) -> dict[str, Any] | Rejected:
    """The mutation's normalised fields, or why they are refused."""
    if mutation.op == "delete":
        if mutation.fields:
            return Rejected(ErrorCode.INVALID_MUTATION, "a delete carries no fields")
        return {}
    creating = not row.exists or (row.deleted and not row.fields)
    clean, errors = validate_fields(collection, mutation.fields, creating=creating)
    if errors:
        return _first(errors)
    return clean


def _first(errors: list[FieldError]) -> Rejected:
    first = errors[0]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return Rejected(first.code, first.message + more, first.field)
