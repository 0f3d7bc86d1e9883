"""Request and response bodies for the area tree."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import Field

from app.grids.models import Level
from app.kit.schemas import InputModel, OutputModel, Text

GEOJSON_EXAMPLE = {
    "type": "Polygon",
    "coordinates": [[[113.57, 37.85], [113.58, 37.85], [113.58, 37.86], [113.57, 37.86], [113.57, 37.85]]],
}


class AreaCreate(InputModel):
    code: Text = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", examples=["140302001001"])
    name: Text = Field(min_length=1, max_length=100, examples=["如意庄社区"])
    level: Level
    parent_id: uuid.UUID | None = Field(default=None, description="required for every level below district")
    boundary: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon or MultiPolygon (WGS84 lng/lat)", examples=[GEOJSON_EXAMPLE]
    )


class AreaUpdate(InputModel):
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    boundary: dict[str, Any] | None = None


class AreaOut(OutputModel):
    id: uuid.UUID
    code: str
    name: str
    level: Level
    parent_id: uuid.UUID | None
    has_boundary: bool = False
    boundary: dict[str, Any] | None = None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AreaImportResult(OutputModel):
    created: int
    updated: int
    total: int
