"""12345 hotline tickets in (热线工单推送) and their status back (办理状态回传).

Every delivery is checked in this order, and a rejection stores nothing:

1. the caller is an integration API key (401 / 403 before we get here);
2. the Standard Webhooks signature over the raw bytes, with the key's signing secret and, during
   rotation, the previous one; timestamps more than 5 minutes away are refused (401);
3. the JSON and its fields (422 with ``errors``);
4. the message is recorded once per ``(api_key_id, webhook-id)`` (``ON CONFLICT DO NOTHING``, in
   the transaction of the issue): a retried delivery is a no-op that answers like the first, and
   the same ``webhook-id`` with another body (or for another ticket) is refused as ``replayed``;
5. the ticket is claimed once per integration account and ticket number: a re-sent ticket
   (new ``webhook-id``, same number) answers 200 with the issue it already became.

Decisions:

* **Category**: the hotline's code goes through ``hotline_category_map``; an unknown code files
  the issue under ``other``, adds an ``unknown_category`` warning to the answer and is counted in
  ``hotline_unmapped_codes`` for the admin to map.
* **Routing** (see :func:`app.issues.routing.route`): coordinates → the grid holding them within the
  key's area (outside → 422 ``outside_scope``); an address alone → the street or community named
  in it; else the key's own area, triaged there.
* **Deadline**: the hotline's ``due_at`` is kept on the ticket and on the issue
  (``external_due_at``); the resolve deadline is the earlier of it and our SLA policy's, so we
  never promise the resident more time than the hotline gave. A ``due_at`` already past is
  accepted with a ``due_at_passed`` warning.
* **Urgency**: 一般 / 紧急 / 特急 → priority normal / high / urgent.
* **Updates**: 催办 (``urge``) is a ``supervise`` (督办) taken by the system on an open issue, or a
  comment with an ``issue_not_open`` warning once it is closed; 补充 (``supplement``) is a comment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.config import Settings
from app.errors import AppError, NotFound, Unauthorized, ValidationFailed, field_error, validation_failed
from app.grids import repository as areas
from app.integrations.hotline import repository
from app.integrations.hotline.models import HotlineCategoryMap, HotlineMessage, HotlineTicket
from app.integrations.hotline.schemas import (
    URGENCY_PRIORITY,
    CategoryMapIn,
    CategoryMapItem,
    CategoryMapOut,
    Notice,
    TicketIn,
    TicketReceipt,
    TicketStatusOut,
    TicketUpdateIn,
    UnmappedCode,
    UpdateReceipt,
    UpdateType,
)
from app.issues import actions as issue_actions
from app.issues import comments as issue_comments
from app.issues import intake, routing
from app.issues import repository as issues_repository
from app.issues import schemas as issue_schemas
from app.issues.models import Issue
from app.issues.workflow import OPEN_STATUSES, STATUS_LABELS, Channel, Status
from app.kit import clock, signing
from app.scope import Principal

logger = logging.getLogger("minqing.hotline")

FALLBACK_CATEGORY = "other"
SUMMARY_LENGTH = 500
TITLE_FROM_CONTENT = 40

ModelT = TypeVar("ModelT", bound=BaseModel)


# --- checks -----------------------------------------------------------------------------------


def _ticket_number_of(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("ticket_number")
    except (ValueError, AttributeError):
        return None
    return value[:64] if isinstance(value, str) else None


def log_rejection(
    reason: str, *, key_prefix: str | None, body: bytes, webhook_id: str | None = None, ticket_number: str | None = None
) -> None:
    logger.warning(
        "hotline message rejected: %s",
        reason,
        extra={
            "reason": reason,
            "key_prefix": key_prefix,
            "webhook_id": webhook_id,
            "ticket_number": ticket_number or _ticket_number_of(body),
        },
    )


async def _signed_key(
    session: AsyncSession, principal: Principal, headers: Mapping[str, str], body: bytes
) -> tuple[ApiKey, str]:
    """The API key of the caller and the ``webhook-id`` of a correctly signed message."""
    key = await repository.api_key(session, principal.api_key_id) if principal.api_key_id else None
    if key is None:
        err = Unauthorized("Signed hotline calls need an API key (X-API-Key or Bearer mq_…).", code="api_key_required")
        log_rejection(err.code, key_prefix=None, body=body)
        raise err
    secrets = [s for s in (key.signing_secret, key.previous_signing_secret) if s]
    try:
        webhook_id = signing.verify(secrets, headers, body, now=clock.now().timestamp())
    except Unauthorized as err:
        log_rejection(err.code, key_prefix=key.prefix, body=body, webhook_id=headers.get(signing.HEADER_ID))
        raise
    return key, webhook_id


def _parse(model: type[ModelT], body: bytes) -> ModelT:
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            "The body is not valid JSON.", code="malformed_json", errors=[field_error("body", "not valid JSON")]
        ) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def _fingerprint(kind: str, ticket_number: str | None, body: bytes) -> str:
    return hashlib.sha256(f"{kind}\n{ticket_number or ''}\n".encode() + body).hexdigest()


async def _claim(
    session: AsyncSession, key: ApiKey, webhook_id: str, kind: str, ticket_number: str | None, body: bytes
) -> HotlineMessage | None:
    """Record the message; ``None`` when it is new, else the earlier record of the same message."""
    fp = _fingerprint(kind, ticket_number, body)
    claimed = await repository.claim_message(
        session,
        {
            "api_key_id": key.id,
            "webhook_id": webhook_id,
            "kind": kind,
            "ticket_number": ticket_number,
            "body_sha256": fp,
            "outcome": {},
            "received_at": clock.now(),
        },
    )
    if claimed is not None:
        return None
    earlier = await repository.message(session, key.id, webhook_id)
    if earlier.body_sha256 != fp:
        raise Unauthorized(
            "This webhook-id was already used for another message.", code="replayed", webhook_id=webhook_id
        )
    return earlier


# --- output -----------------------------------------------------------------------------------


def _status_fields(ticket: HotlineTicket, issue: Issue) -> dict[str, Any]:
    resolution = issue.resolution
    return {
        "ticket_number": ticket.ticket_number,
        "issue_id": issue.id,
        "issue_number": issue.number,
        "status": issue.status,
        "status_label": STATUS_LABELS[Status(issue.status)],
        "received_at": ticket.received_at,
        "created_at": issue.created_at,
        "accepted_at": issue.first_responded_at,
        "dispatched_at": issue.dispatched_at,
        "resolved_at": issue.resolved_at,
        "closed_at": issue.closed_at,
        "resolve_due_at": issue.resolve_due_at,
        "outcome": issue.outcome,
        "resolution_summary": resolution[:SUMMARY_LENGTH] if resolution else None,
        "rating": issue.rating,
        "solved": issue.solved,
        "supervised_count": issue.supervised_count,
        "updated_at": issue.updated_at,
    }


def status_out(ticket: HotlineTicket, issue: Issue) -> TicketStatusOut:
    return TicketStatusOut(**_status_fields(ticket, issue))


def receipt(ticket: HotlineTicket, issue: Issue) -> TicketReceipt:
    return TicketReceipt(
        **_status_fields(ticket, issue),
        category=issue.category,
        area_id=issue.area_id,
        routed_by=ticket.routed_by or "home",
        warnings=[Notice(**w) for w in ticket.warnings],
    )


# --- tickets ----------------------------------------------------------------------------------


async def _category_for(session: AsyncSession, code: str, now: dt.datetime) -> tuple[str, list[dict[str, Any]]]:
    mapped = await repository.mapped_category(session, code)
    if mapped is not None:
        return mapped, []
    await repository.count_unmapped(session, code, now)
    warning = {
        "code": "unknown_category",
        "field": "category_code",
        "message": f"No mapping for the hotline category {code!r}; filed under {FALLBACK_CATEGORY!r}.",
    }
    return FALLBACK_CATEGORY, [warning]


async def _existing(session: AsyncSession, principal: Principal, ticket_number: str) -> TicketReceipt:
    found = await repository.ticket_with_issue(session, principal.user_id, ticket_number)
    if found is None:  # pragma: no cover - a committed ticket always has its issue
        raise NotFound("No such ticket.", code="ticket_not_found")
    return receipt(*found)


async def receive_ticket(
    session: AsyncSession, principal: Principal, settings: Settings, headers: Mapping[str, str], body: bytes
) -> tuple[TicketReceipt, bool]:
    """Turn a signed ticket into an issue; returns the receipt and whether it was new."""
    key, webhook_id = await _signed_key(session, principal, headers, body)
    try:
        data = _parse(TicketIn, body)
        earlier = await _claim(session, key, webhook_id, "ticket", None, body)
        if earlier is not None:
            return await _existing(session, principal, data.ticket_number), False
        return await _file(session, principal, settings, key, webhook_id, data)
    except AppError as err:
        log_rejection(err.code, key_prefix=key.prefix, body=body, webhook_id=webhook_id)
        raise


async def _file(
    session: AsyncSession, principal: Principal, settings: Settings, key: ApiKey, webhook_id: str, data: TicketIn
) -> tuple[TicketReceipt, bool]:
    now = clock.now()
    ticket = await repository.claim_ticket(
        session,
        {
            "integration_user_id": principal.user_id,
            "ticket_number": data.ticket_number,
            "api_key_id": key.id,
            "external_category": data.category_code,
            "urgency": data.urgency.value,
            "received_at": data.received_at,
            "hotline_due_at": data.due_at,
            "warnings": [],
            "created_at": now,
        },
    )
    message = await repository.message(session, key.id, webhook_id)
    if ticket is None:
        out = await _existing(session, principal, data.ticket_number)
        message.issue_id, message.outcome = out.issue_id, {"result": "duplicate_ticket"}
        await session.flush()
        return out, False

    category, warnings = await _category_for(session, data.category_code, now)
    home = await areas.get_unscoped(session, principal.area_id)
    assert home is not None
    routed = await routing.route(session, home, lat=data.lat, lng=data.lng, address=data.address)
    if routed is None:
        raise ValidationFailed(
            "The location lies outside the area this key serves.",
            code="outside_scope",
            errors=[field_error("lat", "outside the key's area"), field_error("lng", "outside the key's area")],
        )
    if data.due_at is not None and data.due_at <= now:
        warnings.append({"code": "due_at_passed", "field": "due_at", "message": "The hotline deadline has passed."})
    create = issue_schemas.IssueCreate(
        title=data.title or data.content[:TITLE_FROM_CONTENT],
        description=data.content,
        kind=data.kind,
        category=category,
        channel=Channel.HOTLINE,
        priority=URGENCY_PRIORITY[data.urgency],
        area_id=routed.area_id,
        location=issue_schemas.Location(lat=data.lat, lng=data.lng) if data.lat is not None else None,
        address=data.address,
        reporter=issue_schemas.Reporter(name=data.caller_name, phone=data.caller_phone)
        if data.caller_name or data.caller_phone
        else None,
        external_ref=data.ticket_number,
    )
    issue = await intake.create_issue(session, principal, settings, create, external_due_at=data.due_at)
    ticket.issue_id = issue.id
    ticket.routed_by = routed.by
    ticket.warnings = warnings
    message.issue_id, message.outcome = issue.id, {"result": "created"}
    await session.flush()
    return receipt(ticket, issue), True


async def ticket_status(session: AsyncSession, principal: Principal, ticket_number: str) -> TicketStatusOut:
    found = await repository.ticket_with_issue(session, principal.user_id, ticket_number, principal)
    if found is None:
        raise NotFound("No such ticket from this integration in its area.", code="ticket_not_found")
    return status_out(*found)


# --- updates ----------------------------------------------------------------------------------


async def receive_update(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    ticket_number: str,
    headers: Mapping[str, str],
    body: bytes,
) -> UpdateReceipt:
    key, webhook_id = await _signed_key(session, principal, headers, body)
    try:
        data = _parse(TicketUpdateIn, body)
        earlier = await _claim(session, key, webhook_id, "update", ticket_number, body)
        found = await repository.ticket_with_issue(session, principal.user_id, ticket_number, principal)
        if found is None:
            raise NotFound("No such ticket from this integration in its area.", code="ticket_not_found")
        ticket, issue = found
        if earlier is not None:
            outcome = earlier.outcome
        else:
            outcome = await _apply_update(session, principal, settings, issue, data)
            message = await repository.message(session, key.id, webhook_id)
            message.issue_id, message.outcome = issue.id, outcome
            await session.flush()
        return UpdateReceipt(
            ticket_number=ticket.ticket_number,
            type=data.type,
            applied_as=outcome["applied_as"],
            issue_number=issue.number,
            status=Status(issue.status),
            status_label=STATUS_LABELS[Status(issue.status)],
            warnings=[Notice(**w) for w in outcome.get("warnings", [])],
        )
    except AppError as err:
        log_rejection(err.code, key_prefix=key.prefix, body=body, webhook_id=webhook_id, ticket_number=ticket_number)
        raise


async def _apply_update(
    session: AsyncSession, principal: Principal, settings: Settings, issue: Issue, data: TicketUpdateIn
) -> dict[str, Any]:
    if data.type is UpdateType.URGE and Status(issue.status) in OPEN_STATUSES:
        await issue_actions.supervise_from_source(session, settings, issue, f"12345 催办:{data.content}")
        return {"applied_as": "supervise", "warnings": []}
    label = "催办" if data.type is UpdateType.URGE else "补充"
    await issue_comments.add_comment(session, principal, issue.id, f"12345 {label}:{data.content}")
    warnings = []
    if data.type is UpdateType.URGE:
        warnings.append(
            {
                "code": "issue_not_open",
                "field": None,
                "message": "The issue is no longer open; the urge is kept as a comment.",
            }
        )
    return {"applied_as": "comment", "warnings": warnings}


# --- category map -----------------------------------------------------------------------------


async def category_map(session: AsyncSession) -> CategoryMapOut:
    return CategoryMapOut(
        items=[
            CategoryMapItem(external_code=r.external_code, external_name=r.external_name, category=r.category)
            for r in await repository.category_map(session)
        ],
        unmapped=[UnmappedCode.model_validate(u) for u in await repository.unmapped_codes(session)],
    )


async def replace_category_map(session: AsyncSession, body: CategoryMapIn) -> CategoryMapOut:
    codes = [i.external_code for i in body.items]
    errors = [field_error(f"items[{n}].external_code", "duplicate code") for n, c in enumerate(codes) if c in codes[:n]]
    known = {c.code for c in await issues_repository.categories(session) if c.is_active}
    errors += [
        field_error(f"items[{n}].category", "unknown category")
        for n, item in enumerate(body.items)
        if item.category not in known
    ]
    if errors:
        raise ValidationFailed("The category map is not valid.", code="invalid_category_map", errors=errors)
    now = clock.now()
    rows = [
        HotlineCategoryMap(
            external_code=i.external_code, external_name=i.external_name, category=i.category, updated_at=now
        )
        for i in body.items
    ]
    await repository.replace_category_map(session, rows)
    return await category_map(session)
