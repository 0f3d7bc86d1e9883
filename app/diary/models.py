"""民情日记: what a grid worker writes down on a visit or patrol."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class DiaryKind(LabelledEnum):
    SITUATION = "situation", "民情"
    COMPLAINT = "complaint", "民声"
    OPINION = "opinion", "民意"


class DiaryStatus(LabelledEnum):
    OPEN = "open", "待处理"
    ANSWERED = "answered", "已答复"
    RESOLVED = "resolved", "已解决"
    ESCALATED = "escalated", "已转诉求"


class DiaryEntry(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "diary_entries"

    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    household_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("residents.id", ondelete="RESTRICT"), index=True
    )
    visited_at: Mapped[dt.datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text)
    measures: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(sa.String(32)), server_default="{}")
    status: Mapped[str] = mapped_column(sa.String(16), server_default="open")
    # Set when the entry is escalated into an issue (诉求).
    issue_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("issues.id", ondelete="SET NULL", use_alter=True), index=True
    )

    __table_args__ = (
        sa.CheckConstraint("kind in ('situation','complaint','opinion')", name="kind_known"),
        sa.CheckConstraint("status in ('open','answered','resolved','escalated')", name="status_known"),
        sa.Index("ix_diary_entries_created_at_id", "created_at", "id"),
        sa.Index("ix_diary_entries_updated_at", "updated_at"),
        sa.Index("ix_diary_entries_author_id_visited_at", "author_id", "visited_at"),
        sa.Index(
            "ix_diary_entries_content_trgm",
            "content",
            postgresql_using="gin",
            postgresql_ops={"content": "gin_trgm_ops"},
        ),
    )


register_enum("diary_kind", DiaryKind, labels(DiaryKind))
register_enum("diary_status", DiaryStatus, labels(DiaryStatus))
