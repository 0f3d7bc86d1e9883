"""What an Open311 request carries beyond the issue it became (服务请求附加信息)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Open311Request(Base):
    __tablename__ = "open311_requests"

    issue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="SET NULL"))
    service_code: Mapped[str] = mapped_column(sa.String(32))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)
    media_url: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (sa.Index("ix_open311_requests_district_id_created_at", "district_id", "created_at"),)
