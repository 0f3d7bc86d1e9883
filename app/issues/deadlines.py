"""An issue's deadlines (时限): where they are set, and how they move.

:func:`retime` is the one place an issue's deadlines are set — from a policy for a new issue or a
new category or priority, else from the windows the issue already has (resume, extension, 重办).
:func:`refresh_due` keeps ``due_at`` / ``due_soon_at`` on the clock now running; the SLA state is
read from those two (:func:`app.issues.repository.sla_state` and its SQL twin beside it).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.issues.models import Issue
from app.issues.sla import (
    DEFAULT_CALENDAR_FILE,
    DUE_SOON_SHARE,
    UNIT_SECONDS,
    BusinessClock,
    SlaPolicy,
    Unit,
    WorkCalendar,
    deadline,
    pick_policy,
)
from app.issues.sla_policies import repository as policies
from app.issues.workflow import Priority, Status

Moved = dict[str, dict[str, str | None]]
"""Deadlines that moved, ``{"respond_due_at": {"from": …, "to": …}}``, for the timeline."""


@lru_cache(maxsize=8)
def _calendar(path: str, tz: str) -> WorkCalendar:
    return WorkCalendar.from_json(Path(path), tz=tz)


def calendar_for(settings: Settings) -> WorkCalendar:
    return _calendar(str(settings.holiday_calendar_file or DEFAULT_CALENDAR_FILE), settings.timezone)


def refresh_due(issue: Issue, cal: WorkCalendar) -> None:
    """Set ``due_at`` / ``due_soon_at`` for the clock now running (respond, resolve, or none)."""
    status = Status(issue.status)
    if status is Status.REPORTED:
        start, due = issue.created_at, issue.respond_due_at
        unit, window = Unit(issue.respond_unit), issue.respond_amount * UNIT_SECONDS[Unit(issue.respond_unit)]
    elif status in {Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.SUSPENDED}:
        start, due = issue.resolve_started_at, issue.resolve_due_at
        unit = Unit(issue.resolve_unit)
        window = issue.resolve_amount * UNIT_SECONDS[unit] + issue.extension_business_seconds
    else:
        issue.due_at = issue.due_soon_at = None
        return
    bclock = BusinessClock(cal, unit)
    soon = bclock.from_business(bclock.to_business(due) - window * DUE_SOON_SHARE)
    issue.due_at = due
    issue.due_soon_at = max(soon, start)


def _resolve_due(issue: Issue, cal: WorkCalendar) -> dt.datetime:
    """The policy's resolve deadline, capped by the source system's own deadline when earlier."""
    due = deadline(
        issue.resolve_started_at,
        issue.resolve_amount,
        Unit(issue.resolve_unit),
        cal,
        paused_seconds_business=issue.paused_business_seconds + issue.extension_business_seconds,
    )
    if issue.external_due_at is not None and issue.external_due_at < due:
        due = max(issue.external_due_at, issue.resolve_started_at)
    return due


def retime(issue: Issue, cal: WorkCalendar, policy: SlaPolicy | None = None) -> Moved:
    """The one place an issue's deadlines are set: from ``policy`` when given (a new issue, a new
    category or priority), else from the windows the issue already has (resume, extension, 重办).

    A window that has closed is history: the response window once ``first_responded_at`` is set,
    the resolve window once ``resolved_at`` is. It keeps its length and its deadline, and so its
    met / missed verdict and the rates built on it; only running windows are recomputed. Returns
    the deadlines that moved, for the timeline.
    """
    moved: Moved = {}

    def move(name: str, due: dt.datetime) -> None:
        before = getattr(issue, name)
        if before != due:
            moved[name] = {"from": before.isoformat() if before else None, "to": due.isoformat()}
            setattr(issue, name, due)

    if issue.first_responded_at is None:
        if policy is not None:
            issue.respond_amount = policy.respond_within.amount
            issue.respond_unit = policy.respond_within.unit.value
        move("respond_due_at", deadline(issue.created_at, issue.respond_amount, Unit(issue.respond_unit), cal))
    if issue.resolved_at is None:
        if policy is not None:
            issue.resolve_amount = policy.resolve_within.amount
            issue.resolve_unit = policy.resolve_within.unit.value
        move("resolve_due_at", _resolve_due(issue, cal))
    refresh_due(issue, cal)
    return moved


async def apply_policy(session: AsyncSession, issue: Issue, cal: WorkCalendar) -> Moved:
    """Re-apply the SLA policy (a new category or priority) to the windows still running."""
    policy = pick_policy(issue.category, Priority(issue.priority), issue.kind, await policies.policies(session))  # type: ignore[arg-type]
    return retime(issue, cal, policy)


def timeline_entry(moved: Moved) -> dict[str, Any]:
    """The timeline entry of deadlines :func:`retime` moved (nothing when none did)."""
    return {"deadlines": moved} if moved else {}
