"""Generate a realistic city with COPY: one district of 20 streets, 300 communities and 3,000 grids
(with boundaries), their staff, and N issues spread over two years (``bench/issues_gen.py``, registered
in ``EXTRA_GENERATORS``)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from rich.console import Console

from app.auth.security import hash_password
from app.kit.ids import new_id

PASSWORD = "bench-password"
STREETS, COMMUNITIES_PER_STREET, GRIDS_PER_COMMUNITY = 20, 15, 10
ORIGIN = (116.0, 39.5)  # lng, lat of the south-west corner
STREET_W, STREET_H = 0.1, 0.08


@dataclasses.dataclass
class World:
    district_id: uuid.UUID
    street_ids: list[uuid.UUID]
    community_ids: list[uuid.UUID]
    grid_ids: list[uuid.UUID]
    grid_bbox: dict[uuid.UUID, tuple[float, float, float, float]]
    users: dict[str, uuid.UUID]  # username -> id (admin, street_0, community_0_0, grid_0_0_0 …)
    issues: int = 0
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{len(self.street_ids)} streets, {len(self.community_ids)} communities, "
            f"{len(self.grid_ids)} grids, {len(self.users)} users, {self.issues:,} issues"
        )


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


EXTRA_GENERATORS: list[Callable[[asyncpg.Connection, World, int, Console], Awaitable[None]]] = []
"""Domain generators (issues, events …) appended by other modules: ``await gen(conn, world, n, console)``."""


async def _load_world(conn: asyncpg.Connection) -> World | None:
    district = await conn.fetchrow("SELECT id FROM areas WHERE code = 'BENCH'")
    if district is None:
        return None
    rows = await conn.fetch(
        "SELECT id, level, min_lng, min_lat, max_lng, max_lat FROM areas WHERE code LIKE 'B%' ORDER BY code"
    )
    users = {
        r["username"]: r["id"] for r in await conn.fetch("SELECT id, username FROM users WHERE username LIKE 'b_%'")
    }
    world = World(
        district_id=district["id"],
        street_ids=[r["id"] for r in rows if r["level"] == "street"],
        community_ids=[r["id"] for r in rows if r["level"] == "community"],
        grid_ids=[r["id"] for r in rows if r["level"] == "grid"],
        grid_bbox={
            r["id"]: (r["min_lng"], r["min_lat"], r["max_lng"], r["max_lat"]) for r in rows if r["level"] == "grid"
        },
        users=users,
    )
    if await conn.fetchval("SELECT to_regclass('issues') IS NOT NULL"):
        world.issues = await conn.fetchval("SELECT count(*) FROM issues")
    return world


async def _create_areas_and_users(conn: asyncpg.Connection, console: Console) -> World:
    import json

    area_rows: list[tuple] = []
    district_id = new_id()
    x0, y0 = ORIGIN
    cols = 5
    dist_w, dist_h = STREET_W * cols, STREET_H * (STREETS // cols)
    area_rows.append(
        (district_id, "BENCH", "基准区", "district", None, district_id.hex, _rect(x0, y0, x0 + dist_w, y0 + dist_h))
    )
    world = World(district_id, [], [], [], {}, {})
    for s in range(STREETS):
        sx, sy = x0 + (s % cols) * STREET_W, y0 + (s // cols) * STREET_H
        sid = new_id()
        world.street_ids.append(sid)
        spath = f"{district_id.hex}.{sid.hex}"
        area_rows.append(
            (
                sid,
                f"B{s:02d}",
                f"第{s + 1}街道",
                "street",
                district_id,
                spath,
                _rect(sx, sy, sx + STREET_W, sy + STREET_H),
            )
        )
        cw, ch = STREET_W / 5, STREET_H / 3
        for c in range(COMMUNITIES_PER_STREET):
            cx, cy = sx + (c % 5) * cw, sy + (c // 5) * ch
            cid = new_id()
            world.community_ids.append(cid)
            cpath = f"{spath}.{cid.hex}"
            area_rows.append(
                (
                    cid,
                    f"B{s:02d}{c:02d}",
                    f"第{s + 1}街道第{c + 1}社区",
                    "community",
                    sid,
                    cpath,
                    _rect(cx, cy, cx + cw, cy + ch),
                )
            )
            gw, gh = cw / 5, ch / 2
            for g in range(GRIDS_PER_COMMUNITY):
                gx, gy = cx + (g % 5) * gw, cy + (g // 5) * gh
                gid = new_id()
                world.grid_ids.append(gid)
                world.grid_bbox[gid] = (gx, gy, gx + gw, gy + gh)
                area_rows.append(
                    (
                        gid,
                        f"B{s:02d}{c:02d}{g:02d}",
                        f"第{g + 1}网格",
                        "grid",
                        cid,
                        f"{cpath}.{gid.hex}",
                        _rect(gx, gy, gx + gw, gy + gh),
                    )
                )
    records = []
    for aid, code, name, level, parent, path, geom in area_rows:
        (mx0, my0), (mx1, my1) = geom["coordinates"][0][0], geom["coordinates"][0][2]
        records.append((aid, code, name, level, parent, path, json.dumps(geom), mx0, my0, mx1, my1))
    await conn.execute(
        "CREATE TEMP TABLE tmp_areas (id uuid, code text, name text, level text, parent_id uuid, path text,"
        " boundary text, min_lng float8, min_lat float8, max_lng float8, max_lat float8)"
    )
    await conn.copy_records_to_table("tmp_areas", records=records)
    await conn.execute(
        "INSERT INTO areas (id, code, name, level, parent_id, path, boundary, min_lng, min_lat, max_lng, max_lat) "
        "SELECT id, code, name, level, parent_id, path::ltree, boundary::jsonb, min_lng, min_lat, max_lng, max_lat"
        " FROM tmp_areas"
    )
    console.print(f"  areas: {len(records):,}")

    pw = hash_password(PASSWORD)
    users: list[tuple] = [(new_id(), "b_admin", "基准管理员", pw, "admin", district_id)]
    for s, sid in enumerate(world.street_ids):
        users.append((new_id(), f"b_street_{s}", f"街道{s}", pw, "street_admin", sid))
    for c, cid in enumerate(world.community_ids):
        users.append((new_id(), f"b_community_{c}", f"社区{c}", pw, "community_admin", cid))
    for g, gid in enumerate(world.grid_ids):
        users.append((new_id(), f"b_grid_{g}", f"网格员{g}", pw, "grid_worker", gid))
    users.append((new_id(), "b_viewer", "大屏", pw, "viewer", district_id))
    await conn.copy_records_to_table(
        "users", records=users, columns=["id", "username", "display_name", "password_hash", "role", "home_area_id"]
    )
    world.users = {u[1]: u[0] for u in users}
    console.print(f"  users: {len(users):,}")
    return world


async def ensure(url: str, *, issues: int, regenerate: bool, console: Console) -> World:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        world = await _load_world(conn)
        if world is not None and not regenerate and world.issues >= issues:  # runs add issues; one database per size
            return world
        if world is None or regenerate:
            if world is not None:
                tables = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
                )
                keep = {"issue_categories", "sla_policies", "stats_settings"}
                names = ", ".join(f'"{t["tablename"]}"' for t in tables if t["tablename"] not in keep)
                # A bench database is thrown away whole, the append-only audit log with it: its
                # guard is a trigger, which the replica role does not fire.
                async with conn.transaction():
                    await conn.execute("SET LOCAL session_replication_role = replica")
                    await conn.execute(f"TRUNCATE {names} CASCADE")
            console.print("generating the city …")
            async with conn.transaction():
                world = await _create_areas_and_users(conn, console)
        for gen in EXTRA_GENERATORS:
            await gen(conn, world, issues, console)
        await conn.execute("ANALYZE")
        return await _load_world(conn) or world
    finally:
        await conn.close()


def _register() -> None:
    from bench.commitments_gen import generate_commitments
    from bench.issues_gen import generate_issues

    EXTRA_GENERATORS.append(generate_issues)
    EXTRA_GENERATORS.append(generate_commitments)


_register()
