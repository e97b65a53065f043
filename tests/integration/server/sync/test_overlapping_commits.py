"""Commits overlap, yet no reader's cursor ever passes a change it has not seen.

Seeded random rounds against a real PostgreSQL: writers on their own connections commit
batches of random sizes; some hold their transaction open until others, numbered after
them, have committed (so commits land out of number order), and some roll back. Readers
pull with their cursors all the while, with random page sizes, and sample ``head_seq``.
At the end every reader must have seen every committed change exactly once, in number
order, and nothing rolled back; every sampled head must have been a cursor from which a
bulk read up to it was already complete.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field, replace

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.hlc import HybridLogicalClock
from server.store.change_log import head_seq, read_changes
from server.store.engine import create_engine
from server.sync.write_path import Author, Writer, write_batch
from tests.support.sync_client import mutation_model

WRITERS = 6
READERS = 3
TRANSACTIONS = 8  # per writer
HOLD_TIMEOUT_S = 5.0
"""A held writer waits for two later commits; this only bounds a stuck round."""


@dataclass
class Round:
    """What the writers did and what the readers saw."""

    committed: dict[int, uuid.UUID] = field(default_factory=dict)
    rolled_back: set[uuid.UUID] = field(default_factory=set)
    commit_order: list[int] = field(default_factory=list)
    """The lowest number of each committed batch, in the order the commits returned."""
    commits: int = 0
    running: int = WRITERS
    """Writers neither finished nor holding: a held writer stops waiting when none is left."""
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    writing: bool = True
    heads: list[tuple[int, set[int]]] = field(default_factory=list)


async def _writer(writer: Writer, rnd: random.Random, state: Round, w: int) -> None:
    clock = HybridLogicalClock(f"writer-{w}")
    for _ in range(TRANSACTIONS):
        batch = [
            mutation_model(clock.now(), {"name": f"W{w}"}, row_id=uuid.uuid4())
            for _ in range(rnd.randint(1, 20))
        ]
        hold, roll_back = rnd.random() < 0.3, rnd.random() < 0.15
        async with writer.engine.connect() as conn:
            transaction = await conn.begin()
            results = await write_batch(conn, writer.clock, Author(None, None), batch, max_clock_skew_s=300)
            if hold:  # let writers numbered after this one commit first
                await _hold(state)
            if roll_back:
                await transaction.rollback()
                state.rolled_back.update(m.row_id for m in batch)
                continue
            await transaction.commit()
        seqs = [r.seq for r in results]
        assert all(s is not None for s in seqs)
        state.committed.update((s, m.row_id) for s, m in zip(seqs, batch, strict=True) if s is not None)
        state.commit_order.append(min(s for s in seqs if s is not None))
        async with state.changed:
            state.commits += 1
            state.changed.notify_all()
    async with state.changed:
        state.running -= 1
        state.changed.notify_all()


async def _hold(state: Round) -> None:
    """Wait for two more commits, or until no other writer is left to make them."""
    target = state.commits + 2
    async with state.changed:
        state.running -= 1
        state.changed.notify_all()
        async with asyncio.timeout(HOLD_TIMEOUT_S):
            await state.changed.wait_for(lambda: state.commits >= target or state.running == 0)
        state.running += 1


async def _autocommit(writer: Writer) -> AsyncConnection:
    conn = await writer.engine.connect()
    return await conn.execution_options(isolation_level="AUTOCOMMIT")


async def _reader(writer: Writer, rnd: random.Random, state: Round) -> dict[int, uuid.UUID]:
    seen: dict[int, uuid.UUID] = {}
    cursor = 0
    conn = await _autocommit(writer)
    try:
        while True:
            finished = not state.writing
            changes, new_cursor, has_more = await read_changes(conn, cursor, rnd.randint(1, 40))
            seqs = [c.seq for c in changes]
            assert seqs == sorted(seqs) and all(s > cursor for s in seqs), (cursor, seqs)
            assert new_cursor == (seqs[-1] if seqs else cursor)
            for change in changes:
                assert change.seq not in seen
                seen[change.seq] = change.row_id
            cursor = new_cursor
            if rnd.random() < 0.2:
                head = await head_seq(conn)
                bulk, _, more = await read_changes(conn, 0, 100_000)
                assert not more
                state.heads.append((head, {c.seq for c in bulk if c.seq <= head}))
            if finished and not has_more:
                return seen
            await asyncio.sleep(0)  # sleep-ok: yield to the writers between pulls
    finally:
        await conn.close()


@pytest.mark.parametrize("seed", [11, 12, 13])
async def test_readers_see_every_change_once_while_commits_overlap(
    writer: Writer, database_url: str, seed: int
) -> None:
    writer = replace(writer, engine=create_engine(database_url, pool_size=12))  # a connection each
    try:
        await _round(writer, seed)
    finally:
        await writer.engine.dispose()


async def _round(writer: Writer, seed: int) -> None:
    rnd = random.Random(seed)
    state = Round()
    readers = [
        asyncio.create_task(_reader(writer, random.Random(rnd.random()), state)) for _ in range(READERS)
    ]
    await asyncio.gather(*(_writer(writer, random.Random(rnd.random()), state, w) for w in range(WRITERS)))
    state.writing = False
    seen_by_reader = await asyncio.gather(*readers)

    assert state.committed and state.rolled_back
    assert state.commit_order != sorted(state.commit_order)  # commits did land out of number order
    for seen in seen_by_reader:
        assert seen == state.committed  # every change exactly once, nothing rolled back
    for head, complete in state.heads:
        assert complete == {s for s in state.committed if s <= head}
