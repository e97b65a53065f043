"""``identity.json``: who the installation is, kept outside the cache, never with the token."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from desktop.config.identity import (
    Identity,
    IdentityUnreadable,
    identity_path,
    load_identity,
    parse_identity,
    save_identity,
)

NORTH = Identity(
    "11111111-1111-4111-8111-111111111111", "https://sync.example.com", "b-1", "North", "Europe/Paris"
)


def test_the_record_reads_back_as_written_and_only_its_user_can_read_it(tmp_path: Path) -> None:
    save_identity(tmp_path / "data", NORTH)

    assert load_identity(tmp_path / "data") == NORTH
    assert stat.S_IMODE(identity_path(tmp_path / "data").stat().st_mode) == 0o600
    assert "token" not in identity_path(tmp_path / "data").read_text()


def test_no_record_is_none_and_a_new_one_replaces_the_old(tmp_path: Path) -> None:
    assert load_identity(tmp_path) is None
    save_identity(tmp_path, NORTH)
    save_identity(tmp_path, Identity("d-2", "https://other.example.com", "b-2", "South"))

    assert load_identity(tmp_path) == Identity("d-2", "https://other.example.com", "b-2", "South")
    assert [p.name for p in tmp_path.iterdir()] == ["identity.json"]  # no temporary file left


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1, 2]",
        json.dumps({"device_id": "d"}),
        json.dumps({"device_id": "d", "server_url": "u", "branch_id": 3, "branch_name": "N"}),
    ],
)
def test_a_record_that_does_not_say_who_we_are_is_refused_not_guessed(tmp_path: Path, text: str) -> None:
    identity_path(tmp_path).write_text(text)

    with pytest.raises(IdentityUnreadable):
        load_identity(tmp_path)
    assert identity_path(tmp_path).read_text() == text  # left as it was


def test_an_unknown_time_zone_type_is_dropped_but_the_identity_stands() -> None:
    text = '{"device_id": "d", "server_url": "u", "branch_id": "b", "branch_name": "N", "branch_timezone": 5}'

    assert parse_identity(text) == Identity("d", "u", "b", "N", None)
