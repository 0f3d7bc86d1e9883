"""/api/v1/disputes — 矛盾纠纷调解."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.auth.deps import require_roles
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.routes import Versioned, change_route, create_route, list_route, read_route
from app.kit.routing import Router
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


DISPUTE = Versioned(
    "dispute_id",
    DisputeDetail,
    get=service.get,
    change=service.get_for_change,
    show=lambda call, dispute: service.detail(call.session, call.principal, dispute, call.settings),
)
create_route(
    router,
    "",
    DISPUTE,
    Staff,
    lambda call, body: service.create(call.session, call.principal, body.model_dump(), call.settings),
    body=DisputeCreate,
    operation_id="disputes_create",
    summary="Register a dispute (矛盾纠纷排查登记)",
    description="Screening (拉网式排查) registers a dispute with its parties (phones stored encrypted, "
    "answered masked), type and risk level (red / orange / yellow / green, 风险等级) — red for disputes that "
    "may lead to extreme cases. The optional mediator must be a mediator or administrator over the area.",
)


list_route(
    router,
    "",
    DisputeOut,
    Staff,
    "disputes",
    service.list_disputes,
    filters={
        "status": DisputeStatus | None,
        "risk_level": RiskLevel | None,
        "type": DisputeType | None,
        "area_id": uuid.UUID | None,
        "mine": (bool, False),
    },
    outs=lambda call, rows: service.outs(call.session, call.principal, rows, call.settings),
    operation_id="disputes_list",
    summary="Disputes in your area (矛盾纠纷列表)",
    description="Newest first. Mediators see every dispute of their area (they stand in for each other); "
    "`mine=true` keeps the caller's own cases. Filters: `status`, `risk_level`, `type`, `area_id`.",
)


read_route(
    router,
    "/{dispute_id}",
    DISPUTE,
    Staff,
    conditional=True,  # answered before reading the sessions and follow-ups
    operation_id="disputes_get",
    summary="A dispute with its sessions and follow-ups (纠纷详情)",
    description="404 when outside your area.",
)


change_route(
    router,
    "/{dispute_id}/sessions",
    DISPUTE,
    Mediator,
    lambda call, dispute, body: service.add_session(call.session, call.principal, dispute, body.model_dump()),
    body=SessionIn,
    operation_id="disputes_add_session",
    summary="Record a mediation session (记录调解过程)",
    description="Date, place, mediator (default: the case's mediator or you), attendees and notes. The "
    "first session moves a registered dispute to `mediating`. Mediators and administrators.",
    responses=ACTION_ERRORS,
)


change_route(
    router,
    "/{dispute_id}/outcome",
    DISPUTE,
    Mediator,
    lambda call, dispute, body: service.record_outcome(call.session, dispute, body.model_dump()),
    body=OutcomeIn,
    operation_id="disputes_outcome",
    summary="Record the mediation outcome (调解结果)",
    description="`agreement` (调解成功, with `agreement_text`), `failed`, or `referred` to `judicial` or "
    "`petition` channels. Mediators and administrators.",
    responses=ACTION_ERRORS,
)


change_route(
    router,
    "/{dispute_id}/follow-ups",
    DISPUTE,
    Staff,
    lambda call, dispute, body: service.add_follow_up(call.session, call.principal, dispute, body.model_dump()),
    body=FollowUpIn,
    operation_id="disputes_follow_up",
    summary="Record a follow-up visit (回访)",
    description="After an outcome: stable → `stable`; not stable → back to `mediating` with the risk level "
    "raised one step (green → yellow → orange → red).",
    responses=ACTION_ERRORS,
)


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
