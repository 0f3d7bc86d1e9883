"""The annual list's workflow as data: 收集 → 审核 → 公示 → 评议.

``draft`` (the community collects and studies proposals, edits items) → ``submitted`` to the street
Party committee (镇街党(工)委审核) → ``approved``, or ``returned`` with reasons (edited and submitted
again) → ``published`` (公示: on the public notice from now on) → ``closed`` at year end, with the
residents' evaluation of each item (民事民评). Items are edited only in ``draft`` and ``returned``;
activities are recorded against ``approved`` and ``published`` lists; evaluations taken while
``published`` and ``closed``.
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import Conflict


class ListStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    PUBLISHED = "published"
    CLOSED = "closed"


S = ListStatus

STATUS_LABELS = {
    S.DRAFT: "草拟",
    S.SUBMITTED: "待镇街审核",
    S.RETURNED: "已退回",
    S.APPROVED: "审核通过",
    S.PUBLISHED: "已公示",
    S.CLOSED: "年终已结",
}


class Action(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    PUBLISH = "publish"
    CLOSE = "close"
    RECORD = "record"
    EVALUATE = "evaluate"


# action → (the states it is taken in, the state it leads to; None: the state stays)
TRANSITIONS: dict[Action, tuple[frozenset[ListStatus], ListStatus | None]] = {
    Action.EDIT: (frozenset({S.DRAFT, S.RETURNED}), None),
    Action.SUBMIT: (frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED),
    Action.APPROVE: (frozenset({S.SUBMITTED}), S.APPROVED),
    Action.RETURN: (frozenset({S.SUBMITTED}), S.RETURNED),
    Action.PUBLISH: (frozenset({S.APPROVED}), S.PUBLISHED),
    Action.CLOSE: (frozenset({S.PUBLISHED}), S.CLOSED),
    Action.RECORD: (frozenset({S.APPROVED, S.PUBLISHED}), None),
    Action.EVALUATE: (frozenset({S.PUBLISHED, S.CLOSED}), None),
}
PUBLIC_STATUSES = frozenset({S.PUBLISHED, S.CLOSED})


def allowed_actions(status: ListStatus) -> list[Action]:
    return [a for a, (states, _) in TRANSITIONS.items() if status in states]


def check(status: ListStatus, action: Action) -> None:
    if status not in TRANSITIONS[action][0]:
        raise Conflict(
            f"A commitment list that is {status} does not take {action}.",
            code="invalid_transition",
            allowed_actions=[a.value for a in allowed_actions(status)],
        )


def after(status: ListStatus, action: Action) -> ListStatus:
    """The state after ``action`` (409 ``invalid_transition`` when not allowed now)."""
    check(status, action)
    return TRANSITIONS[action][1] or status
