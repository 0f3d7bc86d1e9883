"""Issues (诉求 / 工单), their timeline, co-reporters, comments, attachments, feedback tokens,
categories and SLA policies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.naming import conv

from app.db import Base, IdMixin, VersionMixin


class Category(Base):
    """A node of the configurable category tree (诉求分类)."""

    __tablename__ = "issue_categories"

    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("issue_categories.code", ondelete="RESTRICT"), index=True
    )
    sort_order: Mapped[int] = mapped_column(server_default="0", default=0)
    is_active: Mapped[bool] = mapped_column(server_default=sa.true(), default=True)


class SlaPolicyRow(IdMixin, Base):
    """One SLA policy (时限标准); fields left NULL match anything (see ``sla.pick_policy``)."""

    __tablename__ = "sla_policies"

    category: Mapped[str | None] = mapped_column(sa.String(32))
    priority: Mapped[str | None] = mapped_column(sa.String(16))
    kind: Mapped[str | None] = mapped_column(sa.String(16))
    respond_amount: Mapped[float] = mapped_column(sa.Float)
    respond_unit: Mapped[str] = mapped_column(sa.String(16))
    resolve_amount: Mapped[float] = mapped_column(sa.Float)
    resolve_unit: Mapped[str] = mapped_column(sa.String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    # One policy per (category, priority, kind), NULL ("any") included: PostgreSQL ≥ 15.
    __table_args__ = (
        sa.UniqueConstraint(
            "category", "priority", "kind", name=conv("uq_sla_policies_category"), postgresql_nulls_not_distinct=True
        ),
    )


# Statuses of open issues, as in the partial index of migration 0007 (its own copy, in this order).
_OPEN = ("reported", "accepted", "dispatched", "in_progress", "suspended", "resolved", "verified")


class Issue(IdMixin, VersionMixin, Base):
    __tablename__ = "issues"

    number: Mapped[str] = mapped_column(sa.String(48), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, server_default="", default="")
    kind: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.ForeignKey("issue_categories.code", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(sa.String(16))
    priority: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    tier: Mapped[str] = mapped_column(sa.String(16))
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"))
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lng: Mapped[float | None] = mapped_column(sa.Float)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    reporter_name: Mapped[str | None] = mapped_column(sa.String(100))
    reporter_phone: Mapped[str | None] = mapped_column(sa.String(32))
    occurred_at: Mapped[dt.datetime | None] = mapped_column()
    external_ref: Mapped[str | None] = mapped_column(sa.String(100))
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    assignee_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id", ondelete="SET NULL"))
    dispatched_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="SET NULL"))
    # 民情日记 entry this issue was escalated from (the entry links back through its issue_id).
    diary_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("diary_entries.id", ondelete="SET NULL", use_alter=True), index=True
    )

    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    rating: Mapped[str | None] = mapped_column(sa.String(24))
    solved: Mapped[bool | None] = mapped_column()
    evaluated_at: Mapped[dt.datetime | None] = mapped_column()
    supervised_count: Mapped[int] = mapped_column(server_default="0", default=0)
    reopened_count: Mapped[int] = mapped_column(server_default="0", default=0)
    escalated: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)

    # SLA (时限). Windows are snapshotted from the policy so later policy edits do not move them.
    respond_amount: Mapped[float] = mapped_column(sa.Float)
    respond_unit: Mapped[str] = mapped_column(sa.String(16))
    resolve_amount: Mapped[float] = mapped_column(sa.Float)
    resolve_unit: Mapped[str] = mapped_column(sa.String(16))
    resolve_started_at: Mapped[dt.datetime] = mapped_column()
    respond_due_at: Mapped[dt.datetime] = mapped_column()
    resolve_due_at: Mapped[dt.datetime] = mapped_column()
    # A deadline set by the source system (the 12345 hotline's 办理时限): it caps resolve_due_at
    # for the first round of handling; 重办 clears it.
    external_due_at: Mapped[dt.datetime | None] = mapped_column()
    # The deadline currently running and the instant its last 20 % begins (NULL: no clock runs).
    due_at: Mapped[dt.datetime | None] = mapped_column()
    due_soon_at: Mapped[dt.datetime | None] = mapped_column()
    first_responded_at: Mapped[dt.datetime | None] = mapped_column()
    dispatched_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    suspended_since: Mapped[dt.datetime | None] = mapped_column()
    paused_seconds: Mapped[int] = mapped_column(server_default="0", default=0)
    paused_business_seconds: Mapped[float] = mapped_column(sa.Float, server_default="0", default=0.0)
    extension_business_seconds: Mapped[float] = mapped_column(sa.Float, server_default="0", default=0.0)
    pending_extension: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    last_event_seq: Mapped[int] = mapped_column(server_default="0", default=0)
    created_at: Mapped[dt.datetime] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column()

    # The indexes the migrations create (declared here so autogenerate never proposes dropping them).
    __table_args__ = (
        sa.Index("ix_issues_status", "status"),
        sa.Index("ix_issues_assignee_unit_id", "assignee_unit_id"),
        sa.Index("ix_issues_assignee_user_id", "assignee_user_id"),
        sa.Index("ix_issues_external_ref", "external_ref"),
        sa.Index("ix_issues_due_at", "due_at", postgresql_where=sa.text("due_at IS NOT NULL")),
        sa.Index("ix_issues_due_soon_at", "due_soon_at", postgresql_where=sa.text("due_soon_at IS NOT NULL")),
        sa.Index("ix_issues_created_at_id", "created_at", "id"),
        sa.Index("ix_issues_updated_at_id", "updated_at", "id"),
        sa.Index("ix_issues_area_id_created_at", "area_id", "created_at", "id"),
        # Similar-issue search: trigrams of ``title || ' ' || description``, spelled as PostgreSQL
        # reports the expression so that autogenerate sees no difference.
        sa.Index(
            "ix_issues_text_trgm",
            sa.literal_column("((title::text || ' '::text) || description)").label("issue_text"),
            postgresql_using="gin",
            postgresql_ops={"issue_text": "gin_trgm_ops"},
        ),
        sa.Index(
            "ix_issues_open_area",
            "area_id",
            postgresql_include=[
                "due_at",
                "due_soon_at",
                "suspended_since",
                "respond_due_at",
                "first_responded_at",
                "assignee_user_id",
            ],
            postgresql_where=sa.text("status IN (" + ", ".join(f"'{s}'" for s in _OPEN) + ")"),
        ),
        *(
            sa.Index(
                f"ix_issues_area_{done}",
                "area_id",
                done,
                postgresql_include=["created_at", "status"],
                postgresql_where=sa.text(f"{done} IS NOT NULL"),
            )
            for done in ("resolved_at", "first_responded_at")
        ),
        sa.Index("ix_issues_created_by_created_at", "created_by", "created_at"),
        sa.Index(
            "ix_issues_resolved_by_resolved_at",
            "resolved_by",
            "resolved_at",
            postgresql_where=sa.text("resolved_by IS NOT NULL"),
        ),
    )


class IssueEvent(Base):
    """One entry of an issue's timeline; ``seq`` runs 1, 2, 3 … per issue without gaps."""

    __tablename__ = "issue_events"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    issue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(sa.String(24))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_role: Mapped[str] = mapped_column(sa.String(32))
    actor_name: Mapped[str | None] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)
    # Partitioned by month on it (app/kit/partitions.py), so part of the primary key; ``seq`` is
    # unique per issue by the issue row lock (a unique index would need created_at).
    created_at: Mapped[dt.datetime] = mapped_column(primary_key=True)

    __table_args__ = (
        sa.Index("ix_issue_events_issue_id_seq", "issue_id", "seq"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )


class IssueReporter(IdMixin, Base):
    """A further reporter of the same matter (merged duplicates), so 回访 reaches everyone."""

    __tablename__ = "issue_reporters"

    issue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    source_issue_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="SET NULL"))
    name: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[dt.datetime] = mapped_column()


class IssueComment(IdMixin, Base):
    __tablename__ = "issue_comments"

    issue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column()
    author_role: Mapped[str] = mapped_column(sa.String(32))
    author_name: Mapped[str | None] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (sa.Index("ix_issue_comments_issue_id_created_at", "issue_id", "created_at", "id"),)


class IssueAttachment(IdMixin, Base):
    __tablename__ = "issue_attachments"

    issue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column()


class FeedbackToken(IdMixin, Base):
    """A one-time 回访 link for the resident; only the SHA-256 of the token is stored."""

    __tablename__ = "feedback_tokens"

    issue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()


class NumberCounter(Base):
    """Daily sequence per number prefix (``ZZ-20261123-000123``)."""

    __tablename__ = "issue_number_counters"

    prefix: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    last_value: Mapped[int] = mapped_column()


def _register_enums() -> None:
    from app.issues import workflow as wf
    from app.issues.schemas import AttachmentKind
    from app.issues.sla import SLA_STATE_LABELS, UNIT_LABELS, SlaState, Unit
    from app.kit.labels import labels, register

    register("issue_status", wf.Status, wf.STATUS_LABELS)
    register("issue_action", wf.Action, wf.ACTION_LABELS)
    register("issue_tier", wf.Tier, wf.TIER_LABELS)
    register("issue_priority", wf.Priority, wf.PRIORITY_LABELS)
    register("issue_kind", wf.Kind, wf.KIND_LABELS)
    register("issue_channel", wf.Channel, wf.CHANNEL_LABELS)
    register("issue_outcome", wf.Outcome, wf.OUTCOME_LABELS)
    register("rating", wf.Rating, wf.RATING_LABELS)
    register("return_reason", wf.ReturnReason, wf.RETURN_REASON_LABELS)
    register("reject_reason", wf.RejectReason, wf.REJECT_REASON_LABELS)
    register("sla_state", SlaState, SLA_STATE_LABELS)
    register("attachment_kind", AttachmentKind, labels(AttachmentKind))
    register("sla_unit", Unit, UNIT_LABELS)


_register_enums()
