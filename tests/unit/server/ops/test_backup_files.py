"""Backup file names, manifests, checksums and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.errors import BackupError
from server.ops.backup_files import (
    Manifest,
    backup_name,
    list_backups,
    manifest_path,
    prune,
    read_manifest,
    sha256_of,
    verify_checksum,
    write_manifest,
)


def make_backup(directory: Path, moment: datetime, content: bytes = b"dump") -> Path:
    dump = directory / backup_name(moment)
    dump.write_bytes(content)
    write_manifest(
        dump,
        Manifest(
            file=dump.name,
            sha256=sha256_of(dump),
            size_bytes=len(content),
            created_at=moment.isoformat(),
            server_version="15.2",
            pg_dump_version=18,
            schema_revision="0002",
            epoch="e",
            head=3,
            row_counts={"clients": 2},
        ),
    )
    return dump


def test_names_sort_by_time() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    names = [backup_name(start + timedelta(microseconds=n)) for n in (3, 1, 2)]
    assert sorted(names) == [names[1], names[2], names[0]]
    assert names[1].startswith("branchsync-20260101T000000000001Z-")


def test_manifest_round_trip_and_checksum(tmp_path: Path) -> None:
    dump = make_backup(tmp_path, datetime.now(UTC))
    manifest = read_manifest(dump)
    assert manifest.row_counts == {"clients": 2} and manifest.format == 1
    verify_checksum(dump, manifest)
    dump.write_bytes(b"dumq")
    with pytest.raises(BackupError, match="damaged"):
        verify_checksum(dump, manifest)


@pytest.mark.parametrize("text", ["{", "[]", '{"format": 2}', '{"format": 1, "file": "x"}'])
def test_unreadable_manifests_are_refused(tmp_path: Path, text: str) -> None:
    dump = tmp_path / backup_name()
    dump.write_bytes(b"x")
    manifest_path(dump).write_text(text)
    with pytest.raises(BackupError, match="cannot read"):
        read_manifest(dump)


def test_prune_keeps_the_newest_and_touches_nothing_else(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    dumps = [make_backup(tmp_path, start + timedelta(hours=h)) for h in range(4)]
    lonely = tmp_path / backup_name(start - timedelta(days=1))  # no manifest: not a complete backup
    lonely.write_bytes(b"partial")
    (tmp_path / "README").write_text("mine")
    assert prune(tmp_path, keep=2) == dumps[:2]
    assert list_backups(tmp_path) == dumps[2:]
    assert lonely.exists() and (tmp_path / "README").exists()
    assert not manifest_path(dumps[0]).exists()
    with pytest.raises(ValueError):
        prune(tmp_path, keep=0)
    assert list_backups(tmp_path / "missing") == []
