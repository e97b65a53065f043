"""Pushes pipelined against a real server: the next batch goes up while the cache records
the answer to the one before, and the server still applies the outbox in its order.

Batches are kept small (7) so that a row's create and its edits fall into different
batches, and every test crosses many batch boundaries.
"""

from __future__ import annotations

from dataclasses import replace

from desktop.cache import Cache
from desktop.demo.link_proxy import LinkProxy
from desktop.sync.status import EngineState
from tests.support.desktop_engine import FAST, Installation, wait_until
from tests.support.server_rows import applied_seqs, server_count, server_rows

SMALL = replace(FAST, core=replace(FAST.core, batch_size=7))


def _queued_ids(cache: Cache) -> list[str]:
    """Every queued mutation id, in outbox order."""
    ids: list[str] = []
    batch = cache.next_push()
    while batch.entries:
        ids.extend(entry.mutation_id for entry in batch.entries)
        batch = cache.next_push(after=batch.last_seq)
    return ids


def _assert_applied_in_order(database_url: str, queued: list[str]) -> None:
    """The server numbered the applied mutations in outbox order (numbers follow commits;
    mutations of one row in one batch share the row's one change number)."""
    seqs = applied_seqs(database_url)
    numbers = [seqs[mutation_id] for mutation_id in queued if mutation_id in seqs]
    assert numbers == sorted(numbers)


def test_creates_and_edits_of_one_row_across_batches_reach_the_server_in_outbox_order(
    north: Installation, database_url: str
) -> None:
    phones: dict[str, str] = {}
    for n in range(10):
        row = north.cache.create("clients", {"name": f"client {n}"})
        for k in range(4):
            phones[row] = f"+44 20 7946 {n:02d}{k:02d}"
            north.cache.update("clients", row, {"phone": phones[row]})
    queued = _queued_ids(north.cache)
    assert len(queued) == 50  # 8 batches of 7 (and one of 1)

    north.start(SMALL)
    north.wait_synced(30)
    assert len(applied_seqs(database_url)) == 50
    _assert_applied_in_order(database_url, queued)
    rows = server_rows(database_url)
    assert {row: rows[row]["phone"] for row in rows} == phones
    counts = north.cache.counts()
    assert (counts.pending, counts.rejected, counts.conflicts) == (0, 0, 0)


def test_a_rejected_mutation_between_batches_is_set_aside_and_the_rest_keep_their_order(
    north: Installation, database_url: str
) -> None:
    before = [north.cache.create("clients", {"name": f"before {n}"}) for n in range(10)]
    poison = north.cache.create("clients", {"name": "poison", "email": "fine@example.com"})
    after = [north.cache.create("clients", {"name": f"after {n}"}) for n in range(10)]
    north.poison_queued_create(poison)
    queued = _queued_ids(north.cache)

    north.start(SMALL)
    north.wait_synced(30)
    assert set(server_rows(database_url)) == set(before) | set(after)
    (rejected,) = north.cache.rejected()
    assert (rejected.row_id, rejected.code) == (poison, "invalid_email")
    assert server_count(database_url, "rejections") == 1
    _assert_applied_in_order(database_url, queued)
    assert north.cache.counts().pending == 0


def test_the_server_going_away_mid_pipeline_loses_and_doubles_nothing(
    north: Installation, proxy: LinkProxy, database_url: str
) -> None:
    edits = 3000
    with north.cache.batch() as writer:
        ids = {writer.create("clients", {"name": f"client {n}"}) for n in range(edits)}
    queued = _queued_ids(north.cache)
    proxy.slow(0.05)  # pushes take a while, so the cut lands while batches follow each other
    north.start()
    # two answers recorded: from the first on, each batch went up while the one before was recorded
    wait_until(lambda: north.cache.counts().pending <= edits - 1000, 60, "two batches answered")
    proxy.cut()
    wait_until(
        lambda: (s := north.status) is not None and s.state is EngineState.OFFLINE, 15, "North offline"
    )
    assert 0 < north.cache.counts().pending < edits

    proxy.restore()
    north.wait_synced(60)
    assert set(server_rows(database_url)) == ids
    assert server_count(database_url, "applied_mutations") == edits
    assert server_count(database_url, "rejections") == 0
    _assert_applied_in_order(database_url, queued)
    counts = north.cache.counts()
    assert (counts.pending, counts.rejected, counts.conflicts) == (0, 0, 0)
