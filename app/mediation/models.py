"""矛盾纠纷调解: disputes, their parties, mediation sessions and follow-up visits (回访)."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class DisputeType(LabelledEnum):
    NEIGHBOUR = "neighbour", "邻里纠纷"
    FAMILY = "family", "婚姻家庭纠纷"
    PROPERTY = "property", "物业纠纷"
    LAND = "land", "土地纠纷"
    LABOUR = "labour", "劳资纠纷"
    OTHER = "other", "其他纠纷"


class RiskLevel(LabelledEnum):
    GREEN = "green", "绿色"
    YELLOW = "yellow", "黄色"
    ORANGE = "orange", "橙色"
    RED = "red", "红色"


class DisputeStatus(LabelledEnum):
    REGISTERED = "registered", "已排查登记"
    MEDIATING = "mediating", "调解中"
    AGREEMENT = "agreement", "调解成功"
    FAILED = "failed", "调解失败"
    REFERRED = "referred", "已转交"
    STABLE = "stable", "回访稳定"


class PartyRole(LabelledEnum):
    APPLICANT = "applicant", "申请人"
    RESPONDENT = "respondent", "被申请人"
    OTHER = "other", "其他当事人"


class ReferredTo(LabelledEnum):
    JUDICIAL = "judicial", "司法途径"
    PETITION = "petition", "信访途径"


class Dispute(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "disputes"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    type: Mapped[str] = mapped_column(sa.String(16))
    risk_level: Mapped[str] = mapped_column(sa.String(8))
    risk_reason: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), server_default="registered")
    registered_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    mediator_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    agreement_text: Mapped[str | None] = mapped_column(sa.Text)
    referred_to: Mapped[str | None] = mapped_column(sa.String(16))
    outcome_at: Mapped[dt.datetime | None] = mapped_column()
    issue_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("issues.id", ondelete="SET NULL", use_alter=True), index=True
    )

    __table_args__ = (
        sa.CheckConstraint("type in ('neighbour','family','property','land','labour','other')", name="type_known"),
        sa.CheckConstraint("risk_level in ('green','yellow','orange','red')", name="risk_level_known"),
        sa.CheckConstraint(
            "status in ('registered','mediating','agreement','failed','referred','stable')", name="status_known"
        ),
        sa.Index("ix_disputes_created_at_id", "created_at", "id"),
    )


class DisputeParty(IdMixin, Base):
    __tablename__ = "dispute_parties"

    dispute_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(16))
    phone_enc: Mapped[str | None] = mapped_column(sa.Text)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    __table_args__ = (sa.CheckConstraint("role in ('applicant','respondent','other')", name="role_known"),)


class MediationSession(IdMixin, Base):
    __tablename__ = "mediation_sessions"

    dispute_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    held_at: Mapped[dt.datetime] = mapped_column()
    place: Mapped[str] = mapped_column(sa.String(200))
    mediator_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    attendees: Mapped[list[str]] = mapped_column(ARRAY(sa.String(100)), server_default="{}")
    notes: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())


class FollowUp(IdMixin, Base):
    __tablename__ = "dispute_follow_ups"

    dispute_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    visited_on: Mapped[dt.date] = mapped_column(sa.Date)
    stable: Mapped[bool] = mapped_column()
    notes: Mapped[str | None] = mapped_column(sa.Text)
    visited_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())


register_enum("dispute_type", DisputeType, labels(DisputeType))
register_enum("risk_level", RiskLevel, labels(RiskLevel))
register_enum("dispute_status", DisputeStatus, labels(DisputeStatus))
register_enum("party_role", PartyRole, labels(PartyRole))
register_enum("referred_to", ReferredTo, labels(ReferredTo))
