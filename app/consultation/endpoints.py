"""/api/v1/proposals (民事民提), /api/v1/consultations (民主协商), and the public proposal form."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Response

from app.auth.deps import require_roles
from app.config import SettingsDep
from app.consultation import service
from app.consultation.schemas import (
    ConsultationCreate,
    ConsultationOut,
    DecisionIn,
    MinutesIn,
    ProposalCreate,
    ProposalOut,
    PublicProposalIn,
    PublicProposalOut,
    SimilarProposal,
)
from app.consultation.workflow import ProposalStatus
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.etag import tagged
from app.kit.ratelimit import rate_limit
from app.kit.routes import Call, Versioned, change_route, checked, create_route, list_route, read_route
from app.kit.routing import Router
from app.scope import Principal

proposals_router = Router(prefix="/api/v1/proposals", tags=["consultation"], responses=problem_responses(403))
consultations_router = Router(prefix="/api/v1/consultations", tags=["consultation"], responses=problem_responses(403))
public_router = Router(prefix="/api/v1/public/proposals", tags=["public"])
# Promotions hang off what is promoted, so no path under /proposals is ambiguous with /proposals/{id}/….
promotions_router = Router(prefix="/api/v1", tags=["consultation"], responses=problem_responses(403))

Staff = Annotated[Principal, Depends(require_roles(*sorted(service.STAFF)))]
Reader = Annotated[Principal, Depends(require_roles(*sorted(service.READERS)))]
Convener = Annotated[Principal, Depends(require_roles(*sorted(service.CONVENERS)))]
ACTION_ERRORS = problem_responses(404, 409, 412, 422)


async def _proposal_out(session: Any, row: Any, principal: Principal) -> ProposalOut:
    (out,) = await service.proposal_outs(session, [row], principal)
    return out


async def _proposal(session: Any, response: Response, row: Any, principal: Principal) -> ProposalOut:
    return tagged(response, row, await _proposal_out(session, row, principal))


PROPOSAL = Versioned(
    "proposal_id",
    ProposalOut,
    get=service.get_proposal,
    change=checked(service.get_proposal, for_update=True),
    show=lambda call, row: _proposal_out(call.session, row, call.principal),
)
create_route(
    proposals_router,
    "",
    PROPOSAL,
    Staff,
    lambda call, body: service.create_proposal(call.session, call.principal, body.model_dump()),
    body=ProposalCreate,
    operation_id="proposals_create",
    summary="Record a resident's proposal (民事民提)",
    description="Typed in by a grid worker or administrator; the proposer's name is answered masked to "
    "roles that may not see personal data.",
    responses=problem_responses(409, 422),
)


@promotions_router.post(
    "/diary-entries/{entry_id}/proposal",
    status_code=201,
    response_model=ProposalOut,
    operation_id="proposals_from_diary",
    summary="Promote a 民情日记 entry to a proposal",
    description="The entry's content becomes the proposal, linked to the entry. 404 outside your area.",
    responses=problem_responses(404),
)
async def from_diary(entry_id: uuid.UUID, session: SessionDep, principal: Staff, response: Response) -> Any:
    return await _proposal(session, response, await service.from_diary(session, principal, entry_id), principal)


@promotions_router.post(
    "/issues/{issue_id}/proposal",
    status_code=201,
    response_model=ProposalOut,
    operation_id="proposals_from_issue",
    summary="Promote a suggestion (建议) issue to a proposal",
    description="Only issues of kind `suggestion` (409 `not_a_suggestion`). 404 outside your area.",
    responses=problem_responses(404, 409),
)
async def from_issue(issue_id: uuid.UUID, session: SessionDep, principal: Staff, response: Response) -> Any:
    return await _proposal(session, response, await service.from_issue(session, principal, issue_id), principal)


list_route(
    proposals_router,
    "",
    ProposalOut,
    Reader,
    "proposals",
    service.list_proposals,
    filters={"area_id": uuid.UUID | None, "status": ProposalStatus | None},
    outs=lambda call, rows: service.proposal_outs(call.session, rows, call.principal),
    operation_id="proposals_list",
    summary="Proposals in your area",
    description="Newest first. Filters: `area_id` (a subtree), `status`.",
    responses=problem_responses(422),
)


read_route(
    proposals_router,
    "/{proposal_id}",
    PROPOSAL,
    Reader,
    operation_id="proposals_get",
    summary="A proposal",
)


@proposals_router.get(
    "/{proposal_id}/similar",
    response_model=list[SimilarProposal],
    operation_id="proposals_similar",
    summary="Similar open proposals of the same area (pg_trgm)",
    description="Ranked by trigram similarity of title and content, as for duplicate issues.",
    responses=problem_responses(404),
)
async def similar(
    proposal_id: uuid.UUID,
    session: SessionDep,
    principal: Staff,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Any:
    row = await service.get_proposal(session, principal, proposal_id)
    return await service.similar_outs(session, await service.similar(session, principal, row, limit), principal)


change_route(
    proposals_router,
    "/{proposal_id}/support",
    PROPOSAL,
    Staff,
    lambda call, row, _: service.support(call.session, row),
    operation_id="proposals_support",
    summary="Count one more supporter (附议)",
    responses=ACTION_ERRORS,
)


change_route(
    proposals_router,
    "/{proposal_id}/merge-into/{target_id}",
    PROPOSAL,
    Staff,
    lambda call, row, _, target_id: service.merge(call.session, call.principal, row, target_id),
    ids=("target_id",),
    operation_id="proposals_merge",
    summary="Merge a proposal into a similar one",
    description="The proposal becomes `merged`; its supporters are added to the target, which is answered. "
    "Both must be of the same area and open.",
    responses=ACTION_ERRORS,
)


@public_router.post(
    "/{area_id}",
    status_code=201,
    dependencies=[Depends(rate_limit("public_proposals", "rate_limit_public_writes", 60))],
    response_model=PublicProposalOut,
    operation_id="public_proposals_submit",
    summary="Send a proposal to your community (居民建议, no login)",
    description="For a community or a grid. Rate-limited per client address (429 with `Retry-After`).",
    responses=problem_responses(404, 422, 429),
)
async def public_proposal(area_id: uuid.UUID, body: PublicProposalIn, session: SessionDep) -> Any:
    row = await service.public_proposal(session, area_id, body.model_dump())
    return PublicProposalOut(id=row.id, status=row.status)


CONSULTATION = Versioned(
    "consultation_id",
    ConsultationOut,
    get=service.get_consultation,
    change=checked(service.get_consultation, required=True, for_update=True),
    show=lambda call, row: service.outs(call.session, call.principal, row),
)
create_route(
    consultations_router,
    "",
    CONSULTATION,
    Convener,
    lambda call, body: service.create_consultation(call.session, call.principal, body.model_dump()),
    body=ConsultationCreate,
    operation_id="consultations_create",
    summary="Record a consultation meeting (民主协商)",
    description="Date, place, convener, representatives invited and taking part by role (居民代表, 党员代表, "
    "物业, 商户, 驻区单位 …), the rule (`quorum` of the invited, default 2/3; `majority` of those present, "
    "default more than half) and the agenda: items with options, each linked to a proposal, an issue or "
    "a commitment of the meeting's area.",
    responses=problem_responses(409, 422),
)


async def _consultation_outs(call: Call, rows: list[Any]) -> list[ConsultationOut]:
    return [await service.outs(call.session, call.principal, row) for row in rows]


list_route(
    consultations_router,
    "",
    ConsultationOut,
    Reader,
    "consultations",
    lambda session, principal, filters, **page: service.list_consultations(session, principal, **page),
    outs=_consultation_outs,
    operation_id="consultations_list",
    summary="Consultation meetings in your area",
    responses=problem_responses(422),
)


read_route(
    consultations_router,
    "/{consultation_id}",
    CONSULTATION,
    Reader,
    operation_id="consultations_get",
    summary="A meeting with its agenda, decisions and their corrections",
)


change_route(
    consultations_router,
    "/{consultation_id}",
    CONSULTATION,
    Convener,
    lambda call, row, body: service.edit_minutes(call.session, call.principal, row, body.minutes),
    body=MinutesIn,
    method="patch",
    if_match=Annotated[str | None, Header(description="the meeting's ETag; required")],
    operation_id="consultations_edit_minutes",
    summary="Edit a meeting's minutes (修改会议纪要)",
    description="Replaces the `minutes`; `If-Match` with the meeting's ETag is required (428 without, 412 when "
    "stale). Audited. Nothing else of a meeting is edited: its agenda and decisions are the record (a decision "
    "is corrected by a new decision that supersedes it).",
    responses={**ACTION_ERRORS, **problem_responses(428)},
)


@consultations_router.post(
    "/{consultation_id}/agenda/{number}/decisions",
    status_code=201,
    response_model=ConsultationOut,
    operation_id="consultations_decide",
    summary="Record the vote and decision on an agenda item (民事民决)",
    description="`present` and the `votes` per option decide under the meeting's rule: `no_quorum`, "
    "`rejected` or `adopted` (with the winning option). A decision is never edited: another one on the "
    "same item is a correction, which needs a `reason` and supersedes it; both are audited. "
    "`create_commitment` (民事民办) adds the adopted decision to a draft or returned annual list of the "
    "meeting's community, linked both ways (409 `decision_not_adopted` otherwise).",
    responses=ACTION_ERRORS,
)
async def decide(
    consultation_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=20)],
    body: DecisionIn,
    session: SessionDep,
    principal: Convener,
    settings: SettingsDep,
) -> Any:
    meeting = await service.get_consultation(session, principal, consultation_id, for_update=True)
    await service.record_decision(session, principal, meeting, number, body.model_dump(), settings)
    return await service.outs(session, principal, meeting)
