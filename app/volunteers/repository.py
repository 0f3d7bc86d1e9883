"""Scoped reads of the volunteers' rows: what the caller may see of their area's subtree, with
the 404 ``<thing>_not_found`` of an id in a path and the 422 ``unknown_<thing>`` of one in a body."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.repository import ScopedRepository
from app.kit.repository import saved as saved  # the volunteers' modules write through it
from app.scope import Principal
from app.volunteers.models import LedgerPosting, Pairing, ServiceRecord, ShopItem, TimebankRequest, Volunteer, Wish

volunteers = ScopedRepository(Volunteer, thing="volunteer")
records = ScopedRepository(ServiceRecord, thing="service_record")
postings = ScopedRepository(LedgerPosting, thing="posting", order=(LedgerPosting.posted_at, LedgerPosting.id))
shop_items = ScopedRepository(ShopItem, thing="shop_item", label="item", within="your area's shop")
timebank_requests = ScopedRepository(TimebankRequest, thing="timebank_request", label="time-bank request")
wishes = ScopedRepository(Wish, thing="wish")
pairings = ScopedRepository(Pairing, thing="pairing")

RowT = TypeVar("RowT")


async def afresh(
    session: AsyncSession, rows: ScopedRepository[RowT], principal: Principal, object_id: uuid.UUID, *, for_update: bool
) -> RowT:
    """:meth:`ScopedRepository.one` of an id in a path, read afresh even when the session holds
    the row: a sweep or a batch of this request may have changed it with a statement of its own."""
    model: Any = rows.model
    stmt = rows.select(principal).where(model.id == object_id)
    if for_update:
        stmt = stmt.with_for_update()
    found: RowT | None = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if found is None:
        raise rows.missing()
    return found
