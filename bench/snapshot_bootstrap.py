"""Snapshot bootstrap: a new PC at a company with 1,000,000 records is ready in under 30 s.

A real server process on a scratch PostgreSQL database is seeded with ``--rows`` clients
written straight into its tables in the shape the write path leaves them (typed
columns, one clock per field, consecutive change numbers; seeding by pushes would take
longer than the bench). A new installation enrols and runs the engine once
(``branchsync sync --once``): it takes the server's snapshot, loads it in bulk, then
pulls from the snapshot's change number. Measured from the engine's start to its end,
with every row in the cache and the cursor at the server's head.

In the same run, against today's path: a second database with ``--page-rows`` clients
(default 100,000, since a million page by page takes minutes) is bootstrapped both ways,
alternately, ``--repeat`` times; the page path's time is extrapolated linearly to
``--rows``. Also printed: the snapshot's size and the server's time alone (a bare
client that downloads it and reads nothing).

Usage::

    python bench/snapshot_bootstrap.py [--rows 1000000] [--page-rows 100000] [--repeat 3]

Goal: under 30 s for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import asyncpg
import httpx
from _engine_setup import ROOT, Bench, bench_server, machine_line, run_bench, verdict

sys.path.insert(0, str(ROOT))

from desktop.sync.actions import Outcome
from desktop.sync.enrollment import endpoint_for
from desktop.sync.events import Mode
from desktop.sync.runner import Runner, RunnerConfig
from protocol.wire import SNAPSHOT_PATH

GOAL_S = 30.0

_SEED = """
INSERT INTO clients (id, name, phone, email, clocks, bases, deleted, seq, updated_at)
SELECT gen_random_uuid(), format('Client %s', lpad(i::text, 7, '0')),
       format('+44 20 7946 %s', lpad((i % 10000)::text, 4, '0')), format('client%s@example.com', i),
       jsonb_build_object('name', h, 'phone', h, 'email', h), '{}'::jsonb, false, nextval('change_seq'), now()
FROM (SELECT i, format('%s-%s-bench-seeder', lpad((1796000000000 + i)::text, 15, '0'), '000000') AS h
      FROM generate_series($1::bigint, $2::bigint) AS i) AS s
"""


async def seed(database_url: str, rows: int) -> float:
    """Seconds to write ``rows`` clients straight into the server's table."""
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        for start in range(1, rows + 1, 100_000):
            await conn.execute(_SEED, start, min(rows, start + 99_999))
        await conn.execute("ANALYZE clients")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def bootstrap(bench: Bench, name: str, rows: int, *, snapshot: bool) -> float:
    """Seconds for a new installation's ``sync --once`` from nothing to every row at the head."""
    cache = await bench.installation(name)
    try:
        runner = Runner(cache, endpoint_for(cache), mode=Mode.ONCE, config=RunnerConfig(snapshot=snapshot))
        started = time.perf_counter()
        outcome = await runner.run()
        elapsed = time.perf_counter() - started
        assert outcome is Outcome.SYNCED, outcome
        stored = cache.count("clients")
        assert stored == rows, (stored, rows)
        assert cache.state().cursor == rows, cache.state().cursor
        assert cache.count("clients", search=f"client {rows:07d}") == 1  # the search index is whole
        return elapsed
    finally:
        cache.close()


async def download(bench: Bench) -> tuple[float, int]:
    """Seconds and bytes for a bare client to download the snapshot (the server's work alone)."""
    device = await bench.device("bare")
    size = 0
    async with httpx.AsyncClient(base_url=bench.url, timeout=600, headers=device.headers) as http:
        started = time.perf_counter()
        async with http.stream("GET", SNAPSHOT_PATH) as answer:
            answer.raise_for_status()
            async for chunk in answer.aiter_raw():
                size += len(chunk)
        return time.perf_counter() - started, size


async def run(args: argparse.Namespace, admin: str) -> int:
    async with bench_server(admin) as small:
        small_seed_s = await seed(small.database_url, args.page_rows)
        snap_small: list[float] = []
        pages_small: list[float] = []
        for n in range(args.repeat):  # alternately, so both see the same machine
            snap_small.append(await bootstrap(small, f"snap-{n}", args.page_rows, snapshot=True))
            pages_small.append(await bootstrap(small, f"pages-{n}", args.page_rows, snapshot=False))
    async with bench_server(admin) as big:
        big_seed_s = await seed(big.database_url, args.rows)
        server_s, size = await download(big)
        snap_big = [
            await bootstrap(big, f"snap-big-{n}", args.rows, snapshot=True) for n in range(args.repeat)
        ]

    page_s = statistics.median(pages_small)
    snap_s = statistics.median(snap_small)
    big_s = statistics.median(snap_big)
    page_big_s = page_s * args.rows / args.page_rows
    print(f"snapshot bootstrap: a new PC loads {args.rows:,} rows; today's page path at {args.page_rows:,}")
    print(machine_line())
    print(f"  seeding (straight into the tables): {big_seed_s:.2f} s, and {small_seed_s:.2f} s")
    print(f"  {args.page_rows:,} rows, medians of {args.repeat} alternate runs:")
    print(f"    page by page (today): {page_s:6.2f} s  runs {_runs(pages_small)}")
    print(f"    snapshot:             {snap_s:6.2f} s  runs {_runs(snap_small)}")
    print(f"    snapshot is {page_s / snap_s:.1f}x faster")
    print(f"  {args.rows:,} rows:")
    print(f"    snapshot, engine start to synced: {big_s:6.2f} s  runs {_runs(snap_big)}")
    print(f"    that is {args.rows / big_s:,.0f} rows/s, {big_s / args.rows * 1e6:.1f} us/row")
    print(f"    page by page, extrapolated:       {page_big_s:6.1f} s")
    print(f"    snapshot size {size / 2**20:.1f} MiB ({size / args.rows:.0f} B/row)")
    print(f"    the server alone (a bare download): {server_s:.2f} s")
    goal = GOAL_S * args.rows / 1_000_000
    return verdict(big_s < goal, goal, server_s / big_s)


def _runs(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the snapshot (default 1000000)")
    parser.add_argument(
        "--page-rows", type=int, default=100_000, help="rows for the comparison (default 100000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")


def main() -> int:
    return run_bench(__doc__ or "", _arguments, run)


if __name__ == "__main__":
    sys.exit(main())
