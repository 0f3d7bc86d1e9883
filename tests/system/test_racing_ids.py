"""Offline phones mint ids, and a flaky network makes them resend: the same new record sent twice at
the same moment is written once; the other copy is answered as its domain answers a resend, or with
a 409 — never a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.kit.ids import new_id
from tests.conftest import auth
from tests.world import AREA


async def _race(app: Any, path: str, body: dict[str, Any], user: str, copies: int = 6) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.post(path, json=body, headers=auth(user))

    return list(await asyncio.gather(*(send() for _ in range(copies))))


CASES = {
    "issue": (
        "/api/v1/issues",
        {"title": "路灯不亮", "kind": "complaint", "category": "lighting", "channel": "patrol"},
        "grid_worker",
    ),
    "diary entry": (
        "/api/v1/diary-entries",
        {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "3号楼王大爷反映楼道灯不亮"},
        "grid_worker",
    ),
    "volunteer": (
        "/api/v1/volunteers",
        {"kind": "resident", "name": "王建国", "area_id": str(AREA["G1"].id), "consent": True},
        "grid_worker",
    ),
    "dispute": (
        "/api/v1/disputes",
        {
            "title": "楼上漏水纠纷",
            "description": "3号楼502漏水到402",
            "type": "neighbour",
            "risk_level": "yellow",
            "parties": [{"name": "张某", "role": "applicant"}],
        },
        "community_admin",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_one_id_sent_at_once_is_written_once_and_never_answers_500(app, name):
    path, body, user = CASES[name]
    answers = await _race(app, path, {**body, "id": str(new_id())}, user)
    codes = [r.status_code for r in answers]
    assert 500 not in codes, [r.text for r in answers if r.status_code == 500]
    assert codes.count(201) == 1, [r.text for r in answers]
    assert set(codes) <= {201, 200, 409}, [r.text for r in answers]
    refused = [r.json() for r in answers if r.status_code == 409]
    assert {p["code"] for p in refused} <= {"id_taken", "issue_exists"}, refused
    assert all([e["field"] for e in p["errors"]] == ["id"] for p in refused), refused


async def test_one_username_created_twice_at_once_is_one_user_and_a_409_naming_the_field(app):
    """Not an id this time: another unique field, written by two requests at once."""
    body = {
        "username": "twice_at_once",
        "display_name": "新网格员",
        "password": "a-strong-password",
        "role": "grid_worker",
        "home_area_id": str(AREA["G2"].id),
    }
    answers = await _race(app, "/api/v1/users", body, "admin", copies=4)
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 409, 409, 409], [r.text for r in answers]
    refused = [r.json() for r in answers if r.status_code == 409]
    assert {p["code"] for p in refused} <= {"username_taken", "already_exists"}, refused
    assert all([e["field"] for e in p.get("errors", [])] in (["username"], []) for p in refused), refused
