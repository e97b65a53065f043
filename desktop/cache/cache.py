"""``Cache``: the one object the UI, the sync engine and the command line talk to.

Each method is one transaction on the SQLite file; the modules beside this one hold
the logic and take the connection. Safe to share between threads (each call takes
its own pooled connection) and between processes (writes take SQLite's write lock
and re-read the clock inside it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection

from desktop.cache import (
    apply,
    conflicts,
    directory,
    outbox,
    push_results,
    queries,
    rejected,
    restamp,
    writes,
)
from desktop.cache import epoch as epoch_reset
from desktop.cache.clock import WallClock, observe
from desktop.cache.conflicts import Conflict
from desktop.cache.counts import Counts, read_counts
from desktop.cache.db import DEFAULT_BUSY_TIMEOUT_MS, Database
from desktop.cache.directory import Directory
from desktop.cache.epoch import EpochResetOutcome
from desktop.cache.errors import StorageError, storage_errors
from desktop.cache.identity_record import current_identity, keep_identity
from desktop.cache.migrations import upgrade
from desktop.cache.outbox import OutboxEntry
from desktop.cache.push_results import PushOutcome
from desktop.cache.recovery import Recovery, recover
from desktop.cache.rejected import RejectedMutation
from desktop.cache.rows import Record
from desktop.cache.snapshot_load import SnapshotLoaded, is_blank, load_snapshot
from desktop.cache.state import Key, SyncState, Value, read_state, read_values, write_values
from desktop.cache.watch import ChangeWatcher, Listener
from desktop.config.identity import Identity
from desktop.config.paths import database_path
from protocol.hlc import system_wall_ms
from protocol.messages import BranchInfo, Change, DirectoryResponse, MutationResult
from protocol.version import MAX_MUTATIONS_PER_PUSH, MAX_PUSH_BYTES

__all__ = ["Cache", "Counts", "Writer"]

log = logging.getLogger(__name__)


def _keep_identity_if_possible(data_dir: Path, identity: Identity) -> None:
    """At an open, the identity record is brought up to date if the folder lets us; a
    read-only folder (a support copy, say) still opens, with a warning."""
    try:
        keep_identity(data_dir, identity)
    except StorageError as exc:
        log.warning(
            "the identity record could not be written (%s); a damaged cache could not be rebuilt", exc
        )


class Writer:
    """Local writes inside one open transaction (see ``Cache.batch``).

    A refused write (``ValidationFailed``, ``NotFound``) changes nothing, so the
    caller may catch it and go on with the next one in the same batch.
    """

    def __init__(self, conn: Connection, wall_ms: WallClock) -> None:
        self._conn = conn
        self._wall_ms = wall_ms

    def create(self, collection: str, fields: Mapping[str, Any]) -> str:
        """Create a row; returns its new id. Raises ``ValidationFailed``, ``UnknownCollection``."""
        return writes.create(self._conn, self._wall_ms, collection, fields)

    def update(self, collection: str, row_id: str, fields: Mapping[str, Any]) -> OutboxEntry | None:
        """Set some fields (``None`` clears one); the queued mutation (None: nothing changes).
        Raises ``ValidationFailed``, ``NotFound``."""
        return writes.update(self._conn, self._wall_ms, collection, row_id, fields)

    def delete(self, collection: str, row_id: str) -> OutboxEntry:
        """Delete a row; the queued mutation. Raises ``NotFound``."""
        return writes.delete(self._conn, self._wall_ms, collection, row_id)


class Cache:
    """The local SQLite cache and outbox of one installation.

    Args:
        data_dir: the installation's data folder (created if missing).
        wall_ms: the local wall clock in ms (tests inject a wrong one).
        busy_timeout_ms: how long a write waits for another writer.
        watch_interval: seconds between looks for writes by other processes (see ``subscribe``).
        damaged: a read of this file already failed as damaged (say how): rebuild it
            without looking (``desktop.cache.recovery``). Otherwise it is looked at and
            rebuilt only if damaged.

    Raises:
        StorageError: the folder or file cannot be used, or a newer version wrote it, or it
            is damaged and does not say which device it belongs to.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        wall_ms: WallClock = system_wall_ms,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        watch_interval: float = 0.2,
        damaged: str | None = None,
    ) -> None:
        with storage_errors():
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._wall_ms = wall_ms
        self.recovery: Recovery | None = recover(data_dir, damaged=damaged)
        """Set when this open rebuilt a damaged file (``recovery.notice`` is what to tell the user)."""
        self._db = Database(database_path(data_dir), busy_timeout_ms=busy_timeout_ms, on_commit=self.nudge)
        self._watcher = ChangeWatcher(self._db.change_token, interval=watch_interval)
        try:
            with self._db.write() as conn:
                upgrade(conn)
                identity = current_identity(conn)
            if identity is not None:
                _keep_identity_if_possible(data_dir, identity)
        except BaseException:
            self._db.close()
            raise

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._db.path

    def close(self) -> None:
        self._watcher.close()
        self._db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- local writes -----------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Writer]:
        """Several local writes in one transaction (one disk flush): for imports."""
        with self._db.write() as conn:
            yield Writer(conn, self._wall_ms)

    def create(self, collection: str, fields: Mapping[str, Any]) -> str:
        """Create a row and queue it; returns its new id.

        Raises:
            ValidationFailed, UnknownCollection: nothing is saved.
            StorageError: the disk failed; nothing is saved.
        """
        with self.batch() as writer:
            return writer.create(collection, fields)

    def update(self, collection: str, row_id: str, fields: Mapping[str, Any]) -> None:
        """Set some fields of a row and queue the edit (``None`` clears a field).

        Raises:
            ValidationFailed, NotFound, UnknownCollection: nothing is saved.
            StorageError: the disk failed; nothing is saved.
        """
        with self.batch() as writer:
            writer.update(collection, row_id, fields)

    def delete(self, collection: str, row_id: str) -> None:
        """Delete a row and queue the delete.

        Raises:
            NotFound, UnknownCollection: nothing is saved.
            StorageError: the disk failed; nothing is saved.
        """
        with self.batch() as writer:
            writer.delete(collection, row_id)

    # ---- reads ------------------------------------------------------------------

    def get(self, collection: str, row_id: str, *, include_deleted: bool = False) -> Record | None:
        """One row, or None when there is none (or it is deleted)."""
        with self._db.read() as conn:
            return queries.get(conn, collection, row_id, include_deleted=include_deleted)

    def list_rows(
        self,
        collection: str,
        search: str | None = None,
        *,
        limit: int | None = 100,
        offset: int = 0,
        include_deleted: bool = False,
    ) -> list[Record]:
        """Rows in display order; ``search`` keeps those with every typed word as a prefix."""
        with self._db.read() as conn:
            return queries.list_rows(
                conn, collection, search, limit=limit, offset=offset, include_deleted=include_deleted
            )

    def count(self, collection: str, search: str | None = None) -> int:
        """How many live rows (matching ``search``)."""
        with self._db.read() as conn:
            return queries.count_rows(conn, collection, search)

    def counts(self) -> Counts:
        """Pending mutations, rejected mutations and undismissed conflicts, in one snapshot."""
        with self._db.read() as conn:
            return read_counts(conn)

    # ---- sync state -------------------------------------------------------------

    def state(self) -> SyncState:
        with self._db.read() as conn:
            return read_state(conn)

    def set_state(self, values: Mapping[Key, Value]) -> None:
        """Set ``sync_state`` keys (the engine: ``ONLINE``, ``LAST_SYNC``, ``CLOCK_OFFSET_MS`` …)."""
        with self._db.write() as conn:
            write_values(conn, values)

    def set_enrollment(
        self,
        *,
        device_id: str,
        branch_id: str,
        branch_name: str,
        server_url: str,
        epoch: str | None = None,
        branch_timezone: str | None = None,
    ) -> None:
        """Record a successful enrolment; the device id becomes the HLC node from now on,
        and that of the writes still queued (``restamp.adopt_device_node``).

        The branch also goes into the directory, so its name and zone are known at once,
        and the identity record (``desktop.config.identity``) is written beside the file.
        """
        values: dict[Key, Value] = {
            Key.DEVICE_ID: device_id,
            Key.BRANCH_ID: branch_id,
            Key.BRANCH_NAME: branch_name,
            Key.SERVER_URL: server_url,
        }
        with self._db.write() as conn:
            if epoch is not None and read_values(conn, [Key.EPOCH]).get(Key.EPOCH) is None:
                values[Key.EPOCH] = epoch
            write_values(conn, values)
            restamp.adopt_device_node(conn, device_id)
            directory.remember_branch(
                conn, BranchInfo(id=branch_id, name=branch_name, timezone=branch_timezone)
            )
        keep_identity(self.data_dir, Identity(device_id, server_url, branch_id, branch_name, branch_timezone))

    # ---- the branch directory ----------------------------------------------------

    def directory(self) -> Directory:
        """The branches and devices known here (names, time zones)."""
        with self._db.read() as conn:
            return directory.read(conn)

    def replace_directory(self, listed: DirectoryResponse, etag: str | None = None) -> None:
        """Store the server's new directory (and its ``ETag``) instead of the old one, in one transaction."""
        with self._db.write() as conn:
            directory.replace(conn, listed, etag)

    def directory_etag(self) -> str | None:
        """The ``ETag`` the stored directory came with, for ``If-None-Match`` (None: ask for it whole)."""
        with self._db.read() as conn:
            return directory.etag(conn)

    def observe_hlc(self, hlc: str) -> None:
        """Absorb a server stamp (``server_hlc`` of an answer or the hello frame)."""
        with self._db.write() as conn:
            observe(conn, self._wall_ms, [hlc])

    def change_token(self) -> int:
        """Changes whenever another connection (another process, or this one's writes) commits."""
        return self._db.change_token()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` whenever the file changed, whoever changed it; returns the unsubscriber.

        The one change watcher the UI and the engine share: a write through this cache
        is reported at once, another process's within ``watch_interval``. ``listener``
        runs on the watcher's thread (see ``desktop.cache.watch``).
        """
        return self._watcher.subscribe(listener)

    def nudge(self) -> None:
        """Look for changes now rather than at the next interval (from any thread)."""
        self._watcher.nudge()

    # ---- outbox (for the engine) --------------------------------------------------

    def pending_batch(
        self, limit: int = MAX_MUTATIONS_PER_PUSH, max_bytes: int = MAX_PUSH_BYTES
    ) -> list[OutboxEntry]:
        """The oldest queued mutations that fit one push (the engine holds pushes during an epoch reset)."""
        with self._db.read() as conn:
            return outbox.pending_batch(conn, limit, max_bytes)

    def next_push(self, limit: int = MAX_MUTATIONS_PER_PUSH, after: int | None = None) -> outbox.OutboxBatch:
        """The next batch to push (after queue position ``after``, if given), its body encoded once."""
        with self._db.read() as conn:
            return outbox.next_push(conn, limit, MAX_PUSH_BYTES, after)

    def pending_count(self) -> int:
        with self._db.read() as conn:
            return outbox.pending_count(conn)

    def apply_push_results(
        self,
        entries: Sequence[OutboxEntry],
        results: Sequence[MutationResult],
        server_hlc: str | None = None,
    ) -> PushOutcome:
        """Apply a push answer: drop answered mutations, keep refused ones, note lost values.

        The outcome carries the counts this transaction left, so the engine need not count again.
        """
        with self._db.write() as conn:
            return push_results.apply_push_results(conn, self._wall_ms, entries, results, server_hlc)

    def restamp_pending(
        self, clock_offset_ms: int, server_hlc: str | None = None, uncertainty_ms: int = 0
    ) -> int:
        """After ``clock_skew``: save the measured offset (and its uncertainty) and re-stamp
        future-dated mutations."""
        with self._db.write() as conn:
            write_values(conn, {Key.CLOCK_UNCERTAINTY_MS: uncertainty_ms})
            return restamp.restamp_pending(conn, self._wall_ms, clock_offset_ms, server_hlc)

    # ---- remote changes (for the engine) ------------------------------------------

    def apply_changes(
        self, changes: Sequence[Change], new_cursor: int, epoch: str | None = None
    ) -> apply.ApplyOutcome:
        """Merge pulled changes and move the cursor, in one transaction.

        Not flushed to disk before returning (``Database.write(durable=False)``): a power
        cut may take back the last batches with their cursor, and they are pulled again.

        Raises:
            EpochChanged: the changes belong to another server history; nothing applied.
        """
        with self._db.write(durable=False) as conn:
            return apply.apply_changes(conn, self._wall_ms, changes, new_cursor, epoch)

    def snapshot_wanted(self) -> bool:
        """Whether a server snapshot may fill this cache: blank, and following a known history."""
        with self._db.read() as conn:
            return is_blank(conn) and read_values(conn, (Key.EPOCH,)).get(Key.EPOCH) is not None

    def load_snapshot(self, chunks: Iterable[bytes]) -> SnapshotLoaded:
        """Fill a blank cache from a snapshot stream, in one transaction (see ``snapshot_load``).

        Raises:
            SnapshotRefused: not loaded (not blank, another history, a bad stream); nothing changed.
        """
        with self._db.write() as conn:
            return load_snapshot(conn, self._wall_ms, chunks)

    def start_epoch_reset(self, new_epoch: str) -> None:
        """The server's history changed: adopt ``new_epoch``, cursor to 0, hold the outbox."""
        with self._db.write() as conn:
            epoch_reset.start_epoch_reset(conn, new_epoch)

    def finish_epoch_reset(self) -> EpochResetOutcome:
        """Caught up after a reset: queue newer local values ahead of the outbox; says how many."""
        with self._db.write() as conn:
            return epoch_reset.finish_epoch_reset(conn)

    # ---- conflicts and rejected mutations (for staff) -----------------------------

    def conflicts(self, *, include_dismissed: bool = False) -> list[Conflict]:
        with self._db.read() as conn:
            return conflicts.list_conflicts(conn, include_dismissed=include_dismissed)

    def dismiss_conflict(self, conflict_id: int) -> None:
        with self._db.write() as conn:
            conflicts.dismiss(conn, conflict_id)

    def keep_mine(self, conflict_id: int) -> None:
        """Write my lost value again as a new edit (it wins by being later) and dismiss."""
        with self._db.write() as conn:
            conflicts.keep_mine(conn, self._wall_ms, conflict_id)

    def rejected(self) -> list[RejectedMutation]:
        with self._db.read() as conn:
            return rejected.list_rejected(conn)

    def retry_rejected(self, rejected_id: int, fields: Mapping[str, Any] | None = None) -> None:
        """Queue a refused write again with a new stamp (and corrected ``fields``, if given)."""
        with self._db.write() as conn:
            rejected.retry(conn, self._wall_ms, rejected_id, fields)

    def discard_rejected(self, rejected_id: int) -> None:
        """Give up a refused write and take it back out of its row."""
        with self._db.write() as conn:
            rejected.discard(conn, rejected_id)
