"""幸福交换站 (time bank): a volunteer spends hours earned to ask for a service; another volunteer
claims it; the hours move to the claimer when the requester (or staff for them) confirms.

The requester's minutes are held in the community's escrow account when the request is made (so
hours cannot be promised twice), paid from escrow to the claimer on confirmation, and released back
to the requester when the request is cancelled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed, field_error
from app.kit.ids import new_id
from app.scope import Principal
from app.volunteers import ledger, workflow
from app.volunteers import repository as repo
from app.volunteers import service as volunteers
from app.volunteers.models import AccountKind, LedgerUnit, PostingKind, TimebankRequest, TimebankStatus
from app.volunteers.schemas import TimebankOut

A = workflow.TimebankAction


async def create(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> TimebankRequest:
    requester = await volunteers.volunteer_ref(session, principal, data["requester_id"], "requester_id")
    request_id = new_id()
    hold = await ledger.write(
        session,
        await ledger.prepare_transfer(
            session,
            principal,
            ledger.Owner(AccountKind.VOLUNTEER, LedgerUnit.MINUTES, requester.area_id, requester.id),
            ledger.Owner(AccountKind.ESCROW, LedgerUnit.MINUTES, requester.area_id),
            data["minutes"],
            area_id=requester.area_id,
            kind=PostingKind.TIMEBANK_HOLD,
            source_key=f"timebank_hold:{request_id}",
            memo=data["title"],
        ),
    )
    req = TimebankRequest(
        id=request_id,
        area_id=requester.area_id,
        requester_id=requester.id,
        title=data["title"],
        minutes=data["minutes"],
        status=TimebankStatus.OPEN.value,
        hold_posting_id=hold.id,
    )
    return await repo.saved(session, req, new=True)


get = repo.timebank_requests.one
"""A time-bank request of the caller's area (``for_update``: locked); 404 ``timebank_request_not_found``."""


async def claim(
    session: AsyncSession, principal: Principal, req: TimebankRequest, volunteer_id: uuid.UUID
) -> TimebankRequest:
    status = workflow.advance(workflow.TIMEBANK, TimebankStatus(req.status), A.CLAIM, "request")
    claimer = await volunteers.volunteer_ref(session, principal, volunteer_id, "volunteer_id")
    if claimer.id == req.requester_id:
        raise ValidationFailed(
            "A volunteer does not serve their own request.",
            code="own_request",
            errors=[field_error("volunteer_id", "is the requester")],
        )
    req.status, req.claimer_id = status.value, claimer.id
    return await repo.saved(session, req)


async def _settle(
    session: AsyncSession, principal: Principal, req: TimebankRequest, action: workflow.TimebankAction
) -> TimebankRequest:
    status = workflow.advance(workflow.TIMEBANK, TimebankStatus(req.status), action, "request")
    to = req.claimer_id if action is A.CONFIRM else req.requester_id
    assert to is not None
    kind = PostingKind.TIMEBANK_PAY if action is A.CONFIRM else PostingKind.TIMEBANK_RELEASE
    posting = await ledger.write(
        session,
        await ledger.prepare_transfer(
            session,
            principal,
            ledger.Owner(AccountKind.ESCROW, LedgerUnit.MINUTES, req.area_id),
            ledger.Owner(AccountKind.VOLUNTEER, LedgerUnit.MINUTES, req.area_id, to),
            req.minutes,
            area_id=req.area_id,
            kind=kind,
            source_key=f"{kind.value}:{req.id}",
            memo=req.title,
        ),
    )
    req.status, req.settle_posting_id = status.value, posting.id
    return await repo.saved(session, req)


async def confirm(session: AsyncSession, principal: Principal, req: TimebankRequest) -> TimebankRequest:
    return await _settle(session, principal, req, A.CONFIRM)


async def cancel(session: AsyncSession, principal: Principal, req: TimebankRequest) -> TimebankRequest:
    return await _settle(session, principal, req, A.CANCEL)


async def list_requests(
    session: AsyncSession, principal: Principal, *, status: str | None, after: Sequence[Any] | None, limit: int
) -> Sequence[TimebankRequest]:
    where = [TimebankRequest.status == status] if status else []
    return await repo.timebank_requests.list_in_scope(session, principal, *where, after=after, limit=limit)


def out(req: TimebankRequest) -> TimebankOut:
    return TimebankOut(
        **{k: getattr(req, k) for k in TimebankOut.model_fields if k != "allowed_actions"},
        allowed_actions=workflow.allowed(workflow.TIMEBANK, TimebankStatus(req.status)),
    )
