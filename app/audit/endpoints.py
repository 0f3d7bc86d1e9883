"""/api/v1/audit — the audit log (审计日志)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.audit import service
from app.audit.schemas import AuditEntryOut
from app.auth.deps import require_roles
from app.auth.roles import Role
from app.errors import problem_responses
from app.kit.routes import list_route
from app.kit.routing import Router
from app.kit.schemas import QueryDatetime
from app.scope import Principal

router = Router(prefix="/api/v1/audit", tags=["audit"], responses=problem_responses(403))
AUDIT_READERS = (Role.ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN)
AuditReader = Annotated[Principal, Depends(require_roles(*AUDIT_READERS))]


list_route(
    router,
    "",
    AuditEntryOut,
    AuditReader,
    "audit",
    service.list_entries,
    filters={
        "object_type": Annotated[str | None, Query(max_length=32)],
        "object_id": uuid.UUID | None,
        "actor_id": uuid.UUID | None,
        "action": Annotated[str | None, Query(max_length=64)],
        "since": QueryDatetime | None,
    },
    out=AuditEntryOut.model_validate,
    key=lambda entry: [entry.at, entry.id],
    operation_id="audit_list",
    summary="Audit log (审计日志)",
    description="Who revealed which personal data, when and why, newest first. Administrators "
    "(admin, street and community administrators) see the entries about objects in their own area "
    "subtree. The log is append-only: the database refuses updates and deletes.",
)
