"""Helpers for commitment tests: a list through its workflow, a movable clock."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.kit import clock
from tests.conftest import auth
from tests.world import AREA

TZ = ZoneInfo("Asia/Shanghai")
CA, SA, GW = auth("community_admin"), auth("street_admin"), auth("grid_worker")


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.current = dt.datetime.now(dt.UTC)
        monkeypatch.setattr(clock, "now", lambda: self.current)

    def at(self, text: str) -> None:
        """``"2026-03-11 00:00"`` in Asia/Shanghai."""
        self.current = dt.datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(dt.UTC)


ITEMS: list[dict[str, Any]] = [
    {
        "category": "governance",
        "title": "每月10日组织社区清洁日",
        "responsible": "社区党支部",
        "schedule": {"kind": "monthly", "day": 10},
    },
    {
        "category": "care",
        "title": "暑期开展青少年安全教育不少于2次",
        "schedule": {"kind": "season", "times": 2, "start": "07-01", "end": "08-31"},
    },
    {
        "category": "service",
        "title": "建设蔬菜大棚",
        "budget_yuan": 1_000_000,
        "milestones": [{"title": "选址", "due": "2026-03-31"}, {"title": "建成", "due": "2026-09-30"}],
    },
]


async def make_list(client, *, area: str = "C", year: int = 2026, items=None, headers=CA) -> dict[str, Any]:
    body = {"area_id": str(AREA[area].id), "year": year, "items": ITEMS if items is None else items}
    r = await client.post("/api/v1/commitment-lists", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def step(client, list_id: str, action: str, headers=CA, body=None, status: int = 200) -> dict[str, Any]:
    r = await client.post(f"/api/v1/commitment-lists/{list_id}/{action}", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


async def published(client, headers=CA, **kw: Any) -> dict[str, Any]:
    lst = await make_list(client, headers=headers, **kw)
    await step(client, lst["id"], "submit", headers)
    await step(client, lst["id"], "approve", SA)
    return await step(client, lst["id"], "publish", headers)


async def activity(client, item_ids: list[str], held_at: str, headers=GW, status: int = 201, **kw: Any):
    body = {"item_ids": item_ids, "held_at": held_at, "place": "社区广场", "participants": 30, **kw}
    r = await client.post("/api/v1/commitment-activities", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()
