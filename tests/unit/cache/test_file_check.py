"""``file_check``: telling a sound cache file from a missing, empty, truncated or garbage one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.cache import Cache
from desktop.cache.file_check import HEADER, FileState, check_file, header_verdict, page_size_of
from desktop.config.paths import database_path
from tests.support.damage import DAMAGES, PAGE


def _header(page_size: int = PAGE, pages: int = 10) -> bytes:
    head = bytearray(100)
    head[:16] = HEADER
    head[16:18] = (1 if page_size == 65536 else page_size).to_bytes(2, "big")
    head[24:28] = head[92:96] = (7).to_bytes(4, "big")
    head[28:32] = pages.to_bytes(4, "big")
    return bytes(head)


def test_the_header_alone_tells_empty_garbage_truncated_and_whole() -> None:
    assert header_verdict(b"", 0).state is FileState.EMPTY
    assert header_verdict(b"hello" * 20, 100).state is FileState.DAMAGED
    assert header_verdict(_header()[:50], 50).state is FileState.DAMAGED
    assert header_verdict(_header(page_size=1000), 10_000).state is FileState.DAMAGED
    assert header_verdict(_header(), 10 * PAGE + 7).state is FileState.DAMAGED  # ends inside a page
    truncated = header_verdict(_header(pages=10), 5 * PAGE)
    assert truncated.state is FileState.DAMAGED
    assert "5 of its 10 pages" in truncated.reason
    assert header_verdict(_header(pages=10), 10 * PAGE).state is FileState.SOUND
    assert header_verdict(_header(pages=10), 12 * PAGE).state is FileState.SOUND  # longer is fine


def test_a_page_count_the_header_does_not_vouch_for_is_not_trusted() -> None:
    head = bytearray(_header(pages=10))
    head[92:96] = (6).to_bytes(4, "big")  # written by an old SQLite: the count is stale

    assert header_verdict(bytes(head), 5 * PAGE).state is FileState.SOUND
    assert page_size_of(_header(page_size=65536)) == 65536


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=1 << 40))
def test_no_bytes_make_the_header_check_fail(header: bytes, size: int) -> None:
    assert header_verdict(header, size).state in set(FileState)


def _filled(data_dir: Path) -> Path:
    with Cache(data_dir) as cache, cache.batch() as writer:
        for n in range(200):
            writer.create("clients", {"name": f"client {n}", "notes": "n" * 300})
    return database_path(data_dir)


def test_a_closed_sound_file_is_sound_and_a_missing_one_missing(tmp_path: Path) -> None:
    path = _filled(tmp_path / "data")

    assert check_file(path).state is FileState.SOUND
    assert check_file(tmp_path / "nothing.sqlite3").state is FileState.MISSING


@pytest.mark.parametrize("damage", DAMAGES)
def test_every_kind_of_damage_is_found_before_the_file_is_opened(tmp_path: Path, damage: str) -> None:
    path = _filled(tmp_path / "data")
    DAMAGES[damage](path)

    verdict = check_file(path)

    assert verdict.state is (FileState.EMPTY if damage == "empty" else FileState.DAMAGED)
    assert verdict.reason
    assert "\n" not in verdict.reason and "***" not in verdict.reason  # it goes into one sentence


def test_quick_check_is_skipped_for_big_files_and_files_in_use(tmp_path: Path) -> None:
    path = _filled(tmp_path / "data")
    DAMAGES["middle-pages"](path)

    assert check_file(path, quick_check_limit=PAGE).state is FileState.SOUND  # too big to read whole
    path.with_name(path.name + "-wal").write_bytes(b"")
    assert check_file(path).state is FileState.SOUND  # another process has it open


def test_damage_only_quick_check_sees_is_told_as_its_first_problem_in_one_line(tmp_path: Path) -> None:
    """Cell pointers overwritten in a table page in the middle: the file opens, but
    ``quick_check`` lists the bad cells under a ``***`` heading, one per line."""
    path = _filled(tmp_path / "data")
    data = bytearray(path.read_bytes())
    page_start = (len(data) // 2) // PAGE * PAGE
    data[page_start + 8 : page_start + 16] = random.Random(5).randbytes(8)
    path.write_bytes(bytes(data))

    verdict = check_file(path)

    assert verdict.state is FileState.DAMAGED
    assert verdict.reason.startswith("SQLite's check found damage: On tree page ")
    assert "\n" not in verdict.reason and "***" not in verdict.reason
