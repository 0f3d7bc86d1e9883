"""SQL for webhook subscriptions, the fan-out of outbox events and the delivery queue."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import ApiKey
from app.grids.models import Area
from app.integrations.webhooks.models import (
    DeliveryStatus,
    SlaNotification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.issues.models import Issue
from app.issues.repository import sla_condition
from app.issues.sla import SlaState
from app.kit.outbox import OutboxMessage
from app.kit.pagination import keyset
from app.kit.repository import ScopedRepository, grouped
from app.scope import Principal, scope_filter

PENDING = DeliveryStatus.PENDING.value

# --- subscriptions ------------------------------------------------------------------------------


subscriptions = ScopedRepository(
    WebhookSubscription, thing="webhook", label="webhook subscription", within="your jurisdiction"
)


async def get_in_scope(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID, *, for_update: bool = False
) -> WebhookSubscription | None:
    stmt = sa.select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id,
        scope_filter(principal, area_column=WebhookSubscription.area_id),
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def cancel_pending(session: AsyncSession, subscription_id: uuid.UUID, now: dt.datetime) -> int:
    result = await session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.status == PENDING)
        .values(status=DeliveryStatus.CANCELLED.value, locked_until=None, lease_token=None, updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- deliveries, as seen through the API ----------------------------------------------------------


async def get_delivery(
    session: AsyncSession, subscription_id: uuid.UUID, delivery_id: uuid.UUID, *, for_update: bool = False
) -> WebhookDelivery | None:
    stmt = sa.select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    stmt = sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status.value)
    stmt = keyset(stmt, [WebhookDelivery.created_at, WebhookDelivery.id], after=after, limit=limit)
    return (await session.execute(stmt)).scalars().all()


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    if not delivery_ids:
        return defaultdict(list)
    stmt = sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
    stmt = stmt.order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    return await grouped(session, stmt, lambda attempt: attempt.delivery_id)


# --- fan-out: outbox rows → one delivery per matching subscription ----------------------------------


def outbox_claim(now: dt.datetime, limit: int) -> sa.Select[OutboxMessage]:
    """The unprocessed events, oldest first, locked; rows other workers hold are skipped. Read in
    id order from the index of the unprocessed ones (``ix_outbox_unprocessed``), so its cost does
    not grow with the events already processed."""
    return (
        sa.select(OutboxMessage)
        .where(OutboxMessage.processed_at.is_(None), OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def claim_outbox(session: AsyncSession, now: dt.datetime, limit: int) -> Sequence[OutboxMessage]:
    """Lock a batch of unprocessed events (:func:`outbox_claim`)."""
    return (await session.execute(outbox_claim(now, limit))).scalars().all()


async def matching_subscriptions(session: AsyncSession, outbox_ids: Sequence[int]) -> Sequence[tuple[int, uuid.UUID]]:
    """``(outbox id, subscription id)`` for every active subscription that wants the event: its type
    is subscribed, its area lies in the subscription's subtree, and the owner key is not revoked."""
    event_area = aliased(Area)
    sub_area = aliased(Area)
    stmt = (
        sa.select(OutboxMessage.id, WebhookSubscription.id)
        .join(event_area, event_area.id == OutboxMessage.area_id)
        .join(WebhookSubscription, OutboxMessage.event_type == sa.any_(WebhookSubscription.event_types))
        .join(sub_area, sub_area.id == WebhookSubscription.area_id)
        .outerjoin(ApiKey, ApiKey.id == WebhookSubscription.api_key_id)
        .where(
            OutboxMessage.id.in_(outbox_ids),
            WebhookSubscription.is_active,
            event_area.path.op("<@")(sub_area.path),
            sa.or_(WebhookSubscription.api_key_id.is_(None), ApiKey.revoked_at.is_(None)),
        )
    )
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        # executemany of one compiled INSERT (a multi-row VALUES would be compiled on every call)
        stmt = insert(cast(sa.Table, WebhookDelivery.__table__))
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["subscription_id", "event_id"]), list(rows))


async def mark_processed(session: AsyncSession, outbox_ids: Sequence[int], now: dt.datetime) -> None:
    await session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)).values(processed_at=now))


# --- the delivery queue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this worker, with what it needs to send it."""

    id: uuid.UUID
    lease_token: uuid.UUID
    attempt: int
    subscription_id: uuid.UUID
    url: str
    secrets: list[str]
    event_id: uuid.UUID
    event_type: str
    event_created_at: dt.datetime
    payload: dict[str, Any]


async def claim_deliveries(
    session: AsyncSession, now: dt.datetime, limit: int, lease: dt.timedelta, token: uuid.UUID
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries and count the attempt.

    A delivery is due when it is pending, its time has come, nobody holds a live lease on it, and
    no earlier event of the same aggregate is still on its way to the same subscription (pending,
    or not even fanned out yet): one aggregate's events reach a receiver in order.
    """
    d = WebhookDelivery
    earlier = aliased(WebhookDelivery)
    earlier_pending = (
        sa.select(earlier.id)
        .where(
            earlier.subscription_id == d.subscription_id,
            earlier.aggregate_id == d.aggregate_id,
            earlier.status == PENDING,
            earlier.seq < d.seq,
        )
        .exists()
    )
    earlier_unprocessed = (
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.aggregate_id == d.aggregate_id,
            OutboxMessage.processed_at.is_(None),
            OutboxMessage.id < d.seq,
        )
        .exists()
    )
    due = (
        sa.select(d.id)
        .join(WebhookSubscription, WebhookSubscription.id == d.subscription_id)
        .where(
            d.status == PENDING,
            d.next_attempt_at <= now,
            sa.or_(d.locked_until.is_(None), d.locked_until <= now),
            WebhookSubscription.is_active,
            ~earlier_pending,
            ~earlier_unprocessed,
        )
        .order_by(d.next_attempt_at, d.seq)
        .limit(limit)
        .with_for_update(of=d, skip_locked=True)
        .scalar_subquery()
    )
    leased = (
        await session.execute(
            sa.update(d)
            .where(d.id.in_(due))
            .values(locked_until=now + lease, lease_token=token, attempts=d.attempts + 1, updated_at=now)
            .returning(d.id, d.attempts, d.subscription_id)
        )
    ).all()
    if not leased:
        return []
    subs = {
        s.id: s
        for s in (
            await session.execute(
                sa.select(WebhookSubscription).where(WebhookSubscription.id.in_({r[2] for r in leased}))
            )
        ).scalars()
    }
    rows = {r.id: r for r in (await session.execute(sa.select(d).where(d.id.in_([r[0] for r in leased])))).scalars()}
    out = []
    for delivery_id, attempt, sub_id in leased:
        row, sub = rows[delivery_id], subs[sub_id]
        out.append(
            Claimed(
                id=delivery_id,
                lease_token=token,
                attempt=attempt,
                subscription_id=sub_id,
                url=sub.url,
                secrets=sub.signing_secrets(now),
                event_id=row.event_id,
                event_type=row.event_type,
                event_created_at=row.event_created_at,
                payload=row.payload,
            )
        )
    out.sort(key=lambda c: rows[c.id].seq)
    return out


async def record_attempt(session: AsyncSession, delivery_id: uuid.UUID, **values: Any) -> None:
    await session.execute(sa.insert(WebhookAttempt).values(delivery_id=delivery_id, **values))


async def settle(session: AsyncSession, claimed: Claimed, now: dt.datetime, **values: Any) -> bool:
    """Write the outcome of an attempt, if this worker still holds the lease (False otherwise)."""
    result = await session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claimed.id,
            WebhookDelivery.lease_token == claimed.lease_token,
            WebhookDelivery.status == PENDING,
        )
        .values(locked_until=None, lease_token=None, updated_at=now, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def disable_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, reason: str, now: dt.datetime
) -> None:
    stmt = (
        sa.select(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id, WebhookSubscription.is_active)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    subscription = (await session.execute(stmt)).scalar_one_or_none()
    if subscription is not None:
        subscription.is_active, subscription.disabled_reason, subscription.disabled_at = False, reason, now
        subscription.updated_at = now
        await session.flush()
    await cancel_pending(session, subscription_id, now)


async def next_due_at(session: AsyncSession) -> dt.datetime | None:
    """When the earliest pending delivery becomes due (for the worker's sleep)."""
    return (
        await session.execute(
            sa.select(
                sa.func.min(sa.func.greatest(WebhookDelivery.next_attempt_at, WebhookDelivery.locked_until))
            ).where(WebhookDelivery.status == PENDING)
        )
    ).scalar()


# --- SLA notices ----------------------------------------------------------------------------------


async def claim_sla_notices(session: AsyncSession, state: SlaState, now: dt.datetime, limit: int) -> list[uuid.UUID]:
    """Record up to ``limit`` issues in ``state`` at ``now`` (most urgent first) as notified, once
    per issue, state and deadline; return the ids newly recorded (the ones to notify)."""
    claimed = (
        sa.select(Issue.id, sa.literal(state.value), Issue.due_at)
        .where(sla_condition(state, now))
        .order_by(Issue.due_at)
        .limit(limit)
    )
    stmt = (
        insert(SlaNotification)
        .from_select(["issue_id", "state", "due_at"], claimed)
        .on_conflict_do_nothing()
        .returning(SlaNotification.issue_id)
    )
    return list((await session.execute(stmt)).scalars())


async def issues_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Issue]:
    return (await session.execute(sa.select(Issue).where(Issue.id.in_(ids)))).scalars().all()


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> bool:
    """Lock the delivery's row; False when it is gone (its subscription was deleted)."""
    stmt = sa.select(WebhookDelivery.id).where(WebhookDelivery.id == delivery_id).with_for_update()
    return await session.scalar(stmt) is not None


# --- retention ------------------------------------------------------------------------------------


async def purge_outbox(session: AsyncSession, processed_before: dt.datetime) -> int:
    """Delete outbox rows fanned out before ``processed_before`` (never unprocessed ones).

    A row is created before it is processed: the bound on ``created_at`` lets PostgreSQL skip the
    newer partitions (the older ones are mostly dropped whole by app/kit/partitions.py)."""
    result = await session.execute(
        sa.delete(OutboxMessage).where(
            OutboxMessage.processed_at.is_not(None),
            OutboxMessage.processed_at < processed_before,
            OutboxMessage.created_at < processed_before,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_deliveries(session: AsyncSession, statuses: Sequence[str], updated_before: dt.datetime) -> int:
    """Delete deliveries in one of ``statuses`` (finished ones) last touched before ``updated_before``."""
    result = await session.execute(
        sa.delete(WebhookDelivery).where(
            WebhookDelivery.status.in_(statuses), WebhookDelivery.updated_at < updated_before
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
