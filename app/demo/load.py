"""Load the demo data set (``app.demo.data``) into an empty database through the domain services."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Unit, User
from app.auth.security import hash_password
from app.config import Settings, get_settings
from app.db import create_engine, session_factory
from app.demo import data
from app.grids.models import Area, Level
from app.grids.service import create_area

log = logging.getLogger("minqing.demo")

# One account per role worth trying first (all share ``data.DEMO_PASSWORD``).
DEMO_ACCOUNTS: list[tuple[str, str, str]] = [
    ("admin", "admin", "周至县"),
    ("admin_chengqu", "admin", "阳泉市城区"),
    ("viewer_zhouzhi", "viewer", "周至县"),
    ("street_saiyu", "street_admin", "赛鱼街道"),
    ("community_ruyizhuang", "community_admin", "如意庄社区"),
    ("grid_ruyizhuang_1", "grid_worker", "如意庄社区 第一网格 (于润生)"),
    ("mediator_saiyu", "mediator", "赛鱼街道"),
    ("dept_yuntan", "department", "云潭物业公司"),
]
DEMO_LOGINS: list[tuple[str, str, str, str]] = [(u, data.DEMO_PASSWORD, r, a) for u, r, a in DEMO_ACCOUNTS]

NUMBER_PREFIXES = {data.ZHOUZHI: "ZZ", data.CHENGQU: "YQ"}

EXTRA_USERS = [data.DemoUser("admin_chengqu", "城区系统管理员", "admin", data.CHENGQU), data.OPEN311_PORTAL]


async def _is_empty(session: AsyncSession) -> bool:
    return (await session.execute(sa.select(sa.func.count()).select_from(Area))).scalar_one() == 0


async def load_places_and_people(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """Areas (validated like any import), units and staff accounts."""
    tolerance = settings.area_containment_tolerance
    areas: dict[str, Area] = {}
    for spec in data.AREAS:
        areas[spec.code] = await create_area(
            session,
            code=spec.code,
            name=spec.name,
            level=Level(spec.level),
            parent=areas.get(spec.parent_code) if spec.parent_code else None,
            boundary=spec.boundary,
            tolerance=tolerance,
            check_code=False,
        )
    # Short prefixes for human-readable issue numbers (ZZ-20261123-000123), as the counties print them.
    for code, prefix in NUMBER_PREFIXES.items():
        areas[code].number_prefix = prefix
    await session.flush()
    units: dict[str, Unit] = {}
    for u in data.UNITS:
        units[u.code] = Unit(code=u.code, name=u.name, kind=u.kind, area_id=areas[u.area_code].id)
        session.add(units[u.code])
    await session.flush()
    password_hash = hash_password(data.DEMO_PASSWORD)
    users: dict[str, User] = {}
    for person in [*data.USERS, *EXTRA_USERS]:
        users[person.username] = User(
            username=person.username,
            display_name=person.display_name,
            password_hash=password_hash,
            role=person.role,
            home_area_id=areas[person.area_code].id,
            unit_id=units[person.unit_code].id if person.unit_code else None,
        )
        session.add(users[person.username])
    await session.flush()
    return {"areas": areas, "units": units, "users": users, "settings": settings}


def _stages() -> list[Any]:
    """Stages after places and people, in order: ``async def stage(session, ctx)``."""
    from app.demo.commitments import load_commitments
    from app.demo.community import load_diary, load_disputes, load_residents
    from app.demo.issues import load_issues
    from app.demo.open311 import load_open311
    from app.demo.volunteers import load_volunteers

    return [load_residents, load_issues, load_diary, load_disputes, load_open311, load_volunteers, load_commitments]


async def seed_demo(url: str, settings: Settings | None = None) -> bool:
    """Load everything into an empty database; False (and nothing changed) when data exists."""
    settings = settings or get_settings()
    engine = create_engine(settings, url=url, pool_size=2, max_overflow=0)
    try:
        async with session_factory(engine)() as session, session.begin():
            if not await _is_empty(session):
                return False
            ctx = await load_places_and_people(session, settings)
            for stage in _stages():
                await stage(session, ctx)
        return True
    finally:
        await engine.dispose()
