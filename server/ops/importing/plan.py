"""Pure: what an import does with each merged old record, given what earlier imports wrote.

For each record: resolve its links (a client by its old id, a branch by name or id), check
its fields with ``protocol.validate`` as every write is checked, then compare them with what
the last import wrote (``legacy_ids``):

- an old id seen for the first time becomes a new record (``created``);
- a field whose source value changed since the last import is written (``updated``);
  fields unchanged at the source are left alone, even where a branch has edited them since;
- a value from a copy older than the one an earlier run imported does not win (a branch's
  late export must not undo a newer value), unless an override chose it; that is reported;
- nothing changed at the source: ``unchanged``, nothing is written.

Clients are planned before appointments, so an appointment can link a client imported in
the same run; one whose client was refused or is nowhere is refused with the reason.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from protocol.collections import COLLECTIONS
from protocol.transfer.copies import Candidate, MergedRecord
from protocol.transfer.mapping import Link, Refusal
from protocol.validate import validate_fields
from server.store.legacy_ids import LegacyId

__all__ = [
    "IMPORT_NAMESPACE",
    "BranchIndex",
    "KeptEarlier",
    "Links",
    "Outcome",
    "RecordPlan",
    "plan_records",
    "record_id_for",
]

IMPORT_NAMESPACE = uuid.UUID("8f8e2c1e-6b0a-4f57-9a55-0c7c6b1f3d21")
"""Namespace of the ids new imported records get: the same old id gets the same id every run."""


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class KeptEarlier:
    """A field where an earlier import's newer value beat this run's copy."""

    field: str
    kept: Mapping[str, Any]
    offered: Candidate


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """What happens to one old record."""

    collection: str
    legacy_id: str
    record_id: uuid.UUID
    outcome: Outcome
    where: str
    write: dict[str, Any] = field(default_factory=dict)
    """The fields to write (validated wire values); empty unless created or updated."""
    stored: dict[str, Any] = field(default_factory=dict)
    """The record's ``legacy_ids.fields`` after this run."""
    reason: str = ""
    unresolved: tuple[str, ...] = ()
    """Links that named nothing (the reason says so too)."""
    kept_earlier: tuple[KeptEarlier, ...] = ()

    def legacy_row(self, system: str) -> LegacyId:
        return LegacyId(system, self.collection, self.legacy_id, self.record_id, self.stored)


@dataclass(frozen=True, slots=True)
class BranchIndex:
    """The branches, found by name (any letter case) or by id."""

    ids: Mapping[str, uuid.UUID]

    @classmethod
    def of(cls, branches: Iterable[tuple[uuid.UUID, str]]) -> BranchIndex:
        ids: dict[str, uuid.UUID] = {}
        for branch_id, name in branches:
            ids[name.strip().casefold()] = branch_id
            ids[str(branch_id)] = branch_id
        return cls(ids)

    def find(self, key: str) -> uuid.UUID | None:
        return self.ids.get(key.strip().casefold())


def record_id_for(system: str, collection: str, legacy_id: str) -> uuid.UUID:
    """The Branchsync id a new record with this old id gets (stable across runs)."""
    return uuid.uuid5(IMPORT_NAMESPACE, f"{system}\x1f{collection}\x1f{legacy_id}")


@dataclass(slots=True)
class Links:
    """What a link can name, by (collection, old id): the records imported (their ids) and
    the ones refused (where they were read, for the message). Planning adds to it."""

    imported: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)
    refused: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, previous: Mapping[tuple[str, str], LegacyId]) -> Links:
        """The links earlier imports made."""
        return cls({key: legacy.record_id for key, legacy in previous.items()})

    def learn(self, plans: Iterable[RecordPlan]) -> None:
        """Take in planned records (a rejected one leaves an earlier import's record standing)."""
        for plan in plans:
            key = (plan.collection, plan.legacy_id)
            if plan.outcome is Outcome.REJECTED:
                self.refused[key] = plan.where
            else:
                self.imported[key] = plan.record_id

    def update(self, other: Links) -> None:
        """Take in what another part of the same run planned."""
        self.imported.update(other.imported)
        self.refused.update(other.refused)


def plan_records(
    system: str,
    merged: Sequence[MergedRecord],
    previous: Mapping[tuple[str, str], LegacyId],
    branches: BranchIndex,
    overridden: frozenset[tuple[str, str, str]] = frozenset(),
    unmappable: Mapping[tuple[str, str], Refusal] | None = None,
    links: Links | None = None,
) -> list[RecordPlan]:
    """Plan every record, clients first; see the module docstring.

    Args:
        overridden: (collection, old id, field) whose value an override chose; it wins
            even over a newer value an earlier run imported.
        unmappable: old records none of whose copies could be mapped (by collection and
            old id): each is planned as rejected for the first copy's reason, so links
            to it say so.
        links: what links may name (default: what ``previous`` holds); the records
            planned here are added to it, so a run can plan one collection at a time.
    """
    order = {name: index for index, name in enumerate(COLLECTIONS)}
    links = Links.of(previous) if links is None else links
    plans: list[RecordPlan] = []
    for (collection, legacy_id), refusal in sorted((unmappable or {}).items(), key=lambda i: order[i[0][0]]):
        before = previous.get((collection, legacy_id))
        record_id = before.record_id if before is not None else record_id_for(system, collection, legacy_id)
        plan = RecordPlan(
            collection, legacy_id, record_id, Outcome.REJECTED, refusal.where, reason=refusal.reason
        )
        links.learn((plan,))
        plans.append(plan)
    for record in sorted(merged, key=lambda r: order[r.collection]):
        plan = _plan_one(
            system, record, previous.get((record.collection, record.legacy_id)), links, branches, overridden
        )
        links.learn((plan,))
        plans.append(plan)
    return plans


def _plan_one(
    system: str,
    record: MergedRecord,
    before: LegacyId | None,
    links: Links,
    branches: BranchIndex,
    overridden: frozenset[tuple[str, str, str]],
) -> RecordPlan:
    record_id = (
        before.record_id if before is not None else record_id_for(system, record.collection, record.legacy_id)
    )

    def rejected(reason: str, unresolved: tuple[str, ...] = ()) -> RecordPlan:
        return RecordPlan(
            record.collection, record.legacy_id, record_id, Outcome.REJECTED, record.where,
            reason=reason, unresolved=unresolved,
        )  # fmt: skip

    values: dict[str, Any] = {}
    unresolved: list[str] = []
    for name, candidate in record.fields.items():
        value = candidate.value
        if isinstance(value, Link):
            found = _resolve(value, links, branches)
            if found is None:
                unresolved.append(_unresolved(name, value, links))
                continue
            value = str(found)
        values[name] = value
    if unresolved:
        return rejected("; ".join(unresolved), tuple(unresolved))
    creating = before is None
    checked, errors = validate_fields(COLLECTIONS[record.collection], values, creating=creating)
    if errors:
        return rejected("; ".join(error.message for error in errors))
    stored_before = before.fields if before is not None else {}
    write: dict[str, Any] = {}
    stored = dict(stored_before)
    kept: list[KeptEarlier] = []
    for name, value in checked.items():
        candidate = record.fields[name]
        earlier = stored_before.get(name)
        if earlier is not None and earlier.get("value") == value:
            continue
        if (
            earlier is not None
            and (record.collection, record.legacy_id, name) not in overridden
            and _time(earlier) > candidate.updated_at
        ):
            kept.append(KeptEarlier(name, earlier, candidate))
            continue
        write[name] = value
        stored[name] = {"value": value, "at": candidate.updated_at.isoformat(), "source": candidate.source}
    outcome = Outcome.CREATED if creating else Outcome.UPDATED if write else Outcome.UNCHANGED
    return RecordPlan(
        record.collection, record.legacy_id, record_id, outcome, record.where,
        write=write, stored=stored, kept_earlier=tuple(kept),
    )  # fmt: skip


def _resolve(link: Link, links: Links, branches: BranchIndex) -> uuid.UUID | None:
    if link.target == "branches":
        return branches.find(link.key)
    return links.imported.get((link.target, link.key))


def _unresolved(name: str, link: Link, links: Links) -> str:
    if link.target == "branches":
        return f"{name}: no branch is called {link.key!r} (create it, or map the name with `values`)"
    where = links.refused.get((link.target, link.key))
    what = link.target.removesuffix("s")
    if where is not None:
        return f"{name}: the {what} with old id {link.key!r} was refused ({where})"
    return f"{name}: no {what} has the old id {link.key!r} in these sources or an earlier import"


def _time(stored: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(stored["at"]))
