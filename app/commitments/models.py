"""一年10件实事: a community's annual list of commitments, its items, the activities done for them
(民事民办) and the residents' evaluations (民事民评).

Progress is read from kept aggregates: each item keeps ``done_count`` (activities that count
towards its schedule), its milestones' ``done_on`` and its rating counts, all maintained in the
transaction that records an activity or an evaluation, so a public list is read without scanning
activities.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.commitments.workflow import ListStatus
from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class Category(LabelledEnum):
    GOVERNANCE = "governance", "小区治理类"
    CARE = "care", "帮扶关爱类"
    SERVICE = "service", "服务活动类"


CATEGORY_LABELS = labels(Category)


class EvaluationSource(StrEnum):
    STAFF = "staff"
    RESIDENT = "resident"


class CommitmentList(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "commitment_lists"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    title: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), server_default="draft")
    returned_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    published_at: Mapped[dt.datetime | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        sa.UniqueConstraint("area_id", "year", name="uq_commitment_lists_area_year"),
        sa.CheckConstraint(
            "status in ('draft','submitted','returned','approved','published','closed')", name="status_known"
        ),
        sa.CheckConstraint("year between 2000 and 2999", name="year_range"),
        sa.Index("ix_commitment_lists_created_at_id", "created_at", "id"),
    )


class CommitmentItem(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "commitment_items"

    list_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("commitment_lists.id", ondelete="CASCADE"))
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    position: Mapped[int] = mapped_column(sa.SmallInteger)
    category: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, server_default="")
    responsible: Mapped[str | None] = mapped_column(sa.String(200))
    budget_yuan: Mapped[int | None] = mapped_column(sa.BigInteger)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]", default=list)
    # Kept aggregates (maintained with each activity and evaluation)
    done_count: Mapped[int] = mapped_column(server_default="0", default=0)
    last_done_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    rated_satisfied: Mapped[int] = mapped_column(server_default="0", default=0)
    rated_basically: Mapped[int] = mapped_column(server_default="0", default=0)
    rated_dissatisfied: Mapped[int] = mapped_column(server_default="0", default=0)
    # The consultation decision (民主协商) that created the item, if one did (its row links back).
    decision_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Occurrences already announced as behind (``commitment.behind``), so each is announced once.
    behind_notified: Mapped[int] = mapped_column(server_default="0", default=0)

    __table_args__ = (
        sa.UniqueConstraint("list_id", "position", name="uq_commitment_items_list_position"),
        sa.CheckConstraint("category in ('governance','care','service')", name="category_known"),
        sa.CheckConstraint("done_count >= 0", name="done_count_nonnegative"),
    )


class CommitmentActivity(IdMixin, Base):
    __tablename__ = "commitment_activities"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    held_at: Mapped[dt.datetime] = mapped_column()
    held_on: Mapped[dt.date] = mapped_column(sa.Date)
    place: Mapped[str] = mapped_column(sa.String(200))
    participants: Mapped[int] = mapped_column(server_default="0")
    volunteers: Mapped[int] = mapped_column(server_default="0")
    notes: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_commitment_activities_held_at_id", "held_at", "id"),)


def _link_key(table: str, ondelete: str, *, index: bool | None = None) -> Mapped[uuid.UUID]:
    """Half of a link table's primary key: the id of a row of ``table``."""
    return mapped_column(sa.ForeignKey(f"{table}.id", ondelete=ondelete), primary_key=True, index=index)


class CommitmentActivityItem(Base):
    """An activity serving an item; ``counted`` when it counts towards the item's schedule."""

    __tablename__ = "commitment_activity_items"

    activity_id: Mapped[uuid.UUID] = _link_key("commitment_activities", "CASCADE")
    item_id: Mapped[uuid.UUID] = _link_key("commitment_items", "CASCADE", index=True)
    counted: Mapped[bool] = mapped_column()


class CommitmentItemProposal(Base):
    """A proposal (民事民提) that led to a commitment item; an item may answer several proposals."""

    __tablename__ = "commitment_item_proposals"

    item_id: Mapped[uuid.UUID] = _link_key("commitment_items", "CASCADE")
    proposal_id: Mapped[uuid.UUID] = _link_key("proposals", "RESTRICT", index=True)


class CommitmentActivityPhoto(IdMixin, Base):
    """A photo of an activity (活动照片), its bytes in the attachments storage (app/kit/storage.py)."""

    __tablename__ = "commitment_activity_photos"

    activity_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("commitment_activities.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime] = mapped_column()


class CommitmentEvaluation(IdMixin, Base):
    __tablename__ = "commitment_evaluations"

    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("commitment_items.id", ondelete="CASCADE"), index=True)
    rating: Mapped[str] = mapped_column(sa.String(24))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(16))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint("rating in ('satisfied','basically_satisfied','dissatisfied')", name="rating_known"),
        sa.CheckConstraint("source in ('staff','resident')", name="source_known"),
    )


class CommitmentFeedbackToken(IdMixin, Base):
    """A resident's one-time evaluation link for one item (stored as a hash)."""

    __tablename__ = "commitment_feedback_tokens"

    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("commitment_items.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())


register_enum("commitment_category", Category, CATEGORY_LABELS)
register_enum("commitment_list_status", ListStatus, labels(ListStatus))
