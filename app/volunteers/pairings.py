"""帮扶对子: Party members, cadres and units paired with households in need (many helpers to one
household), each pairing with a visit duty (weekly, monthly or by the festivals), and the visits
(入户 / 电话) that keep it — online, or offline through the batch upload and the change feed.

A visit moves the pairing's ``last_visit_at`` forward (never back) and counts as a visit of every
resident of the household for the residents' due-visits list. It may link the diary entry it wrote
or the issue it reported (both in the caller's scope).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.config import Settings
from app.diary import service as diary
from app.diary.models import DiaryEntry
from app.errors import AppError, Conflict, ValidationFailed, field_error
from app.grids import service as grids
from app.issues.models import Issue
from app.kit import clock
from app.kit.ids import new_id, resent
from app.kit.pagination import keyset
from app.kit.schemas import output
from app.residents import service as residents
from app.residents.models import Resident
from app.residents.repository import households
from app.scope import Principal, resolve_in_scope
from app.sync.changes import Feed, record_change, register_feed
from app.volunteers import repository as repo
from app.volunteers import service as volunteers
from app.volunteers import workflow
from app.volunteers.models import Frequency, Pairing, PairingVisit
from app.volunteers.schemas import PairingOut, VisitBatchItem, VisitBatchResult, VisitOut

ENTITY = "pairing"
MAX_BATCH = 200
DUE_LIMIT = 2000


async def create(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> Pairing:
    household = await households.one(session, principal, data["household_id"], field="household_id")
    helper = await volunteers.volunteer_ref(session, principal, data["helper_id"], "helper_id")
    if await session.scalar(
        sa.select(sa.exists().where(Pairing.household_id == household.id, Pairing.helper_id == helper.id))
    ):
        raise Conflict("This helper is paired with this household already.", code="already_paired")
    pairing = Pairing(
        id=new_id(),
        area_id=household.area_id,
        household_id=household.id,
        helper_id=helper.id,
        frequency=str(data["frequency"]),
        started_on=data["started_on"],
    )
    await repo.saved(session, pairing, new=True)
    await record_change(session, ENTITY, pairing.id, pairing.area_id)
    return pairing


async def get(
    session: AsyncSession, principal: Principal, pairing_id: uuid.UUID, *, for_update: bool = False
) -> Pairing:
    return await repo.afresh(session, repo.pairings, principal, pairing_id, for_update=for_update)


async def add_visit(
    session: AsyncSession, principal: Principal, pairing: Pairing, data: dict[str, Any]
) -> tuple[PairingVisit, bool]:
    """Record a visit; the same client id sent again is ``(visit, False)`` (nothing written)."""
    if data.get("id") and (
        existing := resent(await session.get(PairingVisit, data["id"]), lambda v: v.pairing_id == pairing.id)
    ):
        return existing, False
    if data["visited_at"] > clock.now() + dt.timedelta(minutes=5):
        raise ValidationFailed(
            "A visit cannot be in the future.",
            code="visit_in_future",
            errors=[field_error("visited_at", "in the future")],
        )
    if data.get("diary") and data.get("diary_entry_id"):
        raise ValidationFailed(
            "Write a diary entry with the visit or link one, not both.",
            code="diary_twice",
            errors=[field_error("diary_entry_id", "leave out when sending diary")],
        )
    for field, model, thing in (("diary_entry_id", DiaryEntry, "diary_entry"), ("issue_id", Issue, "issue")):
        if data.get(field):
            await resolve_in_scope(session, principal, model, data[field], field=field, thing=thing)
    if data.get("diary"):
        written = {
            **data["diary"],
            "area_id": pairing.area_id,
            "household_id": pairing.household_id,
            "visited_at": data["visited_at"],
        }
        entry, _ = await diary.create(session, principal, written)
        data = {**data, "diary_entry_id": entry.id}
    visit = PairingVisit(
        id=data.get("id") or new_id(),
        pairing_id=pairing.id,
        area_id=pairing.area_id,
        visited_at=data["visited_at"],
        mode=str(data["mode"]),
        notes=data.get("notes"),
        diary_entry_id=data.get("diary_entry_id"),
        issue_id=data.get("issue_id"),
        recorded_by=principal.user_id,
        recorded_at=clock.now(),
    )
    session.add(visit)
    pairing.visits += 1
    if pairing.last_visit_at is None or pairing.last_visit_at < visit.visited_at:
        pairing.last_visit_at = visit.visited_at
    await repo.saved(session, pairing)
    members = (
        await session.execute(sa.select(Resident.id).where(Resident.household_id == pairing.household_id))
    ).scalars()
    await residents.mark_visited(session, {rid: visit.visited_at for rid in members})
    await record_change(session, ENTITY, pairing.id, pairing.area_id)
    return visit, True


async def batch_visits(session: AsyncSession, principal: Principal, items: list[Any]) -> list[VisitBatchResult]:
    """Visits written offline; each item its own verdict (``created``, ``unchanged``, ``invalid``)."""
    if len(items) > MAX_BATCH:
        raise ValidationFailed(
            f"At most {MAX_BATCH} visits per batch; split the upload.",
            code="batch_too_large",
            errors=[field_error("body", f"at most {MAX_BATCH} items", max_items=MAX_BATCH)],
        )
    results: list[VisitBatchResult] = []
    for index, raw in enumerate(items):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            item = VisitBatchItem.model_validate(raw)
        except ValidationError as exc:
            errors = [field_error(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()]
            results.append(
                VisitBatchResult(
                    index=index, id=_uuid(raw_id), status="invalid", code="validation_failed", errors=errors
                )
            )
            continue
        try:
            async with session.begin_nested():
                pairing = await _pairing_ref(session, principal, item.pairing_id)
                _, created = await add_visit(session, principal, pairing, item.model_dump(exclude={"pairing_id"}))
            results.append(VisitBatchResult(index=index, id=item.id, status="created" if created else "unchanged"))
        except AppError as err:
            errors = list(err.errors)
            results.append(VisitBatchResult(index=index, id=item.id, status="invalid", code=err.code, errors=errors))
    return results


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


async def _pairing_ref(session: AsyncSession, principal: Principal, pairing_id: uuid.UUID) -> Pairing:
    return await repo.pairings.one(session, principal, pairing_id, field="pairing_id", for_update=True)


async def visits_of(session: AsyncSession, pairing_id: uuid.UUID) -> list[VisitOut]:
    stmt = sa.select(PairingVisit).where(PairingVisit.pairing_id == pairing_id).order_by(PairingVisit.visited_at.desc())
    return [VisitOut.model_validate(v) for v in (await session.execute(stmt)).scalars()]


def out(pairing: Pairing, today: dt.date) -> PairingOut:
    frequency = Frequency(pairing.frequency)
    due = workflow.due_on(frequency, pairing.started_on, pairing.last_visit_at) if pairing.ended_on is None else None
    return output(PairingOut, pairing, due_on=due, duty=workflow.duty(frequency, due, today))


def today() -> dt.date:
    return workflow.local_day(clock.now())


def _filtered(principal: Principal, filters: dict[str, Any]) -> sa.Select[Any]:
    return repo.pairings.select(principal).where(
        *repo.pairings.narrowed(filters, "household_id", "helper_id", "frequency")
    )


async def list_pairings(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Pairing]:
    filters["area_path"] = await grids.area_path(session, principal, filters.get("area_id"))
    stmt = keyset(_filtered(principal, filters), repo.pairings.order, after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()


async def due(session: AsyncSession, principal: Principal, *, area_id: uuid.UUID | None) -> dict[str, Any]:
    """The pairings whose visit is due or overdue (Asia/Shanghai days), most overdue first, with counts."""
    filters = {"area_path": await grids.area_path(session, principal, area_id)}
    stmt = _filtered(principal, filters).where(Pairing.ended_on.is_(None)).order_by(Pairing.id).limit(DUE_LIMIT)
    day = today()
    outs = [out(p, day) for p in (await session.execute(stmt)).scalars()]
    counts = {d.value: sum(1 for o in outs if o.duty is d) for d in workflow.Duty}
    listed = sorted((o for o in outs if o.duty is not workflow.Duty.OK), key=lambda o: (o.due_on or day, o.id))
    return {"today": day, "counts": counts, "items": listed}


async def snapshots(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID], settings: Settings
) -> dict[uuid.UUID, dict[str, Any]]:
    day = today()
    return {p.id: out(p, day).model_dump(mode="json") for p in await repo.pairings.by_ids(session, principal, ids)}


register_feed(
    Feed(
        name="pairings",
        entity_type=ENTITY,
        roles=frozenset({Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN}),
        id_column=Pairing.id,
        area_column=Pairing.area_id,
        load=snapshots,
    )
)
