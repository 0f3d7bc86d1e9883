"""Audit trail of sensitive operations (查看个人信息等审计): written in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository
from app.audit.models import AuditEntry
from app.auth.roles import ROLES_SEEING_PERSONAL_DATA, Role
from app.errors import Forbidden
from app.observability import request_id_var
from app.scope import Principal


async def record(
    session: AsyncSession,
    principal: Principal,
    action: str,
    object_id: uuid.UUID,
    area_id: uuid.UUID | None,
    *,
    object_type: str | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one row; it commits or rolls back together with the operation it records. The object's
    type is the part of ``action`` before its last dot (``resident.reveal``: ``resident``) unless
    ``object_type`` says otherwise."""
    return await repository.append(
        session,
        AuditEntry(
            actor_id=principal.user_id,
            actor_username=principal.username,
            actor_role=principal.role.value,
            action=action,
            object_type=object_type or action.rpartition(".")[0],
            object_id=object_id,
            area_id=area_id,
            reason=reason,
            request_id=request_id_var.get(),
        ),
    )


def check_may_reveal(principal: Principal, roles: Collection[Role] = ROLES_SEEING_PERSONAL_DATA) -> None:
    """403 ``role_not_allowed`` unless ``principal``'s role may see clear personal data; the reveal
    itself is then recorded as ``<object type>.reveal`` with the reason given (查看明文须留痕)."""
    if principal.role not in roles:
        raise Forbidden("Your role may not see personal data.", code="role_not_allowed")


async def list_entries(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[AuditEntry]:
    return await repository.list_in_scope(session, principal, filters=filters, after=after, limit=limit)
