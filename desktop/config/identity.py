"""The identity record: who this installation is, kept outside the SQLite cache.

The cache holds the device id, the server and the branch in ``sync_state``; the token
is in the keyring (or ``device-token``) under the device id. A damaged cache file would
take the only copy of the device id with it, and the token could no longer be found:
the PC would start again unenrolled and its queued writes would be orphaned. So
enrolment also writes ``identity.json`` into the data dir (mode 0600, replaced whole):
the device id, the server URL and the branch. Never the token: people copy data dirs
around, and the identity alone lets nobody in. When the cache must be rebuilt
(``desktop.cache.recovery``) this record says which device it belongs to.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from desktop.config.private_file import write_private

__all__ = [
    "IDENTITY_FILENAME",
    "Identity",
    "IdentityUnreadable",
    "identity_path",
    "load_identity",
    "parse_identity",
    "save_identity",
]

IDENTITY_FILENAME = "identity.json"
_FORMAT = 1


class IdentityUnreadable(Exception):
    """``identity.json`` exists but cannot be read or understood (it is left as it is)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What enrolment made this installation: enough to rebuild its cache from the server."""

    device_id: str
    server_url: str
    branch_id: str
    branch_name: str
    branch_timezone: str | None = None


def identity_path(data_dir: Path) -> Path:
    return data_dir / IDENTITY_FILENAME


def save_identity(data_dir: Path, identity: Identity) -> None:
    """Write the record (atomically, 0600).

    Raises:
        OSError: the data dir cannot take it.
    """
    record = {"format": _FORMAT, **asdict(identity)}
    write_private(identity_path(data_dir), json.dumps(record, indent=2) + "\n")


def load_identity(data_dir: Path) -> Identity | None:
    """The record, or None when there is none.

    Raises:
        IdentityUnreadable: the file exists but cannot be read, is not JSON, or lacks a field.
    """
    path = identity_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IdentityUnreadable(f"cannot read {path}: {exc}") from exc
    return parse_identity(text, path)


def parse_identity(text: str, where: object = "the identity record") -> Identity:
    """The ``Identity`` in ``text`` (the file's contents).

    Raises:
        IdentityUnreadable: not JSON, not an object, or a required field missing or not text.
    """
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise IdentityUnreadable(f"{where} is not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise IdentityUnreadable(f"{where} is not a JSON object")
    values: dict[str, str | None] = {}
    for name in ("device_id", "server_url", "branch_id", "branch_name"):
        value = record.get(name)
        if not isinstance(value, str) or not value:
            raise IdentityUnreadable(f"{where} has no {name}")
        values[name] = value
    zone = record.get("branch_timezone")
    return Identity(
        device_id=str(values["device_id"]),
        server_url=str(values["server_url"]),
        branch_id=str(values["branch_id"]),
        branch_name=str(values["branch_name"]),
        branch_timezone=zone if isinstance(zone, str) else None,
    )
