"""Webhook subscriptions (回调订阅), their deliveries (投递) and each attempt (投递记录)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.naming import conv

from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class EventType(LabelledEnum):
    """Events a subscription may ask for; the outbox may hold others, which nobody receives."""

    ISSUE_CREATED = "issue.created", "诉求上报"
    ISSUE_DISPATCHED = "issue.dispatched", "已派单"
    ISSUE_RESOLVED = "issue.resolved", "已办结"
    ISSUE_CLOSED = "issue.closed", "已结案"
    ISSUE_REOPENED = "issue.reopened", "重办"
    ISSUE_ESCALATED = "issue.escalated", "上报上级"
    ISSUE_SUPERVISED = "issue.supervised", "督办"
    ISSUE_DUE_SOON = "issue.due_soon", "临期预警"
    ISSUE_OVERDUE = "issue.overdue", "超期"
    DISPUTE_RISK_RAISED = "dispute.risk_raised", "纠纷风险升级"
    SERVICE_RECORD_VERIFIED = "service_record.verified", "志愿服务已核实"
    WISH_CONFIRMED = "wish.confirmed", "微心愿已达成"
    WISH_CLAIM_EXPIRED = "wish.claim_expired", "微心愿认领超期"
    COMMITMENT_BEHIND = "commitment.behind", "实事进度滞后"
    COMMITMENT_DONE = "commitment.done", "实事已完成"
    COMMITMENT_LIST_PUBLISHED = "commitment_list.published", "实事清单公示"
    COMMITMENT_LIST_CLOSED = "commitment_list.closed", "实事清单年终结账"
    CONSULTATION_DECIDED = "consultation.decided", "民主协商决议"


class DeliveryStatus(LabelledEnum):
    PENDING = "pending", "待投递"  # also while retrying
    DELIVERED = "delivered", "已送达"
    DEAD = "dead", "投递失败"  # retries exhausted
    CANCELLED = "cancelled", "已取消"  # subscription disabled


class WebhookSubscription(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(sa.String(2000))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(sa.String(64)))
    # Events of this area's subtree only.
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    description: Mapped[str | None] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(sa.String(128))
    # After a rotation, messages carry a signature with each secret until this one expires.
    previous_secret: Mapped[str | None] = mapped_column(sa.String(128))
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(server_default=sa.true(), default=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(200))
    disabled_at: Mapped[dt.datetime | None] = mapped_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    def signing_secrets(self, now: dt.datetime) -> list[str]:
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """One event for one subscription. ``seq`` is the outbox id: the order of an aggregate's events."""

    __tablename__ = "webhook_deliveries"

    subscription_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    event_id: Mapped[uuid.UUID] = mapped_column()
    event_type: Mapped[str] = mapped_column(sa.String(64))
    aggregate_type: Mapped[str] = mapped_column(sa.String(32))
    aggregate_id: Mapped[uuid.UUID] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    event_created_at: Mapped[dt.datetime] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(16), server_default="pending", default=DeliveryStatus.PENDING.value)
    # Attempts since the delivery was (re)queued; counted when claimed, so a crash counts too.
    attempts: Mapped[int] = mapped_column(server_default="0", default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column()
    # Lease of the worker sending it; another worker takes over once it has expired.
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    lease_token: Mapped[uuid.UUID | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id", name=conv("uq_webhook_deliveries_subscription_id")),
        sa.CheckConstraint("status in ('pending','delivered','dead','cancelled')", name="status_known"),
        sa.Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
        sa.Index(
            "ix_webhook_deliveries_pending_aggregate",
            "subscription_id",
            "aggregate_id",
            "seq",
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_webhook_deliveries_listing", "subscription_id", "created_at", "id"),
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    # Partitioned by month on it (app/kit/partitions.py), so part of the primary key.
    started_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    duration_ms: Mapped[int] = mapped_column()
    status_code: Mapped[int | None] = mapped_column()
    response_excerpt: Mapped[str | None] = mapped_column(sa.String(1000))
    error: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (
        sa.Index("ix_webhook_attempts_delivery_id", "delivery_id", "id"),
        {"postgresql_partition_by": "RANGE (started_at)"},
    )


class SlaNotification(Base):
    """``issue.due_soon`` / ``issue.overdue`` already emitted for this issue, state and deadline."""

    __tablename__ = "sla_notifications"

    issue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    due_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())


register_enum("webhook_event_type", EventType, labels(EventType))
register_enum("webhook_delivery_status", DeliveryStatus, labels(DeliveryStatus))
