"""SQL of the 12345 hotline integration."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.integrations.hotline.models import HotlineCategoryMap, HotlineMessage, HotlineTicket, HotlineUnmappedCode
from app.issues.models import Issue
from app.kit.repository import insert_new
from app.scope import Principal, scope_filter


async def api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def claim_message(session: AsyncSession, values: dict[str, Any]) -> HotlineMessage | None:
    """Insert the message unless its ``(api_key_id, webhook_id)`` was seen; ``None`` when it was.

    A concurrent delivery of the same message waits here (on a transaction advisory lock on the pair)
    until the first one commits or rolls back. The table is partitioned by month, so no unique index
    can hold the pair; a message is recognised while its partition is kept
    (``hotline_message_retention_months``).
    """
    pair = f"hotline:{values['api_key_id']}:{values['webhook_id']}"
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(pair, 0))))
    seen = await session.scalar(
        sa.select(HotlineMessage.id).where(
            HotlineMessage.api_key_id == values["api_key_id"], HotlineMessage.webhook_id == values["webhook_id"]
        )
    )
    if seen is not None:
        return None
    message = HotlineMessage(**values)
    session.add(message)
    await session.flush()
    return message


async def message(session: AsyncSession, api_key_id: uuid.UUID, webhook_id: str) -> HotlineMessage:
    stmt = sa.select(HotlineMessage).where(
        HotlineMessage.api_key_id == api_key_id, HotlineMessage.webhook_id == webhook_id
    )
    return (await session.execute(stmt)).scalar_one()


async def claim_ticket(session: AsyncSession, values: dict[str, Any]) -> HotlineTicket | None:
    """Insert the ticket unless this integration sent the same number before; ``None`` when it did."""
    return await insert_new(session, HotlineTicket, values, unique=["integration_user_id", "ticket_number"])


async def ticket_with_issue(
    session: AsyncSession, integration_user_id: uuid.UUID, ticket_number: str, principal: Principal | None = None
) -> tuple[HotlineTicket, Issue] | None:
    """The ticket and its issue; with ``principal``, only when the issue lies in its scope."""
    stmt = (
        sa.select(HotlineTicket, Issue)
        .join(Issue, Issue.id == HotlineTicket.issue_id)
        .where(
            HotlineTicket.integration_user_id == integration_user_id,
            HotlineTicket.ticket_number == ticket_number,
        )
    )
    if principal is not None:
        stmt = stmt.where(scope_filter(principal, area_column=Issue.area_id))
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def mapped_category(session: AsyncSession, external_code: str) -> str | None:
    stmt = sa.select(HotlineCategoryMap.category).where(HotlineCategoryMap.external_code == external_code)
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_unmapped(session: AsyncSession, external_code: str, now: dt.datetime) -> None:
    stmt = (
        insert(HotlineUnmappedCode)
        .values(external_code=external_code, seen_count=1, first_seen_at=now, last_seen_at=now)
        .on_conflict_do_update(
            index_elements=["external_code"],
            set_={"seen_count": HotlineUnmappedCode.seen_count + 1, "last_seen_at": now},
        )
    )
    await session.execute(stmt)


async def category_map(session: AsyncSession) -> Sequence[HotlineCategoryMap]:
    return (
        (await session.execute(sa.select(HotlineCategoryMap).order_by(HotlineCategoryMap.external_code)))
        .scalars()
        .all()
    )


async def unmapped_codes(session: AsyncSession) -> Sequence[HotlineUnmappedCode]:
    stmt = sa.select(HotlineUnmappedCode).order_by(
        HotlineUnmappedCode.seen_count.desc(), HotlineUnmappedCode.external_code
    )
    return (await session.execute(stmt)).scalars().all()


async def replace_category_map(session: AsyncSession, rows: Sequence[HotlineCategoryMap]) -> None:
    await session.execute(sa.delete(HotlineCategoryMap))
    session.add_all(rows)
    await session.flush()
    if rows:
        codes = [r.external_code for r in rows]
        await session.execute(sa.delete(HotlineUnmappedCode).where(HotlineUnmappedCode.external_code.in_(codes)))
