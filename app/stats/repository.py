"""All SQL of the stats: the statements behind every figure, built once per process.

What each figure counts is documented in :mod:`app.stats.service`, which turns these rows into
the responses; the aggregate tables they read are in :mod:`app.stats.tables`.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.auth.roles import Role
from app.db import ColumnExpr, DriverStatement, ReadPool
from app.diary.models import DiaryEntry
from app.grids.models import Area
from app.issues import repository as issue_repository
from app.issues.models import Category, Issue
from app.issues.sla import SlaState
from app.issues.workflow import OPEN_STATUSES, Rating, Status
from app.scope import caller_row, in_subtree
from app.stats.tables import (
    DISPUTE_COUNTERS,
    ISSUE_COUNTERS,
    RATE_COUNTERS,
    diary_daily,
    dispute_daily,
    issue_daily,
    issue_rollup,
    subtree_changes,
)

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

DIARY_SUMS = ["logged", "status_answered", "status_resolved", "status_escalated"]
AREA_COUNTERS = ["created", *RATE_COUNTERS]


# --- scope ---------------------------------------------------------------------------------------


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


async def scope_row(session: AsyncSession, target_id: uuid.UUID, principal_path: str) -> Any:
    """The area ``target_id`` (id, name, level, path, fingerprint) when it lies under
    ``principal_path``, else None: one query."""
    params = {"target_id": target_id, "principal_path": principal_path}
    return (await session.execute(_scope_statement(), params)).first()


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


async def caller_scope_row(db: ReadPool | AsyncSession, user_id: uuid.UUID, area_id: uuid.UUID | None) -> Any:
    """:func:`caller_row`'s ``caller_*`` columns and the area's (``id`` NULL when outside)."""
    return await CALLER_SCOPE.fetchrow(db, user_id=user_id, area_id=area_id)


# --- building blocks ----------------------------------------------------------------------------
#
# The overview, ranking and time-series statements are built once per process with named bind
# parameters (:class:`Param`) and executed with :func:`params`: building a statement of a few hundred
# column expressions costs more than running it.


class Param:
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


def params(
    *,
    area_id: uuid.UUID,
    area_path: str,
    first: dt.date,
    last: dt.date,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    tz: str,
) -> dict[str, Any]:
    """The values of :class:`Param` for one area, window and instant."""
    return {
        "area_id": area_id,
        "area_path": area_path,
        "first_day": first,
        "last_day": last,
        "window_start": start,
        "window_end": end,
        "now": now,
        "tz": tz,
    }


def _sums(table: sa.FromClause, names: list[str], prefix: str = "") -> list[sa.ColumnElement[Any]]:
    return [sa.func.coalesce(sa.func.sum(table.c[n]), ZERO).label(f"{prefix}{n}") for n in names]


def _in_window(table: sa.Table) -> sa.ColumnElement[bool]:
    return table.c.day.between(Param.first, Param.last)


def _in_scope_subtree(area_id_column: ColumnExpr) -> sa.ColumnElement[bool]:
    """``area_id IN (SELECT id FROM areas WHERE path <@ :area_path)``."""
    return area_id_column.in_(sa.select(Area.id).where(Area.path.op("<@")(Param.path)))


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
        return _issue_rows(lambda t: t.c.area_id == Param.area_id, names)
    return (
        sa.select(table.c.day, *(table.c[n] for n in names))
        .where(_in_scope_subtree(table.c.area_id), _in_window(table))
        .subquery(table.name)
    )


def _live_columns() -> list[sa.ColumnElement[Any]]:
    """Over open issues: count, due soon, overdue, and unanswered past a response deadline in the window."""
    unanswered = sa.and_(
        Issue.first_responded_at.is_(None),
        Issue.respond_due_at >= Param.start,
        Issue.respond_due_at < Param.end,
        Issue.respond_due_at < Param.now,
    )
    return [
        sa.func.count().label("open_now"),
        sa.func.count().filter(issue_repository.sla_condition(SlaState.DUE_SOON, Param.now)).label("due_soon_now"),
        sa.func.count().filter(issue_repository.sla_condition(SlaState.OVERDUE, Param.now)).label("overdue_now"),
        sa.func.count().filter(unanswered).label("unanswered"),
    ]


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
            at >= Param.start,
            at < Param.end,
            Issue.status.not_in(EXCLUDED),
        )
        .subquery(name)
    )


# --- the figures -----------------------------------------------------------------------------------


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


@functools.cache
def _areas_statement() -> sa.Select[Any]:
    """One statement: the child areas of ``:area_id``, each with its rolled-up counters and its
    open issues."""
    child, below = aliased(Area), aliased(Area)
    children = (
        sa.select(child.id, child.name, child.level, child.code, child.path)
        .where(child.parent_id == Param.area_id)
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


@functools.cache
def _overdue_statement() -> sa.Select[Any]:
    """The open overdue issues of the subtree (the rows behind ``overdue_now``), most overdue first,
    with their count: only fields that say nothing about a resident (no title, text, address or
    reporter), so every stats reader may see them. ``total`` is counted over every row before the
    limit applies."""
    effective = sa.func.coalesce(Issue.suspended_since, Param.now)
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
            issue_repository.sla_condition(SlaState.OVERDUE, Param.now),
        )
        .order_by(overdue_seconds.desc(), Issue.number)
        .limit(sa.bindparam("row_limit", type_=sa.Integer()))
    )


@functools.cache
def _timeseries_statement(metric: str, bucket: str) -> sa.Select[Any]:
    days = (
        sa.func.generate_series(Param.first, Param.last, sa.literal_column("interval '1 day'"))
        .table_valued("d")
        .render_derived()
    )
    bucket_of = sa.cast(sa.func.date_trunc(sa.literal_column(f"'{BUCKETS[bucket]}'"), days.c.d), sa.Date)
    table, names = metric_columns(metric)
    rows = _subtree_rows(table, names)
    per_day = sa.select(rows.c.day, *_sums(rows, names)).group_by(rows.c.day).subquery()
    columns = [sa.func.coalesce(sa.func.sum(per_day.c[n]), ZERO).label(n) for n in names]
    select_from = days.outerjoin(per_day, per_day.c.day == sa.cast(days.c.d, sa.Date))
    if metric == "response_rate":
        local_due = sa.cast(sa.func.timezone(Param.tz, Issue.respond_due_at), sa.Date)
        unanswered = (
            sa.select(local_due.label("day"), sa.func.count().label("n"))
            .where(
                Issue.status.in_(OPEN),
                _in_scope_subtree(Issue.area_id),
                Issue.first_responded_at.is_(None),
                Issue.respond_due_at >= Param.start,
                Issue.respond_due_at < Param.end,
                Issue.respond_due_at < Param.now,
            )
            .group_by(local_due)
            .subquery()
        )
        select_from = select_from.outerjoin(unanswered, unanswered.c.day == sa.cast(days.c.d, sa.Date))
        columns.append(sa.func.coalesce(sa.func.sum(unanswered.c.n), ZERO).label("unanswered"))
    return sa.select(bucket_of.label("t"), *columns).select_from(select_from).group_by(bucket_of).order_by(bucket_of)


def metric_columns(metric: str) -> tuple[sa.Table, list[str]]:
    if metric in COUNT_METRICS:
        table, column = COUNT_METRICS[metric]
        return table, [column]
    table, num, den = RATE_METRICS[metric]
    return table, [*num, den]


async def overview_row(session: AsyncSession, values: dict[str, Any]) -> Any:
    return (await session.execute(_overview_statement(), values)).one()._mapping


async def area_rows(session: AsyncSession, values: dict[str, Any]) -> Sequence[Any]:
    return (await session.execute(_areas_statement(), values)).all()


async def overdue_rows(session: AsyncSession, path: str, now: dt.datetime, limit: int) -> Sequence[Any]:
    values = {"area_path": path, "now": now, "row_limit": limit}
    return (await session.execute(_overdue_statement(), values)).all()


async def timeseries_rows(session: AsyncSession, metric: str, bucket: str, values: dict[str, Any]) -> Sequence[Any]:
    return (await session.execute(_timeseries_statement(metric, bucket), values)).all()


# --- grid workers (网格员考核) --------------------------------------------------------------------


async def grid_workers(session: AsyncSession, path: str) -> Sequence[Any]:
    """The active grid workers homed in the subtree at ``path``, with their home area."""
    stmt = (
        sa.select(User.id, User.display_name, Area.id.label("area_id"), Area.name, Area.level)
        .join(Area, Area.id == User.home_area_id)
        .where(User.role == Role.GRID_WORKER.value, User.is_active, in_subtree(User.home_area_id, path))
        .order_by(Area.code, User.display_name, User.id)
    )
    return (await session.execute(stmt)).all()


async def diary_by_author(
    session: AsyncSession, ids: Sequence[uuid.UUID], path: str, start: dt.datetime, end: dt.datetime
) -> dict[uuid.UUID | None, Any]:
    """Per author: entries and visits (entries about a resident) visited in ``[start, end)``."""
    counts = (sa.func.count().label("entries"), sa.func.count(DiaryEntry.resident_id).label("visits"))
    window = (DiaryEntry.visited_at >= start, DiaryEntry.visited_at < end)
    return await _per_person(session, DiaryEntry.author_id, ids, counts, *window, in_subtree(DiaryEntry.area_id, path))


async def _per_person(
    session: AsyncSession,
    person: ColumnExpr,
    ids: Sequence[uuid.UUID],
    counts: Sequence[sa.ColumnElement[Any]],
    *where: sa.ColumnElement[bool],
) -> dict[uuid.UUID | None, Any]:
    """Per person among ``ids`` in column ``person``: the row of ``counts`` over the rows matching ``where``."""
    stmt = sa.select(person, *counts).where(person.in_(ids), *where).group_by(person)
    return {r[0]: r for r in (await session.execute(stmt)).all()}


async def _issues_per(
    session: AsyncSession, person: ColumnExpr, ids: Sequence[uuid.UUID], path: str, *where: sa.ColumnElement[bool]
) -> dict[uuid.UUID | None, int]:
    """Per person among ``ids`` in column ``person``: the issues of the subtree at ``path`` matching ``where``."""
    rows = await _per_person(session, person, ids, (sa.func.count(),), *where, in_subtree(Issue.area_id, path))
    return {person_id: row[1] for person_id, row in rows.items()}


async def issues_found_by(
    session: AsyncSession, ids: Sequence[uuid.UUID], path: str, start: dt.datetime, end: dt.datetime
) -> dict[uuid.UUID | None, int]:
    """Per reporter: issues created in ``[start, end)``."""
    return await _issues_per(session, Issue.created_by, ids, path, Issue.created_at >= start, Issue.created_at < end)


async def issues_handled_by(
    session: AsyncSession, ids: Sequence[uuid.UUID], path: str, start: dt.datetime, end: dt.datetime
) -> dict[uuid.UUID | None, Any]:
    """Per resolver: issues resolved in ``[start, end)``, on time, evaluated and satisfied."""
    counts = (
        sa.func.count().label("handled"),
        sa.func.count().filter(Issue.resolved_at <= Issue.resolve_due_at).label("on_time"),
        sa.func.count(Issue.evaluated_at).label("evaluated"),
        sa.func.count().filter(Issue.rating.in_(SATISFIED), Issue.evaluated_at.is_not(None)).label("satisfied"),
    )
    window = (Issue.resolved_at >= start, Issue.resolved_at < end, Issue.status.not_in(EXCLUDED))
    return await _per_person(session, Issue.resolved_by, ids, counts, *window, in_subtree(Issue.area_id, path))


async def overdue_by_assignee(
    session: AsyncSession, ids: Sequence[uuid.UUID], path: str, now: dt.datetime
) -> dict[uuid.UUID | None, int]:
    """Per assignee: open issues overdue at ``now``."""
    overdue = issue_repository.sla_condition(SlaState.OVERDUE, now)
    return await _issues_per(session, Issue.assignee_user_id, ids, path, Issue.status.in_(OPEN), overdue)


# --- maintenance -----------------------------------------------------------------------------------


async def rebuild(session: AsyncSession, timezone: str | None = None) -> None:
    """Recompute every aggregate from the raw tables (``stats_rebuild()``), optionally for a new zone."""
    await session.execute(sa.text("SELECT stats_rebuild(:tz)"), {"tz": timezone})


async def compact(session: AsyncSession) -> int:
    """Fold the fresh delta rows (``stats_compact()``); every sum stays the same."""
    folded = int(await session.scalar(sa.text("SELECT stats_compact()")) or 0)
    return folded + int(await session.scalar(sa.text("SELECT stats_compact_subtree()")) or 0)


async def aggregate_timezone(session: AsyncSession) -> str:
    return str(await session.scalar(sa.text("SELECT stats_timezone()")))


# On a plain connection without the request timeouts (the command line): a rebuild of millions of
# issues takes minutes.


async def rebuild_unbounded(conn: asyncpg.Connection, timezone: str) -> None:
    await conn.execute("SET statement_timeout = 0")
    await conn.execute("SELECT stats_rebuild($1)", timezone, timeout=None)


async def compact_unbounded(conn: asyncpg.Connection) -> int:
    """What the worker's compaction folds (the daily and rolled-up counters, and the areas' change
    counters behind the ETags), without the request timeouts."""
    await conn.execute("SET statement_timeout = 0")
    folded = int(await conn.fetchval("SELECT stats_compact()", timeout=None) or 0)
    return folded + int(await conn.fetchval("SELECT stats_compact_subtree()", timeout=None) or 0)
