"""One import run: read the sources, map, merge copies, plan against earlier imports, write.

Nothing is written until every source has been read and mapped, so a file that cannot be
read changes nothing. Then records go through the server's own write path in short batches
(``server.ops.importing.writing``), so connected branches see them arrive live and pushes
interleave. A crash or Ctrl+C loses at most the batches in flight, which were never
committed: the same command again finds what was written unchanged and goes on from there.

A large import is split by old id into parts that worker processes run at once
(``server.ops.importing.workers``; ``default_workers`` says how many); a small one runs in
this process as one part.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.collections import COLLECTIONS
from protocol.transfer.copies import Disagreement, MergedRecord, Override, Sighting, possible_duplicates
from protocol.transfer.mapping import MappedRecord, Refusal
from server.errors import AdminError
from server.ops.importing.part import Alone, ImportRequest, Part, PartResult, run_part
from server.ops.importing.plan import Outcome, RecordPlan
from server.ops.importing.workers import run_in_workers
from server.ops.importing.writing import Progress, Silent
from server.sync.write_path import Writer

__all__ = [
    "LARGE_IMPORT_BYTES",
    "ImportRequest",
    "ImportResult",
    "default_workers",
    "read_overrides",
    "run_import",
]

LARGE_IMPORT_BYTES = 8 * 1024 * 1024
"""Sources this large (in all) are imported by worker processes: below it, starting them
costs more than they save."""


@dataclass(slots=True, repr=False)
class ImportResult:
    """Everything a run did or, in a dry run, would do."""

    dry_run: bool
    workers: int = 1
    """Processes that ran the parts (1: this one)."""
    sources: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    """``file: what`` read but holding no records."""
    unmapped_tables: list[str] = field(default_factory=list)
    """``file: table`` read but named by no record type of the mapping."""
    read: int = 0
    refused: list[Refusal] = field(default_factory=list)
    """Copies that could not be mapped (no old id, a value no transform accepts). A record
    none of whose copies could be is also among ``noted``, as rejected."""
    warnings: list[tuple[MappedRecord, str, str]] = field(default_factory=list)
    """Values imported as written (with the first copy they came from; once per record, field
    and value however many copies repeat it)."""
    merged: list[MergedRecord] = field(default_factory=list)
    """Records made from several copies."""
    disagreements: list[Disagreement] = field(default_factory=list)
    duplicates: list[list[Sighting]] = field(default_factory=list)
    outcomes: Counter[tuple[str, Outcome]] = field(default_factory=Counter)
    """Records by (collection, outcome)."""
    noted: list[RecordPlan] = field(default_factory=list)
    """The records rejected, or whose field kept an earlier import's newer value."""
    written: int = 0
    """Records written (created or updated) and committed."""

    def __repr__(self) -> str:
        # Short on purpose: Python 3.11's asyncio.run reprs the main task's result when it
        # restores the SIGINT handler, and a generated repr of a large run takes seconds.
        return f"ImportResult(read={self.read}, written={self.written}, workers={self.workers})"

    @classmethod
    def of(cls, dry_run: bool, parts: Sequence[PartResult]) -> ImportResult:
        """The parts of one run added up (each part read the same files)."""
        first = parts[0]
        result = cls(dry_run, len(parts), first.sources, first.ignored, first.unmapped_tables)
        for part in parts:
            result.read += part.read
            result.refused += part.refused
            result.warnings += part.warnings
            result.merged += part.merged
            result.disagreements += part.disagreements
            result.outcomes += part.outcomes
            result.noted += part.noted
            result.written += part.written
        result.duplicates = possible_duplicates(seen for part in parts for seen in part.sightings)
        return result

    def count(self, collection: str, outcome: Outcome) -> int:
        return self.outcomes[(collection, outcome)]


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
    progress = progress or Silent()
    workers = default_workers(request.sources) if request.workers is None else request.workers
    if workers <= 1:
        parts = [await run_part(engine, writer, request, Part(), Alone(), progress)]
    else:
        url = engine.url.render_as_string(hide_password=False)
        parts = await run_in_workers(url, writer.max_clock_skew_s, request, workers, progress)
    return ImportResult.of(request.dry_run, parts)


def default_workers(sources: Sequence[Path]) -> int:
    """For sources of ``LARGE_IMPORT_BYTES`` or more, a worker process per core this process
    may use but one, which the server and PostgreSQL keep: connected branches' pushes stay
    quick. Else, and on two cores, 1: the run stays in this process.

    Measured on two cores (docs/benchmarks.md): two workers there finish 400,000 records
    about a fifth sooner but take the server's core, and pushes wait up to 0.7 s instead of
    0.1 s. ``--workers`` chooses otherwise, say before any branch is live.
    """
    size = 0
    for path in sources:
        try:
            size += path.stat().st_size
        except OSError:
            return 1  # reading it will say what is wrong
    if size < LARGE_IMPORT_BYTES:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores - 1)
