"""Demo stage: the seed reports' cases, driven through the real issue service to where they stand.

Each case is created "``days_ago``" days back (the service clock is moved for the load) and taken
through the same actions staff would take — accept, escalate, dispatch, start, resolve, verify,
close — so timelines, deadlines and the resident's rating are all genuine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.auth.roles import Role
from app.demo import data
from app.issues import actions, intake, schemas
from app.issues.workflow import Action
from app.kit import clock
from app.scope import Principal

_real_now = clock.now


@contextmanager
def frozen_clock(at: dt.datetime) -> Iterator[None]:
    clock.now = lambda: at  # type: ignore[assignment]
    try:
        yield
    finally:
        clock.now = _real_now  # type: ignore[assignment]


def _principal(user: User, areas_by_id: dict[Any, Any]) -> Principal:
    area = areas_by_id[user.home_area_id]
    return Principal.of(user, area.id, area.path)


async def load_issues(session: AsyncSession, ctx: dict[str, Any]) -> None:
    settings = ctx["settings"]
    areas, users, units = ctx["areas"], ctx["users"], ctx["units"]
    areas_by_id = {a.id: a for a in areas.values()}
    by_area_role: dict[tuple[Any, str], User] = {}
    for u in users.values():
        by_area_role.setdefault((u.home_area_id, u.role), u)
    dept_by_unit = {u.unit_id: u for u in users.values() if u.role == Role.DEPARTMENT.value}

    def who(area: Any, role: Role) -> Principal:
        cur = area
        while cur is not None:
            user = by_area_role.get((cur.id, role.value))
            if user is not None:
                return _principal(user, areas_by_id)
            cur = areas_by_id.get(cur.parent_id)
        raise LookupError(f"no {role} above {area.code}")

    now = clock.now()
    created_ids: dict[str, Any] = {}
    for case in data.ISSUES:
        grid = areas[case.area_code]
        t0 = now - dt.timedelta(days=case.days_ago, hours=2)
        worker = who(grid, Role.GRID_WORKER)
        community = who(grid, Role.COMMUNITY_ADMIN)
        street = who(grid, Role.STREET_ADMIN)
        body = schemas.IssueCreate(
            title=case.title,
            description=case.description,
            kind=case.kind,
            category=case.category,
            channel=case.channel,
            priority=case.priority,
            area_id=grid.id,
            address=case.address,
            reporter=schemas.Reporter(name=case.reporter_name, phone=case.reporter_phone),
        )
        with frozen_clock(t0):
            issue = await intake.create_issue(session, worker, settings, body)
        created_ids[case.ref] = issue.id
        resolve_at = t0 + dt.timedelta(hours=case.resolved_after_hours or 30)
        steps = _steps(case, worker, community, street, units, dept_by_unit, areas_by_id, t0, resolve_at, now)
        for when, principal, action, payload in steps:
            with frozen_clock(min(when, now)):
                await actions.act(session, principal, settings, issue.id, action, payload, None)
    ctx["issue_ids"] = created_ids


_ORDER = ["reported", "accepted", "dispatched", "in_progress", "suspended", "resolved", "verified", "closed"]


def _steps(
    case: data.DemoIssue,
    worker: Principal,
    community: Principal,
    street: Principal,
    units: dict[str, Any],
    dept_by_unit: dict[Any, User],
    areas_by_id: dict[Any, Any],
    t0: dt.datetime,
    resolve_at: dt.datetime,
    now: dt.datetime,
) -> list[tuple[dt.datetime, Principal, Action, dict[str, Any]]]:
    h = dt.timedelta(hours=1)
    target = case.target_status
    if target == "reported":
        return []
    if target == "rejected":
        note = case.status_note or "重复诉求"
        return [(t0 + h, community, Action.REJECT, {"reason": case.reject_reason or "duplicate", "note": note})]
    steps: list[tuple[dt.datetime, Principal, Action, dict[str, Any]]] = [(t0 + h, community, Action.ACCEPT, {})]
    dispatcher = community
    if case.escalated_to:
        # 小事不出网格, 大事不出社区: the grid hands it up, and the community again if it must.
        steps.append((t0 + 1.5 * h, worker, Action.ESCALATE, {"reason": "网格内无法解决,需社区协调"}))
        if case.escalated_to == "street":
            steps.append((t0 + 1.7 * h, community, Action.ESCALATE, {"reason": "涉及多个部门,需街道统筹"}))
        dispatcher = street if case.escalated_to == "street" else community
    if target == "accepted":
        return steps
    unit = units.get(case.dispatch_to_unit) if case.dispatch_to_unit else None
    handler = _principal(dept_by_unit[unit.id], areas_by_id) if unit is not None and unit.id in dept_by_unit else worker
    dispatch_to = {"assignee_unit_id": str(unit.id)} if unit is not None else {"assignee_user_id": str(worker.user_id)}
    steps.append((t0 + 2 * h, dispatcher, Action.DISPATCH, {**dispatch_to, "note": "请尽快处置"}))
    if target == "dispatched":
        return steps
    steps.append((t0 + 3 * h, handler, Action.START, {}))
    if target == "suspended":
        steps.append((t0 + 4 * h, handler, Action.SUSPEND, {"reason": case.status_note or "等待居民配合"}))
        return steps
    if target == "in_progress":
        return steps
    resolve = {
        "outcome": case.resolve_outcome or "solved",
        "notes": case.resolution or "已处理完毕",
        **({"explanation": case.resolution or "暂无法解决"} if case.resolve_outcome == "unsolvable" else {}),
    }
    steps.append((resolve_at, handler, Action.RESOLVE, resolve))
    if target == "resolved":
        return steps
    verifier = worker if handler.user_id != worker.user_id else community
    steps.append((resolve_at + 2 * h, verifier, Action.VERIFY, {}))
    if target == "verified":
        return steps
    close: dict[str, Any] = {
        "rating": case.rating or "satisfied",
        "solved": True if case.solved is None else case.solved,
    }
    steps.append((resolve_at + 6 * h, dispatcher, Action.CLOSE, close))
    if close["rating"] == "dissatisfied":
        # 不满意 reopens the issue for rework (重办) once; rated 不满意 again, it stays closed
        steps.append((resolve_at + 30 * h, handler, Action.RESOLVE, resolve))
        steps.append((resolve_at + 32 * h, verifier, Action.VERIFY, {}))
        steps.append((resolve_at + 36 * h, dispatcher, Action.CLOSE, close))
    return steps
