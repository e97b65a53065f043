"""Growth per simulated year at 200 branches: tables, indexes and WAL, and what housekeeping bounds.

Simulates ``--days`` ordinary days of ``--branches`` branches through the real write path
(``server.sync.write_path.apply_mutations``, small pushes as engines send them) on a scratch
PostgreSQL database: per branch and day ``--writes`` mutations, of which 20 % create a
client, 70 % edit one, 10 % delete one, plus ``--rejected`` refused mutations. After each day
it reads ``pg_total_relation_size`` per table (indexes included) and the WAL written
(``pg_current_wal_lsn`` difference). Then it runs housekeeping as shipped (``sweep``) with
every retention already past, and shows what went: answers and rejections deleted,
tombstones cleared, and a tombstone's size before and after (``pg_column_size`` of the row).

Per year: records and tombstones grow with the days (nothing is ever purged: no branch
has a deadline); answers and rejections stay at ``BRANCHSYNC_RECORD_KEEP_DAYS`` days' worth;
device status is one row per device, updated in place (no history is stored).

The WAL position is the cluster's: on a PostgreSQL shared with other work the WAL figure
includes theirs, so measure it on a cluster of its own (``--admin-url``).

Usage::

    python bench/growth.py [--branches 200] [--days 3] [--writes 40] [--rejected 1] [--admin-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bench._engine_setup import machine_line, run_bench  # noqa: E402
from protocol.hlc import HybridLogicalClock  # noqa: E402
from protocol.messages import Mutation, MutationResult  # noqa: E402
from server.ops.housekeeping import sweep  # noqa: E402
from server.store.engine import create_engine  # noqa: E402
from server.store.migrate import upgrade  # noqa: E402
from server.sync.write_path import Author, Writer, apply_mutations  # noqa: E402
from tests.support import postgres  # noqa: E402

TABLES = ("clients", "appointments", "applied_mutations", "rejections", "devices")
KEEP_DAYS = 90
"""``BRANCHSYNC_RECORD_KEEP_DAYS``' default: answers and rejections plateau at this many days."""
PUSH = 5
"""Mutations per push: an engine pushes what was queued since its last push."""


class _NoCounter:
    def observe_results(self, results: Iterable[MutationResult]) -> None:
        pass


def _fields(rng: random.Random) -> dict[str, Any]:
    return {
        "name": f"Client {rng.randrange(10**7):07d}",
        "phone": f"+44 20 7946 {rng.randrange(10_000):04d}",
        "email": f"c{rng.randrange(10**6)}@example.com",
        "notes": "Prefers mornings; allergic to latex." if rng.random() < 0.3 else None,
        "tags": ["regular"] if rng.random() < 0.5 else [],
    }


def _day(
    rng: random.Random, clock: HybridLogicalClock, live: list[uuid.UUID], writes: int, rejected: int
) -> list[Mutation]:
    """One branch's day of mutations (creates, edits, deletes of its own rows, refusals)."""
    out: list[Mutation] = []
    for _ in range(writes):
        roll = rng.random()
        if roll < 0.2 or len(live) < 5:
            row_id = uuid.uuid4()
            live.append(row_id)
            out.append(
                _mutation(clock, row_id, "upsert", {k: v for k, v in _fields(rng).items() if v is not None})
            )
        elif roll < 0.9:
            out.append(_mutation(clock, rng.choice(live), "upsert", {"phone": _fields(rng)["phone"]}))
        else:
            out.append(_mutation(clock, live.pop(rng.randrange(len(live))), "delete", {}))
    out.extend(_mutation(clock, uuid.uuid4(), "upsert", {"name": ""}) for _ in range(rejected))
    return out


def _interleaved(
    rng: random.Random,
    branches: list[tuple[uuid.UUID, HybridLogicalClock, list[uuid.UUID]]],
    writes: int,
    rejected: int,
) -> list[tuple[uuid.UUID, list[Mutation]]]:
    """Every branch's day cut into pushes, the branches taking turns (each keeps its own order)."""
    days = [(device, _day(rng, clock, live, writes, rejected)) for device, clock, live in branches]
    rounds = max(len(day) for _, day in days)
    return [
        (device, day[i : i + PUSH])
        for i in range(0, rounds, PUSH)
        for device, day in days
        if day[i : i + PUSH]
    ]


def _mutation(clock: HybridLogicalClock, row_id: uuid.UUID, op: str, fields: dict[str, Any]) -> Mutation:
    return Mutation.model_validate(
        {
            "id": str(uuid.uuid4()),
            "collection": "clients",
            "row_id": str(row_id),
            "op": op,
            "fields": fields,
            "hlc": clock.now(),
        }
    )


async def _sizes(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            t: (await conn.execute(text(f"SELECT pg_total_relation_size('{t}')"))).scalar_one()
            for t in TABLES
        }


async def _lsn(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))).scalar_one())


async def _tombstone_bytes(engine: AsyncEngine) -> tuple[int, float]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT count(*), avg(pg_column_size(c.*)) FROM clients c WHERE deleted"))
        ).one()
    return int(row[0]), float(row[1] or 0)


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


async def _run(args: argparse.Namespace, admin_url: str) -> int:
    url = await postgres.create_database(admin_url)
    engine = create_engine(url, pool_size=4)
    try:
        await upgrade(engine)
        writer = Writer(engine, HybridLogicalClock("server"), 60.0, _NoCounter())
        rng = random.Random(11)
        devices = [uuid.uuid4() for _ in range(args.branches)]
        branches: list[tuple[uuid.UUID, HybridLogicalClock, list[uuid.UUID]]] = [
            (device, HybridLogicalClock(str(device)), [])
            for device in devices  # a device stamps as itself
        ]
        print(machine_line())
        print(
            f"{args.branches} branches, {args.writes} writes + {args.rejected} refused"
            f" per branch and day, pushes of {PUSH}"
        )
        growth: dict[str, list[int]] = {t: [] for t in TABLES}
        wal: list[int] = []
        for day in range(1, args.days + 1):
            before, lsn = await _sizes(engine), await _lsn(engine)
            started = time.perf_counter()
            pushes = _interleaved(rng, branches, args.writes, args.rejected)
            for device, batch in pushes:
                await apply_mutations(writer, Author(device, None), batch)
            after, wal_day = await _sizes(engine), await _lsn(engine) - lsn
            wal.append(wal_day)
            for t in TABLES:
                growth[t].append(after[t] - before[t])
            print(
                f"day {day}: {len(pushes)} pushes in {time.perf_counter() - started:.1f} s,"
                f" WAL {_mib(wal_day)}, "
                + ", ".join(f"{t} +{_mib(after[t] - before[t])}" for t in TABLES if after[t] != before[t])
            )
        per_day = {t: statistics.median(v) for t, v in growth.items()}
        print(
            f"per day (median of {args.days}): WAL {_mib(statistics.median(wal))}; "
            + ", ".join(f"{t} {_mib(v)}" for t, v in per_day.items() if v)
        )
        records = per_day["clients"] + per_day["appointments"]
        bounded = per_day["applied_mutations"] + per_day["rejections"]
        print(
            f"per year: records grow {_mib(records * 365)} (never purged); answers + rejections plateau at "
            f"{_mib(bounded * KEEP_DAYS)} ({KEEP_DAYS} days' worth);"
            f" WAL written {_mib(statistics.median(wal) * 365)}"
            " (recycled at checkpoints; archive volume if archiving)"
        )

        tombstones, before_bytes = await _tombstone_bytes(engine)
        answers, refused = await _count(engine, "applied_mutations"), await _count(engine, "rejections")
        lsn = await _lsn(engine)
        started = time.perf_counter()
        done = await sweep(engine, timedelta(0), timedelta(0))
        took = time.perf_counter() - started
        _, after_bytes = await _tombstone_bytes(engine)
        yearly = tombstones / args.days * 365
        print(
            f"housekeeping with every retention past, {took:.1f} s, WAL {_mib(await _lsn(engine) - lsn)}: "
            f"answers {done.answers}/{answers} deleted, rejections {done.rejections}/{refused} deleted, "
            f"tombstones {done.tombstones}/{tombstones} cleared"
        )
        print(
            f"tombstone row: {before_bytes:.0f} B before clearing, {after_bytes:.0f} B after "
            f"({yearly:,.0f} tombstones a year: {_mib(yearly * after_bytes)} of rows)"
        )
        return 0 if done.tombstones == tombstones and after_bytes < before_bytes else 1
    finally:
        await engine.dispose()
        await postgres.drop_database(admin_url, url)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--writes", type=int, default=40, help="mutations per branch and day")
    parser.add_argument("--rejected", type=int, default=1, help="refused mutations per branch and day")


if __name__ == "__main__":
    sys.exit(run_bench(__doc__ or "", _arguments, _run))
