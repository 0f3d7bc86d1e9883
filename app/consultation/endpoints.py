"""/api/v1/proposals (民事民提), /api/v1/consultations (民主协商), and the public proposal form."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Response

from app.auth.deps import SettingsDep, require_roles
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
from app.kit.etag import etag_of, write_if_match
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.ratelimit import rate_limit
from app.kit.routing import Router
from app.kit.schemas import Page
from app.scope import Principal

proposals_router = Router(prefix="/api/v1/proposals", tags=["consultation"], responses=problem_responses(403))
consultations_router = Router(prefix="/api/v1/consultations", tags=["consultation"], responses=problem_responses(403))
public_router = Router(prefix="/api/v1/public/proposals", tags=["public"])
# Promotions hang off what is promoted, so no path under /proposals is ambiguous with /proposals/{id}/….
promotions_router = Router(prefix="/api/v1", tags=["consultation"], responses=problem_responses(403))

Staff = Annotated[Principal, Depends(require_roles(*sorted(service.STAFF)))]
Reader = Annotated[Principal, Depends(require_roles(*sorted(service.READERS)))]
Convener = Annotated[Principal, Depends(require_roles(*sorted(service.CONVENERS)))]
IfMatch = Annotated[str | None, Header(description="optional; 412 when stale")]
ACTION_ERRORS = problem_responses(404, 409, 412, 422)


async def _proposal(session: Any, response: Response, row: Any, principal: Principal) -> ProposalOut:
    response.headers["ETag"] = etag_of(row.version)
    (out,) = await service.proposal_outs(session, [row], principal)
    return out


@proposals_router.post(
    "",
    status_code=201,
    response_model=ProposalOut,
    operation_id="proposals_create",
    summary="Record a resident's proposal (民事民提)",
    description="Typed in by a grid worker or administrator; the proposer's name is answered masked to "
    "roles that may not see personal data.",
    responses=problem_responses(409, 422),
)
async def create_proposal(body: ProposalCreate, session: SessionDep, principal: Staff, response: Response) -> Any:
    row = await service.create_proposal(session, principal, body.model_dump())
    response.headers["Location"] = f"/api/v1/proposals/{row.id}"
    return await _proposal(session, response, row, principal)


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


@proposals_router.get(
    "",
    response_model=Page[ProposalOut],
    operation_id="proposals_list",
    summary="Proposals in your area",
    description="Newest first. Filters: `area_id` (a subtree), `status`.",
    responses=problem_responses(422),
)
async def list_proposals(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    status: ProposalStatus | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    keys = Keyset.open(settings, principal, "proposals", cursor)
    rows = await service.list_proposals(
        session,
        principal,
        filters={"area_id": area_id, "status": status.value if status else None},
        after=keys.after,
        limit=limit,
    )
    items, nxt = keys.page(rows, limit, lambda r: [r.created_at, r.id])
    return Page[ProposalOut](items=await service.proposal_outs(session, items, principal), next_cursor=nxt)


@proposals_router.get(
    "/{proposal_id}",
    response_model=ProposalOut,
    operation_id="proposals_get",
    summary="A proposal",
    responses=problem_responses(404),
)
async def get_proposal(proposal_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response) -> Any:
    return await _proposal(session, response, await service.get_proposal(session, principal, proposal_id), principal)


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


@proposals_router.post(
    "/{proposal_id}/support",
    response_model=ProposalOut,
    operation_id="proposals_support",
    summary="Count one more supporter (附议)",
    responses=ACTION_ERRORS,
)
async def support(
    proposal_id: uuid.UUID, session: SessionDep, principal: Staff, response: Response, if_match: IfMatch = None
) -> Any:
    row = await service.get_proposal(session, principal, proposal_id, for_update=True)
    write_if_match(row, if_match, required=False)
    return await _proposal(session, response, await service.support(session, row), principal)


@proposals_router.post(
    "/{proposal_id}/merge-into/{target_id}",
    response_model=ProposalOut,
    operation_id="proposals_merge",
    summary="Merge a proposal into a similar one",
    description="The proposal becomes `merged`; its supporters are added to the target, which is answered. "
    "Both must be of the same area and open.",
    responses=ACTION_ERRORS,
)
async def merge(
    proposal_id: uuid.UUID,
    target_id: uuid.UUID,
    session: SessionDep,
    principal: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    row = await service.get_proposal(session, principal, proposal_id, for_update=True)
    write_if_match(row, if_match, required=False)
    return await _proposal(session, response, await service.merge(session, principal, row, target_id), principal)


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


@consultations_router.post(
    "",
    status_code=201,
    response_model=ConsultationOut,
    operation_id="consultations_create",
    summary="Record a consultation meeting (民主协商)",
    description="Date, place, convener, representatives invited and taking part by role (居民代表, 党员代表, "
    "物业, 商户, 驻区单位 …), the rule (`quorum` of the invited, default 2/3; `majority` of those present, "
    "default more than half) and the agenda: items with options, each linked to a proposal, an issue or "
    "a commitment of the meeting's area.",
    responses=problem_responses(409, 422),
)
async def create_consultation(
    body: ConsultationCreate, session: SessionDep, principal: Convener, response: Response
) -> Any:
    row = await service.create_consultation(session, principal, body.model_dump())
    response.headers["Location"] = f"/api/v1/consultations/{row.id}"
    response.headers["ETag"] = etag_of(row.version)
    return await service.outs(session, principal, row)


@consultations_router.get(
    "",
    response_model=Page[ConsultationOut],
    operation_id="consultations_list",
    summary="Consultation meetings in your area",
    responses=problem_responses(422),
)
async def list_consultations(
    session: SessionDep, principal: Reader, settings: SettingsDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Any:
    keys = Keyset.open(settings, principal, "consultations", cursor)
    rows = await service.list_consultations(session, principal, after=keys.after, limit=limit)
    items, nxt = keys.page(rows, limit, lambda r: [r.created_at, r.id])
    return Page[ConsultationOut](items=[await service.outs(session, principal, r) for r in items], next_cursor=nxt)


@consultations_router.get(
    "/{consultation_id}",
    response_model=ConsultationOut,
    operation_id="consultations_get",
    summary="A meeting with its agenda, decisions and their corrections",
    responses=problem_responses(404),
)
async def get_consultation(
    consultation_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> Any:
    row = await service.get_consultation(session, principal, consultation_id)
    response.headers["ETag"] = etag_of(row.version)
    return await service.outs(session, principal, row)


@consultations_router.patch(
    "/{consultation_id}",
    response_model=ConsultationOut,
    operation_id="consultations_edit_minutes",
    summary="Edit a meeting's minutes (修改会议纪要)",
    description="Replaces the `minutes`; `If-Match` with the meeting's ETag is required (428 without, 412 when "
    "stale). Audited. Nothing else of a meeting is edited: its agenda and decisions are the record (a decision "
    "is corrected by a new decision that supersedes it).",
    responses={**ACTION_ERRORS, **problem_responses(428)},
)
async def edit_minutes(
    consultation_id: uuid.UUID,
    body: MinutesIn,
    session: SessionDep,
    principal: Convener,
    response: Response,
    if_match: Annotated[str | None, Header(description="the meeting's ETag; required")] = None,
) -> Any:
    row = await service.get_consultation(session, principal, consultation_id, for_update=True)
    write_if_match(row, if_match)
    row = await service.edit_minutes(session, principal, row, body.minutes)
    response.headers["ETag"] = etag_of(row.version)
    return await service.outs(session, principal, row)


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
