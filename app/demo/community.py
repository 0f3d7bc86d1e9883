"""Demo stages: the residents' archive, 民情日记 and dispute mediation from the seed reports, written
through the same services staff use (so personal data is encrypted and masked like real data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.demo import data
from app.demo.issues import _principal
from app.diary import service as diary
from app.diary.models import DiaryEntry, DiaryStatus
from app.issues.models import Issue
from app.kit import clock
from app.mediation import service as mediation
from app.residents import service as residents


def _grid_worker(ctx: dict[str, Any], area: Any) -> Any:
    areas_by_id = {a.id: a for a in ctx["areas"].values()}
    cur = area
    while cur is not None:
        for u in ctx["users"].values():
            if u.home_area_id == cur.id and u.role in (Role.GRID_WORKER.value, Role.COMMUNITY_ADMIN.value):
                return _principal(u, areas_by_id)
        cur = areas_by_id.get(cur.parent_id)
    raise LookupError(area.code)


async def load_residents(session: AsyncSession, ctx: dict[str, Any]) -> None:
    areas, settings = ctx["areas"], ctx["settings"]
    buildings: dict[str, Any] = {}
    households: dict[str, Any] = {}
    ctx["residents"] = resident_ids = {}
    for b in data.BUILDINGS:
        who = _grid_worker(ctx, areas[b.area_code])
        buildings[b.ref] = await residents.create_building(
            session, who, {"area_id": areas[b.area_code].id, "name": b.name, "address": b.address}
        )
    for h in data.HOUSEHOLDS:
        building = buildings[h.building_ref]
        who = _grid_worker(ctx, next(a for a in areas.values() if a.id == building.area_id))
        households[h.ref] = await residents.create_household(
            session, who, {"building_id": building.id, "address": h.address}
        )
    for r in data.RESIDENTS:
        household = households[r.household_ref]
        who = _grid_worker(ctx, next(a for a in areas.values() if a.id == household.area_id))
        resident = await residents.create_resident(
            session,
            who,
            {
                "household_id": household.id,
                "name": r.name,
                "gender": r.gender,
                "birth_date": r.birth_date,
                "phone": r.phone,
                "id_number": r.id_number,
                "tags": list(r.tags),
            },
            settings,
        )
        resident_ids[r.ref] = resident.id


async def load_diary(session: AsyncSession, ctx: dict[str, Any]) -> None:
    areas, users = ctx["areas"], ctx["users"]
    areas_by_id = {a.id: a for a in areas.values()}
    now = clock.now()
    issue_ids: dict[str, Any] = ctx.get("issue_ids", {})
    for e in data.DIARY_ENTRIES:
        author = _principal(users[e.worker_username], areas_by_id)
        status = "open" if e.status == "escalated" else e.status
        entry, _ = await diary.create(
            session,
            author,
            {
                "area_id": areas[e.area_code].id,
                "resident_id": ctx["residents"].get(e.resident_ref) if e.resident_ref else None,
                "visited_at": now - dt.timedelta(days=e.days_ago, hours=3),
                "kind": e.kind,
                "content": e.content,
                "measures": e.measures,
                "result": e.result,
                "tags": list(e.tags),
                "status": status,
            },
        )
        if e.escalates_to_issue_ref and e.escalates_to_issue_ref in issue_ids:
            issue = await session.get(Issue, issue_ids[e.escalates_to_issue_ref])
            assert isinstance(entry, DiaryEntry) and issue is not None
            issue.diary_entry_id = entry.id
            entry.issue_id = issue.id
            entry.status = (DiaryStatus.RESOLVED if issue.status == "closed" else DiaryStatus.ESCALATED).value
    await session.flush()


async def load_disputes(session: AsyncSession, ctx: dict[str, Any]) -> None:
    areas, users, settings = ctx["areas"], ctx["users"], ctx["settings"]
    areas_by_id = {a.id: a for a in areas.values()}
    today = clock.now()
    for d in data.DISPUTES:
        mediator = _principal(users[d.mediator_username], areas_by_id)
        registrar = _grid_worker(ctx, areas[d.area_code])
        dispute = await mediation.create(
            session,
            registrar,
            {
                "area_id": areas[d.area_code].id,
                "title": d.title,
                "description": d.description,
                "type": d.type,
                "risk_level": d.risk_level,
                "risk_reason": d.risk_reason,
                "parties": [{"name": p.name, "phone": p.phone, "role": p.role} for p in d.parties],
                "mediator_id": mediator.user_id,
            },
            settings,
        )
        if d.issue_ref and d.issue_ref in ctx.get("issue_ids", {}):
            dispute.issue_id = ctx["issue_ids"][d.issue_ref]
        for s in d.sessions:
            dispute = await mediation.add_session(
                session,
                mediator,
                dispute,
                {
                    "held_at": today - dt.timedelta(days=s.days_ago),
                    "place": s.place,
                    "attendees": list(s.attendees),
                    "notes": s.notes,
                },
            )
        if d.outcome:
            referred = "judicial" if d.outcome == "referred" else None
            dispute = await mediation.record_outcome(
                session,
                dispute,
                {"outcome": d.outcome, "agreement_text": d.agreement_text, "referred_to": referred},
            )
        for f in d.follow_ups:
            dispute = await mediation.add_follow_up(
                session,
                mediator,
                dispute,
                {"visited_on": (today - dt.timedelta(days=f.days_ago)).date(), "stable": f.stable, "notes": f.notes},
            )
