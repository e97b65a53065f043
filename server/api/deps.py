"""Reusable FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from server.api.runtime import Runtime

__all__ = ["EngineDep", "RuntimeDep", "get_runtime"]


def get_runtime(request: Request) -> Runtime:
    """The running process's runtime, set by the lifespan."""
    runtime: Runtime = request.app.state.branchsync
    return runtime


def get_engine(request: Request) -> AsyncEngine:
    return get_runtime(request).engine


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
