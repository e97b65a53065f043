"""The fleet simulator's small configuration: 20 real engines in 2 processes, one real server.

``bench/fleet.py`` is run as an operator runs it (a subprocess, its own command line), with
steady writes (30 % of them edits of an existing client), a burst of 100 edits from one
branch, one branch cut off and returning, and a server restart. The test asserts what must
hold on any machine however loaded: the fleet converges (every write in every cache, every
cache equal to the server row for row), no error outside the fault windows, the cut branch
caught up and every engine back after the restart. Timing figures are the benchmark's
business (docs/benchmarks.md), not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BRANCHES = 20


@pytest.mark.timeout(180)  # about 45 s; the margin is for a loaded machine
def test_small_fleet_converges_with_no_error(pg_admin_url: str, tmp_path: Path) -> None:
    figures_file = tmp_path / "fleet.json"
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fleet.py"),
            "--branches",
            str(BRANCHES),
            "--workers",
            "2",
            "--rate",
            "2",
            "--duration",
            "30",
            "--burst",
            "100",
            "--edit-share",
            "0.3",
            "--settle",
            "60",
            "--json",
            str(figures_file),
            "--admin-url",
            pg_admin_url,
        ],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert figures_file.exists(), finished.stdout[-3000:] + finished.stderr[-3000:]
    figures = json.loads(figures_file.read_text())
    report = finished.stdout[-3000:] + json.dumps(
        {k: figures.get(k) for k in ("errors", "fault_errors", "restart", "catch_up", "verification")}
    )

    assert figures["converged"], report
    assert figures["errors"] == {}, report
    assert finished.returncode == 0, report
    verification = figures["verification"]
    assert verification["caches_checked"] == BRANCHES
    assert verification["caches_differing"] == []
    # new clients (70 % of 2/s for 30 s, and the burst) all reached the server and every cache
    assert verification["server_rows"]["clients"] == figures["writes"] >= 100 + 20
    assert figures["edits"] > 0, "some steady writes were edits, checked by the comparison"
    assert figures["missing"] == 0
    assert len(figures["catch_up"]) == 1, "the one cut branch came back and caught up"
    assert figures["restart"]["steady_s"] is not None, "every engine was back online after the restart"
