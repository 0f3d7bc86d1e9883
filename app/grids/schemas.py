"""Request and response bodies for the area tree."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.grids.models import Level
from app.kit.schemas import InputModel, OutputModel, Text

GEOJSON_EXAMPLE = {
    "type": "Polygon",
    "coordinates": [[[113.57, 37.85], [113.58, 37.85], [113.58, 37.86], [113.57, 37.86], [113.57, 37.85]]],
}


AreaCode = Annotated[Text, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", examples=["140302001001"])]
AreaName = Annotated[Text, Field(min_length=1, max_length=100, examples=["如意庄社区"])]


class AreaCreate(InputModel):
    code: AreaCode
    name: AreaName
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


# The import document: a GeoJSON FeatureCollection, one feature per area. Other GeoJSON members
# ("foreign members", e.g. a feature's "id" or "bbox") are allowed and ignored.
class AreaFeatureProperties(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    code: AreaCode
    name: AreaName
    level: Level
    parent_code: Text | None = Field(default=None, max_length=32, description="the parent area's code")


class AreaFeature(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"] = "Feature"
    properties: AreaFeatureProperties
    geometry: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon or MultiPolygon (WGS84 lng/lat)", examples=[GEOJSON_EXAMPLE]
    )


class AreaImportDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[AreaFeature]


class AreaImportResult(OutputModel):
    created: int
    updated: int
    total: int
