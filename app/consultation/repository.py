"""SQL for proposals and consultations. Reads go through the scope helper."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.consultation.models import AgendaItem, Consultation, Decision, Proposal
from app.consultation.workflow import ProposalStatus
from app.kit.pagination import keyset
from app.scope import Principal, in_subtree, scope_filter

SIMILARITY_THRESHOLD = 0.1
"""pg_trgm similarity above which an open proposal counts as similar (as for issues: Chinese text has
no word breaks, so whole-text trigram overlap runs low)."""


def proposal_text() -> sa.ColumnElement[str]:
    """The indexed expression ``title || ' ' || content`` (GIN trigram index)."""
    return Proposal.title.op("||")(sa.literal(" ")).op("||")(Proposal.content)


async def proposal(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, for_update: bool = False
) -> Proposal | None:
    stmt = sa.select(Proposal).where(Proposal.id == proposal_id, scope_filter(principal, area_column=Proposal.area_id))
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def proposals_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    area_path: str | None,
    status: str | None,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Proposal]:
    stmt = sa.select(Proposal).where(scope_filter(principal, area_column=Proposal.area_id))
    if area_path:
        stmt = stmt.where(in_subtree(Proposal.area_id, area_path))
    if status:
        stmt = stmt.where(Proposal.status == status)
    stmt = keyset(stmt, [Proposal.created_at, Proposal.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()


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


async def consultation(
    session: AsyncSession, principal: Principal, consultation_id: uuid.UUID, *, for_update: bool = False
) -> Consultation | None:
    stmt = sa.select(Consultation).where(
        Consultation.id == consultation_id, scope_filter(principal, area_column=Consultation.area_id)
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def consultations_in_scope(
    session: AsyncSession, principal: Principal, *, after: Sequence[Any] | None, limit: int
) -> Sequence[Consultation]:
    stmt = sa.select(Consultation).where(scope_filter(principal, area_column=Consultation.area_id))
    stmt = keyset(stmt, [Consultation.created_at, Consultation.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()


async def agenda_of(session: AsyncSession, consultation_id: uuid.UUID) -> Sequence[AgendaItem]:
    stmt = sa.select(AgendaItem).where(AgendaItem.consultation_id == consultation_id).order_by(AgendaItem.position)
    return (await session.execute(stmt)).scalars().all()


async def decisions_of(session: AsyncSession, agenda_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Decision]]:
    out: dict[uuid.UUID, list[Decision]] = {i: [] for i in agenda_ids}
    if agenda_ids:
        stmt = (
            sa.select(Decision)
            .where(Decision.agenda_item_id.in_(agenda_ids))
            .order_by(Decision.decided_at, Decision.id)
        )
        for d in (await session.execute(stmt)).scalars():
            out[d.agenda_item_id].append(d)
    return out
