"""Boundary validation and point-in-area tests (GeoJSON, WGS84 lng/lat) with shapely."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from shapely import prepared
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from app.errors import ValidationFailed, field_error

ALLOWED_TYPES = ("Polygon", "MultiPolygon")


def _invalid(message: str, field: str = "boundary") -> ValidationFailed:
    return ValidationFailed(
        f"Invalid boundary: {message}",
        code="invalid_boundary",
        errors=[field_error(field, message, allowed="GeoJSON Polygon or MultiPolygon, closed rings, lng/lat")],
    )


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise _invalid(f"{where}: a ring needs at least 4 positions")
    for pos in ring:
        if (
            not isinstance(pos, list | tuple)
            or len(pos) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in pos[:2])
        ):
            raise _invalid(f"{where}: positions are [lng, lat] numbers")
        lng, lat = pos[0], pos[1]
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise _invalid(f"{where}: position {pos[:2]} is outside lng -180..180, lat -90..90")
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise _invalid(f"{where}: ring is not closed (first and last positions differ)")


def parse_boundary(geojson: dict[str, Any], field: str = "boundary") -> BaseGeometry:
    """Validate a GeoJSON Polygon/MultiPolygon and return it as a shapely geometry."""
    if not isinstance(geojson, dict) or geojson.get("type") not in ALLOWED_TYPES:
        raise _invalid(f"type must be one of {', '.join(ALLOWED_TYPES)}", field)
    coords = geojson.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise _invalid("coordinates are missing", field)
    polygons = [coords] if geojson["type"] == "Polygon" else coords
    for i, poly in enumerate(polygons):
        if not isinstance(poly, list) or not poly:
            raise _invalid(f"polygon {i} has no rings", field)
        for j, ring in enumerate(poly):
            _check_ring(ring, f"polygon {i} ring {j}")
    try:
        geom = shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed input
        raise _invalid(f"cannot be read: {exc}", field) from exc
    if not geom.is_valid:
        raise _invalid(explain_validity(geom), field)
    if geom.area <= 0:
        raise _invalid("has no area", field)
    return geom


def check_inside(child: BaseGeometry, parent: BaseGeometry, tolerance: float) -> None:
    """A child may stick out of its parent by at most ``tolerance`` of its own area."""
    outside = child.difference(parent).area
    if outside > tolerance * child.area:
        share = outside / child.area
        raise ValidationFailed(
            f"The boundary lies {share:.1%} outside its parent area (at most {tolerance:.1%} allowed).",
            code="boundary_outside_parent",
            errors=[field_error("boundary", "must lie inside the parent's boundary", allowed_outside=tolerance)],
        )


def bbox(geom: BaseGeometry) -> tuple[float, float, float, float]:
    min_lng, min_lat, max_lng, max_lat = geom.bounds
    return min_lng, min_lat, max_lng, max_lat


_PREPARED: OrderedDict[tuple[object, int], Any] = OrderedDict()
_PREPARED_MAX = 8192


def covers(area_key: tuple[object, int], lng: float, lat: float) -> bool | None:
    """Point-in-polygon from the cache alone; ``None`` when the area's geometry is not cached."""
    geom = _PREPARED.get(area_key)
    return None if geom is None else bool(geom.covers(Point(lng, lat)))


def contains_point(area_key: tuple[object, int], boundary: dict[str, Any], lng: float, lat: float) -> bool:
    """Point-in-polygon with a cache of prepared geometries keyed by (area id, version)."""
    geom = _PREPARED.get(area_key)
    if geom is None:
        geom = prepared.prep(shape(boundary))
        _PREPARED[area_key] = geom
        if len(_PREPARED) > _PREPARED_MAX:
            _PREPARED.popitem(last=False)
    return bool(geom.covers(Point(lng, lat)))
