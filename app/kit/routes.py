"""Route factories for the shapes every domain repeats around a versioned row: read it with its
ETag, create it (201 with ``Location`` and ``ETag``), change it under ``If-Match`` (a PATCH or a
workflow action); and for a keyset-paged list with its filters. A domain describes its row once
(:class:`Versioned`) and declares each route in a call that names its path, its role and what it
does; the route's documentation (operation id, summary, description, responses) is passed through
to FastAPI unchanged::

    WISH = Versioned("wish_id", WishOut, get=wishes.get, change=checked(wishes.get, for_update=True), show=...)
    read_route(router, "/wishes/{wish_id}", WISH, Reader, operation_id="wishes_get", summary=...)
    change_route(router, "/wishes/{wish_id}/cancel", WISH, Staff, lambda call, wish, _: wishes.cancel(...), ...)

The endpoints built here take their path parameter under the name the path gives it, their body,
the session, the caller and the settings in the order a hand-written route takes them, so the
OpenAPI document and the order the dependencies run in are those of a route written out.

No ``from __future__ import annotations`` here: the endpoints are annotated with the types a domain
passes in (its body model, its role), which FastAPI must see as objects, not as names.
"""

import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.etag import NOT_MODIFIED, IfMatch, OptionalIfMatch, created, tagged, unchanged, write_if_match
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.schemas import Page
from app.scope import Principal


@dataclass(frozen=True)
class Call:
    """What a route hands a domain's functions: the request's session, its caller and the settings."""

    session: AsyncSession
    principal: Principal
    settings: Settings


Getter = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[Any]]
Changer = Callable[[AsyncSession, Principal, uuid.UUID, str | None], Awaitable[Any]]


async def _unchanged_by_routes(
    session: AsyncSession, principal: Principal, row_id: uuid.UUID, if_match: str | None
) -> Any:
    raise TypeError("this row is not changed by a route: give its Versioned a `change`")


@dataclass(frozen=True)
class Versioned:
    """A kind of versioned row as its routes handle it.

    ``id`` is the path parameter naming one (``"wish_id"``), ``model`` its representation (the
    routes' ``response_model``); ``get(session, principal, id)`` reads it in the caller's scope (404
    outside), ``change(session, principal, id, if_match)`` reads it for a change (locked where the
    domain locks, ``If-Match`` checked: see :func:`checked`), and ``show(call, row)`` builds the
    representation (a coroutine is awaited; by default ``model.model_validate(row)``)."""

    id: str
    model: Any
    get: Getter
    change: Changer = _unchanged_by_routes
    show: Callable[[Call, Any], Any] | None = None


def checked(get: Callable[..., Awaitable[Any]], *, required: bool = False, **options: Any) -> Changer:
    """The ``change`` of a :class:`Versioned` read by ``get(session, principal, id, **options)``
    (``for_update=True`` …) whose ``If-Match`` is checked as :func:`~app.kit.etag.write_if_match`
    does: ``required``, 428 without it; always 412 when stale."""

    async def change(session: AsyncSession, principal: Principal, row_id: uuid.UUID, if_match: str | None) -> Any:
        row = await get(session, principal, row_id, **options)
        write_if_match(row, if_match, required=required)
        return row

    return change


async def shown(thing: Versioned, call: Call, row: Any) -> Any:
    out = thing.model.model_validate(row) if thing.show is None else thing.show(call, row)
    return await out if inspect.isawaitable(out) else out


def endpoint(run: Callable[..., Awaitable[Any]], params: list[tuple[str, Any, Any]]) -> Callable[..., Awaitable[Any]]:
    """An endpoint taking ``params`` (name, annotation, default or ``inspect.Parameter.empty``), in
    that order, that answers what ``run`` makes of them (passed by name)."""

    async def route(**values: Any) -> Any:
        return await run(**values)

    route.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=default)
            for name, kind, default in params
        ]
    )
    return route


REQUIRED = _ = inspect.Parameter.empty
"""The default of a parameter of :func:`endpoint` that has none."""


def path_id(name: str) -> Any:
    """The annotation of a UUID path parameter ``{name}`` taken by an endpoint under another name."""
    return Annotated[uuid.UUID, Path(alias=name)]


def _id(thing: Versioned) -> tuple[str, Any, Any]:
    return ("row_id", path_id(thing.id), _)


def _caller(principal: Any) -> list[tuple[str, Any, Any]]:
    return [("session", SessionDep, _), ("principal", principal, _), ("settings", SettingsDep, _)]


def read_route(
    router: APIRouter, path: str, thing: Versioned, principal: Any, *, conditional: bool = False, **doc: Any
) -> None:
    """``GET`` one row with its ETag. ``conditional``: a client's ``If-None-Match`` holding it is
    answered 304 before the representation is built (documented with ``NOT_MODIFIED``); otherwise
    the row has parts that move without a new version and the answer is never a 304. Documents
    404 unless ``responses`` says otherwise."""
    doc.setdefault("responses", {**problem_responses(404), **(NOT_MODIFIED if conditional else {})})

    async def run(
        row_id: uuid.UUID,
        session: AsyncSession,
        principal: Principal,
        settings: Settings,
        request: Request,
        response: Response,
    ) -> Any:
        row = await thing.get(session, principal, row_id)
        answer = unchanged(request, row) if conditional else None
        if answer is not None:
            return answer
        return tagged(response, row, await shown(thing, Call(session, principal, settings), row))

    params = [_id(thing), *_caller(principal), ("request", Request, _), ("response", Response, _)]
    router.get(path, response_model=thing.model, **doc)(endpoint(run, params))


def create_route(
    router: APIRouter,
    path: str,
    thing: Versioned,
    principal: Any,
    make: Callable[[Call, Any], Awaitable[Any]],
    *,
    body: Any,
    tag: bool = True,
    **doc: Any,
) -> None:
    """``POST`` a new row: ``make(call, body)`` stores it; 201 with its representation, ``Location``
    (the path with the new id) and, with ``tag``, its ETag."""

    async def run(
        body: Any, session: AsyncSession, principal: Principal, settings: Settings, response: Response
    ) -> Any:
        call = Call(session, principal, settings)
        row = await make(call, body)
        location = f"{router.prefix}{path}/{row.id}"
        return created(response, location, await shown(thing, call, row), row if tag else None)

    params = [("body", body, _), *_caller(principal), ("response", Response, _)]
    router.post(path, status_code=201, response_model=thing.model, **doc)(endpoint(run, params))


def change_route(
    router: APIRouter,
    path: str,
    thing: Versioned,
    principal: Any,
    act: Callable[..., Awaitable[Any]],
    *,
    body: Any = None,
    ids: tuple[str, ...] = (),
    method: str = "post",
    if_match: Any = OptionalIfMatch,
    **doc: Any,
) -> None:
    """A write to one row (``POST`` an action, or ``method``: ``"patch"``, ``"delete"``): the row is
    read by the :class:`Versioned`'s ``change`` with the client's ``If-Match``, ``act(call, row,
    body)`` changes it and returns it, and the answer is its representation with its new ETag.
    ``body`` is the body's model (None: the route takes no body); ``ids`` the path's further UUIDs
    (a part of the row, another row), passed to ``act`` by name; ``if_match`` the header's annotation."""

    async def run(
        row_id: uuid.UUID,
        session: AsyncSession,
        principal: Principal,
        settings: Settings,
        response: Response,
        if_match: str | None,
        body: Any = None,
        **named: uuid.UUID,
    ) -> Any:
        call = Call(session, principal, settings)
        row = await thing.change(session, principal, row_id, if_match)
        row = await act(call, row, body, **named)
        return tagged(response, row, await shown(thing, call, row))

    taken = [(name, uuid.UUID, _) for name in ids] + ([] if body is None else [("body", body, _)])
    params = [_id(thing), *taken, *_caller(principal), ("response", Response, _), ("if_match", if_match, None)]
    getattr(router, method)(path, response_model=thing.model, **doc)(endpoint(run, params))


def list_route(
    router: APIRouter,
    path: str,
    model: Any,
    principal: Any,
    name: str,
    rows: Callable[..., Awaitable[Sequence[Any]]],
    *,
    filters: dict[str, Any] | None = None,
    with_settings: bool = False,
    out: Callable[[Any], Any] | None = None,
    outs: Callable[[Call, list[Any]], Any] | None = None,
    key: Callable[[Any], Sequence[Any]] | None = None,
    **doc: Any,
) -> None:
    """``GET`` a keyset-paged list (:class:`~app.kit.pagination.Keyset` named ``name``) of ``model``.

    ``filters`` are its query parameters, in order: name → annotation (default None) or
    (annotation, default); an enum given is passed on as its value. ``rows(session, principal, *,
    filters, after, limit)`` (and ``settings=`` ``with_settings``), a service's list function, reads
    ``limit + 1`` rows after the cursor's key; each is shown by ``out(row)``, or the page's rows at
    once by ``outs(call, rows)`` (a coroutine is awaited). ``key`` gives a row's sort key (default:
    newest first)."""
    wanted = {name: spec if isinstance(spec, tuple) else (spec, None) for name, spec in (filters or {}).items()}

    async def run(
        session: AsyncSession, principal: Principal, settings: Settings, limit: int, cursor: str | None, **given: Any
    ) -> Any:
        call = Call(session, principal, settings)
        keys = Keyset.open(settings, principal, name, cursor)
        values = {name: value.value if isinstance(value, Enum) else value for name, value in given.items()}
        extra = {"settings": settings} if with_settings else {}
        found = await rows(session, principal, filters=values, after=keys.after, limit=limit, **extra)
        items, next_cursor = keys.page(found, limit, key)
        shown = [out(item) for item in items] if out is not None else outs(call, items)  # type: ignore[misc]
        return Page[Any](items=await shown if inspect.isawaitable(shown) else shown, next_cursor=next_cursor)

    params = [
        *_caller(principal),
        *((name, kind, default) for name, (kind, default) in wanted.items()),
        ("limit", LimitQuery, 50),
        ("cursor", CursorQuery, None),
    ]
    router.get(path, response_model=Page[model], **doc)(endpoint(run, params))


def update_route(
    router: APIRouter,
    path: str,
    thing: Versioned,
    principal: Any,
    act: Callable[..., Awaitable[Any]],
    *,
    body: Any,
    **doc: Any,
) -> None:
    """``PATCH`` one row (:func:`change_route`) under a required ``If-Match`` (give the
    :class:`Versioned` a ``change`` that requires it: :func:`checked` ``required=True``): 428
    without it, 412 when stale, 404 outside the caller's scope, documented unless ``responses``
    says otherwise."""
    doc.setdefault("responses", problem_responses(404, 412, 428))
    change_route(router, path, thing, principal, act, body=body, method="patch", if_match=IfMatch, **doc)


def tally(results: Sequence[Any], statuses: tuple[str, ...]) -> dict[str, int]:
    """The ``counts`` of a batch upload's answer: how many items got each verdict (``status``),
    every one of ``statuses`` named, 0 when no item got it."""
    counts = dict.fromkeys(statuses, 0)
    for result in results:
        counts[result.status] += 1
    return counts
