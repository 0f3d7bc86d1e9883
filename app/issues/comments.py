"""Comments (备注) and attachments (照片/材料): they join an issue's timeline without changing
its version, so a remark or a photo never makes a phone's pending action fail its If-Match."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import NotFound
from app.issues import files, reading, repository, timeline
from app.issues.models import Issue, IssueAttachment, IssueComment
from app.issues.workflow import Status
from app.kit import clock
from app.kit.ids import new_id
from app.kit.storage import Storage
from app.scope import Principal


async def _note(
    session: AsyncSession, issue: Issue, principal: Principal, action: str, payload: dict[str, Any], now: dt.datetime
) -> None:
    """On the timeline, at the issue's status and version."""
    status = Status(issue.status)
    timeline.record(session, issue, principal, action, status, status, payload, now)
    await timeline.keep_version(session, issue)


async def comments_of(
    session: AsyncSession, principal: Principal, issue_id: uuid.UUID, *, after: Sequence[Any] | None, limit: int
) -> Sequence[IssueComment]:
    """An issue's comments, oldest first, after the cursor's key (404 outside the caller's scope)."""
    issue = await reading.get_in_scope(session, principal, issue_id)
    return await repository.comments(session, issue.id, after=after, limit=limit)


async def attachments_of(session: AsyncSession, principal: Principal, issue_id: uuid.UUID) -> Sequence[IssueAttachment]:
    issue = await reading.get_in_scope(session, principal, issue_id)
    return await repository.attachments(session, issue.id)


async def attachment_of(
    session: AsyncSession, principal: Principal, issue_id: uuid.UUID, attachment_id: uuid.UUID
) -> IssueAttachment:
    """One attachment of an issue in the caller's scope: 404 ``attachment_not_found`` otherwise."""
    issue = await reading.get_in_scope(session, principal, issue_id)
    row = await repository.attachment(session, issue.id, attachment_id)
    if row is None:
        raise NotFound("No such attachment.", code="attachment_not_found")
    return row


async def add_comment(session: AsyncSession, principal: Principal, issue_id: uuid.UUID, text: str) -> IssueComment:
    issue = await reading.lock_in_scope(session, principal, issue_id)
    now = clock.now()
    comment = IssueComment(
        id=new_id(),
        issue_id=issue.id,
        author_id=principal.user_id,
        author_role=principal.role.value,
        author_name=principal.display_name,
        body=text,
        created_at=now,
    )
    session.add(comment)
    await _note(session, issue, principal, "comment", {"comment_id": str(comment.id)}, now)
    await session.flush()
    return comment


async def add_attachment(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    storage: Storage,
    issue_id: uuid.UUID,
    *,
    chunks: AsyncIterator[bytes],
    filename: str | None,
    kind: str,
) -> IssueAttachment:
    """Store a photo or document (type sniffed from its bytes, streamed in pieces) and note it on the timeline.

    The file is stored before the issue is locked: a slow upload never holds the issue's row."""
    await reading.get_in_scope(session, principal, issue_id)
    attachment_id = new_id()
    content_type, stored = await files.store(
        storage, issue_id, attachment_id, chunks, max_bytes=settings.max_upload_bytes
    )
    try:
        issue = await reading.lock_in_scope(session, principal, issue_id)
        now = clock.now()
        row = IssueAttachment(
            id=attachment_id,
            issue_id=issue.id,
            kind=kind,
            filename=(filename or "file")[:255],
            content_type=content_type,
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by=principal.user_id,
            created_at=now,
        )
        session.add(row)
        await _note(session, issue, principal, "attach", {"attachment_id": str(row.id), "kind": kind}, now)
        await session.flush()
    except BaseException:
        await files.remove(storage, issue_id, attachment_id)
        raise
    return row
