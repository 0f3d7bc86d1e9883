"""The area tree: creation with boundary checks, scoped reads and point → area routing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.errors import Conflict, ValidationFailed, field_error
from app.grids import geometry, repository
from app.grids.models import LEVEL_ORDER, Area, Level
from app.grids.schemas import AreaFeature
from app.kit.ids import new_id
from app.scope import Principal, admit_caller, area_in_scope


def _label(area_id: uuid.UUID) -> str:
    return area_id.hex


def _apply_boundary(area: Area, boundary: dict[str, Any] | None) -> None:
    area.boundary = boundary
    if boundary is None:
        area.min_lng = area.min_lat = area.max_lng = area.max_lat = None
        return
    geom = geometry.parse_boundary(boundary)
    area.min_lng, area.min_lat, area.max_lng, area.max_lat = geometry.bbox(geom)


def _check_level(level: Level, parent: Area | None) -> None:
    if parent is None:
        if level is not Level.DISTRICT:
            raise ValidationFailed(
                "Only a district may be a root; give parent_id.",
                code="parent_required",
                errors=[field_error("parent_id", "required below district level")],
            )
        return
    expected = LEVEL_ORDER[LEVEL_ORDER.index(Level(parent.level)) + 1] if parent.level != Level.MICRO_GRID else None
    if expected is None or level is not expected:
        raise ValidationFailed(
            f"A {parent.level} can only contain {expected or 'nothing'}, not {level}.",
            code="level_mismatch",
            errors=[field_error("level", "must be the level right below the parent's", allowed=[expected])],
        )


def _check_within_parent(boundary: dict[str, Any] | None, parent: Area | None, tolerance: float) -> None:
    if boundary is None or parent is None or parent.boundary is None:
        return
    geometry.check_inside(geometry.parse_boundary(boundary), geometry.parse_boundary(parent.boundary), tolerance)


async def create_area(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    level: Level,
    parent: Area | None,
    boundary: dict[str, Any] | None,
    tolerance: float,
    check_code: bool = True,
) -> Area:
    _check_level(level, parent)
    if check_code and await repository.by_codes(session, [code]):
        raise Conflict(f"An area with code {code!r} exists.", code="area_code_taken")
    area_id = new_id()
    area = Area(
        id=area_id,
        code=code,
        name=name,
        level=level.value,
        parent_id=parent.id if parent else None,
        path=f"{parent.path}.{_label(area_id)}" if parent else _label(area_id),
    )
    _apply_boundary(area, boundary)
    _check_within_parent(boundary, parent, tolerance)
    session.add(area)
    if check_code:
        await session.flush()
    return area


async def create_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    code: str,
    name: str,
    level: Level,
    parent_id: uuid.UUID | None,
    boundary: dict[str, Any] | None,
    tolerance: float,
) -> Area:
    if parent_id is None:
        raise ValidationFailed(
            "New districts are created with `minqing import-areas`; through the API give parent_id.",
            code="parent_required",
            errors=[field_error("parent_id", "required")],
        )
    parent = await get_in_scope(session, principal, parent_id, field="parent_id")
    return await create_area(
        session, code=code, name=name, level=level, parent=parent, boundary=boundary, tolerance=tolerance
    )


async def get_in_scope(
    session: AsyncSession,
    principal: Principal,
    area_id: uuid.UUID,
    *,
    field: str | None = None,
    for_update: bool = False,
) -> Area:
    """The area ``area_id`` in the caller's subtree: 404 for an id in the path, 422 ``unknown_area``
    naming ``field`` for an id in a body (or in a query's filter)."""
    if field:
        return await area_in_scope(session, principal, area_id, field=field, for_update=for_update)
    return await repository.areas.one(session, principal, area_id, for_update=for_update)


async def area_path(session: AsyncSession, principal: Principal, area_id: uuid.UUID | None) -> str | None:
    """The path of the area a list is narrowed to by its ``area_id`` filter (in the caller's
    subtree, else 422 ``unknown_area``), or None when the list is not narrowed by area."""
    if not area_id:
        return None
    return (await get_in_scope(session, principal, area_id, field="area_id")).path


async def caller_and_area(
    session: AsyncSession, user_id: uuid.UUID, area_id: uuid.UUID | None, roles: frozenset[Role], *, field: str
) -> tuple[Principal, str | None]:
    """A bearer token's user admitted for ``roles`` and the path of ``area_id`` in their subtree,
    in one round trip: 401 / 403 as the request dependencies give them, then 422 ``unknown_area``
    (on ``field``) when the area is unknown or outside. The path is None when ``area_id`` is."""
    row = await repository.caller_and_area(session, user_id, area_id)
    principal = admit_caller(row, roles)
    if area_id is not None and row["area_path"] is None:
        raise ValidationFailed(
            "No such area in your jurisdiction.",
            code="unknown_area",
            errors=[field_error(field, "unknown or outside your area")],
        )
    return principal, row["area_path"]


async def update_area(
    session: AsyncSession,
    area: Area,
    *,
    name: str | None,
    boundary: dict[str, Any] | None,
    fields: set[str],
    tolerance: float,
) -> Area:
    if "name" in fields and name is not None:
        area.name = name
    if "boundary" in fields:
        parent = await repository.get_unscoped(session, area.parent_id) if area.parent_id else None
        _apply_boundary(area, boundary)
        _check_within_parent(boundary, parent, tolerance)
    await session.flush()
    return area


async def locate(
    session: AsyncSession, lng: float, lat: float, scope_path: str | None, *, deepest_level: Level | None = None
) -> Area | None:
    """The deepest area (optionally no deeper than ``deepest_level``) whose boundary holds the point."""
    for area in await repository.candidates_at(session, lng, lat, scope_path):
        if deepest_level is not None and LEVEL_ORDER.index(Level(area.level)) > LEVEL_ORDER.index(deepest_level):
            continue
        if area.boundary and geometry.contains_point((area.id, area.version), area.boundary, lng, lat):
            return area
    return None


def first_containing(candidates: Sequence[tuple[uuid.UUID, int, str | None]], lng: float, lat: float) -> int | None:
    """Index of the first of ``candidates`` (area id, version, GeoJSON boundary as text) whose
    boundary holds the point. Boundaries are parsed only when their prepared geometry is not
    cached yet (the cache is keyed by id and version)."""
    for i, (area_id, version, boundary) in enumerate(candidates):
        inside = geometry.covers((area_id, version), lng, lat)
        if inside is None:
            inside = bool(boundary and geometry.contains_point((area_id, version), json.loads(boundary), lng, lat))
        if inside:
            return i
    return None


# --- bulk import ------------------------------------------------------------------------------


@dataclass
class ImportStats:
    created: int = 0
    updated: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated


def parse_feature_collection(doc: Any) -> list[dict[str, Any]]:
    """Validate the shape of a FeatureCollection of areas; returns features sorted parents-first."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise ValidationFailed(
            "Expected a GeoJSON FeatureCollection.",
            code="invalid_geojson",
            errors=[field_error("type", "must be FeatureCollection with a features array")],
        )
    out: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for i, feat in enumerate(doc["features"]):
        try:
            feature = AreaFeature.model_validate(feat)
        except ValidationError as exc:
            for e in exc.errors():
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
                allowed = [lv.value for lv in Level] if e["loc"] == ("properties", "level") else None
                extra = {"allowed": allowed} if allowed else {}
                errors.append(field_error(f"features[{i}]{where}", e["msg"], **extra))
            continue
        props = feature.properties
        out.append(
            {
                "code": props.code,
                "name": props.name,
                "level": props.level,
                "parent_code": props.parent_code,
                "boundary": feature.geometry,
                "index": i,
            }
        )
    if errors:
        raise ValidationFailed(f"{len(errors)} feature(s) are not valid areas.", code="invalid_geojson", errors=errors)
    out.sort(key=lambda f: LEVEL_ORDER.index(f["level"]))
    return out


async def import_features(
    session: AsyncSession,
    features: Sequence[dict[str, Any]],
    *,
    tolerance: float,
    scope_path: str | None,
    progress: Iterable[Any] | None = None,
    on_each: Any = None,
) -> ImportStats:
    """Create or update areas by code, parents first. All or nothing: one bad feature fails all."""
    stats = ImportStats()
    known = await repository.by_codes(
        session, [f["code"] for f in features] + [f["parent_code"] for f in features if f["parent_code"]]
    )
    for feat in features:
        where = f"features[{feat['index']}]"
        parent = known.get(feat["parent_code"]) if feat["parent_code"] else None
        if feat["parent_code"] and parent is None:
            raise ValidationFailed(
                f"{where}: parent {feat['parent_code']!r} is unknown.",
                code="unknown_parent",
                errors=[field_error(f"{where}.properties.parent_code", "no area with this code")],
            )
        if scope_path is not None and (parent is None or not _within(parent.path, scope_path)):
            raise ValidationFailed(
                f"{where}: outside your jurisdiction.",
                code="outside_scope",
                errors=[field_error(f"{where}.properties.parent_code", "must be inside your area")],
            )
        try:
            existing = known.get(feat["code"])
            if existing is not None:
                if existing.parent_id != (parent.id if parent else None) or existing.level != feat["level"]:
                    raise Conflict(
                        f"{where}: area {feat['code']!r} exists with another parent or level.", code="area_code_taken"
                    )
                existing.name = feat["name"]
                _apply_boundary(existing, feat["boundary"])
                _check_within_parent(feat["boundary"], parent, tolerance)
                stats.updated += 1
            else:
                known[feat["code"]] = await create_area(
                    session,
                    code=feat["code"],
                    name=feat["name"],
                    level=feat["level"],
                    parent=parent,
                    boundary=feat["boundary"],
                    tolerance=tolerance,
                    check_code=False,
                )
                stats.created += 1
        except ValidationFailed as exc:
            for e in exc.errors:
                if e.get("field") == "boundary":
                    e["field"] = f"{where}.geometry"
            exc.detail = f"{where} ({feat['code']}): {exc.detail}"
            raise
        if on_each is not None:
            on_each()
    await session.flush()
    return stats


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + ".")


GRID_LEVELS = frozenset({Level.GRID.value, Level.MICRO_GRID.value})


async def get_grid_in_scope(
    session: AsyncSession, principal: Principal, area_id: uuid.UUID | None, *, field: str = "area_id"
) -> Area:
    """A grid or micro-grid (网格/微网格) in the caller's scope; the caller's home area by default."""
    area = await get_in_scope(session, principal, area_id or principal.area_id, field=field)
    if area.level not in GRID_LEVELS:
        raise ValidationFailed(
            "Choose a grid or micro-grid." if area_id else "Your home area is not a grid; give area_id.",
            code="not_a_grid",
            errors=[field_error(field, "must be a grid or micro-grid", allowed=sorted(GRID_LEVELS))],
        )
    return area


async def list_in_scope(session: AsyncSession, scope_path: str, **filters: Any) -> Sequence[Area]:
    """Areas in the subtree at ``scope_path`` by code (``level``, ``parent_id``, ``q``), after
    ``after_code``: ``limit + 1`` rows."""
    return await repository.list_in_scope(session, scope_path, **filters)
