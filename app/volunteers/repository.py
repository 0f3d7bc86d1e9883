"""Scoped reads of the volunteers' rows: what the caller may see of their area's subtree, with
the 404 ``<thing>_not_found`` of an id in a path and the 422 ``unknown_<thing>`` of one in a body."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.repository import ScopedRepository
from app.kit.repository import saved as saved  # the volunteers' modules write through it
from app.scope import Principal, ScopeShape, scope_params, unknown_reference
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


_REDEEMING: dict[ScopeShape, sa.Select[Volunteer, ShopItem]] = {}


async def volunteer_and_item(
    session: AsyncSession, principal: Principal, volunteer_id: uuid.UUID, item_id: uuid.UUID
) -> tuple[Volunteer, ShopItem]:
    """The volunteer and the shop item a redemption names, in one statement, each under its own
    scope rule: 422 ``unknown_volunteer`` / ``unknown_shop_item`` (in that order) as
    :meth:`ScopedRepository.one` would answer for either."""
    shape = volunteers.shape(principal)
    stmt = _REDEEMING.get(shape)
    if stmt is None:
        one = sa.select(sa.literal(1).label("one")).subquery("one")
        stmt = _REDEEMING[shape] = (
            sa.select(Volunteer, ShopItem)
            .select_from(one)
            .outerjoin(Volunteer, sa.and_(Volunteer.id == sa.bindparam("volunteer_id"), volunteers.template(shape)))
            .outerjoin(ShopItem, sa.and_(ShopItem.id == sa.bindparam("item_id"), shop_items.template(shape)))
        )
    params = {"volunteer_id": volunteer_id, "item_id": item_id, **scope_params(principal, shape)}
    # Outer joins: either is None when it does not exist or the caller may not see it.
    volunteer, item = (await session.execute(stmt, params)).one()
    if volunteer is None:
        raise unknown_reference("volunteer", "volunteer_id")
    if item is None:
        raise unknown_reference("shop_item", "item_id")
    return volunteer, item
