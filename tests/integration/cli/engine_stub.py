"""A stand-in for ``desktop.cli.engine`` that shows what the CLI hands the engine."""

from __future__ import annotations

import argparse
import json


def enroll(args: argparse.Namespace) -> int:
    (args.data_dir / "enroll.json").write_text(
        json.dumps({"server": args.server, "code": args.code, "name": args.name})
    )
    return 0


def sync_once(args: argparse.Namespace) -> int:
    return 3 if args.timeout == 0 else 0


def run(args: argparse.Namespace) -> int:
    return 0
