"""Comments (备注) and attachments (照片/材料): they join an issue's timeline without changing
its version, so a remark or a photo never makes a phone's pending action fail its If-Match."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Principal
from app.config import Settings
from app.issues import files, reading, timeline
from app.issues.models import Issue, IssueAttachment, IssueComment
from app.issues.workflow import Status
from app.kit import clock
from app.kit.ids import new_id


async def _note(
    session: AsyncSession, issue: Issue, principal: Principal, action: str, payload: dict[str, Any], now: dt.datetime
) -> None:
    """On the timeline, at the issue's status and version."""
    status = Status(issue.status)
    timeline.record(session, issue, principal, action, status, status, payload, now)
    await timeline.keep_version(session, issue)


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
    await _note(session, issue, principal, "attach", {"attachment_id": str(row.id), "kind": kind}, now)
    try:
        await session.flush()
    except BaseException:
        await files.remove(settings.attachments_dir, issue.id, row.id)
        raise
    return row
