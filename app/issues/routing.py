"""Where a new issue lands in the area tree: one query for every channel.

The areas a new issue may be filed in are read by one common table expression
(:func:`areas_cte`): by id within the caller's scope, the caller's home area, or — by location —
the areas whose bounding box holds the point, deepest first, of which the first whose boundary
holds it wins (:func:`first_containing`). A report made in the app reads it inside the one
statement that prepares the issue (:func:`app.issues.repository.create_context`); reports from
other systems are routed first (:func:`route`) through the same expression run alone
(:func:`areas_at`), then filed by area id.

Reports from other systems (a 12345 ticket, an Open311 request), :func:`route`:

1. **Coordinates** → the deepest grid or micro-grid whose boundary holds the point, inside the
   caller's scope. A point outside that scope is refused by the caller (``None`` here).
2. **Address only** → the deepest street or community in scope whose name appears in the address
   (``…测试街道测试社区3号楼`` → 测试社区). Grid and building names (``第一网格``, ``1号楼``) are
   not matched: they are short and collide with house numbers.
3. **Neither** → the caller's home area (the key's area). The issue's tier follows that area's
   level, so a street's (or district's) dispatch desk triages it like any unlocated report.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.grids import repository as areas
from app.grids import service as grids
from app.grids.models import Area, Level

ADDRESS_LEVELS = (Level.STREET.value, Level.COMMUNITY.value)


class AreaBy(StrEnum):
    ID = "id"  # area_id within the caller's scope
    LOCATION = "location"  # areas whose bounding box holds the point (within the scope, when one is given)
    HOME = "home"  # the caller's home area


@dataclass(frozen=True)
class AreaRef:
    """An area a new issue may be filed in, with the number prefix that applies there."""

    id: uuid.UUID
    version: int
    level: str
    path: str
    number_prefix: str
    boundary: str | None = None  # GeoJSON text, read only when routing by location


# The nearest number_prefix on the area or its ancestors, else the root district's code.
_PREFIX = """coalesce(
        (SELECT p.number_prefix FROM areas p WHERE p.path @> a.path AND p.number_prefix IS NOT NULL
         ORDER BY nlevel(p.path) DESC LIMIT 1),
        (SELECT r.code FROM areas r WHERE r.path @> a.path AND r.parent_id IS NULL LIMIT 1))"""
# The bounding box holds the point, written box @> box so that the GiST index on the box serves it
# (the box operator class has no strategy for box @> point).
_HOLDS_POINT = (
    "box(point(a.min_lng, a.min_lat), point(a.max_lng, a.max_lat)) @> box(point(:lng, :lat), point(:lng, :lat))"
)
_AREAS_WHERE = {
    (AreaBy.ID, True): "a.id = :area_id AND a.path <@ CAST(:scope AS ltree)",
    (AreaBy.LOCATION, False): f"a.min_lng IS NOT NULL AND {_HOLDS_POINT}",
    (AreaBy.LOCATION, True): f"a.min_lng IS NOT NULL AND {_HOLDS_POINT} AND a.path <@ CAST(:scope AS ltree)",
    (AreaBy.HOME, False): "a.id = :area_id",
}
ORDER = "depth DESC, code"
"""The order of the areas :func:`areas_cte` finds: deepest first."""


def areas_cte(by: AreaBy, scoped: bool) -> str:
    """``new_issue_areas AS (…)``: the areas found ``by`` id, location or home, with their depth,
    code, number prefix and (by location) boundary as GeoJSON text; bind parameters from
    :func:`area_params`."""
    boundary = "CAST(a.boundary AS text)" if by is AreaBy.LOCATION else "CAST(NULL AS text)"
    return f"""new_issue_areas AS (
    SELECT a.id, a.version, a.level, CAST(a.path AS text) AS path, nlevel(a.path) AS depth, a.code,
        {_PREFIX} AS prefix, {boundary} AS boundary
    FROM areas a WHERE {_AREAS_WHERE[by, scoped]}
)"""


def area_params(
    by: AreaBy,
    *,
    area_id: uuid.UUID | None = None,
    lng: float | None = None,
    lat: float | None = None,
    scope_path: str | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Whether :func:`areas_cte` is scoped, and its bind parameters. By id the scope is required;
    by location it applies when given; the home area is the caller's own."""
    scoped = by is AreaBy.ID or (by is AreaBy.LOCATION and bool(scope_path))
    params: dict[str, Any] = {"lng": lng, "lat": lat} if by is AreaBy.LOCATION else {"area_id": area_id}
    if scoped:
        params["scope"] = scope_path
    return scoped, params


def first_containing(found: list[AreaRef], lng: float, lat: float) -> AreaRef | None:
    """The first of ``found`` (by location, deepest first) whose boundary holds the point."""
    i = grids.first_containing([(a.id, a.version, a.boundary) for a in found], lng, lat)
    return None if i is None else found[i]


_AREAS_AT: dict[bool, sa.TextClause] = {}


async def areas_at(session: AsyncSession, lng: float, lat: float, scope_path: str | None) -> list[AreaRef]:
    """The areas whose bounding box holds the point (within ``scope_path`` when given), deepest first."""
    scoped, params = area_params(AreaBy.LOCATION, lng=lng, lat=lat, scope_path=scope_path)
    if scoped not in _AREAS_AT:
        _AREAS_AT[scoped] = sa.text(
            f"WITH {areas_cte(AreaBy.LOCATION, scoped)}\n"
            f"SELECT id, version, level, path, prefix, boundary FROM new_issue_areas ORDER BY {ORDER}"
        )
    rows = (await session.execute(_AREAS_AT[scoped], params)).all()
    return [AreaRef(r.id, int(r.version), r.level, r.path, str(r.prefix), r.boundary) for r in rows]


@dataclass(frozen=True)
class Routed:
    area_id: uuid.UUID
    by: Literal["location", "address", "home"]


async def route(
    session: AsyncSession,
    home: Area,
    *,
    lat: float | None,
    lng: float | None,
    address: str | None,
) -> Routed | None:
    """The area for a report from another system within ``home``'s subtree; ``None`` when its
    point lies outside."""
    if lat is not None and lng is not None:
        found = first_containing(await areas_at(session, lng, lat, home.path), lng, lat)
        return Routed(found.id, "location") if found is not None else None
    if address:
        named = await areas.named_in(session, address, home.path, ADDRESS_LEVELS)
        if named is not None:
            return Routed(named.id, "address")
    return Routed(home.id, "home")
