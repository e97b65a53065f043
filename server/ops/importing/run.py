"""One import run: read the sources, map, merge copies, plan against earlier imports, write.

Nothing is written until every source has been read and mapped, so a file that cannot be
read changes nothing. Then records go through the server's own write path
(``server.sync.write_path.apply_mutations``: validation, merge, change numbers, ``NOTIFY``),
so connected branches see them arrive live, in batches of ``BATCH`` records, each one
short transaction that also stores the batch's old ids. Pushes from branches interleave
between batches. A crash or Ctrl+C loses at most the batch in flight, which was never
committed: the same command again finds what was written unchanged and goes on from there.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from protocol.collections import COLLECTIONS
from protocol.messages import Mutation, MutationResult
from protocol.transfer.copies import Disagreement, MergedRecord, Override, merge_copies, possible_duplicates
from protocol.transfer.mapping import MappedRecord, Mapping, Refusal, ZoneFor, map_record
from protocol.transfer.sources import SourceError, SourceFile, read_source
from protocol.version import MAX_MUTATIONS_PER_PUSH
from server.errors import AdminError
from server.ops.importing.plan import BranchIndex, Outcome, RecordPlan, plan_records
from server.store.legacy_ids import load_legacy_ids, store_legacy_ids
from server.store.ops_tables import legacy_ids
from server.store.tables import RECORD_TABLES, applied_mutations, branches
from server.sync.write_path import Author, Writer, apply_mutations

__all__ = ["BATCH", "WRITERS", "ImportRequest", "ImportResult", "Progress", "read_overrides", "run_import"]

BATCH = MAX_MUTATIONS_PER_PUSH
"""Records per write transaction: short enough that a push waits at most one batch."""
WRITERS = 2
"""Batches written at once, each on its own connection: the engine needs this many."""
_IMPORT_AUTHOR = Author(device_id=None, branch_id=None)


class Progress(Protocol):
    """Where a run reports how far it is (a progress bar on a terminal, or nothing)."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


class _Silent:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class ImportRequest:
    sources: Sequence[Path]
    mapping: Mapping
    overrides: Sequence[Override] = ()
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None


@dataclass(slots=True, repr=False)
class ImportResult:
    """Everything a run did or, in a dry run, would do."""

    dry_run: bool
    files: list[SourceFile] = field(default_factory=list)
    unmapped_tables: list[str] = field(default_factory=list)
    """``file: table`` read but named by no record type of the mapping."""
    read: int = 0
    refused: list[Refusal] = field(default_factory=list)
    """Copies that could not be mapped (no old id, a value no transform accepts). A record
    none of whose copies could be is also among ``plans``, as rejected."""
    warnings: list[tuple[MappedRecord, str, str]] = field(default_factory=list)
    """Values imported as written (with the first copy they came from; once per record, field
    and value however many copies repeat it)."""
    merged: list[MergedRecord] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    duplicates: list[list[MergedRecord]] = field(default_factory=list)
    plans: list[RecordPlan] = field(default_factory=list)
    written: int = 0
    """Records written (created or updated) and committed."""

    def __repr__(self) -> str:
        # Short on purpose: Python 3.11's asyncio.run reprs the main task's result when it
        # restores the SIGINT handler, and the generated repr of 400,000 plans took 30 s.
        return f"ImportResult(read={self.read}, plans={len(self.plans)}, written={self.written})"

    def count(self, collection: str, outcome: Outcome) -> int:
        return sum(1 for p in self.plans if p.collection == collection and p.outcome is outcome)


def read_overrides(path: Path) -> list[Override]:
    """An overrides file: CSV with the columns ``type, legacy_id, field, source`` (others ignored,
    so filtered rows of the report's CSV work once a ``source`` column is filled in).

    Raises:
        AdminError: unreadable, or a column or cell is missing.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"cannot read the overrides file {path}: {exc}") from exc
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    needed = ("type", "legacy_id", "field", "source")
    header = rows[0].keys() if rows else set()
    if missing := [name for name in needed if name not in header]:
        raise AdminError(
            f"{path}: the overrides file needs the columns {', '.join(needed)} (missing {missing[0]})"
        )
    overrides = []
    for line, row in enumerate(rows, start=2):
        cells = [str(row.get(name) or "").strip() for name in needed]
        if not all(cells):
            raise AdminError(f"{path} line {line}: type, legacy_id, field and source must all be filled in")
        if cells[0] not in COLLECTIONS:
            raise AdminError(
                f"{path} line {line}: {cells[0]!r} is not a record type ({', '.join(COLLECTIONS)})"
            )
        overrides.append(Override(*cells))
    return overrides


async def run_import(
    engine: AsyncEngine,
    writer: Writer,
    request: ImportRequest,
    progress: Progress | None = None,
) -> ImportResult:
    """Run (or, with ``request.dry_run``, rehearse) one import; see the module docstring.

    Raises:
        AdminError: a source cannot be read, or none holds a table the mapping reads;
            nothing was written.
    """
    progress = progress or _Silent()
    result = ImportResult(dry_run=request.dry_run)
    async with engine.connect() as conn:
        known = await _branches(conn)
        previous = await load_legacy_ids(conn, request.mapping.system)
    mapped = _read_and_map(request, result, known, progress)
    merged, disagreements = merge_copies(mapped, request.overrides)
    result.merged, result.disagreements = merged, disagreements
    result.duplicates = possible_duplicates(merged)
    overridden = frozenset((d.collection, d.legacy_id, d.field) for d in disagreements if d.overridden)
    index = BranchIndex.of((branch_id, name) for branch_id, name, _ in known)
    merged_keys = {(m.collection, m.legacy_id) for m in merged}
    unmappable: dict[tuple[str, str], Refusal] = {}
    for refusal in result.refused:
        if refusal.legacy_id is not None and (refusal.collection, refusal.legacy_id) not in merged_keys:
            unmappable.setdefault((refusal.collection, refusal.legacy_id), refusal)
    result.plans = plan_records(request.mapping.system, merged, previous, index, overridden, unmappable)
    if not request.dry_run:
        await _write(writer, request.mapping.system, result, progress)
    return result


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


def _read_and_map(
    request: ImportRequest,
    result: ImportResult,
    known: list[tuple[uuid.UUID, str, str | None]],
    progress: Progress,
) -> list[MappedRecord]:
    progress.start("reading", len(request.sources))
    for number, path in enumerate(request.sources, start=1):
        try:
            result.files.append(read_source(path, encoding=request.encoding, delimiter=request.delimiter))
        except SourceError as exc:
            raise AdminError(f"{exc} (nothing was imported)") from exc
        progress.advance(number)
    tables = [(table, request.mapping.rule_for(table.name)) for f in result.files for table in f.tables]
    result.unmapped_tables = [f"{table.source}: {table.name}" for table, rule in tables if rule is None]
    if all(rule is None for _, rule in tables):  # a typo in `from` must not import nothing quietly
        found = ", ".join(repr(table.name) for table, _ in tables) or "none"
        wanted = ", ".join(repr(name) for rule in request.mapping.records for name in rule.tables)
        raise AdminError(
            f"no source holds a table the mapping reads ({wanted}); the sources' tables: {found} "
            "(nothing was imported)"
        )
    result.read = sum(len(table.records) for table, rule in tables if rule is not None)
    zone_for = _zone_for(request.mapping, known)
    mapped: list[MappedRecord] = []
    warned: set[tuple[str, str, str, str]] = set()
    progress.start("mapping", result.read)
    done = 0
    for table, rule in tables:
        if rule is None:
            continue
        for record in table.records:
            outcome = map_record(request.mapping, rule, table, record, zone_for)
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


async def _write(writer: Writer, system: str, result: ImportResult, progress: Progress) -> None:
    """Write the planned records, ``WRITERS`` batches at a time: while PostgreSQL works on
    one, this process prepares the next (each is its own transaction; any order is safe)."""
    pending = [p for p in result.plans if p.outcome in (Outcome.CREATED, Outcome.UPDATED)]
    progress.start("writing", len(pending))
    in_flight: set[asyncio.Task[int]] = set()

    async def settle(until: int) -> None:
        nonlocal in_flight
        while len(in_flight) > until:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                result.written += task.result()  # a failed batch stops the run here
            progress.advance(result.written)

    try:
        for number, start in enumerate(range(0, len(pending), BATCH), start=1):
            await settle(WRITERS - 1)
            batch = pending[start : start + BATCH]
            in_flight.add(asyncio.create_task(_write_batch(writer, system, batch)))
            if number in _ANALYZE_AFTER:
                await settle(0)
                await _refresh_statistics(writer.engine)
        await settle(0)
    finally:
        for task in in_flight:  # interrupted or failed: the other batch is not left running
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


_ANALYZE_AFTER = frozenset(4**n for n in range(1, 12))
"""The batches after which the tables the import grows are analysed: each time they have
grown fourfold."""
_GROWN_TABLES = (*RECORD_TABLES, applied_mutations.name, legacy_ids.name)


async def _refresh_statistics(engine: AsyncEngine) -> None:
    """``ANALYZE`` the tables the import fills, as a bulk load should.

    An import can grow them from nothing faster than autovacuum looks. Until then the
    planner's plans of the write path's prepared statements are made for tiny tables, and
    a lookup of 500 mutation ids by index becomes a scan of every row: each batch slower
    than the last. A new ``ANALYZE`` makes PostgreSQL plan them again.
    """
    async with engine.connect() as conn:
        await conn.execute(text(f"ANALYZE {', '.join(_GROWN_TABLES)}"))
        await conn.commit()


async def _write_batch(writer: Writer, system: str, batch: list[RecordPlan]) -> int:
    mutations = [
        Mutation.model_construct(
            id=uuid.uuid4(),
            collection=plan.collection,
            row_id=plan.record_id,
            op="upsert",
            fields=plan.write,
            hlc="",
            base=None,
        )
        for plan in batch
    ]

    async def keep_old_ids(conn: AsyncConnection, results: list[MutationResult]) -> None:
        refused = [(p, r) for p, r in zip(batch, results, strict=True) if r.status == "rejected"]
        if refused:  # validated before, so a refusal here is a bug: write nothing of the batch
            plan, answer = refused[0]
            message = answer.error.message if answer.error else "refused"
            raise AdminError(
                f"the server refused {plan.collection} {plan.legacy_id!r} ({plan.where}): {message}"
            )
        await store_legacy_ids(conn, [plan.legacy_row(system) for plan in batch])

    await apply_mutations(writer, _IMPORT_AUTHOR, mutations, stamp_with_server_clock=True, then=keep_old_ids)
    return len(batch)
