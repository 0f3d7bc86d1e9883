"""Issues in the offline-sync feed (离线同步): who may pull them, and their masked snapshots."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.config import Settings
from app.issues import presenter, repository
from app.issues.models import Issue
from app.issues.timeline import ENTITY
from app.kit import clock
from app.scope import Principal
from app.sync.changes import Feed, register_feed

SYNC_READERS = frozenset({Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})


async def snapshots(
    session: AsyncSession, principal: Principal, ids: Any, settings: Settings
) -> dict[uuid.UUID, dict[str, Any]]:
    """The issues' response shape (as JSON values) for those of ``ids`` in the caller's scope."""
    now = clock.now()
    return {
        i.id: orjson.loads(presenter.render(presenter.issue_fields(presenter.columns_of(i), principal, now)))
        for i in await repository.by_ids(session, principal, ids)
    }


register_feed(Feed.of(Issue, "issues", ENTITY, SYNC_READERS, snapshots))
