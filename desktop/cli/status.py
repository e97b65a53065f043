"""``branchsync status [--json]``: this installation's sync state, from the cache alone."""

from __future__ import annotations

import argparse

from desktop.cache import Cache
from desktop.cli.output import PROG, print_json, shown

__all__ = ["status"]


def status(args: argparse.Namespace) -> int:
    with Cache(args.data_dir) as cache:
        state, counts, directory = cache.state(), cache.counts(), cache.directory()
    own = directory.branch(state.branch_id)
    report = {
        "device_id": state.device_id,
        "branch": state.branch_name,
        "branch_timezone": own.timezone if own else None,
        "server": state.server_url,
        "online": state.online,
        "cursor": state.cursor,
        "pending": counts.pending,
        "rejected": counts.rejected,
        "conflicts": counts.conflicts,
        "last_sync": state.last_sync.isoformat() if state.last_sync else None,
        "clock_offset_ms": state.clock_offset_ms,
        "clock_uncertainty_ms": state.clock_uncertainty_ms,
        "recovered": state.recovery_notice,
    }
    if args.json:
        print_json(report)
    else:
        if state.device_id is None:
            report["device_id"] = f"not enrolled (run `{PROG} enroll`)"
        for key, value in report.items():
            print(f"{key + ':':<16} {shown(value)}")
    return 0
