"""SQL for proposals and consultations. Reads go through the scope helper."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.consultation.models import AgendaItem, Consultation, Decision, Proposal
from app.consultation.workflow import ProposalStatus
from app.kit.repository import ScopedRepository, children, grouped
from app.scope import Principal, in_subtree, scope_filter

SIMILARITY_THRESHOLD = 0.1
"""pg_trgm similarity above which an open proposal counts as similar (as for issues: Chinese text has
no word breaks, so whole-text trigram overlap runs low)."""


def proposal_text() -> sa.ColumnElement[str]:
    """The indexed expression ``title || ' ' || content`` (GIN trigram index)."""
    return Proposal.title.op("||")(sa.literal(" ")).op("||")(Proposal.content)


proposals = ScopedRepository(Proposal, thing="proposal")
consultations = ScopedRepository(Consultation, thing="consultation")


async def proposals_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    area_path: str | None,
    status: str | None,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Proposal]:
    where = [in_subtree(Proposal.area_id, area_path)] if area_path else []
    if status:
        where.append(Proposal.status == status)
    return await proposals.list_in_scope(session, principal, *where, after=after, limit=limit)


async def similar(
    session: AsyncSession, principal: Principal, of: Proposal, *, limit: int
) -> Sequence[tuple[Proposal, float]]:
    """Open proposals in scope and in the same area, ranked by text similarity."""
    score = sa.func.similarity(proposal_text(), of.title + " " + of.content).label("score")
    stmt = (
        sa.select(Proposal, score)
        .where(
            scope_filter(principal, area_column=Proposal.area_id),
            Proposal.id != of.id,
            Proposal.area_id == of.area_id,
            Proposal.status.in_([ProposalStatus.OPEN.value, ProposalStatus.ON_AGENDA.value]),
            score > SIMILARITY_THRESHOLD,
        )
        .order_by(score.desc(), Proposal.created_at.desc())
        .limit(limit)
    )
    return [(row[0], float(row[1])) for row in await session.execute(stmt)]


async def agenda_of(session: AsyncSession, consultation_id: uuid.UUID) -> Sequence[AgendaItem]:
    return await children(session, AgendaItem, AgendaItem.consultation_id, consultation_id, (AgendaItem.position,))


async def decisions_of(session: AsyncSession, agenda_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Decision]]:
    """The decisions on each agenda item, oldest first (an item without any: an empty list)."""
    if not agenda_ids:
        return defaultdict(list)
    stmt = sa.select(Decision).where(Decision.agenda_item_id.in_(agenda_ids)).order_by(Decision.decided_at, Decision.id)
    return await grouped(session, stmt, lambda d: d.agenda_item_id)
