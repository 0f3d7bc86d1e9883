"""民事民提 · 民事民议 · 民事民决 as data: a proposal's states and a meeting's decision rule.

A proposal is ``open`` (collecting supporters) until it is ``merged`` into a similar one, taken up
on a meeting's agenda (``on_agenda``), and then ``adopted`` or ``declined`` by the decision.

A decision counts the representatives ``present`` against those ``invited`` (quorum: at least
``quorum`` of them, two thirds by default) and the votes for the leading option against those
present (``more_than_half`` by default, or ``two_thirds``). Without a quorum nothing is decided.
"""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction

from app.errors import Conflict


class ProposalStatus(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    ON_AGENDA = "on_agenda"
    ADOPTED = "adopted"
    DECLINED = "declined"


P = ProposalStatus
PROPOSAL_LABELS = {
    P.OPEN: "征集中",
    P.MERGED: "已合并",
    P.ON_AGENDA: "已列入议题",
    P.ADOPTED: "已采纳",
    P.DECLINED: "未采纳",
}


class ProposalAction(StrEnum):
    SUPPORT = "support"
    MERGE = "merge"
    AGENDA = "agenda"
    DECIDE = "decide"


PROPOSAL_TRANSITIONS: dict[ProposalAction, tuple[frozenset[ProposalStatus], ProposalStatus | None]] = {
    ProposalAction.SUPPORT: (frozenset({P.OPEN, P.ON_AGENDA}), None),
    ProposalAction.MERGE: (frozenset({P.OPEN}), P.MERGED),
    ProposalAction.AGENDA: (frozenset({P.OPEN, P.ON_AGENDA}), P.ON_AGENDA),
    ProposalAction.DECIDE: (frozenset({P.ON_AGENDA, P.ADOPTED, P.DECLINED}), None),
}


def proposal_actions(status: ProposalStatus) -> list[ProposalAction]:
    return [a for a, (states, _) in PROPOSAL_TRANSITIONS.items() if status in states]


def check_proposal(status: ProposalStatus, action: ProposalAction) -> ProposalStatus:
    states, to = PROPOSAL_TRANSITIONS[action]
    if status not in states:
        raise Conflict(
            f"A proposal that is {status} does not take {action}.",
            code="invalid_transition",
            allowed_actions=[a.value for a in proposal_actions(status)],
        )
    return to or status


class Majority(StrEnum):
    MORE_THAN_HALF = "more_than_half"
    TWO_THIRDS = "two_thirds"


MAJORITY = {Majority.MORE_THAN_HALF: Fraction(1, 2), Majority.TWO_THIRDS: Fraction(2, 3)}


class DecisionOutcome(StrEnum):
    ADOPTED = "adopted"
    REJECTED = "rejected"
    NO_QUORUM = "no_quorum"


def decide(
    *, invited: int, present: int, votes: list[int], quorum: Fraction, majority: Majority
) -> tuple[DecisionOutcome, int | None]:
    """The outcome and the winning option's index (None unless adopted).

    Quorum: ``present ≥ quorum × invited``. Adopted: one option has strictly the most votes and
    ``votes > ½ × present`` (more than half) or ``votes ≥ ⅔ × present`` (two thirds)."""
    if present * quorum.denominator < quorum.numerator * invited or present == 0:
        return DecisionOutcome.NO_QUORUM, None
    top = max(votes, default=0)
    if votes.count(top) != 1:
        return DecisionOutcome.REJECTED, None
    share = Fraction(top, present)
    passed = share > MAJORITY[majority] if majority is Majority.MORE_THAN_HALF else share >= MAJORITY[majority]
    return (DecisionOutcome.ADOPTED, votes.index(top)) if passed else (DecisionOutcome.REJECTED, None)
