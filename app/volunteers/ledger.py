"""The double-entry points and hours ledger (积分 / 服务时长).

Every movement is one posting of two or more entries that sum to zero per unit. A posting locks its
accounts (in id order, so concurrent postings never deadlock), refuses to take an account other than
a community's source below zero (409 ``insufficient_balance``), and is unique per ``source_key``
(a service record is posted once, a posting reversed once). The database keeps the same rules:
balances are maintained by a trigger with a CHECK, unbalanced postings fail at commit, and postings
and entries can neither be updated nor deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.errors import Conflict
from app.kit import clock
from app.kit.arrays import array_rows
from app.kit.ids import new_id
from app.scope import Principal
from app.volunteers.models import AccountKind, LedgerAccount, LedgerEntry, LedgerPosting, LedgerUnit, PostingKind


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount: int


def owner_key(kind: AccountKind, area_id: uuid.UUID, volunteer_id: uuid.UUID | None) -> str:
    return f"volunteer:{volunteer_id}" if kind is AccountKind.VOLUNTEER else f"{kind.value}:{area_id}"


@dataclass(frozen=True)
class Owner:
    """Whose account: a volunteer's (``volunteer_id``), or a community's source / shop / escrow."""

    kind: AccountKind
    unit: LedgerUnit
    area_id: uuid.UUID
    volunteer_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        return owner_key(self.kind, self.area_id, self.volunteer_id)


_OPEN = pg_insert(cast(sa.Table, LedgerAccount.__table__)).on_conflict_do_nothing(index_elements=["owner_key", "unit"])


async def accounts(session: AsyncSession, *owners: Owner) -> list[LedgerAccount]:
    """The accounts of ``owners`` (each created on first use), in the order asked.

    One statement reads them all: an account is made once and read on every posting, so the
    insert (and the second read it needs) runs only when one is not there yet."""
    wanted = [(o.key, o.unit.value) for o in owners]
    stmt = sa.select(LedgerAccount).where(sa.tuple_(LedgerAccount.owner_key, LedgerAccount.unit).in_(wanted))
    opts = {"populate_existing": True}
    found = {(a.owner_key, a.unit): a for a in (await session.execute(stmt.execution_options(**opts))).scalars()}
    missing = [o for o, k in zip(owners, wanted, strict=True) if k not in found]
    if missing:
        rows = [
            {
                "id": new_id(),
                "area_id": o.area_id,
                "volunteer_id": o.volunteer_id,
                "kind": o.kind.value,
                "unit": o.unit.value,
                "owner_key": o.key,
            }
            for o in missing
        ]
        await session.execute(_OPEN, rows)  # one compiled INSERT, executed for each
        found = {(a.owner_key, a.unit): a for a in (await session.execute(stmt.execution_options(**opts))).scalars()}
    return [found[k] for k in wanted]


async def transfer_legs(session: AsyncSession, payer: Owner, payee: Owner, amount: int) -> list[Leg]:
    """The two legs that move ``amount`` from ``payer``'s account to ``payee``'s."""
    source, target = await accounts(session, payer, payee)
    return [Leg(source, -amount), Leg(target, amount)]


_POSTED = sa.exists().where(LedgerPosting.source_key == sa.bindparam("source_key")).label("posted")


def _locking(where: sa.ColumnElement[bool]) -> sa.Select[LedgerAccount, bool]:
    return (
        sa.select(LedgerAccount, _POSTED)
        .where(where)
        .order_by(LedgerAccount.id)
        .with_for_update(of=LedgerAccount)
        .execution_options(populate_existing=True)
    )


# The two accounts of a transfer, and the accounts of a posting by id. Built once: SQLAlchemy
# finds them compiled, and a posting only binds its values.
_LOCK_PAIR = _locking(
    sa.or_(
        sa.and_(LedgerAccount.owner_key == sa.bindparam("payer_key"), LedgerAccount.unit == sa.bindparam("payer_unit")),
        sa.and_(LedgerAccount.owner_key == sa.bindparam("payee_key"), LedgerAccount.unit == sa.bindparam("payee_unit")),
    )
)
_LOCK_IDS = _locking(LedgerAccount.id.in_(sa.bindparam("ids", expanding=True)))


async def _lock(
    session: AsyncSession, stmt: sa.Select[LedgerAccount, bool], params: dict[str, Any]
) -> tuple[list[LedgerAccount], bool]:
    """The accounts ``stmt`` (:data:`_LOCK_PAIR` or :data:`_LOCK_IDS`) finds, locked in id order (so
    concurrent postings never deadlock), and whether ``source_key`` was posted before — asked
    under the locks, so of two postings of one key the second sees the first. One statement."""
    rows = (await session.execute(stmt, params)).all()
    seen = rows[0].posted if rows else await session.scalar(sa.select(_POSTED), params)
    return [row[0] for row in rows], bool(seen)


@dataclass(frozen=True)
class Checked:
    """A posting checked against its locked accounts and not yet written: its row, the parameters
    of :func:`posting_ctes`, and the payer's account as read under its lock (its balance is the
    one before the posting)."""

    posting: LedgerPosting
    params: dict[str, Any]
    payer: LedgerAccount


async def prepare_transfer(
    session: AsyncSession,
    principal: Principal,
    payer: Owner,
    payee: Owner,
    amount: int,
    *,
    area_id: uuid.UUID,
    kind: PostingKind,
    source_key: str,
    memo: str | None,
) -> Checked:
    """The posting of ``amount`` from ``payer`` to ``payee``, its accounts found and locked (one
    statement when both are open) and checked (409 ``insufficient_balance`` / ``already_posted``),
    for a caller that writes it together with its own rows (:func:`posting_ctes`, then
    :func:`written`); :func:`write` writes it on its own."""
    wanted = [(o.key, o.unit.value) for o in (payer, payee)]
    params = {
        "payer_key": payer.key,
        "payer_unit": payer.unit.value,
        "payee_key": payee.key,
        "payee_unit": payee.unit.value,
        "source_key": source_key,
    }
    locked, seen = await _lock(session, _LOCK_PAIR, params)
    if len(locked) < len(set(wanted)):  # an account not opened yet: open it, then lock them
        await accounts(session, payer, payee)
        locked, seen = await _lock(session, _LOCK_PAIR, params)
    found = {(a.owner_key, a.unit): a for a in locked}
    legs = [Leg(found[wanted[0]], -amount), Leg(found[wanted[1]], amount)]
    posting, values = _checked(
        principal, legs, locked, seen, area_id=area_id, kind=kind, source_key=source_key, memo=memo
    )
    return Checked(posting, values, legs[0].account)


async def write(session: AsyncSession, checked: Checked) -> LedgerPosting:
    """Write a checked posting on its own (``write(session, await prepare_transfer(...))``): the
    posting and its entries in one statement, after the one that found and locked its accounts."""
    await session.execute(_WRITE, checked.params)
    return written(session, checked.posting)


async def post(
    session: AsyncSession,
    principal: Principal,
    *,
    area_id: uuid.UUID,
    kind: PostingKind,
    source_key: str,
    legs: Sequence[Leg],
    memo: str | None = None,
    reverses_id: uuid.UUID | None = None,
) -> LedgerPosting:
    """Write one balanced posting; 409 ``insufficient_balance`` when an account would go below zero,
    409 ``already_posted`` when ``source_key`` was posted before."""
    ids = sorted({leg.account.id for leg in legs if leg.amount != 0})
    locked, seen = await _lock(session, _LOCK_IDS, {"ids": ids, "source_key": source_key})
    posting, params = _checked(
        principal,
        legs,
        locked,
        seen,
        area_id=area_id,
        kind=kind,
        source_key=source_key,
        memo=memo,
        reverses_id=reverses_id,
    )
    # The posting and its entries in one statement (the entries' trigger moves the balances).
    await session.execute(_WRITE, params)
    return written(session, posting)


def _checked(
    principal: Principal,
    legs: Sequence[Leg],
    locked: Sequence[LedgerAccount],
    seen: bool,
    *,
    area_id: uuid.UUID,
    kind: PostingKind,
    source_key: str,
    memo: str | None,
    reverses_id: uuid.UUID | None = None,
) -> tuple[LedgerPosting, dict[str, Any]]:
    """The rules every posting passes, in one place: balanced per unit, not posted before, and no
    account but a community's source below zero; then the posting's row and the parameters of
    :func:`posting_ctes` that write it."""
    legs = [leg for leg in legs if leg.amount != 0]
    for unit in {leg.account.unit for leg in legs}:
        if sum(leg.amount for leg in legs if leg.account.unit == unit) != 0:
            raise ValueError(f"unbalanced posting in {unit}")
    if seen:
        raise Conflict("This has been posted to the ledger already.", code="already_posted")
    for acc in locked:
        delta = sum(leg.amount for leg in legs if leg.account.id == acc.id)
        if acc.kind != AccountKind.SOURCE.value and acc.balance + delta < 0:
            raise Conflict(
                f"Not enough {acc.unit}: the balance is {acc.balance}, this needs {-delta}.",
                code="insufficient_balance",
                unit=acc.unit,
                balance=acc.balance,
                needed=-delta,
            )
    posting = LedgerPosting(
        id=new_id(),
        area_id=area_id,
        kind=kind.value,
        source_key=source_key,
        reverses_id=reverses_id,
        memo=memo,
        posted_by=principal.user_id,
        posted_at=clock.now(),
    )
    state = posting.__dict__
    params: dict[str, Any] = {f"posting_{c.name}": state[c.key] for c in _POSTINGS.columns}
    params["leg_account_id"] = [leg.account.id for leg in legs]
    params["leg_unit"] = [leg.account.unit for leg in legs]
    params["leg_amount"] = [leg.amount for leg in legs]
    return posting, params


def written(session: AsyncSession, posting: LedgerPosting) -> LedgerPosting:
    """``posting`` once its statement has run: known to the session as the stored row it is."""
    make_transient_to_detached(posting)
    session.add(posting)
    return posting


_POSTINGS = cast(sa.Table, LedgerPosting.__table__)
_ENTRIES = cast(sa.Table, LedgerEntry.__table__)


def posting_ctes(after: sa.CTE | None = None) -> sa.CTE:
    """The posting and its entries as common table expressions (the entries', which names the
    posting's), for the parameters :func:`_checked` gives. With ``after``, the posting is written
    only if ``after`` yields a row — the movement it pays for happened (a redemption's stock was
    there). The entries come as three arrays (``leg_account_id``, ``leg_unit``, ``leg_amount``), so one statement serves
    any number of legs; the posting's row is there when their foreign keys are checked: at the
    statement's end."""
    values = [sa.bindparam(f"posting_{c.name}", type_=c.type).label(c.name) for c in _POSTINGS.columns]
    rows = sa.select(*values) if after is None else sa.select(*values).select_from(after)
    posting = (
        _POSTINGS.insert()
        .from_select([c.name for c in _POSTINGS.columns], rows)
        .returning(_POSTINGS.c.id)
        .cte("posting")
    )
    legs = array_rows("legs", {c: _ENTRIES.c[c] for c in ("account_id", "unit", "amount")}, prefix="leg_")
    entries = sa.select(posting.c.id, legs.c.account_id, legs.c.unit, legs.c.amount).select_from(
        posting.join(legs, sa.true())
    )
    return (
        _ENTRIES.insert()
        .from_select(["posting_id", "account_id", "unit", "amount"], entries)
        .returning(_ENTRIES.c.id)
        .cte("entries")
    )


def _writing() -> sa.Select[Any]:
    """The statement writing a checked posting on its own (:data:`_WRITE`), built once."""
    return sa.select(sa.func.count()).select_from(posting_ctes())


_WRITE = _writing()


async def entries_of(session: AsyncSession, posting_id: uuid.UUID) -> Sequence[LedgerEntry]:
    stmt = sa.select(LedgerEntry).where(LedgerEntry.posting_id == posting_id).order_by(LedgerEntry.id)
    return (await session.execute(stmt)).scalars().all()


async def reverse(
    session: AsyncSession, principal: Principal, posting: LedgerPosting, memo: str | None
) -> LedgerPosting:
    """The correction of ``posting``: the same entries negated (409 ``already_reversed``)."""
    if posting.kind == PostingKind.REVERSAL.value:
        raise Conflict("A reversal is not reversed; post the movement again instead.", code="invalid_transition")
    if await session.scalar(sa.select(sa.exists().where(LedgerPosting.reverses_id == posting.id))):
        raise Conflict("This posting has been reversed already.", code="already_reversed")
    entries = await entries_of(session, posting.id)
    accounts = {
        a.id: a
        for a in (
            await session.execute(sa.select(LedgerAccount).where(LedgerAccount.id.in_({e.account_id for e in entries})))
        ).scalars()
    }
    legs = [Leg(accounts[e.account_id], -e.amount) for e in entries]
    return await post(
        session,
        principal,
        area_id=posting.area_id,
        kind=PostingKind.REVERSAL,
        source_key=f"reversal:{posting.id}",
        legs=legs,
        memo=memo,
        reverses_id=posting.id,
    )


async def balances(session: AsyncSession, volunteer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """``{volunteer_id: {"points": n, "minutes": m}}`` (zero for accounts not opened yet)."""
    out = {v: {LedgerUnit.POINTS.value: 0, LedgerUnit.MINUTES.value: 0} for v in volunteer_ids}
    if volunteer_ids:
        stmt = sa.select(LedgerAccount.volunteer_id, LedgerAccount.unit, LedgerAccount.balance).where(
            LedgerAccount.volunteer_id.in_(volunteer_ids)
        )
        for vid, unit, balance in (await session.execute(stmt)).all():
            if vid is not None:
                out[vid][unit] = int(balance)
    return out
