"""Telling a race from an ordinary later edit, so staff see every value lost to one.

Last-write-wins picks a winner by HLC, which is all convergence needs. But "my value
was replaced by a later one" covers two different stories: someone who had my value
on screen changed it (an ordinary, sequential edit), or someone who never saw it
edited the same field at about the same time (a race, a conflict staff must see).
The stamps cannot tell these apart; both winners are simply later.

So every write carries its ``base``: for each key it writes, the clock of the value
its author's device held when the edit was made (None: no value yet). The server
keeps, per key, the base of the write that set the current value (``merge_bases``)
and sends it with every change (``Change.bases``). A receiver whose value stamped
``L`` has just been overwritten asks ``overwrote_unseen``: the writer had seen ``L``
exactly when its base is ``L``.

Any other base means the writer edited a state without ``L``: an older value, or a
newer one that had replaced ``L`` elsewhere. The second case may itself have been a
sequential edit of ``L``; one level of base cannot tell, and it is reported as a race
rather than risk hiding one (a value is never lost silently).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["Bases", "bases_before", "merge_bases", "overwrote_unseen"]

Bases = Mapping[str, str | None]
"""Key -> clock of the value the writer held (None: the key had no value yet)."""


def bases_before(clocks: Mapping[str, str], keys: Iterable[str]) -> dict[str, str | None]:
    """The base of a write of ``keys`` onto a row whose clocks are ``clocks`` (as they were before it)."""
    return {key: clocks.get(key) for key in keys}


def merge_bases(current: Bases, incoming: Bases | None, changed: Iterable[str]) -> dict[str, str | None]:
    """The bases a row keeps after a write took ``changed`` keys (``MergeResult.changed``).

    Each changed key takes the incoming write's base; a key the write gave no base
    for (``incoming`` None: an older client or an integration) is dropped, so readers
    see "unknown" rather than a base that belonged to the value it replaced.
    """
    kept = dict(current)
    for key in changed:
        if incoming is not None and key in incoming:
            kept[key] = incoming[key]
        else:
            kept.pop(key, None)
    return kept


def overwrote_unseen(local_clock: str, bases: Bases, key: str) -> bool | None:
    """Whether the write that beat my value of ``key`` (stamped ``local_clock``) had not seen it.

    Args:
        local_clock: the HLC of my value that just lost.
        bases: the winning write's bases (``Change.bases``).
        key: the field (or ``protocol.DELETED``).

    Returns:
        True: the writer had not seen my value, so it was lost to a race. False: the
        writer had it and replaced it (an ordinary later edit). None: the write gave
        no base for ``key``, so nothing is known; the caller falls back on what it
        knows itself (e.g. whether my value was still waiting to be pushed).
    """
    if key not in bases:
        return None
    return bases[key] != local_clock
