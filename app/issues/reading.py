"""Reading issues in the caller's scope: one to read, or locked to change it (404 outside); the
list, its count and export; an issue's timeline and its possible duplicates; the categories."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.db import ReadPool
from app.errors import NotFound
from app.grids import service as grids
from app.issues import repository
from app.issues.models import Issue, IssueEvent
from app.issues.presenter import Columns
from app.issues.repository import IssueFilters
from app.scope import Principal, admit_caller


def _not_found() -> NotFound:
    return NotFound("No such issue in your jurisdiction.", code="issue_not_found")


async def get_in_scope(session: AsyncSession, principal: Principal, issue_id: uuid.UUID) -> Issue:
    issue = await repository.get(session, principal, issue_id)
    if issue is None:
        raise _not_found()
    return issue


async def lock_in_scope(session: AsyncSession, principal: Principal, issue_id: uuid.UUID) -> Issue:
    """The issue, locked for the rest of the transaction: every change to it starts here."""
    issue = await repository.get(session, principal, issue_id, for_update=True)
    if issue is None:
        raise _not_found()
    return issue


@dataclass(frozen=True)
class IssueRead:
    principal: Principal
    issue: Columns  # the issue's columns by name
    co_reporters: list[dict[str, Any]]


async def read_for_token_user(
    db: ReadPool | AsyncSession, user_id: uuid.UUID, issue_id: uuid.UUID, roles: frozenset[Role]
) -> IssueRead:
    """Authenticate a bearer token's user and read the issue in one round trip (401 / 403 as the
    request dependencies give them; 404 outside the caller's scope)."""
    row = await repository.get_for_token_user(db, user_id, issue_id)
    principal = admit_caller(row, roles)
    if row["id"] is None:
        raise _not_found()
    reporters = row["co_reporters"] or []  # the engine's connections decode JSON already
    return IssueRead(principal, row, json.loads(reporters) if isinstance(reporters, str) else reporters)


async def filters_in_scope(
    session: AsyncSession, principal: Principal, f: IssueFilters, area_id: uuid.UUID | None
) -> IssueFilters:
    if area_id is not None:
        f.area_path = (await grids.get_in_scope(session, principal, area_id, field="area_id")).path
    return f


page = repository.list_page
"""A page of the list (``limit + 1`` rows after the cursor's key), as plain rows."""

count = repository.count
"""How many issues the filters match in the caller's scope (an export checks its size with it)."""

export_rows = repository.export_rows
"""The statement of an export's rows, read in pieces on a session of its own."""

categories = repository.categories
"""The category tree as a flat list, in display order."""


async def events(
    session: AsyncSession, principal: Principal, issue_id: uuid.UUID, *, after_seq: int, limit: int
) -> Sequence[IssueEvent]:
    """An issue's timeline after ``after_seq``, in order (404 outside the caller's scope)."""
    issue = await get_in_scope(session, principal, issue_id)
    return await repository.events(session, issue.id, after_seq=after_seq, limit=limit)


async def similar(
    session: AsyncSession, principal: Principal, issue_id: uuid.UUID, *, limit: int
) -> Sequence[tuple[Issue, float, float | None]]:
    """Open issues in scope that may be duplicates of this one, best first, with score and distance."""
    issue = await get_in_scope(session, principal, issue_id)
    return await repository.similar(session, principal, issue, limit=limit)
