"""The router every domain uses: FastAPI's, declining at once a path outside its prefix."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class Router(APIRouter):
    """An :class:`APIRouter` that answers "no match" without looking at its routes when the path
    does not start with its prefix.

    The application asks every included router in turn, and each one tries every route (a regex
    and some bookkeeping per route) until one matches: with ~150 routes that walk cost a third of
    the CPU of a cached read. None of a router's routes can match a path outside its prefix, so
    the answer is the same, only cheaper.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.prefix and not _route_path(scope).startswith(self.prefix):
            return Match.NONE, {}
        return super().matches(scope)
