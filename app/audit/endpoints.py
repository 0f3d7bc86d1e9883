"""/api/v1/audit — the audit log (审计日志)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.audit import service
from app.audit.schemas import AuditEntryOut
from app.auth.deps import SettingsDep, require_roles
from app.auth.roles import Role
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.routing import Router
from app.kit.schemas import Page, QueryDatetime
from app.scope import Principal

router = Router(prefix="/api/v1/audit", tags=["audit"], responses=problem_responses(403))
AUDIT_READERS = (Role.ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN)
AuditReader = Annotated[Principal, Depends(require_roles(*AUDIT_READERS))]


@router.get(
    "",
    response_model=Page[AuditEntryOut],
    operation_id="audit_list",
    summary="Audit log (审计日志)",
    description="Who revealed which personal data, when and why, newest first. Administrators "
    "(admin, street and community administrators) see the entries about objects in their own area "
    "subtree. The log is append-only: the database refuses updates and deletes.",
)
async def list_audit(
    session: SessionDep,
    principal: AuditReader,
    settings: SettingsDep,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: QueryDatetime | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AuditEntryOut]:
    filters = {
        "object_type": object_type,
        "object_id": object_id,
        "actor_id": actor_id,
        "action": action,
        "since": since,
    }
    keys = Keyset.open(settings, principal, "audit", cursor)
    rows = await service.list_entries(session, principal, filters=filters, after=keys.after, limit=limit)
    return keys.answer(rows, limit, AuditEntryOut.model_validate, key=lambda entry: [entry.at, entry.id])
