"""SQL for the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.kit.pagination import keyset
from app.scope import Principal, scope_filter


async def append(session: AsyncSession, entry: AuditEntry) -> AuditEntry:
    session.add(entry)
    await session.flush()
    return entry


async def list_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: dict[str, Any],
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[AuditEntry]:
    stmt = sa.select(AuditEntry).where(scope_filter(principal, area_column=AuditEntry.area_id))
    for column in ("object_type", "object_id", "actor_id", "action"):
        if filters.get(column) is not None:
            stmt = stmt.where(getattr(AuditEntry, column) == filters[column])
    if filters.get("since") is not None:
        stmt = stmt.where(AuditEntry.at >= filters["since"])
    stmt = keyset(stmt, [AuditEntry.at, AuditEntry.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()
