"""Finding an issue in the caller's scope: to read it, or locked to change it (404 outside)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.db import ReadPool
from app.errors import NotFound
from app.grids import service as grids
from app.issues import repository
from app.issues.models import Issue
from app.issues.presenter import Columns
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
    session: AsyncSession, principal: Principal, f: repository.IssueFilters, area_id: uuid.UUID | None
) -> repository.IssueFilters:
    if area_id is not None:
        f.area_path = (await grids.get_in_scope(session, principal, area_id, field="area_id")).path
    return f
