"""The closed loop (诉求闭环): the actions taken on an issue and the rules on top of the table.

:func:`act` is the single entry for every workflow action: it locks the issue, checks
``If-Match``, asks :func:`app.issues.workflow.next_status` for the new status, applies the service
rules on top of the table (:func:`_check_rules`), runs the action's handler (one function per
action, e.g. :func:`_escalate`, listed in :data:`HANDLERS`), records the timeline event and queues
outbox messages. A rating, however it arrives (close, evaluate, the resident's link), goes
through :func:`_rate`, the one rule for 不满意.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Unit as AssigneeUnit
from app.auth.models import User
from app.auth.roles import Role
from app.config import Settings
from app.errors import Conflict, Forbidden, ValidationFailed, field_error
from app.issues import deadlines, feedback, reactions, reading, repository, schemas, timeline
from app.issues.models import Issue, IssueReporter
from app.issues.sla import BusinessClock, Unit, WorkCalendar, deadline
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
    next_status,
    next_tier,
    reworks,
)
from app.kit import clock
from app.kit.etag import write_if_match
from app.scope import Principal, area_path_of, covering, resolve_in_scope, serving

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


@dataclass
class ActionContext:
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
        return deadlines.calendar_for(self.settings)


Handler = Callable[[ActionContext, Any], Awaitable[dict[str, Any]]]


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


async def act(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    issue_id: uuid.UUID,
    action: Action,
    raw_body: Any,
    if_match: str | None,
) -> ActionContext:
    """Take ``action`` on the issue: the one path by which status, tier and deadlines change.

    Checks run in the order a client can act on: 404 (not in scope), 412 (stale ``If-Match``),
    409 / 403 (the transition table and the service rules), then 422 (the action's body).
    """
    issue = await reading.lock_in_scope(session, principal, issue_id)
    write_if_match(issue, if_match, required=False)
    ctx = ActionContext(session, settings, principal, issue, clock.now())
    if action in {Action.CLOSE, Action.EVALUATE}:
        _permit(ctx, action)
        body = parse_action_body(action, raw_body)
        assert isinstance(body, schemas.CloseBody | schemas.EvaluateBody)
        await _rate(ctx, action, body)
    else:
        await _transition(ctx, action, raw_body)
    return ctx


def _permit(ctx: ActionContext, action: Action) -> Status:
    before = Status(ctx.issue.status)
    after = next_status(before, action, ctx.actor)
    _check_rules(ctx, action, before)
    return after


async def _transition(ctx: ActionContext, action: Action, raw_body: Any) -> None:
    issue = ctx.issue
    before = Status(issue.status)
    after = _permit(ctx, action)
    body = raw_body if isinstance(raw_body, BaseModel) else parse_action_body(action, raw_body)
    issue.status = after.value
    extra = await HANDLERS[action](ctx, body)
    deadlines.refresh_due(issue, ctx.calendar)
    timeline.touch(issue, ctx.now)
    payload = {**body.model_dump(mode="json", exclude_none=True), **extra}
    timeline.record(ctx.session, issue, ctx.principal, action.value, before, after, payload, ctx.now)
    await ctx.session.flush()


def _check_rules(ctx: ActionContext, action: Action, status: Status) -> None:
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


# --- one handler per action -------------------------------------------------------------------


def _responded(ctx: ActionContext) -> None:
    if ctx.issue.first_responded_at is None:
        ctx.issue.first_responded_at = ctx.now


async def _accept(ctx: ActionContext, body: schemas.NoteBody) -> dict[str, Any]:
    _responded(ctx)
    return {}


async def _reject(ctx: ActionContext, body: schemas.RejectBody) -> dict[str, Any]:
    _responded(ctx)
    return {}


async def _merge(ctx: ActionContext, body: schemas.MergeBody) -> dict[str, Any]:
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
    timeline.touch(target, ctx.now)
    status = Status(target.status)
    timeline.record(
        ctx.session, target, ctx.principal, "merged_in", status, status, {"from_issue_id": str(issue.id)}, ctx.now
    )
    return {"into_number": target.number}


async def _dispatch(ctx: ActionContext, body: schemas.DispatchBody) -> dict[str, Any]:
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
    timeline.emit(ctx.session, "issue.dispatched", issue, ctx.now, resolve_due_at=issue.resolve_due_at.isoformat())
    return {"resolve_due_at": issue.resolve_due_at.isoformat(), "assignee_unit_id": str(unit_id) if unit_id else None}


# Whom an issue may be dispatched to: units and staff serving its area (registered at it, at an
# ancestor or inside it; see app.scope.serving). Anyone else — another community's property
# company, another district's department — is unknown here (422 unknown_unit / unknown_user); one
# that serves the area but cannot take the work is 422 invalid_assignee.


def _invalid_assignee(field: str, message: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code="invalid_assignee", errors=[field_error(field, message)])


async def _assignee_unit(ctx: ActionContext, unit_id: uuid.UUID) -> None:
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


async def _assignee_user(ctx: ActionContext, user_id: uuid.UUID) -> uuid.UUID | None:
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


async def _return(ctx: ActionContext, body: schemas.ReturnBody) -> dict[str, Any]:
    """退单: back to ``accepted`` in the dispatcher's queue, with the reason."""
    issue = ctx.issue
    returned_by_unit = issue.assignee_unit_id
    issue.assignee_user_id = issue.assignee_unit_id = None
    return {"returned_by_unit_id": str(returned_by_unit) if returned_by_unit else None}


async def _start(ctx: ActionContext, body: schemas.NoteBody) -> dict[str, Any]:
    return {}


async def _suspend(ctx: ActionContext, body: schemas.SuspendBody) -> dict[str, Any]:
    """挂起: the SLA clock stops until ``resume``."""
    ctx.issue.suspended_since = ctx.now
    return {}


async def _resume(ctx: ActionContext, body: schemas.NoteBody) -> dict[str, Any]:
    issue = ctx.issue
    since = issue.suspended_since or ctx.now
    bclock = BusinessClock(ctx.calendar, Unit(issue.resolve_unit))
    paused = bclock.to_business(ctx.now) - bclock.to_business(since)
    issue.paused_business_seconds += paused
    issue.paused_seconds += int((ctx.now - since).total_seconds())
    issue.suspended_since = None
    moved = deadlines.retime(issue, ctx.calendar)
    return {
        "paused_seconds": int((ctx.now - since).total_seconds()),
        "resolve_due_at": issue.resolve_due_at.isoformat(),
        **deadlines.timeline_entry(moved),
    }


async def _request_extension(ctx: ActionContext, body: schemas.ExtensionRequestBody) -> dict[str, Any]:
    if ctx.issue.pending_extension is not None:
        raise Conflict("An extension request is already waiting for a decision.", code="extension_pending")
    ctx.issue.pending_extension = {
        **body.model_dump(mode="json", exclude_none=True),
        "requested_at": ctx.now.isoformat(),
        "requested_by": str(ctx.principal.user_id) if ctx.principal else None,
    }
    return {}


async def _approve_extension(ctx: ActionContext, body: schemas.ExtensionDecisionBody) -> dict[str, Any]:
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
    moved = deadlines.retime(issue, ctx.calendar)
    return {"requested": pending, "resolve_due_at": issue.resolve_due_at.isoformat(), **deadlines.timeline_entry(moved)}


async def _supervise(ctx: ActionContext, body: schemas.NoteBody) -> dict[str, Any]:
    """督办: raises the priority one step and notifies (deadlines already running stay)."""
    issue = ctx.issue
    issue.supervised_count += 1
    issue.priority = _PRIORITY_UP[Priority(issue.priority)].value
    timeline.emit(ctx.session, "issue.supervised", issue, ctx.now, priority=issue.priority)
    return {"priority": issue.priority}


async def _escalate(ctx: ActionContext, body: schemas.ReasonBody) -> dict[str, Any]:
    """上报上级: the tier goes up one (grid → community → street), the issue returns to
    ``accepted`` at that level and its assignee is cleared; deadlines keep running."""
    issue = ctx.issue
    before = Tier(issue.tier)
    issue.tier = next_tier(before).value
    issue.escalated = True
    issue.assignee_user_id = issue.assignee_unit_id = None
    _responded(ctx)
    timeline.emit(ctx.session, "issue.escalated", issue, ctx.now, from_tier=before.value)
    return {"from_tier": before.value, "to_tier": issue.tier}


async def _resolve(ctx: ActionContext, body: schemas.ResolveBody) -> dict[str, Any]:
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
    timeline.emit(
        ctx.session,
        "issue.resolved",
        issue,
        ctx.now,
        outcome=issue.outcome,
        on_time=ctx.now <= issue.resolve_due_at,
    )
    return {"on_time": ctx.now <= issue.resolve_due_at}


async def _verify(ctx: ActionContext, body: schemas.NoteBody) -> dict[str, Any]:
    return {}


async def _verify_fail(ctx: ActionContext, body: schemas.ReasonBody) -> dict[str, Any]:
    """核查不通过: back to the handler; the original deadline still applies."""
    issue = ctx.issue
    issue.resolved_at = None
    issue.outcome = issue.resolution = None
    return {}


async def _close(ctx: ActionContext, body: schemas.CloseBody) -> dict[str, Any]:
    """结案 after 回访, issuing the resident's one-time feedback link."""
    issue = ctx.issue
    issue.closed_at = ctx.now
    if body.rating is not None:
        issue.rating, issue.solved, issue.evaluated_at = body.rating.value, body.solved, ctx.now
    ctx.feedback_token = feedback.issue_link(ctx.session, issue, ctx.now)
    timeline.emit(ctx.session, "issue.closed", issue, ctx.now, rating=issue.rating, solved=issue.solved)
    await reactions.closed(ctx.session, issue.id)
    return {}


async def _reopen(ctx: ActionContext, body: schemas.ReasonBody) -> dict[str, Any]:
    """重办: back to ``in_progress`` with a fresh resolve window."""
    issue = ctx.issue
    await reactions.reopened(ctx.session, issue.id)
    issue.reopened_count += 1
    issue.closed_at = issue.resolved_at = None
    issue.outcome = issue.resolution = None
    issue.resolved_by = None
    issue.resolve_started_at = ctx.now
    issue.external_due_at = None  # 重办 runs on our policy's fresh window
    issue.paused_business_seconds = issue.extension_business_seconds = 0.0
    moved = deadlines.retime(issue, ctx.calendar)
    timeline.emit(ctx.session, "issue.reopened", issue, ctx.now, reason=body.reason)
    return {"resolve_due_at": issue.resolve_due_at.isoformat(), **deadlines.timeline_entry(moved)}


async def _evaluate(ctx: ActionContext, body: schemas.EvaluateBody) -> dict[str, Any]:
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


async def _rate(ctx: ActionContext, action: Action, body: schemas.CloseBody | schemas.EvaluateBody) -> bool:
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
    system = ActionContext(ctx.session, ctx.settings, None, issue, ctx.now)
    await _transition(system, Action.REOPEN, schemas.ReasonBody(reason="居民评价不满意,重办"))
    return True


async def evaluate(ctx: ActionContext, rating: Rating, solved: bool, comment: str | None) -> bool:
    """Record a rating on a closed issue (:func:`_rate`). Returns whether it reopened."""
    return await _rate(ctx, Action.EVALUATE, schemas.EvaluateBody(rating=rating, solved=solved, comment=comment))


async def supervise_from_source(session: AsyncSession, settings: Settings, issue: Issue, note: str) -> None:
    """督办 relayed from a source system (a 12345 hotline's 催办), taken by the system actor.

    The caller has found ``issue`` within its scope; it is locked here."""
    locked = await repository.get_unscoped(session, issue.id, for_update=True)
    assert locked is not None
    await _transition(
        ActionContext(session, settings, None, locked, clock.now()), Action.SUPERVISE, schemas.NoteBody(note=note)
    )


async def submit_feedback(
    session: AsyncSession, settings: Settings, token: str, body: schemas.FeedbackBody
) -> schemas.FeedbackResult:
    """The resident's rating through the one-time 回访 link (:func:`app.issues.feedback.redeem`),
    taken by the system like any rating (:func:`evaluate`)."""
    now = clock.now()
    issue = await feedback.redeem(session, token, now)
    reopened = await evaluate(
        ActionContext(session, settings, None, issue, now), body.rating, body.solved, body.comment
    )
    return schemas.FeedbackResult(number=issue.number, status=Status(issue.status), reopened=reopened)
