"""The write path: a batch of mutations applied in ONE transaction.

Push and the REST resources both come here. The order inside the transaction is
what makes the guarantees hold:

1. Lock the touched rows that exist (``SELECT … ORDER BY id FOR UPDATE``, clients
   then appointments, so two batches never wait on each other in a cycle), then read
   which mutation ids were already answered: a concurrent replay of the same
   mutation waits on the row and then finds the first answer.
2. Decide everything in Python (``server.sync.write_plan``): nothing is written for a
   rejected mutation, so it cannot fail its neighbours.
3. Only then mark the transaction in flight and take change numbers
   (``server.store.change_numbers.take_numbers``), store the rows, the answers and the
   refusals, and ``NOTIFY`` the new head. Nothing here is serialised across writers:
   commits overlap (and PostgreSQL flushes them together), so change N+1 may commit
   before N. Readers stay below the lowest number still in flight
   (``change_numbers.horizon``), so a pull still never skips a change that commits late.

Rows that did not exist in step 1 are not locked; if another transaction creates
one of them (or answers one of the mutation ids) in the meantime, the insert finds
it, the transaction is rolled back and the whole batch is planned again.
"""

from __future__ import annotations

import enum
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from protocol.collections import COLLECTIONS
from protocol.hlc import HybridLogicalClock, system_wall_ms
from protocol.merge import Row
from protocol.messages import ErrorDetail, Mutation, MutationResult
from protocol.validate import printable
from protocol.wire import lost_wire
from server.errors import ServerError
from server.store.change_numbers import take_numbers
from server.store.engine import CHANGES_CHANNEL
from server.store.row_codec import row_state, row_values
from server.store.tables import RECORD_TABLES, applied_mutations, rejections
from server.sync.write_plan import (
    Applied,
    Duplicate,
    Outcome,
    Plan,
    Rejected,
    RowKey,
    plan_batch,
    plan_compaction,
)

__all__ = [
    "Author",
    "ResultCounter",
    "RowExists",
    "RowGone",
    "RowRule",
    "WriteConflict",
    "Writer",
    "apply_mutations",
    "compact_tombstones",
    "write_batch",
]

log = logging.getLogger(__name__)

_ATTEMPTS = 5
_MAX_FIELD_NAME = 100
"""Characters of a client-supplied name (field, collection) kept in a rejection."""
_MAX_MESSAGE = 1000
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


@dataclass(frozen=True, slots=True)
class Author:
    """Recorded on every change and answer: which device and branch made it."""

    device_id: uuid.UUID | None
    branch_id: uuid.UUID | None


class WriteConflict(ServerError):
    """A row or mutation id appeared while the batch was being planned: plan it again."""


class RowExists(ServerError):
    """A create-only write found its row id taken by a live row (checked under the row lock,
    so of two concurrent creates of one id exactly one succeeds)."""


class RowGone(ServerError):
    """A write to an existing row found it missing or deleted (checked under the row lock,
    so a delete that commits first wins over a later edit of the REST API)."""


class RowRule(enum.Enum):
    """What a batch's rows must be before it writes, checked under their row locks."""

    ANY = "any"
    """Merge into whatever is there (a push: a later edit brings a deleted row back)."""
    NOT_LIVE = "not_live"
    """Raise ``RowExists`` if a row is live (REST create)."""
    LIVE = "live"
    """Raise ``RowGone`` unless every row is live (REST patch and delete)."""


class ResultCounter(Protocol):
    """Where committed answers are counted (the server's metrics)."""

    def observe_results(self, results: Iterable[MutationResult]) -> None: ...


@dataclass(frozen=True, slots=True)
class Writer:
    """What the write path uses of the running server, and nothing else."""

    engine: AsyncEngine
    clock: HybridLogicalClock
    """Stamps REST writes and bounds how far ahead a pushed HLC may be."""
    max_clock_skew_s: float
    counter: ResultCounter


async def apply_mutations(
    writer: Writer,
    author: Author,
    mutations: Sequence[Mutation],
    *,
    stamp_with_server_clock: bool = False,
    rows: RowRule = RowRule.ANY,
    then: Callable[[AsyncConnection, list[MutationResult]], Awaitable[None]] | None = None,
) -> list[MutationResult]:
    """Apply ``mutations`` in one transaction and answer each of them, in order.

    Args:
        writer: the database, clock and skew limit to write with, and the counter.
        author: recorded on every row this batch changes.
        mutations: at most ``MAX_MUTATIONS_PER_PUSH`` (the route enforces it).
        stamp_with_server_clock: stamp every mutation with the server's clock instead
            of its own ``hlc`` (the REST resources; integrations have no clock).
        rows: what the touched rows must be (``RowRule``); REST create and patch
            check it here, inside the write transaction, not in a read before it.
        then: more work in the same transaction, given the answers (the importer keeps
            its old ids with the records); run again if the batch is planned again.

    Returns:
        One ``MutationResult`` per mutation: ``applied`` (``seq``, ``lost``),
        ``duplicate`` (the earlier answer, nothing changed) or ``rejected`` (``error``).
    """
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with writer.engine.begin() as conn:
                results = await write_batch(
                    conn,
                    writer.clock,
                    author,
                    mutations,
                    max_clock_skew_s=writer.max_clock_skew_s,
                    stamp_with_server_clock=stamp_with_server_clock,
                    rows=rows,
                )
                if then is not None:
                    await then(conn, results)
            writer.counter.observe_results(results)  # counted once committed
            return results
        except WriteConflict:
            if attempt == _ATTEMPTS:
                raise
        except (DBAPIError, asyncpg.PostgresError) as exc:  # most statements go straight to asyncpg
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            if attempt == _ATTEMPTS or getattr(cause, "sqlstate", None) not in _RETRY_SQLSTATES:
                raise
        log.info("write batch raced another writer; planning it again (attempt %d)", attempt + 1)
    raise AssertionError("unreachable")


async def write_batch(
    conn: AsyncConnection,
    clock: HybridLogicalClock,
    author: Author,
    mutations: Sequence[Mutation],
    *,
    max_clock_skew_s: float,
    stamp_with_server_clock: bool = False,
    rows: RowRule = RowRule.ANY,
) -> list[MutationResult]:
    """``apply_mutations`` inside the caller's transaction (the caller commits).

    Raises:
        WriteConflict: a concurrent writer created a row or answered a mutation id
            this batch planned for; roll back and call again.
        RowExists: ``rows`` is ``NOT_LIVE`` and a mutation's row is there and not deleted.
        RowGone: ``rows`` is ``LIVE`` and a mutation's row is missing or deleted.
    """
    if not mutations:
        return []
    current, seqs, bases = await _lock_rows(conn, ((m.collection, m.row_id) for m in mutations))
    _check_rows(rows, current, mutations)
    driver = await _driver(conn)
    answered = await _answered(driver, author, {m.id for m in mutations})
    plan = plan_batch(
        mutations,
        current,
        answered,
        clock,
        now_ms=system_wall_ms(),
        max_skew_ms=int(max_clock_skew_s * 1000),
        stamp_with_server_clock=stamp_with_server_clock,
        current_bases=bases,
        author_node=None if author.device_id is None else str(author.device_id),
    )
    head: str | None = None
    if plan.rows:
        new_seqs = dict(zip(plan.rows, await take_numbers(driver, len(plan.rows)), strict=True))
        await _store_rows(driver, plan, new_seqs, existing=current.keys(), author=author)
        seqs.update(new_seqs)
        head = str(max(new_seqs.values()))
    results = [_answer(m.id, outcome, seqs) for m, outcome in zip(mutations, plan.outcomes, strict=True)]
    await _remember(driver, mutations, plan, results, author, head=head)
    await _record_rejections(conn, mutations, plan, author)
    return results


async def compact_tombstones(engine: AsyncEngine, keys: Iterable[RowKey]) -> int:
    """Clear the values of the deleted rows among ``keys`` in one transaction; returns how many.

    An ordinary server write: the rows are locked and read as for a push, cleared by
    ``plan_compaction`` and stored with new change numbers (and a ``NOTIFY``), so every
    branch's cache clears its copy too. A row edited back to life meanwhile is left alone.
    """
    async with engine.begin() as conn:
        current, _, bases = await _lock_rows(conn, keys)
        plan = plan_compaction(current, bases)
        if not plan.rows:
            return 0
        driver = await _driver(conn)
        new_seqs = dict(zip(plan.rows, await take_numbers(driver, len(plan.rows)), strict=True))
        await _store_rows(driver, plan, new_seqs, existing=current.keys(), author=Author(None, None))
        await _remember(driver, [], plan, [], Author(None, None), head=str(max(new_seqs.values())))
    return len(plan.rows)


def _check_rows(rule: RowRule, current: dict[RowKey, Row], mutations: Sequence[Mutation]) -> None:
    """Enforce ``rule`` on the locked rows ``current``."""
    if rule is RowRule.ANY:
        return
    live = {
        m.row_id: (row := current.get((m.collection, m.row_id))) is not None and not row.deleted
        for m in mutations
    }
    if rule is RowRule.NOT_LIVE and (taken := [row_id for row_id, is_live in live.items() if is_live]):
        raise RowExists(f"row {taken[0]} exists")
    if rule is RowRule.LIVE and (missing := [row_id for row_id, is_live in live.items() if not is_live]):
        raise RowGone(f"row {missing[0]} does not exist or is deleted")


async def _lock_rows(
    conn: AsyncConnection, keys: Iterable[RowKey]
) -> tuple[dict[RowKey, Row], dict[RowKey, int], dict[RowKey, dict[str, str | None]]]:
    """Lock and read the existing rows among ``keys``: their state, change numbers and bases."""
    wanted: dict[str, set[uuid.UUID]] = {}
    for name, row_id in keys:
        if name in RECORD_TABLES:
            wanted.setdefault(name, set()).add(row_id)
    current: dict[RowKey, Row] = {}
    seqs: dict[RowKey, int] = {}
    bases: dict[RowKey, dict[str, str | None]] = {}
    for name in RECORD_TABLES:  # fixed order: no lock cycles between batches
        ids = wanted.get(name)
        if not ids:
            continue
        result = await conn.exec_driver_sql(_LOCK_ROWS[name], (sorted(ids),))
        for row in result.mappings():
            key = (name, row["id"])
            state = dict(row, clocks=json.loads(row["clocks"]))
            current[key] = row_state(COLLECTIONS[name], state)
            seqs[key] = row["seq"]
            bases[key] = json.loads(row["bases"])
    return current, seqs, bases


_SERVER_SCOPE = uuid.UUID(int=0)
"""The idempotency scope of writes no device made (``Author.device_id`` None)."""
_ANSWERED = (
    "SELECT id, result::text, payload_sha256 FROM applied_mutations"
    " WHERE device_id = $1 AND id = ANY($2::uuid[])"
)


def _scope(author: Author) -> uuid.UUID:
    """Mutation ids are unique per device: another device's id is another mutation."""
    return author.device_id or _SERVER_SCOPE


async def _answered(driver: Any, author: Author, ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Stored answers of the mutation ids this author applied before (with their
    ``payload`` digest where one was kept)."""
    answers: dict[uuid.UUID, dict[str, Any]] = {}
    for mutation_id, result, digest in await driver.fetch(_ANSWERED, _scope(author), list(ids)):
        answer = json.loads(result)
        if digest is not None:
            answer["payload"] = bytes(digest)
        answers[mutation_id] = answer
    return answers


def _column_names(name: str) -> tuple[str, ...]:
    return (
        "id",
        *COLLECTIONS[name].field_names,
        "clocks",
        "bases",
        "deleted",
        "seq",
        "updated_by_device",
        "updated_by_branch",
    )


def _insert_sql(name: str) -> str:
    columns = _column_names(name)
    places = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({places})"


def _update_sql(name: str) -> str:
    columns = _column_names(name)
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(columns[1:], start=2))
    return f"UPDATE {name} SET {assignments}, updated_at = now() WHERE id = $1"


def _lock_sql(name: str) -> str:
    fields = ", ".join(COLLECTIONS[name].field_names)
    return (
        f"SELECT id, {fields}, clocks::text AS clocks, bases::text AS bases, deleted, seq"
        f" FROM {name} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"
    )


_COLUMNS = {name: _column_names(name) for name in RECORD_TABLES}
_INSERT_ROWS = {name: _insert_sql(name) for name in RECORD_TABLES}
_UPDATE_ROWS = {name: _update_sql(name) for name in RECORD_TABLES}
_LOCK_ROWS = {name: _lock_sql(name) for name in RECORD_TABLES}
"""Plain SQL run through SQLAlchemy (which begins the transaction) without its
statement compilation: the first statement of every write."""
_INSERT_ANSWERS = f"""
WITH answers AS (
    INSERT INTO {applied_mutations.name} (id, device_id, result, payload_sha256)
    SELECT id, $2::uuid, result::jsonb, payload_sha256
    FROM unnest($1::uuid[], $3::text[], $4::bytea[]) AS answer(id, result, payload_sha256)
)
SELECT CASE WHEN $5::text IS NULL THEN NULL ELSE pg_notify('{CHANGES_CHANNEL}', $5::text) END
"""
"""The answers and the new head's ``NOTIFY`` (sent at commit) in one round trip."""


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, in the same transaction.

    The bulk statements go straight to asyncpg's pipelined ``executemany``: per row,
    SQLAlchemy's parameter handling would cost more than PostgreSQL's insert.
    """
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():  # SQLAlchemy begins lazily, on its first statement
        await conn.execute(text("SELECT 1"))
    assert driver.is_in_transaction()
    return driver


async def _store_rows(
    driver: Any,
    plan: Plan,
    seqs: dict[RowKey, int],
    *,
    existing: Iterable[RowKey],
    author: Author,
) -> None:
    """Write the plan's changed rows: bulk insert the new ones, bulk update the others.

    Raises:
        WriteConflict: a row planned as new was created by another writer meanwhile.
    """
    known = set(existing)
    by_table: dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
    for key, row in plan.rows.items():
        name, row_id = key
        values = row_values(COLLECTIONS[name], row_id, row)
        values.update(
            clocks=json.dumps(values["clocks"]),
            bases=json.dumps(plan.bases[key]),
            seq=seqs[key],
            updated_by_device=author.device_id,
            updated_by_branch=author.branch_id,
        )
        new, old = by_table.setdefault(name, ([], []))
        (old if key in known else new).append(tuple(values[column] for column in _COLUMNS[name]))
    for name, (new, old) in by_table.items():
        if new:
            try:
                await driver.executemany(_INSERT_ROWS[name], new)
            except asyncpg.UniqueViolationError as exc:
                raise WriteConflict(f"a new {name} row was created by another writer meanwhile") from exc
        if old:
            await driver.executemany(_UPDATE_ROWS[name], old)


def _answer(mutation_id: uuid.UUID, outcome: Outcome, seqs: dict[RowKey, int]) -> MutationResult:
    """The wire answer of one mutation, once the batch's change numbers are known."""
    match outcome:
        case Applied(key=key, lost=lost):
            # built from values this module made, so pydantic's checks are skipped (hot path)
            return MutationResult.model_construct(
                id=mutation_id,
                status="applied",
                seq=seqs[key],
                lost=[lost_wire(item) for item in lost],
                error=None,
            )
        case Duplicate(previous=previous):
            if isinstance(previous, Applied):  # the same id earlier in this batch
                return _answer(mutation_id, previous, seqs).model_copy(update={"status": "duplicate"})
            return MutationResult(
                id=mutation_id, status="duplicate", seq=previous["seq"], lost=previous["lost"]
            )
        case Rejected(code=code, message=message, field=field):
            # the only answer that can carry client text: made encodable here, so no
            # answer of a committed batch fails to serialise
            error = ErrorDetail(
                code=code,
                message=printable(message, _MAX_MESSAGE),
                field=None if field is None else printable(field, _MAX_FIELD_NAME),
            )
            return MutationResult(id=mutation_id, status="rejected", error=error)


async def _remember(
    driver: Any,
    mutations: Sequence[Mutation],
    plan: Plan,
    results: list[MutationResult],
    author: Author,
    *,
    head: str | None,
) -> None:
    """Store the answer of every newly applied mutation, for idempotent replay, and
    ``NOTIFY`` the new ``head`` change number when the batch changed rows.

    Raises:
        WriteConflict: another request answered one of these mutation ids meanwhile.
    """
    rows = [
        (mutation.id, result.model_dump_json(include={"seq", "lost"}), outcome.payload)
        for mutation, outcome, result in zip(mutations, plan.outcomes, results, strict=True)
        if isinstance(outcome, Applied)
    ]
    if not rows and head is None:
        return
    ids, answers, digests = (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [])
    try:
        await driver.fetchval(_INSERT_ANSWERS, ids, _scope(author), answers, digests, head)
    except asyncpg.UniqueViolationError as exc:
        raise WriteConflict("a mutation of this batch was answered by another request meanwhile") from exc


async def _record_rejections(
    conn: AsyncConnection, mutations: Sequence[Mutation], plan: Plan, author: Author
) -> None:
    """Keep every refusal for monitoring (the branch keeps its own copy to fix)."""
    rows = [
        {
            "mutation_id": mutation.id,
            "device_id": author.device_id,
            "collection": printable(mutation.collection, _MAX_FIELD_NAME),
            "row_id": str(mutation.row_id),
            "code": str(outcome.code),
            "field": None if outcome.field is None else printable(outcome.field, _MAX_FIELD_NAME),
            "message": printable(outcome.message, _MAX_MESSAGE),
        }
        for mutation, outcome in zip(mutations, plan.outcomes, strict=True)
        if isinstance(outcome, Rejected)
    ]
    if rows:
        await conn.execute(insert(rejections), rows)
