"""A new installation's first pull, carried out by the server's bulk snapshot when it offers one.

The core asks for "the changes after 0" (``Pull(0)``); for a blank cache the answer
to that is the snapshot: every row as of change number ``seq``. The runner hands the
core what a pull would have answered — no changes, the cursor at ``seq``, more to
come — and the core goes on pulling from there as always, so no decision of the core
changes. Anything that goes wrong (an older server's 404, a cut or corrupt stream, a
cache that is no longer blank) leaves the cache as it was and the runner pulls page
by page instead.

The download and the load overlap: bytes go from the socket through a small queue
to the cache's worker thread, which decodes and stores them in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator

from desktop.cache import SnapshotRefused
from desktop.cache.snapshot_load import SnapshotLoaded
from desktop.sync.errors import TransportError
from desktop.sync.events import PullSucceeded, Timing
from desktop.sync.http_client import SyncHttpClient
from protocol.messages import PullResponse

__all__ = ["bootstrap_from_snapshot"]

log = logging.getLogger(__name__)

_QUEUED_CHUNKS = 32
"""Chunks buffered between the socket and the loader: the memory bound."""


class _Aborted(Exception):
    """The download stopped; the loader rolls back."""


async def bootstrap_from_snapshot(
    http: SyncHttpClient,
    load: Callable[[Iterable[bytes]], SnapshotLoaded],
    wall_ms: Callable[[], int],
    timeout: float,
) -> PullSucceeded | None:
    """Fill a blank cache from the snapshot; the pull answer it stands for, or None to pull by pages.

    Call it only when ``CachePort.snapshot_wanted``; ``load`` is ``CachePort.load_snapshot``, which
    checks that again in its transaction.

    Raises:
        StorageError: the disk failed (not a reason to fall back: the page path would too).
    """
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(_QUEUED_CHUNKS)

    def drain() -> Iterator[bytes]:
        while True:
            item = asyncio.run_coroutine_threadsafe(chunks.get(), loop).result(timeout)
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    sent = wall_ms()
    received: int | None = None
    loading = asyncio.ensure_future(asyncio.to_thread(load, drain()))
    try:
        async with http.snapshot() as stream:
            async for chunk in stream:
                received = received or wall_ms()
                if not await _hand(chunks, chunk, loading):
                    break  # the loader gave up: its error says why
            await _hand(chunks, None, loading)
    except TransportError as exc:
        _end(chunks, _Aborted(str(exc)))
        await asyncio.gather(loading, return_exceptions=True)
        log.info("no snapshot from the server (%s); pulling page by page", exc)
        return None
    except BaseException:  # stopped: the loader rolls back on its own thread, nobody waits for it
        _end(chunks, _Aborted("stopped"))
        loading.add_done_callback(_forget)
        raise
    try:
        loaded = await loading
    except SnapshotRefused as exc:
        log.warning("%s; pulling page by page", exc)
        return None
    header = loaded.header
    if header.seq == 0:
        return None  # an empty server: nothing was loaded, and a pull from 0 is one page
    log.info("loaded %d rows from the server's snapshot at change %d", loaded.rows, header.seq)
    timing = Timing(sent, received or wall_ms())
    response = PullResponse(
        changes=[], cursor=header.seq, has_more=True, server_hlc=header.server_hlc, epoch=header.epoch
    )
    return PullSucceeded(response, timing)


def _forget(done: asyncio.Future[SnapshotLoaded]) -> None:
    """Take a stopped load's outcome so asyncio does not warn that nobody did."""
    if not done.cancelled():
        done.exception()


async def _hand(
    chunks: asyncio.Queue[bytes | BaseException | None],
    item: bytes | None,
    loading: asyncio.Future[SnapshotLoaded],
) -> bool:
    """Queue ``item`` for the loader, waiting for room; False when the loader ended first."""
    putting = asyncio.ensure_future(chunks.put(item))
    await asyncio.wait((putting, loading), return_when=asyncio.FIRST_COMPLETED)
    if putting.done():
        return True
    putting.cancel()
    return False


def _end(chunks: asyncio.Queue[bytes | BaseException | None], failure: BaseException) -> None:
    """Tell the loader the stream broke off: what it has not read is dropped, so this never waits."""
    while not chunks.empty():
        chunks.get_nowait()
    chunks.put_nowait(failure)
