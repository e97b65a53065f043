"""Backup files on disk: names, manifests, checksums and retention. No database here.

Each backup is two files side by side::

    branchsync-20261125T120000123456Z-1a2b3c.dump        pg_dump custom format
    branchsync-20261125T120000123456Z-1a2b3c.dump.json   its manifest

The manifest says what the dump must contain (row counts per table, schema
revision, head change number, epoch, SHA-256 of the dump), so a restore can refuse a
damaged file before touching the database and prove afterwards that what it restored
is what was dumped. Names sort by time, which is what retention relies on.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.errors import BackupError

__all__ = [
    "MANIFEST_FORMAT",
    "Manifest",
    "backup_name",
    "list_backups",
    "manifest_path",
    "prune",
    "read_manifest",
    "sha256_of",
    "verify_checksum",
    "write_manifest",
]

MANIFEST_FORMAT = 1
_NAME = re.compile(r"^branchsync-\d{8}T\d{12}Z-[0-9a-f]{6}\.dump$")


@dataclass(frozen=True, slots=True)
class Manifest:
    """What one dump holds, written next to it."""

    file: str
    sha256: str
    size_bytes: int
    created_at: str
    server_version: str
    pg_dump_version: int
    schema_revision: str | None
    epoch: str | None
    head: int
    row_counts: dict[str, int] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Raises: ValueError when ``text`` is not a manifest this code can read."""
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError("not a Branchsync backup manifest of a known format")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"manifest fields do not match: {exc}") from exc


def backup_name(now: datetime | None = None) -> str:
    """A new dump file name: sorts by time (to the microsecond), never collides."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"branchsync-{moment:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}.dump"


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(dump: Path, manifest: Manifest) -> Path:
    """Write the manifest atomically (a half-written one would block a restore)."""
    target = manifest_path(dump)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(manifest.to_json() + "\n", encoding="utf-8")
    partial.replace(target)
    return target


def read_manifest(dump: Path) -> Manifest:
    """The manifest next to ``dump``.

    Raises:
        BackupError: it is missing or unreadable.
    """
    path = manifest_path(dump)
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{path.name} is missing: a dump is only restored with its manifest") from exc
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from exc


def verify_checksum(dump: Path, manifest: Manifest) -> None:
    """Raises: BackupError when ``dump`` is not byte for byte what the manifest describes."""
    try:
        size = dump.stat().st_size
    except OSError as exc:
        raise BackupError(f"cannot read {dump}: {exc.strerror or exc}") from exc
    if size != manifest.size_bytes or sha256_of(dump) != manifest.sha256:
        raise BackupError(f"{dump.name} does not match its manifest's checksum: the file is damaged")


def list_backups(directory: Path) -> list[Path]:
    """Complete backups (dump and manifest) in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _NAME.match(p.name) and manifest_path(p).is_file())


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; return the dumps deleted.

    Only files named like our backups are touched, never anything else in the folder.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    doomed = list_backups(directory)[:-keep]
    for dump in doomed:
        dump.unlink(missing_ok=True)
        manifest_path(dump).unlink(missing_ok=True)
    return doomed
