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

from app.errors import Conflict, ValidationFailed, field_error
from app.grids import service as grids
from app.grids.models import Area
from app.kit import clock
from app.kit.ids import new_id
from app.scope import Principal, path_within
from app.volunteers import ledger
from app.volunteers import repository as repo
from app.volunteers import service as volunteers
from app.volunteers.models import AccountKind, LedgerUnit, PostingKind, ShopDonation, ShopItem, ShopRedemption


async def create_item(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> ShopItem:
    area = await grids.get_in_scope(session, principal, data.get("area_id") or principal.area_id, field="area_id")
    item = ShopItem(id=new_id(), area_id=area.id, name=data["name"], points=data["points"], stock=data["stock"])
    return await repo.saved(session, item, new=True)


get_item = repo.shop_items.one
"""An item of the shop of the caller's area; 404 ``shop_item_not_found``."""


async def list_items(
    session: AsyncSession, principal: Principal, *, area_id: uuid.UUID | None, after: Sequence[Any] | None, limit: int
) -> Sequence[ShopItem]:
    where = await volunteers.in_area(session, principal, ShopItem.area_id, area_id)
    return await repo.shop_items.list_in_scope(session, principal, *where, after=after, limit=limit)


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
    await session.execute(_stock_change(item.id, data["quantity"]))
    await session.flush()
    return await _reload(session, item.id)


def _items() -> sa.Table:
    return cast(sa.Table, ShopItem.__table__)


def _stock_change(item_id: uuid.UUID, quantity: int) -> sa.Update:
    """The UPDATE that adds ``quantity`` (taken when negative) to an item's stock, as a new version."""
    table = _items()
    return (
        table.update()
        .where(table.c.id == item_id)
        .values(stock=table.c.stock + quantity, version=table.c.version + 1, updated_at=clock.now())
    )


def _taking() -> sa.Select[Any]:
    """One statement: ``quantity`` taken from the item's stock unless that would go below zero and,
    when taken, the redemption and its posting written (:func:`app.volunteers.ledger.posting_ctes`);
    the stock left, or no row — and nothing written — when there was not enough. Built once
    (:data:`_TAKE`); a redemption binds ``item_id``, ``quantity``, ``now``, the redemption's
    columns and the checked posting's parameters."""
    table = _items()
    quantity = sa.bindparam("quantity", type_=table.c.stock.type)
    taken = (
        table.update()
        .where(table.c.id == sa.bindparam("item_id", type_=table.c.id.type), table.c.stock >= quantity)
        .values(
            stock=table.c.stock - quantity,
            version=table.c.version + 1,
            updated_at=sa.bindparam("now", type_=table.c.updated_at.type),
        )
        .returning(table.c.stock)
        .cte("taken")
    )
    redemptions = cast(sa.Table, ShopRedemption.__table__)
    columns = redemptions.columns
    values = [sa.bindparam(f"redemption_{c.name}", type_=c.type).label(c.name) for c in columns]
    written = (
        sa.insert(redemptions)
        .from_select([c.name for c in columns], sa.select(*values).select_from(taken))
        .cte("written")
    )
    return sa.select(taken.c.stock).add_cte(ledger.posting_ctes(after=taken), written)


_TAKE = _taking()


async def _reload(session: AsyncSession, item_id: uuid.UUID) -> ShopItem:
    stmt = sa.select(ShopItem).where(ShopItem.id == item_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


async def _offered_to(session: AsyncSession, item: ShopItem, volunteer: Any) -> bool:
    """Whether ``item``'s shop serves ``volunteer``: its own community's (no statement), or one
    whose area holds the volunteer's."""
    if item.area_id == volunteer.area_id:
        return True
    stmt = sa.select(Area.id, Area.path).where(Area.id.in_([item.area_id, volunteer.area_id]))
    paths = dict((await session.execute(stmt)).all())
    return path_within(paths[volunteer.area_id], paths[item.area_id])


async def redeem(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    volunteer, item = await repo.volunteer_and_item(session, principal, data["volunteer_id"], data["item_id"])
    volunteers.active(volunteer, "volunteer_id")
    if not item.is_active or not await _offered_to(session, item, volunteer):
        raise ValidationFailed(
            "This item is not offered to this volunteer's community.",
            code="item_not_offered",
            errors=[field_error("item_id", "not in the volunteer's community shop")],
        )
    quantity = int(data["quantity"])
    points = item.points * quantity
    redemption_id = new_id()
    checked = await ledger.prepare_transfer(
        session,
        principal,
        ledger.Owner(AccountKind.VOLUNTEER, LedgerUnit.POINTS, volunteer.area_id, volunteer.id),
        ledger.Owner(AccountKind.SHOP, LedgerUnit.POINTS, item.area_id),
        points,
        area_id=item.area_id,
        kind=PostingKind.REDEMPTION,
        source_key=f"redemption:{redemption_id}",
        memo=f"{item.name} × {quantity}",
    )
    redemption = {
        "id": redemption_id,
        "item_id": item.id,
        "volunteer_id": volunteer.id,
        "area_id": item.area_id,
        "quantity": quantity,
        "points": points,
        "posting_id": checked.posting.id,
        "redeemed_by": principal.user_id,
        "redeemed_at": clock.now(),
    }
    taking = {"item_id": item.id, "quantity": quantity, "now": clock.now()}
    params = taking | {f"redemption_{k}": v for k, v in redemption.items()} | checked.params
    stock = await session.scalar(_TAKE, params)
    if stock is None:
        raise Conflict(
            "This item is out of stock.", code="out_of_stock", errors=[field_error("quantity", "more than in stock")]
        )
    # The posting is not added to the session: nothing in the request reads it again.
    # The posting read the account under its lock (nobody else moves it until we commit): the
    # balance now is that one less these points.
    balance = checked.payer.balance - points
    return {
        **{k: v for k, v in redemption.items() if k != "redeemed_by"},
        "balance": balance,
        "stock": int(stock),
    }
