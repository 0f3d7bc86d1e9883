"""SQL for dispute mediation. Every read goes through the scope filter."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.repository import ScopedRepository
from app.mediation.models import Dispute, DisputeParty, FollowUp, MediationSession
from app.scope import Principal, in_subtree

disputes = ScopedRepository(Dispute, thing="dispute")


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
    where = [in_subtree(Dispute.area_id, filters["area_path"])] if filters.get("area_path") else []
    for column in ("status", "risk_level", "type", "mediator_id"):
        if filters.get(column) is not None:
            where.append(getattr(Dispute, column) == filters[column])
    return await disputes.list_in_scope(session, principal, *where, after=after, limit=limit)
