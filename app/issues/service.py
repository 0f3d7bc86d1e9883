"""The closed loop (诉求闭环): creating issues, taking actions, SLA clocks, 回访 feedback.

:func:`act` is the single entry for every workflow action: it locks the issue, checks
``If-Match``, asks :func:`app.issues.workflow.apply` for the new status, applies the service
rules on top of the table, runs the action's handler (one function per action, e.g.
:func:`_escalate`), records the timeline event and queues outbox messages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa
from fastapi import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import Unit as AssigneeUnit
from app.auth.models import User
from app.auth.roles import Role
from app.config import Settings
from app.db import ReadPool
from app.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed, field_error
from app.grids import service as grids
from app.grids.models import Level
from app.issues import files, links, repository, schemas
from app.issues.models import (
    FeedbackToken,
    Issue,
    IssueAttachment,
    IssueComment,
    IssueEvent,
    IssueReporter,
    SlaPolicyRow,
)
from app.issues.sla import (
    DEFAULT_CALENDAR_FILE,
    DUE_SOON_SHARE,
    UNIT_SECONDS,
    BusinessClock,
    SlaPolicy,
    SlaState,
    Unit,
    WorkCalendar,
    deadline,
    pick_policy,
)
from app.issues.workflow import (
    OPEN_STATUSES,
    SYSTEM,
    Action,
    Actor,
    Priority,
    Rating,
    Status,
    Tier,
    allowed_actions,
    apply,
    next_tier,
    reworks,
)
from app.kit import clock, idempotency, outbox
from app.kit.etag import write_if_match
from app.kit.ids import new_id
from app.kit.masking import mask_name, mask_phone
from app.scope import Principal, admit_caller, area_path_of, covering, resolve_in_scope, serving
from app.sync.changes import Feed, Op, register_feed
from app.sync.models import Change

FEEDBACK_TTL = dt.timedelta(days=30)
"""A resident's 回访 link works once, for 30 days after closing."""
FEEDBACK_PATH = "/api/v1/feedback/"

HANDLING_ACTIONS = frozenset(
    {
        Action.RETURN,
        Action.START,
        Action.SUSPEND,
        Action.RESUME,
        Action.REQUEST_EXTENSION,
    }
)
"""Actions on a dispatched ticket that only its assignee (user or unit) may take."""

_PRIORITY_UP = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
    Priority.URGENT: Priority.URGENT,
}


# --- SLA clocks -------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _calendar(path: str, tz: str) -> WorkCalendar:
    return WorkCalendar.from_json(Path(path), tz=tz)


def calendar_for(settings: Settings) -> WorkCalendar:
    return _calendar(str(settings.holiday_calendar_file or DEFAULT_CALENDAR_FILE), settings.timezone)


def _refresh_due(issue: Issue, cal: WorkCalendar) -> None:
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


def _retime(issue: Issue, cal: WorkCalendar, policy: SlaPolicy | None = None) -> dict[str, dict[str, str | None]]:
    """The one place an issue's deadlines are set: from ``policy`` when given (a new issue, a new
    category or priority), else from the windows the issue already has (resume, extension, 重办).

    A window that has closed is history: the response window once ``first_responded_at`` is set,
    the resolve window once ``resolved_at`` is. It keeps its length and its deadline, and so its
    met / missed verdict and the rates built on it; only running windows are recomputed. Returns
    the deadlines that moved, ``{"respond_due_at": {"from": …, "to": …}}``, for the timeline.
    """
    moved: dict[str, dict[str, str | None]] = {}

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
    _refresh_due(issue, cal)
    return moved


def sla_state_of(issue: Issue, now: dt.datetime) -> SlaState | None:
    """Where the running clock stands; a suspended issue is judged at the moment it stopped."""
    return _sla_state(issue.due_at, issue.due_soon_at, issue.suspended_since, now)


def _sla_state(
    due_at: dt.datetime | None, due_soon_at: dt.datetime | None, suspended_since: dt.datetime | None, now: dt.datetime
) -> SlaState | None:
    if due_at is None or due_soon_at is None:
        return None
    effective = suspended_since or now
    if effective > due_at:
        return SlaState.OVERDUE
    if effective >= due_soon_at:
        return SlaState.DUE_SOON
    return SlaState.ON_TRACK


async def _apply_policy(session: AsyncSession, issue: Issue, cal: WorkCalendar) -> dict[str, dict[str, str | None]]:
    """Re-apply the SLA policy (a new category or priority) to the windows still running."""
    policies = await repository.policies(session)
    policy = pick_policy(issue.category, Priority(issue.priority), issue.kind, policies)  # type: ignore[arg-type]
    return _retime(issue, cal, policy)


# --- output -----------------------------------------------------------------------------------


def to_out(issue: Issue, principal: Principal | None, now: dt.datetime, cls: type[Any] = schemas.IssueOut) -> Any:
    """The response shape: reporter masked, SLA state computed, the caller's next actions listed."""
    return cls(**out_fields(issue, principal, now))


class Columns(Protocol):
    """An issue's columns by name: a dict, an asyncpg record, or :class:`_Attributes`."""

    def __getitem__(self, name: str, /) -> Any: ...


class _Attributes:
    """An object's attributes read as columns by name (for :func:`fields_of`)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getitem__(self, name: str) -> Any:
        return getattr(self.obj, name)


def out_fields(issue: Any, principal: Principal | None, now: dt.datetime) -> dict[str, Any]:
    """The fields of :class:`schemas.IssueOut` for an issue (an ORM object, or its columns as
    attributes), as values that serialize to the model's JSON (see :func:`render`)."""
    return fields_of(_Attributes(issue), principal, now)


def fields_of(c: Columns, principal: Principal | None, now: dt.datetime) -> dict[str, Any]:
    """:func:`out_fields` from the issue's columns by name (a dict, an asyncpg record): the lists
    and GET render from these without an object per issue."""
    return dict(
        id=c["id"],
        number=c["number"],
        title=c["title"],
        description=c["description"],
        kind=c["kind"],
        category=c["category"],
        channel=c["channel"],
        priority=c["priority"],
        status=c["status"],
        tier=c["tier"],
        area_id=c["area_id"],
        location=None if c["lat"] is None else {"lat": c["lat"], "lng": c["lng"]},
        address=c["address"],
        reporter={"name": mask_name(c["reporter_name"]), "phone": mask_phone(c["reporter_phone"])},
        occurred_at=c["occurred_at"],
        external_ref=c["external_ref"],
        assignee_user_id=c["assignee_user_id"],
        assignee_unit_id=c["assignee_unit_id"],
        merged_into_id=c["merged_into_id"],
        diary_entry_id=c["diary_entry_id"],
        outcome=c["outcome"],
        resolution=c["resolution"],
        rating=c["rating"],
        solved=c["solved"],
        escalated=c["escalated"],
        supervised_count=c["supervised_count"],
        reopened_count=c["reopened_count"],
        respond_due_at=c["respond_due_at"],
        resolve_due_at=c["resolve_due_at"],
        sla_state=_sla_state(c["due_at"], c["due_soon_at"], c["suspended_since"], now),
        first_responded_at=c["first_responded_at"],
        dispatched_at=c["dispatched_at"],
        resolved_at=c["resolved_at"],
        closed_at=c["closed_at"],
        suspended_since=c["suspended_since"],
        paused_seconds=c["paused_seconds"],
        pending_extension=c["pending_extension"],
        allowed_actions=allowed_actions(Status(c["status"]), principal.role) if principal else [],
        version=c["version"],
        created_at=c["created_at"],
        updated_at=c["updated_at"],
    )


def detail_fields(c: Columns, principal: Principal, co_reporters: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`fields_of` for :class:`schemas.IssueDetail` (see :func:`detail_of`)."""
    fields = fields_of(c, principal, clock.now())
    fields["co_reporters"] = [
        {"name": mask_name(r["name"]), "phone": mask_phone(r["phone"]), "from_issue_id": r["from_issue_id"]}
        for r in co_reporters
    ]
    return fields


_RENDER_OPTIONS = orjson.OPT_UTC_Z


def render(value: Any) -> bytes:
    """JSON of :func:`out_fields` values (or lists and pages of them), as the output models write it
    (UTC as ``Z``, enums by value, UUIDs as text) at a fraction of the cost: the hottest reads
    (GET an issue, lists) render here, without building a model per issue. A test compares the two
    for issues in every state."""
    return orjson.dumps(value, default=_render_other, option=_RENDER_OPTIONS)


def _render_other(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID type
        return str(value)
    raise TypeError(f"cannot render {type(value).__name__}")


async def detail(
    session: AsyncSession, issue: Issue, principal: Principal, cls: type[Any] = schemas.IssueDetail
) -> Any:
    """The detail shape, with the co-reporters read here."""
    reporters = [
        {"name": r.name, "phone": r.phone, "from_issue_id": r.source_issue_id}
        for r in await repository.co_reporters(session, issue.id)
    ]
    return detail_of(issue, principal, reporters, cls)


def detail_of(
    issue: Any, principal: Principal, co_reporters: list[dict[str, Any]], cls: type[Any] = schemas.IssueDetail
) -> Any:
    """The detail shape from an issue and its co-reporters (``name``, ``phone``, ``from_issue_id``)."""
    out = to_out(issue, principal, clock.now(), cls)
    out.co_reporters = [
        schemas.CoReporterOut(name=mask_name(r["name"]), phone=mask_phone(r["phone"]), from_issue_id=r["from_issue_id"])
        for r in co_reporters
    ]
    return out


# --- reading ----------------------------------------------------------------------------------


async def get_in_scope(session: AsyncSession, principal: Principal, issue_id: uuid.UUID) -> Issue:
    issue = await repository.get(session, principal, issue_id)
    if issue is None:
        raise NotFound("No such issue in your jurisdiction.", code="issue_not_found")
    return issue


@dataclass(frozen=True)
class IssueRead:
    principal: Principal
    issue: Columns  # the issue's columns by name
    co_reporters: list[dict[str, Any]]


async def read_for_token_user(
    db: ReadPool | AsyncSession, user_id: uuid.UUID, issue_id: uuid.UUID, roles: frozenset[Role]
) -> IssueRead:
    """Authenticate a bearer token's user and read the issue in one round trip (401 / 403 as the
    request dependencies give them; 404 outside the caller's scope)."""
    row = await repository.get_for_token_user(db, user_id, issue_id)
    principal = admit_caller(row, roles)
    if row["id"] is None:
        raise NotFound("No such issue in your jurisdiction.", code="issue_not_found")
    reporters = row["co_reporters"] or []  # the engine's connections decode JSON already
    return IssueRead(principal, row, json.loads(reporters) if isinstance(reporters, str) else reporters)


async def filters_in_scope(
    session: AsyncSession, principal: Principal, f: repository.IssueFilters, area_id: uuid.UUID | None
) -> repository.IssueFilters:
    if area_id is not None:
        f.area_path = (await grids.get_in_scope(session, principal, area_id, field="area_id")).path
    return f


# --- creating ---------------------------------------------------------------------------------


def _tier_for(level: str) -> Tier:
    if level in {Level.GRID, Level.MICRO_GRID}:
        return Tier.GRID
    if level == Level.COMMUNITY:
        return Tier.COMMUNITY
    return Tier.STREET


def _area_for(body: schemas.IssueCreate, found: list[repository.AreaRef]) -> repository.AreaRef:
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
        i = grids.first_containing([(a.id, a.version, a.boundary) for a in found], body.location.lng, body.location.lat)
        if i is None:
            raise ValidationFailed(
                "No grid in your jurisdiction contains this location.",
                code="location_outside_scope",
                errors=[field_error("location", "outside every area you may file issues in")],
            )
        return found[i]
    if not found:  # pragma: no cover - a principal's home area always exists
        raise NotFound("Your home area no longer exists.", code="area_not_found")
    return found[0]


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
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: schemas.IssueCreate,
    *,
    external_due_at: dt.datetime | None = None,
    idempotency_key: idempotency.Pending | None = None,
) -> tuple[idempotency.Claim | None, Issue | None]:
    """Everything of a new issue short of writing it: claims ``idempotency_key`` (a replay
    returns ``(claim, None)``), checks the request, routes it to its area, takes its number and
    sets its SLA deadlines. :func:`insert_issue` writes it.

    The claim and every read go to the database in one statement; the number is taken apart (see
    :func:`repository.next_number`)."""
    if body.area_id is not None:
        by, area_id = repository.AreaBy.ID, body.area_id
    elif body.location is not None:
        by, area_id = repository.AreaBy.LOCATION, None
    else:
        by, area_id = repository.AreaBy.HOME, principal.area_id
    ctx = await repository.create_context(
        session,
        claim=idempotency_key,
        issue_id=body.id,
        category=body.category,
        by=by,
        area_id=area_id,
        lng=body.location.lng if body.location else None,
        lat=body.location.lat if body.location else None,
        scope_path=principal.area_path,
    )
    claim = None
    if idempotency_key is not None:
        claim = await idempotency.settle(session, idempotency_key, bool(ctx.claimed))
        if claim.replay is not None:
            return claim, None
    if ctx.id_taken:
        raise Conflict("An issue with this id exists.", code="issue_exists", errors=[field_error("id", "taken")])
    if not ctx.category_ok:
        raise _unknown_category(body.category)
    area = _area_for(body, ctx.areas)
    now = clock.now()
    cal = calendar_for(settings)
    prefix = area.number_prefix
    local_day = now.astimezone(ZoneInfo(settings.timezone)).date()
    sequence = await repository.next_number(session, prefix, local_day)
    issue = Issue(
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
    _retime(issue, cal, pick_policy(issue.category, Priority(issue.priority), issue.kind, ctx.policies))  # type: ignore[arg-type]
    return claim, issue


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
    session: AsyncSession,
    principal: Principal,
    issue: Issue,
    *,
    completing: tuple[idempotency.Claim | None, Response] | None = None,
) -> Issue:
    """Write an issue from :func:`prepare_issue` with its create event (seq 1), its
    ``issue.created`` outbox message and its change-feed entry in one statement, together with
    the completion of its Idempotency-Key when ``completing`` holds a claim and the response.
    The issue then belongs to ``session`` like one it had loaded."""
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
    message = outbox.values("issue.created", "issue", issue.id, event_payload(issue, now))
    message["payload"] = json.dumps(message["payload"])
    change = {"entity_type": ENTITY, "op": Op.UPSERT.value}
    also = None
    if completing is not None and completing[0] is not None:
        also = (idempotency.COMPLETE_CTE, idempotency.complete_params(completing[0], completing[1]))
    await repository.insert_created(session, values, event, message, change, also=also)
    make_transient_to_detached(issue)
    session.add(issue)
    return issue


async def create_issue(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: schemas.IssueCreate,
    *,
    external_due_at: dt.datetime | None = None,
) -> Issue:
    """File an issue. ``external_due_at`` is a deadline imposed by the source system (the 12345
    hotline's 办理时限); the resolve deadline is the earlier of it and the SLA policy's."""
    _, issue = await prepare_issue(session, principal, settings, body, external_due_at=external_due_at)
    assert issue is not None
    return await insert_issue(session, principal, issue)


async def update_issue(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    issue_id: uuid.UUID,
    body: schemas.IssueUpdate,
    if_match: str | None,
) -> Issue:
    issue = await _locked(session, principal, issue_id)
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
        moved = await _apply_policy(session, issue, calendar_for(settings))
    now = clock.now()
    _bump(issue, now)
    status = Status(issue.status)
    _record(session, issue, principal, "update", status, status, {"fields": sorted(changes), **_deadlines(moved)}, now)
    await session.flush()
    return issue


# --- the loop ---------------------------------------------------------------------------------


@dataclass
class Ctx:
    session: AsyncSession
    settings: Settings
    principal: Principal | None  # None: the system acting on a resident's feedback
    issue: Issue
    now: dt.datetime
    feedback_token: str | None = None

    @property
    def actor(self) -> Actor:
        return self.principal.role if self.principal else SYSTEM

    @property
    def calendar(self) -> WorkCalendar:
        return calendar_for(self.settings)


Handler = Callable[[Ctx, Any], Awaitable[dict[str, Any]]]


def parse_action_body(action: Action, raw: Any) -> BaseModel:
    model = schemas.ACTION_BODIES[action]
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        errors = [
            field_error(".".join(str(p) for p in e["loc"]) or "body", e["msg"], type=e["type"]) for e in exc.errors()
        ]
        raise ValidationFailed(
            f"Invalid body for {action.value}: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
            errors=errors,
        ) from None


async def _locked(session: AsyncSession, principal: Principal, issue_id: uuid.UUID) -> Issue:
    issue = await repository.get(session, principal, issue_id, for_update=True)
    if issue is None:
        raise NotFound("No such issue in your jurisdiction.", code="issue_not_found")
    return issue


async def act(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    issue_id: uuid.UUID,
    action: Action,
    raw_body: Any,
    if_match: str | None,
) -> Ctx:
    """Take ``action`` on the issue: the one path by which status, tier and deadlines change.

    Checks run in the order a client can act on: 404 (not in scope), 412 (stale ``If-Match``),
    409 / 403 (the transition table and the service rules), then 422 (the action's body).
    """
    issue = await _locked(session, principal, issue_id)
    write_if_match(issue, if_match, required=False)
    ctx = Ctx(session, settings, principal, issue, clock.now())
    if action in {Action.CLOSE, Action.EVALUATE}:
        _permit(ctx, action)
        body = parse_action_body(action, raw_body)
        assert isinstance(body, schemas.CloseBody | schemas.EvaluateBody)
        await _rate(ctx, action, body)
    else:
        await _transition(ctx, action, raw_body)
    return ctx


def _permit(ctx: Ctx, action: Action) -> Status:
    before = Status(ctx.issue.status)
    after = apply(before, action, ctx.actor)
    _check_rules(ctx, action, before)
    return after


async def _transition(ctx: Ctx, action: Action, raw_body: Any) -> None:
    issue = ctx.issue
    before = Status(issue.status)
    after = _permit(ctx, action)
    body = raw_body if isinstance(raw_body, BaseModel) else parse_action_body(action, raw_body)
    issue.status = after.value
    extra = await HANDLERS[action](ctx, body)
    _refresh_due(issue, ctx.calendar)
    _bump(issue, ctx.now)
    payload = {**body.model_dump(mode="json", exclude_none=True), **extra}
    _record(ctx.session, issue, ctx.principal, action.value, before, after, payload, ctx.now)
    await ctx.session.flush()


def _check_rules(ctx: Ctx, action: Action, status: Status) -> None:
    """Service rules on top of the transition table (which only knows roles)."""
    principal, issue = ctx.principal, ctx.issue
    if principal is None or principal.role is Role.ADMIN:
        return
    allowed = [a.value for a in allowed_actions(status, principal.role)]
    if action in HANDLING_ACTIONS or (action is Action.RESOLVE and status is not Status.ACCEPTED):
        mine = issue.assignee_user_id == principal.user_id or (
            issue.assignee_unit_id is not None and issue.assignee_unit_id == principal.unit_id
        )
        if not mine:
            raise Forbidden(
                "Only the assignee (or the assigned unit) works a dispatched ticket.",
                code="not_assignee",
                allowed_actions=allowed,
            )
    if principal.role is Role.GRID_WORKER and status is Status.ACCEPTED and issue.tier != Tier.GRID:
        raise Forbidden(
            f"The issue is handled at the {issue.tier} tier; grid workers act at the grid tier only.",
            code="above_grid_tier",
            allowed_actions=[],
        )
    if principal.role is Role.GRID_WORKER and action is Action.ESCALATE and issue.tier != Tier.GRID:
        raise Forbidden("Grid workers escalate from the grid tier only.", code="above_grid_tier", allowed_actions=[])
    if action in {Action.VERIFY, Action.VERIFY_FAIL} and issue.resolved_by == principal.user_id:
        raise Forbidden(
            "Verification (核查) must be done by someone other than the person who resolved the issue.",
            code="verifier_is_resolver",
            allowed_actions=[a for a in allowed if a not in {"verify", "verify_fail"}],
        )


def _bump(issue: Issue, now: dt.datetime) -> None:
    """A change to the issue itself; its version moves with the flush (``VersionMixin``)."""
    issue.updated_at = now


async def _keep_version(session: AsyncSession, issue: Issue) -> None:
    """Write the timeline counter :func:`_record` moved without an ORM write of the issue, so its
    version stays: a remark must not make a phone's pending action fail its If-Match."""
    table = cast(sa.Table, Issue.__table__)
    await session.execute(sa.update(table).where(table.c.id == issue.id).values(last_event_seq=issue.last_event_seq))
    set_committed_value(issue, "last_event_seq", issue.last_event_seq)


def _record(
    session: AsyncSession,
    issue: Issue,
    principal: Principal | None,
    action: str,
    before: Status | None,
    after: Status,
    payload: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Append to the timeline; the issue row is locked, so ``seq`` is gapless and unique.

    Every timeline event is also a change in the offline-sync feed (same transaction)."""
    issue.last_event_seq += 1
    session.add(Change(entity_type=ENTITY, entity_id=issue.id, area_id=issue.area_id, op=Op.UPSERT.value))
    session.add(
        IssueEvent(
            issue_id=issue.id,
            seq=issue.last_event_seq,
            action=action,
            from_status=before.value if before else None,
            to_status=after.value,
            actor_id=principal.user_id if principal else None,
            actor_role=principal.role.value if principal else SYSTEM.value,
            actor_name=principal.display_name if principal else "系统",
            payload=payload,
            created_at=now,
        )
    )


def event_payload(issue: Issue, now: dt.datetime, **extra: Any) -> dict[str, Any]:
    """Thin payloads for integrations: ids, number, status, timestamps — never personal data."""
    return {
        "issue_id": str(issue.id),
        "number": issue.number,
        "status": issue.status,
        "tier": issue.tier,
        "area_id": str(issue.area_id),
        "external_ref": issue.external_ref,
        "occurred_at": now.isoformat(),
        **extra,
    }


def _emit(session: AsyncSession, event_type: str, issue: Issue, now: dt.datetime, **extra: Any) -> None:
    outbox.emit(session, event_type, "issue", issue.id, event_payload(issue, now, **extra))


# --- one handler per action -------------------------------------------------------------------


def _deadlines(moved: dict[str, dict[str, str | None]]) -> dict[str, Any]:
    """The timeline entry of deadlines :func:`_retime` moved (nothing when none did)."""
    return {"deadlines": moved} if moved else {}


def _responded(ctx: Ctx) -> None:
    if ctx.issue.first_responded_at is None:
        ctx.issue.first_responded_at = ctx.now


async def _accept(ctx: Ctx, body: schemas.NoteBody) -> dict[str, Any]:
    _responded(ctx)
    return {}


async def _reject(ctx: Ctx, body: schemas.RejectBody) -> dict[str, Any]:
    _responded(ctx)
    return {}


async def _merge(ctx: Ctx, body: schemas.MergeBody) -> dict[str, Any]:
    """合并: the duplicate ends as ``merged``; its reporters follow the original for 回访."""
    issue = ctx.issue
    assert ctx.principal is not None
    invalid = ValidationFailed(
        "The merge target must be another open issue in your jurisdiction.",
        code="invalid_merge_target",
        errors=[field_error("into_issue_id", "must be another open issue you can see")],
    )
    if body.into_issue_id == issue.id:
        raise invalid
    target = await resolve_in_scope(
        ctx.session,
        ctx.principal,
        Issue,
        body.into_issue_id,
        field="into_issue_id",
        thing="issue",
        unit_column=Issue.assignee_unit_id,
        for_update=True,
    )
    if Status(target.status) not in OPEN_STATUSES:
        raise invalid
    _responded(ctx)
    if issue.reporter_name or issue.reporter_phone:
        ctx.session.add(
            IssueReporter(
                issue_id=target.id,
                source_issue_id=issue.id,
                name=issue.reporter_name,
                phone=issue.reporter_phone,
                created_at=ctx.now,
            )
        )
    await repository.move_co_reporters(ctx.session, issue.id, target.id)
    issue.merged_into_id = target.id
    _bump(target, ctx.now)
    status = Status(target.status)
    _record(ctx.session, target, ctx.principal, "merged_in", status, status, {"from_issue_id": str(issue.id)}, ctx.now)
    return {"into_number": target.number}


async def _dispatch(ctx: Ctx, body: schemas.DispatchBody) -> dict[str, Any]:
    """派单 to a user or a unit; the resolve deadline of the policy travels with it."""
    issue = ctx.issue
    assert ctx.principal is not None
    unit_id = body.assignee_unit_id
    if body.assignee_user_id is not None:
        unit_id = await _assignee_user(ctx, body.assignee_user_id)
    elif unit_id is not None:
        await _assignee_unit(ctx, unit_id)
    issue.assignee_user_id = body.assignee_user_id
    issue.assignee_unit_id = unit_id
    issue.dispatched_by = ctx.principal.user_id
    issue.dispatched_at = ctx.now
    _responded(ctx)
    _emit(ctx.session, "issue.dispatched", issue, ctx.now, resolve_due_at=issue.resolve_due_at.isoformat())
    return {"resolve_due_at": issue.resolve_due_at.isoformat(), "assignee_unit_id": str(unit_id) if unit_id else None}


# Whom an issue may be dispatched to: units and staff serving its area (registered at it, at an
# ancestor or inside it; see app.auth.scope.serving). Anyone else — another community's property
# company, another district's department — is unknown here (422 unknown_unit / unknown_user); one
# that serves the area but cannot take the work is 422 invalid_assignee.


def _invalid_assignee(field: str, message: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code="invalid_assignee", errors=[field_error(field, message)])


async def _assignee_unit(ctx: Ctx, unit_id: uuid.UUID) -> None:
    assert ctx.principal is not None
    serves = serving(AssigneeUnit.area_id, area_path_of(ctx.issue.area_id))
    unit = await resolve_in_scope(
        ctx.session,
        ctx.principal,
        AssigneeUnit,
        unit_id,
        field="assignee_unit_id",
        thing="unit",
        scope=serves,
        message="unknown, or not serving the issue's area",
    )
    if not unit.is_active:
        raise _invalid_assignee("assignee_unit_id", "inactive unit", "No such active unit.")


async def _assignee_user(ctx: Ctx, user_id: uuid.UUID) -> uuid.UUID | None:
    """The user's unit (department users) after checking the user may take the issue: active, and
    a department user of a unit serving the issue's area or a grid worker whose grid holds it."""
    assert ctx.principal is not None
    issue_path = area_path_of(ctx.issue.area_id)
    unit_serves = sa.exists().where(
        AssigneeUnit.id == User.unit_id, AssigneeUnit.is_active.is_(True), serving(AssigneeUnit.area_id, issue_path)
    )
    row = await resolve_in_scope(
        ctx.session,
        ctx.principal,
        User,
        user_id,
        field="assignee_user_id",
        thing="user",
        scope=serving(User.home_area_id, issue_path),
        columns=(covering(User.home_area_id, issue_path).label("covers"), unit_serves.label("unit_serves")),
        message="unknown, or not working in the issue's area",
    )
    user, covers, unit_ok = row[0], row[1], row[2]
    role = user.role
    ok = user.is_active and (
        (role == Role.DEPARTMENT and user.unit_id is not None and unit_ok) or (role == Role.GRID_WORKER and covers)
    )
    if not ok:
        raise _invalid_assignee(
            "assignee_user_id",
            "not someone this issue can be dispatched to",
            "Dispatch to an active department user of a unit serving the issue's area, "
            "or a grid worker whose grid holds the issue.",
        )
    return user.unit_id


async def _return(ctx: Ctx, body: schemas.ReturnBody) -> dict[str, Any]:
    """退单: back to ``accepted`` in the dispatcher's queue, with the reason."""
    issue = ctx.issue
    returned_by_unit = issue.assignee_unit_id
    issue.assignee_user_id = issue.assignee_unit_id = None
    return {"returned_by_unit_id": str(returned_by_unit) if returned_by_unit else None}


async def _start(ctx: Ctx, body: schemas.NoteBody) -> dict[str, Any]:
    return {}


async def _suspend(ctx: Ctx, body: schemas.SuspendBody) -> dict[str, Any]:
    """挂起: the SLA clock stops until ``resume``."""
    ctx.issue.suspended_since = ctx.now
    return {}


async def _resume(ctx: Ctx, body: schemas.NoteBody) -> dict[str, Any]:
    issue = ctx.issue
    since = issue.suspended_since or ctx.now
    bclock = BusinessClock(ctx.calendar, Unit(issue.resolve_unit))
    paused = bclock.to_business(ctx.now) - bclock.to_business(since)
    issue.paused_business_seconds += paused
    issue.paused_seconds += int((ctx.now - since).total_seconds())
    issue.suspended_since = None
    moved = _retime(issue, ctx.calendar)
    return {
        "paused_seconds": int((ctx.now - since).total_seconds()),
        "resolve_due_at": issue.resolve_due_at.isoformat(),
        **_deadlines(moved),
    }


async def _request_extension(ctx: Ctx, body: schemas.ExtensionRequestBody) -> dict[str, Any]:
    if ctx.issue.pending_extension is not None:
        raise Conflict("An extension request is already waiting for a decision.", code="extension_pending")
    ctx.issue.pending_extension = {
        **body.model_dump(mode="json", exclude_none=True),
        "requested_at": ctx.now.isoformat(),
        "requested_by": str(ctx.principal.user_id) if ctx.principal else None,
    }
    return {}


async def _approve_extension(ctx: Ctx, body: schemas.ExtensionDecisionBody) -> dict[str, Any]:
    """延期: an approved request moves the resolve deadline by the requested working time."""
    issue = ctx.issue
    pending = issue.pending_extension
    if pending is None:
        raise Conflict("There is no extension request to decide.", code="no_extension_requested")
    issue.pending_extension = None
    if not body.approve:
        return {"requested": pending}
    unit = Unit.HOURS if "hours" in pending else Unit.WORKING_DAYS
    amount = float(pending.get("hours") or pending.get("working_days") or 0)
    current = issue.resolve_due_at
    extended = deadline(current, amount, unit, ctx.calendar)
    bclock = BusinessClock(ctx.calendar, Unit(issue.resolve_unit))
    issue.extension_business_seconds += bclock.to_business(extended) - bclock.to_business(current)
    moved = _retime(issue, ctx.calendar)
    return {"requested": pending, "resolve_due_at": issue.resolve_due_at.isoformat(), **_deadlines(moved)}


async def _supervise(ctx: Ctx, body: schemas.NoteBody) -> dict[str, Any]:
    """督办: raises the priority one step and notifies (deadlines already running stay)."""
    issue = ctx.issue
    issue.supervised_count += 1
    issue.priority = _PRIORITY_UP[Priority(issue.priority)].value
    _emit(ctx.session, "issue.supervised", issue, ctx.now, priority=issue.priority)
    return {"priority": issue.priority}


async def _escalate(ctx: Ctx, body: schemas.ReasonBody) -> dict[str, Any]:
    """上报上级: the tier goes up one (grid → community → street), the issue returns to
    ``accepted`` at that level and its assignee is cleared; deadlines keep running."""
    issue = ctx.issue
    before = Tier(issue.tier)
    issue.tier = next_tier(before).value
    issue.escalated = True
    issue.assignee_user_id = issue.assignee_unit_id = None
    _responded(ctx)
    _emit(ctx.session, "issue.escalated", issue, ctx.now, from_tier=before.value)
    return {"from_tier": before.value, "to_tier": issue.tier}


async def _resolve(ctx: Ctx, body: schemas.ResolveBody) -> dict[str, Any]:
    issue = ctx.issue
    if body.photo_ids:
        known = await repository.attachment_ids(ctx.session, issue.id, body.photo_ids)
        unknown = [str(i) for i in body.photo_ids if i not in known]
        if unknown:
            raise ValidationFailed(
                "Photos must be attachments of this issue.",
                code="unknown_attachment",
                errors=[field_error("photo_ids", "not attachments of this issue", unknown=unknown)],
            )
    _responded(ctx)
    issue.outcome = body.outcome.value
    issue.resolution = "\n".join(x for x in (body.explanation, body.notes) if x) or None
    issue.resolved_by = ctx.principal.user_id if ctx.principal else None
    issue.resolved_at = ctx.now
    _emit(
        ctx.session,
        "issue.resolved",
        issue,
        ctx.now,
        outcome=issue.outcome,
        on_time=ctx.now <= issue.resolve_due_at,
    )
    return {"on_time": ctx.now <= issue.resolve_due_at}


async def _verify(ctx: Ctx, body: schemas.NoteBody) -> dict[str, Any]:
    return {}


async def _verify_fail(ctx: Ctx, body: schemas.ReasonBody) -> dict[str, Any]:
    """核查不通过: back to the handler; the original deadline still applies."""
    issue = ctx.issue
    issue.resolved_at = None
    issue.outcome = issue.resolution = None
    return {}


async def _close(ctx: Ctx, body: schemas.CloseBody) -> dict[str, Any]:
    """结案 after 回访, issuing the resident's one-time feedback link."""
    issue = ctx.issue
    issue.closed_at = ctx.now
    if body.rating is not None:
        issue.rating, issue.solved, issue.evaluated_at = body.rating.value, body.solved, ctx.now
    token = secrets.token_urlsafe(32)
    ctx.session.add(
        FeedbackToken(
            issue_id=issue.id,
            token_hash=_token_hash(token),
            created_at=ctx.now,
            expires_at=ctx.now + FEEDBACK_TTL,
        )
    )
    ctx.feedback_token = token
    _emit(ctx.session, "issue.closed", issue, ctx.now, rating=issue.rating, solved=issue.solved)
    await links.issue_closed(ctx.session, issue.id)
    return {}


async def _reopen(ctx: Ctx, body: schemas.ReasonBody) -> dict[str, Any]:
    """重办: back to ``in_progress`` with a fresh resolve window."""
    issue = ctx.issue
    await links.issue_reopened(ctx.session, issue.id)
    issue.reopened_count += 1
    issue.closed_at = issue.resolved_at = None
    issue.outcome = issue.resolution = None
    issue.resolved_by = None
    issue.resolve_started_at = ctx.now
    issue.external_due_at = None  # 重办 runs on our policy's fresh window
    issue.paused_business_seconds = issue.extension_business_seconds = 0.0
    moved = _retime(issue, ctx.calendar)
    _emit(ctx.session, "issue.reopened", issue, ctx.now, reason=body.reason)
    return {"resolve_due_at": issue.resolve_due_at.isoformat(), **_deadlines(moved)}


async def _evaluate(ctx: Ctx, body: schemas.EvaluateBody) -> dict[str, Any]:
    issue = ctx.issue
    issue.rating, issue.solved, issue.evaluated_at = body.rating.value, body.solved, ctx.now
    return {}


HANDLERS: dict[Action, Handler] = {
    Action.ACCEPT: _accept,
    Action.REJECT: _reject,
    Action.MERGE: _merge,
    Action.DISPATCH: _dispatch,
    Action.RETURN: _return,
    Action.START: _start,
    Action.SUSPEND: _suspend,
    Action.RESUME: _resume,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.SUPERVISE: _supervise,
    Action.ESCALATE: _escalate,
    Action.RESOLVE: _resolve,
    Action.VERIFY: _verify,
    Action.VERIFY_FAIL: _verify_fail,
    Action.CLOSE: _close,
    Action.REOPEN: _reopen,
    Action.EVALUATE: _evaluate,
}


async def _rate(ctx: Ctx, action: Action, body: schemas.CloseBody | schemas.EvaluateBody) -> bool:
    """Take ``close`` or ``evaluate``, then apply the one rule for a rating however it arrived
    (:func:`app.issues.workflow.reworks`): 不满意 within 7 days of closing reopens the issue for
    rework (重办, by the system) once. Returns whether it reopened."""
    await _transition(ctx, action, body)
    issue = ctx.issue
    if body.rating is None or issue.closed_at is None:
        return False
    if not reworks(body.rating, ctx.now - issue.closed_at, issue.reopened_count):
        return False
    ctx.feedback_token = None  # a closing undone at once hands out no 回访 link
    system = Ctx(ctx.session, ctx.settings, None, issue, ctx.now)
    await _transition(system, Action.REOPEN, schemas.ReasonBody(reason="居民评价不满意,重办"))
    return True


async def evaluate(ctx: Ctx, rating: Rating, solved: bool, comment: str | None) -> bool:
    """Record a rating on a closed issue (:func:`_rate`). Returns whether it reopened."""
    return await _rate(ctx, Action.EVALUATE, schemas.EvaluateBody(rating=rating, solved=solved, comment=comment))


async def supervise_from_source(session: AsyncSession, settings: Settings, issue: Issue, note: str) -> None:
    """督办 relayed from a source system (a 12345 hotline's 催办), taken by the system actor.

    The caller has found ``issue`` within its scope; it is locked here."""
    locked = await repository.get_unscoped(session, issue.id, for_update=True)
    assert locked is not None
    await _transition(Ctx(session, settings, None, locked, clock.now()), Action.SUPERVISE, schemas.NoteBody(note=note))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feedback_url(token: str) -> str:
    return FEEDBACK_PATH + token


async def submit_feedback(
    session: AsyncSession, settings: Settings, token: str, body: schemas.FeedbackBody
) -> schemas.FeedbackResult:
    """The resident's one-time 回访 link (no login)."""
    row = await repository.feedback_token(session, _token_hash(token))
    if row is None:
        raise NotFound("This feedback link is not valid.", code="feedback_not_found")
    now = clock.now()
    if row.used_at is not None:
        raise Gone("This feedback link has already been used.", code="feedback_used")
    if now >= row.expires_at:
        raise Gone("This feedback link has expired.", code="feedback_expired")
    issue = await repository.get_unscoped(session, row.issue_id, for_update=True)
    if issue is None:  # pragma: no cover - tokens cascade with their issue
        raise NotFound("This feedback link is not valid.", code="feedback_not_found")
    if Status(issue.status) is not Status.CLOSED or (issue.closed_at is not None and row.created_at < issue.closed_at):
        # reopened since, and perhaps closed again: that closing has its own link
        raise Gone("The issue has been reopened since this link was sent.", code="feedback_expired")
    row.used_at = now
    ctx = Ctx(session, settings, None, issue, now)
    reopened = await evaluate(ctx, body.rating, body.solved, body.comment)
    return schemas.FeedbackResult(number=issue.number, status=Status(issue.status), reopened=reopened)


# --- comments ---------------------------------------------------------------------------------


async def add_comment(session: AsyncSession, principal: Principal, issue_id: uuid.UUID, text: str) -> Any:
    issue = await _locked(session, principal, issue_id)
    now = clock.now()
    comment = IssueComment(
        id=new_id(),
        issue_id=issue.id,
        author_id=principal.user_id,
        author_role=principal.role.value,
        author_name=principal.display_name,
        body=text,
        created_at=now,
    )
    session.add(comment)
    status = Status(issue.status)
    # Comments join the timeline but do not change the issue's version: a remark must not make
    # a phone's pending action fail its If-Match.
    _record(session, issue, principal, "comment", status, status, {"comment_id": str(comment.id)}, now)
    await _keep_version(session, issue)
    await session.flush()
    return comment


async def add_attachment(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    issue_id: uuid.UUID,
    *,
    data: bytes,
    filename: str | None,
    kind: str,
) -> IssueAttachment:
    """Store a photo or document (type sniffed from its bytes) and note it on the timeline."""
    issue = await _locked(session, principal, issue_id)
    content_type = files.check(data)
    now = clock.now()
    row = IssueAttachment(
        id=new_id(),
        issue_id=issue.id,
        kind=kind,
        filename=(filename or "file")[:255],
        content_type=content_type,
        size=len(data),
        uploaded_by=principal.user_id,
        created_at=now,
    )
    row.sha256 = await files.store(settings.attachments_dir, issue.id, row.id, data)
    session.add(row)
    status = Status(issue.status)
    _record(session, issue, principal, "attach", status, status, {"attachment_id": str(row.id), "kind": kind}, now)
    await _keep_version(session, issue)
    try:
        await session.flush()
    except BaseException:
        await files.remove(settings.attachments_dir, issue.id, row.id)
        raise
    return row


# --- SLA policies -----------------------------------------------------------------------------


def policy_out(row: SlaPolicyRow) -> schemas.SlaPolicyOut:
    return schemas.SlaPolicyOut(
        category=row.category,
        priority=row.priority,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        respond_within={"amount": row.respond_amount, "unit": row.respond_unit},
        resolve_within={"amount": row.resolve_amount, "unit": row.resolve_unit},
    )


async def replace_policies(session: AsyncSession, body: schemas.SlaPolicySet) -> list[schemas.SlaPolicyOut]:
    keys = [(p.category, p.priority, p.kind) for p in body.items]
    errors = [field_error(f"items[{i}]", "duplicate key") for i, k in enumerate(keys) if k in keys[:i]]
    if (None, None, None) not in keys:
        errors.append(field_error("items", "a global default (no category, priority or kind) is required"))
    for i, p in enumerate(body.items):
        if p.category is not None and not await repository.category_exists(session, p.category):
            errors.append(field_error(f"items[{i}].category", "unknown category"))
    if errors:
        raise ValidationFailed("The policy set is not valid.", code="invalid_sla_policies", errors=errors)
    rows = [
        SlaPolicyRow(
            id=new_id(),
            category=p.category,
            priority=p.priority.value if p.priority else None,
            kind=p.kind.value if p.kind else None,
            respond_amount=p.respond_within.amount,
            respond_unit=p.respond_within.unit.value,
            resolve_amount=p.resolve_within.amount,
            resolve_unit=p.resolve_within.unit.value,
            updated_at=clock.now(),
        )
        for p in body.items
    ]
    await repository.replace_policies(session, rows)
    return [policy_out(r) for r in await repository.policy_rows(session)]


# --- offline sync ------------------------------------------------------------------------------

ENTITY = "issue"
SYNC_READERS = frozenset({Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})


async def snapshots(
    session: AsyncSession, principal: Principal, ids: Any, settings: Settings
) -> dict[uuid.UUID, dict[str, Any]]:
    now = clock.now()
    return {
        i.id: to_out(i, principal, now).model_dump(mode="json")
        for i in await repository.by_ids(session, principal, ids)
    }


register_feed(
    Feed(
        name="issues",
        entity_type=ENTITY,
        roles=SYNC_READERS,
        id_column=Issue.id,
        area_column=Issue.area_id,
        load=snapshots,
    )
)
