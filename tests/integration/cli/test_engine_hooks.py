"""The hooks for ``enroll``, ``sync --once`` and ``run``: parsed here, run by the engine's module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.cli.parser import Handler, build_parser, engine_command
from tests.integration.cli import engine_stub
from tests.integration.cli.conftest import Run


def test_the_engine_gets_the_parsed_arguments_and_returns_the_exit_code(tmp_path: Path) -> None:
    parser = build_parser()
    enroll = parser.parse_args(
        ["enroll", "--server", "https://s.example", "--code", "ABC-123", "--name", "Desk 1"]
    )
    enroll.data_dir = tmp_path
    offline = parser.parse_args(["sync", "--once", "--timeout", "0"])
    offline.data_dir = tmp_path

    assert engine_command(lambda: engine_stub.enroll)(enroll) == 0
    assert engine_command(lambda: engine_stub.sync_once)(offline) == 3
    assert engine_command(lambda: engine_stub.run)(parser.parse_args(["run"])) == 0
    written = json.loads((tmp_path / "enroll.json").read_text())
    assert written == {"server": "https://s.example", "code": "ABC-123", "name": "Desk 1"}


def _not_built() -> Handler:
    import desktop.sync.not_built_yet  # type: ignore[import-not-found]  # it does not exist

    return desktop.sync.not_built_yet.run  # type: ignore[no-any-return]


def test_without_the_engine_module_the_command_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["run"])

    assert engine_command(_not_built)(args) == 2
    assert (
        capsys.readouterr().err
        == "branchsync: `run` needs the sync engine, which this build does not include\n"
    )


def test_engine_commands_check_their_arguments_first(branchsync: Run) -> None:
    no_once = branchsync("sync")
    no_code = branchsync("enroll", "--server", "https://s.example")

    assert no_once.returncode == 2 and "--once" in no_once.stderr
    assert no_code.returncode == 2 and "--code" in no_code.stderr
    assert len(no_once.stderr.splitlines()) == len(no_code.stderr.splitlines()) == 1
