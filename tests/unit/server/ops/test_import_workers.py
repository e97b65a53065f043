"""A parallel import's parts: how many run, and their progress as one bar."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.ops.importing.run import LARGE_IMPORT_BYTES, default_workers
from server.ops.importing.workers import _Combined


class _Recorded:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int] | int] = []

    def start(self, phase: str, total: int) -> None:
        self.seen.append((phase, total))

    def advance(self, done: int) -> None:
        self.seen.append(done)


def test_a_phase_shows_once_every_part_started_it_with_their_counts_added() -> None:
    shown = _Recorded()
    bar = _Combined(shown, parts=2)

    bar.update(0, "start", "mapping", 600)
    bar.update(0, "advance", 100)  # not shown yet: part 2 has not said how many it has
    bar.update(1, "start", "mapping", 400)
    bar.update(1, "advance", 50)
    bar.update(0, "advance", 600)
    bar.update(0, "start", "writing clients", 10)
    bar.update(0, "advance", 10)  # part 1 writes while part 2 still maps
    bar.update(1, "advance", 400)

    assert shown.seen == [("mapping", 1000), 150, 650, 1000]


def test_reading_counts_the_files_once_though_every_part_reads_them() -> None:
    shown = _Recorded()
    bar = _Combined(shown, parts=3)

    for part in range(3):
        bar.update(part, "start", "reading", 2)
    for part in range(3):
        bar.update(part, "advance", 2)

    assert shown.seen == [("reading", 2), 2, 2, 2]  # the first part's count


def test_large_sources_get_a_worker_per_core_but_one_and_small_ones_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    small.write_text("[]", encoding="utf-8")
    with large.open("wb") as out:
        out.truncate(LARGE_IMPORT_BYTES)  # sparse: the size is what counts
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)

    assert default_workers([small]) == 1
    assert default_workers([large]) == 3
    assert default_workers([small, tmp_path / "missing.json"]) == 1  # reading it will say why
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert default_workers([large]) == 1  # two cores: the server and PostgreSQL keep one
