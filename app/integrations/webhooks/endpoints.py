"""/api/v1/webhooks: signed callbacks to integrations (回调订阅), their deliveries and replays."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Depends, Request, Response

from app.auth.deps import AdminOnly, caller_key
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import problem_responses
from app.integrations.webhooks import service
from app.integrations.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from app.integrations.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)
from app.kit import idempotency
from app.kit.etag import NOT_MODIFIED, IfMatch, etag_of, unchanged, write_if_match
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.ratelimit import rate_limit
from app.kit.routes import list_route
from app.kit.routing import Router
from app.kit.schemas import Page

RATE_LIMIT = 300
"""Requests per minute per caller (API key or user) on these routes."""

router = Router(
    prefix="/api/v1/webhooks",
    tags=["webhooks"],
    # admins only (403), rate limited per caller (429)
    responses=problem_responses(403, 429),
    dependencies=[Depends(rate_limit("webhooks", RATE_LIMIT, 60, key=caller_key))],
)

SIGNING_DOC = (
    'Deliveries are `POST`s of `{"id", "type", "timestamp", "data"}` signed per Standard Webhooks: '
    "`webhook-id` (the event id: deduplicate on it), `webhook-timestamp`, `webhook-signature` "
    "(`v1,<base64 HMAC-SHA256>`; two signatures for 24 h after a rotation). Answer 2xx to acknowledge; "
    "other answers are retried with backoff for about three days (`Retry-After` is honoured); 410 "
    "disables the subscription."
)


def _json(model: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


def _tagged(subscription: WebhookSubscription, out: Any) -> Response:
    return _json(out, headers={"ETag": etag_of(subscription.version)})


def _out(subscription: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(subscription)


def _delivery_out(delivery: WebhookDelivery, attempts: list[Any]) -> DeliveryOut:
    out = DeliveryOut.model_validate(delivery)
    out.attempt_log = [AttemptOut.model_validate(a) for a in attempts]
    if delivery.status != DeliveryStatus.PENDING.value:
        out.next_attempt_at = None
    return out


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionWithSecret,
    operation_id="webhooks_create",
    summary="Subscribe an integration to events (新建回调订阅)",
    description="Admins only. The target URL must be http(s) on a public address (private and loopback "
    "addresses are refused unless the deployment allows them; an allowlist may apply). The `secret` is "
    "shown once, in this response. " + SIGNING_DOC + " " + idempotency.POLICY_DOC,
    responses=problem_responses(409, 422),
)
async def create_subscription(
    request: Request,
    body: SubscriptionCreate,
    session: SessionDep,
    principal: AdminOnly,
    settings: SettingsDep,
    idempotency_key: idempotency.KeyHeader = None,
) -> Response:
    async def create() -> Response:
        subscription = await service.create(session, principal, settings, body)
        out = SubscriptionWithSecret(**_out(subscription).model_dump(), secret=subscription.secret)
        headers = {"Location": f"/api/v1/webhooks/{subscription.id}", "ETag": etag_of(subscription.version)}
        return _json(out, 201, headers)

    return await idempotency.once(session, request, principal.idempotency_owner, idempotency_key, create)


list_route(
    router,
    "",
    SubscriptionOut,
    AdminOnly,
    "webhooks",
    lambda session, principal, filters, **page: service.list_subscriptions(session, principal, **page),
    out=_out,
    operation_id="webhooks_list",
    summary="Webhook subscriptions in your jurisdiction (回调订阅列表)",
    responses=problem_responses(422),
)


@router.get(
    "/{webhook_id}",
    response_model=SubscriptionOut,
    operation_id="webhooks_get",
    summary="A webhook subscription (回调订阅)",
    description="The secret is never shown again; rotate it if it is lost.",
    responses={**NOT_MODIFIED, **problem_responses(404)},
)
async def get_subscription(
    webhook_id: uuid.UUID, request: Request, session: SessionDep, principal: AdminOnly
) -> Response:
    subscription = await service.get(session, principal, webhook_id)
    answer = unchanged(request, subscription)
    return answer if answer is not None else _tagged(subscription, _out(subscription))


@router.patch(
    "/{webhook_id}",
    response_model=SubscriptionOut,
    operation_id="webhooks_update",
    summary="Change, pause or re-activate a subscription (修改回调订阅)",
    description="Requires `If-Match`. Pausing (`is_active: false`) cancels its queued deliveries; "
    "re-activating one disabled by a 410 answer clears the reason.",
    responses=problem_responses(404, 412, 422, 428),
)
async def update_subscription(
    webhook_id: uuid.UUID,
    body: SubscriptionUpdate,
    session: SessionDep,
    principal: AdminOnly,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> Response:
    subscription = await service.get(session, principal, webhook_id, for_update=True)
    write_if_match(subscription, if_match)
    subscription = await service.update(session, settings, subscription, body.model_dump(exclude_unset=True))
    return _tagged(subscription, _out(subscription))


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=SubscriptionWithSecret,
    operation_id="webhooks_rotate_secret",
    summary="Rotate the signing secret (更换签名密钥)",
    description="Returns the new secret once. For 24 hours every message carries a signature with the new "
    "and with the previous secret, so the receiver can switch over without losing a message. "
    "`If-Match` is honoured when sent.",
    responses=problem_responses(404, 412),
)
async def rotate_secret(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: AdminOnly,
    if_match: IfMatch = None,
) -> Response:
    subscription = await service.get(session, principal, webhook_id, for_update=True)
    write_if_match(subscription, if_match, required=False)
    subscription = await service.rotate_secret(session, subscription)
    out = SubscriptionWithSecret(**_out(subscription).model_dump(), secret=subscription.secret)
    return _tagged(subscription, out)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    operation_id="webhooks_delete",
    summary="Delete a subscription (删除回调订阅)",
    description="Its queued deliveries and delivery history go with it.",
    responses=problem_responses(404),
)
async def delete_subscription(webhook_id: uuid.UUID, session: SessionDep, principal: AdminOnly) -> Response:
    subscription = await service.get(session, principal, webhook_id, for_update=True)
    await service.delete(session, subscription)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[DeliveryOut],
    operation_id="webhooks_deliveries",
    summary="Deliveries of a subscription, with every attempt (投递记录)",
    description="Newest first; filter by `status`. Each delivery lists its attempts: status code, the first "
    "bytes of the answer, duration and error.",
    responses=problem_responses(404, 422),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: AdminOnly,
    settings: SettingsDep,
    status: DeliveryStatus | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DeliveryOut]:
    subscription = await service.get(session, principal, webhook_id)
    keys = Keyset.open(settings, principal, "webhooks.deliveries", cursor, within=[str(subscription.id)])
    rows = await service.list_deliveries(session, subscription, status=status, after=keys.after, limit=limit)
    items, next_cursor = keys.page(rows, limit)
    attempts = await service.attempts_of(session, [d.id for d in items])
    return Page[DeliveryOut](items=[_delivery_out(d, attempts[d.id]) for d in items], next_cursor=next_cursor)


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    operation_id="webhooks_delivery_get",
    summary="One delivery with its attempts (投递详情)",
    responses=problem_responses(404),
)
async def get_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, principal: AdminOnly
) -> DeliveryOut:
    subscription = await service.get(session, principal, webhook_id)
    delivery = await service.get_delivery(session, subscription, delivery_id)
    attempts = await service.attempts_of(session, [delivery.id])
    return _delivery_out(delivery, attempts[delivery.id])


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
    operation_id="webhooks_delivery_replay",
    summary="Send a delivery again (重新投递)",
    description="Queues a delivered, dead or cancelled delivery again with the same event id "
    "(`webhook-id`), so a receiver that already has it can recognise the duplicate.",
    responses=problem_responses(404, 409),
)
async def replay_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, principal: AdminOnly
) -> DeliveryOut:
    subscription = await service.get(session, principal, webhook_id)
    delivery = await service.replay(session, subscription, delivery_id)
    attempts = await service.attempts_of(session, [delivery.id])
    return _delivery_out(delivery, attempts[delivery.id])
