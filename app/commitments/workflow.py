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

from app.kit.labels import LabelledEnum, labels
from app.kit.workflow import advance, allowed, table


class ListStatus(LabelledEnum):
    DRAFT = "draft", "草拟"
    SUBMITTED = "submitted", "待镇街审核"
    RETURNED = "returned", "已退回"
    APPROVED = "approved", "审核通过"
    PUBLISHED = "published", "已公示"
    CLOSED = "closed", "年终已结"


S = ListStatus

STATUS_LABELS = labels(ListStatus)


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
TRANSITIONS = table(
    {
        Action.EDIT: ({S.DRAFT, S.RETURNED}, None),
        Action.SUBMIT: ({S.DRAFT, S.RETURNED}, S.SUBMITTED),
        Action.APPROVE: ({S.SUBMITTED}, S.APPROVED),
        Action.RETURN: ({S.SUBMITTED}, S.RETURNED),
        Action.PUBLISH: ({S.APPROVED}, S.PUBLISHED),
        Action.CLOSE: ({S.PUBLISHED}, S.CLOSED),
        Action.RECORD: ({S.APPROVED, S.PUBLISHED}, None),
        Action.EVALUATE: ({S.PUBLISHED, S.CLOSED}, None),
    }
)
PUBLIC_STATUSES = frozenset({S.PUBLISHED, S.CLOSED})


def allowed_actions(status: ListStatus) -> list[Action]:
    return allowed(TRANSITIONS, status)


def after(status: ListStatus, action: Action) -> ListStatus:
    """The state after ``action`` (409 ``invalid_transition`` when not allowed now)."""
    return advance(TRANSITIONS, status, action, "commitment list")


def check(status: ListStatus, action: Action) -> None:
    """409 ``invalid_transition`` unless ``action`` is allowed now."""
    after(status, action)
