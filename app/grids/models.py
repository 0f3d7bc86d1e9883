"""The area tree (辖区): district → street → community → grid → micro-grid."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, VersionMixin
from app.kit.columns import PgType
from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum


class Ltree(PgType[str]):
    """PostgreSQL ``ltree`` (materialised path); values travel as text."""

    col_spec = "LTREE"


class Level(LabelledEnum):
    DISTRICT = "district", "区/县"
    STREET = "street", "街道/镇"
    COMMUNITY = "community", "社区"
    GRID = "grid", "网格"
    MICRO_GRID = "micro_grid", "微网格"

    @property
    def depth(self) -> int:
        return LEVEL_ORDER.index(self)


LEVEL_ORDER: list[Level] = list(Level)


class Area(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[str] = mapped_column(sa.String(16))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    # ltree of id hex labels from the root: subtree queries are ``path <@ :ancestor_path``.
    path: Mapped[str] = mapped_column(Ltree(), unique=True)
    boundary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Bounding box of the boundary; a GiST expression index on ``box(...)`` prefilters point lookups.
    min_lng: Mapped[float | None] = mapped_column(sa.Float)
    min_lat: Mapped[float | None] = mapped_column(sa.Float)
    max_lng: Mapped[float | None] = mapped_column(sa.Float)
    max_lat: Mapped[float | None] = mapped_column(sa.Float)
    # Prefix of issue numbers filed here or below (``ZZ-20261123-000123``); the nearest ancestor's
    # prefix applies, then the district's code.
    number_prefix: Mapped[str | None] = mapped_column(sa.String(16))

    __table_args__ = (
        sa.CheckConstraint("level in ('district','street','community','grid','micro_grid')", name="level_known"),
        sa.Index("ix_areas_path_gist", "path", postgresql_using="gist"),
        sa.Index(
            "ix_areas_bbox_gist",
            sa.text("box(point(min_lng, min_lat), point(max_lng, max_lat))"),
            postgresql_using="gist",
            postgresql_where=sa.text("min_lng IS NOT NULL"),
        ),
    )


register_enum("area_level", Level, labels(Level))
