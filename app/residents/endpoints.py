"""/api/v1/buildings, /households, /residents — the residents' archive (居民电子档案)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from app.auth.deps import SettingsDep, require_roles
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.etag import NOT_MODIFIED, IfMatch, conditional, created, tagged, write_if_match
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.routing import Router
from app.kit.schemas import Page
from app.residents import service
from app.residents.models import ResidentTag
from app.residents.schemas import (
    BuildingCreate,
    BuildingOut,
    BuildingUpdate,
    DueVisitOut,
    HouseholdCreate,
    HouseholdOut,
    HouseholdUpdate,
    ResidentCreate,
    ResidentOut,
    ResidentRevealed,
    ResidentUpdate,
    RevealIn,
)
from app.scope import Principal

router = Router(prefix="/api/v1", tags=["residents"], responses=problem_responses(403))
# Viewers (dashboards) and departments have no business in the archive; integrations neither.
Archivist = Annotated[Principal, Depends(require_roles(*sorted(service.ARCHIVE_ROLES)))]
Revealer = Annotated[Principal, Depends(require_roles(*sorted(service.REVEAL_ROLES)))]


# --- buildings 楼栋 ----------------------------------------------------------------------------


@router.post(
    "/buildings",
    status_code=201,
    response_model=BuildingOut,
    operation_id="buildings_create",
    summary="Register a building (新建楼栋)",
    description="A building in a grid or micro-grid of your area (default: your home area).",
)
async def create_building(body: BuildingCreate, session: SessionDep, principal: Archivist, response: Response) -> Any:
    building = await service.create_building(session, principal, body.model_dump())
    return created(response, f"/api/v1/buildings/{building.id}", BuildingOut.model_validate(building), building)


@router.get(
    "/buildings",
    response_model=Page[BuildingOut],
    operation_id="buildings_list",
    summary="Buildings in your area (楼栋列表)",
    description="Newest first; `area_id` limits to an area's subtree, `q` searches names.",
)
async def list_buildings(
    session: SessionDep,
    principal: Archivist,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    keys = Keyset.open(settings, principal, "buildings", cursor)
    rows = await service.list_in_area(
        session, principal, "buildings", filters={"area_id": area_id, "q": q}, after=keys.after, limit=limit
    )
    return keys.answer(rows, limit, BuildingOut.model_validate)


@router.get(
    "/buildings/{building_id}",
    response_model=BuildingOut,
    operation_id="buildings_get",
    summary="A building (楼栋详情)",
    description="404 when outside your area.",
    responses={**problem_responses(404), **NOT_MODIFIED},
)
async def get_building(
    building_id: uuid.UUID, session: SessionDep, principal: Archivist, request: Request, response: Response
) -> Any:
    building = await service.get_building(session, principal, building_id)
    return conditional(request, response, building, BuildingOut.model_validate(building))


@router.patch(
    "/buildings/{building_id}",
    response_model=BuildingOut,
    operation_id="buildings_update",
    summary="Rename a building (修改楼栋)",
    description="Requires `If-Match` (428 without, 412 when stale).",
    responses=problem_responses(404, 412, 428),
)
async def update_building(
    building_id: uuid.UUID,
    body: BuildingUpdate,
    session: SessionDep,
    principal: Archivist,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    building = await service.get_building(session, principal, building_id)
    write_if_match(building, if_match)
    building = await service.update_simple(session, building, body.model_dump(exclude_unset=True))
    return tagged(response, building, BuildingOut.model_validate(building))


# --- households 户 -----------------------------------------------------------------------------


@router.post(
    "/households",
    status_code=201,
    response_model=HouseholdOut,
    operation_id="households_create",
    summary="Register a household (新建住户)",
    description="A household (户) with its address, in a building of your area.",
)
async def create_household(body: HouseholdCreate, session: SessionDep, principal: Archivist, response: Response) -> Any:
    household = await service.create_household(session, principal, body.model_dump())
    return created(response, f"/api/v1/households/{household.id}", HouseholdOut.model_validate(household), household)


@router.get(
    "/households",
    response_model=Page[HouseholdOut],
    operation_id="households_list",
    summary="Households in your area (住户列表)",
    description="Newest first; filter by `building_id` or `area_id` (subtree).",
)
async def list_households(
    session: SessionDep,
    principal: Archivist,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    building_id: uuid.UUID | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    keys = Keyset.open(settings, principal, "households", cursor)
    rows = await service.list_in_area(
        session,
        principal,
        "households",
        filters={"area_id": area_id, "building_id": building_id},
        after=keys.after,
        limit=limit,
    )
    return keys.answer(rows, limit, HouseholdOut.model_validate)


@router.get(
    "/households/{household_id}",
    response_model=HouseholdOut,
    operation_id="households_get",
    summary="A household (住户详情)",
    description="404 when outside your area.",
    responses={**problem_responses(404), **NOT_MODIFIED},
)
async def get_household(
    household_id: uuid.UUID, session: SessionDep, principal: Archivist, request: Request, response: Response
) -> Any:
    household = await service.get_household(session, principal, household_id)
    return conditional(request, response, household, HouseholdOut.model_validate(household))


@router.patch(
    "/households/{household_id}",
    response_model=HouseholdOut,
    operation_id="households_update",
    summary="Change a household's address (修改住户)",
    description="Requires `If-Match` (428 without, 412 when stale).",
    responses=problem_responses(404, 412, 428),
)
async def update_household(
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    session: SessionDep,
    principal: Archivist,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    household = await service.get_household(session, principal, household_id)
    write_if_match(household, if_match)
    household = await service.update_simple(session, household, body.model_dump(exclude_unset=True))
    return tagged(response, household, HouseholdOut.model_validate(household))


# --- residents 居民 ----------------------------------------------------------------------------


@router.post(
    "/residents",
    status_code=201,
    response_model=ResidentOut,
    operation_id="residents_create",
    summary="Register a resident (新建居民档案)",
    description="Phone and ID number are stored encrypted (AES-GCM) and answered masked. Tags mark "
    "groups that need regular visits (独居老人, 空巢老人, 残疾人, 低保, 留守儿童, 退役军人, 党员).",
)
async def create_resident(
    body: ResidentCreate, session: SessionDep, principal: Archivist, settings: SettingsDep, response: Response
) -> Any:
    resident = await service.create_resident(session, principal, body.model_dump(exclude_unset=True), settings)
    return created(
        response, f"/api/v1/residents/{resident.id}", service.resident_out(resident, principal, settings), resident
    )


@router.get(
    "/residents",
    response_model=Page[ResidentOut],
    operation_id="residents_list",
    summary="Residents in your area (居民列表)",
    description="Newest first. `phone` and `id_number` find a resident by the exact number (through a "
    "blind index; the numbers themselves are never searched in clear); `q` matches names; `tag` one tag.",
)
async def list_residents(
    session: SessionDep,
    principal: Archivist,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    tag: ResidentTag | None = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    id_number: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    filters = {
        "area_id": area_id,
        "household_id": household_id,
        "tag": tag.value if tag else None,
        "phone": phone,
        "id_number": id_number,
        "q": q,
    }
    keys = Keyset.open(settings, principal, "residents", cursor)
    rows = await service.list_residents(
        session, principal, filters=filters, settings=settings, after=keys.after, limit=limit
    )
    return keys.answer(rows, limit, lambda r: service.resident_out(r, principal, settings))


@router.get(
    "/residents/due-visits",
    response_model=Page[DueVisitOut],
    operation_id="residents_due_visits",
    summary="Residents due for a visit (待走访对象)",
    description="Residents in your area whose visit is due: the shortest interval of their tags "
    "(setting `visit_interval_days`, e.g. monthly for 独居老人) has passed since `last_visited_at`, "
    "which a diary entry naming the resident moves forward. Never-visited residents are due at once. "
    "Most overdue first.",
)
async def due_visits(
    session: SessionDep,
    principal: Archivist,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    keys = Keyset.open(settings, principal, "residents.due_visits", cursor)
    rows = await service.due_visits(
        session, principal, area_id=area_id, settings=settings, after=keys.after, limit=limit
    )
    return keys.answer(
        rows,
        limit,
        lambda row: DueVisitOut(
            resident=service.resident_out(row[0], principal, settings), interval_days=row[1], due_at=row[2]
        ),
        key=lambda row: [row[2], row[0].id],
    )


@router.get(
    "/residents/{resident_id}",
    response_model=ResidentOut,
    operation_id="residents_get",
    summary="A resident's record (居民档案)",
    description="Masked like every response; use `reveal` for the clear values. 404 when outside your area.",
    responses={**problem_responses(404), **NOT_MODIFIED},
)
async def get_resident(
    resident_id: uuid.UUID,
    session: SessionDep,
    principal: Archivist,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> Any:
    resident = await service.get_resident(session, principal, resident_id)
    return conditional(request, response, resident, service.resident_out(resident, principal, settings))


@router.patch(
    "/residents/{resident_id}",
    response_model=ResidentOut,
    operation_id="residents_update",
    summary="Update a resident's record (修改居民档案)",
    description="Requires `If-Match` (428 without, 412 when stale). Moving to another household moves the "
    "resident to that household's area.",
    responses=problem_responses(404, 412, 428),
)
async def update_resident(
    resident_id: uuid.UUID,
    body: ResidentUpdate,
    session: SessionDep,
    principal: Archivist,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    resident = await service.get_resident(session, principal, resident_id)
    write_if_match(resident, if_match)
    resident = await service.update_resident(
        session, principal, resident, body.model_dump(exclude_unset=True), settings
    )
    return tagged(response, resident, service.resident_out(resident, principal, settings))


@router.post(
    "/residents/{resident_id}/reveal",
    response_model=ResidentRevealed,
    operation_id="residents_reveal",
    summary="Reveal a resident's phone and ID number (查看个人信息明文)",
    description="Returns the clear name, phone and ID number and writes an audit row (actor, reason, "
    "request id) in the same transaction. A `reason` is required. Grid workers and administrators in "
    "whose area the resident lives only; viewers and departments never see personal data.",
    responses=problem_responses(404),
)
async def reveal_resident(
    resident_id: uuid.UUID, body: RevealIn, session: SessionDep, principal: Revealer, settings: SettingsDep
) -> ResidentRevealed:
    return await service.reveal(session, principal, resident_id, body.reason, settings)
