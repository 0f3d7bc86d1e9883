"""SQL for the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.kit.repository import ScopedRepository
from app.scope import Principal

entries = ScopedRepository(AuditEntry, order=(AuditEntry.at, AuditEntry.id), thing="audit_entry")


async def append(session: AsyncSession, entry: AuditEntry) -> AuditEntry:
    session.add(entry)
    await session.flush()
    return entry


async def list_in_scope(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[AuditEntry]:
    where = entries.narrowed(filters, "object_type", "object_id", "actor_id", "action")
    if filters.get("since") is not None:
        where.append(AuditEntry.at >= filters["since"])
    return await entries.list_in_scope(session, principal, *where, after=after, limit=limit)
