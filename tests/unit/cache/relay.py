"""The server's write decisions over an in-memory store, so cache tests can replay whole races.

``server.sync.write_plan.plan_batch`` is the real, pure core of a push (validation, merge,
lost values, bases); this only keeps its rows in dicts instead of PostgreSQL and
numbers the changes. Caches push and pull through it exactly as the engine would:
``pending_batch`` -> ``apply_push_results``, pull -> ``apply_changes``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from desktop.cache import Cache
from protocol.hlc import HybridLogicalClock
from protocol.merge import Row
from protocol.messages import Change, LostWire, Mutation, MutationResult
from server.sync.write_plan import Applied, Duplicate, Rejected, RowKey, plan_batch
from tests.unit.cache.helpers import START_MS

__all__ = ["Relay"]


class Relay:
    """One server: rows, their bases and change numbers, and every answer it gave."""

    def __init__(self) -> None:
        self.rows: dict[RowKey, Row] = {}
        self.bases: dict[RowKey, dict[str, str | None]] = {}
        self.seqs: dict[RowKey, int] = {}
        self.answered: dict[uuid.UUID, dict[str, Any]] = {}
        self.head = 0
        self.clock = HybridLogicalClock("server", wall_ms=lambda: START_MS)

    def push(self, cache: Cache, *, answer: bool = True) -> None:
        """Push ``cache``'s outbox and hand it the answers (unless the answer is lost on the way)."""
        entries = cache.pending_batch()
        mutations = [Mutation.model_validate(entry.to_wire()) for entry in entries]
        plan = plan_batch(
            mutations,
            self.rows,
            self.answered,
            self.clock,
            now_ms=START_MS + 86_400_000,
            max_skew_ms=0,
            current_bases=self.bases,
        )
        for key, row in plan.rows.items():
            self.head += 1
            self.rows[key], self.bases[key], self.seqs[key] = row, plan.bases[key], self.head
        results = []
        for mutation, outcome in zip(mutations, plan.outcomes, strict=True):
            match outcome:
                case Applied(key=key, lost=lost):
                    stored = {"seq": self.seqs.get(key), "lost": [item.to_wire() for item in lost]}
                    self.answered[mutation.id] = stored
                    results.append(_result(mutation.id, "applied", stored))
                case Duplicate(previous=previous):
                    assert not isinstance(previous, Applied)
                    results.append(_result(mutation.id, "duplicate", previous))
                case Rejected():
                    raise AssertionError(f"the relay refused {mutation}: {outcome}")
        if answer:
            cache.apply_push_results(entries, results, str(self.clock.last))

    def pull(self, cache: Cache) -> None:
        """Send ``cache`` every change after its cursor, as one pull."""
        since = cache.state().cursor
        changes = [
            Change(
                seq=seq,
                collection=key[0],
                row_id=key[1],
                fields=dict(self.rows[key].fields),
                clocks=dict(self.rows[key].clocks),
                deleted=self.rows[key].deleted,
                bases=self.bases[key],
            )
            for key, seq in sorted(self.seqs.items(), key=lambda item: item[1])
            if seq > since
        ]
        cache.apply_changes(changes, self.head, "epoch")

    def sync(self, cache: Cache) -> None:
        """What the engine does on reconnecting: push the outbox, then pull."""
        self.push(cache)
        self.pull(cache)


def _result(mutation_id: uuid.UUID, status: str, answer: Mapping[str, Any]) -> MutationResult:
    lost = [LostWire.model_validate(item) for item in answer["lost"]]
    return MutationResult.model_validate(
        {"id": mutation_id, "status": status, "seq": answer["seq"], "lost": lost}
    )
