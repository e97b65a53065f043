"""``branchsync conflicts`` and ``rejected`` [``--json``]: what staff must look at."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from desktop.cache import Cache
from desktop.cli.output import print_json

__all__ = ["conflicts", "rejected"]


def conflicts(args: argparse.Namespace) -> int:
    """Local values that lost to a later edit elsewhere."""
    with Cache(args.data_dir) as cache:
        found = cache.conflicts()
    if args.json:
        print_json([asdict(conflict) for conflict in found])
        return 0
    if not found:
        print("no conflicts")
    for c in found:
        print(
            f"#{c.id} {c.collection} {c.row_id} {c.field}: mine {json.dumps(c.my_value)} lost to "
            f"{json.dumps(c.winning_value)} from {c.winning_device} ({c.at:%Y-%m-%d %H:%M})"
        )
    return 0


def rejected(args: argparse.Namespace) -> int:
    """Local changes the server refused."""
    with Cache(args.data_dir) as cache:
        found = cache.rejected()
    if args.json:
        print_json([{k: v for k, v in asdict(r).items() if k != "before"} for r in found])
        return 0
    if not found:
        print("no rejected changes")
    for r in found:
        where = f" ({r.field})" if r.field else ""
        print(f"#{r.id} {r.op} {r.collection} {r.row_id}: {r.code}{where}: {r.message}")
    return 0
