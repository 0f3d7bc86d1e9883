"""Tables of the 12345 hotline integration (热线工单对接)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin


class HotlineCategoryMap(Base):
    """The hotline's category codes (热线分类) mapped onto our categories; admin-editable."""

    __tablename__ = "hotline_category_map"

    external_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    external_name: Mapped[str | None] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.ForeignKey("issue_categories.code", ondelete="RESTRICT"))
    updated_at: Mapped[dt.datetime] = mapped_column()


class HotlineUnmappedCode(Base):
    """Codes that arrived without a mapping (their tickets went to ``other``), counted for the admin."""

    __tablename__ = "hotline_unmapped_codes"

    external_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    seen_count: Mapped[int] = mapped_column()
    first_seen_at: Mapped[dt.datetime] = mapped_column()
    last_seen_at: Mapped[dt.datetime] = mapped_column()


class HotlineTicket(IdMixin, Base):
    """One hotline ticket (工单) and the issue it became; unique per integration account."""

    __tablename__ = "hotline_tickets"

    integration_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    ticket_number: Mapped[str] = mapped_column(sa.String(64))
    issue_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), unique=True)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="SET NULL"))
    external_category: Mapped[str] = mapped_column(sa.String(64))
    urgency: Mapped[str] = mapped_column(sa.String(16))
    received_at: Mapped[dt.datetime] = mapped_column()
    hotline_due_at: Mapped[dt.datetime | None] = mapped_column()
    routed_by: Mapped[str | None] = mapped_column(sa.String(16))
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]", default=list)
    created_at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (sa.UniqueConstraint("integration_user_id", "ticket_number"),)


class HotlineMessage(Base):
    """Every accepted inbound delivery, once: a retried delivery (same ``webhook-id``) is a no-op."""

    __tablename__ = "hotline_messages"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(16))
    ticket_number: Mapped[str | None] = mapped_column(sa.String(64))
    body_sha256: Mapped[str] = mapped_column(sa.String(64))
    issue_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="SET NULL"))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)
    # Partitioned by month on it (app/kit/partitions.py), so part of the primary key; a message id
    # is unique per key by the repository's advisory lock (a unique index would need received_at).
    received_at: Mapped[dt.datetime] = mapped_column(primary_key=True)

    __table_args__ = (
        sa.Index("ix_hotline_messages_api_key_id_webhook_id", "api_key_id", "webhook_id"),
        sa.CheckConstraint("kind in ('ticket','update')", name="kind_known"),
        sa.Index("ix_hotline_messages_received_at", "received_at"),
        {"postgresql_partition_by": "RANGE (received_at)"},
    )
