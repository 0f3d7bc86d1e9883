"""Photos of activities (活动照片): kept in the attachments storage as the issues' are (type sniffed
from the first bytes, streamed in pieces, size capped), read by whoever reads the activity."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.commitments import repository
from app.commitments.models import CommitmentActivity, CommitmentActivityPhoto
from app.config import Settings
from app.errors import NotFound
from app.issues import files
from app.kit import clock
from app.kit.ids import new_id
from app.kit.repository import children
from app.kit.storage import Storage
from app.scope import Principal


async def activity_in_scope(session: AsyncSession, principal: Principal, activity_id: uuid.UUID) -> CommitmentActivity:
    (row,) = await repository.activities_by_ids(session, principal, [activity_id]) or (None,)
    if row is None:
        raise NotFound("No such activity in your area.", code="commitment_activity_not_found")
    return row


async def add(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    storage: Storage,
    activity_id: uuid.UUID,
    *,
    chunks: AsyncIterator[bytes],
    filename: str | None,
) -> CommitmentActivityPhoto:
    """Store the file first (a slow upload holds no row), then record it; a failed record removes the file."""
    activity = await activity_in_scope(session, principal, activity_id)
    photo_id = new_id()
    content_type, stored = await files.store(
        storage, activity.id, photo_id, chunks, max_bytes=settings.max_upload_bytes
    )
    try:
        row = CommitmentActivityPhoto(
            id=photo_id,
            activity_id=activity.id,
            filename=(filename or "photo")[:255],
            content_type=content_type,
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by=principal.user_id,
            created_at=clock.now(),
        )
        session.add(row)
        await session.flush()
    except BaseException:
        await files.remove(storage, activity.id, photo_id)
        raise
    return row


async def of_activity(session: AsyncSession, activity_id: uuid.UUID) -> Sequence[CommitmentActivityPhoto]:
    order = (CommitmentActivityPhoto.created_at, CommitmentActivityPhoto.id)
    return await children(session, CommitmentActivityPhoto, CommitmentActivityPhoto.activity_id, activity_id, order)


async def one(session: AsyncSession, activity_id: uuid.UUID, photo_id: uuid.UUID) -> CommitmentActivityPhoto:
    row = await session.scalar(
        sa.select(CommitmentActivityPhoto).where(
            CommitmentActivityPhoto.id == photo_id, CommitmentActivityPhoto.activity_id == activity_id
        )
    )
    if row is None:
        raise NotFound("No such photo.", code="attachment_not_found")
    return row
