"""Residents' archive (居民电子档案): buildings (楼栋), households (户), residents (居民)."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class Gender(LabelledEnum):
    MALE = "male", "男"
    FEMALE = "female", "女"
    UNKNOWN = "unknown", "未知"


class ResidentTag(LabelledEnum):
    ELDERLY_ALONE = "elderly_alone", "独居老人"
    EMPTY_NEST = "empty_nest", "空巢老人"
    DISABLED = "disabled", "残疾人"
    LOW_INCOME = "low_income", "困难家庭/低保"
    LEFT_BEHIND_CHILD = "left_behind_child", "留守儿童"
    VETERAN = "veteran", "退役军人"
    PARTY_MEMBER = "party_member", "党员"


RESIDENT_TAG_LABELS = labels(ResidentTag)

# Sensitive personal information under PIPL art. 28 (disability; minors under 14 and, by policy,
# all minors): statistics, exports and webhooks must leave these residents out.
SENSITIVE_TAGS: frozenset[ResidentTag] = frozenset({ResidentTag.DISABLED, ResidentTag.LEFT_BEHIND_CHILD})
ADULT_AGE = 18


def is_minor(birth_date: dt.date | None, today: dt.date) -> bool:
    if birth_date is None:
        return False
    years = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return years < ADULT_AGE


def is_sensitive(tags: list[str], birth_date: dt.date | None, today: dt.date) -> bool:
    return bool(SENSITIVE_TAGS.intersection(tags)) or is_minor(birth_date, today)


class Building(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "buildings"

    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str | None] = mapped_column(sa.String(200))


class Household(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "households"

    building_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("buildings.id", ondelete="RESTRICT"), index=True)
    # Copied from the building so scope filters need no join.
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    address: Mapped[str] = mapped_column(sa.String(200))


class Resident(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "residents"

    household_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    gender: Mapped[str] = mapped_column(sa.String(8), server_default="unknown")
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    phone_enc: Mapped[str | None] = mapped_column(sa.Text)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    id_number_enc: Mapped[str | None] = mapped_column(sa.Text)
    id_number_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    tags: Mapped[list[str]] = mapped_column(ARRAY(sa.String(32)), server_default="{}")
    last_visited_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (sa.CheckConstraint("gender in ('male','female','unknown')", name="gender_known"),)


register_enum("gender", Gender, labels(Gender))
register_enum("resident_tag", ResidentTag, RESIDENT_TAG_LABELS)
