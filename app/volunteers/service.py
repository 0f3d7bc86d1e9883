"""Volunteers (志愿者): the registry, the community's rules, service records and their verification
(核实), the ledger as each volunteer sees it, yearly statements and rankings (实践之星).

Every read goes through the scope filter: staff see the volunteers (and their ledgers) of their
area's subtree; another community's volunteer is 404, in a body 422 ``unknown_volunteer``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.roles import Role
from app.config import Settings
from app.errors import Conflict, ValidationFailed, field_error
from app.grids import service as grids
from app.grids.models import Area
from app.kit import clock, outbox
from app.kit.crypto import cipher_for
from app.kit.ids import new_id
from app.kit.masking import mask_name, mask_phone
from app.kit.pagination import keyset
from app.kit.patch import not_null
from app.kit.schemas import output
from app.residents.repository import residents
from app.scope import Principal, in_subtree
from app.volunteers import ledger, workflow
from app.volunteers import repository as repo
from app.volunteers.ledger import Leg
from app.volunteers.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerPosting,
    LedgerUnit,
    PostingKind,
    RecordStatus,
    ServiceRecord,
    Volunteer,
    VolunteerRules,
)
from app.volunteers.schemas import EntryOut, RecordOut, RulesOut, VolunteerOut, VolunteerRevealed

PHONE_CONTEXT = "volunteer.phone"
STAFF: frozenset[Role] = frozenset({Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
VERIFIERS: frozenset[Role] = frozenset({Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
READERS: frozenset[Role] = STAFF | {Role.VIEWER}
MAX_RECORD_MINUTES = 24 * 60

DEFAULT_RULES: dict[str, Any] = {
    "points_per_hour": {"default": 10},
    "daily_cap_minutes": 8 * 60,
    "wish_claim_days": 14,
    "wish_points": 20,
    "points_expiry_days": None,
}


def hours(minutes: int) -> float:
    return round(minutes / 60, 2)


# --- registry -------------------------------------------------------------------------------------


async def create_volunteer(
    session: AsyncSession, principal: Principal, data: dict[str, Any], settings: Settings
) -> Volunteer:
    area = await grids.get_in_scope(session, principal, data.get("area_id") or principal.area_id, field="area_id")
    if data.get("resident_id"):
        await residents.one(session, principal, data["resident_id"], field="resident_id")
    await repo.volunteers.check_new(session, data.get("id"))
    cipher = cipher_for(settings)
    volunteer = Volunteer(
        id=data.get("id") or new_id(),
        area_id=area.id,
        kind=str(data["kind"]),
        name=data["name"],
        resident_id=data.get("resident_id"),
        party_registration=str(data["party_registration"]) if data.get("party_registration") else None,
        phone_enc=cipher.encrypt(data.get("phone"), context=PHONE_CONTEXT),
        phone_index=cipher.blind_index(data.get("phone"), kind="phone"),
        skills=list(data.get("skills") or []),
        talent_category=data.get("talent_category"),
        availability=data.get("availability"),
        consent_at=clock.now(),
    )
    return await repo.saved(session, volunteer, new=True)


get_volunteer = repo.volunteers.one
"""A volunteer of the caller's area (``for_update``: locked); 404 ``volunteer_not_found``."""


async def volunteer_ref(
    session: AsyncSession, principal: Principal, volunteer_id: uuid.UUID, field: str, *, for_update: bool = False
) -> Volunteer:
    """A volunteer named in a body: 422 ``unknown_volunteer`` when unknown, out of scope or inactive."""
    volunteer = await repo.volunteers.one(session, principal, volunteer_id, field=field, for_update=for_update)
    return active(volunteer, field)


def active(volunteer: Volunteer, field: str) -> Volunteer:
    """``volunteer`` named in a body's ``field``, or 422 ``volunteer_inactive``."""
    if not volunteer.is_active:
        raise ValidationFailed(
            "This volunteer is no longer active.",
            code="volunteer_inactive",
            errors=[field_error(field, "inactive volunteer")],
        )
    return volunteer


async def update_volunteer(
    session: AsyncSession, volunteer: Volunteer, changes: dict[str, Any], settings: Settings
) -> Volunteer:
    not_null(changes, ("name", "skills", "is_active"))
    for key in ("name", "skills", "talent_category", "availability", "is_active"):
        if key in changes:
            setattr(volunteer, key, changes[key])
    if "party_registration" in changes:
        volunteer.party_registration = str(changes["party_registration"]) if changes["party_registration"] else None
    if "phone" in changes:
        cipher = cipher_for(settings)
        volunteer.phone_enc = cipher.encrypt(changes["phone"], context=PHONE_CONTEXT)
        volunteer.phone_index = cipher.blind_index(changes["phone"], kind="phone")
    return await repo.saved(session, volunteer)


async def list_volunteers(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: dict[str, Any],
    settings: Settings,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Volunteer]:
    where = await in_area(session, principal, Volunteer.area_id, filters.get("area_id"))
    if filters.get("kind"):
        where.append(Volunteer.kind == filters["kind"])
    if filters.get("talent_category"):
        where.append(Volunteer.talent_category == filters["talent_category"])
    if filters.get("skill"):
        where.append(sa.literal(filters["skill"]) == sa.any_(Volunteer.skills))
    if filters.get("phone"):
        where.append(Volunteer.phone_index == cipher_for(settings).blind_index(filters["phone"], kind="phone"))
    if filters.get("q"):
        where.append(Volunteer.name.contains(filters["q"], autoescape=True))
    return await repo.volunteers.list_in_scope(session, principal, *where, after=after, limit=limit)


async def in_area(
    session: AsyncSession, principal: Principal, column: Any, area_id: uuid.UUID | None
) -> list[sa.ColumnElement[bool]]:
    """The filter of a list narrowed by ``area_id`` to that area's subtree (422 when out of scope)."""
    path = await grids.area_path(session, principal, area_id)
    return [in_subtree(column, path)] if path else []


async def volunteer_outs(
    session: AsyncSession, principal: Principal, volunteers: Sequence[Volunteer], settings: Settings
) -> list[VolunteerOut]:
    cipher = cipher_for(settings)
    sums = await ledger.balances(session, [v.id for v in volunteers])
    return [
        VolunteerOut(
            id=v.id,
            area_id=v.area_id,
            kind=v.kind,  # type: ignore[arg-type]
            name=v.name if principal.may_see_personal_data else (mask_name(v.name) or ""),
            resident_id=v.resident_id,
            party_registration=v.party_registration,  # type: ignore[arg-type]
            phone=mask_phone(cipher.decrypt(v.phone_enc, context=PHONE_CONTEXT)),
            skills=v.skills,
            talent_category=v.talent_category,
            availability=v.availability,
            consent_at=v.consent_at,
            is_active=v.is_active,
            points=sums[v.id]["points"],
            hours=hours(sums[v.id]["minutes"]),
            version=v.version,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )
        for v in volunteers
    ]


async def reveal(
    session: AsyncSession, principal: Principal, volunteer_id: uuid.UUID, reason: str, settings: Settings
) -> VolunteerRevealed:
    audit.check_may_reveal(principal)
    volunteer = await get_volunteer(session, principal, volunteer_id)
    await audit.record(session, principal, "volunteer.reveal", volunteer.id, volunteer.area_id, reason=reason)
    return VolunteerRevealed(
        id=volunteer.id,
        name=volunteer.name,
        phone=cipher_for(settings).decrypt(volunteer.phone_enc, context=PHONE_CONTEXT),
    )


# --- rules ----------------------------------------------------------------------------------------


async def rules_for(session: AsyncSession, area_id: uuid.UUID) -> RulesOut:
    """The rules of ``area_id``: its own row, else its nearest ancestor's, else the defaults."""
    here = sa.select(Area.path).where(Area.id == area_id).scalar_subquery()
    stmt = (
        sa.select(VolunteerRules)
        .join(Area, Area.id == VolunteerRules.area_id)
        .where(Area.path.op("@>")(here))
        .order_by(sa.func.nlevel(Area.path).desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return RulesOut(area_id=area_id, inherited=True, **DEFAULT_RULES)
    return output(RulesOut, row, area_id=area_id, inherited=row.area_id != area_id)


async def put_rules(session: AsyncSession, principal: Principal, area_id: uuid.UUID, data: dict[str, Any]) -> RulesOut:
    area = await grids.get_in_scope(session, principal, area_id)
    if "default" not in data["points_per_hour"]:
        raise ValidationFailed(
            "points_per_hour needs a `default` rate for the other activity types.",
            code="default_rate_missing",
            errors=[field_error("points_per_hour", "add a `default` key")],
        )
    for key, rate in data["points_per_hour"].items():
        if not (0 <= rate <= 10_000) or not (1 <= len(key) <= 32):
            raise ValidationFailed(
                "Rates are 0–10000 points per hour, keyed by an activity type of 1–32 characters.",
                errors=[field_error("points_per_hour", f"bad rate for {key[:32]!r}")],
            )
    row = await session.get(VolunteerRules, area.id, with_for_update=True)
    if row is None:
        row = VolunteerRules(area_id=area.id, **data)
        session.add(row)
    else:
        for key, value in data.items():
            setattr(row, key, value)
        row.updated_at = clock.now()
    await session.flush()
    return await rules_for(session, area.id)


# --- service records ------------------------------------------------------------------------------


async def create_record(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> ServiceRecord:
    started, ended = data["started_at"], data["ended_at"]
    minutes = int((ended - started).total_seconds() // 60)
    if minutes <= 0 or minutes > MAX_RECORD_MINUTES:
        raise ValidationFailed(
            f"A service record lasts from 1 minute to {MAX_RECORD_MINUTES // 60} hours.",
            code="invalid_duration",
            errors=[field_error("ended_at", "must be 1 minute to 24 hours after started_at")],
        )
    # The volunteer's row is locked: two records of one volunteer are checked one after the other.
    volunteer = await volunteer_ref(session, principal, data["volunteer_id"], "volunteer_id", for_update=True)
    for field, rows in (("wish_id", repo.wishes), ("pairing_id", repo.pairings)):
        if data.get(field):
            await rows.one(session, principal, data[field], field=field)
    live = sa.and_(ServiceRecord.volunteer_id == volunteer.id, ServiceRecord.status != RecordStatus.REJECTED.value)
    overlapping = await session.scalar(
        sa.select(ServiceRecord.id).where(live, ServiceRecord.started_at < ended, ServiceRecord.ended_at > started)
    )
    if overlapping is not None:
        raise Conflict(
            "This volunteer has another service record in that time.",
            code="record_overlaps",
            overlapping_id=str(overlapping),
        )
    served_on = workflow.local_day(started)
    rules = await rules_for(session, volunteer.area_id)
    that_day = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0)).where(
            live, ServiceRecord.served_on == served_on
        )
    )
    if int(that_day or 0) + minutes > rules.daily_cap_minutes:
        raise ValidationFailed(
            f"At most {rules.daily_cap_minutes} minutes a day count; {that_day} are recorded for {served_on}.",
            code="daily_cap_exceeded",
            errors=[field_error("ended_at", f"exceeds the daily cap of {rules.daily_cap_minutes} minutes")],
        )
    record = ServiceRecord(
        id=new_id(),
        volunteer_id=volunteer.id,
        area_id=volunteer.area_id,
        activity_type=data["activity_type"],
        activity=data["activity"],
        started_at=started,
        ended_at=ended,
        minutes=minutes,
        served_on=served_on,
        status=RecordStatus.SUBMITTED.value,
        wish_id=data.get("wish_id"),
        pairing_id=data.get("pairing_id"),
        submitted_by=principal.user_id,
    )
    return await repo.saved(session, record, new=True)


get_record = repo.records.one
"""A service record of the caller's area (``for_update``: locked); 404 ``service_record_not_found``."""


def points_for(rules: RulesOut, activity_type: str, minutes: int) -> int:
    rate = rules.points_per_hour.get(activity_type, rules.points_per_hour.get("default", 0))
    return (int(rate) * minutes) // 60


async def verify_record(session: AsyncSession, principal: Principal, record: ServiceRecord) -> ServiceRecord:
    """核实: the record counts — its points and minutes move from the community's source to the volunteer."""
    status = workflow.advance(workflow.RECORD, RecordStatus(record.status), workflow.RecordAction.VERIFY, "record")
    rules = await rules_for(session, record.area_id)
    points = points_for(rules, record.activity_type, record.minutes)
    posting = await award(
        session,
        principal,
        record.area_id,
        record.volunteer_id,
        points=points,
        minutes=record.minutes,
        kind=PostingKind.SERVICE,
        source_key=f"service_record:{record.id}",
        memo=record.activity,
    )
    record.status, record.verified_by, record.verified_at = status.value, principal.user_id, clock.now()
    record.posting_id = posting.id
    await repo.saved(session, record)
    outbox.emit(
        session,
        "service_record.verified",
        "service_record",
        record.id,
        {
            "service_record_id": str(record.id),
            "volunteer_id": str(record.volunteer_id),
            "area_id": str(record.area_id),
            "minutes": record.minutes,
            "points": points,
        },
    )
    return record


async def reject_record(
    session: AsyncSession, principal: Principal, record: ServiceRecord, reason: str
) -> ServiceRecord:
    status = workflow.advance(workflow.RECORD, RecordStatus(record.status), workflow.RecordAction.REJECT, "record")
    record.status, record.verified_by, record.verified_at = status.value, principal.user_id, clock.now()
    record.rejection_reason = reason
    return await repo.saved(session, record)


async def award(
    session: AsyncSession,
    principal: Principal,
    area_id: uuid.UUID,
    volunteer_id: uuid.UUID,
    *,
    points: int,
    minutes: int = 0,
    kind: PostingKind,
    source_key: str,
    memo: str | None,
    posted_in: uuid.UUID | None = None,
) -> LedgerPosting:
    """Post ``points`` (and ``minutes``) from the source account of the volunteer's community
    ``area_id`` to the volunteer, as one posting of ``posted_in`` (default ``area_id``)."""
    legs: list[Leg] = []
    for unit, amount in ((LedgerUnit.POINTS, points), (LedgerUnit.MINUTES, minutes)):
        if amount:
            legs += await ledger.transfer_legs(
                session,
                ledger.Owner(AccountKind.SOURCE, unit, area_id),
                ledger.Owner(AccountKind.VOLUNTEER, unit, area_id, volunteer_id),
                amount,
            )
    return await ledger.post(
        session, principal, area_id=posted_in or area_id, kind=kind, source_key=source_key, legs=legs, memo=memo
    )


async def list_records(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[ServiceRecord]:
    where = [getattr(ServiceRecord, c) == filters[c] for c in ("volunteer_id", "status") if filters.get(c) is not None]
    return await repo.records.list_in_scope(session, principal, *where, after=after, limit=limit)


def record_out(record: ServiceRecord) -> RecordOut:
    return RecordOut(
        **{k: getattr(record, k) for k in RecordOut.model_fields if k != "allowed_actions"},
        allowed_actions=workflow.allowed(workflow.RECORD, RecordStatus(record.status)),
    )


# --- ledger ---------------------------------------------------------------------------------------


async def grant(
    session: AsyncSession, principal: Principal, volunteer: Volunteer, points: int, memo: str
) -> LedgerPosting:
    return await award(
        session,
        principal,
        volunteer.area_id,
        volunteer.id,
        points=points,
        kind=PostingKind.GRANT,
        source_key=f"grant:{new_id()}",
        memo=memo,
    )


get_posting = repo.postings.one
"""A ledger posting of the caller's area; 404 ``posting_not_found``."""


async def posting_out(session: AsyncSession, posting: LedgerPosting) -> dict[str, Any]:
    stmt = (
        sa.select(LedgerEntry, LedgerAccount)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.posting_id == posting.id)
        .order_by(LedgerEntry.id)
    )
    entries = [
        {
            "account_kind": acc.kind,
            "volunteer_id": str(acc.volunteer_id) if acc.volunteer_id else None,
            "unit": e.unit,
            "amount": e.amount,
        }
        for e, acc in (await session.execute(stmt)).all()
    ]
    return {
        "id": posting.id,
        "area_id": posting.area_id,
        "kind": posting.kind,
        "source_key": posting.source_key,
        "reverses_id": posting.reverses_id,
        "memo": posting.memo,
        "posted_by": posting.posted_by,
        "posted_at": posting.posted_at,
        "entries": entries,
    }


def _entries_stmt(volunteer_id: uuid.UUID) -> sa.Select[Any]:
    return cast(
        sa.Select[Any],
        sa.select(LedgerEntry, LedgerPosting)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerPosting, LedgerPosting.id == LedgerEntry.posting_id)
        .where(LedgerAccount.volunteer_id == volunteer_id),
    )


def _entry_out(entry: LedgerEntry, posting: LedgerPosting) -> EntryOut:
    return EntryOut(
        posting_id=posting.id,
        kind=posting.kind,  # type: ignore[arg-type]
        unit=entry.unit,  # type: ignore[arg-type]
        amount=entry.amount,
        memo=posting.memo,
        posted_at=posting.posted_at,
        reverses_id=posting.reverses_id,
    )


async def ledger_page(
    session: AsyncSession, volunteer: Volunteer, *, after: Sequence[Any] | None, limit: int
) -> list[tuple[EntryOut, tuple[dt.datetime, int]]]:
    stmt = keyset(_entries_stmt(volunteer.id), [LedgerPosting.posted_at, LedgerEntry.id], after=after, limit=limit)
    return [(_entry_out(e, p), (p.posted_at, e.id)) for e, p in (await session.execute(stmt)).all()]


# --- statements and rankings ----------------------------------------------------------------------


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, 1, 1, tzinfo=workflow.SHANGHAI)
    return start, dt.datetime(year + 1, 1, 1, tzinfo=workflow.SHANGHAI)


async def statement(session: AsyncSession, volunteer: Volunteer, year: int) -> dict[str, Any]:
    start, end = year_bounds(year)
    units = [u.value for u in LedgerUnit]
    opening = dict.fromkeys(units, 0)
    earned = dict.fromkeys(units, 0)
    spent = dict.fromkeys(units, 0)
    stmt = (
        _entries_stmt(volunteer.id)
        .where(LedgerPosting.posted_at < end)
        .order_by(LedgerPosting.posted_at, LedgerEntry.id)
    )
    entries = []
    for e, p in (await session.execute(stmt)).all():
        if p.posted_at < start:
            opening[e.unit] += e.amount
            continue
        (earned if e.amount > 0 else spent)[e.unit] += abs(e.amount)
        entries.append(_entry_out(e, p))
    closing = {u: opening[u] + earned[u] - spent[u] for u in units}
    services = await session.scalar(
        sa.select(sa.func.count()).where(
            ServiceRecord.volunteer_id == volunteer.id,
            ServiceRecord.status == RecordStatus.VERIFIED.value,
            ServiceRecord.started_at >= start,
            ServiceRecord.started_at < end,
        )
    )
    return {
        "year": year,
        "opening": opening,
        "closing": closing,
        "earned": earned,
        "spent": spent,
        "services": int(services or 0),
        "entries": entries,
    }


async def rankings(
    session: AsyncSession, principal: Principal, *, area_id: uuid.UUID | None, year: int, by: str, limit: int
) -> list[dict[str, Any]]:
    """Volunteers of an area ranked by verified hours or times served in a year (实践之星)."""
    start, end = year_bounds(year)
    minutes = sa.func.sum(ServiceRecord.minutes)
    times = sa.func.count(ServiceRecord.id)
    stmt = (
        sa.select(Volunteer, minutes.label("minutes"), times.label("times"))
        .join(ServiceRecord, ServiceRecord.volunteer_id == Volunteer.id)
        .where(
            repo.volunteers.scope(principal),
            ServiceRecord.status == RecordStatus.VERIFIED.value,
            ServiceRecord.started_at >= start,
            ServiceRecord.started_at < end,
        )
        .group_by(Volunteer.id)
    )
    stmt = stmt.where(*await in_area(session, principal, Volunteer.area_id, area_id))
    order = [minutes.desc(), times.desc()] if by == "hours" else [times.desc(), minutes.desc()]
    stmt = stmt.order_by(*order, Volunteer.id).limit(limit)
    return [
        {
            "rank": i,
            "volunteer_id": v.id,
            "name": v.name if principal.may_see_personal_data else (mask_name(v.name) or ""),
            "kind": v.kind,
            "hours": hours(int(m)),
            "times": int(t),
        }
        for i, (v, m, t) in enumerate((await session.execute(stmt)).all(), start=1)
    ]
