"""Small helpers for issue tests: create issues and take actions through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import auth
from tests.world import AREA

G1_POINT = {"lat": 34.05, "lng": 108.02}  # inside G1, outside M1
M1_POINT = {"lat": 34.005, "lng": 108.005}
G2_POINT = {"lat": 34.05, "lng": 108.07}


def issue_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "小区东门路灯不亮",
        "description": "东门口两盏路灯连续三晚不亮,老人出行不便。",
        "kind": "complaint",
        "category": "lighting",
        "channel": "patrol",
        "priority": "normal",
        "location": G1_POINT,
        "reporter": {"name": "周贵领", "phone": "13812341234"},
    }
    body.update(overrides)
    return body


async def create(client: httpx.AsyncClient, user: str = "grid_worker", **overrides: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/issues", json=issue_body(**overrides), headers=auth(user))
    assert r.status_code == 201, r.text
    return r.json()


async def act(
    client: httpx.AsyncClient,
    issue: dict[str, Any] | str,
    action: str,
    user: str,
    body: dict[str, Any] | None = None,
    expect: int | None = 200,
    if_match: int | None = None,
) -> dict[str, Any]:
    issue_id = issue if isinstance(issue, str) else issue["id"]
    headers = auth(user)
    if if_match is not None:
        headers["If-Match"] = f'"{if_match}"'
    r = await client.post(f"/api/v1/issues/{issue_id}/actions/{action}", json=body or {}, headers=headers)
    if expect is not None:
        assert r.status_code == expect, f"{action} by {user}: {r.status_code} {r.text}"
    return r.json()


async def dispatched_to_unit(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    from tests.world import UNIT_ID

    issue = await create(client, **overrides)
    await act(client, issue, "accept", "community_admin")
    return await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})


__all__ = ["AREA", "G1_POINT", "G2_POINT", "M1_POINT", "act", "create", "dispatched_to_unit", "issue_body"]
