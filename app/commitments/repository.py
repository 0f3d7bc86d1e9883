"""SQL for commitment lists. Reads go through the scope helpers: lists, items and activities are
seen by the staff of their community's branch (``serving``: a grid worker sees the commitments of
the community over the grid, a street its communities'), written by those whose subtree holds them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.commitments.models import (
    CommitmentActivity,
    CommitmentActivityItem,
    CommitmentItem,
    CommitmentItemProposal,
    CommitmentList,
)
from app.db import ColumnExpr, DriverStatement, ReadPool
from app.grids.models import Area
from app.kit.pagination import keyset
from app.kit.repository import ScopedRepository, grouped
from app.scope import Principal, in_subtree, serving


def visible(principal: Principal, area_column: Any) -> sa.ColumnElement[bool]:
    """What ``principal`` may read: its subtree, and the areas above it on its branch."""
    return serving(area_column, principal.area_path)


lists = ScopedRepository(CommitmentList, thing="commitment_list")
"""Lists as written: those in the caller's subtree."""
lists_seen = ScopedRepository(
    CommitmentList, scope=lambda principal: visible(principal, CommitmentList.area_id), thing="commitment_list"
)
"""Lists as read: :func:`visible`."""


async def list_exists(session: AsyncSession, area_id: uuid.UUID, year: int) -> bool:
    stmt = sa.select(sa.exists().where(CommitmentList.area_id == area_id, CommitmentList.year == year))
    return bool(await session.scalar(stmt))


async def items_of(session: AsyncSession, list_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CommitmentItem]]:
    """The items of each list, in their order (a list without any: an empty list)."""
    if not list_ids:
        return defaultdict(list)
    stmt = (
        sa.select(CommitmentItem)
        .where(CommitmentItem.list_id.in_(list_ids))
        .order_by(CommitmentItem.list_id, CommitmentItem.position)
    )
    return await grouped(session, stmt, lambda item: item.list_id)


async def _linked(
    session: AsyncSession, key: ColumnExpr, value: ColumnExpr, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Through the item ↔ proposal links: the ``value`` ids linked to each of ``ids`` (``key``), in id order."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    if ids:
        for k, v in await session.execute(sa.select(key, value).where(key.in_(ids)).order_by(key, value)):
            out[k].append(v)
    return out


async def proposals_of(session: AsyncSession, item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The proposals each item answers, in id order."""
    return await _linked(session, CommitmentItemProposal.item_id, CommitmentItemProposal.proposal_id, item_ids)


async def items_of_proposals(
    session: AsyncSession, proposal_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The items each proposal led to, in id order."""
    return await _linked(session, CommitmentItemProposal.proposal_id, CommitmentItemProposal.item_id, proposal_ids)


async def set_proposals(session: AsyncSession, item_id: uuid.UUID, proposal_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(sa.delete(CommitmentItemProposal).where(CommitmentItemProposal.item_id == item_id))
    if proposal_ids:
        rows = [{"item_id": item_id, "proposal_id": p} for p in dict.fromkeys(proposal_ids)]
        # executemany of one compiled INSERT (a multi-row VALUES would be compiled on every call)
        await session.execute(sa.insert(cast(sa.Table, CommitmentItemProposal.__table__)), rows)


async def area_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(sa.select(Area.id, Area.name).where(Area.id.in_(set(ids))))
    return {r[0]: r[1] for r in rows}


async def list_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    area_path: str | None,
    year: int | None,
    status: str | None,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[CommitmentList]:
    stmt = sa.select(CommitmentList).where(visible(principal, CommitmentList.area_id))
    if area_path:
        stmt = stmt.where(in_subtree(CommitmentList.area_id, area_path))
    if year is not None:
        stmt = stmt.where(CommitmentList.year == year)
    if status is not None:
        stmt = stmt.where(CommitmentList.status == status)
    stmt = keyset(stmt, [CommitmentList.created_at, CommitmentList.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()


async def next_position(session: AsyncSession, list_id: uuid.UUID) -> int:
    top = await session.scalar(sa.select(sa.func.max(CommitmentItem.position)).where(CommitmentItem.list_id == list_id))
    return int(top or 0) + 1


async def count_items(session: AsyncSession, list_id: uuid.UUID) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).where(CommitmentItem.list_id == list_id)) or 0)


async def activity(session: AsyncSession, activity_id: uuid.UUID) -> CommitmentActivity | None:
    return await session.get(CommitmentActivity, activity_id)


async def activity_item_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    out: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    if ids:
        stmt = (
            sa.select(CommitmentActivityItem.activity_id, CommitmentActivityItem.item_id)
            .where(CommitmentActivityItem.activity_id.in_(ids))
            .order_by(CommitmentActivityItem.item_id)
        )
        for a, i in await session.execute(stmt):
            out[a].append(i)
    return out


async def activities_with_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CommitmentActivity]:
    """Activities recorded under these ids, whoever recorded them (client ids are global)."""
    if not ids:
        return {}
    stmt = sa.select(CommitmentActivity).where(CommitmentActivity.id.in_(ids))
    return {a.id: a for a in (await session.execute(stmt)).scalars()}


async def visible_item_ids(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of ``ids``, the items ``principal`` sees (and so may record activities for)."""
    if not ids:
        return set()
    stmt = sa.select(CommitmentItem.id).where(CommitmentItem.id.in_(ids), visible(principal, CommitmentItem.area_id))
    return set((await session.execute(stmt)).scalars())


async def activities_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]
) -> Sequence[CommitmentActivity]:
    stmt = sa.select(CommitmentActivity).where(
        CommitmentActivity.id.in_(ids), visible(principal, CommitmentActivity.area_id)
    )
    return (await session.execute(stmt)).scalars().all()


async def activities_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    item_id: uuid.UUID | None,
    area_path: str | None,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[CommitmentActivity]:
    stmt = sa.select(CommitmentActivity).where(visible(principal, CommitmentActivity.area_id))
    if item_id is not None:
        stmt = stmt.where(
            CommitmentActivity.id.in_(
                sa.select(CommitmentActivityItem.activity_id).where(CommitmentActivityItem.item_id == item_id)
            )
        )
    if area_path:
        stmt = stmt.where(in_subtree(CommitmentActivity.area_id, area_path))
    stmt = keyset(stmt, [CommitmentActivity.held_at, CommitmentActivity.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()


async def public_lists(session: AsyncSession, area_path: str, year: int, statuses: Sequence[str]) -> Sequence[Any]:
    """Published lists of the subtree at ``area_path`` with their community's name, by community code."""
    stmt = (
        sa.select(CommitmentList, Area.name, Area.code)
        .join(Area, Area.id == CommitmentList.area_id)
        .where(in_subtree(CommitmentList.area_id, area_path), CommitmentList.year == year)
        .where(CommitmentList.status.in_(statuses))
        .order_by(Area.code)
    )
    return (await session.execute(stmt)).all()


def _public_fingerprint() -> DriverStatement:
    """See :func:`public_fingerprint`."""
    area = sa.select(Area.version, Area.path).where(Area.id == sa.bindparam("area_id", type_=Area.id.type)).cte("area")
    subtree = sa.select(Area.id).where(Area.path.op("<@")(sa.select(area.c.path).scalar_subquery()))
    year = sa.bindparam("year", type_=sa.Integer)

    def figures(model: Any, name: str) -> Any:
        return (
            sa.select(
                sa.func.count().label(f"{name}_n"),
                sa.func.coalesce(sa.func.sum(model.version), 0).label(f"{name}_versions"),
                sa.func.max(sa.cast(model.id, sa.Text)).label(f"{name}_newest"),
            )
            .where(model.area_id.in_(subtree), model.year == year)
            .subquery(name)
        )

    lists, items = figures(CommitmentList, "lists"), figures(CommitmentItem, "items")
    return DriverStatement(
        sa.select(area.c.version, *lists.c, *items.c).select_from(area.join(lists, sa.true()).join(items, sa.true()))
    )


PUBLIC_FINGERPRINT = _public_fingerprint()


async def public_fingerprint(db: ReadPool | AsyncSession, area_id: uuid.UUID, year: int) -> tuple[Any, ...] | None:
    """What the public notice of an area's subtree and year is made of, in one statement (no
    transaction around it): the area's version, then the counts, version sums and newest ids of
    its lists and items — any change to a list or an item (an activity, a rating, a transition)
    moves one of them, and so does a list or an item put in the place of another. None when there
    is no such area."""
    row = await PUBLIC_FINGERPRINT.fetchrow(db, area_id=area_id, year=year)
    return tuple(row) if row is not None else None
