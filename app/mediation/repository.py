"""SQL for dispute mediation. Every read goes through the scope filter."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.repository import ScopedRepository, children, grouped
from app.mediation.models import Dispute, DisputeParty, FollowUp, MediationSession
from app.scope import Principal

disputes = ScopedRepository(Dispute, thing="dispute")


async def parties_of(session: AsyncSession, dispute_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[DisputeParty]]:
    if not dispute_ids:
        return defaultdict(list)
    stmt = sa.select(DisputeParty).where(DisputeParty.dispute_id.in_(dispute_ids)).order_by(DisputeParty.id)
    return await grouped(session, stmt, lambda party: party.dispute_id)


async def party(session: AsyncSession, dispute_id: uuid.UUID, party_id: uuid.UUID) -> DisputeParty | None:
    stmt = sa.select(DisputeParty).where(DisputeParty.id == party_id, DisputeParty.dispute_id == dispute_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def sessions_of(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[MediationSession]:
    order = (MediationSession.held_at, MediationSession.id)
    return await children(session, MediationSession, MediationSession.dispute_id, dispute_id, order)


async def follow_ups_of(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[FollowUp]:
    return await children(session, FollowUp, FollowUp.dispute_id, dispute_id, (FollowUp.visited_on, FollowUp.id))


async def list_in_scope(
    session: AsyncSession, principal: Principal, *, filters: Mapping[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Dispute]:
    where = disputes.narrowed(filters, "status", "risk_level", "type", "mediator_id")
    return await disputes.list_in_scope(session, principal, *where, after=after, limit=limit)
