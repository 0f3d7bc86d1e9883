"""幸福交换站: hours spent on a request are held, paid to the claimer on confirmation, or released."""

from __future__ import annotations

from tests.conftest import auth
from tests.volunteers.helpers import balance, post, verified_hours, volunteer


async def test_hours_move_when_the_service_is_confirmed(client):
    a = await volunteer(client, "张三")
    b = await volunteer(client, "李四")
    await verified_hours(client, a["id"], "2026-11-20", 2)
    body = {"requester_id": a["id"], "title": "帮忙接送孩子", "minutes": 90}
    req = await post(client, "/api/v1/timebank/requests", body, "grid_worker")
    assert req["status"] == "open" and (await balance(client, a["id"]))["minutes"] == 30
    r = await client.post(
        f"/api/v1/timebank/requests/{req['id']}/claim", json={"volunteer_id": a["id"]}, headers=auth("grid_worker")
    )
    assert r.status_code == 422 and r.json()["code"] == "own_request"
    await post(client, f"/api/v1/timebank/requests/{req['id']}/claim", {"volunteer_id": b["id"]}, "grid_worker")
    done = await post(client, f"/api/v1/timebank/requests/{req['id']}/confirm", {}, "grid_worker")
    assert done["status"] == "done" and done["settle_posting_id"]
    assert (await balance(client, a["id"]))["minutes"] == 30
    assert (await balance(client, b["id"]))["minutes"] == 90
    r = await client.post(f"/api/v1/timebank/requests/{req['id']}/cancel", headers=auth("grid_worker"))
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


async def test_hours_cannot_be_promised_twice(client):
    a = await volunteer(client)
    await verified_hours(client, a["id"], "2026-11-20", 1)
    body = {"requester_id": a["id"], "title": "修水管", "minutes": 60}
    first = await post(client, "/api/v1/timebank/requests", body, "grid_worker")
    r = await client.post("/api/v1/timebank/requests", json=body, headers=auth("grid_worker"))
    assert r.status_code == 409 and r.json()["code"] == "insufficient_balance"
    await post(client, f"/api/v1/timebank/requests/{first['id']}/cancel", {}, "grid_worker")
    assert (await balance(client, a["id"]))["minutes"] == 60
