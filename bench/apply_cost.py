"""The engine's cost per applied change: CPU and wall time per change, against a bare SQLite floor.

A branch PC applies every change another branch makes: one at a time as ``changes``
frames arrive over the socket (one change per frame in normal traffic), or a page of
500 at a time when it pulls after being away. This applies ``--count`` changes of
clients (new rows, then as many updates of those rows) to a real cache file
(``desktop.cache.Cache``, WAL, ``synchronous=FULL``) with ``Cache.apply_changes``, the
call the runner makes, in both shapes, and reports CPU (process time) and wall time per
change.

Floor, in the same run on a file with the same settings: the same rows written by
plain ``sqlite3``, one ``INSERT``/``UPDATE`` per transaction for the frame shape, one
``executemany`` per 500 for the page shape (no merge, no clocks, no conflicts, no
cursor, no counts).

Usage::

    python bench/apply_cost.py [--count 1000] [--page 500] [--profile FILE]

``--profile FILE`` writes a cProfile of the frame-shaped run to FILE (read it with
``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop.cache import Cache  # noqa: E402
from protocol.hlc import HybridLogicalClock  # noqa: E402
from protocol.messages import Change  # noqa: E402

FIELDS = ("name", "phone", "email", "tags")


def _fields(i: int, edit: int) -> dict[str, object]:
    return {
        "name": f"Client {i:07d}" + (f" ({edit})" if edit else ""),
        "phone": f"+44 20 7946 {i % 10_000:04d}",
        "email": f"client{i}@example.com",
        "tags": ["bench", "new"],
    }


def _changes(count: int, seq: int = 0) -> tuple[list[Change], list[Change]]:
    """``count`` new clients from another branch, then one later edit of each."""
    clock = HybridLogicalClock(str(uuid.uuid4()))
    ids = [uuid.uuid4() for _ in range(count)]
    created, edited = [], []
    for edit, out in ((0, created), (1, edited)):
        for i, row_id in enumerate(ids):
            seq += 1
            stamp = clock.now()
            base = None if edit == 0 else created[i].clocks["name"]
            out.append(
                Change(
                    seq=seq,
                    collection="clients",
                    row_id=row_id,
                    fields=_fields(i, edit),
                    clocks={k: stamp for k in (*FIELDS, "_deleted")},
                    deleted=False,
                    bases={k: base for k in (*FIELDS, "_deleted")},
                )
            )
    return created, edited


def _timed(work: Callable[[], None]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def _apply(cache: Cache, changes: Sequence[Change], size: int) -> None:
    for start in range(0, len(changes), size):
        batch = changes[start : start + size]
        cache.apply_changes(batch, batch[-1].seq)


def _engine(folder: Path, changes: list[Change], size: int, profile: str | None) -> tuple[float, float]:
    with Cache(folder) as cache:
        _apply(cache, _changes(20, 10**9)[0], 1)  # warm up: statements, caches
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        cost = _timed(lambda: _apply(cache, changes, size))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        assert cache.state().cursor == changes[-1].seq
    return cost


def _floor(folder: Path, changes: list[Change], size: int) -> tuple[float, float]:
    """Bare sqlite3: the same rows, columns and transactions, none of the engine's work."""
    folder.mkdir()
    with Cache(folder) as cache:  # the same schema
        path = cache.path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    seen: set[str] = set()

    def statement(change: Change) -> tuple[str, tuple[object, ...]]:
        row_id = str(change.row_id)
        values = (*(json.dumps(v) if k == "tags" else v for k, v in change.fields.items()),)
        clocks = json.dumps(change.clocks)
        if row_id in seen:
            return (
                "UPDATE clients SET name = ?, phone = ?, email = ?, tags = ?, clocks = ?, deleted = 0"
                " WHERE id = ?",
                (*values, clocks, row_id),
            )
        seen.add(row_id)
        return (
            "INSERT INTO clients (id, name, phone, email, tags, clocks, deleted)"
            " VALUES (?, ?, ?, ?, ?, ?, 0)",
            (row_id, *values, clocks),
        )

    def work() -> None:
        for start in range(0, len(changes), size):
            statements = [statement(c) for c in changes[start : start + size]]
            conn.execute("BEGIN IMMEDIATE")
            sql = statements[0][0]
            if all(s[0] == sql for s in statements):
                conn.executemany(sql, [s[1] for s in statements])
            else:
                for s in statements:
                    conn.execute(*s)
            conn.execute("COMMIT")

    try:
        return _timed(work)
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000, help="new clients (and as many edits)")
    parser.add_argument("--page", type=int, default=500, help="changes per page (default 500)")
    parser.add_argument("--profile", help="write a cProfile of the frame-shaped run here")
    args = parser.parse_args()
    print(f"apply cost, {args.count:,} new clients then {args.count:,} edits of them, from another branch")
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for label, size in (("frames (1 change each)", 1), (f"pages of {args.page}", args.page)):
            created, edited = _changes(args.count)
            changes = created + edited
            profile = args.profile if size == 1 else None
            cpu, wall = _engine(root / f"engine-{size}", changes, size, profile)
            floor_cpu, floor_wall = _floor(root / f"floor-{size}", changes, size)
            n = len(changes)
            print(
                f"  {label:<24} engine {cpu / n * 1e6:8.0f} us CPU/change ({wall / n * 1e6:8.0f} us wall);"
                f" floor {floor_cpu / n * 1e6:6.0f} us CPU ({floor_wall / n * 1e6:6.0f} us wall);"
                f" engine/floor CPU {cpu / floor_cpu:5.1f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
