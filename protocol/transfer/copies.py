"""Overlapping copies of one old record become one record, field by field.

The old system kept a copy of every record in each branch's browser and in cloud-folder
files, and the copies drifted apart. Each field takes the value of the copy whose source
timestamp is newest (its ``updatedAt``, else its file's time); of copies equally new, the
source named later on the command line wins, so a run is deterministic. An empty value in
a copy is no opinion: it never outvotes a value (old exports often leave fields out).

Every field the copies disagree on is reported with the value chosen and the others, and an
override (record, field, source to prefer) corrects a choice that was wrong. Records that
look like one client under two old ids are listed for a person to judge, never merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from protocol.transfer.mapping import MappedRecord

__all__ = [
    "Candidate",
    "Disagreement",
    "MergedRecord",
    "Override",
    "Sighting",
    "merge_copies",
    "possible_duplicates",
    "sighting",
]


class Candidate(NamedTuple):
    """One copy's value of one field (a tuple: one is made per field of every copy)."""

    value: Any
    source: str
    where: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MergedRecord:
    """One old record: per field, the value chosen from its copies."""

    collection: str
    legacy_id: str
    fields: dict[str, Candidate]
    where: str
    """Where its first copy was read (for messages about the record as a whole)."""
    copies: int


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Copies of one record that hold different values of one field."""

    collection: str
    legacy_id: str
    field: str
    chosen: Candidate
    others: tuple[Candidate, ...]
    overridden: bool


@dataclass(frozen=True, slots=True)
class Override:
    """Prefer ``source``'s value of ``field`` of one record (from an overrides file)."""

    collection: str
    legacy_id: str
    field: str
    source: str


def merge_copies(
    records: Iterable[MappedRecord], overrides: Sequence[Override] = ()
) -> tuple[list[MergedRecord], list[Disagreement]]:
    """Group ``records`` (in source order) by type and old id and choose each field's value.

    Returns the merged records in the order their first copies came, and every field on
    which copies disagree.
    """
    groups: dict[tuple[str, str], list[tuple[int, MappedRecord]]] = {}
    for order, record in enumerate(records):
        groups.setdefault((record.collection, record.legacy_id), []).append((order, record))
    preferred = {(o.collection, o.legacy_id, o.field): o.source for o in overrides}
    merged: list[MergedRecord] = []
    disagreements: list[Disagreement] = []
    for (collection, legacy_id), copies in groups.items():
        first = copies[0][1]
        if len(copies) == 1:  # most records: nothing to rank, nothing to disagree on
            source, where, at = first.source, first.where, first.updated_at
            single = {name: Candidate(value, source, where, at) for name, value in first.fields.items()}
            merged.append(MergedRecord(collection, legacy_id, single, first.where, 1))
            continue
        fields: dict[str, Candidate] = {}
        for name in _field_names(record for _, record in copies):
            ranked = sorted(
                (
                    (record.updated_at, order, _candidate(record, name))
                    for order, record in copies
                    if name in record.fields
                ),
                key=lambda item: (item[0], item[1]),
            )
            candidates = [candidate for _, _, candidate in ranked]
            chosen, overridden = _choose(candidates, preferred.get((collection, legacy_id, name)))
            fields[name] = chosen
            others = tuple(c for c in candidates if c.value != chosen.value)
            if others:
                disagreements.append(
                    Disagreement(collection, legacy_id, name, chosen, _distinct(others), overridden)
                )
        merged.append(MergedRecord(collection, legacy_id, fields, first.where, len(copies)))
    return merged, disagreements


def _field_names(records: Iterable[MappedRecord]) -> list[str]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record.fields))
    return list(names)


def _candidate(record: MappedRecord, name: str) -> Candidate:
    return Candidate(record.fields[name], record.source, record.where, record.updated_at)


def _choose(ranked: list[Candidate], preferred_source: str | None) -> tuple[Candidate, bool]:
    """The newest candidate, unless an override names a source that has one."""
    if preferred_source is not None:
        for candidate in reversed(ranked):
            if candidate.source == preferred_source:
                return candidate, True
    return ranked[-1], False


def _distinct(candidates: Iterable[Candidate]) -> tuple[Candidate, ...]:
    """One candidate per other value (the newest copy holding it)."""
    by_value: dict[str, Candidate] = {}
    for candidate in candidates:
        by_value[repr(candidate.value)] = candidate
    return tuple(by_value.values())


_NOT_DIGITS = re.compile(r"\D")


class Sighting(NamedTuple):
    """A client by the name and phone a duplicate would share (digits compared)."""

    key: tuple[str, str]
    collection: str
    legacy_id: str
    where: str


def sighting(record: MergedRecord) -> Sighting | None:
    """``record`` as a possible duplicate is looked for, or None (not a client, no name or phone)."""
    name, phone = record.fields.get("name"), record.fields.get("phone")
    if record.collection != "clients" or name is None or phone is None:
        return None
    digits = _NOT_DIGITS.sub("", str(phone.value))
    key = (" ".join(str(name.value).split()).casefold(), digits)
    return Sighting(key, record.collection, record.legacy_id, record.where)


def possible_duplicates(sightings: Iterable[Sighting | None]) -> list[list[Sighting]]:
    """Clients under different old ids with the same name and phone (``sighting`` of each)."""
    groups: dict[tuple[str, str], list[Sighting]] = {}
    for seen in sightings:
        if seen is not None:
            groups.setdefault(seen.key, []).append(seen)
    return [group for group in groups.values() if len(group) > 1]
