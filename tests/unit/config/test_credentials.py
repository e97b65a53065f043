"""The device token: in the OS keyring when one works, else a private file; never lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from jaraco.classes import properties
from keyring.backend import KeyringBackend
from keyring.backends import fail

from desktop.config.credentials import (
    KEYRING_SERVICE,
    TOKEN_FILENAME,
    CredentialsError,
    Store,
    delete_token,
    load_token,
    save_token,
)

DEVICE = "0b7c2f5e-8a1d-4c3b-9e2f-5a6b7c8d9e0f"


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps secrets in a dict (a stand-in for the OS's, which CI lacks).

    Installed only by ``keyring.set_keyring`` in the fixture: its priority says "not
    viable", so keyring's own discovery never picks it for the rest of the session.
    """

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("a test stand-in, never discovered")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


class LockedKeyring(MemoryKeyring):
    """A keyring that exists but refuses every call (a locked keychain, no D-Bus session)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked")


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[KeyringBackend]:
    previous = keyring.get_keyring()
    chosen: KeyringBackend = request.param()
    keyring.set_keyring(chosen)
    yield chosen
    keyring.set_keyring(previous)


@pytest.mark.parametrize("backend", [MemoryKeyring], indirect=True)
def test_with_a_keyring_the_token_goes_there_and_no_file_is_left(
    backend: MemoryKeyring, tmp_path: Path
) -> None:
    (tmp_path / TOKEN_FILENAME).write_text("an old token")
    assert save_token(tmp_path, DEVICE, "s3cret") is Store.KEYRING
    assert backend.secrets == {(KEYRING_SERVICE, DEVICE): "s3cret"}
    assert not (tmp_path / TOKEN_FILENAME).exists()
    assert load_token(tmp_path, DEVICE) == "s3cret"
    delete_token(tmp_path, DEVICE)
    assert load_token(tmp_path, DEVICE) is None


@pytest.mark.parametrize("backend", [fail.Keyring, LockedKeyring], indirect=True)
def test_without_a_usable_keyring_the_token_is_a_file_only_the_user_can_read(
    backend: KeyringBackend, tmp_path: Path
) -> None:
    assert save_token(tmp_path / "data", DEVICE, "s3cret") is Store.FILE
    path = tmp_path / "data" / TOKEN_FILENAME
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_token(tmp_path / "data", DEVICE) == "s3cret"
    assert save_token(tmp_path / "data", DEVICE, "newer") is Store.FILE  # replaced atomically
    assert load_token(tmp_path / "data", DEVICE) == "newer"
    assert [p.name for p in (tmp_path / "data").iterdir()] == [TOKEN_FILENAME]


@pytest.mark.parametrize("backend", [fail.Keyring], indirect=True)
def test_no_token_saved_reads_as_none(backend: KeyringBackend, tmp_path: Path) -> None:
    assert load_token(tmp_path, DEVICE) is None
    delete_token(tmp_path, DEVICE)  # nothing to delete: fine


@pytest.mark.parametrize("backend", [fail.Keyring], indirect=True)
def test_a_data_dir_that_cannot_take_the_token_is_a_clear_error(
    backend: KeyringBackend, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    with pytest.raises(CredentialsError, match="cannot store the device token"):
        save_token(blocker, DEVICE, "s3cret")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / TOKEN_FILENAME).mkdir()  # unreadable as a file
    with pytest.raises(CredentialsError, match="cannot read the device token"):
        load_token(tmp_path / "dir", DEVICE)
