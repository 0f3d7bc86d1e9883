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

from app.kit.labels import LabelledEnum
from app.kit.workflow import advance, table


class ProposalStatus(LabelledEnum):
    OPEN = "open", "征集中"
    MERGED = "merged", "已合并"
    ON_AGENDA = "on_agenda", "已列入议题"
    ADOPTED = "adopted", "已采纳"
    DECLINED = "declined", "未采纳"


class ProposalAction(StrEnum):
    SUPPORT = "support"
    MERGE = "merge"
    AGENDA = "agenda"
    DECIDE = "decide"


PROPOSAL_TRANSITIONS = table(
    {
        ProposalAction.SUPPORT: ({ProposalStatus.OPEN, ProposalStatus.ON_AGENDA}, None),
        ProposalAction.MERGE: ({ProposalStatus.OPEN}, ProposalStatus.MERGED),
        ProposalAction.AGENDA: ({ProposalStatus.OPEN, ProposalStatus.ON_AGENDA}, ProposalStatus.ON_AGENDA),
        ProposalAction.DECIDE: ({ProposalStatus.ON_AGENDA, ProposalStatus.ADOPTED, ProposalStatus.DECLINED}, None),
    }
)


def check_proposal(status: ProposalStatus, action: ProposalAction) -> ProposalStatus:
    return advance(PROPOSAL_TRANSITIONS, status, action, "proposal")


class Majority(LabelledEnum):
    MORE_THAN_HALF = "more_than_half", "过半数"
    TWO_THIRDS = "two_thirds", "三分之二以上"


MAJORITY = {Majority.MORE_THAN_HALF: Fraction(1, 2), Majority.TWO_THIRDS: Fraction(2, 3)}


class DecisionOutcome(LabelledEnum):
    ADOPTED = "adopted", "通过"
    REJECTED = "rejected", "未通过"
    NO_QUORUM = "no_quorum", "不足法定人数"


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
