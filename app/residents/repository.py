"""SQL for the residents' archive. Every read goes through the scope filter."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.arrays import array_rows
from app.kit.pagination import keyset
from app.kit.repository import ScopedRepository
from app.residents.models import Building, Household, Resident
from app.scope import Principal, in_subtree, scope_filter

buildings = ScopedRepository(Building, thing="building")
households = ScopedRepository(Household, thing="household")
residents = ScopedRepository(Resident, thing="resident")


async def visible_ids(
    session: AsyncSession, principal: Principal, model: type[Any], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """``{id: area_id}`` of the given households or residents that the caller may see."""
    if not ids:
        return {}
    stmt = sa.select(model.id, model.area_id).where(
        model.id.in_(ids), scope_filter(principal, area_column=model.area_id)
    )
    return {r[0]: r[1] for r in (await session.execute(stmt)).all()}


async def list_buildings(
    session: AsyncSession, principal: Principal, *, filters: Mapping[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Building]:
    where = buildings.narrowed(filters)
    if filters.get("q"):
        where.append(Building.name.contains(filters["q"], autoescape=True))
    return await buildings.list_in_scope(session, principal, *where, after=after, limit=limit)


async def list_households(
    session: AsyncSession, principal: Principal, *, filters: Mapping[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Household]:
    return await households.list_in_scope(
        session, principal, *households.narrowed(filters, "building_id"), after=after, limit=limit
    )


async def list_residents(
    session: AsyncSession, principal: Principal, *, filters: Mapping[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Resident]:
    where = residents.narrowed(filters, "household_id", "phone_index", "id_number_index")
    if filters.get("tag"):
        where.append(sa.literal(filters["tag"]) == sa.any_(Resident.tags))
    if filters.get("q"):
        where.append(Resident.name.contains(filters["q"], autoescape=True))
    return await residents.list_in_scope(session, principal, *where, after=after, limit=limit)


async def due_visits(
    session: AsyncSession,
    principal: Principal,
    *,
    intervals: Mapping[str, int],
    now: dt.datetime,
    area_path: str | None,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[tuple[Resident, int, dt.datetime]]:
    """Residents whose shortest tag interval has passed since their last visit (never visited: due)."""
    if not intervals:
        return []
    # The schedule as two bound arrays (not literal VALUES: a statement SQLAlchemy could not cache).
    schedule = array_rows(
        "schedule",
        {"tag": sa.String(), "days": sa.Integer()},
        prefix="schedule_",
        values={"tag": list(intervals), "days": list(intervals.values())},
    )
    tag = sa.func.unnest(Resident.tags).table_valued("tag").render_derived(name="t")
    per_resident = (
        sa.select(Resident.id.label("resident_id"), sa.func.min(schedule.c.days).label("interval_days"))
        .select_from(Resident)
        .join(tag, sa.true())
        .join(schedule, schedule.c.tag == tag.c.tag)
        .where(scope_filter(principal, area_column=Resident.area_id))
        .group_by(Resident.id)
    )
    if area_path:
        per_resident = per_resident.where(in_subtree(Resident.area_id, area_path))
    per_resident = per_resident.subquery("per_resident")
    due_at = sa.case(
        (
            Resident.last_visited_at.is_(None),
            Resident.created_at,
        ),
        else_=Resident.last_visited_at + sa.func.make_interval(0, 0, 0, per_resident.c.interval_days),
    ).label("due_at")
    inner = (
        sa.select(Resident.id.label("id"), per_resident.c.interval_days, due_at)
        .join(per_resident, per_resident.c.resident_id == Resident.id)
        .subquery("due")
    )
    stmt = sa.select(Resident, inner.c.interval_days, inner.c.due_at).join(inner, inner.c.id == Resident.id)
    stmt = stmt.where(inner.c.due_at <= now)
    stmt = keyset(stmt, [inner.c.due_at, inner.c.id], after=after, limit=limit, descending=False)
    return [(r[0], r[1], r[2]) for r in (await session.execute(stmt)).all()]


async def mark_visited(session: AsyncSession, visits: Mapping[uuid.UUID, dt.datetime]) -> None:
    """Move ``last_visited_at`` forward (never back) for residents named in diary entries and
    pairing visits. It is part of what a resident shows (and of when they are due), so it moves
    the version too: a cached copy revalidates to the new one, and an edit from the old copy is
    412. A visit older than the one on record changes nothing, version included."""
    if not visits:
        return
    table = Resident.__table__
    stmt = (
        table.update()
        .where(table.c.id == sa.bindparam("rid"))
        .where(sa.or_(table.c.last_visited_at.is_(None), table.c.last_visited_at < sa.bindparam("visited")))
        .values(last_visited_at=sa.bindparam("visited"), version=table.c.version + 1)
    )
    await session.execute(stmt, [{"rid": rid, "visited": at} for rid, at in visits.items()])
