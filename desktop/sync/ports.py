"""The engine's port to the cache: exactly the calls the runner makes, and nothing else.

``Runner`` is written against ``CachePort``, not against ``desktop.cache.Cache``; the
real cache satisfies it structurally (mypy checks that where the runner is built, and
``tests/unit/sync/test_ports.py`` pins the list). A test may hand the runner anything
else that does.

Every call that changes what the status counts returns an outcome with the counts
the same transaction left (``PushOutcome.counts``, ``ApplyOutcome.counts``,
``EpochResetOutcome.counts``); the runner hands those to the core as one event, so
nobody counts again after a write. The calls are blocking (SQLite); the runner makes
them on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the port names the cache's value types; importing it must not load SQLAlchemy
    from desktop.cache import ApplyOutcome, Counts, Key, OutboxBatch, OutboxEntry, PushOutcome, SyncState
    from desktop.cache.epoch import EpochResetOutcome
    from desktop.cache.snapshot_load import SnapshotLoaded
    from desktop.cache.state import Value
    from protocol.messages import Change, DirectoryResponse, MutationResult

__all__ = ["CachePort"]


class CachePort(Protocol):
    """What the sync engine needs from the local cache."""

    def state(self) -> SyncState:
        """The cursor, the epoch and whether an epoch reset is open, as stored."""

    def counts(self) -> Counts:
        """Pending, rejected and conflicts now (read once at start, and after a write elsewhere)."""

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (on another thread) whenever the cache changed; returns the unsubscriber.

        A write through this process's cache is reported at once (a save in the UI
        reaches the engine without waiting for a poll), another process's soon after.
        """

    def next_push(self, limit: int = ..., after: int | None = ...) -> OutboxBatch:
        """The oldest queued mutations (after queue position ``after``, if given) that fit one push."""

    def apply_push_results(
        self, entries: Sequence[OutboxEntry], results: Sequence[MutationResult], server_hlc: str | None = None
    ) -> PushOutcome:
        """Record a push answer; the outcome carries the new counts."""

    def apply_changes(
        self, changes: Sequence[Change], new_cursor: int, epoch: str | None = None
    ) -> ApplyOutcome:
        """Merge pulled changes and move the cursor; the outcome carries the new counts."""

    def snapshot_wanted(self) -> bool:
        """Whether a server snapshot may fill the cache (blank, a known history)."""

    def load_snapshot(self, chunks: Iterable[bytes]) -> SnapshotLoaded:
        """Fill a blank cache from a snapshot stream in one transaction, or raise ``SnapshotRefused``."""

    def restamp_pending(
        self, clock_offset_ms: int, server_hlc: str | None = None, uncertainty_ms: int = 0
    ) -> int:
        """After ``clock_skew``: save the offset and its uncertainty, re-stamp future-dated
        mutations (counts unchanged)."""

    def start_epoch_reset(self, new_epoch: str) -> None:
        """Store the core's decision: a new epoch, the cursor back to 0 (counts unchanged)."""

    def finish_epoch_reset(self) -> EpochResetOutcome:
        """Queue the push-back ahead of the outbox; the outcome carries the new counts."""

    def set_state(self, values: Mapping[Key, Value]) -> None:
        """Persist engine facts (online, last sync, clock offset)."""

    def observe_hlc(self, hlc: str) -> None:
        """Absorb a server stamp into the local clock."""

    def replace_directory(self, listed: DirectoryResponse, etag: str | None = None) -> None:
        """Store a new branch directory and the server's ``ETag`` of it."""

    def directory_etag(self) -> str | None:
        """The ``ETag`` of the stored directory (None: none known)."""
