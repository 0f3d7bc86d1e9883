"""The audit log (审计日志): append-only, enforced by a database trigger."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin


class AuditEntry(IdMixin, Base):
    """Who did what to which object, why, and in which request. Rows are never updated or deleted."""

    __tablename__ = "audit_log"

    # Partitioned by month on it (app/kit/partitions.py), so part of the primary key.
    at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now(), primary_key=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_username: Mapped[str] = mapped_column(sa.String(64))
    actor_role: Mapped[str] = mapped_column(sa.String(32))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[uuid.UUID] = mapped_column()
    # The area the object belongs to, so the log can be read through the usual scope filter.
    area_id: Mapped[uuid.UUID | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(sa.Text)
    request_id: Mapped[str | None] = mapped_column(sa.String(128))

    __table_args__ = (
        sa.Index("ix_audit_log_at_id", "at", "id"),
        sa.Index("ix_audit_log_object", "object_type", "object_id"),
        sa.Index("ix_audit_log_actor_id", "actor_id"),
        {"postgresql_partition_by": "RANGE (at)"},
    )
