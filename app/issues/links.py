"""What an issue's closing means elsewhere: a 民情日记 entry escalated into it follows its fate."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.diary.models import DiaryEntry
from app.sync.changes import Op, record_changes


async def _set_entries(session: AsyncSession, issue_id: uuid.UUID, *, from_status: str, to_status: str) -> None:
    rows = (
        await session.execute(
            sa.update(DiaryEntry)
            .where(DiaryEntry.issue_id == issue_id, DiaryEntry.status == from_status)
            .values(status=to_status, version=DiaryEntry.version + 1, updated_at=sa.func.now())
            .returning(DiaryEntry.id, DiaryEntry.area_id)
            .execution_options(synchronize_session="fetch")
        )
    ).all()
    await record_changes(session, [("diary_entry", r.id, r.area_id, Op.UPSERT) for r in rows])


async def issue_closed(session: AsyncSession, issue_id: uuid.UUID) -> None:
    """结案: the diary entry it came from is resolved (办结)."""
    await _set_entries(session, issue_id, from_status="escalated", to_status="resolved")


async def issue_reopened(session: AsyncSession, issue_id: uuid.UUID) -> None:
    """重办: the entry is back to being handled as an issue."""
    await _set_entries(session, issue_id, from_status="resolved", to_status="escalated")
