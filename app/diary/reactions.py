"""The diary's reaction to issues: a 民情日记 entry escalated into an issue follows its fate.

Registered with :mod:`app.issues.reactions` when the diary package is imported."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.diary.models import DiaryEntry
from app.issues import reactions
from app.sync.changes import Op, record_changes


async def _set_entries(session: AsyncSession, issue_id: uuid.UUID, *, from_status: str, to_status: str) -> None:
    stmt = (
        sa.select(DiaryEntry)
        .where(DiaryEntry.issue_id == issue_id, DiaryEntry.status == from_status)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    entries = (await session.execute(stmt)).scalars().all()
    for entry in entries:
        entry.status = to_status  # the flush moves the version (VersionMixin)
    await session.flush()
    await record_changes(session, [("diary_entry", e.id, e.area_id, Op.UPSERT) for e in entries])


@reactions.on_closed
async def issue_closed(session: AsyncSession, issue_id: uuid.UUID) -> None:
    """结案: the diary entry it came from is resolved (办结)."""
    await _set_entries(session, issue_id, from_status="escalated", to_status="resolved")


@reactions.on_reopened
async def issue_reopened(session: AsyncSession, issue_id: uuid.UUID) -> None:
    """重办: the entry is back to being handled as an issue."""
    await _set_entries(session, issue_id, from_status="resolved", to_status="escalated")
