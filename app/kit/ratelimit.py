"""Rate limits (限流) shared by every worker and node: fixed windows counted in PostgreSQL.

Each check counts one hit with ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on the
``rate_limits`` row of its key, committed on its own so that the count survives a request that
fails and is visible at once to every other process; the hits a process's concurrent requests
make meanwhile go together in one such statement, each still told its own place in its key's
count. Windows are aligned on the epoch
(``floor(t / window) * window``), so all nodes agree on where a window starts.

Over the limit → 429 ``rate_limited`` with ``Retry-After``: the seconds until the window ends.

The same counter serves other fixed windows: :func:`count` takes the table and when a window
reopens (sign-in failures count in a window opened by the first failure, :mod:`app.auth.service`).

Usage::

    @router.post("/things", dependencies=[Depends(rate_limit("things_create", 60, 60, key=caller_key))])

(``caller_key`` from :mod:`app.auth.deps`: the API key, else the user.)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, DriverStatement, ReadPool
from app.errors import RateLimited
from app.kit import clock
from app.kit.arrays import array_rows
from app.kit.coalesce import Coalesced, coalesced, places, tallies


class RateLimitWindow(Base):
    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column()
    hits: Mapped[int] = mapped_column(server_default="0")


RateKey = Literal["address"] | Callable[..., Awaitable[str]]
"""Per client address, or per whatever key a dependency returns (e.g. the authenticated caller)."""


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn's ``--proxy-headers`` puts the real one here)."""
    return request.client.host if request.client else "unknown"


def window_start(now: dt.datetime, window_seconds: int) -> dt.datetime:
    epoch = now.timestamp()
    return dt.datetime.fromtimestamp(epoch - epoch % window_seconds, dt.UTC)


async def count(
    session: AsyncSession,
    model: type[Any],
    key: str,
    *,
    start: dt.datetime,
    open_since: dt.datetime,
    counter: str = "hits",
) -> tuple[int, dt.datetime]:
    """Count one on ``key`` in ``model``'s table (columns ``key``, ``window_start`` and ``counter``),
    in one statement; return the count in the current window and when that window started.

    A stored window that started at or after ``open_since`` is still open and counts on; an older
    one is replaced by a new window starting at ``start``."""
    table = model.__table__
    column = table.c[counter]
    stmt = insert(model).values({"key": key, "window_start": start, counter: 1})
    same_window = table.c.window_start >= open_since
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            counter: sa.case((same_window, column + 1), else_=1),
            "window_start": sa.case((same_window, table.c.window_start), else_=stmt.excluded.window_start),
        },
    ).returning(column, table.c.window_start)
    hits, current_start = (await session.execute(stmt)).one()
    return int(hits), current_start


async def hit(
    session: AsyncSession, key: str, window_seconds: int, now: dt.datetime | None = None
) -> tuple[int, float]:
    """Count one hit on ``key``; return the hits in the current window and the seconds it has left."""
    now = now or clock.now()
    start = window_start(now, window_seconds)
    hits, current_start = await count(session, RateLimitWindow, key, start=start, open_since=start)
    remaining = (current_start + dt.timedelta(seconds=window_seconds) - now).total_seconds()
    return hits, max(remaining, 0.0)


def _hits_statement() -> DriverStatement:
    """:func:`count` on ``rate_limits`` for several keys at once (arrays of each ``key``, its
    ``window_start`` and its ``hits``), compiled once for the driver: the count and window of each key.
    Keys are taken in order, so two processes counting the same keys lock their rows alike."""
    table = RateLimitWindow.__table__
    given = array_rows("given", {"key": table.c.key, "window_start": table.c.window_start, "hits": table.c.hits})
    rows = sa.select(given.c.key, given.c.window_start, given.c.hits).order_by(given.c.key)
    stmt = insert(RateLimitWindow).from_select(["key", "window_start", "hits"], rows)
    same_window = table.c.window_start >= stmt.excluded.window_start
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "hits": sa.case((same_window, table.c.hits + stmt.excluded.hits), else_=stmt.excluded.hits),
            "window_start": sa.case((same_window, table.c.window_start), else_=stmt.excluded.window_start),
        },
    ).returning(table.c.key, table.c.hits, table.c.window_start)
    return DriverStatement(stmt)


HITS = _hits_statement()


async def _count_hits(pool: ReadPool, hits: list[tuple[str, dt.datetime]]) -> list[tuple[int, dt.datetime]]:
    """Count ``hits`` (key, window start) in one statement: each hit's count in its key's window —
    the nth of n hits on a key sees the count with all n in it, so the limit is exact however the
    hits were grouped — and when that window started."""
    keys = [key for key, _ in hits]
    counts = tallies(keys)
    starts: dict[str, dt.datetime] = {}
    for key, start in hits:
        starts[key] = max(start, starts.get(key, start))
    ordered = sorted(counts)
    rows = await HITS.fetch(
        pool, key=ordered, window_start=[starts[k] for k in ordered], hits=[counts[k] for k in ordered]
    )
    totals = {row["key"]: int(row["hits"]) for row in rows}
    windows = {row["key"]: row["window_start"] for row in rows}
    return [(place, windows[key]) for key, place in zip(keys, places(keys, totals), strict=True)]


async def check(pool: ReadPool, key: str, limit: int, window_seconds: int) -> None:
    """Raise 429 ``rate_limited`` when ``key`` is over ``limit`` hits in its window.

    The count is made on the primary's one-statement pool (``app.state.read_pool``), outside any
    transaction: committed at once, whatever becomes of the request, and none of an engine
    connection's set-up. The concurrent hits of a process share one statement
    (:mod:`app.kit.coalesce`).
    (Should the connection break between the count and its answer, the count is made again on
    another: a hit may then count twice, never zero times.)"""
    now = clock.now()
    start = window_start(now, window_seconds)
    counting: Coalesced[tuple[str, dt.datetime], tuple[int, dt.datetime]] = coalesced(
        pool, "rate_limit_hits", _count_hits
    )
    hits, current_start = await counting.run((key, start))
    remaining = max((current_start + dt.timedelta(seconds=window_seconds) - now).total_seconds(), 0.0)
    if hits > limit:
        raise RateLimited(
            f"More than {limit} requests in {window_seconds} s; retry after the window ends.",
            retry_after=max(1, math.ceil(remaining)),
            limit=limit,
            window_seconds=window_seconds,
        )


def rate_limit(
    name: str, limit: int | str, window_seconds: int, key: RateKey = "address"
) -> Callable[..., Coroutine[Any, Any, None]]:
    """A dependency allowing ``limit`` requests per ``window_seconds`` per client address, or per
    the key a dependency ``key`` returns (``caller_key``: the API key, else the user; 401 when
    anonymous).

    ``limit`` may name a setting (``"rate_limit_public_writes"``), read per request, so deployments
    tune limits without code."""
    if (isinstance(limit, int) and limit < 1) or window_seconds < 1:
        raise ValueError("a rate limit needs a positive limit and window")

    def _limit(request: Request) -> int:
        return int(getattr(request.app.state.settings, limit)) if isinstance(limit, str) else limit

    if key == "address":

        async def _by_address(request: Request) -> None:
            await check(
                request.app.state.read_pool,
                f"{name}:addr:{client_address(request)}",
                _limit(request),
                window_seconds,
            )

        dependency = _by_address
    else:
        # A default, not Annotated: the annotations are strings, and ``key`` is not a global.
        async def _by_key(request: Request, owner: str = Depends(key)) -> None:
            await check(request.app.state.read_pool, f"{name}:{owner}", _limit(request), window_seconds)

        dependency = _by_key
    dependency.__name__ = f"rate_limit_{name}"
    return dependency


async def purge(session: AsyncSession, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete counters whose window ended long ago."""
    result = await session.execute(
        sa.delete(RateLimitWindow).where(RateLimitWindow.window_start < clock.now() - older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
