"""All SQL for issues. Every read of residents' data goes through :func:`app.auth.scope.scope_filter`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth.models import Unit, User
from app.auth.scope import Principal, caller_row, caller_scope_filter, scope_filter, subtree_area_ids
from app.db import DriverStatement
from app.grids.models import Area
from app.issues.models import (
    Category,
    FeedbackToken,
    Issue,
    IssueAttachment,
    IssueComment,
    IssueEvent,
    IssueReporter,
    NumberCounter,
    SlaPolicyRow,
)
from app.issues.sla import Duration, PolicyKey, SlaPolicy, SlaState
from app.issues.sla import Unit as SlaUnit
from app.issues.workflow import OPEN_STATUSES
from app.kit.pagination import keyset

SIMILARITY_THRESHOLD = 0.1
"""pg_trgm similarity above which an open issue counts as a possible duplicate (Chinese text has
no word breaks, so whole-text trigram overlap runs lower than in European languages)."""
NEARBY_METRES = 300.0
METRES_PER_DEGREE = 111_320.0


def issue_scope(principal: Principal) -> sa.ColumnElement[bool]:
    return scope_filter(principal, area_column=Issue.area_id, unit_column=Issue.assignee_unit_id)


def issue_text() -> sa.ColumnElement[str]:
    """The indexed expression ``title || ' ' || description`` (GIN trigram index)."""
    return Issue.title.op("||")(sa.literal(" ")).op("||")(Issue.description)


# --- categories and policies ------------------------------------------------------------------


async def category_exists(session: AsyncSession, code: str) -> bool:
    stmt = sa.select(sa.exists().where(Category.code == code, Category.is_active.is_(True)))
    return bool((await session.execute(stmt)).scalar())


async def categories(session: AsyncSession) -> Sequence[Category]:
    return (await session.execute(sa.select(Category).order_by(Category.sort_order, Category.code))).scalars().all()


async def policy_rows(session: AsyncSession) -> Sequence[SlaPolicyRow]:
    stmt = sa.select(SlaPolicyRow).order_by(
        SlaPolicyRow.category.nulls_first(), SlaPolicyRow.priority.nulls_first(), SlaPolicyRow.kind.nulls_first()
    )
    return (await session.execute(stmt)).scalars().all()


async def policies(session: AsyncSession) -> dict[PolicyKey, SlaPolicy]:
    return {
        PolicyKey(row.category, row.priority, row.kind): SlaPolicy(  # type: ignore[arg-type]
            respond_within=Duration(row.respond_amount, SlaUnit(row.respond_unit)),
            resolve_within=Duration(row.resolve_amount, SlaUnit(row.resolve_unit)),
        )
        for row in await policy_rows(session)
    }


async def replace_policies(session: AsyncSession, rows: Sequence[SlaPolicyRow]) -> None:
    await session.execute(sa.delete(SlaPolicyRow))
    session.add_all(rows)
    await session.flush()


# --- numbering --------------------------------------------------------------------------------


async def number_prefix(session: AsyncSession, area_path: str) -> str:
    """The nearest ``number_prefix`` on the area or its ancestors, else the root district's code."""
    ancestors = Area.path.op("@>")(sa.cast(area_path, Area.path.type))
    configured = (
        sa.select(Area.number_prefix)
        .where(ancestors, Area.number_prefix.is_not(None))
        .order_by(sa.func.nlevel(Area.path).desc())
        .limit(1)
        .scalar_subquery()
    )
    root = sa.select(Area.code).where(ancestors, Area.parent_id.is_(None)).limit(1).scalar_subquery()
    return str((await session.execute(sa.select(sa.func.coalesce(configured, root)))).scalar_one())


async def next_number(session: AsyncSession, prefix: str, day: dt.date) -> int:
    """The next daily number for ``prefix``, taken in its own short transaction.

    Every issue of a district on one day bumps the same counter row: inside the request's
    transaction its lock would be held until commit and serialize all creates. Taken apart, the
    lock lasts one statement; a create that fails afterwards leaves a gap in the numbers (they stay
    unique and increasing, like a hotline's ticket numbers)."""
    stmt = (
        insert(NumberCounter)
        .values(prefix=prefix, day=day, last_value=1)
        .on_conflict_do_update(index_elements=["prefix", "day"], set_={"last_value": NumberCounter.last_value + 1})
        .returning(NumberCounter.last_value)
    )
    engine = session.bind
    if isinstance(engine, AsyncEngine):
        async with engine.begin() as conn:
            return int((await conn.execute(stmt)).scalar_one())
    return int((await session.execute(stmt)).scalar_one())


# --- issues -----------------------------------------------------------------------------------


async def exists(session: AsyncSession, issue_id: uuid.UUID) -> bool:
    return bool((await session.execute(sa.select(sa.exists().where(Issue.id == issue_id)))).scalar())


async def get(
    session: AsyncSession, principal: Principal, issue_id: uuid.UUID, *, for_update: bool = False
) -> Issue | None:
    stmt = sa.select(Issue).where(Issue.id == issue_id, issue_scope(principal))
    if for_update:
        stmt = stmt.with_for_update(of=Issue).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


def _get_for_token_user() -> DriverStatement:
    """One round trip for ``GET /issues/{id}`` with a bearer token: the caller (``caller_*``), the
    issue if it is in the caller's scope (its columns; all NULL otherwise) and its co-reporters
    (``co_reporters``: a JSON array, oldest first, or NULL)."""
    caller = caller_row(sa.bindparam("user_id", type_=Issue.id.type))
    visible = sa.and_(
        Issue.id == sa.bindparam("issue_id", type_=Issue.id.type),
        caller_scope_filter(caller, area_column=Issue.area_id, unit_column=Issue.assignee_unit_id),
    )
    reporters = (
        sa.select(
            sa.func.json_agg(
                sa.func.json_build_object(
                    "name",
                    IssueReporter.name,
                    "phone",
                    IssueReporter.phone,
                    "from_issue_id",
                    IssueReporter.source_issue_id,
                ).op("ORDER BY")(IssueReporter.created_at)
            )
        )
        .where(IssueReporter.issue_id == Issue.id)
        .scalar_subquery()
    )
    return DriverStatement(
        sa.select(
            *(c.label(f"caller_{c.name}") for c in caller.c),
            *Issue.__table__.c,
            reporters.label("co_reporters"),
        ).select_from(caller.outerjoin(Issue.__table__, visible))
    )


GET_FOR_TOKEN_USER = _get_for_token_user()


async def get_for_token_user(db: AsyncEngine | AsyncSession, user_id: uuid.UUID, issue_id: uuid.UUID) -> Any:
    """See :func:`_get_for_token_user`; None when the user does not exist."""
    return await GET_FOR_TOKEN_USER.fetchrow(db, user_id=user_id, issue_id=issue_id)


async def by_ids(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]) -> Sequence[Issue]:
    if not ids:
        return []
    return (await session.execute(sa.select(Issue).where(Issue.id.in_(ids), issue_scope(principal)))).scalars().all()


async def get_unscoped(session: AsyncSession, issue_id: uuid.UUID, *, for_update: bool = False) -> Issue | None:
    stmt = sa.select(Issue).where(Issue.id == issue_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass
class IssueFilters:
    area_path: str | None = None
    status: list[str] = field(default_factory=list)
    kind: str | None = None
    category: str | None = None
    channel: str | None = None
    tier: str | None = None
    priority: str | None = None
    sla_state: SlaState | None = None
    assignee_user_id: uuid.UUID | None = None
    assignee_unit_id: uuid.UUID | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    updated_since: dt.datetime | None = None
    q: str | None = None


def sla_condition(state: SlaState, now: dt.datetime | sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """SQL twin of ``service.sla_state_of``: a suspended issue is judged at ``suspended_since``.
    ``now`` is an instant or an expression (a bind parameter of a prebuilt statement)."""
    at = now if isinstance(now, sa.ColumnElement) else sa.literal(now, sa.DateTime(timezone=True))
    effective = sa.func.coalesce(Issue.suspended_since, at)
    if state is SlaState.OVERDUE:
        return sa.and_(Issue.due_at.is_not(None), effective > Issue.due_at)
    if state is SlaState.DUE_SOON:
        return sa.and_(Issue.due_at.is_not(None), effective <= Issue.due_at, effective >= Issue.due_soon_at)
    return sa.and_(Issue.due_at.is_not(None), effective < Issue.due_soon_at)


def filtered(principal: Principal, f: IssueFilters, now: dt.datetime) -> sa.Select[tuple[Issue]]:
    stmt = sa.select(Issue).where(issue_scope(principal))
    if f.area_path is not None:
        stmt = stmt.where(Issue.area_id.in_(subtree_area_ids(f.area_path)))
    if f.status:
        stmt = stmt.where(Issue.status.in_(f.status))
    for column, value in (
        (Issue.kind, f.kind),
        (Issue.category, f.category),
        (Issue.channel, f.channel),
        (Issue.tier, f.tier),
        (Issue.priority, f.priority),
        (Issue.assignee_user_id, f.assignee_user_id),
        (Issue.assignee_unit_id, f.assignee_unit_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.sla_state is not None:
        stmt = stmt.where(sla_condition(f.sla_state, now))
    if f.created_from is not None:
        stmt = stmt.where(Issue.created_at >= f.created_from)
    if f.created_to is not None:
        stmt = stmt.where(Issue.created_at < f.created_to)
    if f.updated_since is not None:
        stmt = stmt.where(Issue.updated_at >= f.updated_since)
    if f.q:
        # ILIKE on the trigram-indexed expression: substring search that works on Chinese text.
        stmt = stmt.where(issue_text().ilike("%" + _escape_like(f.q) + "%", escape="\\"))
    return stmt


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def order_columns(f: IssueFilters) -> list[sa.ColumnElement[Any]]:
    """``updated_since`` lists run oldest change first (sync feeds); others newest first."""
    return [Issue.updated_at, Issue.id] if f.updated_since is not None else [Issue.created_at, Issue.id]


async def list_page(
    session: AsyncSession, principal: Principal, f: IssueFilters, *, cursor: str | None, limit: int, now: dt.datetime
) -> Sequence[sa.Row[Any]]:
    """A page of issues as plain rows (the columns of ``issues`` as attributes): a list only
    renders them, and rows cost a third less than ORM objects to load."""
    stmt = keyset(
        filtered(principal, f, now).with_only_columns(*Issue.__table__.c),
        order_columns(f),
        cursor=cursor,
        limit=limit,
        descending=f.updated_since is None,
    )
    return (await session.execute(stmt)).all()


async def count(session: AsyncSession, principal: Principal, f: IssueFilters, now: dt.datetime) -> int:
    inner = filtered(principal, f, now).with_only_columns(Issue.id).subquery()
    return int((await session.execute(sa.select(sa.func.count()).select_from(inner))).scalar_one())


def export_rows(principal: Principal, f: IssueFilters, now: dt.datetime, limit: int) -> sa.Select[Any]:
    stmt = filtered(principal, f, now).with_only_columns(
        Issue.number,
        Issue.title,
        Issue.kind,
        Issue.category,
        Issue.channel,
        Issue.priority,
        Issue.status,
        Issue.tier,
        Area.name,
        Issue.address,
        Issue.reporter_name,
        Issue.reporter_phone,
        Issue.created_at,
        Issue.respond_due_at,
        Issue.resolve_due_at,
        Issue.resolved_at,
        Issue.closed_at,
        Issue.outcome,
        Issue.rating,
        Issue.solved,
    )
    stmt = stmt.join(Area, Area.id == Issue.area_id)
    return stmt.order_by(*(c.desc() for c in order_columns(f))).limit(limit)


async def similar(
    session: AsyncSession, principal: Principal, issue: Issue, *, limit: int
) -> Sequence[tuple[Issue, float, float | None]]:
    """Open issues in scope, in the same area or within 300 m, ranked by text similarity."""
    score = sa.func.similarity(issue_text(), issue.title + " " + issue.description).label("score")
    distance: sa.ColumnElement[Any] = sa.null()
    nearby: sa.ColumnElement[bool] = sa.false()
    if issue.lat is not None and issue.lng is not None:
        dlat = (Issue.lat - issue.lat) * METRES_PER_DEGREE
        dlng = (Issue.lng - issue.lng) * METRES_PER_DEGREE * sa.func.cos(sa.func.radians(issue.lat))
        distance = sa.func.sqrt(dlat * dlat + dlng * dlng)
        nearby = sa.and_(Issue.lat.is_not(None), distance <= NEARBY_METRES)
    stmt = (
        sa.select(Issue, score, distance.label("distance"))
        .where(
            issue_scope(principal),
            Issue.id != issue.id,
            Issue.status.in_([s.value for s in OPEN_STATUSES]),
            sa.or_(Issue.area_id == issue.area_id, nearby),
            score > SIMILARITY_THRESHOLD,
        )
        .order_by(score.desc(), Issue.created_at.desc())
        .limit(limit)
    )
    return [(row[0], float(row[1]), None if row[2] is None else float(row[2])) for row in await session.execute(stmt)]


# --- timeline, reporters, comments, attachments -----------------------------------------------


async def events(session: AsyncSession, issue_id: uuid.UUID, *, after_seq: int, limit: int) -> Sequence[IssueEvent]:
    stmt = (
        sa.select(IssueEvent)
        .where(IssueEvent.issue_id == issue_id, IssueEvent.seq > after_seq)
        .order_by(IssueEvent.seq)
        .limit(limit + 1)
    )
    return (await session.execute(stmt)).scalars().all()


async def co_reporters(session: AsyncSession, issue_id: uuid.UUID) -> Sequence[IssueReporter]:
    stmt = sa.select(IssueReporter).where(IssueReporter.issue_id == issue_id).order_by(IssueReporter.created_at)
    return (await session.execute(stmt)).scalars().all()


async def move_co_reporters(session: AsyncSession, from_issue: uuid.UUID, to_issue: uuid.UUID) -> None:
    await session.execute(
        sa.update(IssueReporter).where(IssueReporter.issue_id == from_issue).values(issue_id=to_issue)
    )


async def comments(
    session: AsyncSession, issue_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Sequence[IssueComment]:
    stmt = keyset(
        sa.select(IssueComment).where(IssueComment.issue_id == issue_id),
        [IssueComment.created_at, IssueComment.id],
        cursor=cursor,
        limit=limit,
        descending=False,
    )
    return (await session.execute(stmt)).scalars().all()


async def attachments(session: AsyncSession, issue_id: uuid.UUID) -> Sequence[IssueAttachment]:
    stmt = sa.select(IssueAttachment).where(IssueAttachment.issue_id == issue_id).order_by(IssueAttachment.created_at)
    return (await session.execute(stmt)).scalars().all()


async def attachment(session: AsyncSession, issue_id: uuid.UUID, attachment_id: uuid.UUID) -> IssueAttachment | None:
    stmt = sa.select(IssueAttachment).where(IssueAttachment.id == attachment_id, IssueAttachment.issue_id == issue_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def attachment_ids(session: AsyncSession, issue_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    stmt = sa.select(IssueAttachment.id).where(IssueAttachment.issue_id == issue_id, IssueAttachment.id.in_(ids))
    return set((await session.execute(stmt)).scalars().all())


# --- people the issue can be dispatched to ----------------------------------------------------


async def user_with_area_path(session: AsyncSession, user_id: uuid.UUID) -> tuple[User, str] | None:
    stmt = sa.select(User, Area.path).join(Area, Area.id == User.home_area_id).where(User.id == user_id)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def unit(session: AsyncSession, unit_id: uuid.UUID) -> Unit | None:
    return await session.get(Unit, unit_id)


async def area(session: AsyncSession, area_id: uuid.UUID) -> Area | None:
    return await session.get(Area, area_id)


# --- feedback ---------------------------------------------------------------------------------


async def feedback_token(session: AsyncSession, token_hash: str) -> FeedbackToken | None:
    stmt = (
        sa.select(FeedbackToken)
        .where(FeedbackToken.token_hash == token_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
