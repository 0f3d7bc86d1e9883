"""Residents' archive (居民电子档案): scoped CRUD, encrypted personal data, audited reveal, visit plan."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.roles import ROLES_SEEING_PERSONAL_DATA, Role
from app.config import Settings
from app.errors import ValidationFailed, field_error
from app.grids import service as grids
from app.kit import clock
from app.kit.crypto import FieldCipher, cipher_for
from app.kit.ids import new_id
from app.kit.masking import mask_id_number, mask_name, mask_phone
from app.kit.patch import not_null
from app.kit.repository import saved
from app.residents import repository
from app.residents.models import Building, Household, Resident, is_sensitive
from app.residents.schemas import ResidentOut, ResidentRevealed
from app.scope import Principal

PHONE_CONTEXT = "resident.phone"
ID_NUMBER_CONTEXT = "resident.id_number"
ARCHIVE_ROLES: frozenset[Role] = frozenset({Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
# Reveal (查看明文) is for the archive's users who may see personal data at all; each call is audited.
REVEAL_ROLES: frozenset[Role] = ARCHIVE_ROLES & ROLES_SEEING_PERSONAL_DATA


# --- buildings and households ----------------------------------------------------------------


async def create_building(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> Building:
    area = await grids.get_grid_in_scope(session, principal, data.get("area_id"))
    await repository.buildings.check_new(session, data.get("id"))
    building = Building(id=data.get("id") or new_id(), area_id=area.id, name=data["name"], address=data.get("address"))
    session.add(building)
    await session.flush()
    return building


get_building = repository.buildings.one
"""A building of the caller's area: 404 ``building_not_found``, or 422 ``unknown_building`` (a body's id)."""


async def create_household(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> Household:
    building = await get_building(session, principal, data["building_id"], field="building_id")
    await repository.households.check_new(session, data.get("id"))
    household = Household(
        id=data.get("id") or new_id(), building_id=building.id, area_id=building.area_id, address=data["address"]
    )
    session.add(household)
    await session.flush()
    return household


get_household = repository.households.one
"""A household of the caller's area: 404 ``household_not_found``, or 422 ``unknown_household``."""


async def update_simple(session: AsyncSession, obj: Building | Household, changes: Mapping[str, Any]) -> Any:
    not_null(changes, changes)
    for key, value in changes.items():
        setattr(obj, key, value)
    return await saved(session, obj)


# --- residents --------------------------------------------------------------------------------


def _apply_personal(resident: Resident, data: Mapping[str, Any], cipher: FieldCipher) -> None:
    if "phone" in data:
        resident.phone_enc = cipher.encrypt(data["phone"], context=PHONE_CONTEXT)
        resident.phone_index = cipher.blind_index(data["phone"], kind="phone")
    if "id_number" in data:
        resident.id_number_enc = cipher.encrypt(data["id_number"], context=ID_NUMBER_CONTEXT)
        resident.id_number_index = cipher.blind_index(data["id_number"], kind="id_number")


async def create_resident(
    session: AsyncSession, principal: Principal, data: dict[str, Any], settings: Settings
) -> Resident:
    if data.get("household_id"):
        household = await get_household(session, principal, data["household_id"], field="household_id")
        if data.get("area_id") and data["area_id"] != household.area_id:
            raise ValidationFailed(
                "A resident lives where the household is; leave area_id out.",
                code="area_mismatch",
                errors=[field_error("area_id", "must match the household's area")],
            )
        area_id = household.area_id
    else:
        area_id = (await grids.get_grid_in_scope(session, principal, data.get("area_id"))).id
    await repository.residents.check_new(session, data.get("id"))
    resident = Resident(
        id=data.get("id") or new_id(),
        household_id=data.get("household_id"),
        area_id=area_id,
        name=data["name"],
        gender=str(data.get("gender") or "unknown"),
        birth_date=data.get("birth_date"),
        tags=[str(t) for t in data.get("tags") or []],
    )
    _apply_personal(resident, data, cipher_for(settings))
    return await saved(session, resident, new=True)


get_resident = repository.residents.one
"""A resident of the caller's area: 404 ``resident_not_found``."""


async def update_resident(
    session: AsyncSession, principal: Principal, resident: Resident, changes: dict[str, Any], settings: Settings
) -> Resident:
    if changes.get("household_id"):
        household = await get_household(session, principal, changes["household_id"], field="household_id")
        resident.household_id, resident.area_id = household.id, household.area_id
    elif "household_id" in changes:
        resident.household_id = None
    not_null(changes, ("name", "gender", "tags"))
    for key in ("name", "gender", "tags"):
        if key in changes:
            setattr(resident, key, [str(t) for t in changes[key]] if key == "tags" else str(changes[key]))
    if "birth_date" in changes:
        resident.birth_date = changes["birth_date"]
    _apply_personal(resident, changes, cipher_for(settings))
    return await saved(session, resident)


async def list_residents(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: dict[str, Any],
    settings: Settings,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Resident]:
    cipher = cipher_for(settings)
    filters["area_path"] = await grids.area_path(session, principal, filters.get("area_id"))
    if filters.get("phone"):
        filters["phone_index"] = cipher.blind_index(filters["phone"], kind="phone")
    if filters.get("id_number"):
        filters["id_number_index"] = cipher.blind_index(filters["id_number"], kind="id_number")
    return await repository.list_residents(session, principal, filters=filters, after=after, limit=limit)


async def list_in_area(
    session: AsyncSession,
    principal: Principal,
    what: str,
    *,
    filters: dict[str, Any],
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Any]:
    filters["area_path"] = await grids.area_path(session, principal, filters.get("area_id"))
    lister = repository.list_buildings if what == "buildings" else repository.list_households
    return await lister(session, principal, filters=filters, after=after, limit=limit)


async def due_visits(
    session: AsyncSession,
    principal: Principal,
    *,
    area_id: uuid.UUID | None,
    settings: Settings,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[tuple[Resident, int, dt.datetime]]:
    area_path = (await grids.get_in_scope(session, principal, area_id, field="area_id")).path if area_id else None
    return await repository.due_visits(
        session,
        principal,
        intervals=settings.visit_interval_days,
        now=clock.now(),
        area_path=area_path,
        after=after,
        limit=limit,
    )


def resident_out(resident: Resident, principal: Principal, settings: Settings) -> ResidentOut:
    """The resident as every response shows it: phone and ID number always masked."""
    cipher = cipher_for(settings)
    return ResidentOut(
        id=resident.id,
        household_id=resident.household_id,
        area_id=resident.area_id,
        name=resident.name if principal.may_see_personal_data else (mask_name(resident.name) or ""),
        gender=resident.gender,
        birth_date=resident.birth_date if principal.may_see_personal_data else None,
        phone=mask_phone(cipher.decrypt(resident.phone_enc, context=PHONE_CONTEXT)),
        id_number=mask_id_number(cipher.decrypt(resident.id_number_enc, context=ID_NUMBER_CONTEXT)),
        tags=resident.tags,
        sensitive=is_sensitive(resident.tags, resident.birth_date, clock.today(settings.timezone)),
        last_visited_at=resident.last_visited_at,
        version=resident.version,
        created_at=resident.created_at,
        updated_at=resident.updated_at,
    )


async def reveal(
    session: AsyncSession, principal: Principal, resident_id: uuid.UUID, reason: str, settings: Settings
) -> ResidentRevealed:
    """Clear phone and ID number, with an audit row in the same transaction (查看明文须留痕)."""
    audit.check_may_reveal(principal, REVEAL_ROLES)
    resident = await get_resident(session, principal, resident_id)
    await audit.record(session, principal, "resident.reveal", resident.id, resident.area_id, reason=reason)
    cipher = cipher_for(settings)
    return ResidentRevealed(
        id=resident.id,
        name=resident.name,
        phone=cipher.decrypt(resident.phone_enc, context=PHONE_CONTEXT),
        id_number=cipher.decrypt(resident.id_number_enc, context=ID_NUMBER_CONTEXT),
    )


async def check_links(
    session: AsyncSession,
    principal: Principal,
    *,
    household_ids: Sequence[uuid.UUID],
    resident_ids: Sequence[uuid.UUID],
) -> tuple[dict[uuid.UUID, uuid.UUID], dict[uuid.UUID, uuid.UUID]]:
    """Which of these households / residents the caller may link to (diary entries): ``{id: area_id}``."""
    households = await repository.visible_ids(session, principal, Household, list(set(household_ids)))
    residents = await repository.visible_ids(session, principal, Resident, list(set(resident_ids)))
    return households, residents


async def mark_visited(session: AsyncSession, visits: Mapping[uuid.UUID, dt.datetime]) -> None:
    await repository.mark_visited(session, visits)
