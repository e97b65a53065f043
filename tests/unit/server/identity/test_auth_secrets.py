"""Token and code generation, hashing and header parsing (no database)."""

from __future__ import annotations

import base64
import re

import pytest

from server.identity.authentication import bearer_token
from server.identity.credentials import (
    TOKEN_PREFIX,
    hash_code,
    hash_token,
    new_code,
    new_token,
    normalize_code,
)


def test_tokens_carry_256_random_bits() -> None:
    tokens = {new_token() for _ in range(200)}

    assert len(tokens) == 200
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        raw = base64.urlsafe_b64decode(token.removeprefix(TOKEN_PREFIX) + "=")
        assert len(raw) == 32


def test_codes_are_easy_to_read_aloud() -> None:
    codes = {new_code() for _ in range(200)}

    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{5}-){3}[0-9A-HJKMNP-TV-Z]{5}", code), code


def test_a_code_matches_however_it_is_typed() -> None:
    code = new_code()

    assert hash_code(code.lower()) == hash_code(code.replace("-", " ")) == hash_code(code)
    assert normalize_code(" ab-cd ") == "ABCD"


def test_hashes_are_distinct_per_kind_and_secret() -> None:
    assert hash_token("x") != hash_code("x")
    assert hash_token("a") != hash_token("b")
    assert len(hash_token(new_token())) == 32


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER   abc  ", "abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Basic abc", None),
        ("abc", None),
    ],
)
def test_bearer_token_reads_only_the_bearer_scheme(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
