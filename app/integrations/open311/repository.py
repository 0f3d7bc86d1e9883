"""SQL of the Open311 GeoReport v2 endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Unit
from app.grids.models import Area, Level
from app.integrations.open311.models import Open311Request
from app.issues.models import Category, Issue


async def districts(session: AsyncSession) -> Sequence[Area]:
    stmt = sa.select(Area).where(Area.level == Level.DISTRICT.value, Area.parent_id.is_(None)).order_by(Area.code)
    return (await session.execute(stmt.limit(2))).scalars().all()


async def district_by_code(session: AsyncSession, code: str) -> Area | None:
    stmt = sa.select(Area).where(Area.code == code, Area.level == Level.DISTRICT.value, Area.parent_id.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def active_categories(session: AsyncSession) -> Sequence[Category]:
    stmt = sa.select(Category).where(Category.is_active.is_(True)).order_by(Category.sort_order, Category.code)
    return (await session.execute(stmt)).scalars().all()


@dataclass(frozen=True)
class Row:
    issue: Issue
    service_name: str
    media_url: str | None
    unit_name: str | None
    area_name: str


def _select(district_id: uuid.UUID) -> sa.Select[tuple[Issue, str, str | None, str | None, str]]:
    return (
        sa.select(Issue, Category.name, Open311Request.media_url, Unit.name, Area.name)
        .join(Open311Request, Open311Request.issue_id == Issue.id)
        .join(Category, Category.code == Issue.category)
        .join(Area, Area.id == Issue.area_id)
        .outerjoin(Unit, Unit.id == Issue.assignee_unit_id)
        .where(Open311Request.district_id == district_id)
    )


def _rows(result: sa.Result[tuple[Issue, str, str | None, str | None, str]]) -> list[Row]:
    return [Row(r[0], r[1], r[2], r[3], r[4]) for r in result.all()]


async def by_ids(session: AsyncSession, district_id: uuid.UUID, ids: Sequence[str], limit: int) -> list[Row]:
    """Requests by issue number or issue UUID."""
    uuids = []
    for value in ids:
        try:
            uuids.append(uuid.UUID(value))
        except ValueError:
            continue
    match = Issue.number.in_(list(ids))
    if uuids:
        match = sa.or_(match, Issue.id.in_(uuids))
    stmt = _select(district_id).where(match).order_by(Issue.created_at.desc(), Issue.id.desc()).limit(limit)
    return _rows(await session.execute(stmt))


async def listed(
    session: AsyncSession,
    district_id: uuid.UUID,
    *,
    start: dt.datetime,
    end: dt.datetime,
    service_codes: Sequence[str],
    statuses: Sequence[str] | None,
    limit: int,
) -> list[Row]:
    stmt = _select(district_id).where(Open311Request.created_at >= start, Open311Request.created_at <= end)
    if service_codes:
        stmt = stmt.where(Issue.category.in_(list(service_codes)))
    if statuses is not None:
        stmt = stmt.where(Issue.status.in_(list(statuses)))
    stmt = stmt.order_by(Open311Request.created_at.desc(), Issue.id.desc()).limit(limit)
    return _rows(await session.execute(stmt))
