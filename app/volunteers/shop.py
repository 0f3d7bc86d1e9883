"""爱心超市: a community's catalogue with stock, donations in, and redemptions for points.

A redemption takes the points and the stock in one transaction: the volunteer's points account is
locked first (the ledger refuses an overspend), then the stock is taken with a conditional UPDATE
(``stock >= quantity``), so of many clients after the last item exactly one gets it and the stock
never goes below zero (a CHECK keeps it there too).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound, ValidationFailed, field_error
from app.grids import service as grids
from app.grids.models import Area
from app.kit import clock
from app.kit.ids import new_id
from app.kit.pagination import keyset
from app.scope import Principal, in_subtree, path_within, resolve_in_scope, scope_filter
from app.volunteers import ledger
from app.volunteers import service as volunteers
from app.volunteers.ledger import Leg
from app.volunteers.models import AccountKind, LedgerUnit, PostingKind, ShopDonation, ShopItem, ShopRedemption


async def create_item(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> ShopItem:
    area = await grids.get_in_scope(session, principal, data.get("area_id") or principal.area_id, field="area_id")
    item = ShopItem(id=new_id(), area_id=area.id, name=data["name"], points=data["points"], stock=data["stock"])
    session.add(item)
    await session.flush()
    await session.refresh(item)
    return item


async def get_item(session: AsyncSession, principal: Principal, item_id: uuid.UUID) -> ShopItem:
    stmt = sa.select(ShopItem).where(ShopItem.id == item_id, scope_filter(principal, area_column=ShopItem.area_id))
    item = (await session.execute(stmt)).scalar_one_or_none()
    if item is None:
        raise NotFound("No such item in your area's shop.", code="shop_item_not_found")
    return item


async def list_items(
    session: AsyncSession, principal: Principal, *, area_id: uuid.UUID | None, after: Sequence[Any] | None, limit: int
) -> Sequence[ShopItem]:
    stmt = sa.select(ShopItem).where(scope_filter(principal, area_column=ShopItem.area_id))
    if area_id:
        path = (await grids.get_in_scope(session, principal, area_id, field="area_id")).path
        stmt = stmt.where(in_subtree(ShopItem.area_id, path))
    stmt = keyset(stmt, [ShopItem.created_at, ShopItem.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()


async def donate(session: AsyncSession, principal: Principal, item: ShopItem, data: dict[str, Any]) -> ShopItem:
    """Goods given (by a unit, a resident …) are recorded and go into stock."""
    session.add(
        ShopDonation(
            item_id=item.id,
            area_id=item.area_id,
            donor=data["donor"],
            quantity=data["quantity"],
            recorded_by=principal.user_id,
            recorded_at=clock.now(),
        )
    )
    table = cast(sa.Table, ShopItem.__table__)
    await session.execute(
        table.update()
        .where(table.c.id == item.id)
        .values(stock=table.c.stock + data["quantity"], version=table.c.version + 1, updated_at=clock.now())
    )
    await session.flush()
    return await _reload(session, item.id)


async def _reload(session: AsyncSession, item_id: uuid.UUID) -> ShopItem:
    stmt = sa.select(ShopItem).where(ShopItem.id == item_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


async def redeem(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    volunteer = await volunteers.volunteer_ref(session, principal, data["volunteer_id"], "volunteer_id")
    item: ShopItem = await resolve_in_scope(
        session, principal, ShopItem, data["item_id"], field="item_id", thing="shop_item"
    )
    paths = dict(
        (
            await session.execute(sa.select(Area.id, Area.path).where(Area.id.in_([item.area_id, volunteer.area_id])))
        ).all()
    )
    if not item.is_active or not path_within(paths[volunteer.area_id], paths[item.area_id]):
        raise ValidationFailed(
            "This item is not offered to this volunteer's community.",
            code="item_not_offered",
            errors=[field_error("item_id", "not in the volunteer's community shop")],
        )
    quantity = int(data["quantity"])
    points = item.points * quantity
    redemption_id = new_id()
    mine, shop = await ledger.accounts(
        session,
        ledger.Owner(AccountKind.VOLUNTEER, LedgerUnit.POINTS, volunteer.area_id, volunteer.id),
        ledger.Owner(AccountKind.SHOP, LedgerUnit.POINTS, item.area_id),
    )
    posting = await ledger.post(
        session,
        principal,
        area_id=item.area_id,
        kind=PostingKind.REDEMPTION,
        source_key=f"redemption:{redemption_id}",
        legs=[Leg(mine, -points), Leg(shop, points)],
        memo=f"{item.name} × {quantity}",
    )
    table = cast(sa.Table, ShopItem.__table__)
    stock = await session.scalar(
        table.update()
        .where(table.c.id == item.id, table.c.stock >= quantity)
        .values(stock=table.c.stock - quantity, version=table.c.version + 1, updated_at=clock.now())
        .returning(table.c.stock)
    )
    if stock is None:
        raise Conflict(
            "This item is out of stock.", code="out_of_stock", errors=[field_error("quantity", "more than in stock")]
        )
    redemption = ShopRedemption(
        id=redemption_id,
        item_id=item.id,
        volunteer_id=volunteer.id,
        area_id=item.area_id,
        quantity=quantity,
        points=points,
        posting_id=posting.id,
        redeemed_by=principal.user_id,
        redeemed_at=clock.now(),
    )
    session.add(redemption)
    await session.flush()
    # The posting read the account under its lock (nobody else moves it until we commit): the
    # balance now is that one less these points.
    balance = mine.balance - points
    return {
        "id": redemption.id,
        "item_id": item.id,
        "volunteer_id": volunteer.id,
        "area_id": item.area_id,
        "quantity": quantity,
        "points": points,
        "posting_id": posting.id,
        "redeemed_at": redemption.redeemed_at,
        "balance": balance,
        "stock": int(stock),
    }
