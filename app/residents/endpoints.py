"""/api/v1/buildings, /households, /residents — the residents' archive (居民电子档案)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query

from app.auth.deps import require_roles
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.routes import Versioned, checked, create_route, list_route, read_route, update_route
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

BUILDING = Versioned(
    "building_id", BuildingOut, get=service.get_building, change=checked(service.get_building, required=True)
)
HOUSEHOLD = Versioned(
    "household_id", HouseholdOut, get=service.get_household, change=checked(service.get_household, required=True)
)
RESIDENT = Versioned(
    "resident_id",
    ResidentOut,
    get=service.get_resident,
    change=checked(service.get_resident, required=True),
    show=lambda call, resident: service.resident_out(resident, call.principal, call.settings),
)


# --- buildings 楼栋 ----------------------------------------------------------------------------


create_route(
    router,
    "/buildings",
    BUILDING,
    Archivist,
    lambda call, body: service.create_building(call.session, call.principal, body.model_dump()),
    body=BuildingCreate,
    operation_id="buildings_create",
    summary="Register a building (新建楼栋)",
    description="A building in a grid or micro-grid of your area (default: your home area).",
)


list_route(
    router,
    "/buildings",
    BuildingOut,
    Archivist,
    "buildings",
    lambda session, principal, **page: service.list_in_area(session, principal, "buildings", **page),
    filters={"area_id": uuid.UUID | None, "q": Annotated[str | None, Query(max_length=100)]},
    out=BuildingOut.model_validate,
    operation_id="buildings_list",
    summary="Buildings in your area (楼栋列表)",
    description="Newest first; `area_id` limits to an area's subtree, `q` searches names.",
)


read_route(
    router,
    "/buildings/{building_id}",
    BUILDING,
    Archivist,
    conditional=True,
    operation_id="buildings_get",
    summary="A building (楼栋详情)",
    description="404 when outside your area.",
)
update_route(
    router,
    "/buildings/{building_id}",
    BUILDING,
    Archivist,
    lambda call, building, body: service.update_simple(call.session, building, body.model_dump(exclude_unset=True)),
    body=BuildingUpdate,
    operation_id="buildings_update",
    summary="Rename a building (修改楼栋)",
    description="Requires `If-Match` (428 without, 412 when stale).",
)


# --- households 户 -----------------------------------------------------------------------------


create_route(
    router,
    "/households",
    HOUSEHOLD,
    Archivist,
    lambda call, body: service.create_household(call.session, call.principal, body.model_dump()),
    body=HouseholdCreate,
    operation_id="households_create",
    summary="Register a household (新建住户)",
    description="A household (户) with its address, in a building of your area.",
)


list_route(
    router,
    "/households",
    HouseholdOut,
    Archivist,
    "households",
    lambda session, principal, **page: service.list_in_area(session, principal, "households", **page),
    filters={"area_id": uuid.UUID | None, "building_id": uuid.UUID | None},
    out=HouseholdOut.model_validate,
    operation_id="households_list",
    summary="Households in your area (住户列表)",
    description="Newest first; filter by `building_id` or `area_id` (subtree).",
)


read_route(
    router,
    "/households/{household_id}",
    HOUSEHOLD,
    Archivist,
    conditional=True,
    operation_id="households_get",
    summary="A household (住户详情)",
    description="404 when outside your area.",
)
update_route(
    router,
    "/households/{household_id}",
    HOUSEHOLD,
    Archivist,
    lambda call, household, body: service.update_simple(call.session, household, body.model_dump(exclude_unset=True)),
    body=HouseholdUpdate,
    operation_id="households_update",
    summary="Change a household's address (修改住户)",
    description="Requires `If-Match` (428 without, 412 when stale).",
)


# --- residents 居民 ----------------------------------------------------------------------------


create_route(
    router,
    "/residents",
    RESIDENT,
    Archivist,
    lambda call, body: service.create_resident(
        call.session, call.principal, body.model_dump(exclude_unset=True), call.settings
    ),
    body=ResidentCreate,
    operation_id="residents_create",
    summary="Register a resident (新建居民档案)",
    description="Phone and ID number are stored encrypted (AES-GCM) and answered masked. Tags mark "
    "groups that need regular visits (独居老人, 空巢老人, 残疾人, 低保, 留守儿童, 退役军人, 党员).",
)


list_route(
    router,
    "/residents",
    ResidentOut,
    Archivist,
    "residents",
    service.list_residents,
    with_settings=True,
    filters={
        "area_id": uuid.UUID | None,
        "household_id": uuid.UUID | None,
        "tag": ResidentTag | None,
        "phone": Annotated[str | None, Query(max_length=32)],
        "id_number": Annotated[str | None, Query(max_length=32)],
        "q": Annotated[str | None, Query(max_length=100)],
    },
    outs=lambda call, rows: [service.resident_out(r, call.principal, call.settings) for r in rows],
    operation_id="residents_list",
    summary="Residents in your area (居民列表)",
    description="Newest first. `phone` and `id_number` find a resident by the exact number (through a "
    "blind index; the numbers themselves are never searched in clear); `q` matches names; `tag` one tag.",
)


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


read_route(
    router,
    "/residents/{resident_id}",
    RESIDENT,
    Archivist,
    conditional=True,
    operation_id="residents_get",
    summary="A resident's record (居民档案)",
    description="Masked like every response; use `reveal` for the clear values. 404 when outside your area.",
)
update_route(
    router,
    "/residents/{resident_id}",
    RESIDENT,
    Archivist,
    lambda call, resident, body: service.update_resident(
        call.session, call.principal, resident, body.model_dump(exclude_unset=True), call.settings
    ),
    body=ResidentUpdate,
    operation_id="residents_update",
    summary="Update a resident's record (修改居民档案)",
    description="Requires `If-Match` (428 without, 412 when stale). Moving to another household moves the "
    "resident to that household's area.",
)


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
