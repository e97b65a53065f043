"""``branchsync`` over a damaged cache: the sentence once, the same device, nothing half-done silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.cache import Cache
from desktop.cli.exit_codes import EXIT_STORAGE
from desktop.config.paths import database_path
from tests.integration.cli.conftest import Run
from tests.support.damage import DAMAGES, root_page_overwritten

DEVICE = "11111111-1111-4111-8111-111111111111"
QUEUED = 200


@pytest.fixture
def queued(data_dir: Path) -> list[str]:
    """An enrolled installation's closed cache with ``QUEUED`` creates waiting; their row ids."""
    with Cache(data_dir) as cache:
        cache.set_enrollment(device_id=DEVICE, branch_id="b-1", branch_name="North", server_url="http://s")
        with cache.batch() as writer:
            return [writer.create("clients", {"name": f"c{n}", "notes": "n" * 300}) for n in range(QUEUED)]


def _hidden_damage(data_dir: Path) -> None:
    """``sync_state``'s page broken where the start-up check does not look (a ``-wal``
    beside the file means another process has it open), so only a read finds it."""
    path = database_path(data_dir)
    root_page_overwritten(path, "sync_state")
    path.with_name(path.name + "-wal").write_bytes(b"")


@pytest.mark.parametrize("damage", DAMAGES)
def test_status_after_damage_says_the_sentence_once_and_keeps_the_device(
    branchsync: Run, data_dir: Path, queued: list[str], damage: str
) -> None:
    DAMAGES[damage](database_path(data_dir))

    first = branchsync("status", "--json")
    again = branchsync("status", "--json")

    assert first.returncode == 0, first.stderr
    told = first.stderr.removeprefix("branchsync: ").strip()
    assert told.startswith("Branchsync found its local data damaged") and "\n" not in told
    report = json.loads(first.stdout)
    assert report["device_id"] == DEVICE
    assert report["recovered"] == told
    assert 0 <= report["pending"] <= QUEUED
    assert again.stderr == ""
    assert json.loads(again.stdout)["recovered"] == told
    assert len(list(data_dir.glob("*.damaged-*"))) == 1


def test_damage_a_read_finds_rebuilds_at_once_and_a_read_only_command_goes_on(
    branchsync: Run, data_dir: Path, queued: list[str]
) -> None:
    _hidden_damage(data_dir)

    result = branchsync("status", "--json")

    assert result.returncode == 0, result.stderr
    assert "Branchsync found its local data damaged (the Branchsync data file is damaged" in result.stderr
    assert result.stderr.count("\n") == 1  # one sentence, once
    report = json.loads(result.stdout)
    assert report["device_id"] == DEVICE
    assert report["pending"] == QUEUED  # the outbox itself was whole


def test_a_command_that_writes_is_not_run_twice_after_a_rebuild(
    branchsync: Run, data_dir: Path, queued: list[str], tmp_path: Path
) -> None:
    _hidden_damage(data_dir)
    rows = tmp_path / "rows.csv"
    rows.write_text("name\nImported\n")

    result = branchsync("import", "clients", str(rows))

    assert result.returncode == EXIT_STORAGE
    assert "Branchsync found its local data damaged" in result.stderr
    assert "was not finished; run it again" in result.stderr
    with Cache(data_dir) as cache:
        assert cache.state().device_id == DEVICE
        assert cache.count("clients", "Imported") == 0
