"""The outbox: local writes waiting for the server's answer, in the order they were made.

Each entry is one mutation with a UUID made here, so replaying it after a crash is
harmless (the server answers ``duplicate``). The outbox is the only local data the
server cannot give back, which is why it is written in the same transaction as the
row it changes.

Each entry keeps ``before``, the value and clock of every key it writes as they were
when the user made the edit; its clocks are the mutation's ``base`` on the wire, which
lets other branches tell a race from a later edit (``protocol.concurrency``). Every
local write has a ``before`` (it writes at least the deletion register); only the
epoch push-back, which re-sends values with their original stamps, has none, and so
sends no base.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, bindparam, delete, func, insert, select

from desktop.cache.rows import dataclass_from
from desktop.cache.schema import outbox
from protocol.messages import Mutation
from protocol.version import MAX_MUTATIONS_PER_PUSH, MAX_PUSH_BYTES
from protocol.wire import PUSH_ENVELOPE_BYTES, push_body

__all__ = [
    "Before",
    "LocalMutation",
    "Op",
    "OutboxBatch",
    "OutboxEntry",
    "append",
    "entry_from_mapping",
    "next_push",
    "pending_batch",
    "pending_count",
    "pending_hlcs",
    "remove",
]

Op = Literal["upsert", "delete"]

Before = Mapping[str, tuple[Any, str | None]]
"""Key -> (value, clock) it had before a write; clock None when it was never written."""

_INSERT = insert(outbox)
_EMPTY_PUSH = json.dumps(push_body([]), separators=(",", ":")).encode()
_PUSH_HEAD, _PUSH_TAIL = _EMPTY_PUSH[:-2], _EMPTY_PUSH[-2:]
"""A compact push body around its mutations: ``{"mutations":[`` and ``]}``."""


@dataclass(frozen=True, slots=True)
class LocalMutation:
    """A mutation made on this device: queued in the outbox, or refused by the server."""

    mutation_id: str
    collection: str
    row_id: str
    op: Op
    fields: Mapping[str, Any]
    hlc: str
    created_at: datetime
    before: Mapping[str, list[Any]]
    """Key -> [value, clock] it had before this write (stored form of ``Before``)."""

    @property
    def base(self) -> dict[str, str | None] | None:
        """Per key written, the clock of the value this device held (None: unknown)."""
        return {key: pair[1] for key, pair in self.before.items()} or None

    def to_mutation(self) -> Mutation:
        """The mutation as the server's model has it (what a push sends)."""
        return Mutation(
            id=uuid.UUID(self.mutation_id),
            collection=self.collection,
            row_id=uuid.UUID(self.row_id),
            op=self.op,
            fields=dict(self.fields),
            hlc=self.hlc,
            base=self.base,
        )

    def to_wire(self) -> dict[str, Any]:
        """The mutation as the push body carries it: ``mutation_body(self.to_mutation())``.

        Built by hand, without the model: every entry is sized and sent through this
        (a replay of 10,000 builds 10,000), and the stored values are already wire
        values (ids as canonical text, fields as JSON). ``test_outbox`` pins the equality.
        """
        wire: dict[str, Any] = {
            "id": self.mutation_id,
            "collection": self.collection,
            "row_id": self.row_id,
            "op": self.op,
            "fields": dict(self.fields),
            "hlc": self.hlc,
        }
        base = self.base
        if base is not None:
            wire["base"] = base
        return wire


@dataclass(frozen=True, slots=True)
class OutboxEntry(LocalMutation):
    """One pending mutation, as it will be pushed; ``seq`` is its place in the queue."""

    seq: int


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """The next mutations to push and their push body, encoded once.

    The body is the bytes the batch was measured by (compact JSON, ASCII-escaped), so
    what goes on the wire is exactly what was checked against ``MAX_PUSH_BYTES``.
    """

    entries: list[OutboxEntry]
    body: bytes

    @property
    def last_seq(self) -> int:
        """The queue position of the last entry (a batch has one): the next batch starts after it."""
        return self.entries[-1].seq


def entry_from_mapping(mapping: RowMapping) -> OutboxEntry:
    return dataclass_from(OutboxEntry, mapping)


def append(
    conn: Connection,
    collection: str,
    row_id: str,
    op: Op,
    fields: Mapping[str, Any],
    hlc: str,
    before: Before,
    *,
    seq: int | None = None,
) -> OutboxEntry:
    """Queue one mutation (at the end, or at ``seq`` when given) and return it."""
    values: dict[str, Any] = {
        "mutation_id": str(uuid.uuid4()),
        "collection": collection,
        "row_id": row_id,
        "op": op,
        "fields": dict(fields),
        "hlc": hlc,
        "before": {key: list(pair) for key, pair in before.items()},
        "created_at": datetime.now(UTC),
    }
    if seq is not None:
        values["seq"] = seq
    result = conn.execute(_INSERT, values)
    new_seq = seq if seq is not None else int(result.lastrowid)
    return OutboxEntry(
        mutation_id=values["mutation_id"],
        collection=collection,
        row_id=row_id,
        op=op,
        fields=values["fields"],
        hlc=hlc,
        created_at=values["created_at"],
        before=values["before"],
        seq=new_seq,
    )


def pending_batch(
    conn: Connection, limit: int = MAX_MUTATIONS_PER_PUSH, max_bytes: int = MAX_PUSH_BYTES
) -> list[OutboxEntry]:
    """The oldest pending mutations that fit in one push request (see ``next_push``)."""
    return next_push(conn, limit, max_bytes).entries


def next_push(
    conn: Connection,
    limit: int = MAX_MUTATIONS_PER_PUSH,
    max_bytes: int = MAX_PUSH_BYTES,
    after: int | None = None,
) -> OutboxBatch:
    """The oldest pending mutations (after queue position ``after``, if given) that fit in one push.

    At most ``limit`` entries whose JSON (measured ASCII-escaped, the largest a client
    may send) stays under ``max_bytes``; always at least one when any is pending, so a
    single huge mutation is sent and answered rather than stuck. Whether to push at all
    (not while an epoch reset is pulling), and whether to start after a batch whose
    answer is still being recorded, is the sync core's decision, not this one's.
    """
    query = select(outbox).order_by(outbox.c.seq).limit(max(1, min(limit, MAX_MUTATIONS_PER_PUSH)))
    if after is not None:  # positions may be below 1: an epoch's push-back goes ahead of the queue
        query = query.where(outbox.c.seq > after)
    batch: list[OutboxEntry] = []
    pieces: list[bytes] = []
    size = PUSH_ENVELOPE_BYTES
    for mapping in conn.execute(query).mappings():
        entry = entry_from_mapping(mapping)
        piece = json.dumps(entry.to_wire(), separators=(",", ":")).encode()
        size += len(piece) + 1
        if batch and size > max_bytes:
            break
        batch.append(entry)
        pieces.append(piece)
    return OutboxBatch(batch, _PUSH_HEAD + b",".join(pieces) + _PUSH_TAIL)


def pending_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


_PENDING_HLCS = select(outbox.c.row_id, outbox.c.hlc).where(
    outbox.c.collection == bindparam("collection"),
    outbox.c.row_id.in_(bindparam("row_ids", expanding=True)),
)
"""Built once: it runs for every change applied while something is queued."""


def pending_hlcs(conn: Connection, collection: str, row_ids: Iterable[str]) -> dict[str, set[str]]:
    """Row id -> stamps of its mutations still pending (rows without any left out)."""
    wanted = list(dict.fromkeys(row_ids))
    found: dict[str, set[str]] = {}
    for start in range(0, len(wanted), 500):
        chunk = {"collection": collection, "row_ids": wanted[start : start + 500]}
        for row_id, hlc in conn.execute(_PENDING_HLCS, chunk):
            found.setdefault(row_id, set()).add(hlc)
    return found


def remove(conn: Connection, seqs: Iterable[int]) -> None:
    wanted = list(seqs)
    if wanted:
        conn.execute(delete(outbox).where(outbox.c.seq.in_(wanted)))
