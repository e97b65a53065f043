"""The project's own chaos suite, short and seeded for CI (issue 12): three branches with real
engines and caches write while their links are cut, stalled and slowed, their engines and
the server are killed with -9 and PostgreSQL (a private cluster) is restarted; once healed,
nothing acknowledged is lost, every cache equals the server, last write wins in real time.

``bench/soak.py`` is the long run of the same harness.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desktop.config.paths import database_path
from tests.support.chaos import Fault, FaultKind, schedule
from tests.support.chaos_run import chaos_world

SEED = 12
BRANCHES = 3
WRITES = 120


def test_a_seeded_run_of_writes_and_faults_loses_nothing_and_converges(tmp_path: Path) -> None:
    steps = schedule(SEED, BRANCHES, WRITES, fault_rate=0.2)
    assert {step.kind for step in steps if isinstance(step, Fault)} == set(FaultKind)  # every kind, here
    with chaos_world(BRANCHES, tmp_path) as world:
        figures = world.run(steps, gap_s=0.04, converge_timeout=45)
    verdict = figures.verdict
    assert verdict.ok, "\n".join(verdict.problems()[:20])
    assert figures.convergence_s is not None
    assert verdict.writes_checked + figures.skipped == WRITES
    assert verdict.writes_checked >= WRITES * 0.9


def test_a_branch_that_silently_drops_its_queued_writes_is_caught(tmp_path: Path) -> None:
    """The harness judges real state: a cache that forgets its outbox (as a broken product
    would) shows as lost writes, a cache unlike the server and too few mutations applied."""
    with chaos_world(2, tmp_path) as world:
        with sqlite3.connect(database_path(world.branches[1].installation.data_dir)) as raw:
            raw.execute("CREATE TRIGGER forget AFTER INSERT ON outbox BEGIN DELETE FROM outbox; END")
        figures = world.run(schedule(SEED, 2, 30, fault_rate=0), gap_s=0.02, converge_timeout=3)
    verdict = figures.verdict
    assert figures.convergence_s is None and not verdict.ok
    assert verdict.lost and {made.branch for made in verdict.lost} == {1}
    assert any(problem.startswith("branch 1: ") for problem in verdict.mismatches)
    assert any("mutations for 30 writes" in line for line in verdict.accounting)
