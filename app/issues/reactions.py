"""What other domains do when an issue closes or reopens, without issues knowing them.

A domain that follows issues registers a reaction (:func:`on_closed`, :func:`on_reopened`) when
it is imported — a 民情日记 entry escalated into an issue follows its fate (:mod:`app.diary.reactions`).
The actions call :func:`closed` / :func:`reopened` in the same transaction as the change, so a
reaction's writes commit or roll back with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

Reaction = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]

_ON_CLOSED: list[Reaction] = []
_ON_REOPENED: list[Reaction] = []


def on_closed(reaction: Reaction) -> Reaction:
    """Run ``reaction(session, issue_id)`` whenever an issue is closed (结案)."""
    _ON_CLOSED.append(reaction)
    return reaction


def on_reopened(reaction: Reaction) -> Reaction:
    """Run ``reaction(session, issue_id)`` whenever an issue is reopened (重办)."""
    _ON_REOPENED.append(reaction)
    return reaction


async def closed(session: AsyncSession, issue_id: uuid.UUID) -> None:
    for reaction in _ON_CLOSED:
        await reaction(session, issue_id)


async def reopened(session: AsyncSession, issue_id: uuid.UUID) -> None:
    for reaction in _ON_REOPENED:
        await reaction(session, issue_id)
