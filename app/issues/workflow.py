"""The issue state machine (诉求闭环), as data.

Every allowed ``(status, action)`` pair is one row of :data:`TRANSITIONS`, with the status it
leads to and the actors who may take it. :func:`next_status` is the only way a status changes; the
service loads the issue, calls it, records the event and queues side effects.

Decisions behind the table:

* **Dispatch side** (调度): ``community_admin`` and ``street_admin`` accept, reject, merge,
  dispatch, escalate, approve extensions, supervise (督办), verify, close and reopen. They may also
  ``resolve`` an *accepted* issue directly (see below) but do not work dispatched tickets: those
  belong to the assignee.
* **Handling side** (承办): ``department`` and ``grid_worker`` start, suspend, resume, return
  (退单), resolve and request extensions on dispatched tickets. Whether the ticket is assigned to
  the caller or the caller's unit is the service's check, not this table's.
* **Grid workers** also accept reports, verify results (核查) and escalate. A grid worker may only
  escalate from ``grid`` to ``community``; like every area rule, the service enforces that from
  the issue's tier and the worker's grid.
* **Resolve on the spot** (首问负责, 小事不出网格): an *accepted* issue may go straight to
  ``resolved`` without a dispatch, for what the person who took it can settle or answer at once (a
  consultation at the walk-in window, a blocked drain cleared on patrol). Grid workers and both
  admin roles may do this; departments only act on what was dispatched to them.
* **Verification is separate from handling**: ``verify`` / ``verify_fail`` need a dispatch-side
  role or a grid worker; "someone other than the handler" is checked by the service.
* **Escalate** (上报上级) keeps the status ``accepted`` (from accepted, dispatched or in progress)
  and moves the tier up by one via :func:`next_tier`, which refuses at ``street``.
* **No status change**: ``supervise`` (any open status), ``request_extension`` and
  ``approve_extension`` (dispatched, in progress, suspended) and ``evaluate`` (on a closed issue)
  lead back to the status they start from; they exist as actions so they are permitted and
  recorded like every other.
* **Closed is not terminal**: the resident's rating (民事民评) comes with ``close`` (staff took
  the 回访 call), or after closing through ``evaluate`` (staff) or the resident's one-time feedback
  link (applied as :data:`SYSTEM`, an actor that is not a staff role).
* **One rule for 不满意**, whichever way the rating arrives: 不满意 within 7 days of closing
  reopens the issue for rework (重办) once — right after the rating is recorded, :data:`SYSTEM`
  takes ``reopen`` into ``in_progress`` with a fresh resolve window. An issue already reopened
  (``reopened_count`` ≥ 1) stays closed and its 不满意 stands as the verdict (the satisfaction
  rate counts it); staff may still ``reopen`` it by hand. :func:`reworks` is the rule; the table
  only lists the transitions it takes.
* **督办 from outside**: a 12345 hotline's 催办 (urge) arrives as a signed message and is applied
  as ``supervise`` by :data:`SYSTEM` on any open issue; the system does nothing else besides the
  rating and 重办 above.
* **Terminal**: ``rejected`` and ``merged`` allow nothing.
* ``admin`` may take every action. ``viewer`` and ``mediator`` take none. ``integration`` (12345
  hotline, 信访) takes none either: integrations create tickets and read their status; their
  callbacks are outbound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from app.auth.roles import Role
from app.errors import Conflict, Forbidden
from app.kit.labels import LabelledEnum, labels


class Status(LabelledEnum):
    REPORTED = "reported", "待受理"
    ACCEPTED = "accepted", "已受理"
    REJECTED = "rejected", "不予受理"
    MERGED = "merged", "已合并"
    DISPATCHED = "dispatched", "已派单"
    IN_PROGRESS = "in_progress", "处置中"
    SUSPENDED = "suspended", "挂起"
    RESOLVED = "resolved", "已办结"
    VERIFIED = "verified", "核查通过"
    CLOSED = "closed", "已结案"


class Action(LabelledEnum):
    ACCEPT = "accept", "受理"
    REJECT = "reject", "不予受理"
    MERGE = "merge", "合并"
    DISPATCH = "dispatch", "派单"
    RETURN = "return", "退单"
    START = "start", "开始处置"
    SUSPEND = "suspend", "挂起"
    RESUME = "resume", "恢复处置"
    REQUEST_EXTENSION = "request_extension", "申请延期"
    APPROVE_EXTENSION = "approve_extension", "批准延期"
    SUPERVISE = "supervise", "督办"
    ESCALATE = "escalate", "上报上级"
    RESOLVE = "resolve", "办结"
    VERIFY = "verify", "核查通过"
    VERIFY_FAIL = "verify_fail", "核查不通过"
    CLOSE = "close", "结案"
    REOPEN = "reopen", "重办"
    EVALUATE = "evaluate", "评价"


class Tier(LabelledEnum):
    """Where an issue is being handled: 小事不出网格,大事不出社区,矛盾不上交."""

    GRID = "grid", "网格"
    COMMUNITY = "community", "社区"
    STREET = "street", "街道"

    @property
    def rank(self) -> int:
        return TIER_ORDER.index(self)


TIER_ORDER: tuple[Tier, ...] = (Tier.GRID, Tier.COMMUNITY, Tier.STREET)


class Priority(LabelledEnum):
    URGENT = "urgent", "紧急"
    HIGH = "high", "较急"
    NORMAL = "normal", "一般"
    LOW = "low", "不急"


class Kind(LabelledEnum):
    CONSULTATION = "consultation", "咨询"
    HELP = "help", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGESTION = "suggestion", "建议"
    PRAISE = "praise", "表扬"


class Channel(LabelledEnum):
    PATROL = "patrol", "巡查走访"
    DIARY = "diary", "民情日记"
    WALK_IN = "walk_in", "首问窗口"
    PHONE = "phone", "电话"
    APP = "app", "在线报修"
    HOTLINE = "hotline", "12345热线"
    PETITION = "petition", "信访"
    OPEN311 = "open311", "Open311"


class Outcome(LabelledEnum):
    SOLVED = "solved", "已解决"
    ANSWERED = "answered", "已答复"
    UNSOLVABLE = "unsolvable", "无法解决"


class Rating(LabelledEnum):
    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"


class ReturnReason(LabelledEnum):
    WRONG_AREA = "wrong_area", "属地不符"
    UNCLEAR_OWNERSHIP = "unclear_ownership", "权属不清"
    OVERLAPPING_DUTIES = "overlapping_duties", "职能交叉"


class RejectReason(LabelledEnum):
    DUPLICATE = "duplicate", "重复诉求"
    INVALID = "invalid", "无效诉求"
    OUT_OF_SCOPE = "out_of_scope", "不属于受理范围"


# Each vocabulary's labels, for exports and messages.
STATUS_LABELS = labels(Status)
ACTION_LABELS = labels(Action)
TIER_LABELS = labels(Tier)
PRIORITY_LABELS = labels(Priority)
KIND_LABELS = labels(Kind)
CHANNEL_LABELS = labels(Channel)
OUTCOME_LABELS = labels(Outcome)
RATING_LABELS = labels(Rating)
RETURN_REASON_LABELS = labels(ReturnReason)
REJECT_REASON_LABELS = labels(RejectReason)


class SystemActor(StrEnum):
    """Actors that are not staff: the resident's feedback link acts as :data:`SYSTEM`."""

    SYSTEM = "system"


SYSTEM = SystemActor.SYSTEM

Actor = Role | SystemActor
"""Whoever takes an action: a staff role, or the system on a resident's behalf."""


@dataclass(frozen=True)
class Transition:
    to: Status
    roles: frozenset[Actor]


def _by(to: Status, *actors: Actor) -> Transition:
    return Transition(to, frozenset(actors))


_GRID = Role.GRID_WORKER
_COMMUNITY = Role.COMMUNITY_ADMIN
_STREET = Role.STREET_ADMIN
_DEPT = Role.DEPARTMENT
_ADMIN = Role.ADMIN

S, A = Status, Action

# The statuses in which an action leaves the status as it is, for the same roles everywhere.
_SUPERVISED = (S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.SUSPENDED, S.RESOLVED, S.VERIFIED)
_HELD = (S.DISPATCHED, S.IN_PROGRESS, S.SUSPENDED)  # the assignee holds the ticket: 延期 applies

# fmt: off
TRANSITIONS: dict[tuple[Status, Action], Transition] = {
    # 受理 / 不予受理 / 合并
    (S.REPORTED, A.ACCEPT):              _by(S.ACCEPTED,    _GRID, _COMMUNITY, _STREET, _ADMIN),
    (S.REPORTED, A.REJECT):              _by(S.REJECTED,    _COMMUNITY, _STREET, _ADMIN),
    (S.REPORTED, A.MERGE):               _by(S.MERGED,      _COMMUNITY, _STREET, _ADMIN),
    (S.ACCEPTED, A.REJECT):              _by(S.REJECTED,    _COMMUNITY, _STREET, _ADMIN),
    (S.ACCEPTED, A.MERGE):               _by(S.MERGED,      _COMMUNITY, _STREET, _ADMIN),
    # 派单, or settle on the spot, or 上报上级
    (S.ACCEPTED, A.DISPATCH):            _by(S.DISPATCHED,  _COMMUNITY, _STREET, _ADMIN),
    (S.ACCEPTED, A.RESOLVE):             _by(S.RESOLVED,    _GRID, _COMMUNITY, _STREET, _ADMIN),
    (S.ACCEPTED, A.ESCALATE):            _by(S.ACCEPTED,    _GRID, _COMMUNITY, _STREET, _ADMIN),
    # the assignee works the ticket
    (S.DISPATCHED, A.RETURN):            _by(S.ACCEPTED,    _GRID, _DEPT, _ADMIN),
    (S.DISPATCHED, A.START):             _by(S.IN_PROGRESS, _GRID, _DEPT, _ADMIN),
    (S.DISPATCHED, A.RESOLVE):           _by(S.RESOLVED,    _GRID, _DEPT, _ADMIN),
    (S.DISPATCHED, A.ESCALATE):          _by(S.ACCEPTED,    _GRID, _COMMUNITY, _STREET, _ADMIN),
    (S.IN_PROGRESS, A.SUSPEND):          _by(S.SUSPENDED,   _GRID, _DEPT, _ADMIN),
    (S.IN_PROGRESS, A.RESOLVE):          _by(S.RESOLVED,    _GRID, _DEPT, _ADMIN),
    (S.IN_PROGRESS, A.ESCALATE):         _by(S.ACCEPTED,    _GRID, _COMMUNITY, _STREET, _ADMIN),
    (S.SUSPENDED, A.RESUME):             _by(S.IN_PROGRESS, _GRID, _DEPT, _ADMIN),
    # 核查 and 结案
    (S.RESOLVED, A.VERIFY):              _by(S.VERIFIED,    _GRID, _COMMUNITY, _STREET, _ADMIN),
    (S.RESOLVED, A.VERIFY_FAIL):         _by(S.IN_PROGRESS, _GRID, _COMMUNITY, _STREET, _ADMIN),
    (S.VERIFIED, A.CLOSE):               _by(S.CLOSED,      _COMMUNITY, _STREET, _ADMIN),
    # 回访: the rating, and 重办 when the resident is not satisfied
    (S.CLOSED, A.EVALUATE):              _by(S.CLOSED,      _COMMUNITY, _STREET, _ADMIN, SYSTEM),
    (S.CLOSED, A.REOPEN):                _by(S.IN_PROGRESS, _COMMUNITY, _STREET, _ADMIN, SYSTEM),
    # 延期 while the assignee holds it: asked by the assignee, granted above it
    **{(s, A.REQUEST_EXTENSION): _by(s, _GRID, _DEPT, _ADMIN) for s in _HELD},
    **{(s, A.APPROVE_EXTENSION): _by(s, _COMMUNITY, _STREET, _ADMIN) for s in _HELD},
    # 督办 (also by the system, for an overdue ticket) until it is closed
    **{(s, A.SUPERVISE): _by(s, _COMMUNITY, _STREET, _ADMIN, SYSTEM) for s in _SUPERVISED},
}
# fmt: on

del S, A

TERMINAL_STATUSES: frozenset[Status] = frozenset({Status.REJECTED, Status.MERGED})
OPEN_STATUSES: frozenset[Status] = frozenset(Status) - TERMINAL_STATUSES - {Status.CLOSED}


def _refused(status: Status, action: Action, allowed: list[Action]) -> dict[str, Any]:
    """What a refused action's problem carries besides its message."""
    return {"issue_status": status.value, "action": action.value, "allowed_actions": [a.value for a in allowed]}


class InvalidTransition(Conflict):
    """The action does not apply to an issue in this status (whoever asks)."""

    code = "invalid_transition"
    title = "Action not possible in this status"

    def __init__(self, status: Status, action: Action, allowed: list[Action], **kw: Any) -> None:
        message = f"Cannot {action.value} an issue that is {status.value} ({status.label})."
        super().__init__(message, **_refused(status, action, allowed), **kw)


class ActionNotPermitted(Forbidden):
    """The action applies to this status, but not for the caller's role."""

    code = "action_not_permitted"
    title = "Action not permitted for your role"

    def __init__(self, status: Status, action: Action, by: Actor, allowed: list[Action], **kw: Any) -> None:
        message = f"The {by.value} role may not {action.value} an issue that is {status.value}."
        super().__init__(message, **_refused(status, action, allowed), **kw)


class CannotEscalate(Conflict):
    """Escalation past the street tier: 矛盾不上交 ends at the street office."""

    code = "cannot_escalate"
    title = "Already at the highest tier"


_ACTION_ORDER = {action: i for i, action in enumerate(Action)}


def allowed_actions(status: Status, role: Actor) -> list[Action]:
    """Actions ``role`` may take on an issue in ``status``, in :class:`Action` declaration order."""
    return list(_allowed(status, role))


@cache
def _allowed(status: Status, role: Actor) -> tuple[Action, ...]:  # the table is fixed: every list renders it
    return tuple(
        sorted(
            (action for (src, action), t in TRANSITIONS.items() if src == status and role in t.roles),
            key=_ACTION_ORDER.__getitem__,
        )
    )


def next_status(status: Status, action: Action, role: Actor) -> Status:
    """The status an issue moves to when ``role`` takes ``action`` on it.

    Raises :class:`InvalidTransition` (409) when the action does not exist for this status and
    :class:`ActionNotPermitted` (403) when it does but not for this role; both list the actions
    the role may take now.
    """
    transition = TRANSITIONS.get((status, action))
    if transition is None:
        raise InvalidTransition(status, action, allowed_actions(status, role))
    if role not in transition.roles:
        raise ActionNotPermitted(status, action, role, allowed_actions(status, role))
    return transition.to


def next_tier(tier: Tier) -> Tier:
    """The tier an escalation moves an issue to; raises :class:`CannotEscalate` at ``street``."""
    if tier.rank + 1 >= len(TIER_ORDER):
        raise CannotEscalate(
            f"An issue at the {tier.value} tier ({TIER_LABELS[tier]}) cannot be escalated further.",
            tier=tier.value,
        )
    return TIER_ORDER[tier.rank + 1]


REWORK_WINDOW = timedelta(days=7)
"""不满意 within 7 days of closing reopens the issue (重办)."""
REWORK_LIMIT = 1
"""How often 不满意 reopens an issue by itself: once; after a rework the rating stands."""


def reworks(rating: Rating, since_closed: timedelta, reopened_count: int) -> bool:
    """Whether a rating reopens a closed issue for rework (重办), whichever way it arrived (with
    ``close``, ``evaluate`` or the resident's link): 不满意, given within :data:`REWORK_WINDOW` of
    closing, on an issue reopened fewer than :data:`REWORK_LIMIT` times."""
    return rating is Rating.DISSATISFIED and since_closed <= REWORK_WINDOW and reopened_count < REWORK_LIMIT
