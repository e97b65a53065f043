"""The public surface of ``desktop.cache`` (the engine and the UI build on it): changes are deliberate."""

from __future__ import annotations

import inspect

import desktop.cache
from desktop.cache import Cache


def test_the_package_exports_exactly_this() -> None:
    assert sorted(desktop.cache.__all__) == [
        "ApplyOutcome",
        "BadFile",
        "Branch",
        "Cache",
        "CacheError",
        "Conflict",
        "Counts",
        "Device",
        "Directory",
        "EpochChanged",
        "Key",
        "NotFound",
        "OutboxBatch",
        "OutboxEntry",
        "PushOutcome",
        "Record",
        "RejectedMutation",
        "SnapshotRefused",
        "StorageError",
        "StorageProblem",
        "SyncState",
        "UnknownCollection",
        "ValidationFailed",
        "Writer",
    ]
    assert all(hasattr(desktop.cache, name) for name in desktop.cache.__all__)


def test_the_engine_calls_keep_their_signatures() -> None:
    signatures = {
        name: str(inspect.signature(getattr(Cache, name)))
        for name in (
            "pending_batch",
            "apply_push_results",
            "restamp_pending",
            "apply_changes",
            "change_token",
            "replace_directory",
        )
    }
    assert signatures == {
        "pending_batch": "(self, limit: 'int' = 500, max_bytes: 'int' = 1048576) -> 'list[OutboxEntry]'",
        "apply_push_results": "(self, entries: 'Sequence[OutboxEntry]', results: 'Sequence[MutationResult]', "
        "server_hlc: 'str | None' = None) -> 'PushOutcome'",
        "restamp_pending": "(self, clock_offset_ms: 'int', server_hlc: 'str | None' = None, "
        "uncertainty_ms: 'int' = 0) -> 'int'",  # extended (issue 12): old calls still work
        "apply_changes": "(self, changes: 'Sequence[Change]', new_cursor: 'int', epoch: 'str | None' = None) "
        "-> 'apply.ApplyOutcome'",
        "change_token": "(self) -> 'int'",
        "replace_directory": "(self, listed: 'DirectoryResponse', etag: 'str | None' = None) -> 'None'",
    }
