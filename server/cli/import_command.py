"""``branchsync-server import`` and ``legacy-ids``: move records in from the old system.

``import SOURCE… --mapping FILE [--dry-run] [--report FILE] [--json]`` (and ``--infer``,
which prints a starting mapping instead) is a public interface IT scripts drive; see
``docs/migration.md``. ``legacy-ids`` lists which old id became which record.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.collections import COLLECTIONS
from protocol.transfer.mapping import MappingError, load_mapping
from protocol.transfer.sources import SourceError, SourceTable, read_source
from server.api.runtime import new_server_clock
from server.errors import AdminError
from server.ops.importing.report import check_report_path, summary, summary_text, write_report
from server.ops.importing.run import ImportRequest, read_overrides, run_import
from server.ops.importing.writing import NotCounted
from server.settings import Settings
from server.store.legacy_ids import LegacyId, find_legacy_ids
from server.sync.write_path import Writer

__all__ = ["add_parsers", "commands"]

Handler = Callable[[argparse.Namespace, Settings], int]
EngineRunner = Callable[[Settings, Callable[[AsyncEngine], Awaitable[Any]]], Any]
Emitter = Callable[[argparse.Namespace, object, str], None]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``import`` and ``legacy-ids`` to the ``branchsync-server`` subcommands."""
    parser = commands.add_parser(
        "import",
        parents=[common],
        help="import records from the old system's JSON, CSV and .xlsx files",
        description="Import clients and appointments from the old system's files (JSON and browser "
        "localStorage dumps, CSV, Excel .xlsx) through the server's write path. Re-runs are "
        "idempotent: old ids are kept. See docs/migration.md.",
    )
    parser.add_argument("sources", nargs="+", type=Path, metavar="SOURCE", help="files to read")
    parser.add_argument("--mapping", type=Path, metavar="FILE", help="the mapping (.yaml or .toml)")
    parser.add_argument(
        "--infer", action="store_true", help="print a starting mapping for these sources and stop"
    )
    parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    parser.add_argument(
        "--report", type=Path, metavar="FILE", help="write every rejected and merged record (.csv or .json)"
    )
    parser.add_argument(
        "--overrides", type=Path, metavar="FILE", help="CSV of type,legacy_id,field,source: copies to prefer"
    )
    parser.add_argument("--encoding", metavar="NAME", help="the encoding of CSV sources (default: detected)")
    parser.add_argument(
        "--delimiter", metavar="CHAR", help="the delimiter of CSV sources (default: detected)"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="processes to import with (default: one per core but one, for sources of 8 MiB or more; else 1)",
    )
    ids = commands.add_parser("legacy-ids", parents=[common], help="list which old id became which record")
    ids.add_argument("--system", metavar="NAME", help="only this old system (the mapping's `system`)")
    ids.add_argument("--type", choices=sorted(COLLECTIONS), help="only this record type")
    ids.add_argument("--legacy-id", metavar="ID", help="only this old id")
    ids.add_argument("--output", type=Path, metavar="FILE", help="write them to a .csv file instead")


def commands(run_with_engine: EngineRunner, emit: Emitter) -> dict[str, Handler]:
    """The handlers, built around ``server.cli``'s helpers."""

    def import_(args: argparse.Namespace, settings: Settings) -> int:
        if args.infer:
            return _infer(args)
        if args.mapping is None:
            raise AdminError("name the mapping with --mapping FILE (or print a starting one with --infer)")
        if args.report is not None:
            check_report_path(args.report)
        try:
            mapping = load_mapping(args.mapping)
        except MappingError as exc:
            raise AdminError(str(exc)) from exc
        request = ImportRequest(
            sources=args.sources,
            mapping=mapping,
            overrides=read_overrides(args.overrides) if args.overrides else (),
            dry_run=args.dry_run,
            encoding=args.encoding,
            delimiter=args.delimiter,
            workers=args.workers,
        )
        as_json = getattr(args, "json", False)
        with _progress(enabled=not as_json and sys.stderr.isatty()) as progress:

            async def work(engine: AsyncEngine) -> Any:
                writer = Writer(engine, new_server_clock(), settings.max_clock_skew_s, NotCounted())
                return await run_import(engine, writer, request, progress)

            try:
                result = run_with_engine(settings, work)
            except KeyboardInterrupt:
                print(
                    "branchsync-server: interrupted; the batches written so far are kept: "
                    "run the same command again to finish",
                    file=sys.stderr,
                )
                raise
        if args.report is not None:
            write_report(args.report, result)
        emit(args, summary(result), summary_text(result, args.report))
        return 0

    def legacy_ids(args: argparse.Namespace, settings: Settings) -> int:
        async def work(engine: AsyncEngine) -> list[LegacyId]:
            async with engine.connect() as conn:
                return await find_legacy_ids(
                    conn, system=args.system, collection=args.type, legacy_id=args.legacy_id
                )

        found = run_with_engine(settings, work)
        rows = [_legacy_json(item) for item in found]
        if args.output is not None:
            _write_legacy_csv(args.output, rows)
            emit(
                args,
                {"file": str(args.output), "count": len(rows)},
                f"wrote {len(rows)} old ids to {args.output}",
            )
            return 0
        text = "\n".join(f"{r['system']}  {r['type']}  {r['legacy_id']}  {r['record_id']}" for r in rows)
        emit(args, rows, text or "no imported records match")
        return 0

    return {"import": import_, "legacy-ids": legacy_ids}


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes from 1 to 64")
    return count


def _infer(args: argparse.Namespace) -> int:
    from protocol.transfer.infer import infer_mapping

    tables: list[SourceTable] = []
    for path in args.sources:
        try:
            tables.extend(read_source(path, encoding=args.encoding, delimiter=args.delimiter).tables)
        except SourceError as exc:
            raise AdminError(str(exc)) from exc
    inferred = infer_mapping(tables)
    sys.stdout.write(inferred.to_yaml())
    for note in inferred.notes:
        print(f"branchsync-server: note: {note}", file=sys.stderr)
    return 0


class _Bar:
    """A rich progress bar on stderr, one task per phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, phase: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(phase, total=total)

    def advance(self, done: int) -> None:
        assert self._task is not None
        self._progress.update(self._task, completed=done)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[_Bar | None]:
    """A progress bar on stderr while the block runs, or None when it is off."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _Bar(bar)


def _legacy_json(item: LegacyId) -> dict[str, Any]:
    return {
        "system": item.system,
        "type": item.collection,
        "legacy_id": item.legacy_id,
        "record_id": str(item.record_id),
        "first_imported_at": item.first_imported_at.isoformat() if item.first_imported_at else None,
        "imported_at": item.imported_at.isoformat() if item.imported_at else None,
        "fields": item.fields,
    }


def _write_legacy_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = ["system", "type", "legacy_id", "record_id", "first_imported_at", "imported_at"]
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise AdminError(f"cannot write {path}: {exc.strerror or exc}") from exc
