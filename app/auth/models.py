"""Staff users, units (departments, property companies, police stations) and API keys."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class UnitKind(LabelledEnum):
    DEPARTMENT = "department", "职能部门"
    PROPERTY_COMPANY = "property_company", "物业公司"
    POLICE_STATION = "police_station", "派出所"
    JUDICIAL_OFFICE = "judicial_office", "司法所"
    OTHER = "other", "其他单位"


class Unit(IdMixin, TimestampMixin, VersionMixin, Base):
    """A body work can be assigned to (派单对象)."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(32))
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    is_active: Mapped[bool] = mapped_column(server_default=sa.true(), default=True)

    __table_args__ = (
        sa.CheckConstraint(
            "kind in ('department','property_company','police_station','judicial_office','other')",
            name="kind_known",
        ),
    )


class User(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(32))
    home_area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    is_active: Mapped[bool] = mapped_column(server_default=sa.true(), default=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        sa.CheckConstraint(
            "role in ('grid_worker','mediator','community_admin','street_admin','department','viewer',"
            "'admin','integration')",
            name="role_known",
        ),
        sa.CheckConstraint("role <> 'department' OR unit_id IS NOT NULL", name="department_has_unit"),
    )


class ApiKey(IdMixin, TimestampMixin, Base):
    """A key for integrations (12345 hotline, petition systems): shown once, stored as a hash."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(sa.String(100))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    # Shared secret for signed calls (Standard Webhooks); rotation keeps the previous one for a while.
    signing_secret: Mapped[str | None] = mapped_column(sa.String(128))
    previous_signing_secret: Mapped[str | None] = mapped_column(sa.String(128))
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()


class LoginFailure(Base):
    """Failed sign-ins per username and per client address, for throttling across workers and nodes."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column()
    failures: Mapped[int] = mapped_column(server_default="0")


register_enum("unit_kind", UnitKind, labels(UnitKind))
