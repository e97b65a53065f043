"""``branchsync import``, ``export`` and ``delete``: rows in and out of the cache.

Writes go through the cache (so they are queued for the next sync like any edit);
``export`` reads the live rows through the cache's one read path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop.cache import Cache
from desktop.cache.rows import collection_named
from desktop.cache.transfer import export_csv, export_json, import_file
from desktop.cli.exit_codes import EXIT_REFUSED
from desktop.cli.output import say_error
from protocol.collections import COLLECTIONS

__all__ = ["delete_row", "export_rows", "import_rows"]


def _collection(name: str) -> str:
    """Check a collection name early, so the message is the same for every command."""
    collection_named(name)
    return name


def import_rows(args: argparse.Namespace) -> int:
    """``branchsync import COLLECTION FILE.csv|FILE.json``: create or edit rows; exit 1 if any failed."""
    with Cache(args.data_dir) as cache:
        report = import_file(cache, _collection(args.collection), Path(args.file))
    for problem in report.problems:
        where = problem.where or problem.line
        say_error(f"{args.file}:{where}: {problem.message}")
    total = report.created + report.updated + report.unchanged + report.failed
    print(
        f"{args.collection}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.failed} failed (of {total} rows)"
    )
    return EXIT_REFUSED if report.failed else 0


def export_rows(args: argparse.Namespace) -> int:
    """``branchsync export COLLECTION [--format csv|json]``: the live rows, to stdout."""
    collection = COLLECTIONS[_collection(args.collection)]
    with Cache(args.data_dir) as cache:
        records = cache.list_rows(collection.name, limit=None)
    writer = export_json if args.format == "json" else export_csv
    writer(collection, records, sys.stdout)
    return 0


def delete_row(args: argparse.Namespace) -> int:
    """``branchsync delete COLLECTION ID``."""
    with Cache(args.data_dir) as cache:
        cache.delete(_collection(args.collection), args.id)
    print(f"deleted {args.collection} {args.id}")
    return 0
