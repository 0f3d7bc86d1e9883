"""Webhook subscriptions (回调订阅): create, change, rotate the secret, replay a delivery."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.config import Settings
from app.errors import Conflict, NotFound, ValidationFailed, field_error
from app.grids import repository as areas
from app.grids import service as grids
from app.integrations.webhooks import repository
from app.integrations.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from app.integrations.webhooks.schemas import SubscriptionCreate
from app.integrations.webhooks.urlcheck import check_target_url
from app.kit import clock
from app.kit.signing import generate_secret
from app.scope import Principal, path_within, resolve_in_scope, scope_filter

SECRET_OVERLAP = dt.timedelta(hours=24)
"""How long the previous secret still signs messages after a rotation."""


async def check_url(settings: Settings, url: str) -> None:
    await check_target_url(
        url,
        allowlist=settings.webhook_allowlist,
        allow_private=settings.webhook_allow_private,
        allow_loopback=settings.webhook_allow_loopback,
    )


def _unique(values: Sequence[Any]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


async def create(
    session: AsyncSession, principal: Principal, settings: Settings, body: SubscriptionCreate
) -> WebhookSubscription:
    """A subscription reaches events of its area's subtree: the owner key's area, or the creator's,
    or a given area inside that."""
    scope_area = await areas.get_unscoped(session, principal.area_id)
    if body.api_key_id is not None:
        key = await resolve_in_scope(
            session,
            principal,
            ApiKey,
            body.api_key_id,
            field="api_key_id",
            thing="api_key",
            scope=sa.and_(scope_filter(principal, area_column=ApiKey.area_id), ApiKey.revoked_at.is_(None)),
            message="unknown, revoked or outside your area",
        )
        scope_area = await areas.get_unscoped(session, key.area_id)
    assert scope_area is not None  # areas are RESTRICT-referenced by users and keys
    area = scope_area
    if body.area_id is not None:
        area = await grids.get_in_scope(session, principal, body.area_id, field="area_id")
        if not path_within(area.path, scope_area.path):
            raise ValidationFailed(
                "A subscription cannot reach beyond its API key's area.",
                code="webhook_scope_too_wide",
                errors=[field_error("area_id", "must be inside the API key's area")],
            )
    await check_url(settings, body.url)
    subscription = WebhookSubscription(
        url=body.url,
        event_types=_unique(body.event_types),
        area_id=area.id,
        api_key_id=body.api_key_id,
        description=body.description,
        secret=generate_secret(),
        created_by=principal.user_id,
    )
    session.add(subscription)
    await session.flush()
    return subscription


get = repository.subscriptions.one
"""A subscription in the caller's jurisdiction: 404 ``webhook_not_found``."""


async def update(
    session: AsyncSession, settings: Settings, subscription: WebhookSubscription, changes: dict[str, Any]
) -> WebhookSubscription:
    now = clock.now()
    if changes.get("url") is not None and changes["url"] != subscription.url:
        await check_url(settings, changes["url"])
        subscription.url = changes["url"]
    if changes.get("event_types") is not None:
        subscription.event_types = _unique(changes["event_types"])
    if "description" in changes:
        subscription.description = changes["description"]
    if changes.get("is_active") is not None and changes["is_active"] != subscription.is_active:
        subscription.is_active = changes["is_active"]
        if subscription.is_active:
            subscription.disabled_reason = subscription.disabled_at = None
        else:
            subscription.disabled_reason, subscription.disabled_at = "disabled by an administrator", now
            await repository.cancel_pending(session, subscription.id, now)
    subscription.updated_at = now
    await session.flush()
    return subscription


async def rotate_secret(session: AsyncSession, subscription: WebhookSubscription) -> WebhookSubscription:
    """New secret at once; the old one keeps signing alongside for :data:`SECRET_OVERLAP`."""
    now = clock.now()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = now + SECRET_OVERLAP
    subscription.secret = generate_secret()
    subscription.updated_at = now
    await session.flush()
    return subscription


async def delete(session: AsyncSession, subscription: WebhookSubscription) -> None:
    await session.delete(subscription)
    await session.flush()


async def get_delivery(
    session: AsyncSession, subscription: WebhookSubscription, delivery_id: uuid.UUID, *, for_update: bool = False
) -> WebhookDelivery:
    delivery = await repository.get_delivery(session, subscription.id, delivery_id, for_update=for_update)
    if delivery is None:
        raise NotFound("No such delivery for this subscription.", code="webhook_delivery_not_found")
    return delivery


async def replay(session: AsyncSession, subscription: WebhookSubscription, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Queue a delivered, dead or cancelled delivery again (重新投递), with the same event id."""
    if not subscription.is_active:
        raise Conflict("The subscription is disabled; re-activate it first.", code="webhook_inactive")
    delivery = await get_delivery(session, subscription, delivery_id, for_update=True)
    if delivery.status == DeliveryStatus.PENDING.value:
        raise Conflict("This delivery is already queued.", code="webhook_delivery_pending")
    now = clock.now()
    delivery.status = DeliveryStatus.PENDING.value
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.locked_until = delivery.lease_token = None
    delivery.last_error = None
    delivery.updated_at = now
    await session.flush()
    return delivery


async def list_subscriptions(
    session: AsyncSession, principal: Principal, *, after: Sequence[Any] | None, limit: int
) -> Sequence[WebhookSubscription]:
    return await repository.subscriptions.list_in_scope(session, principal, after=after, limit=limit)


async def list_deliveries(
    session: AsyncSession,
    subscription: WebhookSubscription,
    *,
    status: DeliveryStatus | None,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    return await repository.list_deliveries(session, subscription.id, status=status, after=after, limit=limit)


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first, in one query."""
    return await repository.attempts_of(session, delivery_ids)
