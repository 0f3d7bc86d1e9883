"""Volunteers (志愿者) and community life around them: the points and hours ledger, the charity shop
(爱心超市), the time bank (幸福交换站), small wishes (微心愿) and help pairings (帮扶对子).

The ledger is double-entry and append-only: a posting (``ledger_postings``) groups entries
(``ledger_entries``) whose amounts sum to zero per unit (points, minutes of service); an account's
``balance`` is kept by a trigger as the sum of its entries, and a CHECK keeps every account but a
community's source accounts at or above zero. Updates and deletes of postings and entries are
refused by triggers, like the audit log's; a correction is a reversal posting.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class VolunteerKind(LabelledEnum):
    RESIDENT = "resident", "居民志愿者"
    PARTY_MEMBER = "party_member", "党员"
    CADRE = "cadre", "干部"
    STUDENT = "student", "学生"
    TEAM = "team", "志愿服务队"
    UNIT = "unit", "共建单位"


class PartyRegistration(LabelledEnum):
    IN_SERVICE = "in_service", "在职党员"  # 在职党员到社区报到
    DOUBLE = "double", "双报到"  # unit and member
    LOCAL = "local", "社区党员"


class RecordStatus(LabelledEnum):
    SUBMITTED = "submitted", "待核实"
    VERIFIED = "verified", "已核实"
    REJECTED = "rejected", "未通过"


class LedgerUnit(LabelledEnum):
    POINTS = "points", "积分"
    MINUTES = "minutes", "服务时长(分钟)"


class AccountKind(LabelledEnum):
    VOLUNTEER = "volunteer", "志愿者账户"  # a volunteer's points or hours
    SOURCE = "source", "社区发放账户"  # a community's issuing account: the only one that goes below zero
    SHOP = "shop", "爱心超市账户"  # points taken in by the 爱心超市
    ESCROW = "escrow", "时间银行托管账户"  # hours set aside by time-bank requests


class PostingKind(LabelledEnum):
    SERVICE = "service", "志愿服务"
    GRANT = "grant", "奖励"
    REDEMPTION = "redemption", "爱心超市兑换"
    WISH = "wish", "微心愿"
    TIMEBANK_HOLD = "timebank_hold", "时间银行冻结"
    TIMEBANK_PAY = "timebank_pay", "时间银行支付"
    TIMEBANK_RELEASE = "timebank_release", "时间银行退回"
    REVERSAL = "reversal", "冲正"


class WishStatus(LabelledEnum):
    OPEN = "open", "待认领"
    CLAIMED = "claimed", "已认领"
    FULFILLED = "fulfilled", "已送达"
    CONFIRMED = "confirmed", "已确认"
    CANCELLED = "cancelled", "已撤销"


class WishCategory(LabelledEnum):
    DAILY = "daily", "生活用品"
    STUDY = "study", "学习用品"
    HEALTH = "health", "健康医疗"
    COMPANY = "company", "陪伴服务"
    OTHER = "other", "其他"


class Frequency(LabelledEnum):
    WEEKLY = "weekly", "每周"
    MONTHLY = "monthly", "每月"
    FESTIVAL = "festival", "节日"


class VisitMode(LabelledEnum):
    HOME = "home", "入户"
    PHONE = "phone", "电话"


class TimebankStatus(LabelledEnum):
    OPEN = "open", "待认领"
    CLAIMED = "claimed", "服务中"
    DONE = "done", "已完成"
    CANCELLED = "cancelled", "已撤销"


WISH_CATEGORY_LABELS = labels(WishCategory)


def _known(column: str, enum: type[StrEnum]) -> str:
    return f"{column} in ({','.join(repr(m.value) for m in enum)})"


class Volunteer(IdMixin, TimestampMixin, VersionMixin, Base):
    """One entry of the volunteer registry (and of the 人才信息库 through its talent category)."""

    __tablename__ = "volunteers"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("residents.id", ondelete="RESTRICT"), index=True
    )
    party_registration: Mapped[str | None] = mapped_column(sa.String(16))
    phone_enc: Mapped[str | None] = mapped_column(sa.Text)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    skills: Mapped[list[str]] = mapped_column(ARRAY(sa.String(50)), server_default="{}")
    talent_category: Mapped[str | None] = mapped_column(sa.String(50))
    availability: Mapped[str | None] = mapped_column(sa.String(200))
    consent_at: Mapped[dt.datetime] = mapped_column()
    is_active: Mapped[bool] = mapped_column(server_default=sa.true())

    __table_args__ = (
        sa.CheckConstraint(_known("kind", VolunteerKind), name="kind_known"),
        sa.CheckConstraint(
            f"party_registration is null or {_known('party_registration', PartyRegistration)}",
            name="party_registration_known",
        ),
        sa.Index("ix_volunteers_created_at_id", "created_at", "id"),
    )


class VolunteerRules(Base):
    """Per-area ledger rules; an area without its own row uses its nearest ancestor's."""

    __tablename__ = "volunteer_rules"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    points_per_hour: Mapped[dict[str, Any]] = mapped_column(JSONB)
    daily_cap_minutes: Mapped[int] = mapped_column()
    wish_claim_days: Mapped[int] = mapped_column()
    wish_points: Mapped[int] = mapped_column()
    points_expiry_days: Mapped[int | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())


class LedgerAccount(IdMixin, Base):
    __tablename__ = "ledger_accounts"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    volunteer_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("volunteers.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    unit: Mapped[str] = mapped_column(sa.String(8))
    # "volunteer:<id>" or "<kind>:<area id>": one account per owner and unit.
    owner_key: Mapped[str] = mapped_column(sa.String(80))
    balance: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")

    __table_args__ = (
        sa.UniqueConstraint("owner_key", "unit"),
        sa.CheckConstraint(_known("kind", AccountKind), name="kind_known"),
        sa.CheckConstraint(_known("unit", LedgerUnit), name="unit_known"),
        sa.CheckConstraint("kind = 'source' or balance >= 0", name="balance_not_negative"),
    )


class LedgerPosting(IdMixin, Base):
    __tablename__ = "ledger_postings"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    # What the posting is for ("service_record:<id>", "redemption:<id>" …): one posting per source.
    source_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("ledger_postings.id", ondelete="RESTRICT"), unique=True
    )
    memo: Mapped[str | None] = mapped_column(sa.Text)
    posted_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    posted_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint(_known("kind", PostingKind), name="kind_known"),
        sa.Index("ix_ledger_postings_posted_at_id", "posted_at", "id"),
    )


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(always=False), primary_key=True)
    posting_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("ledger_postings.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True)
    unit: Mapped[str] = mapped_column(sa.String(8))
    amount: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.CheckConstraint("amount <> 0", name="amount_not_zero"),)


class ServiceRecord(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "service_records"

    volunteer_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("volunteers.id", ondelete="RESTRICT"), index=True)
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    activity_type: Mapped[str] = mapped_column(sa.String(32))
    activity: Mapped[str] = mapped_column(sa.String(200))
    started_at: Mapped[dt.datetime] = mapped_column()
    ended_at: Mapped[dt.datetime] = mapped_column()
    minutes: Mapped[int] = mapped_column()
    served_on: Mapped[dt.date] = mapped_column(sa.Date)  # the Asia/Shanghai day it started
    status: Mapped[str] = mapped_column(sa.String(16), server_default="submitted")
    wish_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("wishes.id", ondelete="RESTRICT"))
    pairing_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("pairings.id", ondelete="RESTRICT"))
    submitted_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    verified_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    verified_at: Mapped[dt.datetime | None] = mapped_column()
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    posting_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("ledger_postings.id", ondelete="RESTRICT"))

    __table_args__ = (
        sa.CheckConstraint(_known("status", RecordStatus), name="status_known"),
        sa.CheckConstraint("ended_at > started_at", name="ends_after_start"),
        sa.CheckConstraint("minutes > 0", name="minutes_positive"),
        sa.Index("ix_service_records_volunteer_day", "volunteer_id", "served_on"),
        sa.Index("ix_service_records_created_at_id", "created_at", "id"),
    )


class ShopItem(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "shop_items"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    points: Mapped[int] = mapped_column()
    stock: Mapped[int] = mapped_column(server_default="0")
    is_active: Mapped[bool] = mapped_column(server_default=sa.true())

    __table_args__ = (
        sa.CheckConstraint("points > 0", name="points_positive"),
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
        sa.Index("ix_shop_items_created_at_id", "created_at", "id"),
    )


class ShopDonation(IdMixin, Base):
    __tablename__ = "shop_donations"

    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shop_items.id", ondelete="RESTRICT"), index=True)
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    donor: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[int] = mapped_column()
    recorded_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)


class ShopRedemption(IdMixin, Base):
    __tablename__ = "shop_redemptions"

    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shop_items.id", ondelete="RESTRICT"), index=True)
    volunteer_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("volunteers.id", ondelete="RESTRICT"), index=True)
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column()
    points: Mapped[int] = mapped_column()
    posting_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("ledger_postings.id", ondelete="RESTRICT"))
    redeemed_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    redeemed_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)


class Wish(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "wishes"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("residents.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    details: Mapped[str | None] = mapped_column(sa.Text)
    category: Mapped[str] = mapped_column(sa.String(16))
    budget_cap: Mapped[int] = mapped_column()  # yuan
    status: Mapped[str] = mapped_column(sa.String(16), server_default="open")
    registered_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    claimer_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("volunteers.id", ondelete="RESTRICT"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column()
    expired_claims: Mapped[int] = mapped_column(server_default="0")
    fulfilled_at: Mapped[dt.datetime | None] = mapped_column()
    proof_photo: Mapped[str | None] = mapped_column(sa.String(500))
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(16))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column()
    posting_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("ledger_postings.id", ondelete="RESTRICT"))

    __table_args__ = (
        sa.CheckConstraint(_known("status", WishStatus), name="status_known"),
        sa.CheckConstraint(_known("category", WishCategory), name="category_known"),
        sa.CheckConstraint("budget_cap > 0", name="budget_positive"),
        sa.Index("ix_wishes_created_at_id", "created_at", "id"),
        sa.Index("ix_wishes_claim_expires_at", "claim_expires_at", postgresql_where=sa.text("status = 'claimed'")),
    )


class Pairing(IdMixin, TimestampMixin, VersionMixin, Base):
    """帮扶对子: a helper (Party member, cadre, unit …) paired with a household, with a visit duty."""

    __tablename__ = "pairings"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    helper_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("volunteers.id", ondelete="RESTRICT"), index=True)
    frequency: Mapped[str] = mapped_column(sa.String(16))
    started_on: Mapped[dt.date] = mapped_column(sa.Date)
    ended_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    last_visit_at: Mapped[dt.datetime | None] = mapped_column()
    visits: Mapped[int] = mapped_column(server_default="0")

    __table_args__ = (
        sa.CheckConstraint(_known("frequency", Frequency), name="frequency_known"),
        sa.UniqueConstraint("household_id", "helper_id"),
        sa.Index("ix_pairings_created_at_id", "created_at", "id"),
    )


class PairingVisit(IdMixin, Base):
    __tablename__ = "pairing_visits"

    pairing_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("pairings.id", ondelete="RESTRICT"), index=True)
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    visited_at: Mapped[dt.datetime] = mapped_column()
    mode: Mapped[str] = mapped_column(sa.String(8))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    diary_entry_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("diary_entries.id", ondelete="SET NULL"))
    issue_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="SET NULL"))
    recorded_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint(_known("mode", VisitMode), name="mode_known"),
        sa.Index("ix_pairing_visits_pairing_visited", "pairing_id", "visited_at"),
    )


class TimebankRequest(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "timebank_requests"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    requester_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("volunteers.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    minutes: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(16), server_default="open")
    claimer_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("volunteers.id", ondelete="RESTRICT"))
    hold_posting_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("ledger_postings.id", ondelete="RESTRICT"))
    settle_posting_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("ledger_postings.id", ondelete="RESTRICT")
    )

    __table_args__ = (
        sa.CheckConstraint(_known("status", TimebankStatus), name="status_known"),
        sa.CheckConstraint("minutes > 0", name="minutes_positive"),
        sa.Index("ix_timebank_requests_created_at_id", "created_at", "id"),
    )


register_enum("volunteer_kind", VolunteerKind, labels(VolunteerKind))
register_enum("posting_kind", PostingKind, labels(PostingKind))
register_enum("ledger_unit", LedgerUnit, labels(LedgerUnit))
register_enum("ledger_account_kind", AccountKind, labels(AccountKind))
register_enum("party_registration", PartyRegistration, labels(PartyRegistration))
register_enum("service_record_status", RecordStatus, labels(RecordStatus))
register_enum("wish_status", WishStatus, labels(WishStatus))
register_enum("wish_category", WishCategory, WISH_CATEGORY_LABELS)
register_enum("visit_frequency", Frequency, labels(Frequency))
register_enum("visit_mode", VisitMode, labels(VisitMode))
register_enum("timebank_status", TimebankStatus, labels(TimebankStatus))
