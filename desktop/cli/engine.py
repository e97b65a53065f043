"""The engine's commands of ``branchsync``: ``enroll``, ``sync --once`` and ``run``.

``desktop.cli.parser`` parses the arguments and imports this module only when one of
these commands runs. Each returns the exit code (``desktop.cli.exit_codes``); failures
are one line on stderr: 1 refused (bad code, revoked, server refuses), 2 not enrolled /
bad configuration, 3 server unreachable (changes stay queued); a disk or data folder
that failed is raised to ``desktop.cli.console`` (4).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import ssl
from collections.abc import Coroutine
from typing import Any

from desktop.cache import Cache
from desktop.cli.exit_codes import EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE
from desktop.cli.output import fail
from desktop.config import ConfigError, Setting, client_ssl_context, load_config
from desktop.config.credentials import CredentialsError
from desktop.sync.actions import Outcome
from desktop.sync.enrollment import endpoint_for, enroll_device
from desktop.sync.errors import (
    AlreadyEnrolled,
    BadAnswer,
    EnrollmentRefused,
    NotEnrolled,
    ServerFailed,
    ServerUnreachable,
    TransportError,
)
from desktop.sync.events import Mode
from desktop.sync.runner import Runner
from desktop.sync.status import StatusSnapshot

__all__ = ["enroll", "run", "sync_once"]


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext:
    """The TLS context from IT's or the user's config (their CA bundle, if any)."""
    config = load_config(args.data_dir)
    return client_ssl_context(config.ca_bundle, source=config.sources.get(Setting.CA_BUNDLE))


# ---- enroll -----------------------------------------------------------------------


def enroll(args: argparse.Namespace) -> int:
    """``branchsync enroll --server URL --code CODE [--name NAME]``."""
    name = (args.name or socket.gethostname() or "branch PC").strip()
    try:
        context = _ssl_context(args)
        with Cache(args.data_dir) as cache:
            done = asyncio.run(enroll_device(cache, args.server, args.code, name, ssl_context=context))
    except (ValueError, ConfigError, AlreadyEnrolled) as exc:
        return fail(str(exc), EXIT_USAGE)
    except EnrollmentRefused as exc:
        return fail(f"enrolment refused ({exc.code}): {exc}", EXIT_REFUSED)
    except (ServerUnreachable, ServerFailed, BadAnswer) as exc:
        return fail(str(exc), EXIT_UNREACHABLE)
    except TransportError as exc:
        return fail(f"the server refused the enrolment: {exc}", EXIT_REFUSED)
    except CredentialsError as exc:
        return fail(str(exc), EXIT_REFUSED)
    print(f"enrolled as device {done.device_id} of branch {done.branch_name} on {done.server_url}")
    return 0


# ---- sync --once ----------------------------------------------------------------------


def sync_once(args: argparse.Namespace) -> int:
    """``branchsync sync --once [--timeout SECONDS]``: push all, pull all, exit."""
    with Cache(args.data_dir) as cache:
        prepared = _runner(args, cache, Mode.ONCE)
        if isinstance(prepared, int):
            return prepared
        try:
            outcome = asyncio.run(_within(prepared.run(), args.timeout))
        except TimeoutError:
            outcome = None
        counts = cache.counts()
    status = prepared.status
    match outcome:
        case Outcome.SYNCED:
            print(
                f"synced: cursor {status.cursor}, {counts.pending} pending, "
                f"{counts.rejected} rejected, {counts.conflicts} conflicts"
            )
            return 0
        case Outcome.UNREACHABLE | None:
            why = status.last_error or "the server cannot be reached"
            if outcome is None:
                why = f"not done after {args.timeout:g} s ({why})"
            return fail(f"{why}; {counts.pending} change(s) pending, kept queued", EXIT_UNREACHABLE)
        case Outcome.REVOKED | Outcome.UPDATE_REQUIRED | Outcome.FAILED:
            return fail(
                f"{status.last_error or outcome.value}; {counts.pending} change(s) pending", EXIT_REFUSED
            )


async def _within(work: Coroutine[Any, Any, Outcome | None], timeout: float | None) -> Outcome | None:
    async with asyncio.timeout(timeout):
        return await work


# ---- run ---------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """``branchsync run``: the engine alone until SIGINT/SIGTERM."""
    with Cache(args.data_dir) as cache:
        printer = _StatusPrinter()
        prepared = _runner(args, cache, Mode.CONTINUOUS, printer)
        if isinstance(prepared, int):
            return prepared
        printer.runner = prepared
        asyncio.run(_until_signalled(prepared))
    if prepared.status.halted is not None:
        return fail(prepared.status.last_error or prepared.status.halted.value, EXIT_REFUSED)
    return 0


async def _until_signalled(runner: Runner) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, runner.stop)
        except NotImplementedError:  # Windows: no loop signal handlers
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(runner.stop))
    await runner.run()


class _StatusPrinter:
    """Prints one line per change of state; stops the runner when it halts."""

    def __init__(self) -> None:
        self.runner: Runner | None = None
        self._last: tuple[object, ...] | None = None

    def __call__(self, status: StatusSnapshot) -> None:
        shown = (status.state, status.halted, status.last_error)
        if shown == self._last:
            return
        self._last = shown
        line = f"{status.state.value}: cursor {status.cursor}, {status.pending} pending"
        if status.last_error:
            line += f" ({status.last_error})"
        print(line, flush=True)
        if status.halted is not None and self.runner is not None:
            self.runner.stop()


# ---- shared -------------------------------------------------------------------------


def _runner(
    args: argparse.Namespace, cache: Cache, mode: Mode, on_status: _StatusPrinter | None = None
) -> Runner | int:
    """The runner for this data dir, or the exit code saying why there is none."""
    try:
        endpoint = endpoint_for(cache, _ssl_context(args))
    except (NotEnrolled, ConfigError) as exc:
        return fail(str(exc), EXIT_USAGE)
    except CredentialsError as exc:
        return fail(str(exc), EXIT_REFUSED)
    return Runner(cache, endpoint, mode=mode, on_status=on_status)
