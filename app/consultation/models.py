"""民事民提 (residents' proposals) and 民主协商 meetings (民事民议 · 民事民决)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.consultation.workflow import DecisionOutcome, Majority, ProposalStatus
from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class ProposalSource(LabelledEnum):
    STAFF = "staff", "网格员录入"
    PUBLIC = "public", "居民在线提交"
    DIARY = "diary", "民情日记"
    ISSUE = "issue", "居民建议工单"


class ParticipantRole(LabelledEnum):
    RESIDENT = "resident_rep", "居民代表"
    PARTY_MEMBER = "party_member_rep", "党员代表"
    PROPERTY = "property", "物业"
    MERCHANT = "merchant", "商户"
    UNIT = "unit_rep", "驻区单位"
    OTHER = "other", "其他"


class Proposal(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "proposals"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(16))
    proposer_name: Mapped[str | None] = mapped_column(sa.String(100))
    supporters: Mapped[int] = mapped_column(server_default="1", default=1)
    status: Mapped[str] = mapped_column(sa.String(16), server_default="open")
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("proposals.id", ondelete="RESTRICT"))
    diary_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("diary_entries.id", ondelete="SET NULL"), index=True
    )
    issue_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))

    __table_args__ = (
        sa.CheckConstraint("status in ('open','merged','on_agenda','adopted','declined')", name="status_known"),
        sa.CheckConstraint("source in ('staff','public','diary','issue')", name="source_known"),
        sa.Index("ix_proposals_created_at_id", "created_at", "id"),
        sa.Index(
            "ix_proposals_text_trgm",
            sa.literal_column("((title::text || ' '::text) || content)").label("proposal_text"),
            postgresql_using="gin",
            postgresql_ops={"proposal_text": "gin_trgm_ops"},
        ),
    )


class Consultation(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "consultations"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    held_at: Mapped[dt.datetime] = mapped_column()
    place: Mapped[str] = mapped_column(sa.String(200))
    convener: Mapped[str] = mapped_column(sa.String(100))
    invited: Mapped[int] = mapped_column()
    quorum_numerator: Mapped[int] = mapped_column(sa.SmallInteger, server_default="2", default=2)
    quorum_denominator: Mapped[int] = mapped_column(sa.SmallInteger, server_default="3", default=3)
    majority: Mapped[str] = mapped_column(sa.String(16), server_default="more_than_half")
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]", default=list)
    minutes: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))

    __table_args__ = (
        sa.CheckConstraint("majority in ('more_than_half','two_thirds')", name="majority_known"),
        sa.CheckConstraint("quorum_numerator between 1 and quorum_denominator", name="quorum_fraction"),
        sa.Index("ix_consultations_created_at_id", "created_at", "id"),
    )


class AgendaItem(IdMixin, Base):
    __tablename__ = "consultation_agenda_items"

    consultation_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("consultations.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(sa.SmallInteger)
    title: Mapped[str] = mapped_column(sa.String(200))
    options: Mapped[list[str]] = mapped_column(JSONB)
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("proposals.id", ondelete="RESTRICT"), index=True
    )
    issue_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="SET NULL"))
    commitment_item_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("commitment_items.id", ondelete="SET NULL")
    )

    __table_args__ = (sa.UniqueConstraint("consultation_id", "position", name="uq_consultation_agenda_position"),)


class Decision(IdMixin, Base):
    """A decision on an agenda item, never edited: a correction is a new row superseding it."""

    __tablename__ = "consultation_decisions"

    agenda_item_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("consultation_agenda_items.id", ondelete="CASCADE"), index=True
    )
    present: Mapped[int] = mapped_column()
    votes: Mapped[list[int]] = mapped_column(JSONB)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    chosen_option: Mapped[int | None] = mapped_column(sa.SmallInteger)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("consultation_decisions.id", ondelete="RESTRICT"), unique=True
    )
    commitment_item_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("commitment_items.id", ondelete="SET NULL")
    )
    issue_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="SET NULL"))
    decided_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (sa.CheckConstraint("outcome in ('adopted','rejected','no_quorum')", name="outcome_known"),)


register_enum("proposal_status", ProposalStatus, labels(ProposalStatus))
register_enum("proposal_source", ProposalSource, labels(ProposalSource))
register_enum("participant_role", ParticipantRole, labels(ParticipantRole))
register_enum("decision_outcome", DecisionOutcome, labels(DecisionOutcome))
register_enum("majority_rule", Majority, labels(Majority))
