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

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.errors import Conflict
from app.kit import clock
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
        await session.execute(
            pg_insert(LedgerAccount)
            .values(
                [
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
            )
            .on_conflict_do_nothing(index_elements=["owner_key", "unit"])
        )
        found = {(a.owner_key, a.unit): a for a in (await session.execute(stmt.execution_options(**opts))).scalars()}
    return [found[k] for k in wanted]


async def transfer_legs(session: AsyncSession, payer: Owner, payee: Owner, amount: int) -> list[Leg]:
    """The two legs that move ``amount`` from ``payer``'s account to ``payee``'s."""
    source, target = await accounts(session, payer, payee)
    return [Leg(source, -amount), Leg(target, amount)]


def _posted(source_key: str) -> sa.Label[bool]:
    return sa.exists().where(LedgerPosting.source_key == source_key).label("posted")


async def _lock(
    session: AsyncSession, where: sa.ColumnElement[bool], source_key: str
) -> tuple[list[LedgerAccount], bool]:
    """The accounts matching ``where`` locked in id order (so concurrent postings never deadlock),
    and whether ``source_key`` was posted before — asked under the locks, so of two postings of one
    key the second sees the first. One statement."""
    stmt = (
        sa.select(LedgerAccount, _posted(source_key))
        .where(where)
        .order_by(LedgerAccount.id)
        .with_for_update(of=LedgerAccount)
        .execution_options(populate_existing=True)
    )
    rows = (await session.execute(stmt)).all()
    seen = rows[0].posted if rows else await session.scalar(sa.select(_posted(source_key)))
    return [row[0] for row in rows], bool(seen)


async def transfer(
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
) -> tuple[LedgerPosting, LedgerAccount]:
    """Post ``amount`` from ``payer`` to ``payee`` (see :func:`post`). Returns the posting and the
    payer's account as the posting read it under its lock: its balance is the one before it.

    Two statements when both accounts are open: they are found and locked in one, and the posting
    with its entries is written in the other."""
    wanted = [(o.key, o.unit.value) for o in (payer, payee)]
    where = sa.tuple_(LedgerAccount.owner_key, LedgerAccount.unit).in_(wanted)
    locked, seen = await _lock(session, where, source_key)
    if len(locked) < len(set(wanted)):  # an account not opened yet: open it, then lock them
        await accounts(session, payer, payee)
        locked, seen = await _lock(session, where, source_key)
    found = {(a.owner_key, a.unit): a for a in locked}
    legs = [Leg(found[wanted[0]], -amount), Leg(found[wanted[1]], amount)]
    posting = await _write(
        session, principal, legs, locked, seen, area_id=area_id, kind=kind, source_key=source_key, memo=memo
    )
    return posting, legs[0].account


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
    locked, seen = await _lock(session, LedgerAccount.id.in_(ids), source_key)
    return await _write(
        session,
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


async def _write(
    session: AsyncSession,
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
) -> LedgerPosting:
    """The one writer of postings: ``legs`` checked against their ``locked`` accounts, then the
    posting and its entries written in one statement (the entries' trigger moves the balances)."""
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
    written = sa.insert(LedgerPosting).values({c.name: state[c.key] for c in _POSTING_COLUMNS}).cte("posting")
    entries = [
        {"posting_id": posting.id, "account_id": leg.account.id, "unit": leg.account.unit, "amount": leg.amount}
        for leg in legs
    ]
    # The posting's row is there when the entries' foreign keys are checked: at the statement's end.
    await session.execute(sa.insert(LedgerEntry).values(entries).add_cte(written))
    make_transient_to_detached(posting)
    session.add(posting)
    return posting


_POSTING_COLUMNS = [c for c in LedgerPosting.__table__.columns]


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
