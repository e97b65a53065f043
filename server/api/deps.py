"""Reusable FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from server.api.runtime import ServerState

__all__ = ["EngineDep", "StateDep", "get_state"]


def get_state(request: Request) -> ServerState:
    """The running process's state, set by the lifespan."""
    state: ServerState = request.app.state.branchsync
    return state


def get_engine(request: Request) -> AsyncEngine:
    return get_state(request).engine


StateDep = Annotated[ServerState, Depends(get_state)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
