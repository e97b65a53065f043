"""Admin password hashing."""

from __future__ import annotations

from server.ops.admin_web.passwords import hash_password, verify_password


def test_hash_verifies_only_its_password_and_is_salted() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse battery", first) and verify_password(
        "correct horse battery", second
    )
    assert not verify_password("correct horse batterY", first)


def test_malformed_hashes_never_verify() -> None:
    for stored in ("", "scrypt$1$2", "bcrypt$a$b$c$d$e", "scrypt$x$8$1$AAAA$AAAA"):
        assert not verify_password("anything", stored)
