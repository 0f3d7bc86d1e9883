"""/api/v1/integrations/hotline — 12345 hotline tickets in (热线工单推送), status back (状态回传)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response

from app.auth.deps import caller_key, require_roles
from app.auth.roles import Role
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import PROBLEM_JSON, PROBLEM_REF
from app.integrations.hotline import schemas, service
from app.integrations.hotline.schemas import TICKET_NUMBER_PATTERN
from app.kit.openapi import documented_body
from app.kit.ratelimit import rate_limit
from app.kit.routing import Router
from app.scope import Principal

PUSH_LIMIT = Depends(rate_limit("hotline_push", "rate_limit_integration", 60, key=caller_key))
router = Router(prefix="/api/v1/integrations/hotline", tags=["hotline"])

Integration = Annotated[Principal, Depends(require_roles(Role.INTEGRATION))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
TicketNumber = Annotated[str, Path(pattern=TICKET_NUMBER_PATTERN, description="the hotline's ticket number")]

SIGNING_DOC = (
    "Authenticated by an integration API key (`X-API-Key` or `Authorization: Bearer mq_…`) and signed "
    "following Standard Webhooks: `webhook-id`, `webhook-timestamp` (Unix seconds, at most 5 minutes "
    "away) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, several "
    "space-separated allowed) with the key's signing secret, or the previous one while it is rotated. "
    "Rejections answer 401 problem+json with `code` `api_key_required`, `signature_missing`, "
    "`signature_invalid`, `signature_timestamp_out_of_range` or `replayed` (a `webhook-id` already "
    "used for another body), and store nothing. A retried delivery (same `webhook-id`, same body) is "
    "a no-op that answers like the first."
)


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "Missing key or bad signature (`signature_invalid`, `signature_missing`, "
        "`signature_timestamp_out_of_range`, `replayed`, `api_key_required`)",
        403: "Not an integration key (`role_not_allowed`)",
        404: "Unknown ticket, or outside the key's area (`ticket_not_found`)",
        422: "Malformed JSON (`malformed_json`), invalid fields (`validation_failed`) or a location "
        "outside the key's area (`outside_scope`), with `errors`",
    }
    return {c: {"description": text[c], "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}} for c in codes}


def _json(model: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


TICKET_EXAMPLE = {
    "ticket_number": "12345-20261123-0042",
    "received_at": "2026-11-23T09:30:00+08:00",
    "kind": "complaint",
    "category_code": "0301",
    "title": "小区东门路灯不亮",
    "content": "东门口两盏路灯连续三晚不亮,老人出行不便。",
    "address": "测试街道测试社区东门",
    "lat": 34.05,
    "lng": 108.02,
    "caller_name": "周贵领",
    "caller_phone": "13812341234",
    "due_at": "2026-11-27T18:00:00+08:00",
    "urgency": "normal",
}


@router.post(
    "/tickets",
    dependencies=[PUSH_LIMIT],
    status_code=201,
    response_model=schemas.TicketReceipt,
    operation_id="hotline_tickets_receive",
    summary="Receive a hotline ticket (接收12345工单)",
    description="A ticket (工单) pushed by the city 12345 hotline becomes an issue (channel `hotline`, "
    "`external_ref` = ticket number). " + SIGNING_DOC + " The first delivery of a ticket answers 201; "
    "the same ticket number sent again answers 200 with the same body. Category codes go through the "
    "category map (unknown → `other` with an `unknown_category` warning). Location routes to the grid "
    "holding it (outside the key's area → 422 `outside_scope`); an address alone to the street or "
    "community named in it; else the key's own area. The resolve deadline is the earlier of the "
    "hotline's `due_at` and our SLA policy's. Unknown fields are ignored.",
    responses={200: {"description": "The ticket was received before", "model": schemas.TicketReceipt}}
    | _problems(401, 403, 422),
    openapi_extra=documented_body(schemas.TicketIn, examples={"ticket": {"value": TICKET_EXAMPLE}}),
)
async def receive_ticket(
    request: Request, session: SessionDep, principal: Integration, settings: SettingsDep
) -> Response:
    body = await request.body()
    out, created = await service.receive_ticket(session, principal, settings, request.headers, body)
    location = f"{router.prefix}/tickets/{out.ticket_number}"
    return _json(out, 201 if created else 200, {"Location": location})


@router.get(
    "/tickets/{ticket_number}",
    response_model=schemas.TicketStatusOut,
    operation_id="hotline_tickets_status",
    summary="Read a ticket's status back (工单状态回传)",
    description="Status, Chinese label, timestamps, resolution summary and rating of a ticket this "
    "integration sent, within the key's area. No residents' personal data.",
    responses=_problems(403, 404),
)
async def ticket_status(
    ticket_number: TicketNumber, session: SessionDep, principal: Integration
) -> schemas.TicketStatusOut:
    return await service.ticket_status(session, principal, ticket_number)


@router.post(
    "/tickets/{ticket_number}/updates",
    dependencies=[PUSH_LIMIT],
    response_model=schemas.UpdateReceipt,
    operation_id="hotline_tickets_update",
    summary="Receive a ticket update: 催办 or 补充",
    description="`urge` (催办) supervises (督办) the open issue as the system: its priority goes up one "
    "step and the timeline records it; on a closed issue it is kept as a comment with an "
    "`issue_not_open` warning. `supplement` (补充) adds a comment. " + SIGNING_DOC,
    responses=_problems(401, 403, 404, 422),
    openapi_extra=documented_body(
        schemas.TicketUpdateIn, examples={"urge": {"value": {"type": "urge", "content": "市民来电催促,请尽快处理"}}}
    ),
)
async def receive_update(
    ticket_number: TicketNumber, request: Request, session: SessionDep, principal: Integration, settings: SettingsDep
) -> schemas.UpdateReceipt:
    body = await request.body()
    return await service.receive_update(session, principal, settings, ticket_number, request.headers, body)


@router.get(
    "/category-map",
    response_model=schemas.CategoryMapOut,
    operation_id="hotline_category_map_get",
    summary="Hotline category map (热线分类对照)",
    description="How the hotline's category codes map onto ours, and the codes received without a "
    "mapping (filed under `other`) with how often they came.",
    responses=_problems(403),
)
async def get_category_map(session: SessionDep, principal: Admin) -> schemas.CategoryMapOut:
    return await service.category_map(session)


@router.put(
    "/category-map",
    response_model=schemas.CategoryMapOut,
    operation_id="hotline_category_map_replace",
    summary="Replace the hotline category map",
    description="Replaces the whole map. Each code once; categories must exist (422 `invalid_category_map`). "
    "Newly mapped codes leave the unmapped list; tickets already filed keep their category.",
    responses=_problems(403, 422),
)
async def put_category_map(
    body: schemas.CategoryMapIn, session: SessionDep, principal: Admin
) -> schemas.CategoryMapOut:
    return await service.replace_category_map(session, body)
