"""民事民提 → 民事民议 → 民事民决 → 民事民办: proposals, consultation meetings, their decisions, and
the commitments those decisions create.

Proposals are collected by staff (typed in, or promoted from a diary entry or a 建议 issue) or sent
by residents through the public page; similar ones are found by trigram similarity and merged (the
supporters add up). A meeting puts proposals, issues or commitments on its agenda; each agenda
item's decision counts the quorum and the votes under the meeting's rule and is never edited: a
correction is a new decision that supersedes it, with a reason, audited like the first. An adopted
decision may add a commitment to the community's draft annual list, linked both ways.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.roles import Role
from app.commitments import service as commitments
from app.commitments.models import CommitmentItem, CommitmentList
from app.commitments.workflow import Action as ListAction
from app.commitments.workflow import ListStatus
from app.commitments.workflow import check as check_list
from app.config import Settings
from app.consultation import repository
from app.consultation.models import AgendaItem, Consultation, Decision, Proposal, ProposalSource
from app.consultation.schemas import (
    AgendaOut,
    ConsultationOut,
    DecisionOut,
    ParticipantOut,
    ProposalOut,
    SimilarProposal,
)
from app.consultation.workflow import (
    PROPOSAL_TRANSITIONS,
    DecisionOutcome,
    Majority,
    ProposalAction,
    ProposalStatus,
    check_proposal,
    decide,
)
from app.db import touch
from app.diary.models import DiaryEntry
from app.errors import Conflict, NotFound, ValidationFailed, field_error
from app.grids import service as grids
from app.grids.models import Area
from app.issues.models import Issue
from app.issues.repository import issue_scope
from app.issues.workflow import Kind
from app.kit import outbox
from app.kit.ids import id_taken, new_id
from app.kit.masking import mask_name
from app.kit.repository import saved
from app.kit.schemas import output
from app.scope import Principal, path_within, resolve_in_scope, scope_filter

STAFF = frozenset({Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
CONVENERS = frozenset({Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
READERS = STAFF | {Role.MEDIATOR, Role.VIEWER}


# --- proposals -----------------------------------------------------------------------------------


async def _new_proposal(session: AsyncSession, principal: Principal | None, **values: Any) -> Proposal:
    row = Proposal(
        id=values.pop("id", None) or new_id(),
        created_by=principal.user_id if principal else None,
        status=ProposalStatus.OPEN.value,
        supporters=1,
        **values,
    )
    return await saved(session, row, new=True)


async def create_proposal(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> Proposal:
    area = await grids.get_in_scope(session, principal, data.get("area_id") or principal.area_id, field="area_id")
    if data.get("id") and await session.get(Proposal, data["id"]) is not None:
        raise id_taken()
    return await _new_proposal(
        session,
        principal,
        id=data.get("id"),
        area_id=area.id,
        title=data["title"],
        content=data["content"],
        proposer_name=data.get("proposer_name"),
        source=ProposalSource.STAFF.value,
    )


async def from_diary(session: AsyncSession, principal: Principal, entry_id: uuid.UUID) -> Proposal:
    entry = (
        await session.execute(
            sa.select(DiaryEntry).where(
                DiaryEntry.id == entry_id, scope_filter(principal, area_column=DiaryEntry.area_id)
            )
        )
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound("No such diary entry in your area.", code="diary_entry_not_found")
    first_line = entry.content.strip().splitlines()[0] if entry.content.strip() else "民情日记"
    return await _new_proposal(
        session,
        principal,
        area_id=entry.area_id,
        title=first_line[:200],
        content=entry.content,
        source=ProposalSource.DIARY.value,
        diary_entry_id=entry.id,
    )


async def from_issue(session: AsyncSession, principal: Principal, issue_id: uuid.UUID) -> Proposal:
    issue = (
        await session.execute(sa.select(Issue).where(Issue.id == issue_id, issue_scope(principal)))
    ).scalar_one_or_none()
    if issue is None:
        raise NotFound("No such issue in your area.", code="issue_not_found")
    if issue.kind != Kind.SUGGESTION.value:
        raise Conflict(
            "Only an issue of kind suggestion (建议) becomes a proposal.",
            code="not_a_suggestion",
            kind=issue.kind,
        )
    return await _new_proposal(
        session,
        principal,
        area_id=issue.area_id,
        title=issue.title,
        content=issue.description,
        source=ProposalSource.ISSUE.value,
        issue_id=issue.id,
    )


async def public_proposal(session: AsyncSession, area_id: uuid.UUID, data: dict[str, Any]) -> Proposal:
    area = await session.get(Area, area_id)
    if area is None or area.level not in ("community", "grid", "micro_grid"):
        raise NotFound("No such community.", code="area_not_found")
    return await _new_proposal(
        session,
        None,
        area_id=area.id,
        title=data["title"],
        content=data["content"],
        proposer_name=data.get("name"),
        source=ProposalSource.PUBLIC.value,
    )


async def get_proposal(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, for_update: bool = False
) -> Proposal:
    return await repository.proposals.one(session, principal, proposal_id, for_update=for_update)


async def list_proposals(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Proposal]:
    area_path = await grids.area_path(session, principal, filters.get("area_id"))
    return await repository.proposals_in_scope(
        session, principal, area_path=area_path, status=filters.get("status"), after=after, limit=limit
    )


async def support(session: AsyncSession, row: Proposal) -> Proposal:
    check_proposal(ProposalStatus(row.status), ProposalAction.SUPPORT)
    row.supporters += 1
    return await saved(session, row)


async def merge(session: AsyncSession, principal: Principal, row: Proposal, into_id: uuid.UUID) -> Proposal:
    """Merge ``row`` into the proposal ``into_id``: its supporters move there."""
    if into_id == row.id:
        raise Conflict("A proposal is not merged into itself.", code="merge_into_self")
    target = await get_proposal(session, principal, into_id, for_update=True)
    status = check_proposal(ProposalStatus(row.status), ProposalAction.MERGE)
    check_proposal(ProposalStatus(target.status), ProposalAction.SUPPORT)
    if target.area_id != row.area_id:
        raise Conflict("Only proposals of the same area are merged.", code="merge_across_areas")
    target.supporters += row.supporters
    row.status, row.merged_into_id = status.value, target.id
    await audit.record(session, principal, "proposal.merge", row.id, row.area_id)
    return await saved(session, target)


async def similar(
    session: AsyncSession, principal: Principal, row: Proposal, limit: int
) -> list[tuple[Proposal, float]]:
    return list(await repository.similar(session, principal, row, limit=limit))


async def proposal_outs(session: AsyncSession, rows: Sequence[Proposal], principal: Principal) -> list[ProposalOut]:
    """Proposals as answered, each with the commitments it led to."""
    items = await commitments.repository.items_of_proposals(session, [r.id for r in rows])
    return [proposal_out(r, principal, items[r.id]) for r in rows]


def proposal_out(
    row: Proposal, principal: Principal | None, commitment_item_ids: Sequence[uuid.UUID] = ()
) -> ProposalOut:
    see = principal is not None and principal.may_see_personal_data
    return output(
        ProposalOut,
        row,
        commitment_item_ids=list(commitment_item_ids),
        proposer_name=row.proposer_name if see else mask_name(row.proposer_name),
        allowed_actions=[
            a.value
            for a in (ProposalAction.SUPPORT, ProposalAction.MERGE)
            if ProposalStatus(row.status) in PROPOSAL_TRANSITIONS[a][0]
        ],
    )


async def similar_outs(
    session: AsyncSession, rows: list[tuple[Proposal, float]], principal: Principal
) -> list[SimilarProposal]:
    outs = await proposal_outs(session, [p for p, _ in rows], principal)
    return [SimilarProposal(proposal=o, score=round(s, 4)) for o, (_, s) in zip(outs, rows, strict=True)]


# --- consultations -------------------------------------------------------------------------------


async def _agenda_reference(
    session: AsyncSession, principal: Principal, model: Any, value: uuid.UUID, field: str, thing: str, area: Area
) -> Any:
    row = await resolve_in_scope(session, principal, model, value, field=field, thing=thing)
    row_area = await session.get(Area, row.area_id)
    assert row_area is not None
    if not (path_within(row_area.path, area.path) or path_within(area.path, row_area.path)):
        raise ValidationFailed(
            f"The {thing.replace('_', ' ')} is not of the meeting's area.",
            code=f"unknown_{thing}",
            errors=[field_error(field, "not of the meeting's area")],
        )
    return row


async def create_consultation(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> Consultation:
    area = await grids.get_in_scope(session, principal, data.get("area_id") or principal.area_id, field="area_id")
    numerator, denominator = (int(p) for p in data["quorum"].split("/"))
    row = Consultation(
        id=new_id(),
        area_id=area.id,
        title=data["title"],
        held_at=data["held_at"],
        place=data["place"],
        convener=data["convener"],
        invited=data["invited"],
        quorum_numerator=numerator,
        quorum_denominator=denominator,
        majority=str(data["majority"]),
        participants=[{**p, "role": str(p["role"])} for p in data.get("participants") or []],
        minutes=data.get("minutes"),
        created_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    for n, item in enumerate(data["agenda"], start=1):
        field = f"agenda.{n - 1}"
        if item.get("proposal_id"):
            p = await _agenda_reference(
                session, principal, Proposal, item["proposal_id"], f"{field}.proposal_id", "proposal", area
            )
            p.status = check_proposal(ProposalStatus(p.status), ProposalAction.AGENDA).value
        if item.get("issue_id"):
            await resolve_in_scope(
                session,
                principal,
                Issue,
                item["issue_id"],
                field=f"{field}.issue_id",
                thing="issue",
                scope=issue_scope(principal),
            )
        if item.get("commitment_item_id"):
            await _agenda_reference(
                session,
                principal,
                CommitmentItem,
                item["commitment_item_id"],
                f"{field}.commitment_item_id",
                "commitment_item",
                area,
            )
        session.add(
            AgendaItem(
                consultation_id=row.id,
                position=n,
                title=item["title"],
                options=list(item["options"]),
                proposal_id=item.get("proposal_id"),
                issue_id=item.get("issue_id"),
                commitment_item_id=item.get("commitment_item_id"),
            )
        )
    await session.flush()
    await session.refresh(row)
    await audit.record(session, principal, "consultation.create", row.id, row.area_id)
    return row


async def get_consultation(
    session: AsyncSession, principal: Principal, consultation_id: uuid.UUID, *, for_update: bool = False
) -> Consultation:
    return await repository.consultations.one(session, principal, consultation_id, for_update=for_update)


async def edit_minutes(
    session: AsyncSession, principal: Principal, meeting: Consultation, minutes: str | None
) -> Consultation:
    """Replace the meeting's minutes (会议纪要), audited. Only the minutes: the agenda and its decisions
    are a record, and a decision is corrected by a new one, never by an edit."""
    meeting.minutes = minutes
    touch(meeting)  # a conditional write is a write even when the text is the same
    await audit.record(session, principal, "consultation.minutes", meeting.id, meeting.area_id)
    return await saved(session, meeting)


def _standing(decisions: list[Decision]) -> Decision | None:
    superseded = {d.supersedes_id for d in decisions}
    current = [d for d in decisions if d.id not in superseded]
    return current[-1] if current else None


async def record_decision(
    session: AsyncSession,
    principal: Principal,
    meeting: Consultation,
    number: int,
    data: dict[str, Any],
    settings: Settings,
) -> Decision:
    agenda = list(await repository.agenda_of(session, meeting.id))
    if not 1 <= number <= len(agenda):
        raise NotFound(f"The meeting has {len(agenda)} agenda items.", code="agenda_item_not_found")
    item = agenda[number - 1]
    votes, present = list(data["votes"]), data["present"]
    if len(votes) != len(item.options):
        raise ValidationFailed(
            f"The agenda item has {len(item.options)} options.",
            code="votes_mismatch",
            errors=[field_error("votes", f"one count per option: {len(item.options)}")],
        )
    if present > meeting.invited:
        raise ValidationFailed(
            f"{meeting.invited} representatives were invited.",
            code="present_exceeds_invited",
            errors=[field_error("present", f"at most {meeting.invited}")],
        )
    if sum(votes) > present:
        raise ValidationFailed(
            "More votes than representatives present.",
            code="votes_exceed_present",
            errors=[field_error("votes", f"at most {present} in all")],
        )
    previous = _standing((await repository.decisions_of(session, [item.id]))[item.id])
    if previous is not None and not data.get("reason"):
        raise ValidationFailed(
            "A decision stands: a correction says why.",
            code="reason_required",
            errors=[field_error("reason", "required to correct a decision")],
        )
    outcome, chosen = decide(
        invited=meeting.invited,
        present=present,
        votes=votes,
        quorum=Fraction(meeting.quorum_numerator, meeting.quorum_denominator),
        majority=Majority(meeting.majority),
    )
    decision = Decision(
        id=new_id(),
        agenda_item_id=item.id,
        present=present,
        votes=votes,
        outcome=outcome.value,
        chosen_option=chosen,
        reason=data.get("reason"),
        supersedes_id=previous.id if previous else None,
        decided_by=principal.user_id,
    )
    session.add(decision)
    await session.flush()
    new_commitment, new_issue = data.get("create_commitment"), data.get("create_issue")
    if (new_commitment or new_issue) and outcome is not DecisionOutcome.ADOPTED:
        raise Conflict(
            f"The decision is {outcome.value}: it creates no commitment.",
            code="decision_not_adopted",
            outcome=outcome.value,
        )
    if new_commitment:
        decision.commitment_item_id = await _create_commitment(
            session, principal, meeting, item, decision, new_commitment, settings
        )
    if new_issue:
        decision.issue_id = await _create_issue(session, principal, meeting, item, new_issue, settings)
    if item.proposal_id and outcome is not DecisionOutcome.NO_QUORUM:
        proposal = await session.get(Proposal, item.proposal_id, with_for_update=True)
        if proposal is not None and proposal.status != ProposalStatus.MERGED.value:
            check_proposal(ProposalStatus(proposal.status), ProposalAction.DECIDE)
            proposal.status = (
                ProposalStatus.ADOPTED if outcome is DecisionOutcome.ADOPTED else ProposalStatus.DECLINED
            ).value
    action = "consultation.correct" if previous else "consultation.decide"
    await audit.record(
        session,
        principal,
        action,
        decision.id,
        meeting.area_id,
        object_type="consultation_decision",
        reason=data.get("reason"),
    )
    outbox.emit(
        session,
        "consultation.decided",
        "consultation",
        meeting.id,
        {
            "consultation_id": str(meeting.id),
            "area_id": str(meeting.area_id),
            "agenda_position": item.position,
            "outcome": outcome.value,
            "commitment_item_id": str(decision.commitment_item_id) if decision.commitment_item_id else None,
            "issue_id": str(decision.issue_id) if decision.issue_id else None,
        },
    )
    return await saved(session, decision)


async def _create_commitment(
    session: AsyncSession,
    principal: Principal,
    meeting: Consultation,
    item: AgendaItem,
    decision: Decision,
    data: dict[str, Any],
    settings: Settings,
) -> uuid.UUID:
    field = "create_commitment.list_id"
    owner: CommitmentList = await resolve_in_scope(
        session, principal, CommitmentList, data["list_id"], field=field, thing="commitment_list", for_update=True
    )
    meeting_area, list_area = await session.get(Area, meeting.area_id), await session.get(Area, owner.area_id)
    assert meeting_area is not None and list_area is not None
    if not path_within(meeting_area.path, list_area.path):
        raise ValidationFailed(
            "The list is not of the meeting's community.",
            code="unknown_commitment_list",
            errors=[field_error(field, "not the list of the meeting's community")],
        )
    check_list(ListStatus(owner.status), ListAction.EDIT)
    body = {**data, "title": data.get("title") or item.title}
    before = len((await commitments.repository.items_of(session, [owner.id]))[owner.id])
    commitments.check_item_count(before + 1, settings, field=field)
    new = commitments.new_item(
        owner, await commitments.repository.next_position(session, owner.id), body, field="create_commitment"
    )
    new.decision_id = decision.id
    session.add(new)
    touch(owner)
    await session.flush()
    if item.proposal_id is not None:  # 民事民提 → 民事民办: the commitment answers the agenda's proposal
        await commitments.repository.set_proposals(session, new.id, [item.proposal_id])
    return new.id


async def _create_issue(
    session: AsyncSession,
    principal: Principal,
    meeting: Consultation,
    item: AgendaItem,
    data: dict[str, Any],
    settings: Settings,
) -> uuid.UUID:
    """民事民办 by the issue workflow: the decision filed as an issue of the meeting's area."""
    from app.issues import intake as issues
    from app.issues import schemas as issue_schemas

    title = (data.get("title") or item.title)[:60]
    description = data.get("description") or f"{meeting.title}({meeting.held_at:%Y-%m-%d})议定:{item.title}"
    _, issue = await issues.prepare_issue(
        session,
        principal,
        settings,
        issue_schemas.IssueCreate(
            title=title,
            description=description,
            kind=data["kind"],
            category=data["category"],
            channel=data["channel"],
            priority=data["priority"],
            area_id=meeting.area_id,
            occurred_at=meeting.held_at,
        ),
    )
    assert issue is not None
    await issues.insert_issue(session, principal, issue)
    return issue.id


async def outs(session: AsyncSession, principal: Principal, meeting: Consultation) -> ConsultationOut:
    agenda = list(await repository.agenda_of(session, meeting.id))
    decisions = await repository.decisions_of(session, [a.id for a in agenda])
    see = principal.may_see_personal_data
    return output(
        ConsultationOut,
        meeting,
        quorum=f"{meeting.quorum_numerator}/{meeting.quorum_denominator}",
        majority=Majority(meeting.majority),
        participants=[
            ParticipantOut(
                name=p["name"] if see else (mask_name(p["name"]) or ""), role=p["role"], present=p.get("present", True)
            )
            for p in meeting.participants
        ],
        agenda=[
            output(
                AgendaOut,
                a,
                decision=(DecisionOut.model_validate(_standing(decisions[a.id])) if decisions[a.id] else None),
                history=[DecisionOut.model_validate(d) for d in decisions[a.id]],
            )
            for a in agenda
        ],
        version=meeting.version,
        created_at=meeting.created_at,
    )


async def list_consultations(
    session: AsyncSession, principal: Principal, *, after: Sequence[Any] | None, limit: int
) -> Sequence[Consultation]:
    return await repository.consultations.list_in_scope(session, principal, after=after, limit=limit)
