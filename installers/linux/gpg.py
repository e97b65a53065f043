"""GPG signing with a key from the environment, and verification with ``gpgv`` and a public key.

The signing key never lives in the repository. The build takes it, first match wins, from:

* ``BRANCHSYNC_GPG_KEY_FILE``: an exported secret key (``gpg --export-secret-keys --armor``),
  imported into a throwaway ``GNUPGHOME`` that is deleted afterwards (what CI does, with
  the file coming from its secret store);
* ``BRANCHSYNC_GPG_KEY_ID`` with the keyring in ``GNUPGHOME`` (or ``~/.gnupg``): a release
  manager's own keyring, smartcard included.

A passphrase, if the key has one, is read from the file ``BRANCHSYNC_GPG_PASSPHRASE_FILE``.
Verification uses ``gpgv`` with only the exported public key, exactly as apt does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from installers.errors import SigningKeyMissing, StepFailed, VerificationFailed
from installers.process import require_tool, run

__all__ = [
    "KEY_FILE_ENV",
    "KEY_ID_ENV",
    "PASSPHRASE_FILE_ENV",
    "Signer",
    "signer_from_environment",
    "verify_clearsigned",
    "verify_detached",
]

KEY_FILE_ENV = "BRANCHSYNC_GPG_KEY_FILE"
KEY_ID_ENV = "BRANCHSYNC_GPG_KEY_ID"
PASSPHRASE_FILE_ENV = "BRANCHSYNC_GPG_PASSPHRASE_FILE"
GNUPG = "gnupg (apt-get install gnupg)"


@dataclass(frozen=True, slots=True)
class Signer:
    """A secret key ready to sign with: its keyring folder and fingerprint."""

    gnupghome: Path
    fingerprint: str
    passphrase_file: Path | None = None

    def _gpg(self, *args: str | Path) -> list[str | Path]:
        argv: list[str | Path] = [
            require_tool("gpg", GNUPG),
            "--homedir",
            self.gnupghome,
            "--batch",
            "--yes",
            "--local-user",
            self.fingerprint,
            "--digest-algo",
            "SHA512",
        ]
        if self.passphrase_file is not None:
            argv += ["--pinentry-mode", "loopback", "--passphrase-file", self.passphrase_file]
        return [*argv, *args]

    def clearsign(self, source: Path, target: Path) -> None:
        """Write ``target``: ``source`` with an inline signature (apt's ``InRelease``)."""
        run(self._gpg("--clearsign", "--output", target, source))

    def detach_sign(self, source: Path, target: Path) -> None:
        """Write ``target``: an armored detached signature of ``source`` (``Release.gpg``, ``.asc``)."""
        run(self._gpg("--detach-sign", "--armor", "--output", target, source))

    def export_public_key(self, target: Path, *, armor: bool) -> None:
        """Write the public key: binary for apt's ``signed-by`` and gpgv, armored to publish."""
        run(self._gpg(*(["--armor"] if armor else []), "--output", target, "--export", self.fingerprint))


@contextmanager
def signer_from_environment(
    environ: Mapping[str, str] | None = None, *, key_file: Path | None = None, key_id: str | None = None
) -> Iterator[Signer]:
    """The signing key the environment names (see the module docstring).

    Raises:
        SigningKeyMissing: no key is named, or the named one is not there.
    """
    env = os.environ if environ is None else environ
    key_file = key_file or (Path(env[KEY_FILE_ENV]) if env.get(KEY_FILE_ENV) else None)
    key_id = key_id or env.get(KEY_ID_ENV) or None
    passphrase = Path(env[PASSPHRASE_FILE_ENV]) if env.get(PASSPHRASE_FILE_ENV) else None
    if key_file is not None:
        with _imported(key_file) as home:
            yield Signer(home, _secret_fingerprint(home, key_id, key_file), passphrase)
    elif key_id is not None:
        home = Path(env.get("GNUPGHOME") or Path.home() / ".gnupg")
        yield Signer(home, _secret_fingerprint(home, key_id, home), passphrase)
    else:
        raise SigningKeyMissing(
            f"no signing key: set {KEY_FILE_ENV} to an exported secret key file, or {KEY_ID_ENV} "
            f"(with GNUPGHOME) to a key in your keyring; or build with --unsigned for a local test"
        )


def verify_clearsigned(keyring: Path, signed: Path) -> bytes:
    """The text ``signed`` vouches for, once its inline signature verified against ``keyring``.

    Raises:
        VerificationFailed: a bad, missing or unknown signature.
    """
    with tempfile.TemporaryDirectory(prefix="gpgv-") as work:
        out = Path(work) / "content"
        _gpgv(keyring, "--output", out, signed)
        return out.read_bytes()


def verify_detached(keyring: Path, signature: Path, data: Path) -> None:
    """Check a detached signature of ``data`` against ``keyring``.

    Raises:
        VerificationFailed: the signature does not match the data or the key.
    """
    _gpgv(keyring, signature, data)


def _gpgv(keyring: Path, *args: str | Path) -> None:
    try:
        run([require_tool("gpgv", "gpgv"), "--keyring", keyring.absolute(), *args])
    except StepFailed as exc:
        message = f"{args[-1]}: signature does not verify with {keyring}:\n{exc.output}"
        raise VerificationFailed(message) from exc


@contextmanager
def _imported(key_file: Path) -> Iterator[Path]:
    """A throwaway keyring holding ``key_file``'s key; its agent is stopped and it is deleted after."""
    if not key_file.is_file():
        raise SigningKeyMissing(f"{KEY_FILE_ENV}: {key_file} is not a file")
    home = Path(tempfile.mkdtemp(prefix="bs-gpg-"))  # short: the agent's socket path has a length limit
    try:
        home.chmod(0o700)
        run([require_tool("gpg", GNUPG), "--homedir", home, "--batch", "--import", key_file])
        yield home
    finally:
        if shutil.which("gpgconf"):
            run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"])
        shutil.rmtree(home, ignore_errors=True)


def _secret_fingerprint(home: Path, wanted: str | None, where: Path) -> str:
    """The fingerprint of the secret key in ``home`` (the one matching ``wanted``, if given)."""
    try:
        listing = run(
            [
                require_tool("gpg", GNUPG),
                "--homedir",
                home,
                "--batch",
                "--with-colons",
                "--list-secret-keys",
                *([wanted] if wanted else []),
            ]
        )
    except StepFailed as exc:
        raise SigningKeyMissing(f"no secret key {wanted or ''} in {where}: {exc.output.strip()}") from exc
    fingerprints = _primary_fingerprints(listing)
    if len(fingerprints) != 1:
        matching = wanted or "anything"
        raise SigningKeyMissing(
            f"{where} holds {len(fingerprints)} secret keys matching {matching}; name one with {KEY_ID_ENV}"
        )
    return fingerprints[0]


def _primary_fingerprints(listing: str) -> list[str]:
    """Fingerprints of the primary keys in a ``--with-colons`` listing (pure)."""
    found: list[str] = []
    expect = False
    for line in listing.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            expect = True
        elif fields[0] == "fpr" and expect:
            found.append(fields[9])
            expect = False
    return found
