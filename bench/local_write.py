"""Local durable write latency: one row + its outbox mutation, one transaction, on disk.

Prints p50/p95 of ``Cache.create`` and ``Cache.update`` next to the floor they are
compared with: a bare SQLite ``INSERT`` + ``COMMIT`` in WAL mode with
``synchronous=FULL`` in the same folder (so the same disk and the same fsync cost),
and the goal (p50 under 2 ms).

Usage: ``python bench/local_write.py [--dir DIR] [--count N]``
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from desktop.cache import Cache

GOAL_P50_MS = 2.0


def _timed(count: int, action: Callable[[int], object]) -> list[float]:
    """Milliseconds taken by each of ``count`` calls (after 20 warm-up calls)."""
    for i in range(20):
        action(-1 - i)
    samples = []
    for i in range(count):
        start = time.perf_counter_ns()
        action(i)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def _summary(label: str, samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return (
        f"{label:<34} p50 {statistics.median(samples):6.3f} ms   p95 {cuts[94]:6.3f} ms   (n={len(samples)})"
    )


def bare_sqlite(folder: Path, count: int) -> list[float]:
    """The floor: INSERT + COMMIT of one small row, WAL, synchronous=FULL."""
    conn = sqlite3.connect(folder / "floor.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")

    def insert(i: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (payload) VALUES (?)", (f"row {i}",))
        conn.execute("COMMIT")

    try:
        return _timed(count, insert)
    finally:
        conn.close()


def cache_writes(folder: Path, count: int) -> tuple[list[float], list[float]]:
    """``Cache.create`` then ``Cache.update`` of the rows it made."""
    with Cache(folder / "cache") as cache:
        ids: list[str] = []

        def create(i: int) -> None:
            ids.append(
                cache.create("clients", {"name": f"Client {i}", "phone": "+44 20 7946 0000", "tags": ["a"]})
            )

        def update(i: int) -> None:
            cache.update("clients", ids[i % len(ids)], {"notes": f"called back {i}"})

        return _timed(count, create), _timed(count, update)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", type=Path, default=None, help="folder on the disk to measure (default: a temp dir)"
    )
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        floor = bare_sqlite(folder, args.count)
        created, updated = cache_writes(folder, args.count)
    print(f"disk: {folder.parent}")
    print(_summary("floor: bare INSERT+COMMIT (FULL)", floor))
    print(_summary("cache.create (row + outbox)", created))
    print(_summary("cache.update (row + outbox)", updated))
    print(f"goal: p50 < {GOAL_P50_MS:.1f} ms")
    worst = max(statistics.median(created), statistics.median(updated))
    print("result:", "meets the goal" if worst < GOAL_P50_MS else "MISSES the goal")


if __name__ == "__main__":
    main()
