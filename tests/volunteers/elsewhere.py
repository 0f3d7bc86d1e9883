"""The volunteers' part of the authorization matrix's body-reference cases: objects of district X
(made by its own administrator), objects of district D to act on, and a request per id field."""

from __future__ import annotations

from typing import Any

import httpx

from tests.elsewhere import Elsewhere
from tests.volunteers.helpers import post
from tests.world import AREA

V1 = "/api/v1"


async def far_objects(client: httpx.AsyncClient, far: Elsewhere) -> dict[str, str]:
    """``{thing: id}`` of district X for the volunteers' references."""
    x = "other_admin"
    v = await post(
        client, f"{V1}/volunteers", {"kind": "unit", "name": "另一区单位", "area_id": far.grid, "consent": True}, x
    )
    item = await post(client, f"{V1}/shop/items", {"name": "大米", "points": 10, "area_id": far.area}, x)
    wish = await post(
        client, f"{V1}/wishes", {"resident_id": far.resident, "title": "书包", "category": "study", "budget_cap": 50}, x
    )
    pairing = await post(
        client,
        f"{V1}/pairings",
        {"household_id": far.household, "helper_id": v["id"], "frequency": "weekly", "started_on": "2026-11-01"},
        x,
    )
    diary = {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "走访", "area_id": far.grid}
    entry = await post(client, f"{V1}/diary-entries", diary, x)
    return {
        "volunteer": v["id"],
        "shop_item": item["id"],
        "wish": wish["id"],
        "pairing": pairing["id"],
        "diary_entry": entry["id"],
    }


async def in_scope(client: httpx.AsyncClient, mine: dict[str, str]) -> dict[str, str]:
    """Objects of district D the cases act on: a volunteer with two verified hours, a second one,
    a shop item, an open time-bank request, an open wish and a pairing."""
    g1 = str(AREA["G1"].id)
    v = await post(client, f"{V1}/volunteers", {"kind": "resident", "name": "张三", "area_id": g1, "consent": True})
    other = await post(client, f"{V1}/volunteers", {"kind": "resident", "name": "李四", "area_id": g1, "consent": True})
    record = await post(
        client,
        f"{V1}/service-records",
        {
            "volunteer_id": v["id"],
            "activity_type": "cleaning",
            "activity": "清扫",
            "started_at": "2026-11-20T08:00:00+08:00",
            "ended_at": "2026-11-20T10:00:00+08:00",
        },
    )
    await post(client, f"{V1}/service-records/{record['id']}/verify", {})
    request = await post(client, f"{V1}/timebank/requests", {"requester_id": v["id"], "title": "修水管", "minutes": 30})
    item = await post(client, f"{V1}/shop/items", {"name": "洗衣液", "points": 5, "stock": 3})
    wish = await post(
        client,
        f"{V1}/wishes",
        {"resident_id": mine["resident"], "title": "收音机", "category": "daily", "budget_cap": 80},
    )
    pairing = await post(
        client,
        f"{V1}/pairings",
        {"household_id": mine["household"], "helper_id": v["id"], "frequency": "weekly", "started_on": "2026-11-01"},
    )
    return {
        "volunteer": v["id"],
        "other_volunteer": other["id"],
        "timebank": request["id"],
        "shop_item": item["id"],
        "wish": wish["id"],
        "pairing": pairing["id"],
    }


def cases(mine: dict[str, str]) -> dict[str, tuple[str, str, str, Any]]:
    """``key → (user, method, url, body)``: requests that would succeed but for the field under test."""
    visit = {"visited_at": "2026-11-21T10:00:00+08:00", "mode": "home"}
    return {
        "POST /api/v1/volunteers": (
            "grid_worker",
            "POST",
            f"{V1}/volunteers",
            {"kind": "student", "name": "王五", "consent": True},
        ),
        "POST /api/v1/service-records": (
            "grid_worker",
            "POST",
            f"{V1}/service-records",
            {
                "volunteer_id": mine["volunteer"],
                "activity_type": "cleaning",
                "activity": "清扫",
                "started_at": "2026-11-21T08:00:00+08:00",
                "ended_at": "2026-11-21T09:00:00+08:00",
            },
        ),
        "POST /api/v1/shop/items": ("community_admin", "POST", f"{V1}/shop/items", {"name": "毛巾", "points": 3}),
        "POST /api/v1/shop/redemptions": (
            "grid_worker",
            "POST",
            f"{V1}/shop/redemptions",
            {"volunteer_id": mine["volunteer"], "item_id": mine["shop_item"]},
        ),
        "POST /api/v1/timebank/requests": (
            "grid_worker",
            "POST",
            f"{V1}/timebank/requests",
            {"requester_id": mine["volunteer"], "title": "买菜", "minutes": 30},
        ),
        "POST /api/v1/timebank/requests/{request_id}/claim": (
            "grid_worker",
            "POST",
            f"{V1}/timebank/requests/{mine['timebank']}/claim",
            {"volunteer_id": mine["other_volunteer"]},
        ),
        "POST /api/v1/wishes": (
            "grid_worker",
            "POST",
            f"{V1}/wishes",
            {"resident_id": mine["resident"], "title": "台灯", "category": "study", "budget_cap": 60},
        ),
        "POST /api/v1/wishes/{wish_id}/claim": (
            "grid_worker",
            "POST",
            f"{V1}/wishes/{mine['wish']}/claim",
            {"volunteer_id": mine["other_volunteer"]},
        ),
        "POST /api/v1/pairings": (
            "grid_worker",
            "POST",
            f"{V1}/pairings",
            {
                "household_id": mine["household"],
                "helper_id": mine["other_volunteer"],
                "frequency": "monthly",
                "started_on": "2026-11-01",
            },
        ),
        "POST /api/v1/pairings/{pairing_id}/visits": (
            "grid_worker",
            "POST",
            f"{V1}/pairings/{mine['pairing']}/visits",
            visit,
        ),
        "POST /api/v1/pairings/visits/batch": (
            "grid_worker",
            "POST",
            f"{V1}/pairings/visits/batch",
            [{**visit, "id": "0193c0de-0000-7000-8000-000000000001", "pairing_id": mine["pairing"]}],
        ),
    }
