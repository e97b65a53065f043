"""Bootstrap: a new device pulls 100,000 rows into its cache.

A real server process on a scratch PostgreSQL database is seeded with ``--rows`` new
clients (pushed by another device, 500 per push). Then a new installation enrols and
runs the sync engine once (``branchsync sync --once``): it pulls every change from 0,
page by page, each page merged into its SQLite cache in one transaction while the
next page is already on its way. The clock runs from the engine's start to its end.

In the same run, the floor: the same pages pulled by a bare httpx client that only
parses them (no cache): what the server and the network alone cost.

Usage::

    python bench/bootstrap.py [--rows 100000] [--pull-limit N] [--admin-url URL]

Goal: under 10 s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import sys
import time

import httpx
from _engine_setup import ROOT, Bench, bench_server, machine_line, push_bodies, push_raw, run_bench, verdict

sys.path.insert(0, str(ROOT))

from desktop.sync.actions import Outcome
from desktop.sync.enrollment import endpoint_for
from desktop.sync.events import Mode
from desktop.sync.runner import Runner, RunnerConfig
from protocol.messages import PullResponse

GOAL_S = 10.0


async def _bare_pulls(bench: Bench, limit: int) -> tuple[float, int]:
    """Seconds and changes for pulling everything with a bare client (parsed, not stored)."""
    device = await bench.device("floor")
    changes = cursor = 0
    async with httpx.AsyncClient(base_url=bench.url, timeout=120, headers=device.headers) as http:
        started = time.perf_counter()
        while True:
            answer = await http.get("/api/v1/sync/pull", params={"since": cursor, "limit": limit})
            answer.raise_for_status()
            page = PullResponse.model_validate_json(answer.content)
            changes += len(page.changes)
            cursor = page.cursor
            if not page.has_more:
                return time.perf_counter() - started, changes


async def run(args: argparse.Namespace, admin: str) -> int:
    async with bench_server(admin) as bench:
        seeder = await bench.device("seeder")
        seed_s = await push_raw(bench.url, seeder, push_bodies(seeder, args.rows))
        cache = await bench.installation("new-pc")
        try:
            runner = Runner(
                cache, endpoint_for(cache), mode=Mode.ONCE, config=RunnerConfig(pull_limit=args.pull_limit)
            )
            started = time.perf_counter()
            outcome = await runner.run()
            engine_s = time.perf_counter() - started
            assert outcome is Outcome.SYNCED, outcome
            stored = cache.count("clients")
            assert stored == args.rows, stored
        finally:
            cache.close()
        floor_s, pulled = await _bare_pulls(bench, args.pull_limit)
        assert pulled == args.rows

    print(f"bootstrap: a new device pulls {args.rows:,} rows into its cache ({args.pull_limit} per page)")
    print(machine_line())
    print(f"  seeding the server (pushes of 500): {seed_s:6.2f} s")
    print(f"  branchsync engine, sync --once from 0: {engine_s:6.2f} s  ({args.rows / engine_s:,.0f} rows/s)")
    print(f"  floor, bare httpx pulls, parsed only: {floor_s:6.2f} s  ({args.rows / floor_s:,.0f} rows/s)")
    goal = GOAL_S * args.rows / 100_000
    met = engine_s < goal
    return verdict(met, goal, floor_s / engine_s)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="rows on the server (default 100000)")
    parser.add_argument(
        "--pull-limit",
        type=int,
        default=RunnerConfig().pull_limit,
        help="changes per pull (default: the engine's)",
    )


def main() -> int:
    return run_bench(__doc__ or "", _arguments, run)


if __name__ == "__main__":
    sys.exit(main())
