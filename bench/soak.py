"""The chaos soak: the CI chaos run (``tests/faults/test_chaos.py``), long (issue 12).

Branches with real engines (each in its own process) and real caches make random
creates, edits and deletes, one write every ``--gap`` seconds, while a seeded schedule
cuts, stalls and slows their links (a TCP relay each), kills their engines and the
server with SIGKILL and restarts PostgreSQL (a private cluster made for the run, fast
and immediate mode). The run goes in rounds of ``--operations`` writes: each round ends
with every fault healed, waits until every cache equals the server, then checks the
whole history so far (``tests.support.chaos.check``): every acknowledged write is the
final value of its field or was overwritten knowingly or is recorded as a lost
conflict on its branch; the final value of every field is the last write to it in real
time; nothing pending, rejected or applied twice.

Goal: 0 writes lost, 0 mismatches (the exit code says it); convergence after healing
under 10 s (printed). Usage::

    python bench/soak.py [--seed 1] [--branches 5] [--operations 200] [--duration 300]
                         [--gap 0.05] [--fault-rate 0.2] [--dir DIR]

Without ``--duration`` it runs one round. Round ``n`` uses seed ``--seed + n``; a failing
round is replayed with ``--seed`` that seed and ``--operations`` the same.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import keyring
from _engine_setup import machine_line
from keyring.backends import fail

from tests.support.chaos import FaultKind, schedule
from tests.support.chaos_run import Figures, chaos_world

CONVERGENCE_GOAL_S = 10.0
CONVERGE_TIMEOUT_S = 120.0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--branches", type=int, default=5)
    parser.add_argument("--operations", type=int, default=200, help="writes per round")
    parser.add_argument("--duration", type=float, default=0, help="seconds: more rounds until then")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between writes")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="chance of a fault before a write")
    parser.add_argument("--dir", type=Path, help="keep data dirs and logs here (default: a temporary one)")
    return parser.parse_args()


def _round_line(n: int, seed: int, figures: Figures) -> str:
    took = "never converged" if figures.convergence_s is None else f"converged {figures.convergence_s:.1f} s"
    state = "ok" if figures.verdict.ok else f"{len(figures.verdict.problems())} problem(s)"
    return (
        f"round {n} (seed {seed}): {figures.writes} writes, {figures.faults.total()} faults, {took}, {state}"
    )


def soak(args: argparse.Namespace, folder: Path) -> int:
    print(machine_line())
    print(
        f"soak: seed {args.seed}, {args.branches} branches, {args.operations} writes a round, "
        f"a write every {args.gap * 1000:.0f} ms, fault rate {args.fault_rate}"
    )
    rounds: list[Figures] = []
    started = time.monotonic()
    with chaos_world(args.branches, folder) as world:
        while not rounds or time.monotonic() - started < args.duration:
            seed = args.seed + len(rounds)
            steps = schedule(seed, args.branches, args.operations, fault_rate=args.fault_rate)
            try:
                figures = world.run(steps, gap_s=args.gap, converge_timeout=CONVERGE_TIMEOUT_S)
            except AssertionError as exc:  # a process that died on its own: no state worth judging
                print(f"round {len(rounds) + 1} (seed {seed}): FAILED: {exc}")
                return 1
            rounds.append(figures)
            print(_round_line(len(rounds), seed, figures), flush=True)
            if not figures.verdict.ok or figures.convergence_s is None:
                for made in figures.verdict.lost[:5]:
                    print("\n".join(world.explain(made)))
                break
    return _report(rounds, time.monotonic() - started)


def _report(rounds: list[Figures], elapsed: float) -> int:
    last = rounds[-1]
    verdict = last.verdict  # each round judges the whole history
    faults: Counter[FaultKind] = sum((figures.faults for figures in rounds), Counter())
    times = [figures.convergence_s for figures in rounds if figures.convergence_s is not None]
    writes, skipped = sum(f.writes for f in rounds), sum(f.skipped for f in rounds)
    print(f"operations: {writes} writes in {len(rounds)} round(s), {elapsed:.0f} s", end="")
    print(f" ({skipped} skipped: their row was deleted meanwhile)")
    by_kind = ", ".join(f"{kind.value} {faults[kind]}" for kind in FaultKind)
    print(f"faults: {faults.total()} ({by_kind})")
    print(f"writes checked: {verdict.writes_checked}; lost conflicts recorded: {last.conflicts}")
    print(f"writes lost: {len(verdict.lost)} (must be 0)")
    print(f"won by an earlier write within both clocks' measured uncertainty: {verdict.close_calls}")
    print(
        f"out of order: {len(verdict.out_of_order)}; caches unlike the server: {len(verdict.mismatches)}; "
        f"pending, rejected or applied twice: {len(verdict.accounting)} (all must be 0)"
    )
    if times:
        met = "met" if max(times) < CONVERGENCE_GOAL_S else "NOT met"
        print(
            f"convergence after healing: median {statistics.median(times):.1f} s, max {max(times):.1f} s "
            f"(goal < {CONVERGENCE_GOAL_S:.0f} s: {met})"
        )
    print(f"largest clock correction applied: {max(f.max_offset_ms for f in rounds)} ms (true offset 0)")
    for problem in verdict.problems()[:20]:
        print(f"  {problem}")
    ok = verdict.ok and len(times) == len(rounds)
    print(f"verdict: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


def main() -> int:
    args = _arguments()
    # device tokens go to the data dirs' private files, in this process and the engines'
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        return soak(args, args.dir)
    with tempfile.TemporaryDirectory(prefix="branchsync-soak-") as tmp:
        return soak(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
