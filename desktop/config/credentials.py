"""Where the device token lives: the OS keyring when one works, else a file only the user can read.

The token is what lets a PC into the company's data, so it is never written into the
SQLite cache (people copy that file around) nor logged. With a usable keyring
(Windows Credential Manager, macOS Keychain, Secret Service) it goes there, under
service ``branchsync`` and the device id; otherwise (headless Linux, CI) into
``device-token`` in the data dir with mode 0600. Keyring failures at run time (a
locked keychain, no D-Bus) fall back to the file rather than lose the token.
"""

from __future__ import annotations

import contextlib
import logging
from enum import StrEnum
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail

from desktop.config.private_file import write_private

__all__ = [
    "KEYRING_SERVICE",
    "TOKEN_FILENAME",
    "CredentialsError",
    "Store",
    "delete_token",
    "load_token",
    "save_token",
]

log = logging.getLogger(__name__)

KEYRING_SERVICE = "branchsync"
TOKEN_FILENAME = "device-token"


class CredentialsError(Exception):
    """The token could not be stored or read (the data dir is not writable/readable)."""


class Store(StrEnum):
    """Where a token was saved."""

    KEYRING = "keyring"
    FILE = "file"


def save_token(data_dir: Path, device_id: str, token: str) -> Store:
    """Keep ``token`` for ``device_id``; returns where it went.

    Raises:
        CredentialsError: neither the keyring nor the data dir could take it.
    """
    backend = _usable_keyring()
    if backend is not None:
        try:
            backend.set_password(KEYRING_SERVICE, device_id, token)
        except keyring.errors.KeyringError as exc:
            log.info("the OS keyring refused the device token (%s); using a file instead", type(exc).__name__)
        else:
            with contextlib.suppress(OSError):
                _token_path(data_dir).unlink(missing_ok=True)  # no copy left behind
            return Store.KEYRING
    _write_private(_token_path(data_dir), token)
    return Store.FILE


def load_token(data_dir: Path, device_id: str) -> str | None:
    """The token saved for ``device_id``, or None when there is none.

    Raises:
        CredentialsError: the token file exists but cannot be read.
    """
    backend = _usable_keyring()
    if backend is not None:
        try:
            found = backend.get_password(KEYRING_SERVICE, device_id)
        except keyring.errors.KeyringError as exc:
            log.info("the OS keyring could not be read (%s); trying the token file", type(exc).__name__)
        else:
            if found:
                return found
    path = _token_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(f"cannot read the device token in {path}: {exc.strerror or exc}") from exc
    return text or None


def delete_token(data_dir: Path, device_id: str) -> None:
    """Forget the token of ``device_id`` wherever it is kept."""
    backend = _usable_keyring()
    if backend is not None:
        with contextlib.suppress(keyring.errors.KeyringError):
            backend.delete_password(KEYRING_SERVICE, device_id)
    with contextlib.suppress(FileNotFoundError):
        _token_path(data_dir).unlink()


def _usable_keyring() -> KeyringBackend | None:
    """The configured keyring backend, or None when it is the "no keyring" stand-in."""
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def _token_path(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILENAME


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically into a file only the user can read."""
    try:
        write_private(path, text)
    except OSError as exc:
        raise CredentialsError(f"cannot store the device token in {path}: {exc.strerror or exc}") from exc
