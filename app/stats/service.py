"""Stats (三率): exact figures for an area subtree and a window of local days.

Counting rules — each figure is counted on one date, in the configured time zone, and a window
``[from, to]`` holds the local days ``from`` … ``to`` inclusive:

============================  =================================================================
figure                        counted by
============================  =================================================================
``issues.total``, ``by_*``    ``created_at`` in the window; breakdowns by the issue's value now
response rate 响应率           issues whose response was due (``respond_due_at``) in the window:
                              responded ones, plus unanswered ones once the deadline has passed
                              (an unanswered issue is not counted before its deadline);
                              numerator: ``first_responded_at <= respond_due_at``
resolution rate 解决率         ``evaluated_at`` in the window: ``solved`` ÷ evaluated
satisfaction rate 满意率       ``evaluated_at`` in the window: (满意 + 基本满意) ÷ evaluated
on-time rate 按时办结率        ``resolved_at`` in the window: ``resolved_at <= resolve_due_at`` ÷ resolved
grid / community share        ``closed_at`` in the window: tier still ``grid`` (resp. ``grid`` or
                              ``community``) ÷ closed — the tier only rises, so this is "never
                              escalated above"
durations                     first response: ``first_responded_at`` in the window; resolution:
                              ``resolved_at`` in the window; wall-clock seconds since ``created_at``
``*_now``                     the open issues right now (whenever created), SLA state as in the
                              issue list (a suspended issue is judged when it stopped)
diary                         ``visited_at`` in the window, by the entry's status now
disputes                      ``created_at`` (registration) in the window, by the case's state now
============================  =================================================================

Merged (已合并) and rejected (不予受理) issues are excluded from every rate and duration (they
still count in ``total`` and ``by_status``). A reopened issue (重办) counts once, with its latest
evaluation and its latest resolution: reopening clears ``resolved_at`` / ``closed_at`` so it
leaves the on-time and share figures until it is resolved / closed again, while its latest
rating stays until the resident rates again. A deadline is fixed once its window closes (see
``app.issues.deadlines.retime``): no later edit of category, priority or policy moves a response
or a resolution between on time and late.

The windowed figures are sums over the daily aggregate tables (:mod:`app.stats.tables`), which
triggers keep exact in the writing transaction; the issue counters of a subtree are the rows of
one area id (its rollup rows, everything below it, and its own daily rows), so their cost does
not depend on how many areas or issues lie below. The ``now`` figures and the unanswered part of
the response rate come from the open issues through a partial index; percentiles read raw
columns through ``(area_id, resolved_at)`` / ``(area_id, first_responded_at)`` indexes (these
two grow with the number of open issues, resp. of issues responded to or resolved in the window).
Each endpoint runs one statement after the scope query, built once per process; the statements
live in :mod:`app.stats.repository`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.db import ReadPool
from app.errors import ValidationFailed, field_error
from app.kit.schemas import EARLIEST_DATE, LATEST_DATE, in_date_range
from app.scope import Principal, admit_caller
from app.stats import repository, schemas
from app.stats.repository import AREA_COUNTERS, COUNT_METRICS, RATES
from app.stats.tables import (
    CHANNELS,
    ISSUE_COUNTERS,
    KINDS,
    RISKS,
    STATUSES,
    TIERS,
)

STATS_READERS = frozenset(
    {Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.VIEWER, Role.ADMIN}
)
"""Everyone who sees an area subtree (the stats and the event stream); department users (scoped by
unit) and integrations do not."""

MAX_WINDOW_DAYS = 3 * 366
DEFAULT_WINDOW_DAYS = 30


def rate(numerator: int, denominator: int) -> schemas.Rate:
    return schemas.Rate(
        value=numerator / denominator if denominator else None, numerator=numerator, denominator=denominator
    )


# --- window and scope ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Local days ``first`` … ``last`` and the instants bounding them (``start`` ≤ t < ``end``)."""

    first: dt.date
    last: dt.date
    start: dt.datetime
    end: dt.datetime
    tz: str


def window(tz: str, first: dt.date | None, last: dt.date | None, now: dt.datetime) -> Window:
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    for name, day in (("from", first), ("to", last)):
        if day is not None and not in_date_range(day):
            raise ValidationFailed(
                f"'{name}' must be between {EARLIEST_DATE} and {LATEST_DATE}.",
                code="invalid_window",
                errors=[field_error(name, "out of range", allowed={"ge": str(EARLIEST_DATE), "le": str(LATEST_DATE)})],
            )
    last = last or (today if first is None else min(today, first + dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1)))
    first = first or last - dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if first > last:
        raise ValidationFailed(
            "'from' must not be after 'to'.", code="invalid_window", errors=[field_error("from", "after 'to'")]
        )
    if (last - first).days >= MAX_WINDOW_DAYS:
        raise ValidationFailed(
            f"The window may span at most {MAX_WINDOW_DAYS} days.",
            code="invalid_window",
            errors=[field_error("to", f"more than {MAX_WINDOW_DAYS} days after 'from'")],
        )

    def local_midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)

    return Window(first, last, local_midnight(first), local_midnight(last + dt.timedelta(days=1)), tz)


@dataclass(frozen=True)
class Scope:
    """The area asked about (within the caller's scope) and a fingerprint of everything in it."""

    id: uuid.UUID
    name: str
    level: str
    path: str
    fingerprint: str

    @property
    def ref(self) -> schemas.AreaRef:
        return schemas.AreaRef(id=self.id, name=self.name, level=self.level)


async def scope_of(session: AsyncSession, principal: Principal, area_id: uuid.UUID | None, field: str) -> Scope:
    """One query: the area (422 ``unknown_area`` when outside the caller's subtree) and its
    fingerprint (:func:`app.stats.repository.fingerprint_of`)."""
    row = await repository.scope_row(session, area_id or principal.area_id, principal.area_path)
    if row is None:
        raise unknown_area(field)
    return Scope(row[0], row[1], row[2], row[3], row[4])


def unknown_area(field: str) -> ValidationFailed:
    return ValidationFailed(
        "No such area in your jurisdiction.",
        code="unknown_area",
        errors=[field_error(field, "unknown or outside your area")],
    )


async def caller_scope(
    db: ReadPool | AsyncSession, user_id: uuid.UUID, area_id: uuid.UUID | None, roles: frozenset[Role], field: str
) -> tuple[Principal, Scope]:
    """:func:`scope_of` for a bearer token's user, authenticated in the same statement: what a
    polling dashboard pays for a 304 is one round trip."""
    row = await repository.caller_scope_row(db, user_id, area_id)
    principal = admit_caller(row, roles)
    if row["id"] is None:
        raise unknown_area(field)
    return principal, Scope(row["id"], row["name"], row["level"], row["path"], row["fingerprint"])


def etag(kind: str, scope: Scope, now: dt.datetime, *params: Any) -> str:
    """Changes in scope, the parameters, and the current minute (for the ``now`` figures)."""
    minute = now.replace(second=0, microsecond=0).isoformat()
    raw = "|".join(str(p) for p in (kind, scope.id, scope.fingerprint, minute, *params))
    return '"s-' + hashlib.blake2b(raw.encode(), digest_size=12).hexdigest() + '"'


def _params(scope: Scope, w: Window, now: dt.datetime) -> dict[str, Any]:
    return repository.params(
        area_id=scope.id, area_path=scope.path, first=w.first, last=w.last, start=w.start, end=w.end, now=now, tz=w.tz
    )


def _rates(sums: dict[str, int], unanswered: int) -> schemas.Rates:
    out: dict[str, schemas.Rate] = {}
    for name, (num, den) in RATES.items():
        denominator = sums[den] + (unanswered if name == "response_rate" else 0)
        out[name] = rate(sum(sums[n] for n in num), denominator)
    return schemas.Rates(**out)


def _breakdown(sums: dict[str, int], prefix: str, values: list[str]) -> dict[str, int]:
    return {v: int(sums[f"{prefix}_{v}"]) for v in values}


def _percentile_figures(m: Any, name: str) -> schemas.Percentiles:
    median, p90 = m[f"{name}_median"], m[f"{name}_p90"]
    return schemas.Percentiles(
        median=None if median is None else float(median), p90=None if p90 is None else float(p90)
    )


# --- overview -----------------------------------------------------------------------------------


async def overview(session: AsyncSession, scope: Scope, w: Window, now: dt.datetime) -> schemas.Overview:
    m = await repository.overview_row(session, _params(scope, w, now))
    sums = {n: int(m[n]) for n in ISSUE_COUNTERS}
    issues = schemas.IssueFigures(
        total=sums["created"],
        by_status=_breakdown(sums, "status", STATUSES),
        by_kind=_breakdown(sums, "kind", KINDS),
        by_category=dict(zip(m["categories"] or [], map(int, m["category_counts"] or []), strict=True)),
        by_channel=_breakdown(sums, "channel", CHANNELS),
        by_tier=_breakdown(sums, "tier", TIERS),
        open_now=m["open_now"],
        due_soon_now=m["due_soon_now"],
        overdue_now=m["overdue_now"],
    )
    logged, answered, resolved = (int(m[f"diary_{n}"]) for n in ("logged", "status_answered", "status_resolved"))
    return schemas.Overview(
        area=scope.ref,
        from_=w.first,
        to=w.last,
        generated_at=now,
        issues=issues,
        rates=_rates(sums, m["unanswered"]),
        durations=schemas.Durations(
            first_response_seconds=_percentile_figures(m, "first_response"),
            resolution_seconds=_percentile_figures(m, "resolution"),
        ),
        diary=schemas.DiaryFigures(
            logged=logged,
            answered=answered,
            resolved=resolved,
            escalated=int(m["diary_status_escalated"]),
            closure_rate=rate(answered + resolved, logged),
        ),
        disputes=schemas.DisputeFigures(
            registered=int(m["dispute_registered"]),
            by_risk={r: int(m[f"dispute_risk_{r}"]) for r in RISKS},
            mediated=int(m["dispute_mediated"]),
            agreements=int(m["dispute_agreements"]),
            referred=int(m["dispute_referred"]),
            stable_at_follow_up=int(m["dispute_stable_at_follow_up"]),
        ),
    )


# --- ranking of child areas ---------------------------------------------------------------------

METRICS = repository.METRICS
"""The metrics a time series may show."""
SORTABLE = [*RATES, "total", "open_now", "overdue_now"]


async def areas(
    session: AsyncSession, parent: Scope, w: Window, now: dt.datetime, sort: str | None, descending: bool
) -> schemas.AreaRanking:
    rows = []
    for c in await repository.area_rows(session, _params(parent, w, now)):
        m = c._mapping
        sums = {n: int(m[n] or 0) for n in AREA_COUNTERS}
        rows.append(
            schemas.AreaRow(
                area=schemas.AreaRef(id=c.id, name=c.name, level=c.level),
                issues=schemas.AreaIssueFigures(
                    total=sums["created"], open_now=m["open_now"] or 0, overdue_now=m["overdue_now"] or 0
                ),
                rates=_rates(sums, m["unanswered"] or 0),
            )
        )
    if sort:
        rows = _sorted(rows, sort, descending)
    return schemas.AreaRanking(items=rows)


def _sorted(rows: list[schemas.AreaRow], sort: str, descending: bool) -> list[schemas.AreaRow]:
    def key(row: schemas.AreaRow) -> float | None:
        if sort in RATES:
            return getattr(row.rates, sort).value
        return float(getattr(row.issues, sort))

    known = [r for r in rows if key(r) is not None]
    unknown = [r for r in rows if key(r) is None]  # nulls last, either order
    known.sort(key=lambda r: key(r) or 0.0, reverse=descending)
    return known + unknown


# --- grid workers (网格员考核) --------------------------------------------------------------------


async def workers(session: AsyncSession, scope: Scope, w: Window, now: dt.datetime) -> schemas.WorkerTable:
    people = await repository.grid_workers(session, scope.path)
    ids = [p.id for p in people]
    if not ids:
        return schemas.WorkerTable(items=[])
    diary = await repository.diary_by_author(session, ids, scope.path, w.start, w.end)
    found = await repository.issues_found_by(session, ids, scope.path, w.start, w.end)
    handled = await repository.issues_handled_by(session, ids, scope.path, w.start, w.end)
    overdue = await repository.overdue_by_assignee(session, ids, scope.path, now)
    items = []
    for p in people:
        d, h = diary.get(p.id), handled.get(p.id)
        items.append(
            schemas.WorkerRow(
                user=schemas.WorkerRef(
                    id=p.id, display_name=p.display_name, area=schemas.AreaRef(id=p.area_id, name=p.name, level=p.level)
                ),
                diary_entries=d.entries if d else 0,
                visits=d.visits if d else 0,
                issues_found=found.get(p.id, 0),
                handled=h.handled if h else 0,
                resolved_on_time=h.on_time if h else 0,
                satisfaction_rate=rate(h.satisfied if h else 0, h.evaluated if h else 0),
                overdue_now=overdue.get(p.id, 0),
            )
        )
    return schemas.WorkerTable(items=items)


# --- overdue issues (超期工单) -------------------------------------------------------------------


async def overdue(session: AsyncSession, scope: Scope, now: dt.datetime, limit: int) -> schemas.OverdueList:
    rows = await repository.overdue_rows(session, scope.path, now, limit)
    return schemas.OverdueList(
        area=scope.ref,
        generated_at=now,
        total=rows[0].total if rows else 0,  # counted before the limit; no rows, none overdue
        items=[
            schemas.OverdueIssue(
                number=r.number,
                category=r.category,
                category_name=r.category_name,
                status=r.status,
                area=schemas.AreaRef(id=r.area_id, name=r.area_name, level=r.area_level),
                due_at=r.due_at,
                overdue_seconds=r.overdue_seconds,
            )
            for r in rows
        ],
    )


# --- time series --------------------------------------------------------------------------------


async def timeseries(
    session: AsyncSession, scope: Scope, w: Window, now: dt.datetime, metric: str, bucket: str
) -> schemas.Timeseries:
    """One point per bucket from ``from`` to ``to`` without gaps (``generate_series``); counts are
    integers (0 for an empty bucket), rates are rate objects (value null for an empty bucket)."""
    _, names = repository.metric_columns(metric)
    points = []
    for row in await repository.timeseries_rows(session, metric, bucket, _params(scope, w, now)):
        m = row._mapping
        if metric in COUNT_METRICS:
            value: int | schemas.Rate = int(m[names[0]])
        else:
            extra = int(m["unanswered"]) if metric == "response_rate" else 0
            value = rate(sum(int(m[n]) for n in names[:-1]), int(m[names[-1]]) + extra)
        points.append(schemas.Point(t=m["t"], value=value))
    return schemas.Timeseries(metric=metric, bucket=bucket, points=points)


async def rebuild(session: AsyncSession, timezone: str | None = None) -> None:
    """Recompute every aggregate from the raw tables, optionally for a new zone."""
    await repository.rebuild(session, timezone)


async def compact(session: AsyncSession) -> int:
    """Fold the fresh delta rows; every sum stays the same."""
    return await repository.compact(session)


async def aggregate_timezone(session: AsyncSession) -> str:
    return await repository.aggregate_timezone(session)
