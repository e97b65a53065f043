"""What each kind of failure means for people and for a ``sync --once`` run."""

from __future__ import annotations

from desktop.sync.actions import Outcome
from desktop.sync.events import Failure

__all__ = ["FAILURE_WORDS", "OUTCOME_OF_FAILURE", "describe"]

OUTCOME_OF_FAILURE: dict[Failure, Outcome] = {
    Failure.NETWORK: Outcome.UNREACHABLE,
    Failure.RESTARTING: Outcome.UNREACHABLE,
    Failure.SERVER: Outcome.UNREACHABLE,
    Failure.RATE_LIMITED: Outcome.UNREACHABLE,
    Failure.OVERLOADED: Outcome.UNREACHABLE,
    Failure.UNAUTHORIZED: Outcome.REVOKED,
    Failure.UPDATE_REQUIRED: Outcome.UPDATE_REQUIRED,
    Failure.REFUSED: Outcome.FAILED,
    Failure.PROTOCOL: Outcome.FAILED,
}

FAILURE_WORDS: dict[Failure, str] = {
    Failure.NETWORK: "the server cannot be reached",
    Failure.RESTARTING: "the server is restarting; reconnecting shortly",
    Failure.SERVER: "the server is having trouble",
    Failure.UNAUTHORIZED: "this device is no longer enrolled (revoked?): enrol it again",
    Failure.UPDATE_REQUIRED: "the server needs a newer version of Branchsync: please update",
    Failure.RATE_LIMITED: "the server asked us to slow down",
    Failure.OVERLOADED: "the server is busy; trying again shortly",
    Failure.REFUSED: "the server refused a request",
    Failure.PROTOCOL: "the server sent an answer this version does not understand",
}


def describe(failure: Failure, detail: str = "") -> str:
    """One line for people: what went wrong and, where they must act, what to do.

    The adapters' own message (``detail``) already says everything when the server
    could not be reached or failed; otherwise it follows the general words.
    """
    if not detail:
        return FAILURE_WORDS[failure]
    if failure in (Failure.NETWORK, Failure.RESTARTING, Failure.SERVER):
        return detail
    return f"{FAILURE_WORDS[failure]} ({detail})"
