"""微心愿: small wishes of residents in need, claimed and fulfilled by volunteers, Party members and
units; the public wish wall (幸福心愿站) and the wishes' statistics.

A claim not fulfilled within the community's ``wish_claim_days`` expires and the wish reopens: the
sweep (:func:`expire_claims`) runs before every read and write of wishes, so nobody sees a stale
claim, and in every housekeeping round (:mod:`app.worker`), so the ``wish.claim_expired`` event
goes out even when nobody looks at the wishes.

The public wall shows open and claimed wishes with a masked name, the one public label of the
beneficiary (独居老人, 空巢老人 …) and the wish's title: no address, no details, no sensitive tag.
Wishes of residents whose data is sensitive (disability, minors, 留守儿童) are left off the wall.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.grids import service as grids
from app.grids.models import Area, Level
from app.kit import clock, outbox
from app.kit.ids import new_id
from app.kit.masking import mask_name
from app.kit.pagination import keyset
from app.residents.models import RESIDENT_TAG_LABELS, Resident, ResidentTag, is_sensitive
from app.residents.repository import residents
from app.scope import Principal, in_subtree
from app.volunteers import repository as repo
from app.volunteers import service as volunteers
from app.volunteers import workflow
from app.volunteers.models import PostingKind, Volunteer, Wish, WishStatus
from app.volunteers.schemas import WishOut

A = workflow.WishAction
# The only labels of a beneficiary the public wall may show, in order of preference.
PUBLIC_LABELS: tuple[ResidentTag, ...] = (ResidentTag.ELDERLY_ALONE, ResidentTag.EMPTY_NEST, ResidentTag.VETERAN)
WALL_SIZE = 200
WISH_FILTERS = ("status", "category", "claimer_id", "resident_id")


async def expire_claims(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Reopen every wish whose claim ran out unfulfilled and queue one ``wish.claim_expired`` for
    each; returns how many.

    The claims are taken with ``FOR UPDATE``: of two sweeps at once the second waits, then finds
    those wishes open again and leaves them, so each expired claim is announced exactly once."""
    now = now or clock.now()
    table = cast(sa.Table, Wish.__table__)
    claimers = cast(sa.Table, Volunteer.__table__)
    expired = (
        sa.select(table.c.id, table.c.claim_expires_at, claimers.c.kind.label("claimer_kind"))
        .outerjoin(claimers, claimers.c.id == table.c.claimer_id)
        .where(table.c.status == WishStatus.CLAIMED.value, table.c.claim_expires_at <= now)
        .with_for_update(of=table)
        .cte("expired")
    )
    result = await session.execute(
        table.update()
        .where(table.c.id == expired.c.id)
        .values(
            status=WishStatus.OPEN.value,
            claimer_id=None,
            claimed_at=None,
            claim_expires_at=None,
            expired_claims=table.c.expired_claims + 1,
            version=table.c.version + 1,
            updated_at=now,
        )
        .returning(
            table.c.id, table.c.area_id, table.c.expired_claims, expired.c.claim_expires_at, expired.c.claimer_kind
        )
    )
    rows = result.all()
    for wish_id, area_id, count, expired_at, claimer_kind in rows:
        outbox.emit(
            session,
            "wish.claim_expired",
            "wish",
            wish_id,
            {
                "wish_id": str(wish_id),
                "area_id": str(area_id),
                "claimer_kind": claimer_kind,
                "expired_at": expired_at.isoformat(),
                "expired_claims": count,
            },
        )
    if rows:
        await session.flush()
    return len(rows)


async def create(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> Wish:
    resident = await residents.one(session, principal, data["resident_id"], field="resident_id")
    wish = Wish(
        id=new_id(),
        area_id=resident.area_id,
        resident_id=resident.id,
        title=data["title"],
        details=data.get("details"),
        category=str(data["category"]),
        budget_cap=data["budget_cap"],
        status=WishStatus.OPEN.value,
        registered_by=principal.user_id,
    )
    return await repo.saved(session, wish, new=True)


async def get(session: AsyncSession, principal: Principal, wish_id: uuid.UUID, *, for_update: bool = False) -> Wish:
    await expire_claims(session)
    return await repo.afresh(session, repo.wishes, principal, wish_id, for_update=for_update)


async def claim(session: AsyncSession, principal: Principal, wish: Wish, volunteer_id: uuid.UUID) -> Wish:
    status = workflow.advance(workflow.WISH, WishStatus(wish.status), A.CLAIM, "wish")
    claimer = await volunteers.volunteer_ref(session, principal, volunteer_id, "volunteer_id")
    rules = await volunteers.rules_for(session, wish.area_id)
    now = clock.now()
    wish.status, wish.claimer_id, wish.claimed_at = status.value, claimer.id, now
    wish.claim_expires_at = now + dt.timedelta(days=rules.wish_claim_days)
    return await repo.saved(session, wish)


async def fulfil(session: AsyncSession, wish: Wish, proof_photo: str) -> Wish:
    status = workflow.advance(workflow.WISH, WishStatus(wish.status), A.FULFIL, "wish")
    wish.status, wish.fulfilled_at, wish.proof_photo = status.value, clock.now(), proof_photo
    wish.claim_expires_at = None
    return await repo.saved(session, wish)


async def confirm(session: AsyncSession, principal: Principal, wish: Wish, by: str) -> Wish:
    """The grid worker or the beneficiary confirms; the claimer earns the community's wish points."""
    status = workflow.advance(workflow.WISH, WishStatus(wish.status), A.CONFIRM, "wish")
    assert wish.claimer_id is not None
    rules = await volunteers.rules_for(session, wish.area_id)
    claimer = await session.get(volunteers.Volunteer, wish.claimer_id)
    assert claimer is not None
    if rules.wish_points:
        posting = await volunteers.award(
            session,
            principal,
            claimer.area_id,
            claimer.id,
            points=rules.wish_points,
            kind=PostingKind.WISH,
            source_key=f"wish:{wish.id}",
            memo=f"微心愿: {wish.title}",
            posted_in=wish.area_id,
        )
        wish.posting_id = posting.id
    wish.status, wish.confirmed_by, wish.confirmed_at = status.value, by, clock.now()
    outbox.emit(
        session,
        "wish.confirmed",
        "wish",
        wish.id,
        {
            "wish_id": str(wish.id),
            "area_id": str(wish.area_id),
            "claimer_id": str(claimer.id),
            "points": rules.wish_points,
        },
    )
    return await repo.saved(session, wish)


async def cancel(session: AsyncSession, wish: Wish) -> Wish:
    status = workflow.advance(workflow.WISH, WishStatus(wish.status), A.CANCEL, "wish")
    wish.status, wish.claim_expires_at = status.value, None
    return await repo.saved(session, wish)


async def list_wishes(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Wish]:
    await expire_claims(session)
    where = await volunteers.in_area(session, principal, Wish.area_id, filters.get("area_id"))
    where += [getattr(Wish, c) == filters[c] for c in WISH_FILTERS if filters.get(c) is not None]
    stmt = repo.wishes.select(principal).where(*where)
    stmt = keyset(stmt, repo.wishes.order, after=after, limit=limit)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalars().all()


async def outs(session: AsyncSession, wishes: Sequence[Wish]) -> list[WishOut]:
    names = dict(
        (
            await session.execute(
                sa.select(Resident.id, Resident.name).where(Resident.id.in_({w.resident_id for w in wishes}))
            )
        ).all()
    )
    return [
        WishOut(
            **{k: getattr(w, k) for k in WishOut.model_fields if k not in ("allowed_actions", "beneficiary")},
            beneficiary=mask_name(names.get(w.resident_id)) or "",
            allowed_actions=workflow.allowed(workflow.WISH, WishStatus(w.status)),
        )
        for w in wishes
    ]


def public_label(tags: Sequence[str]) -> str:
    for tag in PUBLIC_LABELS:
        if tag.value in tags:
            return RESIDENT_TAG_LABELS[tag]
    return "居民"


async def wall(session: AsyncSession, area_id: uuid.UUID) -> dict[str, Any]:
    """The public wall of an area's subtree: nothing a stranger may not read."""
    await expire_claims(session)
    area = (await session.execute(sa.select(Area).where(Area.id == area_id))).scalar_one_or_none()
    if area is None:
        raise NotFound("No such area.", code="area_not_found")
    stmt = (
        sa.select(Wish.id, Wish.title, Wish.category, Wish.status, Resident.name, Resident.tags, Resident.birth_date)
        .join(Resident, Resident.id == Wish.resident_id)
        .where(
            in_subtree(Wish.area_id, area.path),
            Wish.status.in_([WishStatus.OPEN.value, WishStatus.CLAIMED.value]),
        )
        .order_by(Wish.created_at.desc(), Wish.id)
        .limit(WALL_SIZE)
    )
    today = workflow.local_day(clock.now())
    items = [
        {
            "id": wid,
            "label": f"{public_label(tags)} {mask_name(name)}",
            "title": title,
            "category": category,
            "status": status,
        }
        for wid, title, category, status, name, tags, birth in (await session.execute(stmt)).all()
        if not is_sensitive(tags, birth, today)
    ]
    return {"area_id": area.id, "area_name": area.name, "items": items}


async def stats(session: AsyncSession, principal: Principal, area_id: uuid.UUID | None) -> dict[str, Any]:
    """Collected, claimed, fulfilled and the median days to fulfil, per community and rolled up."""
    await expire_claims(session)
    root = await grids.get_in_scope(session, principal, area_id or principal.area_id, field="area_id")
    community = sa.orm.aliased(Area, name="community")
    wish_area = sa.orm.aliased(Area, name="wish_area")
    claimed = Wish.status.in_([WishStatus.CLAIMED.value, WishStatus.FULFILLED.value, WishStatus.CONFIRMED.value])
    fulfilled = Wish.status.in_([WishStatus.FULFILLED.value, WishStatus.CONFIRMED.value])
    days = sa.extract("epoch", Wish.fulfilled_at - Wish.created_at) / 86400.0

    def measures() -> list[Any]:
        return [
            sa.func.count(Wish.id).label("collected"),
            sa.func.count(Wish.id).filter(claimed).label("claimed"),
            sa.func.count(Wish.id).filter(fulfilled).label("fulfilled"),
            sa.func.percentile_cont(0.5).within_group(days).filter(fulfilled).label("median"),
        ]

    base = sa.and_(
        repo.wishes.scope(principal),
        in_subtree(Wish.area_id, root.path),
        Wish.status != WishStatus.CANCELLED.value,
    )
    per = (
        sa.select(community.id, community.name, *measures())
        .select_from(Wish)
        .join(wish_area, wish_area.id == Wish.area_id)
        .join(community, sa.and_(community.level == Level.COMMUNITY.value, wish_area.path.op("<@")(community.path)))
        .where(base)
        .group_by(community.id, community.name)
        .order_by(community.name)
    )
    total = (await session.execute(sa.select(*measures()).where(base))).one()

    def row(area: uuid.UUID | None, name: str, r: Any) -> dict[str, Any]:
        median = r.median
        return {
            "area_id": area,
            "area_name": name,
            "collected": int(r.collected),
            "claimed": int(r.claimed),
            "fulfilled": int(r.fulfilled),
            "median_days_to_fulfil": round(float(median), 2) if median is not None else None,
        }

    return {
        "rows": [row(r.id, r.name, r) for r in (await session.execute(per)).all()],
        "total": row(root.id, root.name, total),
    }
