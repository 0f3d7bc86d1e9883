"""The resident's one-time 回访 link: issued when an issue is closed, redeemed once (no login).

A link works once, for 30 days, and only for the closing it was sent for: an issue reopened
since (and perhaps closed again, with a link of its own) refuses it. Only the link's hash is
stored. The rating it carries is taken by :func:`app.issues.actions.submit_feedback`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Gone, NotFound
from app.issues import repository
from app.issues.models import FeedbackToken, Issue
from app.issues.workflow import Status

FEEDBACK_TTL = dt.timedelta(days=30)
"""A resident's 回访 link works once, for 30 days after closing."""
FEEDBACK_PATH = "/api/v1/feedback/"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feedback_url(token: str) -> str:
    return FEEDBACK_PATH + token


def issue_link(session: AsyncSession, issue: Issue, now: dt.datetime) -> str:
    """A new link for the closing of ``issue`` at ``now``; returns its token (shown once)."""
    token = secrets.token_urlsafe(32)
    session.add(
        FeedbackToken(
            issue_id=issue.id,
            token_hash=_token_hash(token),
            created_at=now,
            expires_at=now + FEEDBACK_TTL,
        )
    )
    return token


def _not_valid() -> NotFound:
    return NotFound("This feedback link is not valid.", code="feedback_not_found")


async def redeem(session: AsyncSession, token: str, now: dt.datetime) -> Issue:
    """Use the link up: its issue, locked (404 unknown link, 410 used, expired or reopened since)."""
    row = await repository.feedback_token(session, _token_hash(token))
    if row is None:
        raise _not_valid()
    if row.used_at is not None:
        raise Gone("This feedback link has already been used.", code="feedback_used")
    if now >= row.expires_at:
        raise Gone("This feedback link has expired.", code="feedback_expired")
    issue = await repository.get_unscoped(session, row.issue_id, for_update=True)
    if issue is None:  # pragma: no cover - tokens cascade with their issue
        raise _not_valid()
    if Status(issue.status) is not Status.CLOSED or (issue.closed_at is not None and row.created_at < issue.closed_at):
        # reopened since, and perhaps closed again: that closing has its own link
        raise Gone("The issue has been reopened since this link was sent.", code="feedback_expired")
    row.used_at = now
    return issue
