"""Audit trail of sensitive operations (查看个人信息等审计): written in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository
from app.audit.models import AuditEntry
from app.observability import request_id_var
from app.scope import Principal


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    object_type: str,
    object_id: uuid.UUID,
    area_id: uuid.UUID | None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one row; it commits or rolls back together with the operation it records."""
    return await repository.append(
        session,
        AuditEntry(
            actor_id=principal.user_id,
            actor_username=principal.username,
            actor_role=principal.role.value,
            action=action,
            object_type=object_type,
            object_id=object_id,
            area_id=area_id,
            reason=reason,
            request_id=request_id_var.get(),
        ),
    )


async def list_entries(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[AuditEntry]:
    return await repository.list_in_scope(session, principal, filters=filters, after=after, limit=limit)
