"""Building blocks for the volunteers' tests: everything goes through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import auth
from tests.world import AREA

CST = dt.timezone(dt.timedelta(hours=8))


async def post(client: httpx.AsyncClient, url: str, body: Any, user: str = "community_admin", **headers: str) -> Any:
    r = await client.post(url, json=body, headers={**auth(user), **headers})
    assert r.status_code in (200, 201), f"{url}: {r.status_code} {r.text}"
    return r.json()


async def volunteer(client: httpx.AsyncClient, name: str = "王建国", area: str = "G1", **extra: Any) -> dict[str, Any]:
    body = {"kind": "resident", "name": name, "area_id": str(AREA[area].id), "consent": True, **extra}
    return await post(client, "/api/v1/volunteers", body, "grid_worker" if area in ("G1", "M1") else "admin")


async def grant(client: httpx.AsyncClient, volunteer_id: str, points: int, user: str = "community_admin") -> Any:
    return await post(client, f"/api/v1/volunteers/{volunteer_id}/grants", {"points": points, "memo": "奖励"}, user)


async def balance(client: httpx.AsyncClient, volunteer_id: str, user: str = "community_admin") -> dict[str, Any]:
    r = await client.get(f"/api/v1/volunteers/{volunteer_id}/balance", headers=auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def at(day: str, hour: int, minute: int = 0) -> str:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=CST).isoformat()


async def record(
    client: httpx.AsyncClient,
    volunteer_id: str,
    start: str,
    end: str,
    activity_type: str = "elderly_care",
    **extra: Any,
) -> httpx.Response:
    body = {
        "volunteer_id": volunteer_id,
        "activity_type": activity_type,
        "activity": "陪老人就医",
        "started_at": start,
        "ended_at": end,
        **extra,
    }
    return await client.post("/api/v1/service-records", json=body, headers=auth("grid_worker"))


async def verified_hours(client: httpx.AsyncClient, volunteer_id: str, day: str, hours: int) -> dict[str, Any]:
    r = await record(client, volunteer_id, at(day, 8), at(day, 8 + hours))
    assert r.status_code == 201, r.text
    return await post(client, f"/api/v1/service-records/{r.json()['id']}/verify", {}, "community_admin")


async def resident(
    client: httpx.AsyncClient, name: str = "王秀英", tags: list[str] | None = None, **extra: Any
) -> dict:
    building = await post(client, "/api/v1/buildings", {"name": "3号楼", "area_id": str(AREA["G1"].id)}, "grid_worker")
    household = await post(
        client, "/api/v1/households", {"building_id": building["id"], "address": "3号楼2单元301"}, "grid_worker"
    )
    body = {"household_id": household["id"], "name": name, "tags": tags or ["elderly_alone"], **extra}
    return await post(client, "/api/v1/residents", body, "grid_worker")
