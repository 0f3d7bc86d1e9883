"""SQL for 民情日记. Reads go through the scope filter; batch writes are set-based."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.diary.models import DiaryEntry
from app.grids.models import Area
from app.kit.repository import ScopedRepository
from app.scope import Principal, in_subtree, scope_filter

CONTENT_COLUMNS = (
    "area_id",
    "household_id",
    "resident_id",
    "visited_at",
    "kind",
    "content",
    "measures",
    "result",
    "tags",
    "status",
)


entries = ScopedRepository(DiaryEntry, thing="diary_entry")


async def existing_for_batch(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[DiaryEntry, bool]]:
    """Entries with these ids, locked, each with whether the caller may see it."""
    if not ids:
        return {}
    visible = scope_filter(principal, area_column=DiaryEntry.area_id).label("visible")
    stmt = sa.select(DiaryEntry, visible).where(DiaryEntry.id.in_(ids)).with_for_update(of=DiaryEntry)
    return {row[0].id: (row[0], bool(row[1])) for row in (await session.execute(stmt)).all()}


async def area_levels_in_scope(
    session: AsyncSession, principal: Principal, area_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """``{id: level}`` of the given areas that lie in the caller's subtree."""
    if not area_ids:
        return {}
    stmt = sa.select(Area.id, Area.level).where(Area.id.in_(area_ids), in_subtree(Area.id, principal.area_path))
    return {r[0]: r[1] for r in (await session.execute(stmt)).all()}


async def insert_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
    """One multi-row INSERT; returns the ids actually inserted (a concurrent writer may have won)."""
    if not rows:
        return set()
    table = DiaryEntry.__table__
    stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    result = await session.execute(stmt, list(rows))
    return set(result.scalars().all())


async def update_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """executemany UPDATE of rows already locked by :func:`existing_for_batch` whose ``b_version``
    (the client's ``base_version``) was found current under that lock.

    The one write of a versioned row outside the ORM (``VersionMixin``): a batch of up to 500 is
    one statement. It takes the expected version in its WHERE like every other write and moves
    the version by one itself."""
    if not rows:
        return
    table = DiaryEntry.__table__
    stmt = (
        table.update()
        .where(table.c.id == sa.bindparam("b_id"), table.c.version == sa.bindparam("b_version"))
        .values(
            **{c: sa.bindparam(c) for c in CONTENT_COLUMNS},
            version=table.c.version + 1,
            updated_at=sa.func.now(),
        )
    )
    await session.execute(stmt, list(rows))


async def list_in_scope(
    session: AsyncSession, principal: Principal, *, filters: Mapping[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[DiaryEntry]:
    where = entries.narrowed(filters, "status", "kind", "author_id", "resident_id", "household_id")
    if filters.get("visited_from") is not None:
        where.append(DiaryEntry.visited_at >= filters["visited_from"])
    if filters.get("visited_to") is not None:
        where.append(DiaryEntry.visited_at < filters["visited_to"])
    if filters.get("updated_since") is not None:
        where.append(DiaryEntry.updated_at >= filters["updated_since"])
    if filters.get("q"):
        q = filters["q"]
        where.append(
            DiaryEntry.content.contains(q, autoescape=True)
            | DiaryEntry.measures.contains(q, autoescape=True)
            | DiaryEntry.result.contains(q, autoescape=True)
        )
    return await entries.list_in_scope(session, principal, *where, after=after, limit=limit)
