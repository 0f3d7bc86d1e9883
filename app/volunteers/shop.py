"""爱心超市: a community's catalogue with stock, donations in, and redemptions for points.

A redemption takes the points and the stock in one transaction: the volunteer's points account is
locked first (the ledger refuses an overspend), then the stock is taken with a conditional UPDATE
(``stock >= quantity``), so of many clients after the last item exactly one gets it and the stock
never goes below zero (a CHECK keeps it there too).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import DriverStatement, ReadPool
from app.errors import Conflict, ValidationFailed, field_error
from app.grids import service as grids
from app.grids.models import Area
from app.kit import clock, idempotency
from app.kit.idempotency import IdempotencyKey
from app.kit.ids import new_id
from app.scope import Principal, ScopeShape, path_within, scope_params, unknown_reference
from app.volunteers import ledger
from app.volunteers import repository as repo
from app.volunteers import service as volunteers
from app.volunteers.models import (
    AccountKind,
    LedgerAccount,
    LedgerUnit,
    PostingKind,
    ShopDonation,
    ShopItem,
    ShopRedemption,
    Volunteer,
)


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


# --- the common redemption in two statements, with no transaction ---------------------------------
#
# Most redemptions are a volunteer of the shop's own community with points and stock to spare.
# Those are read in one statement (the volunteer and the item under their scope rules, both points
# accounts, what is stored under the Idempotency-Key) and written in one, autocommitted on its own:
# it locks both accounts, and takes the stock, writes the posting, its entries, the redemption and
# the key completed with the answer only if the payer's balance and the item's stock are still the
# ones read — so the answer, made before the statement, is exact. Anything else (a refusal, another
# community's shop, an account not opened yet, a balance or stock that moved meanwhile) goes to
# :func:`redeem`, which decides under its locks.

_ACCOUNTS = cast(sa.Table, LedgerAccount.__table__)
_KEYS = cast(sa.Table, IdempotencyKey.__table__)
_READING: dict[tuple[ScopeShape, bool], DriverStatement] = {}


def _reading(shape: ScopeShape, keyed: bool) -> DriverStatement:
    if (shape, keyed) not in _READING:
        v, i = cast(sa.Table, Volunteer.__table__), _items()
        payer, payee, idem = _ACCOUNTS.alias("payer"), _ACCOUNTS.alias("payee"), _KEYS.alias("idem")
        points = LedgerUnit.POINTS.value
        one = sa.select(sa.literal(1).label("one")).subquery("one")
        columns = [
            v.c.id.label("v_id"),
            v.c.area_id.label("v_area"),
            v.c.is_active.label("v_active"),
            i.c.id.label("i_id"),
            i.c.area_id.label("i_area"),
            i.c.is_active.label("i_active"),
            i.c.points.label("i_points"),
            i.c.name.label("i_name"),
            i.c.stock.label("i_stock"),
            payer.c.id.label("payer_id"),
            payer.c.kind.label("payer_kind"),
            payer.c.balance.label("payer_balance"),
            payee.c.id.label("payee_id"),
            payee.c.kind.label("payee_kind"),
            payee.c.balance.label("payee_balance"),
            _served(v, i).label("offered"),
        ]
        if keyed:
            columns += [
                idem.c.fingerprint.label("idem_fingerprint"),
                idem.c.status_code.label("idem_status"),
                idem.c.response_body.label("idem_body"),
                idem.c.response_headers.label("idem_headers"),
            ]
        stmt = (
            sa.select(*columns)
            .select_from(one)
            .outerjoin(v, sa.and_(v.c.id == sa.bindparam("volunteer_id"), repo.volunteers.template(shape)))
            .outerjoin(i, sa.and_(i.c.id == sa.bindparam("item_id"), repo.shop_items.template(shape)))
            .outerjoin(
                payer,
                sa.and_(
                    payer.c.owner_key == sa.literal("volunteer:") + sa.cast(v.c.id, sa.String), payer.c.unit == points
                ),
            )
            .outerjoin(
                payee,
                sa.and_(
                    payee.c.owner_key == sa.literal(f"{AccountKind.SHOP.value}:") + sa.cast(i.c.area_id, sa.String),
                    payee.c.unit == points,
                ),
            )
        )
        if keyed:
            stmt = stmt.outerjoin(
                idem, sa.and_(idem.c.owner == sa.bindparam("idem_owner"), idem.c.key == sa.bindparam("idem_key"))
            )
        _READING[shape, keyed] = DriverStatement(stmt)
    return _READING[shape, keyed]


def _served(v: sa.Table, i: sa.Table) -> sa.ColumnElement[bool]:
    """Whether the item's shop serves the volunteer: its area holds the volunteer's (as
    :func:`_offered_to` decides, in SQL)."""
    areas = cast(sa.Table, Area.__table__)
    own, shop = areas.alias("own"), areas.alias("shop")
    own_path = sa.select(own.c.path).where(own.c.id == v.c.area_id).scalar_subquery()
    shop_path = sa.select(shop.c.path).where(shop.c.id == i.c.area_id).scalar_subquery()
    return own_path.op("<@")(shop_path)


def _taking_as_read(keyed: bool) -> sa.Select[Any]:
    """The one-statement redemption's write (see above): both accounts locked in id order, then
    everything else only if the payer's balance and the item's stock are the ones read; the number
    of items taken (0 or 1 row). With ``keyed``, the key is inserted completed with the answer —
    a plain insert: another request's key makes the whole statement fail, and write nothing."""
    table = _items()
    locked = (
        sa.select(_ACCOUNTS.c.id, _ACCOUNTS.c.balance)
        .where(_ACCOUNTS.c.id.in_([sa.bindparam("payer_id"), sa.bindparam("payee_id")]))
        .order_by(_ACCOUNTS.c.id)
        .with_for_update()
        .cte("locked")
    )
    unchanged = sa.exists(
        sa.select(locked.c.id).where(
            locked.c.id == sa.bindparam("payer_id"), locked.c.balance == sa.bindparam("payer_balance")
        )
    )
    quantity = sa.bindparam("quantity", type_=table.c.stock.type)
    taken = (
        table.update()
        .where(table.c.id == sa.bindparam("item_id"), table.c.stock == sa.bindparam("item_stock"), unchanged)
        .values(
            stock=table.c.stock - quantity,
            version=table.c.version + 1,
            updated_at=sa.bindparam("now", type_=table.c.updated_at.type),
        )
        .returning(table.c.stock)
        .cte("taken")
    )
    redemptions = cast(sa.Table, ShopRedemption.__table__)
    values = [sa.bindparam(f"redemption_{c.name}", type_=c.type).label(c.name) for c in redemptions.columns]
    written = (
        sa.insert(redemptions)
        .from_select([c.name for c in redemptions.columns], sa.select(*values).select_from(taken))
        .cte("written")
    )
    ctes: list[Any] = [ledger.posting_ctes(after=taken), written]
    if keyed:
        stored = [sa.bindparam(f"idem_{c.name}", type_=c.type).label(c.name) for c in _KEYS.columns]
        ctes.append(
            sa.insert(_KEYS)
            .from_select([c.name for c in _KEYS.columns], sa.select(*stored).select_from(taken))
            .cte("idem")
        )
    return sa.select(sa.func.count().label("taken")).select_from(taken).add_cte(*ctes)


_TAKE_AS_READ = {keyed: DriverStatement(_taking_as_read(keyed)) for keyed in (False, True)}


def _account(row: Any, side: str) -> LedgerAccount:
    """An account as the reading statement found it (not locked; the write checks it again)."""
    account: LedgerAccount = sa.inspect(LedgerAccount).class_manager.new_instance()
    account.__dict__.update(
        id=row[f"{side}_id"], kind=row[f"{side}_kind"], unit=LedgerUnit.POINTS.value, balance=row[f"{side}_balance"]
    )
    return account


async def redeem_at_once(
    pool: ReadPool,
    principal: Principal,
    data: dict[str, Any],
    key: idempotency.Pending | None,
    respond: Callable[[dict[str, Any]], Response],
) -> Response | None:
    """A redemption in two statements and no transaction (see above), answered with
    ``respond(redemption)``; None when :func:`redeem` is to answer it. A key already used → its
    stored answer (or 422 ``idempotency_key_reused``)."""
    shape = repo.volunteers.shape(principal)
    params = {"volunteer_id": data["volunteer_id"], "item_id": data["item_id"], **scope_params(principal, shape)}
    if key is not None:
        params |= idempotency.lookup_params(key)
    row = await _reading(shape, key is not None).fetchrow(pool, **params)
    if key is not None:
        replay = idempotency.stored(key, row)
        if replay is not None:
            return replay
    if row["v_id"] is None:
        raise unknown_reference("volunteer", "volunteer_id")
    if row["i_id"] is None:
        raise unknown_reference("shop_item", "item_id")
    quantity = int(data["quantity"])
    points = row["i_points"] * quantity
    usual = row["v_active"] and row["i_active"] and row["offered"]
    if not usual or row["payer_id"] is None or row["payee_id"] is None:
        return None
    if row["payer_balance"] < points or row["i_stock"] < quantity:
        return None  # refused under the locks of the general path, with the figures as they are then
    redemption_id, now = new_id(), clock.now()
    checked = ledger.check_transfer(
        principal,
        _account(row, "payer"),
        _account(row, "payee"),
        points,
        area_id=row["i_area"],
        kind=PostingKind.REDEMPTION,
        source_key=f"redemption:{redemption_id}",
        memo=f"{row['i_name']} × {quantity}",
    )
    redemption = {
        "id": redemption_id,
        "item_id": row["i_id"],
        "volunteer_id": row["v_id"],
        "area_id": row["i_area"],
        "quantity": quantity,
        "points": points,
        "posting_id": checked.posting.id,
        "redeemed_by": principal.user_id,
        "redeemed_at": now,
    }
    answer = {k: v for k, v in redemption.items() if k != "redeemed_by"}
    response = respond(answer | {"balance": row["payer_balance"] - points, "stock": row["i_stock"] - quantity})
    params = {
        "payer_id": row["payer_id"],
        "payee_id": row["payee_id"],
        "payer_balance": row["payer_balance"],
        "item_id": row["i_id"],
        "item_stock": row["i_stock"],
        "quantity": quantity,
        "now": now,
    }
    params |= {f"redemption_{k}": v for k, v in redemption.items()} | checked.params
    if key is not None:
        params |= {f"idem_{k}": v for k, v in idempotency.completed_row(key, response).items()}
    try:
        taken = (await _TAKE_AS_READ[key is not None].write(pool, **params))["taken"]
    except asyncpg.UniqueViolationError as exc:
        if key is None or exc.constraint_name != "pk_idempotency_keys":
            raise
        return await idempotency.replay_after_lost_race(pool, key)  # a copy sent at the same moment won
    return response if taken else None
