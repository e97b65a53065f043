"""Shared set-up of the UI benchmarks: a cache of 100,000 clients, an off-screen window, summaries.

Not a benchmark itself (the leading underscore keeps it apart from the scripts).
Filling a cache with 100,000 rows takes about ten seconds, so the filled file is kept
in ``--dir`` and copied for each run that needs a fresh one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _engine_setup import machine_line  # noqa: E402

from desktop.cache import Cache  # noqa: E402
from desktop.config.paths import DATABASE_FILENAME  # noqa: E402
from desktop.demo.sample_data import pulled_changes, sample_clients  # noqa: E402

__all__ = ["ROOT", "bench_arguments", "filled_data_dir", "machine_line", "p95", "summary"]

_BATCH = 5000


def _fill(data_dir: Path, count: int) -> None:
    with Cache(data_dir) as cache:
        rows = [(str(uuid.uuid4()), fields) for fields in sample_clients(count, seed=1)]
        for start in range(0, count, _BATCH):
            changes = pulled_changes("clients", rows[start : start + _BATCH], first_seq=start + 1)
            cache.apply_changes(changes, start + len(changes))


def filled_data_dir(work: Path, count: int, *, fresh_copy: str | None = None) -> Path:
    """A data dir whose cache holds ``count`` sample clients (built once under ``work``).

    Args:
        fresh_copy: when given, a copy of the built one under this name (for runs that write).
    """
    template = work / f"clients-{count}"
    if not (template / DATABASE_FILENAME).exists():
        print(f"filling a cache with {count:,} clients (once; kept in {template})…", flush=True)
        partial = work / f"clients-{count}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _fill(partial, count)
        partial.rename(template)
    if fresh_copy is None:
        return template
    copy = work / fresh_copy
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(template, copy)
    return copy


def bench_arguments(doc: str, **extra: int) -> argparse.Namespace:
    """``--dir`` and ``--count`` (and ``--NAME N`` for each of ``extra``, its default), parsed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "branchsync-bench-ui")
    parser.add_argument("--count", type=int, default=100_000)
    for name, default in extra.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    return args


def summary(label: str, samples_ms: list[float]) -> str:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return (
        f"{label:<44} p50 {statistics.median(samples_ms):6.1f} ms   p95 {cuts[94]:6.1f} ms   "
        f"max {max(samples_ms):6.1f} ms   (n={len(samples_ms)})"
    )


def p95(samples_ms: list[float]) -> float:
    return statistics.quantiles(samples_ms, n=100, method="inclusive")[94]
