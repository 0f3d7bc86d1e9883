"""The mediation workflow as data: 排查登记 → 调解 → 结果 → 回访.

``registered`` (screened and registered) → ``mediating`` with the first session →
an outcome: ``agreement`` (调解成功), ``failed`` or ``referred`` (to judicial / petition channels) →
follow-up visits: stable → ``stable``; not stable → back to ``mediating`` with the risk one level up.
A ``stable`` case may still flare up at a later follow-up.
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import Conflict
from app.mediation.models import DisputeStatus, RiskLevel


class Action(StrEnum):
    SESSION = "session"
    OUTCOME = "outcome"
    FOLLOW_UP = "follow_up"


ALLOWED: dict[Action, frozenset[DisputeStatus]] = {
    Action.SESSION: frozenset({DisputeStatus.REGISTERED, DisputeStatus.MEDIATING}),
    Action.OUTCOME: frozenset({DisputeStatus.REGISTERED, DisputeStatus.MEDIATING}),
    Action.FOLLOW_UP: frozenset(
        {DisputeStatus.AGREEMENT, DisputeStatus.FAILED, DisputeStatus.REFERRED, DisputeStatus.STABLE}
    ),
}
RISK_ORDER = [RiskLevel.GREEN, RiskLevel.YELLOW, RiskLevel.ORANGE, RiskLevel.RED]


def allowed_actions(status: DisputeStatus) -> list[Action]:
    return [a for a, states in ALLOWED.items() if status in states]


def check(status: DisputeStatus, action: Action) -> None:
    if status not in ALLOWED[action]:
        raise Conflict(
            f"A dispute that is {status} does not take a {action}.",
            code="invalid_transition",
            allowed_actions=[a.value for a in allowed_actions(status)],
        )


def after_session(status: DisputeStatus) -> DisputeStatus:
    check(status, Action.SESSION)
    return DisputeStatus.MEDIATING


def after_outcome(status: DisputeStatus, outcome: DisputeStatus) -> DisputeStatus:
    check(status, Action.OUTCOME)
    if outcome not in (DisputeStatus.AGREEMENT, DisputeStatus.FAILED, DisputeStatus.REFERRED):
        raise ValueError(outcome)
    return outcome


def after_follow_up(status: DisputeStatus, risk: RiskLevel, stable: bool) -> tuple[DisputeStatus, RiskLevel]:
    check(status, Action.FOLLOW_UP)
    if stable:
        return DisputeStatus.STABLE, risk
    return DisputeStatus.MEDIATING, raise_risk(risk)


def raise_risk(risk: RiskLevel) -> RiskLevel:
    return RISK_ORDER[min(RISK_ORDER.index(risk) + 1, len(RISK_ORDER) - 1)]
