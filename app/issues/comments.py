"""Comments (备注) and attachments (照片/材料): they join an issue's timeline without changing
its version, so a remark or a photo never makes a phone's pending action fail its If-Match."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Principal
from app.config import Settings
from app.issues import files, reading, timeline
from app.issues.models import IssueAttachment, IssueComment
from app.issues.workflow import Status
from app.kit import clock
from app.kit.ids import new_id


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
    status = Status(issue.status)
    # Comments join the timeline but do not change the issue's version: a remark must not make
    # a phone's pending action fail its If-Match.
    timeline.record(session, issue, principal, "comment", status, status, {"comment_id": str(comment.id)}, now)
    await timeline.keep_version(session, issue)
    await session.flush()
    return comment


async def add_attachment(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    issue_id: uuid.UUID,
    *,
    data: bytes,
    filename: str | None,
    kind: str,
) -> IssueAttachment:
    """Store a photo or document (type sniffed from its bytes) and note it on the timeline."""
    issue = await reading.lock_in_scope(session, principal, issue_id)
    content_type = files.check(data)
    now = clock.now()
    row = IssueAttachment(
        id=new_id(),
        issue_id=issue.id,
        kind=kind,
        filename=(filename or "file")[:255],
        content_type=content_type,
        size=len(data),
        uploaded_by=principal.user_id,
        created_at=now,
    )
    row.sha256 = await files.store(settings.attachments_dir, issue.id, row.id, data)
    session.add(row)
    status = Status(issue.status)
    timeline.record(
        session, issue, principal, "attach", status, status, {"attachment_id": str(row.id), "kind": kind}, now
    )
    await timeline.keep_version(session, issue)
    try:
        await session.flush()
    except BaseException:
        await files.remove(settings.attachments_dir, issue.id, row.id)
        raise
    return row
