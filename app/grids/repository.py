"""SQL for the area tree."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db import DriverStatement
from app.grids.models import Area
from app.kit.repository import ScopedRepository
from app.scope import caller_row


def within(path: str) -> sa.ColumnElement[bool]:
    """Areas in the subtree rooted at ``path`` (inclusive)."""
    return Area.path.op("<@")(sa.cast(path, Area.path.type))


areas = ScopedRepository(
    Area,
    area=Area.id,
    order=(Area.code,),
    scope=lambda principal: within(principal.area_path),
    thing="area",
    within="your jurisdiction",
)
"""Areas in the caller's subtree (their own path, not an area column)."""


def _caller_and_area() -> DriverStatement:
    """One round trip: a bearer token's user (``caller_*``, see :func:`app.scope.caller_row`)
    and the ltree path of area ``area_id`` when it lies in that user's subtree (else NULL)."""
    caller = caller_row(sa.bindparam("user_id", type_=Area.id.type))
    area = aliased(Area, name="target")
    in_caller_subtree = sa.and_(
        area.id == sa.bindparam("area_id", type_=Area.id.type),
        area.path.op("<@")(sa.cast(caller.c.area_path, area.path.type)),
    )
    return DriverStatement(
        sa.select(
            *(c.label(f"caller_{c.name}") for c in caller.c),
            sa.cast(area.path, sa.Text).label("area_path"),
        ).select_from(caller.outerjoin(area, in_caller_subtree))
    )


CALLER_AND_AREA = _caller_and_area()


async def caller_and_area(db: AsyncSession, user_id: uuid.UUID, area_id: uuid.UUID | None) -> Any:
    return await CALLER_AND_AREA.fetchrow(db, user_id=user_id, area_id=area_id)


async def get_unscoped(session: AsyncSession, area_id: uuid.UUID) -> Area | None:
    return await session.get(Area, area_id)


async def by_codes(session: AsyncSession, codes: Sequence[str]) -> dict[str, Area]:
    if not codes:
        return {}
    rows = (await session.execute(sa.select(Area).where(Area.code.in_(codes)))).scalars().all()
    return {a.code: a for a in rows}


async def list_in_scope(
    session: AsyncSession,
    scope_path: str,
    *,
    level: str | None,
    parent_id: uuid.UUID | None,
    q: str | None,
    after_code: str | None,
    limit: int,
) -> Sequence[Area]:
    stmt = sa.select(Area).where(within(scope_path))
    if level:
        stmt = stmt.where(Area.level == level)
    if parent_id:
        stmt = stmt.where(Area.parent_id == parent_id)
    if q:
        stmt = stmt.where(Area.name.contains(q, autoescape=True) | (Area.code == q))
    if after_code is not None:
        stmt = stmt.where(Area.code > after_code)
    return (await session.execute(stmt.order_by(Area.code).limit(limit + 1))).scalars().all()


async def candidates_at(session: AsyncSession, lng: float, lat: float, scope_path: str | None) -> Sequence[Area]:
    """Areas whose bounding box holds the point, deepest first."""
    box = sa.func.box(sa.func.point(Area.min_lng, Area.min_lat), sa.func.point(Area.max_lng, Area.max_lat))
    # box @> box (a degenerate box at the point): the GiST index on the box serves it; box @> point
    # is not an operator of the box operator class, so it was a sequential scan over all areas.
    here = sa.func.box(sa.func.point(lng, lat), sa.func.point(lng, lat))
    stmt = sa.select(Area).where(Area.min_lng.is_not(None), box.op("@>")(here))
    if scope_path:
        stmt = stmt.where(within(scope_path))
    stmt = stmt.order_by(sa.func.nlevel(Area.path).desc(), Area.code)
    return (await session.execute(stmt)).scalars().all()


async def named_in(session: AsyncSession, text: str, scope_path: str, levels: Sequence[str]) -> Area | None:
    """The deepest area at one of ``levels`` whose name appears in ``text`` (an address); among
    areas equally deep, the longest name wins."""
    stmt = (
        sa.select(Area)
        .where(
            within(scope_path),
            Area.level.in_(levels),
            sa.func.char_length(Area.name) >= 2,
            sa.func.strpos(sa.literal(text), Area.name) > 0,
        )
        .order_by(sa.func.nlevel(Area.path).desc(), sa.func.char_length(Area.name).desc(), Area.code)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def has_children(session: AsyncSession, area_id: uuid.UUID) -> bool:
    return bool((await session.execute(sa.select(sa.exists().where(Area.parent_id == area_id)))).scalar())
