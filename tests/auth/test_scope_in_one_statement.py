"""The one-statement form of the scope rules (``caller_scope_filter``, used by reads that
authenticate and read in one round trip) must select exactly what ``scope_filter`` selects."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from app.auth.roles import Role
from app.db import create_engine
from app.issues.models import Issue
from app.scope import Principal, caller_row, caller_scope_filter, scope_filter
from tests import world
from tests.issues.helpers import G1_POINT, G2_POINT, M1_POINT, create, dispatched_to_unit


async def test_caller_scope_filter_selects_what_scope_filter_selects(client, settings):
    made = [
        await create(client, location=G1_POINT),
        await create(client, "grid_worker_g2", location=G2_POINT),
        await create(client, "community_admin", location=M1_POINT),
        await create(client, "street_admin", area_id=str(world.AREA["G3"].id), location=None),
        await dispatched_to_unit(client),
        await create(client, "other_admin", area_id=str(world.AREA["XS"].id), location=None),
    ]
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            area_paths = dict((await conn.execute(sa.text("SELECT id, path::text FROM areas"))).all())
            made_ids = {uuid.UUID(i["id"]) for i in made}
            seen: dict[str, set[uuid.UUID]] = {}
            for spec in world.USERS:
                principal = Principal(
                    user_id=spec.id,
                    username=spec.key,
                    display_name=spec.key,
                    role=Role(spec.role),
                    area_id=world.AREA[spec.area].id,
                    area_path=area_paths[world.AREA[spec.area].id],
                    unit_id=spec.unit,
                )
                bound = scope_filter(principal, area_column=Issue.area_id, unit_column=Issue.assignee_unit_id)
                expected = set((await conn.execute(sa.select(Issue.id).where(bound))).scalars())
                caller = caller_row(sa.literal(spec.id, Issue.id.type))
                in_sql = caller_scope_filter(caller, area_column=Issue.area_id, unit_column=Issue.assignee_unit_id)
                got = set((await conn.execute(sa.select(Issue.id).select_from(caller).join(Issue, in_sql))).scalars())
                assert got == expected, spec.key
                seen[spec.key] = got & made_ids
            # and the issues made here do tell the rules apart
            ids = [uuid.UUID(i["id"]) for i in made]
            assert seen["admin"] == set(ids[:5])
            assert seen["grid_worker_g2"] == {ids[1]}
            assert seen["department"] == {ids[4]}
            assert seen["other_admin"] == {ids[5]}
    finally:
        await engine.dispose()
