"""Demo stage: the six 一年10件实事 lists of the county's notice, through the services staff use.

Each list is drawn up by its community administrator (items verbatim, class as published, the
recurring target read from the wording), approved by its town and published at the start of the
current year; grid workers record the activities due so far (a few left out, so some items are
behind), and residents' evaluations are entered. 安富园's greenhouse project (item 9) comes from a
民主协商 meeting whose decision creates the commitment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.commitments import schedule as sched
from app.commitments import service as commitments
from app.commitments import targets
from app.commitments.workflow import Action
from app.consultation import service as consultation
from app.demo import data
from app.demo.commitment_notice import NOTICE
from app.demo.issues import _principal, frozen_clock
from app.kit import clock

CATEGORY = {"G": "governance", "C": "care", "S": "service"}
GREENHOUSE = 9  # 安富园's item decided by the consultation
RATINGS = ["satisfied", "satisfied", "basically_satisfied", "satisfied", "dissatisfied"]


def _item(text: str, letter: str) -> dict[str, Any]:
    title, description = targets.split(text)
    return {
        "category": CATEGORY[letter],
        "title": title,
        "description": description,
        "budget_yuan": targets.budget_yuan(text),
        "schedule": targets.parse(text),
        "milestones": [],
    }


def _user(ctx: dict[str, Any], role: str, area_code: str) -> Any:
    areas_by_id = {a.id: a for a in ctx["areas"].values()}
    area = ctx["areas"][area_code]
    for u in ctx["users"].values():
        if u.role == role and u.home_area_id == area.id:
            return _principal(u, areas_by_id)
    raise LookupError((role, area_code))


def _grid_worker(ctx: dict[str, Any], community_code: str) -> Any:
    areas_by_id = {a.id: a for a in ctx["areas"].values()}
    community = ctx["areas"][community_code]
    for u in ctx["users"].values():
        home = areas_by_id[u.home_area_id]
        if u.role == Role.GRID_WORKER.value and home.parent_id == community.id:
            return _principal(u, areas_by_id)
    return _user(ctx, Role.COMMUNITY_ADMIN.value, community_code)


async def load_commitments(session: AsyncSession, ctx: dict[str, Any]) -> None:
    settings = ctx["settings"]
    zone = ZoneInfo(settings.timezone)
    now = clock.now()
    today = now.astimezone(zone).date()
    year = today.year
    start = dt.datetime(year, 1, 5, 9, 0, tzinfo=zone)
    for n, (code, letters, texts) in enumerate(NOTICE):
        community = ctx["areas"][code]
        admin = _user(ctx, Role.COMMUNITY_ADMIN.value, code)
        town = _user(
            ctx, Role.STREET_ADMIN.value, next(a.code for a in ctx["areas"].values() if a.id == community.parent_id)
        )
        worker = _grid_worker(ctx, code)
        items = [_item(t, letters[i]) for i, t in enumerate(texts)]
        with frozen_clock(min(start, now)):
            if code == data.ANFUYUAN:
                row = await commitments.create_list(
                    session, admin, {"area_id": community.id, "year": year, "items": items[: GREENHOUSE - 1]}, settings
                )
                await _greenhouse_consultation(session, ctx, admin, row, items[GREENHOUSE - 1], year)
                for extra in items[GREENHOUSE:]:
                    await commitments.add_item(session, admin, row, extra, settings)
            else:
                row = await commitments.create_list(
                    session, admin, {"area_id": community.id, "year": year, "items": items}, settings
                )
            row = await commitments.transition(session, admin, row, Action.SUBMIT)
            row = await commitments.transition(session, town, row, Action.APPROVE)
            row = await commitments.transition(session, admin, row, Action.PUBLISH)
        listed = (await commitments.repository.items_of(session, [row.id]))[row.id]
        for k, item in enumerate(listed):
            await _activities(session, worker, item, n + k, today, settings, zone)
            for r, rating in enumerate(RATINGS[: 2 + (n + k) % 4]):
                await commitments.evaluate(
                    session, worker, item, row, {"rating": rating if (n + k + r) % 7 else "basically_satisfied"}
                )


async def _activities(
    session: AsyncSession, worker: Any, item: Any, seed: int, today: dt.date, settings: Any, zone: ZoneInfo
) -> None:
    """One activity per occurrence due so far (every fourth item misses its latest one)."""
    if item.schedule is None and not item.milestones:
        due = [dt.date(item.year, 3 + seed % 8, 15)] if seed % 3 else []
    elif item.schedule is None:
        return
    else:
        due = [d for d in sched.due_dates(item.schedule, item.year) if d < today]
        if item.schedule["kind"] == "season":
            due = [d for d in due if sched.counts(item.schedule, item.year, d)]
        if seed % 4 == 3 and due:
            due = due[:-1]
    for day in due:
        if day >= today:
            continue
        held_at = dt.datetime.combine(day - dt.timedelta(days=seed % 3), dt.time(9, 30), zone)
        if held_at.year != item.year:
            held_at = dt.datetime.combine(day, dt.time(9, 30), zone)
        await commitments.record_activity(
            session,
            worker,
            {
                "item_ids": [item.id],
                "held_at": held_at,
                "place": "社区党群服务中心",
                "participants": 20 + seed % 30,
                "volunteers": 3 + seed % 5,
                "notes": None,
            },
            settings,
        )


async def _greenhouse_consultation(
    session: AsyncSession, ctx: dict[str, Any], admin: Any, row: Any, item: dict[str, Any], year: int
) -> None:
    """民事民提 → 民事民议 → 民事民决: the greenhouse project proposed, debated and adopted."""
    proposal = await consultation.create_proposal(
        session,
        admin,
        {
            "area_id": row.area_id,
            "title": "建设现代化设施大棚",
            "content": item["description"],
            "proposer_name": "居民代表",
        },
    )
    participants = [{"name": f"居民代表{i}", "role": "resident_rep", "present": i <= 7} for i in range(1, 9)] + [
        {"name": "党员代表1", "role": "party_member_rep", "present": True},
        {"name": "党员代表2", "role": "party_member_rep", "present": True},
        {"name": "驻村工作队", "role": "unit_rep", "present": True},
        {"name": "富安丰商贸有限公司", "role": "merchant", "present": True},
    ]
    meeting = await consultation.create_consultation(
        session,
        admin,
        {
            "area_id": row.area_id,
            "title": "安富园社区设施大棚建设民主协商会",
            "held_at": dt.datetime(year, 1, 3, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
            "place": "安富园社区党群服务中心",
            "convener": "社区党支部",
            "invited": 12,
            "quorum": "2/3",
            "majority": "more_than_half",
            "participants": participants,
            "agenda": [
                {
                    "title": "建设现代化设施大棚",
                    "options": ["同意建设双拱双膜大棚4栋", "暂缓建设"],
                    "proposal_id": proposal.id,
                }
            ],
            "minutes": "与会代表听取了设施大棚建设方案,围绕资金、用地和收益分配进行了协商。",
        },
    )
    await consultation.record_decision(
        session,
        admin,
        meeting,
        1,
        {
            "present": 11,
            "votes": [10, 1],
            "create_commitment": {
                "list_id": row.id,
                "category": item["category"],
                "title": item["title"],
                "description": item["description"],
                "budget_yuan": item["budget_yuan"],
                "schedule": None,
                "milestones": [
                    {"title": "完成选址和设计", "due": dt.date(year, 4, 30)},
                    {"title": "大棚建成投用", "due": dt.date(year, 10, 31)},
                ],
            },
        },
        ctx["settings"],
    )
