"""Build, smoke-test, package, sign and verify the Branchsync desktop app: one command.

    python installers/build.py                       # this platform, signed (key from the environment)
    python installers/build.py --unsigned            # a local test build: no signing, no verification
    python installers/build.py --dry-run --platform windows   # print another platform's steps

Artifacts land in ``build/`` (``--out``): ``dist/`` (the frozen app), ``packages/`` (the
.deb and its .asc, or the setup .exe, or the .pkg), ``apt/`` (the signed apt repository,
``--repo`` to keep it elsewhere) and ``build-report.json`` (timings and sizes). Exit 0
only if every step passed; a failure prints which step and why. See installers/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from installers.errors import BuildError
from installers.freeze import ROOT, project_version
from installers.plans import PLATFORMS, Options, Results, plan

__all__ = ["main", "options_from_args", "this_platform"]

REPORT = "build-report.json"


def this_platform() -> str:
    if sys.platform == "win32":
        return "windows"
    return "macos" if sys.platform == "darwin" else "linux"


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="installers/build.py", description=__doc__.split("\n\n")[0])
    cli.add_argument(
        "--platform",
        choices=PLATFORMS,
        default=this_platform(),
        help="target platform (default: this one; another one only with --dry-run)",
    )
    cli.add_argument("--out", type=Path, default=ROOT / "build", help="output folder (default: build/)")
    cli.add_argument(
        "--unsigned", action="store_true", help="skip signing and verification (a local test build)"
    )
    cli.add_argument("--dry-run", action="store_true", help="print the steps and their commands, run nothing")
    linux = cli.add_argument_group("Linux")
    linux.add_argument("--repo", type=Path, help="apt repository to publish into (default: <out>/apt)")
    linux.add_argument("--revision", type=int, default=1, help="Debian revision of this build (default 1)")
    linux.add_argument(
        "--machine-config",
        type=Path,
        metavar="FILE",
        help="ship this file as /etc/branchsync/config.toml (default: the commented template)",
    )
    linux.add_argument("--deb-compression", choices=["xz", "zstd", "gzip"], default="xz")
    linux.add_argument(
        "--gpg-key-file",
        type=Path,
        help="exported secret key to sign with (default $BRANCHSYNC_GPG_KEY_FILE)",
    )
    linux.add_argument("--gpg-key-id", help="key in $GNUPGHOME to sign with (default $BRANCHSYNC_GPG_KEY_ID)")
    linux.add_argument(
        "--reuse-freeze",
        action="store_true",
        help="package the app already in <out>/dist (e.g. a new --revision)",
    )
    return cli


def options_from_args(args: argparse.Namespace) -> Options:
    return Options(
        platform=args.platform,
        out=args.out.absolute(),
        version=project_version(),
        revision=args.revision,
        unsigned=args.unsigned,
        repo=args.repo.absolute() if args.repo else None,
        machine_config=args.machine_config,
        deb_compression=args.deb_compression,
        gpg_key_file=args.gpg_key_file,
        gpg_key_id=args.gpg_key_id,
        reuse_freeze=args.reuse_freeze,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = options_from_args(args)
    steps = plan(options)
    if args.dry_run:
        for number, step in enumerate(steps, 1):
            print(f"{number}. {step.name}: {step.summary}")
            for command in step.commands(options) if step.commands else []:
                print("     $ " + " ".join(command))
        return 0
    if options.platform != this_platform():
        print(
            f"build.py: a {options.platform} build runs on a {options.platform} host (see --dry-run)",
            file=sys.stderr,
        )
        return 2
    if options.machine_config is not None:
        _check_machine_config(options.machine_config)
    options.out.mkdir(parents=True, exist_ok=True)
    results = Results()
    for step in steps:
        print(f"==> {step.name}: {step.summary}", flush=True)
        started = time.perf_counter()
        try:
            step.execute(options, results)
        except BuildError as exc:
            print(f"build.py: step {step.name!r} failed: {exc}", file=sys.stderr)
            return 1
        print(f"    done in {time.perf_counter() - started:.1f} s", flush=True)
    results.write(options.out / REPORT)
    for kind, path in results.artifacts.items():
        print(f"{kind:>10}: {path}")
    if options.unsigned:
        print("NOTE: unsigned build: not for release")
    return 0


def _check_machine_config(path: Path) -> None:
    """Refuse to ship IT's file if the app would refuse to read it."""
    from desktop.config import ConfigError
    from desktop.config.loader import read_toml
    from desktop.config.settings import parse_machine

    try:
        document = read_toml(path)
        if document is None:
            raise SystemExit(f"build.py: --machine-config {path} does not exist")
        parse_machine(document, path)
    except ConfigError as exc:
        raise SystemExit(f"build.py: --machine-config: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
