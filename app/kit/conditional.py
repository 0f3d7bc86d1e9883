"""Conditional GETs (``If-None-Match``) answered before FastAPI binds a route's parameters.

A wall screen polls its figures every few seconds and almost always gets 304. For such a route
the work that matters is one statement (the caller, the area and its change counter); resolving
the route's dependencies and validating its parameters costs as much again. A route may
therefore name a *precheck*: a coroutine that reads the request itself and returns the 304 when it
can prove that the full route would return exactly that 304, or None in every other case —
anything unusual (a parameter in a form other than the plainest, a missing or unknown one, other
credentials, a refusal of any kind, a stale tag) goes through the full route, which validates,
explains and answers as documented. The precheck never answers anything but 304.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response

from app.kit.routing import Route

Precheck = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def prechecked(check: Precheck) -> Callable[[Endpoint], Endpoint]:
    """Give an endpoint (of a router using :class:`ConditionalRoute`) a precheck for ``If-None-Match``."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.__precheck__ = check  # type: ignore[attr-defined]
        return endpoint

    return mark


class ConditionalRoute(Route):
    """A :class:`Route` that lets its endpoint's precheck answer a conditional GET first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        check: Precheck | None = getattr(self.endpoint, "__precheck__", None)
        if check is None:
            return handler

        async def conditional(request: Request) -> Response:
            if b"if-none-match" in dict(request.scope["headers"]):
                answer = await check(request)
                if answer is not None:
                    return answer
            return await handler(request)

        return conditional


def bearer_token(request: Request) -> str | None:
    """The token of a plain ``Authorization: Bearer <token>`` header when no API key header is
    sent; None otherwise."""
    headers = request.headers
    if "x-api-key" in headers:
        return None
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token or token != token.strip() or " " in token:
        return None
    return token


def plain_query(request: Request, known: frozenset[str]) -> dict[str, str] | None:
    """The query parameters when each is one of ``known`` and given at most once; else None."""
    items = request.query_params.multi_items()
    params = dict(items)
    if len(params) != len(items) or not params.keys() <= known:
        return None
    return params
