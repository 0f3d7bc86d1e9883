"""SQL for users, units, API keys and login throttling."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, LoginFailure, Unit, User
from app.kit import ratelimit
from app.kit.repository import ScopedRepository
from app.scope import Principal, area_name_of, area_path_of, scope_filter, serving


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return (await session.execute(sa.select(User).where(User.username == username))).scalar_one_or_none()


async def api_key_with_owner(session: AsyncSession, prefix: str) -> tuple[ApiKey, User, str] | None:
    row = (
        await session.execute(
            sa.select(ApiKey, User, area_path_of(ApiKey.area_id))
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.prefix == prefix)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def area_name(session: AsyncSession, area_id: uuid.UUID) -> str | None:
    name: str | None = await session.scalar(sa.select(area_name_of(area_id)))
    return name


async def list_users(
    session: AsyncSession, principal: Principal, *, role: str | None, after: Any, limit: int
) -> Sequence[User]:
    stmt = sa.select(User).where(scope_filter(principal, area_column=User.home_area_id))
    if role:
        stmt = stmt.where(User.role == role)
    if after is not None:
        stmt = stmt.where(User.username > after)
    stmt = stmt.order_by(User.username).limit(limit + 1)
    return (await session.execute(stmt)).scalars().all()


users = ScopedRepository(User, area=User.home_area_id, thing="user", within="your jurisdiction")


async def list_units(session: AsyncSession, principal: Principal) -> Sequence[Unit]:
    """The units that work in the caller's area: registered in its subtree or at one of its
    ancestors (a district's departments serve every street of it). The same for every role —
    a department user included — so nobody learns of another district's units."""
    stmt = sa.select(Unit).where(serving(Unit.area_id, principal.area_path)).order_by(Unit.code)
    return (await session.execute(stmt)).scalars().all()


async def list_api_keys(session: AsyncSession, principal: Principal) -> Sequence[ApiKey]:
    stmt = (
        sa.select(ApiKey)
        .where(scope_filter(principal, area_column=ApiKey.area_id))
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return (await session.execute(stmt)).scalars().all()


async def get_api_key_in_scope(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey | None:
    stmt = sa.select(ApiKey).where(ApiKey.id == key_id, scope_filter(principal, area_column=ApiKey.area_id))
    return (await session.execute(stmt)).scalar_one_or_none()


# --- login throttling -------------------------------------------------------------------------


async def throttle_state(session: AsyncSession, keys: Sequence[str]) -> Sequence[LoginFailure]:
    return (await session.execute(sa.select(LoginFailure).where(LoginFailure.key.in_(keys)))).scalars().all()


async def record_failure(session: AsyncSession, key: str, now: dt.datetime, window_seconds: int) -> None:
    """Count a failed sign-in on ``key`` in the window its first failure opened (the shared counter)."""
    await ratelimit.count(
        session,
        LoginFailure,
        key,
        start=now,
        open_since=now - dt.timedelta(seconds=window_seconds),
        counter="failures",
    )


async def note_login(
    session: AsyncSession, user_id: uuid.UUID, at: dt.datetime, *, renewed_hash: str | None = None
) -> None:
    """Bookkeeping outside the user's representation: a Core UPDATE, so the user's version (its
    ETag) stays and a login never fails an administrator's pending edit of the account. A
    ``renewed_hash`` (the password hashed again with today's argon2 parameters) is stored with it."""
    table = cast(sa.Table, User.__table__)
    values: dict[str, object] = {"last_login_at": at}
    if renewed_hash is not None:
        values["password_hash"] = renewed_hash
    await session.execute(sa.update(table).where(table.c.id == user_id).values(**values))


async def clear_failures(session: AsyncSession, key: str) -> None:
    await session.execute(sa.delete(LoginFailure).where(LoginFailure.key == key))


async def purge_failures(session: AsyncSession, older_than: dt.datetime) -> int:
    """Delete failure counters whose window opened before ``older_than``."""
    result = await session.execute(sa.delete(LoginFailure).where(LoginFailure.window_start < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
