"""The volunteers' registry, service records and the double-entry ledger behind their points."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import auth
from tests.volunteers.helpers import at, balance, grant, post, record, verified_hours, volunteer
from tests.world import AREA

DAY = "2026-11-20"


async def test_registry_masks_personal_data_and_reveal_is_audited(client):
    v = await volunteer(client, phone="13812341234", skills=["理发"], talent_category="医疗")
    assert v["phone"] == "138****1234" and v["name"] == "王建国"
    r = await client.get(f"/api/v1/volunteers/{v['id']}", headers=auth("viewer"))
    assert r.status_code == 200 and r.json()["name"] == "王**"
    r = await client.post(
        f"/api/v1/volunteers/{v['id']}/reveal", json={"reason": "联系志愿者核实服务"}, headers=auth("grid_worker")
    )
    assert r.json()["phone"] == "13812341234"
    audit = await client.get("/api/v1/audit", headers=auth("community_admin"))
    assert any(a["action"] == "volunteer.reveal" and a["object_id"] == v["id"] for a in audit.json()["items"])
    found = await client.get("/api/v1/volunteers?talent_category=医疗&skill=理发", headers=auth("grid_worker"))
    assert [x["id"] for x in found.json()["items"]] == [v["id"]]


async def test_registration_needs_consent(client):
    body = {"kind": "student", "name": "李明", "consent": False}
    r = await client.post("/api/v1/volunteers", json=body, headers=auth("grid_worker"))
    assert r.status_code == 422


async def test_a_verified_record_posts_points_and_hours_by_the_rules(client):
    v = await volunteer(client)
    r = await client.put(
        f"/api/v1/volunteer-rules/{v['area_id']}",
        json={
            "points_per_hour": {"default": 10, "elderly_care": 15},
            "daily_cap_minutes": 480,
            "wish_claim_days": 7,
            "wish_points": 20,
        },
        headers=auth("community_admin"),
    )
    assert r.status_code == 200, r.text
    r = await record(client, v["id"], at(DAY, 9), at(DAY, 11))
    assert r.status_code == 201 and r.json()["status"] == "submitted"
    assert (await balance(client, v["id"]))["points"] == 0  # counts only once verified
    verified = await post(client, f"/api/v1/service-records/{r.json()['id']}/verify", {})
    assert verified["status"] == "verified" and verified["posting_id"]
    assert await balance(client, v["id"]) == {"volunteer_id": v["id"], "points": 30, "minutes": 120, "hours": 2.0}
    again = await client.post(f"/api/v1/service-records/{r.json()['id']}/verify", headers=auth("community_admin"))
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    posting = (await client.get(f"/api/v1/ledger/postings/{verified['posting_id']}", headers=auth("viewer"))).json()
    assert sum(e["amount"] for e in posting["entries"] if e["unit"] == "points") == 0
    assert sum(e["amount"] for e in posting["entries"] if e["unit"] == "minutes") == 0


async def test_records_of_one_volunteer_may_not_overlap_and_a_day_is_capped(client):
    v = await volunteer(client)
    assert (await record(client, v["id"], at(DAY, 9), at(DAY, 11))).status_code == 201
    r = await record(client, v["id"], at(DAY, 10), at(DAY, 12))
    assert r.status_code == 409 and r.json()["code"] == "record_overlaps"
    assert (await record(client, v["id"], at(DAY, 11), at(DAY, 16))).status_code == 201  # touching is fine
    r = await record(client, v["id"], at(DAY, 17), at(DAY, 19))  # 2 + 5 + 2 > 8 hours
    assert r.status_code == 422 and r.json()["code"] == "daily_cap_exceeded"
    assert r.json()["errors"][0]["field"] == "ended_at"
    # The day is Beijing's: 01:00 on the 21st (17:00 UTC on the 20th) is another day.
    assert (await record(client, v["id"], at("2026-11-21", 1), at("2026-11-21", 3))).status_code == 201


async def test_a_rejected_record_frees_its_time(client):
    v = await volunteer(client)
    r = await record(client, v["id"], at(DAY, 9), at(DAY, 11))
    await post(client, f"/api/v1/service-records/{r.json()['id']}/reject", {"reason": "活动未开展"})
    assert (await record(client, v["id"], at(DAY, 9), at(DAY, 11))).status_code == 201
    assert (await balance(client, v["id"]))["points"] == 0


async def test_reversal_is_a_new_posting_and_cannot_overdraw(client):
    v = await volunteer(client)
    first = await grant(client, v["id"], 50)
    await grant(client, v["id"], 10)
    reversal = await post(client, f"/api/v1/ledger/postings/{first['id']}/reverse", {"memo": "录入错误"})
    assert reversal["kind"] == "reversal" and reversal["reverses_id"] == first["id"]
    assert (await balance(client, v["id"]))["points"] == 10
    r = await client.post(
        f"/api/v1/ledger/postings/{first['id']}/reverse", json={"memo": "再次"}, headers=auth("community_admin")
    )
    assert r.status_code == 409 and r.json()["code"] == "already_reversed"
    # 10 points left: reversing a grant of 10 is fine, but not once they are spent elsewhere.
    ledger = (await client.get(f"/api/v1/volunteers/{v['id']}/ledger", headers=auth("grid_worker"))).json()
    assert [e["amount"] for e in ledger["items"]] == [-50, 10, 50]


async def test_postings_replay_with_the_same_idempotency_key(client):
    v = await volunteer(client)
    headers = {**auth("community_admin"), "Idempotency-Key": "grant-1"}
    body = {"points": 5, "memo": "奖励"}
    a = await client.post(f"/api/v1/volunteers/{v['id']}/grants", json=body, headers=headers)
    b = await client.post(f"/api/v1/volunteers/{v['id']}/grants", json=body, headers=headers)
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    assert b.headers["Idempotent-Replayed"] == "true"
    assert (await balance(client, v["id"]))["points"] == 5


async def test_another_communitys_ledger_is_not_found(client):
    v = await volunteer(client)
    await grant(client, v["id"], 5)
    for path in ("", "/balance", "/ledger", "/statement"):
        r = await client.get(f"/api/v1/volunteers/{v['id']}{path}", headers=auth("grid_worker_g3"))
        assert r.status_code == 404, path
    r = await client.post(
        f"/api/v1/volunteers/{v['id']}/grants", json={"points": 1, "memo": "x"}, headers=auth("other_admin")
    )
    assert r.status_code == 404


async def test_the_ledger_is_append_only_and_balanced_in_the_database(client, db_url):
    v = await volunteer(client)
    posting = await grant(client, v["id"], 5)
    conn = await asyncpg.connect(db_url)
    try:
        for sql in (
            "UPDATE ledger_entries SET amount = amount * 2",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_postings SET memo = 'x'",
            "DELETE FROM ledger_postings",
            "TRUNCATE ledger_entries CASCADE",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
        account = await conn.fetchval("SELECT account_id FROM ledger_entries WHERE amount = 5")
        with pytest.raises(asyncpg.CheckViolationError):  # one-legged posting refused at commit
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO ledger_entries (posting_id, account_id, unit, amount) VALUES ($1, $2, 'points', 1)",
                    __import__("uuid").UUID(posting["id"]),
                    account,
                )
        with pytest.raises(asyncpg.CheckViolationError):  # a volunteer's balance never below zero
            await conn.execute("UPDATE ledger_accounts SET balance = -1 WHERE id = $1", account)
    finally:
        await conn.close()


async def test_statement_and_rankings(client):
    a = await volunteer(client, "张三")
    b = await volunteer(client, "李四")
    await verified_hours(client, a["id"], "2026-03-01", 3)
    await verified_hours(client, b["id"], "2026-03-01", 1)
    await verified_hours(client, b["id"], "2026-03-02", 1)
    stmt = (await client.get(f"/api/v1/volunteers/{a['id']}/statement?year=2026", headers=auth("grid_worker"))).json()
    assert stmt["services"] == 1 and stmt["closing"] == {"points": 30, "minutes": 180}
    by_hours = (await client.get("/api/v1/volunteers/rankings?year=2026", headers=auth("viewer"))).json()
    assert [r["volunteer_id"] for r in by_hours["rows"]] == [a["id"], b["id"]]
    by_times = (await client.get("/api/v1/volunteers/rankings?year=2026&by=times", headers=auth("viewer"))).json()
    assert [r["volunteer_id"] for r in by_times["rows"]] == [b["id"], a["id"]]
    assert by_times["rows"][0]["name"] == "李*"  # a viewer sees masked names
    page = await client.get(f"/api/v1/volunteers/{a['id']}/statement.html?year=2026", headers=auth("grid_worker"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "张三" in page.text and "<script" not in page.text


async def test_a_volunteers_registration_changes_with_if_match(client):
    v = await volunteer(client)
    got = await client.get(f"/api/v1/volunteers/{v['id']}", headers=auth("grid_worker"))
    r = await client.patch(
        f"/api/v1/volunteers/{v['id']}",
        json={"availability": "周末上午", "phone": "13900002222"},
        headers={**auth("grid_worker"), "If-Match": got.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["availability"] == "周末上午" and r.json()["phone"] == "139****2222"
    stale = await client.patch(
        f"/api/v1/volunteers/{v['id']}",
        json={"availability": "晚上"},
        headers={**auth("grid_worker"), "If-Match": got.headers["ETag"]},
    )
    assert stale.status_code == 412
    missing = await client.patch(
        f"/api/v1/volunteers/{v['id']}", json={"availability": "晚上"}, headers=auth("grid_worker")
    )
    assert missing.status_code == 428


async def test_a_shop_serves_only_the_volunteers_of_its_own_community(client):
    """A community's 爱心超市 item is redeemed by volunteers registered in the community or any of
    its grids; a neighbouring community's volunteer gets 422 ``item_not_offered``, nothing taken."""
    body = {"name": "大米", "points": 10, "stock": 5, "area_id": str(AREA["C"].id)}
    item = await post(client, "/api/v1/shop/items", body, "admin")
    in_community = await volunteer(client, "李秀英", area="C")
    in_grid = await volunteer(client, "王建国", area="G1")
    neighbour = await volunteer(client, "赵大海", area="G3")
    for v in (in_community, in_grid, neighbour):
        await grant(client, v["id"], 50, "admin")
    for v in (in_community, in_grid):
        r = await client.post(
            "/api/v1/shop/redemptions",
            json={"volunteer_id": v["id"], "item_id": item["id"], "quantity": 1},
            headers=auth("admin"),
        )
        assert r.status_code == 201, r.text
        assert r.json()["balance"] == 40
    r = await client.post(
        "/api/v1/shop/redemptions",
        json={"volunteer_id": neighbour["id"], "item_id": item["id"], "quantity": 1},
        headers=auth("admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "item_not_offered"
    assert r.json()["errors"][0]["field"] == "item_id"
    assert (await balance(client, neighbour["id"], "admin"))["points"] == 50
    stock = await client.get(f"/api/v1/shop/items?area_id={AREA['C'].id}", headers=auth("admin"))
    assert [i["stock"] for i in stock.json()["items"] if i["id"] == item["id"]] == [3]
