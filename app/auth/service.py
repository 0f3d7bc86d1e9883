"""Sign-in with throttling, user and unit administration, API keys."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import repository
from app.auth.models import ApiKey, Unit, User
from app.auth.roles import Role
from app.auth.security import check_password, generate_api_key, hash_password_off_loop, issue_token
from app.config import Settings
from app.errors import Conflict, NotFound, RateLimited, Unauthorized, ValidationFailed, field_error
from app.kit import clock
from app.kit.signing import generate_secret
from app.scope import Principal, area_in_scope, path_within, resolve_in_scope


async def _check_throttle(session: AsyncSession, keys: list[str], settings: Settings) -> None:
    now = clock.now()
    window = dt.timedelta(seconds=settings.login_window_seconds)
    for row in await repository.throttle_state(session, keys):
        if row.failures >= settings.login_max_failures and row.window_start > now - window:
            retry_after = int((row.window_start + window - now).total_seconds()) + 1
            raise RateLimited(
                "Too many failed sign-ins; wait before trying again.",
                code="login_throttled",
                retry_after=retry_after,
            )


async def login(
    session: AsyncSession,
    side_sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    username: str,
    password: str,
    client_addr: str,
) -> tuple[str, int]:
    """Check credentials and return a bearer token.

    Failures are recorded in a separate transaction: the request's own transaction is rolled back
    when it answers 401, but the count must survive so throttling works across workers and nodes.
    """
    keys = [f"user:{username.lower()}", f"addr:{client_addr}"]
    await _check_throttle(session, keys, settings)
    user = await repository.user_by_username(session, username)
    ok, renewed_hash = await check_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        async with side_sessions() as side, side.begin():
            for key in keys:
                await repository.record_failure(side, key, clock.now(), settings.login_window_seconds)
        raise Unauthorized("Wrong username or password, or the account is deactivated.", code="invalid_credentials")
    await repository.clear_failures(session, keys[0])
    # A hash made with older argon2 parameters is stored again with today's (renewed_hash).
    await repository.note_login(session, user.id, clock.now(), renewed_hash=renewed_hash)
    return issue_token(
        user_id=user.id,
        role=user.role,
        secret=settings.require_jwt_secret(),
        ttl_seconds=settings.jwt_ttl_seconds,
        issuer=settings.jwt_issuer,
    )


async def _check_unit(session: AsyncSession, principal: Principal, role: Role, unit_id: uuid.UUID | None) -> None:
    if role is Role.DEPARTMENT and unit_id is None:
        raise ValidationFailed(
            "Department users belong to a unit.",
            code="unit_required",
            errors=[field_error("unit_id", "required for role department")],
        )
    if unit_id is not None:
        await resolve_in_scope(session, principal, Unit, unit_id, field="unit_id", thing="unit")


async def create_user(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> User:
    role = Role(data["role"])
    if role is Role.INTEGRATION and data.get("unit_id"):
        raise ValidationFailed(
            "Integration accounts have no unit.",
            code="unit_not_allowed",
            errors=[field_error("unit_id", "must be empty for integration")],
        )
    await area_in_scope(session, principal, data["home_area_id"], field="home_area_id")
    await _check_unit(session, principal, role, data.get("unit_id"))
    if await repository.user_by_username(session, data["username"]) is not None:
        raise Conflict(f"Username {data['username']!r} is taken.", code="username_taken")
    user = User(
        username=data["username"],
        display_name=data["display_name"],
        password_hash=await hash_password_off_loop(data["password"]),
        role=role.value,
        home_area_id=data["home_area_id"],
        unit_id=data.get("unit_id"),
        phone=data.get("phone"),
    )
    session.add(user)
    await session.flush()
    return user


get_user = repository.users.one
"""A staff account homed in the caller's subtree: 404 ``user_not_found``."""


async def update_user(session: AsyncSession, principal: Principal, user: User, changes: dict[str, Any]) -> User:
    if "home_area_id" in changes and changes["home_area_id"] is not None:
        await area_in_scope(session, principal, changes["home_area_id"], field="home_area_id")
        user.home_area_id = changes["home_area_id"]
    role = Role(changes["role"]) if changes.get("role") else Role(user.role)
    unit_id = changes["unit_id"] if "unit_id" in changes else user.unit_id
    await _check_unit(session, principal, role, unit_id)
    user.role, user.unit_id = role.value, unit_id
    if changes.get("display_name"):
        user.display_name = changes["display_name"]
    if changes.get("password"):
        user.password_hash = await hash_password_off_loop(changes["password"])
    if changes.get("is_active") is not None:
        if user.id == principal.user_id and not changes["is_active"]:
            raise Conflict("You cannot deactivate yourself.", code="cannot_deactivate_self")
        user.is_active = changes["is_active"]
    await session.flush()
    return user


async def create_unit(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> Unit:
    await area_in_scope(session, principal, data["area_id"], field="area_id")
    unit = Unit(code=data["code"], name=data["name"], kind=data["kind"], area_id=data["area_id"])
    session.add(unit)
    try:
        async with session.begin_nested():
            await session.flush()
    except Exception as exc:
        if "uq_units_code" in str(exc):
            raise Conflict(f"A unit with code {data['code']!r} exists.", code="unit_code_taken") from exc
        raise
    return unit


async def create_api_key(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> tuple[ApiKey, str]:
    owner_id = data.get("user_id") or principal.user_id
    owner = await resolve_in_scope(
        session, principal, User, owner_id, field="user_id", thing="user", area_column=User.home_area_id
    )
    owner_area = await area_in_scope(session, principal, owner.home_area_id, field="user_id")
    area = owner_area
    if data.get("area_id"):
        area = await area_in_scope(session, principal, data["area_id"], field="area_id")
        if not path_within(area.path, owner_area.path):
            raise ValidationFailed(
                "A key cannot reach beyond its owner's area.",
                code="key_scope_too_wide",
                errors=[field_error("area_id", "must be inside the owner's home area")],
            )
    return await new_api_key(
        session, name=data["name"], owner_id=owner.id, area_id=area.id, created_by=principal.user_id
    )


async def new_api_key(
    session: AsyncSession, *, name: str, owner_id: uuid.UUID, area_id: uuid.UUID, created_by: uuid.UUID
) -> tuple[ApiKey, str]:
    """Store a new API key of ``owner_id`` reaching ``area_id``'s subtree, with a signing secret:
    the key and its plaintext (shown once; only a hash is kept)."""
    material = generate_api_key()
    key = ApiKey(
        name=name,
        user_id=owner_id,
        area_id=area_id,
        prefix=material.prefix,
        key_hash=material.key_hash,
        signing_secret=generate_secret(),
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    return key, material.plaintext


async def revoke_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    key = await repository.get_api_key_in_scope(session, principal, key_id)
    if key is None:
        raise NotFound("No such API key.", code="api_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        await session.flush()
    return key


# --- reads for the endpoints ------------------------------------------------------------------


async def home_area_name(session: AsyncSession, principal: Principal) -> str | None:
    return await repository.area_name(session, principal.area_id)


async def list_users(
    session: AsyncSession, principal: Principal, *, role: str | None, after: Any, limit: int
) -> Sequence[User]:
    """Users homed in the caller's subtree by username, after ``after``: ``limit + 1`` rows."""
    return await repository.list_users(session, principal, role=role, after=after, limit=limit)


async def list_units(session: AsyncSession, principal: Principal) -> Sequence[Unit]:
    return await repository.list_units(session, principal)


async def list_api_keys(session: AsyncSession, principal: Principal) -> Sequence[ApiKey]:
    return await repository.list_api_keys(session, principal)
