"""SQL for dispute mediation. Every read goes through the scope filter."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Principal, in_subtree, scope_filter
from app.kit.pagination import keyset
from app.mediation.models import Dispute, DisputeParty, FollowUp, MediationSession


async def get(
    session: AsyncSession, principal: Principal, dispute_id: uuid.UUID, *, for_update: bool = False
) -> Dispute | None:
    stmt = sa.select(Dispute).where(Dispute.id == dispute_id, scope_filter(principal, area_column=Dispute.area_id))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def exists(session: AsyncSession, dispute_id: uuid.UUID) -> bool:
    return bool(await session.scalar(sa.select(sa.exists().where(Dispute.id == dispute_id))))


async def by_ids(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]) -> Sequence[Dispute]:
    stmt = sa.select(Dispute).where(Dispute.id.in_(ids), scope_filter(principal, area_column=Dispute.area_id))
    return (await session.execute(stmt)).scalars().all()


async def parties_of(session: AsyncSession, dispute_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[DisputeParty]]:
    out: dict[uuid.UUID, list[DisputeParty]] = {i: [] for i in dispute_ids}
    if dispute_ids:
        stmt = sa.select(DisputeParty).where(DisputeParty.dispute_id.in_(dispute_ids)).order_by(DisputeParty.id)
        for party in (await session.execute(stmt)).scalars():
            out[party.dispute_id].append(party)
    return out


async def party(session: AsyncSession, dispute_id: uuid.UUID, party_id: uuid.UUID) -> DisputeParty | None:
    stmt = sa.select(DisputeParty).where(DisputeParty.id == party_id, DisputeParty.dispute_id == dispute_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def sessions_of(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[MediationSession]:
    stmt = (
        sa.select(MediationSession)
        .where(MediationSession.dispute_id == dispute_id)
        .order_by(MediationSession.held_at, MediationSession.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def follow_ups_of(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[FollowUp]:
    stmt = sa.select(FollowUp).where(FollowUp.dispute_id == dispute_id).order_by(FollowUp.visited_on, FollowUp.id)
    return (await session.execute(stmt)).scalars().all()


async def list_in_scope(
    session: AsyncSession, principal: Principal, *, filters: Mapping[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Dispute]:
    stmt = sa.select(Dispute).where(scope_filter(principal, area_column=Dispute.area_id))
    if filters.get("area_path"):
        stmt = stmt.where(in_subtree(Dispute.area_id, filters["area_path"]))
    for column in ("status", "risk_level", "type", "mediator_id"):
        if filters.get(column) is not None:
            stmt = stmt.where(getattr(Dispute, column) == filters[column])
    stmt = keyset(stmt, [Dispute.created_at, Dispute.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()
