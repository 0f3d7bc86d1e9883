"""/api/v1/disputes — 矛盾纠纷调解."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from app.auth.deps import SettingsDep, require_roles
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.etag import NOT_MODIFIED, OptionalIfMatch, created, tagged, unchanged
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.routing import Router
from app.kit.schemas import Page
from app.mediation import service
from app.mediation.models import DisputeStatus, DisputeType, RiskLevel
from app.mediation.schemas import (
    DisputeCreate,
    DisputeDetail,
    DisputeOut,
    FollowUpIn,
    OutcomeIn,
    PartyRevealed,
    SessionIn,
)
from app.residents.schemas import RevealIn
from app.scope import Principal

router = Router(prefix="/api/v1/disputes", tags=["mediation"], responses=problem_responses(403))
Staff = Annotated[Principal, Depends(require_roles(*sorted(service.DISPUTE_STAFF)))]
Mediator = Annotated[Principal, Depends(require_roles(*sorted(service.MEDIATOR_ROLES)))]
# 409 `invalid_transition` (with `allowed_actions`), 412 stale If-Match
ACTION_ERRORS = problem_responses(404, 409, 412)


@router.post(
    "",
    status_code=201,
    response_model=DisputeDetail,
    operation_id="disputes_create",
    summary="Register a dispute (矛盾纠纷排查登记)",
    description="Screening (拉网式排查) registers a dispute with its parties (phones stored encrypted, "
    "answered masked), type and risk level (red / orange / yellow / green, 风险等级) — red for disputes that "
    "may lead to extreme cases. The optional mediator must be a mediator or administrator over the area.",
)
async def create_dispute(
    body: DisputeCreate, session: SessionDep, principal: Staff, settings: SettingsDep, response: Response
) -> Any:
    dispute = await service.create(session, principal, body.model_dump(), settings)
    out = await service.detail(session, principal, dispute, settings)
    return created(response, f"/api/v1/disputes/{dispute.id}", out, dispute)


@router.get(
    "",
    response_model=Page[DisputeOut],
    operation_id="disputes_list",
    summary="Disputes in your area (矛盾纠纷列表)",
    description="Newest first. Mediators see every dispute of their area (they stand in for each other); "
    "`mine=true` keeps the caller's own cases. Filters: `status`, `risk_level`, `type`, `area_id`.",
)
async def list_disputes(
    session: SessionDep,
    principal: Staff,
    settings: SettingsDep,
    status: DisputeStatus | None = None,
    risk_level: RiskLevel | None = None,
    type: DisputeType | None = None,
    area_id: uuid.UUID | None = None,
    mine: bool = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    filters = {
        "status": status.value if status else None,
        "risk_level": risk_level.value if risk_level else None,
        "type": type.value if type else None,
        "area_id": area_id,
        "mine": mine,
    }
    keys = Keyset.open(settings, principal, "disputes", cursor)
    rows = await service.list_disputes(session, principal, filters=filters, after=keys.after, limit=limit)
    items, nxt = keys.page(rows, limit)
    return Page[DisputeOut](items=await service.outs(session, principal, items, settings), next_cursor=nxt)


@router.get(
    "/{dispute_id}",
    response_model=DisputeDetail,
    operation_id="disputes_get",
    summary="A dispute with its sessions and follow-ups (纠纷详情)",
    description="404 when outside your area.",
    responses={**problem_responses(404), **NOT_MODIFIED},
)
async def get_dispute(
    dispute_id: uuid.UUID,
    session: SessionDep,
    principal: Staff,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> Any:
    dispute = await service.get(session, principal, dispute_id)
    answer = unchanged(request, dispute)  # before reading the sessions and follow-ups
    if answer is not None:
        return answer
    return tagged(response, dispute, await service.detail(session, principal, dispute, settings))


@router.post(
    "/{dispute_id}/sessions",
    response_model=DisputeDetail,
    operation_id="disputes_add_session",
    summary="Record a mediation session (记录调解过程)",
    description="Date, place, mediator (default: the case's mediator or you), attendees and notes. The "
    "first session moves a registered dispute to `mediating`. Mediators and administrators.",
    responses=ACTION_ERRORS,
)
async def add_session(
    dispute_id: uuid.UUID,
    body: SessionIn,
    session: SessionDep,
    principal: Mediator,
    settings: SettingsDep,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> Any:
    dispute = await service.get_for_change(session, principal, dispute_id, if_match)
    dispute = await service.add_session(session, principal, dispute, body.model_dump())
    return tagged(response, dispute, await service.detail(session, principal, dispute, settings))


@router.post(
    "/{dispute_id}/outcome",
    response_model=DisputeDetail,
    operation_id="disputes_outcome",
    summary="Record the mediation outcome (调解结果)",
    description="`agreement` (调解成功, with `agreement_text`), `failed`, or `referred` to `judicial` or "
    "`petition` channels. Mediators and administrators.",
    responses=ACTION_ERRORS,
)
async def record_outcome(
    dispute_id: uuid.UUID,
    body: OutcomeIn,
    session: SessionDep,
    principal: Mediator,
    settings: SettingsDep,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> Any:
    dispute = await service.get_for_change(session, principal, dispute_id, if_match)
    dispute = await service.record_outcome(session, dispute, body.model_dump())
    return tagged(response, dispute, await service.detail(session, principal, dispute, settings))


@router.post(
    "/{dispute_id}/follow-ups",
    response_model=DisputeDetail,
    operation_id="disputes_follow_up",
    summary="Record a follow-up visit (回访)",
    description="After an outcome: stable → `stable`; not stable → back to `mediating` with the risk level "
    "raised one step (green → yellow → orange → red).",
    responses=ACTION_ERRORS,
)
async def add_follow_up(
    dispute_id: uuid.UUID,
    body: FollowUpIn,
    session: SessionDep,
    principal: Staff,
    settings: SettingsDep,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> Any:
    dispute = await service.get_for_change(session, principal, dispute_id, if_match)
    dispute = await service.add_follow_up(session, principal, dispute, body.model_dump())
    return tagged(response, dispute, await service.detail(session, principal, dispute, settings))


@router.post(
    "/{dispute_id}/parties/{party_id}/reveal",
    response_model=PartyRevealed,
    operation_id="disputes_reveal_party",
    summary="Reveal a party's name and phone (查看当事人信息明文)",
    description="Returns the clear values and writes an audit row with your `reason` in the same transaction.",
    responses=problem_responses(404),
)
async def reveal_party(
    dispute_id: uuid.UUID,
    party_id: uuid.UUID,
    body: RevealIn,
    session: SessionDep,
    principal: Staff,
    settings: SettingsDep,
) -> PartyRevealed:
    return await service.reveal_party(session, principal, dispute_id, party_id, body.reason, settings)
