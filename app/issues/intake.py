"""Intake (受理前): filing an issue, and editing it while it is still reported or accepted.

A new issue is prepared (:func:`prepare_issue`: every read in one statement, with what is stored
under its Idempotency-Key; its area, number and SLA deadlines) and then written
(:func:`insert_issue`: the issue, its create event, its ``issue.created`` message and its
change-feed entry in one statement, with the key and the response stored under it).
:func:`file_issue` is the create endpoint's pipeline, outside any transaction;
:func:`create_issue` files one in the caller's transaction, for the other channels (the 12345
hotline, Open311)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.config import Settings
from app.db import ReadPool
from app.errors import Conflict, NotFound, ValidationFailed, field_error
from app.grids.models import Level
from app.issues import deadlines, reading, repository, routing, schemas, timeline
from app.issues.models import Issue
from app.issues.sla import pick_policy
from app.issues.workflow import Priority, Status, Tier
from app.kit import clock, idempotency
from app.kit.etag import write_if_match
from app.kit.ids import new_id
from app.scope import Principal
from app.sync.changes import change_row


def _tier_for(level: str) -> Tier:
    if level in {Level.GRID, Level.MICRO_GRID}:
        return Tier.GRID
    if level == Level.COMMUNITY:
        return Tier.COMMUNITY
    return Tier.STREET


def _area_for(body: schemas.IssueCreate, found: list[routing.AreaRef]) -> routing.AreaRef:
    """The area of a new issue among the rows :func:`repository.create_context` found."""
    if body.area_id is not None:
        if not found:
            raise ValidationFailed(
                "No such area in your jurisdiction.",
                code="unknown_area",
                errors=[field_error("area_id", "unknown or outside your area")],
            )
        return found[0]
    if body.location is not None:
        area = routing.first_containing(found, body.location.lng, body.location.lat)
        if area is None:
            raise ValidationFailed(
                "No grid in your jurisdiction contains this location.",
                code="location_outside_scope",
                errors=[field_error("location", "outside every area you may file issues in")],
            )
        return area
    if not found:  # pragma: no cover - a principal's home area always exists
        raise NotFound("Your home area no longer exists.", code="area_not_found")
    return found[0]


def _id_taken() -> Conflict:
    return Conflict("An issue with this id exists.", code="issue_exists", errors=[field_error("id", "taken")])


def _unknown_category(code: str) -> ValidationFailed:
    return ValidationFailed(
        f"Unknown category {code!r}.",
        code="unknown_category",
        errors=[field_error("category", "not a category code; see GET /api/v1/issue-categories")],
    )


async def _check_category(session: AsyncSession, code: str) -> None:
    if not await repository.category_exists(session, code):
        raise _unknown_category(code)


async def prepare_issue(
    on: AsyncSession | ReadPool,
    principal: Principal,
    settings: Settings,
    body: schemas.IssueCreate,
    *,
    external_due_at: dt.datetime | None = None,
    idempotency_key: idempotency.Pending | None = None,
) -> tuple[Response | None, Issue | None]:
    """Everything of a new issue short of writing it: looks ``idempotency_key`` up (a completed
    one returns ``(replay, None)``), checks the request, routes it to its area, takes its number
    and sets its SLA deadlines. :func:`insert_issue` writes it.

    Every read goes to the database in one statement, in the session's transaction or, on the
    hot-read pool, in none (see :func:`file_issue`); the number is taken apart (see
    :func:`repository.next_number`)."""
    if body.area_id is not None:
        by, area_id = routing.AreaBy.ID, body.area_id
    elif body.location is not None:
        by, area_id = routing.AreaBy.LOCATION, None
    else:
        by, area_id = routing.AreaBy.HOME, principal.area_id
    ctx = await repository.create_context(
        on,
        key=idempotency_key,
        issue_id=body.id,
        category=body.category,
        by=by,
        area_id=area_id,
        lng=body.location.lng if body.location else None,
        lat=body.location.lat if body.location else None,
        scope_path=principal.area_path,
    )
    if idempotency_key is not None:
        replay = idempotency.stored(idempotency_key, ctx.stored)
        if replay is not None:
            return replay, None
    if ctx.id_taken:
        raise _id_taken()
    if not ctx.category_ok:
        raise _unknown_category(body.category)
    area = _area_for(body, ctx.areas)
    now = clock.now()
    cal = deadlines.calendar_for(settings)
    prefix = area.number_prefix
    local_day = now.astimezone(ZoneInfo(settings.timezone)).date()
    sequence = await repository.next_number(on, prefix, local_day)
    issue = _new_issue(
        id=body.id or new_id(),
        number=f"{prefix}-{local_day:%Y%m%d}-{sequence:06d}",
        title=body.title,
        description=body.description,
        kind=body.kind.value,
        category=body.category,
        channel=body.channel.value,
        priority=body.priority.value,
        status=Status.REPORTED.value,
        tier=_tier_for(area.level).value,
        area_id=area.id,
        lat=body.location.lat if body.location else None,
        lng=body.location.lng if body.location else None,
        address=body.address,
        reporter_name=body.reporter.name if body.reporter else None,
        reporter_phone=body.reporter.phone if body.reporter else None,
        occurred_at=body.occurred_at,
        external_ref=body.external_ref,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        resolve_started_at=now,
        external_due_at=external_due_at,
        version=1,
        last_event_seq=1,  # the create event
        paused_seconds=0,
        paused_business_seconds=0.0,
        extension_business_seconds=0.0,
        supervised_count=0,
        reopened_count=0,
        escalated=False,
        **dict.fromkeys(_UNSET_ON_CREATE),
    )
    deadlines.retime(issue, cal, pick_policy(issue.category, Priority(issue.priority), issue.kind, ctx.policies))  # type: ignore[arg-type]
    return None, issue


def _new_issue(**values: object) -> Issue:
    """An issue from its column values, set as loading a row sets them: without the change events
    that the ORM's constructor fires for each of its fifty attributes (80 µs a create)."""
    issue: Issue = sa.inspect(Issue).class_manager.new_instance()
    issue.__dict__.update(values)
    return issue


_UNSET_ON_CREATE = (
    "assignee_user_id",
    "assignee_unit_id",
    "dispatched_by",
    "resolved_by",
    "merged_into_id",
    "diary_entry_id",
    "outcome",
    "resolution",
    "rating",
    "solved",
    "evaluated_at",
    "first_responded_at",
    "dispatched_at",
    "resolved_at",
    "closed_at",
    "suspended_since",
    "pending_extension",
)


async def insert_issue(
    on: AsyncSession | ReadPool,
    principal: Principal,
    issue: Issue,
    *,
    completing: tuple[idempotency.Pending, Response] | None = None,
) -> bool:
    """Write an issue from :func:`prepare_issue` with its create event (seq 1), its
    ``issue.created`` outbox message and its change-feed entry in one statement, together with
    its Idempotency-Key completed with the response when ``completing`` holds them. In a session
    the issue then belongs to it like one it had loaded; on the hot-read pool the statement is
    autocommitted on its own (see :func:`file_issue`). False when another request inserted the key
    first: nothing was written."""
    now = issue.created_at
    state = issue.__dict__
    values = {c: state[c] for c in repository.ISSUE_COLUMNS}
    event = {
        "seq": issue.last_event_seq,
        "action": "create",
        "from_status": None,
        "to_status": Status.REPORTED.value,
        "actor_id": principal.user_id,
        "actor_role": principal.role.value,
        "actor_name": principal.display_name,
        "payload": json.dumps({"channel": issue.channel}),
        "created_at": now,
    }
    message = timeline.message("issue.created", issue, now)
    change = change_row(timeline.ENTITY, issue.id, issue.area_id)
    try:
        if not await repository.insert_created(on, values, event, message, change, completing=completing):
            return False
    except repository.IssueIdTaken:  # inserted by another request since prepare_issue looked
        raise _id_taken() from None
    if isinstance(on, AsyncSession):
        make_transient_to_detached(issue)
        on.add(issue)
    return True


async def file_issue(
    pool: ReadPool,
    principal: Principal,
    settings: Settings,
    body: schemas.IssueCreate,
    *,
    key: idempotency.Pending | None,
    respond: Callable[[Issue], Response],
) -> Response:
    """``POST /issues``: a new issue, or the replay of the response stored under ``key``.

    The request opens no transaction: on the primary's hot-read ``pool``, one statement reads what
    the issue needs (and what is stored under the key), the number is taken apart, and one
    statement — atomic on its own — writes the issue, its event, message and change-feed entry together with
    the key and ``respond(issue)``, the response stored under it. A request that loses the race
    for its key to another with the same key writes nothing and replays that one's response."""
    replay, issue = await prepare_issue(pool, principal, settings, body, idempotency_key=key)
    if replay is not None:
        return replay
    assert issue is not None
    response = respond(issue)
    completing = (key, response) if key is not None else None
    if not await insert_issue(pool, principal, issue, completing=completing):
        assert key is not None  # only the key's insert can lose a race
        return await idempotency.replay_after_lost_race(pool, key)
    return response


async def create_issue(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: schemas.IssueCreate,
    *,
    external_due_at: dt.datetime | None = None,
) -> Issue:
    """File an issue in the session's transaction (the 12345 hotline, Open311). ``external_due_at``
    is a deadline imposed by the source system (the 12345 hotline's 办理时限); the resolve
    deadline is the earlier of it and the SLA policy's."""
    _, issue = await prepare_issue(session, principal, settings, body, external_due_at=external_due_at)
    assert issue is not None
    await insert_issue(session, principal, issue)
    return issue


async def update_issue(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    issue_id: uuid.UUID,
    body: schemas.IssueUpdate,
    if_match: str | None,
) -> Issue:
    issue = await reading.lock_in_scope(session, principal, issue_id)
    write_if_match(issue, if_match, required=True)
    if Status(issue.status) not in {Status.REPORTED, Status.ACCEPTED}:
        raise Conflict(
            "Only reported or accepted issues can be edited; after dispatch use the actions.",
            code="issue_not_editable",
            issue_status=issue.status,
        )
    changes = body.model_dump(exclude_unset=True)
    for name in ("title", "category", "priority"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name} cannot be null.", errors=[field_error(name, "may not be null")])
    if "category" in changes:
        await _check_category(session, changes["category"])
    for name in ("title", "description", "category", "address"):
        if name in changes:
            setattr(issue, name, changes[name] if changes[name] is not None else "" if name == "description" else None)
    if "priority" in changes:
        issue.priority = changes["priority"].value if isinstance(changes["priority"], Priority) else changes["priority"]
    if "location" in changes:
        loc = body.location
        issue.lat, issue.lng = (loc.lat, loc.lng) if loc else (None, None)
    if "reporter" in changes:
        rep = body.reporter
        issue.reporter_name = rep.name if rep else None
        issue.reporter_phone = rep.phone if rep else None
    moved: dict[str, dict[str, str | None]] = {}
    if {"category", "priority"} & changes.keys():
        moved = await deadlines.apply_policy(session, issue, deadlines.calendar_for(settings))
    now = clock.now()
    timeline.touch(issue, now)
    status = Status(issue.status)
    timeline.record(
        session,
        issue,
        principal,
        "update",
        status,
        status,
        {"fields": sorted(changes), **deadlines.timeline_entry(moved)},
        now,
    )
    await session.flush()
    return issue
