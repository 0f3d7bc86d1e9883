"""/api/v1/sync — the change feed for offline clients (离线同步)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from app.auth.deps import require_roles
from app.auth.roles import Role
from app.config import SettingsDep
from app.errors import PROBLEM_JSON, PROBLEM_REF, problem_responses
from app.kit.pagination import LimitQuery
from app.kit.routing import Router
from app.replicas import ReplicaSessionDep
from app.scope import Principal
from app.sync import service
from app.sync.schemas import ChangeOut, ChangesPage

router = Router(prefix="/api/v1/sync", tags=["sync"], responses=problem_responses(403))
SYNC_ROLES = (Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN)
Syncer = Annotated[Principal, Depends(require_roles(*SYNC_ROLES))]


@router.get(
    "/changes",
    response_model=ChangesPage,
    operation_id="sync_changes",
    summary="Changes since a cursor (离线同步变更)",
    description="Changes to objects in the caller's area after `since`, oldest first, each `upsert` with "
    "the object's current (masked) snapshot, each `delete` as a tombstone. Without `since` the feed starts "
    "at the oldest retained change; `since=now` returns no items and a cursor at the present — take it "
    "before a full sync. `types` is a comma-separated list (`diary`, `disputes`, `issues`, `pairings`, "
    "`commitment_activities` — the latter kept at the community and pulled from its grids too); types your role "
    "may not read are left out. A change is only returned once every older transaction has finished, so a write "
    "that commits late is never skipped. 410 `cursor_expired` when the cursor is older than the retention "
    "window and 410 `scope_changed` when your area has moved: do a full sync. When your area has only "
    "narrowed, the feed first sends `delete` tombstones for what you were sent and may no longer see (they "
    "count against `limit`). `since` is opaque and only valid for you: an edited cursor or another user's "
    "is 422 `invalid_cursor`.",
    responses={
        410: {
            "description": "Cursor expired or scope changed (`cursor_expired`, `scope_changed`): full sync required",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
    },
)
async def changes(
    session: ReplicaSessionDep,
    principal: Syncer,
    settings: SettingsDep,
    since: Annotated[str | None, Query(max_length=512)] = None,
    types: Annotated[str | None, Query(max_length=200, examples=["diary,disputes"])] = None,
    limit: LimitQuery = 100,
) -> ChangesPage:
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else None
    page = await service.read_changes(
        session,
        principal,
        since=since,
        types=wanted,
        limit=limit,
        settings=settings,
    )
    return ChangesPage(
        items=[ChangeOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor, has_more=page.has_more
    )
