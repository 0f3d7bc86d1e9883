"""矛盾纠纷调解: registering disputes, mediation sessions, outcomes and follow-up visits (回访).

Visibility: everyone admitted sees the disputes of their area subtree — mediators included, since a
community's few mediators stand in for each other; ``mine=true`` lists a mediator's own cases.
Sessions and outcomes are for mediators and administrators; follow-ups also for grid workers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import User
from app.auth.roles import Role
from app.config import Settings
from app.db import touch
from app.errors import NotFound, ValidationFailed, field_error
from app.grids import service as grids
from app.kit import clock, outbox
from app.kit.crypto import cipher_for
from app.kit.ids import new_id
from app.kit.masking import mask_name, mask_phone
from app.kit.schemas import output
from app.mediation import repository, workflow
from app.mediation.models import Dispute, DisputeParty, DisputeStatus, FollowUp, MediationSession, RiskLevel
from app.mediation.schemas import DisputeDetail, DisputeOut, FollowUpOut, PartyOut, PartyRevealed, SessionOut
from app.scope import Principal, area_path_of, covering, resolve_in_scope, serving
from app.sync.changes import Feed, record_change, register_feed

ENTITY = "dispute"
PHONE_CONTEXT = "dispute_party.phone"
DISPUTE_STAFF = frozenset({Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
MEDIATOR_ROLES = frozenset({Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})


async def _check_mediator(
    session: AsyncSession, principal: Principal, mediator_id: uuid.UUID, area_path: str | Any, field: str
) -> None:
    """The mediator must be a mediator (or administrator) whose area covers the dispute's (the area
    at ``area_path``, a path or an SQL expression of one). Staff off that area's branch are unknown
    here (422 ``unknown_user``); the others must be active and responsible for it."""
    row = await resolve_in_scope(
        session,
        principal,
        User,
        mediator_id,
        field=field,
        thing="user",
        scope=serving(User.home_area_id, area_path),
        columns=(covering(User.home_area_id, area_path).label("covers"),),
        message="unknown, or not working in the dispute's area",
    )
    mediator, covers = row[0], row[1]
    if not mediator.is_active or mediator.role not in MEDIATOR_ROLES or not covers:
        raise ValidationFailed(
            "The mediator must be an active mediator or administrator responsible for the dispute's area.",
            code="invalid_mediator",
            errors=[field_error(field, "not a mediator for this area")],
        )


async def create(session: AsyncSession, principal: Principal, data: dict[str, Any], settings: Settings) -> Dispute:
    area = await grids.get_in_scope(session, principal, data.get("area_id") or principal.area_id, field="area_id")
    if data.get("mediator_id"):
        await _check_mediator(session, principal, data["mediator_id"], area.path, "mediator_id")
    await repository.disputes.check_new(session, data.get("id"))
    dispute = Dispute(
        id=data.get("id") or new_id(),
        area_id=area.id,
        title=data["title"],
        description=data["description"],
        type=str(data["type"]),
        risk_level=str(data["risk_level"]),
        risk_reason=data.get("risk_reason"),
        status=DisputeStatus.REGISTERED.value,
        registered_by=principal.user_id,
        mediator_id=data.get("mediator_id"),
    )
    session.add(dispute)
    await session.flush()
    cipher = cipher_for(settings)
    for p in data["parties"]:
        session.add(
            DisputeParty(
                dispute_id=dispute.id,
                name=p["name"],
                role=str(p["role"]),
                phone_enc=cipher.encrypt(p.get("phone"), context=PHONE_CONTEXT),
                phone_index=cipher.blind_index(p.get("phone"), kind="phone"),
            )
        )
    await session.flush()
    await session.refresh(dispute)
    await record_change(session, ENTITY, dispute.id, dispute.area_id)
    return dispute


get = repository.disputes.one
"""A dispute of the caller's area: 404 ``dispute_not_found``."""


get_for_change = repository.disputes.for_change
"""The dispute locked for a change; a stale ``If-Match`` (when sent) is 412."""


async def list_disputes(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[Dispute]:
    if filters.pop("mine", False):
        filters["mediator_id"] = principal.user_id
    filters["area_path"] = await grids.area_path(session, principal, filters.get("area_id"))
    return await repository.list_in_scope(session, principal, filters=filters, after=after, limit=limit)


async def _touch(session: AsyncSession, dispute: Dispute) -> Dispute:
    """Write the dispute — a new session or follow-up is part of it — and so move its version."""
    touch(dispute)
    await session.flush()
    await session.refresh(dispute)
    await record_change(session, ENTITY, dispute.id, dispute.area_id)
    return dispute


async def add_session(session: AsyncSession, principal: Principal, dispute: Dispute, data: dict[str, Any]) -> Dispute:
    status = workflow.after_session(DisputeStatus(dispute.status))
    mediator_id = data.get("mediator_id") or dispute.mediator_id or principal.user_id
    await _check_mediator(session, principal, mediator_id, area_path_of(dispute.area_id), "mediator_id")
    session.add(
        MediationSession(
            dispute_id=dispute.id,
            held_at=data["held_at"],
            place=data["place"],
            mediator_id=mediator_id,
            attendees=list(data.get("attendees") or []),
            notes=data.get("notes"),
        )
    )
    dispute.status = status.value
    dispute.mediator_id = dispute.mediator_id or mediator_id
    return await _touch(session, dispute)


async def record_outcome(session: AsyncSession, dispute: Dispute, data: dict[str, Any]) -> Dispute:
    status = workflow.after_outcome(DisputeStatus(dispute.status), DisputeStatus(data["outcome"]))
    dispute.status = status.value
    dispute.agreement_text = data.get("agreement_text") if status is DisputeStatus.AGREEMENT else None
    dispute.referred_to = str(data["referred_to"]) if status is DisputeStatus.REFERRED else None
    dispute.outcome_at = clock.now()
    return await _touch(session, dispute)


async def add_follow_up(session: AsyncSession, principal: Principal, dispute: Dispute, data: dict[str, Any]) -> Dispute:
    status, risk = workflow.after_follow_up(
        DisputeStatus(dispute.status), RiskLevel(dispute.risk_level), data["stable"]
    )
    session.add(
        FollowUp(
            dispute_id=dispute.id,
            visited_on=data["visited_on"],
            stable=data["stable"],
            notes=data.get("notes"),
            visited_by=principal.user_id,
        )
    )
    if risk != dispute.risk_level:
        dispute.risk_reason = f"回访发现纠纷未稳定({data['visited_on']}),风险等级上调。" + (
            f" {dispute.risk_reason}" if dispute.risk_reason else ""
        )
        # Thin payload for integrations (综治平台): no parties, no text.
        outbox.emit(
            session,
            "dispute.risk_raised",
            "dispute",
            dispute.id,
            {
                "dispute_id": str(dispute.id),
                "area_id": str(dispute.area_id),
                "type": dispute.type,
                "risk_level": risk.value,
                "previous_risk_level": dispute.risk_level,
                "status": status.value,
            },
            area_id=dispute.area_id,
        )
    dispute.status, dispute.risk_level = status.value, risk.value
    return await _touch(session, dispute)


def _party_out(party: DisputeParty, principal: Principal, settings: Settings) -> PartyOut:
    phone = cipher_for(settings).decrypt(party.phone_enc, context=PHONE_CONTEXT)
    return PartyOut(
        id=party.id,
        name=party.name if principal.may_see_personal_data else (mask_name(party.name) or ""),
        role=party.role,
        phone=mask_phone(phone),
    )


async def outs(
    session: AsyncSession, principal: Principal, disputes: Sequence[Dispute], settings: Settings
) -> list[DisputeOut]:
    parties = await repository.parties_of(session, [d.id for d in disputes])
    return [
        output(
            DisputeOut,
            d,
            parties=[_party_out(p, principal, settings) for p in parties[d.id]],
            allowed_actions=[a.value for a in workflow.allowed_actions(DisputeStatus(d.status))],
        )
        for d in disputes
    ]


async def detail(session: AsyncSession, principal: Principal, dispute: Dispute, settings: Settings) -> DisputeDetail:
    (base,) = await outs(session, principal, [dispute], settings)
    return DisputeDetail(
        **base.model_dump(),
        sessions=[SessionOut.model_validate(s) for s in await repository.sessions_of(session, dispute.id)],
        follow_ups=[FollowUpOut.model_validate(f) for f in await repository.follow_ups_of(session, dispute.id)],
    )


async def reveal_party(
    session: AsyncSession,
    principal: Principal,
    dispute_id: uuid.UUID,
    party_id: uuid.UUID,
    reason: str,
    settings: Settings,
) -> PartyRevealed:
    audit.check_may_reveal(principal)
    dispute = await get(session, principal, dispute_id)
    party = await repository.party(session, dispute.id, party_id)
    if party is None:
        raise NotFound("No such party in this dispute.", code="party_not_found")
    await audit.record(session, principal, "dispute_party.reveal", party.id, dispute.area_id, reason=reason)
    return PartyRevealed(
        id=party.id, name=party.name, phone=cipher_for(settings).decrypt(party.phone_enc, context=PHONE_CONTEXT)
    )


async def snapshots(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID], settings: Settings
) -> dict[uuid.UUID, dict[str, Any]]:
    disputes = await repository.disputes.by_ids(session, principal, ids)
    return {o.id: o.model_dump(mode="json") for o in await outs(session, principal, disputes, settings)}


register_feed(Feed.of(Dispute, "disputes", ENTITY, DISPUTE_STAFF, snapshots))
