"""/api/v1/stats — the wall-screen figures (三率, 大屏), exact and cheap to poll."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Credentials, CredentialsDep, principal_for
from app.auth.security import decode_token
from app.config import Settings, SettingsDep
from app.errors import AppError
from app.kit import clock
from app.kit.conditional import ConditionalRoute, bearer_token, plain_query, prechecked
from app.kit.etag import not_modified
from app.kit.routing import Router
from app.kit.schemas import QueryDate, plain_date
from app.replicas import replica_pool, replica_session
from app.stats import schemas, service

router = Router(prefix="/api/v1/stats", tags=["stats"], route_class=ConditionalRoute)

AreaId = Annotated[uuid.UUID | None, Query(description="area to report on (default: your home area)")]
From = Annotated[QueryDate | None, Query(alias="from", description="first local day (default: 29 days before `to`)")]
To = Annotated[QueryDate | None, Query(description="last local day, inclusive (default: today)")]

COMMON = """
Scope: the area `area_id` (default: your home area) and everything below it; an area outside your
jurisdiction is 422 `unknown_area`. Window: local days `from` … `to` inclusive in the service's
time zone (default: the last 30 days including today; at most 1098 days).

Caching: `ETag` and `Cache-Control: private, max-age=…`. The ETag is built from a per-area change
counter (bumped by triggers in the same transaction as every issue, 民情日记 and dispute change),
the parameters and the current minute; `If-None-Match` answers 304 after a single query.

Rates are `{value, numerator, denominator}` (`value` null when the denominator is 0). Counting
rules (each figure on one date):
- response rate 响应率 = issues first responded to within `respond_within` ÷ issues whose response
  was due (`respond_due_at`) in the window — an unanswered issue joins the denominator once its
  deadline has passed;
- resolution rate 解决率 = evaluated with `solved` ÷ evaluated (`evaluated_at` in the window);
- satisfaction rate 满意率 = (满意 + 基本满意) ÷ evaluated (`evaluated_at` in the window);
- on-time rate 按时办结率 = resolved by `resolve_due_at` ÷ resolved (`resolved_at` in the window);
- grid-level share 网格内解决率 = closed issues never escalated above `grid` ÷ closed (`closed_at`
  in the window); community-level share likewise, never above `community`.

Merged and rejected issues are left out of every rate; a reopened issue (重办) counts once, with
its latest evaluation and latest resolution.
"""

ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (`If-None-Match` matched)"},
    401: {"description": "No or invalid credentials"},
    403: {"description": "Role may not read stats (`role_not_allowed`)"},
    422: {"description": "Invalid parameters (`invalid_window`, `unknown_area`, …)"},
}


async def _scope(request: Request, creds: Credentials, area_id: uuid.UUID | None, field: str) -> service.Scope:
    """The caller (401 / 403) and the area asked about with its fingerprint: one round trip for a
    bearer token, on the hot-read pool without a session, so a dashboard's 304 costs about as
    much as reading one row. Figures are computed afterwards in a read session of their own."""
    prechecked_scope: service.Scope | None = getattr(request.state, "stats_scope", None)
    if prechecked_scope is not None:  # the same request's precheck found it (see _Conditional)
        return prechecked_scope
    if creds.user_id is not None:
        pool = await replica_pool(request)
        return (await service.caller_scope(pool, creds.user_id, area_id, service.STATS_READERS, field))[1]
    async with replica_session(request) as session:
        principal = await principal_for(request, session, creds, service.STATS_READERS)
        return await service.scope_of(session, principal, area_id, field)


async def _area_scope(request: Request, creds: CredentialsDep, area_id: AreaId = None) -> service.Scope:
    return await _scope(request, creds, area_id, "area_id")


async def _parent_scope(
    request: Request,
    creds: CredentialsDep,
    parent_id: Annotated[uuid.UUID | None, Query(description="parent area (default: your home area)")] = None,
) -> service.Scope:
    return await _scope(request, creds, parent_id, "parent_id")


# Dependencies, so the caller is authenticated before the other parameters are validated.
AreaScope = Annotated[service.Scope, Depends(_area_scope)]
ParentScope = Annotated[service.Scope, Depends(_parent_scope)]


def _cache_headers(settings: Settings, tag: str) -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": f"private, max-age={settings.stats_max_age_seconds}"}


@dataclass(frozen=True)
class _Poll:
    """One poll of the figures: the request (its ``If-None-Match``), the response (the cache
    headers go on it) and the settings (time zone, ``max-age``)."""

    request: Request
    response: Response
    settings: Settings

    def window(self, first: dt.date | None, last: dt.date | None, now: dt.datetime) -> service.Window:
        return service.window(self.settings.timezone, first, last, now)

    async def answer(self, tag: str, compute: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        """What every stats route answers: 304 when ``If-None-Match`` holds ``tag``, else the
        figures ``compute`` reads in a read session, with the ETag and ``Cache-Control``."""
        headers = _cache_headers(self.settings, tag)
        if not_modified(self.request, tag):
            return Response(status_code=304, headers=headers)
        self.response.headers.update(headers)
        async with replica_session(self.request) as session:
            return await compute(session)

    async def over_window(
        self,
        kind: str,
        scope: service.Scope,
        first: dt.date | None,
        last: dt.date | None,
        figures: _Figures,
        *choices: Any,
    ) -> Any:
        """A report of ``kind`` over the area and the window, and the route's other parameters
        (``choices``, in the order its ETag and ``figures`` take them)."""
        now = clock.now()
        window = self.window(first, last, now)
        tag = service.etag(kind, scope, now, window.first, window.last, *choices)
        return await self.answer(tag, lambda session: figures(session, scope, window, now, *choices))


_Figures = Callable[..., Awaitable[Any]]
"""``figures(session, scope, window, now, *choices)``: a report's figures."""


async def _poll(request: Request, response: Response, settings: SettingsDep) -> _Poll:
    return _Poll(request, response, settings)


Poll = Annotated[_Poll, Depends(_poll)]


_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_REQUIRED = object()


@dataclass(frozen=True)
class _Conditional:
    """The 304 of a polling dashboard without FastAPI's parameter binding (see
    :mod:`app.kit.conditional`): a bearer token, the area (``area``) and the window in their plain
    forms, the route's other parameters (``choices``: name, allowed values, default — in the order
    the route's ETag takes them). The ETag is made exactly as the route makes it; anything else, and
    every refusal, is left to the route. When the tag is stale the scope found is kept for the
    route, so a dashboard whose figures changed still pays one statement for the caller and area."""

    kind: str
    area: str = "area_id"
    choices: tuple[tuple[str, frozenset[str], object], ...] = ()
    windowed: bool = True  # the route takes ``from`` / ``to`` and its tag names the window

    async def __call__(self, request: Request) -> Response | None:
        token = bearer_token(request)
        window_params: tuple[str, ...] = ("from", "to") if self.windowed else ()
        known = frozenset({self.area, *window_params, *(name for name, _, _ in self.choices)})
        query = plain_query(request, known) if token else None
        if token is None or query is None:
            return None
        area_text = query.get(self.area)
        if area_text is not None and not _UUID_TEXT.fullmatch(area_text):
            return None
        days = [plain_date(query[name]) if name in query else None for name in window_params]
        if any(day is None and name in query for day, name in zip(days, window_params, strict=True)):
            return None
        extras: list[object] = []
        for name, allowed, default in self.choices:
            value = query.get(name)
            if (value is None and default is _REQUIRED) or (value is not None and value not in allowed):
                return None
            extras.append(default if value is None else value)
        settings: Settings = request.app.state.settings
        try:
            user_id = decode_token(token, secret=settings.require_jwt_secret(), issuer=settings.jwt_issuer)
            if user_id is None:
                return None
            area_id = uuid.UUID(area_text) if area_text is not None else None
            _, scope = await service.caller_scope(
                await replica_pool(request), user_id, area_id, service.STATS_READERS, self.area
            )
            now = clock.now()
            if self.windowed:
                window = service.window(settings.timezone, days[0], days[1], now)
                extras = [window.first, window.last, *extras]
        except (AppError, RuntimeError):
            return None
        request.state.stats_scope = scope
        tag = service.etag(self.kind, scope, now, *extras)
        if not not_modified(request, tag):
            return None
        return Response(status_code=304, headers=_cache_headers(settings, tag))


@router.get(
    "/overview",
    response_model=schemas.Overview,
    operation_id="stats_overview",
    summary="Overview for an area (三率, 工单, 民情日记, 矛盾纠纷)",
    description="Every figure of the wall screen for one area subtree and window.\n"
    + COMMON
    + """
Issue counts: `total` and the `by_*` breakdowns count issues created in the window, by their value
now (`by_category` uses the category code as filed). `open_now`, `due_soon_now` (预警) and
`overdue_now` (超期) are the open issues right now, whenever created. Durations: median and p90 of
wall-clock seconds from creation to first response (responded in the window) and to resolution
(resolved in the window). `diary` counts 民情日记 entries by visit date in the window, by status now
(`closure_rate` = (resolved + answered) ÷ logged); `disputes` counts disputes registered in the
window, by their state now (`mediated`: an outcome was recorded).""",
    responses=ERRORS,
)
@prechecked(_Conditional("overview"))
async def stats_overview(poll: Poll, scope: AreaScope, from_: From = None, to: To = None) -> Any:
    return await poll.over_window("overview", scope, from_, to, service.overview)


async def _ranking(
    session: AsyncSession, scope: service.Scope, window: service.Window, now: dt.datetime, sort: str | None, order: str
) -> schemas.AreaRanking:
    return await service.areas(session, scope, window, now, sort, order == "desc")


@router.get(
    "/areas",
    response_model=schemas.AreaRanking,
    operation_id="stats_areas",
    summary="Ranking of the child areas (下级辖区排名)",
    description="One row per child area of `parent_id` (default: your home area), each counted over "
    "its own subtree, sortable by any rate or count (`order=desc` by default; rows without a value "
    "go last).\n" + COMMON,
    responses=ERRORS,
)
@prechecked(
    _Conditional(
        "areas",
        area="parent_id",
        choices=(("sort", frozenset(service.SORTABLE), None), ("order", frozenset({"asc", "desc"}), "desc")),
    )
)
async def stats_areas(
    poll: Poll,
    scope: ParentScope,
    from_: From = None,
    to: To = None,
    sort: Annotated[Literal[tuple(service.SORTABLE)] | None, Query(description="rate or count to sort by")] = None,  # type: ignore[valid-type]
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> Any:
    return await poll.over_window("areas", scope, from_, to, _ranking, sort, order)


@router.get(
    "/workers",
    response_model=schemas.WorkerTable,
    operation_id="stats_workers",
    summary="Grid workers' figures (网格员考核)",
    description="Per active grid worker whose home grid lies in the area: 民情日记 entries (visit in "
    "the window) and visits (entries with a resident, 入户走访); issues found (created by them in the "
    "window); handled (resolved by them in the window, latest resolution), of which on time; the "
    "satisfaction rate of the issues they handled; open issues assigned to them and overdue now.\n" + COMMON,
    responses=ERRORS,
)
@prechecked(_Conditional("workers"))
async def stats_workers(poll: Poll, scope: AreaScope, from_: From = None, to: To = None) -> Any:
    return await poll.over_window("workers", scope, from_, to, service.workers)


@router.get(
    "/timeseries",
    response_model=schemas.Timeseries,
    operation_id="stats_timeseries",
    summary="A figure over time (趋势)",
    description="One point per `bucket` (day, ISO week from Monday, month) from `from` to `to` without "
    "gaps; `t` is the bucket's first day and only days inside the window are counted. Counts "
    "(`issues_created`, `issues_closed`, …) are integers, 0 for an empty bucket; rates "
    "(`response_rate`, `satisfaction_rate`, …, `diary_closure_rate`) are rate objects, `value` null "
    "for an empty bucket. Each metric is counted on the date given below.\n" + COMMON,
    responses=ERRORS,
)
@prechecked(
    _Conditional(
        "timeseries",
        choices=(
            ("metric", frozenset(service.METRICS), _REQUIRED),
            ("bucket", frozenset({"day", "week", "month"}), "day"),
        ),
    )
)
async def stats_timeseries(
    poll: Poll,
    scope: AreaScope,
    metric: Annotated[Literal[tuple(service.METRICS)], Query(description="what to count")],  # type: ignore[valid-type]
    bucket: Annotated[Literal["day", "week", "month"], Query()] = "day",
    from_: From = None,
    to: To = None,
) -> Any:
    return await poll.over_window("timeseries", scope, from_, to, service.timeseries, metric, bucket)


OVERDUE_LIMITS = frozenset(str(n) for n in range(1, 101))


@router.get(
    "/overdue",
    response_model=schemas.OverdueList,
    operation_id="stats_overdue",
    summary="Overdue issues right now (超期工单)",
    description="The open issues of the area subtree past their running deadline right now — the "
    "issues counted in the overview's `overdue_now` — most overdue first, at most `limit` of them; "
    "`total` counts them all. Each row holds only what says nothing about a resident: number, "
    "category, status, area, the deadline missed (`due_at`) and how far past it (`overdue_seconds`); "
    "no title, description, address or reporter. Open to every stats reader (大屏 viewers included), "
    "unlike the issue list.\n\n"
    "Scope: the area `area_id` (default: your home area) and everything below it; an area outside "
    "your jurisdiction is 422 `unknown_area`.\n\n"
    "Caching: `ETag` (changes in scope, `limit` and the current minute) and "
    "`Cache-Control: private, max-age=…`; `If-None-Match` answers 304 after a single query.",
    responses=ERRORS,
)
@prechecked(_Conditional("overdue", windowed=False, choices=(("limit", OVERDUE_LIMITS, 10),)))
async def stats_overdue(
    poll: Poll,
    scope: AreaScope,
    limit: Annotated[int, Query(ge=1, le=100, description="rows to list (the most overdue first)")] = 10,
) -> Any:
    now = clock.now()
    tag = service.etag("overdue", scope, now, limit)
    return await poll.answer(tag, lambda session: service.overdue(session, scope, now, limit))
