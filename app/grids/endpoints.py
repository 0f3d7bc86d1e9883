"""/api/v1/areas — the area tree (辖区树)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, Query

from app.auth.deps import CurrentPrincipal, require_roles
from app.auth.roles import Role
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import NotFound, problem_responses
from app.grids import service
from app.grids.models import Area, Level
from app.grids.schemas import GEOJSON_EXAMPLE, AreaCreate, AreaImportDocument, AreaImportResult, AreaOut, AreaUpdate
from app.kit.etag import NOT_MODIFIED
from app.kit.openapi import documented_body
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.routes import Call, Versioned, checked, create_route, read_route, update_route
from app.kit.routing import Router
from app.kit.schemas import Page
from app.kit.tokens import text
from app.scope import Principal

router = Router(prefix="/api/v1/areas", tags=["areas"])
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


def _out(area: Area, *, with_boundary: bool = False) -> AreaOut:
    out = AreaOut.model_validate(area)
    out.has_boundary = area.boundary is not None
    out.boundary = area.boundary if with_boundary else None
    return out


AREA = Versioned(
    "area_id",
    AreaOut,
    get=service.get_in_scope,
    change=checked(service.get_in_scope, required=True, for_update=True),
    show=lambda call, area: _out(area, with_boundary=True),
)


async def _create_area(call: Call, body: AreaCreate) -> Area:
    return await service.create_in_scope(
        call.session,
        call.principal,
        code=body.code,
        name=body.name,
        level=body.level,
        parent_id=body.parent_id,
        boundary=body.boundary,
        tolerance=call.settings.area_containment_tolerance,
    )


create_route(
    router,
    "",
    AREA,
    AdminDep,
    _create_area,
    body=AreaCreate,
    operation_id="areas_create",
    responses=problem_responses(403, 409),
    summary="Create an area (新建辖区)",
    description="Adds an area below `parent_id`, one level down (district → street → community → grid → "
    "micro_grid). The boundary must be a valid GeoJSON polygon lying inside the parent's. Admins only.",
)


@router.get(
    "",
    response_model=Page[AreaOut],
    operation_id="areas_list",
    summary="List areas in your jurisdiction (辖区列表)",
    description="Areas in the caller's subtree, ordered by code. Filter by `level`, `parent_id` or `q` (name).",
)
async def list_areas(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    level: Level | None = None,
    parent_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AreaOut]:
    keys = Keyset.open(settings, principal, "areas", cursor, (text,))
    after = keys.after[0] if keys.after else None
    rows = await service.list_in_scope(
        session, principal.area_path, level=level, parent_id=parent_id, q=q, after_code=after, limit=limit
    )
    return keys.answer(rows, limit, _out, key=lambda area: [area.code])


@router.get(
    "/locate",
    response_model=AreaOut,
    operation_id="areas_locate",
    responses=problem_responses(404),
    summary="Find the area at a point (坐标定位网格)",
    description="The deepest area in your jurisdiction whose boundary contains the point (WGS84). "
    "404 `no_area_at_point` when none does.",
)
async def locate(
    session: SessionDep,
    principal: CurrentPrincipal,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lng: Annotated[float, Query(ge=-180, le=180)],
) -> AreaOut:
    area = await service.locate(session, lng, lat, principal.area_path)
    if area is None:
        raise NotFound(f"No area in your jurisdiction contains the point ({lat}, {lng}).", code="no_area_at_point")
    return _out(area)


IMPORT_EXAMPLES = {
    "grid": {
        "summary": "one grid under an existing community",
        "value": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "code": "140302001001",
                        "name": "第一网格",
                        "level": "grid",
                        "parent_code": "140302001",
                    },
                    "geometry": GEOJSON_EXAMPLE,
                }
            ],
        },
    }
}


@router.post(
    "/import",
    response_model=AreaImportResult,
    operation_id="areas_import",
    responses=problem_responses(403, 409),
    summary="Import areas from GeoJSON (批量导入辖区)",
    description="A FeatureCollection whose features carry `properties.code`, `name`, `level` and "
    "`parent_code`; areas are created or updated by code, parents first, all or nothing. Admins only; "
    "every parent must be inside the caller's area. A document that is not such a collection: 422 "
    "`invalid_geojson` with the features at fault in `errors`.",
    openapi_extra=documented_body(AreaImportDocument, examples=IMPORT_EXAMPLES),
)
async def import_areas(
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    doc: Annotated[dict[str, Any], Body()],
) -> AreaImportResult:
    features = service.parse_feature_collection(doc)
    stats = await service.import_features(
        session, features, tolerance=settings.area_containment_tolerance, scope_path=principal.area_path
    )
    return AreaImportResult(created=stats.created, updated=stats.updated, total=stats.total)


read_route(
    router,
    "/{area_id}",
    AREA,
    CurrentPrincipal,
    conditional=True,
    operation_id="areas_get",
    summary="Get an area with its boundary (辖区详情)",
    responses={**NOT_MODIFIED, **problem_responses(404)},
)


async def _update_area(call: Call, area: Area, body: AreaUpdate) -> Area:
    return await service.update_area(
        call.session,
        area,
        name=body.name,
        boundary=body.boundary,
        fields=body.model_fields_set,
        tolerance=call.settings.area_containment_tolerance,
    )


update_route(
    router,
    "/{area_id}",
    AREA,
    AdminDep,
    _update_area,
    body=AreaUpdate,
    operation_id="areas_update",
    responses=problem_responses(403, 404, 412, 428),
    summary="Rename an area or change its boundary (修改辖区)",
    description="Requires `If-Match` with the area's ETag (428 without, 412 when stale). Admins only.",
)


@router.get(
    "/{area_id}/children",
    response_model=list[AreaOut],
    operation_id="areas_children",
    responses=problem_responses(404),
    summary="Direct children of an area (下级辖区)",
)
async def children(area_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> list[AreaOut]:
    area = await service.get_in_scope(session, principal, area_id)
    rows = await service.list_in_scope(
        session, area.path, level=None, parent_id=area.id, q=None, after_code=None, limit=10_000
    )
    return [_out(a) for a in rows]
