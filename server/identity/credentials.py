"""Device tokens and enrolment codes: making them and the hashes the database keeps.

Tokens are 256 random bits and codes 100, so a single SHA-256 is the right hash: a
slow password hash only helps secrets a person chose. The database keeps hashes only,
so a leaked backup enrols nobody and impersonates no device. No web framework here:
the admin command line imports this and starts fast.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["TOKEN_PREFIX", "hash_code", "hash_token", "new_code", "new_token", "normalize_code"]

TOKEN_PREFIX = "bsd_"
"""Marks a Branchsync device token, so secret scanners and people can recognise one."""

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_CODE_GROUPS, _CODE_GROUP_LEN = 4, 5


def new_token() -> str:
    """A fresh device token: 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_code() -> str:
    """A fresh enrolment code IT can read aloud or type: ``XXXXX-XXXXX-XXXXX-XXXXX`` (100 bits)."""
    groups = (
        "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUP_LEN)) for _ in range(_CODE_GROUPS)
    )
    return "-".join(groups)


def normalize_code(code: str) -> str:
    """The canonical form of a typed code: case, dashes and spaces do not matter."""
    return "".join(ch for ch in code.upper() if ch not in "- \t")


def hash_code(code: str) -> bytes:
    """What ``enroll_codes.code_hash`` stores for ``code``."""
    return hashlib.sha256(b"branchsync-code:" + normalize_code(code).encode()).digest()


def hash_token(token: str) -> bytes:
    """What ``devices.token_hash`` stores for ``token``."""
    return hashlib.sha256(b"branchsync-token:" + token.encode()).digest()
