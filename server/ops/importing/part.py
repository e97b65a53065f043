"""One part of an import run: its share of the old records, read, mapped, merged, planned
and written.

A large import runs in several worker processes at once (``server.ops.importing.workers``),
one part each; a small one is a single part in this process. Records are split by old id,
so every copy of one old record is in the same part and merging needs no other part. Links
cross parts (an appointment's client may be another part's), so the parts plan one record
type at a time, clients first, and share which old ids each imported or refused
(``Exchange``) before they write it. That exchange is also where every part has read and
mapped all its sources: nothing is written before then, so a file that cannot be read
changes nothing.
"""

from __future__ import annotations

import uuid
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from protocol.collections import COLLECTIONS
from protocol.transfer import transforms
from protocol.transfer.copies import Disagreement, MergedRecord, Override, Sighting, merge_copies, sighting
from protocol.transfer.mapping import MappedRecord, Mapping, RecordRule, Refusal, ZoneFor, map_record
from protocol.transfer.sources import SourceError, SourceRecord, SourceTable, read_source
from server.errors import AdminError
from server.ops.importing.plan import BranchIndex, Links, Outcome, RecordPlan, plan_records
from server.ops.importing.writing import Progress, write_plans
from server.store.legacy_ids import load_legacy_ids
from server.store.tables import branches
from server.sync.write_path import Writer

__all__ = ["Alone", "Exchange", "ImportRequest", "Part", "PartResult", "run_part"]


@dataclass(frozen=True, slots=True)
class ImportRequest:
    sources: Sequence[Path]
    mapping: Mapping
    overrides: Sequence[Override] = ()
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    workers: int | None = None
    """Worker processes (None: one per core for a large import, else none)."""


@dataclass(frozen=True, slots=True)
class Part:
    """Part ``index`` of ``count``: the old records whose (type, old id) hash falls here."""

    index: int = 0
    count: int = 1

    def share_of(self, rule: RecordRule, records: Sequence[SourceRecord]) -> Sequence[SourceRecord]:
        """The records of one table that are this part's."""
        if self.count == 1:
            return records
        name = rule.collection.name
        return [
            r
            for r in records
            if zlib.crc32(f"{name}\x1f{_part_key(rule, r)}".encode()) % self.count == self.index
        ]


class Exchange(Protocol):
    """How the parts of one run learn each other's links."""

    async def share(self, links: Links) -> Links:
        """Publish the links this part planned of one record type; returns every part's."""
        ...


class Alone:
    """The exchange of a run that is a single part."""

    async def share(self, links: Links) -> Links:
        return links


@dataclass(slots=True)
class PartResult:
    """What one part did (or, in a dry run, would do); ``run.ImportResult`` adds them up."""

    sources: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    """``file: what`` held no records."""
    unmapped_tables: list[str] = field(default_factory=list)
    read: int = 0
    refused: list[Refusal] = field(default_factory=list)
    warnings: list[tuple[MappedRecord, str, str]] = field(default_factory=list)
    merged: list[MergedRecord] = field(default_factory=list)
    """Records made from several copies."""
    disagreements: list[Disagreement] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    outcomes: Counter[tuple[str, Outcome]] = field(default_factory=Counter)
    noted: list[RecordPlan] = field(default_factory=list)
    """The plans the report lists: rejected, or an earlier import's value kept (without
    the values written, which are not needed once they are)."""
    written: int = 0


async def run_part(
    engine: AsyncEngine,
    writer: Writer,
    request: ImportRequest,
    part: Part,
    exchange: Exchange,
    progress: Progress,
) -> PartResult:
    """Run (or rehearse) one part; see the module docstring.

    Raises:
        AdminError: a source cannot be read, or none holds a table the mapping reads.
    """
    system = request.mapping.system
    async with engine.connect() as conn:
        known = await _branches(conn)
        previous = await load_legacy_ids(conn, system)
    result = PartResult()
    mapped = _read_and_map(request, part, result, known, progress)
    merged, result.disagreements = merge_copies(mapped, request.overrides)
    del mapped
    result.merged = [record for record in merged if record.copies > 1]
    result.sightings = [seen for record in merged if (seen := sighting(record)) is not None]
    overridden = frozenset((d.collection, d.legacy_id, d.field) for d in result.disagreements if d.overridden)
    index = BranchIndex.of((branch_id, name) for branch_id, name, _ in known)
    unmappable = _unmappable(result.refused, merged)
    links = Links.of(previous)
    for collection in COLLECTIONS:
        plans = plan_records(
            system,
            [record for record in merged if record.collection == collection],
            previous,
            index,
            overridden,
            {key: refusal for key, refusal in unmappable.items() if key[0] == collection},
            links,
        )
        planned = Links()
        planned.learn(plans)
        links.update(await exchange.share(planned))
        result.outcomes.update((plan.collection, plan.outcome) for plan in plans)
        result.noted.extend(_noted(plans))
        if not request.dry_run:
            pending = [plan for plan in plans if plan.outcome in (Outcome.CREATED, Outcome.UPDATED)]
            progress.start(f"writing {collection}", len(pending))
            result.written += await write_plans(writer, system, pending, progress)
    return result


def _noted(plans: Iterable[RecordPlan]) -> Iterable[RecordPlan]:
    for plan in plans:
        if plan.outcome is Outcome.REJECTED or plan.kept_earlier:
            yield RecordPlan(
                plan.collection, plan.legacy_id, plan.record_id, plan.outcome, plan.where,
                reason=plan.reason, unresolved=plan.unresolved, kept_earlier=plan.kept_earlier,
            )  # fmt: skip


def _unmappable(refused: Iterable[Refusal], merged: Iterable[MergedRecord]) -> dict[tuple[str, str], Refusal]:
    """Old records none of whose copies could be mapped: the first copy's refusal of each."""
    merged_keys = {(record.collection, record.legacy_id) for record in merged}
    unmappable: dict[tuple[str, str], Refusal] = {}
    for refusal in refused:
        if refusal.legacy_id is not None and (refusal.collection, refusal.legacy_id) not in merged_keys:
            unmappable.setdefault((refusal.collection, refusal.legacy_id), refusal)
    return unmappable


async def _branches(conn: AsyncConnection) -> list[tuple[uuid.UUID, str, str | None]]:
    rows = await conn.execute(select(branches.c.id, branches.c.name, branches.c.timezone))
    return [(row.id, row.name, row.timezone) for row in rows]


def _zone_for(mapping: Mapping, known: Iterable[tuple[uuid.UUID, str, str | None]]) -> ZoneFor:
    """Naive times are in their record's branch's zone, else the default branch's, else UTC."""
    zones: dict[str, ZoneInfo] = {}
    for branch_id, name, zone in known:
        if zone:
            zones[name.strip().casefold()] = zones[str(branch_id)] = ZoneInfo(zone)
    fallback = zones.get((mapping.branch or "").strip().casefold(), ZoneInfo("UTC"))

    def zone_for(branch: str | None) -> ZoneInfo:
        return fallback if branch is None else zones.get(branch.strip().casefold(), fallback)

    return zone_for


def _part_key(rule: RecordRule, record: SourceRecord) -> str:
    """What splits records into parts: the old id as ``map_record`` reads it (so all copies of
    a record agree), or, where there is none, the place it was read (refused anyway)."""
    raw = record.values.get(rule.legacy_id) if rule.legacy_id is not None else None
    if transforms.is_empty(raw):
        return record.where
    try:
        return transforms.to_text(raw)
    except transforms.TransformError:
        return record.where


def _read_and_map(
    request: ImportRequest,
    part: Part,
    result: PartResult,
    known: list[tuple[uuid.UUID, str, str | None]],
    progress: Progress,
) -> list[MappedRecord]:
    progress.start("reading", len(request.sources))
    files = []
    for number, path in enumerate(request.sources, start=1):
        try:
            files.append(read_source(path, encoding=request.encoding, delimiter=request.delimiter))
        except SourceError as exc:
            raise AdminError(f"{exc} (nothing was imported)") from exc
        progress.advance(number)
    result.sources = [f.name for f in files]
    result.ignored = [f"{f.name}: {item}" for f in files for item in f.ignored]
    tables = [(table, request.mapping.rule_for(table.name)) for f in files for table in f.tables]
    result.unmapped_tables = [f"{table.source}: {table.name}" for table, rule in tables if rule is None]
    if all(rule is None for _, rule in tables):  # a typo in `from` must not import nothing quietly
        found = ", ".join(repr(table.name) for table, _ in tables) or "none"
        wanted = ", ".join(repr(name) for rule in request.mapping.records for name in rule.tables)
        raise AdminError(
            f"no source holds a table the mapping reads ({wanted}); the sources' tables: {found} "
            "(nothing was imported)"
        )
    # each table without its records: the other parts' records are freed once read
    mine = [
        (replace(table, records=()), rule, part.share_of(rule, table.records))
        for table, rule in tables
        if rule is not None
    ]
    result.read = sum(len(records) for _, _, records in mine)
    return _map(request.mapping, mine, result, _zone_for(request.mapping, known), progress)


def _map(
    mapping: Mapping,
    tables: list[tuple[SourceTable, RecordRule, Sequence[SourceRecord]]],
    result: PartResult,
    zone_for: ZoneFor,
    progress: Progress,
) -> list[MappedRecord]:
    mapped: list[MappedRecord] = []
    warned: set[tuple[str, str, str, str]] = set()
    progress.start("mapping", result.read)
    done = 0
    for table, rule, records in tables:
        for record in records:
            outcome = map_record(mapping, rule, table, record, zone_for)
            if isinstance(outcome, Refusal):
                result.refused.append(outcome)
            else:
                mapped.append(outcome)
                for name, why in outcome.warnings:
                    key = (outcome.collection, outcome.legacy_id, name, str(outcome.fields[name]))
                    if key not in warned:
                        warned.add(key)
                        result.warnings.append((outcome, name, why))
            done += 1
            if done % 5000 == 0:
                progress.advance(done)
    progress.advance(done)
    return mapped
