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
``app.issues.service._retime``): no later edit of category, priority or policy moves a response
or a resolution between on time and late.

The windowed figures are sums over the daily aggregate tables (:mod:`app.stats.tables`), which
triggers keep exact in the writing transaction; the issue counters of a subtree are the rows of
one area id (its rollup rows, everything below it, and its own daily rows), so their cost does
not depend on how many areas or issues lie below. The ``now`` figures and the unanswered part of
the response rate come from the open issues through a partial index; percentiles read raw
columns through ``(area_id, resolved_at)`` / ``(area_id, first_responded_at)`` indexes (these
two grow with the number of open issues, resp. of issues responded to or resolved in the window).
Each endpoint runs one statement after the scope query, built once per process.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.auth.roles import Role
from app.db import ColumnExpr, DriverStatement, ReadPool
from app.diary.models import DiaryEntry
from app.errors import ValidationFailed, field_error
from app.grids.models import Area
from app.issues import repository as issue_repository
from app.issues.models import Category, Issue
from app.issues.sla import SlaState
from app.issues.workflow import OPEN_STATUSES, Rating, Status
from app.kit.schemas import EARLIEST_DATE, LATEST_DATE, in_date_range
from app.scope import Principal, admit_caller, caller_row, in_subtree
from app.stats import schemas
from app.stats.tables import (
    CHANNELS,
    DISPUTE_COUNTERS,
    ISSUE_COUNTERS,
    KINDS,
    RATE_COUNTERS,
    RISKS,
    STATUSES,
    TIERS,
    diary_daily,
    dispute_daily,
    issue_daily,
    issue_rollup,
    subtree_changes,
)

STATS_READERS = frozenset(
    {Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.VIEWER, Role.ADMIN}
)
"""Everyone who sees an area subtree (the stats and the event stream); department users (scoped by
unit) and integrations do not."""

MAX_WINDOW_DAYS = 3 * 366
DEFAULT_WINDOW_DAYS = 30
OPEN = [s.value for s in OPEN_STATUSES]
EXCLUDED = [Status.MERGED.value, Status.REJECTED.value]
SATISFIED = [Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value]

RATES: dict[str, tuple[list[str], str]] = {
    "response_rate": (["responded_on_time"], "response_due"),
    "resolution_rate": (["solved"], "evaluated"),
    "satisfaction_rate": (["satisfied"], "evaluated"),
    "on_time_rate": (["resolved_on_time"], "resolved"),
    "grid_level_share": (["closed_grid_level"], "closed"),
    "community_level_share": (["closed_community_level"], "closed"),
}
"""Issue rates: numerator counters ÷ denominator counter (of ``stats_issue_daily``)."""

COUNT_METRICS: dict[str, tuple[sa.Table, str]] = {
    "issues_created": (issue_daily, "created"),
    "issues_responded": (issue_daily, "response_due"),
    "issues_evaluated": (issue_daily, "evaluated"),
    "issues_resolved": (issue_daily, "resolved"),
    "issues_closed": (issue_daily, "closed"),
    "diary_logged": (diary_daily, "logged"),
    "disputes_registered": (dispute_daily, "registered"),
    "disputes_mediated": (dispute_daily, "mediated"),
}
RATE_METRICS: dict[str, tuple[sa.Table, list[str], str]] = {
    **{name: (issue_daily, num, den) for name, (num, den) in RATES.items()},
    "diary_closure_rate": (diary_daily, ["status_answered", "status_resolved"], "logged"),
}
METRICS = [*COUNT_METRICS, *RATE_METRICS]


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


def fingerprint_of(area_id: ColumnExpr) -> sa.ScalarSelect[Any]:
    """The change counter of the subtree under ``area_id``: every issue, 民情日记 entry, dispute and
    area change below it bumps it in the writing transaction (one area's rows, not the subtree's)."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(subtree_changes.c.changes), sa.literal_column("0")))
        .where(subtree_changes.c.area_id == area_id)
        .scalar_subquery()
    )


@functools.cache
def _scope_statement() -> sa.Select[Any]:
    target = aliased(Area, name="target")
    within = sa.select(Area.id).where(Area.path.op("<@")(sa.bindparam("principal_path", type_=Area.path.type)))
    return sa.select(
        target.id,
        target.name,
        target.level,
        sa.cast(target.path, sa.Text),
        sa.cast(fingerprint_of(target.id), sa.Text),
    ).where(target.id == sa.bindparam("target_id", type_=Area.id.type), target.id.in_(within))


async def scope_of(session: AsyncSession, principal: Principal, area_id: uuid.UUID | None, field: str) -> Scope:
    """One query: the area (422 ``unknown_area`` when outside the caller's subtree) and its
    fingerprint (:func:`fingerprint_of`)."""
    params = {"target_id": area_id or principal.area_id, "principal_path": principal.area_path}
    row = (await session.execute(_scope_statement(), params)).first()
    if row is None:
        raise unknown_area(field)
    return Scope(row[0], row[1], row[2], row[3], row[4])


def unknown_area(field: str) -> ValidationFailed:
    return ValidationFailed(
        "No such area in your jurisdiction.",
        code="unknown_area",
        errors=[field_error(field, "unknown or outside your area")],
    )


def _caller_scope() -> DriverStatement:
    """One round trip for a bearer token: the caller (``caller_*``) and the area ``area_id``
    (default: the caller's home area) with its fingerprint, when it lies in the caller's subtree."""
    caller = caller_row(sa.bindparam("user_id", type_=Area.id.type))
    target = aliased(Area, name="target")
    wanted = sa.func.coalesce(sa.bindparam("area_id", type_=Area.id.type), caller.c.area_id)
    return DriverStatement(
        sa.select(
            *(c.label(f"caller_{c.name}") for c in caller.c),
            target.id.label("id"),
            target.name.label("name"),
            target.level.label("level"),
            sa.cast(target.path, sa.Text).label("path"),
            sa.cast(fingerprint_of(target.id), sa.Text).label("fingerprint"),
        ).select_from(
            caller.outerjoin(
                target,
                sa.and_(target.id == wanted, target.path.op("<@")(sa.cast(caller.c.area_path, target.path.type))),
            )
        )
    )


CALLER_SCOPE = _caller_scope()


async def caller_scope(
    db: ReadPool | AsyncSession, user_id: uuid.UUID, area_id: uuid.UUID | None, roles: frozenset[Role], field: str
) -> tuple[Principal, Scope]:
    """:func:`scope_of` for a bearer token's user, authenticated in the same statement: what a
    polling dashboard pays for a 304 is one round trip."""
    row = await CALLER_SCOPE.fetchrow(db, user_id=user_id, area_id=area_id)
    principal = admit_caller(row, roles)
    if row["id"] is None:
        raise unknown_area(field)
    return principal, Scope(row["id"], row["name"], row["level"], row["path"], row["fingerprint"])


def etag(kind: str, scope: Scope, now: dt.datetime, *params: Any) -> str:
    """Changes in scope, the parameters, and the current minute (for the ``now`` figures)."""
    minute = now.replace(second=0, microsecond=0).isoformat()
    raw = "|".join(str(p) for p in (kind, scope.id, scope.fingerprint, minute, *params))
    return '"s-' + hashlib.blake2b(raw.encode(), digest_size=12).hexdigest() + '"'


# --- building blocks ----------------------------------------------------------------------------
#
# The overview, ranking and time-series statements are built once per process with named bind
# parameters (``P``) and executed with ``_params(...)``: building a statement of a few hundred
# column expressions costs more than running it.


class P:
    """The named bind parameters of the prebuilt statements."""

    area_id = sa.bindparam("area_id", type_=Area.id.type)
    path = sa.bindparam("area_path", type_=Area.path.type)
    first = sa.bindparam("first_day", type_=sa.Date())
    last = sa.bindparam("last_day", type_=sa.Date())
    start = sa.bindparam("window_start", type_=sa.DateTime(timezone=True))
    end = sa.bindparam("window_end", type_=sa.DateTime(timezone=True))
    now = sa.bindparam("now", type_=sa.DateTime(timezone=True))
    tz = sa.bindparam("tz", type_=sa.Text())


ZERO: sa.ColumnElement[Any] = sa.literal_column("0")
BUCKETS = {"day": "day", "week": "week", "month": "month"}  # date_trunc fields (inlined, not bound)


def _params(scope: Scope, w: Window, now: dt.datetime) -> dict[str, Any]:
    return {
        "area_id": scope.id,
        "area_path": scope.path,
        "first_day": w.first,
        "last_day": w.last,
        "window_start": w.start,
        "window_end": w.end,
        "now": now,
        "tz": w.tz,
    }


def _sums(table: sa.FromClause, names: list[str], prefix: str = "") -> list[sa.ColumnElement[Any]]:
    return [sa.func.coalesce(sa.func.sum(table.c[n]), ZERO).label(f"{prefix}{n}") for n in names]


def _in_window(table: sa.Table) -> sa.ColumnElement[bool]:
    return table.c.day.between(P.first, P.last)


def _in_scope_subtree(area_id_column: ColumnExpr) -> sa.ColumnElement[bool]:
    """``area_id IN (SELECT id FROM areas WHERE path <@ :area_path)``."""
    return area_id_column.in_(sa.select(Area.id).where(Area.path.op("<@")(P.path)))


def _issue_rows(where_area: Callable[[sa.Table], sa.ColumnElement[bool]], names: list[str]) -> sa.Subquery:
    """The issue counter rows (``area_id``, ``category``, ``day``, ``names``) of the window whose
    ``area_id`` passes ``where_area``: an area's rollup rows (everything strictly below it) and
    its own daily rows — together, its whole subtree."""
    parts = [
        sa.select(t.c.area_id, t.c.category, t.c.day, *(t.c[n] for n in names)).where(where_area(t), _in_window(t))
        for t in (issue_rollup, issue_daily)
    ]
    return sa.union_all(*parts).subquery("issue_rows")


def _subtree_rows(table: sa.Table, names: list[str]) -> sa.FromClause:
    """The rows of an aggregate table that count for the subtree of ``:area_id`` in the window:
    for issues, two index ranges of that one area id; for diary entries and disputes (one row
    per area and day), the daily rows of every area in the subtree."""
    if table is issue_daily:
        return _issue_rows(lambda t: t.c.area_id == P.area_id, names)
    return (
        sa.select(table.c.day, *(table.c[n] for n in names))
        .where(_in_scope_subtree(table.c.area_id), _in_window(table))
        .subquery(table.name)
    )


def _live_columns() -> list[sa.ColumnElement[Any]]:
    """Over open issues: count, due soon, overdue, and unanswered past a response deadline in the window."""
    unanswered = sa.and_(
        Issue.first_responded_at.is_(None),
        Issue.respond_due_at >= P.start,
        Issue.respond_due_at < P.end,
        Issue.respond_due_at < P.now,
    )
    return [
        sa.func.count().label("open_now"),
        sa.func.count().filter(issue_repository.sla_condition(SlaState.DUE_SOON, P.now)).label("due_soon_now"),
        sa.func.count().filter(issue_repository.sla_condition(SlaState.OVERDUE, P.now)).label("overdue_now"),
        sa.func.count().filter(unanswered).label("unanswered"),
    ]


def _rates(sums: dict[str, int], unanswered: int) -> schemas.Rates:
    out: dict[str, schemas.Rate] = {}
    for name, (num, den) in RATES.items():
        denominator = sums[den] + (unanswered if name == "response_rate" else 0)
        out[name] = rate(sum(sums[n] for n in num), denominator)
    return schemas.Rates(**out)


def _breakdown(sums: dict[str, int], prefix: str, values: list[str]) -> dict[str, int]:
    return {v: int(sums[f"{prefix}_{v}"]) for v in values}


def _percentiles(at: ColumnExpr, name: str) -> sa.Subquery:
    """Median and p90 (``{name}_median``, ``{name}_p90``) of the seconds from creation to ``at``,
    over the issues of the subtree with ``at`` in the window (raw columns, through the
    ``(area_id, <at>)`` indexes)."""
    seconds = sa.extract("epoch", at - Issue.created_at)
    return (
        sa.select(
            sa.func.percentile_cont(sa.literal_column("0.5")).within_group(seconds).label(f"{name}_median"),
            sa.func.percentile_cont(sa.literal_column("0.9")).within_group(seconds).label(f"{name}_p90"),
        )
        .where(
            _in_scope_subtree(Issue.area_id),
            at.is_not(None),
            at >= P.start,
            at < P.end,
            Issue.status.not_in(EXCLUDED),
        )
        .subquery(name)
    )


def _percentile_figures(m: Any, name: str) -> schemas.Percentiles:
    median, p90 = m[f"{name}_median"], m[f"{name}_p90"]
    return schemas.Percentiles(
        median=None if median is None else float(median), p90=None if p90 is None else float(p90)
    )


DIARY_SUMS = ["logged", "status_answered", "status_resolved", "status_escalated"]


# --- overview -----------------------------------------------------------------------------------


@functools.cache
def _overview_statement() -> sa.Select[Any]:
    """Every figure in one statement: the issue counters from the subtree's rolled-up rows (one
    area id, at most categories × days rows), the open issues and the percentiles from the raw
    issues of the subtree, the diary and dispute sums from their daily rows."""
    rows = _subtree_rows(issue_daily, ISSUE_COUNTERS)
    by_category = sa.select(rows.c.category, *_sums(rows, ISSUE_COUNTERS)).group_by(rows.c.category).cte("by_category")
    with_created = by_category.c.created != ZERO
    issue_sums = sa.select(
        *_sums(by_category, ISSUE_COUNTERS),
        sa.func.array_agg(aggregate_order_by(by_category.c.category, by_category.c.category))
        .filter(with_created)
        .label("categories"),
        sa.func.array_agg(aggregate_order_by(by_category.c.created, by_category.c.category))
        .filter(with_created)
        .label("category_counts"),
    ).subquery("issue_sums")
    live = sa.select(*_live_columns()).where(Issue.status.in_(OPEN), _in_scope_subtree(Issue.area_id)).subquery("live")
    first_response = _percentiles(Issue.first_responded_at, "first_response")
    resolution = _percentiles(Issue.resolved_at, "resolution")
    diary_rows = _subtree_rows(diary_daily, DIARY_SUMS)
    diary = sa.select(*_sums(diary_rows, DIARY_SUMS, "diary_")).subquery("diary")
    dispute_rows = _subtree_rows(dispute_daily, DISPUTE_COUNTERS)
    disputes = sa.select(*_sums(dispute_rows, DISPUTE_COUNTERS, "dispute_")).subquery("disputes")
    parts = [issue_sums, live, first_response, resolution, diary, disputes]
    joined: sa.FromClause = parts[0]
    for part in parts[1:]:
        joined = joined.join(part, sa.true())  # one row each
    return sa.select(*parts).select_from(joined)


async def overview(session: AsyncSession, scope: Scope, w: Window, now: dt.datetime) -> schemas.Overview:
    m = (await session.execute(_overview_statement(), _params(scope, w, now))).one()._mapping
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

SORTABLE = [*RATES, "total", "open_now", "overdue_now"]


AREA_COUNTERS = ["created", *RATE_COUNTERS]


@functools.cache
def _areas_statement() -> sa.Select[Any]:
    """One statement: the child areas of ``:area_id``, each with its rolled-up counters and its
    open issues."""
    child, below = aliased(Area), aliased(Area)
    children = (
        sa.select(child.id, child.name, child.level, child.code, child.path)
        .where(child.parent_id == P.area_id)
        .cte("children")
    )
    below_children = _issue_rows(lambda t: t.c.area_id.in_(sa.select(children.c.id)), AREA_COUNTERS)
    agg = (
        sa.select(below_children.c.area_id, *_sums(below_children, AREA_COUNTERS))
        .group_by(below_children.c.area_id)
        .subquery("agg")
    )
    live = (
        sa.select(children.c.id.label("child_id"), *_live_columns())
        .select_from(children.join(below, below.path.op("<@")(children.c.path)).join(Issue, Issue.area_id == below.id))
        .where(Issue.status.in_(OPEN))
        .group_by(children.c.id)
        .subquery("live")
    )
    return (
        sa.select(
            children.c.id,
            children.c.name,
            children.c.level,
            *[agg.c[n] for n in AREA_COUNTERS],
            live.c.open_now,
            live.c.overdue_now,
            live.c.unanswered,
        )
        .select_from(
            children.outerjoin(agg, agg.c.area_id == children.c.id).outerjoin(live, live.c.child_id == children.c.id)
        )
        .order_by(children.c.code)
    )


async def areas(
    session: AsyncSession, parent: Scope, w: Window, now: dt.datetime, sort: str | None, descending: bool
) -> schemas.AreaRanking:
    rows = []
    for c in (await session.execute(_areas_statement(), _params(parent, w, now))).all():
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
    people = (
        await session.execute(
            sa.select(User.id, User.display_name, Area.id.label("area_id"), Area.name, Area.level)
            .join(Area, Area.id == User.home_area_id)
            .where(User.role == Role.GRID_WORKER.value, User.is_active, in_subtree(User.home_area_id, scope.path))
            .order_by(Area.code, User.display_name, User.id)
        )
    ).all()
    ids = [p.id for p in people]
    if not ids:
        return schemas.WorkerTable(items=[])
    diary = {
        r.author_id: r
        for r in (
            await session.execute(
                sa.select(
                    DiaryEntry.author_id,
                    sa.func.count().label("entries"),
                    sa.func.count(DiaryEntry.resident_id).label("visits"),
                )
                .where(
                    DiaryEntry.author_id.in_(ids),
                    DiaryEntry.visited_at >= w.start,
                    DiaryEntry.visited_at < w.end,
                    in_subtree(DiaryEntry.area_id, scope.path),
                )
                .group_by(DiaryEntry.author_id)
            )
        ).all()
    }
    found = dict(
        (
            await session.execute(
                sa.select(Issue.created_by, sa.func.count())
                .where(
                    Issue.created_by.in_(ids),
                    Issue.created_at >= w.start,
                    Issue.created_at < w.end,
                    in_subtree(Issue.area_id, scope.path),
                )
                .group_by(Issue.created_by)
            )
        ).all()
    )
    handled = {
        r.resolved_by: r
        for r in (
            await session.execute(
                sa.select(
                    Issue.resolved_by,
                    sa.func.count().label("handled"),
                    sa.func.count().filter(Issue.resolved_at <= Issue.resolve_due_at).label("on_time"),
                    sa.func.count(Issue.evaluated_at).label("evaluated"),
                    sa.func.count()
                    .filter(Issue.rating.in_(SATISFIED), Issue.evaluated_at.is_not(None))
                    .label("satisfied"),
                )
                .where(
                    Issue.resolved_by.in_(ids),
                    Issue.resolved_at >= w.start,
                    Issue.resolved_at < w.end,
                    Issue.status.not_in(EXCLUDED),
                    in_subtree(Issue.area_id, scope.path),
                )
                .group_by(Issue.resolved_by)
            )
        ).all()
    }
    overdue = dict(
        (
            await session.execute(
                sa.select(Issue.assignee_user_id, sa.func.count())
                .where(
                    Issue.assignee_user_id.in_(ids),
                    Issue.status.in_(OPEN),
                    issue_repository.sla_condition(SlaState.OVERDUE, now),
                    in_subtree(Issue.area_id, scope.path),
                )
                .group_by(Issue.assignee_user_id)
            )
        ).all()
    )
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


@functools.cache
def _overdue_statement() -> sa.Select[Any]:
    """The open overdue issues of the subtree (the rows behind ``overdue_now``), most overdue first,
    with their count: only fields that say nothing about a resident (no title, text, address or
    reporter), so every stats reader may see them. ``total`` is counted over every row before the
    limit applies."""
    effective = sa.func.coalesce(Issue.suspended_since, P.now)
    overdue_seconds = sa.cast(sa.func.floor(sa.extract("epoch", effective - Issue.due_at)), sa.BigInteger)
    return (
        sa.select(
            Issue.number,
            Issue.category,
            Category.name.label("category_name"),
            Issue.status,
            Issue.due_at,
            overdue_seconds.label("overdue_seconds"),
            Area.id.label("area_id"),
            Area.name.label("area_name"),
            Area.level.label("area_level"),
            sa.func.count().over().label("total"),
        )
        .join(Area, Area.id == Issue.area_id)
        .join(Category, Category.code == Issue.category)
        .where(
            Issue.status.in_(OPEN),
            _in_scope_subtree(Issue.area_id),
            issue_repository.sla_condition(SlaState.OVERDUE, P.now),
        )
        .order_by(overdue_seconds.desc(), Issue.number)
        .limit(sa.bindparam("row_limit", type_=sa.Integer()))
    )


async def overdue(session: AsyncSession, scope: Scope, now: dt.datetime, limit: int) -> schemas.OverdueList:
    params = {"area_path": scope.path, "now": now, "row_limit": limit}
    rows = (await session.execute(_overdue_statement(), params)).all()
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


@functools.cache
def _timeseries_statement(metric: str, bucket: str) -> sa.Select[Any]:
    days = (
        sa.func.generate_series(P.first, P.last, sa.literal_column("interval '1 day'"))
        .table_valued("d")
        .render_derived()
    )
    bucket_of = sa.cast(sa.func.date_trunc(sa.literal_column(f"'{BUCKETS[bucket]}'"), days.c.d), sa.Date)
    table, names = _metric_columns(metric)
    rows = _subtree_rows(table, names)
    per_day = sa.select(rows.c.day, *_sums(rows, names)).group_by(rows.c.day).subquery()
    columns = [sa.func.coalesce(sa.func.sum(per_day.c[n]), ZERO).label(n) for n in names]
    select_from = days.outerjoin(per_day, per_day.c.day == sa.cast(days.c.d, sa.Date))
    if metric == "response_rate":
        local_due = sa.cast(sa.func.timezone(P.tz, Issue.respond_due_at), sa.Date)
        unanswered = (
            sa.select(local_due.label("day"), sa.func.count().label("n"))
            .where(
                Issue.status.in_(OPEN),
                _in_scope_subtree(Issue.area_id),
                Issue.first_responded_at.is_(None),
                Issue.respond_due_at >= P.start,
                Issue.respond_due_at < P.end,
                Issue.respond_due_at < P.now,
            )
            .group_by(local_due)
            .subquery()
        )
        select_from = select_from.outerjoin(unanswered, unanswered.c.day == sa.cast(days.c.d, sa.Date))
        columns.append(sa.func.coalesce(sa.func.sum(unanswered.c.n), ZERO).label("unanswered"))
    return sa.select(bucket_of.label("t"), *columns).select_from(select_from).group_by(bucket_of).order_by(bucket_of)


def _metric_columns(metric: str) -> tuple[sa.Table, list[str]]:
    if metric in COUNT_METRICS:
        table, column = COUNT_METRICS[metric]
        return table, [column]
    table, num, den = RATE_METRICS[metric]
    return table, [*num, den]


async def timeseries(
    session: AsyncSession, scope: Scope, w: Window, now: dt.datetime, metric: str, bucket: str
) -> schemas.Timeseries:
    """One point per bucket from ``from`` to ``to`` without gaps (``generate_series``); counts are
    integers (0 for an empty bucket), rates are rate objects (value null for an empty bucket)."""
    _, names = _metric_columns(metric)
    points = []
    for row in (await session.execute(_timeseries_statement(metric, bucket), _params(scope, w, now))).all():
        m = row._mapping
        if metric in COUNT_METRICS:
            value: int | schemas.Rate = int(m[names[0]])
        else:
            extra = int(m["unanswered"]) if metric == "response_rate" else 0
            value = rate(sum(int(m[n]) for n in names[:-1]), int(m[names[-1]]) + extra)
        points.append(schemas.Point(t=m["t"], value=value))
    return schemas.Timeseries(metric=metric, bucket=bucket, points=points)


async def rebuild(session: AsyncSession, timezone: str | None = None) -> None:
    """Recompute every aggregate from the raw tables (``stats_rebuild()``), optionally for a new zone."""
    await session.execute(sa.text("SELECT stats_rebuild(:tz)"), {"tz": timezone})


async def compact(session: AsyncSession) -> int:
    """Fold the fresh delta rows (``stats_compact()``); every sum stays the same."""
    folded = int(await session.scalar(sa.text("SELECT stats_compact()")) or 0)
    return folded + int(await session.scalar(sa.text("SELECT stats_compact_subtree()")) or 0)


async def aggregate_timezone(session: AsyncSession) -> str:
    return str(await session.scalar(sa.text("SELECT stats_timezone()")))
