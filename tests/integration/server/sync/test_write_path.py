"""``server.sync.write_path`` against a real PostgreSQL, with writers racing each other.

A first writer is held inside its transaction (after it planned and took its change
numbers) while a second writer runs; the second must end up with the answer it would
have had if the two had run one after the other.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from protocol.hlc import HybridLogicalClock
from protocol.messages import Mutation, MutationResult
from server.store.change_log import head_seq, read_changes
from server.store.tables import RECORD_TABLES
from server.sync.write_path import Author, Writer, apply_mutations, write_batch
from tests.support.db_waits import wait_for_lock_waiters
from tests.support.sync_client import mutation_model

AUTHOR = Author(uuid.uuid4(), uuid.uuid4())
OTHER = Author(uuid.uuid4(), uuid.uuid4())
NODE, OTHER_NODE = str(AUTHOR.device_id), str(OTHER.device_id)


def _upsert(clock: HybridLogicalClock, row_id: uuid.UUID, **fields: Any) -> Mutation:
    return mutation_model(clock.now(), fields, row_id=row_id)


async def _race(
    writer: Writer, first: list[Mutation], second: list[Mutation], second_author: Author = AUTHOR
) -> tuple[list[MutationResult], list[MutationResult]]:
    """Run ``first`` (by ``AUTHOR``) in a transaction held open until ``second`` is blocked behind it."""
    async with writer.engine.connect() as held:
        transaction = await held.begin()
        first_results = await write_batch(held, writer.clock, AUTHOR, first, max_clock_skew_s=300)
        racing = asyncio.create_task(apply_mutations(writer, second_author, second))
        await wait_for_lock_waiters(writer.engine, 1)
        assert not racing.done()
        await transaction.commit()
    return first_results, await racing


async def test_a_replay_racing_its_first_copy_is_answered_duplicate(writer: Writer) -> None:
    once = _upsert(HybridLogicalClock(NODE), uuid.uuid4(), name="Ann")

    first, second = await _race(writer, [once], [once])

    assert first[0].status == "applied"
    assert second[0].model_dump() == {**first[0].model_dump(), "status": "duplicate"}
    async with writer.engine.connect() as conn:
        changes, _, _ = await read_changes(conn, 0, 10)
    assert [c.fields for c in changes] == [{"name": "Ann"}]


async def test_two_creations_of_one_row_merge_as_if_in_sequence(writer: Writer) -> None:
    row_id = uuid.uuid4()
    early, late = HybridLogicalClock(OTHER_NODE), HybridLogicalClock(NODE)
    older = _upsert(early, row_id, name="Older", phone="555 0100")
    late.observe(older.hlc)
    newer = _upsert(late, row_id, name="Newer")

    first, second = await _race(writer, [newer], [older], second_author=OTHER)

    assert first[0].status == second[0].status == "applied"
    assert [(lost.field, lost.losing_value, lost.winning_value) for lost in second[0].lost] == [
        ("name", "Older", "Newer")
    ]
    assert second[0].seq is not None and first[0].seq is not None and second[0].seq > first[0].seq
    async with writer.engine.connect() as conn:
        changes, _, _ = await read_changes(conn, 0, 10)
    assert [c.fields for c in changes] == [{"name": "Newer", "phone": "555 0100"}]


async def test_an_edit_waits_for_a_concurrent_edit_of_the_same_row(writer: Writer) -> None:
    row_id = uuid.uuid4()
    clock = HybridLogicalClock(NODE)
    await apply_mutations(writer, AUTHOR, [_upsert(clock, row_id, name="Start")])
    held_edit = _upsert(clock, row_id, name="Held")
    low = Author(uuid.UUID(int=1), uuid.uuid4())  # a node that sorts before NODE: the same stamp loses
    stale_edit = mutation_model(
        held_edit.hlc.replace(NODE, str(low.device_id)), {"name": "Stale"}, row_id=row_id
    )

    _, second = await _race(writer, [held_edit], [stale_edit], second_author=low)

    assert [lost.losing_value for lost in second[0].lost] == ["Stale"]
    async with writer.engine.connect() as conn:
        name = (await conn.execute(select(RECORD_TABLES["clients"].c.name))).scalar_one()
    assert name == "Held"


async def test_unchanged_rows_keep_their_change_number(writer: Writer) -> None:
    clock = HybridLogicalClock(NODE)
    create = _upsert(clock, uuid.uuid4(), name="Ann")
    [created] = await apply_mutations(writer, AUTHOR, [create])
    same_again = create.model_copy(update={"id": uuid.uuid4()})

    [again] = await apply_mutations(writer, AUTHOR, [same_again])

    assert again.status == "applied" and again.seq == created.seq and again.lost == []
    async with writer.engine.connect() as conn:
        assert await head_seq(conn) == created.seq


async def test_bulk_batches_get_consecutive_change_numbers(writer: Writer) -> None:
    clock = HybridLogicalClock(NODE)
    batch = [_upsert(clock, uuid.uuid4(), name=f"Client {i}", tags=["bulk"]) for i in range(500)]

    results = await apply_mutations(writer, AUTHOR, batch)

    assert [r.seq for r in results] == list(range(1, 501))
    async with writer.engine.connect() as conn:
        changes, cursor, has_more = await read_changes(conn, 0, 5000)
    assert (len(changes), cursor, has_more) == (500, 500, False)
    assert [str(c.row_id) for c in changes] == [str(m.row_id) for m in batch]
