"""微心愿: collected for a resident, claimed, fulfilled with proof, confirmed (points posted); a claim
left unfulfilled expires and the wish reopens; the public wall shows nothing sensitive."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import auth
from tests.stats.conftest import Clock
from tests.volunteers.helpers import balance, post, resident, volunteer
from tests.world import AREA


async def wish(client, resident_id: str, title: str = "一台收音机") -> dict:
    body = {"resident_id": resident_id, "title": title, "category": "daily", "budget_cap": 100}
    return await post(client, "/api/v1/wishes", body, "grid_worker")


async def test_the_wish_lifecycle_posts_points_on_confirmation(client):
    old = await resident(client)
    w = await wish(client, old["id"])
    assert w["status"] == "open" and w["beneficiary"] == "王**" and w["allowed_actions"] == ["claim", "cancel"]
    v = await volunteer(client, kind="party_member", party_registration="in_service")
    claimed = await post(client, f"/api/v1/wishes/{w['id']}/claim", {"volunteer_id": v["id"]}, "grid_worker")
    assert claimed["status"] == "claimed" and claimed["claimer_id"] == v["id"]
    r = await client.post(f"/api/v1/wishes/{w['id']}/confirm", json={"by": "grid_worker"}, headers=auth("grid_worker"))
    assert r.status_code == 409 and r.json()["allowed_actions"] == ["fulfil", "cancel"]
    await post(client, f"/api/v1/wishes/{w['id']}/fulfil", {"proof_photo": "photos/wish-1.jpg"}, "grid_worker")
    done = await post(client, f"/api/v1/wishes/{w['id']}/confirm", {"by": "beneficiary"}, "grid_worker")
    assert done["status"] == "confirmed" and done["confirmed_by"] == "beneficiary" and done["posting_id"]
    assert (await balance(client, v["id"]))["points"] == 20  # the default wish points


async def test_an_unfulfilled_claim_expires_and_the_wish_reopens(client, monkeypatch):
    clock = Clock(monkeypatch)
    w = await wish(client, (await resident(client))["id"])
    first = await volunteer(client, "张三")
    await post(client, f"/api/v1/wishes/{w['id']}/claim", {"volunteer_id": first["id"]}, "grid_worker")
    clock.current += dt.timedelta(days=13, hours=23)
    got = (await client.get(f"/api/v1/wishes/{w['id']}", headers=auth("grid_worker"))).json()
    assert got["status"] == "claimed"
    clock.current += dt.timedelta(hours=2)
    got = (await client.get(f"/api/v1/wishes/{w['id']}", headers=auth("grid_worker"))).json()
    assert (got["status"], got["claimer_id"], got["expired_claims"]) == ("open", None, 1)
    second = await volunteer(client, "李四")
    again = await post(client, f"/api/v1/wishes/{w['id']}/claim", {"volunteer_id": second["id"]}, "grid_worker")
    assert again["claimer_id"] == second["id"]


async def test_the_claim_period_follows_the_communitys_rules(client, monkeypatch):
    clock = Clock(monkeypatch)
    rules = {"points_per_hour": {"default": 10}, "daily_cap_minutes": 480, "wish_claim_days": 3, "wish_points": 5}
    r = await client.put(f"/api/v1/volunteer-rules/{AREA['C'].id}", json=rules, headers=auth("community_admin"))
    assert r.status_code == 200
    w = await wish(client, (await resident(client))["id"])
    v = await volunteer(client)
    await post(client, f"/api/v1/wishes/{w['id']}/claim", {"volunteer_id": v["id"]}, "grid_worker")
    clock.current += dt.timedelta(days=3, minutes=1)
    listed = (await client.get("/api/v1/wishes?status=open", headers=auth("grid_worker"))).json()["items"]
    assert [x["id"] for x in listed] == [w["id"]]


async def test_the_public_wall_shows_nothing_sensitive(client):
    old = await resident(client, "王秀英", ["elderly_alone", "low_income"], phone="13900001111")
    await wish(client, old["id"], "一台收音机")
    child = await resident(client, "刘小明", ["left_behind_child"], birth_date="2015-05-01")
    await wish(client, child["id"], "一个书包")
    disabled = await resident(client, "陈伟", ["disabled"])
    await wish(client, disabled["id"], "一副拐杖")
    r = await client.get(f"/api/v1/public/wish-wall/{AREA['C'].id}")
    assert r.status_code == 200
    assert [(i["label"], i["title"]) for i in r.json()["items"]] == [("独居老人 王**", "一台收音机")]
    page = await client.get(f"/wish-wall/{AREA['C'].id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for secret in ("王秀英", "3号楼", "13900001111", "困难", "低保", "书包", "拐杖", "刘", "陈"):
        assert secret not in r.text and secret not in page.text, secret
    assert "独居老人 王**" in page.text and "一台收音机" in page.text
    assert (await client.get(f"/api/v1/public/wish-wall/{AREA['C2'].id}")).json()["items"] == []


async def test_stats_per_community_and_rolled_up(client, monkeypatch):
    clock = Clock(monkeypatch)
    v = await volunteer(client)
    ids = [(await wish(client, (await resident(client))["id"], f"心愿{i}"))["id"] for i in range(3)]
    for wid in ids[:2]:
        await post(client, f"/api/v1/wishes/{wid}/claim", {"volunteer_id": v["id"]}, "grid_worker")
    clock.current += dt.timedelta(days=2)
    await post(client, f"/api/v1/wishes/{ids[0]}/fulfil", {"proof_photo": "p.jpg"}, "grid_worker")
    stats = (await client.get(f"/api/v1/wishes/stats?area_id={AREA['S'].id}", headers=auth("street_admin"))).json()
    assert stats["total"]["collected"] == 3 and stats["total"]["claimed"] == 2 and stats["total"]["fulfilled"] == 1
    assert 1.9 < stats["total"]["median_days_to_fulfil"] < 2.1
    assert [(r["area_name"], r["collected"]) for r in stats["rows"]] == [("测试社区", 3)]


async def test_wishes_of_another_community_are_not_found(client):
    w = await wish(client, (await resident(client))["id"])
    assert (await client.get(f"/api/v1/wishes/{w['id']}", headers=auth("grid_worker_g3"))).status_code == 404
    far = await volunteer(client, "邻居", area="G3")
    r = await client.post(
        f"/api/v1/wishes/{w['id']}/claim", json={"volunteer_id": far["id"]}, headers=auth("grid_worker")
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_volunteer"


async def test_confirmed_wishes_and_verified_records_reach_webhooks_without_personal_data(client, db_url):
    import asyncpg

    r = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["wish.confirmed", "service_record.verified"]},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    w = await wish(client, (await resident(client, "王秀英"))["id"])
    v = await volunteer(client, "张三")
    await post(client, f"/api/v1/wishes/{w['id']}/claim", {"volunteer_id": v["id"]}, "grid_worker")
    await post(client, f"/api/v1/wishes/{w['id']}/fulfil", {"proof_photo": "p.jpg"}, "grid_worker")
    await post(client, f"/api/v1/wishes/{w['id']}/confirm", {"by": "grid_worker"}, "grid_worker")
    conn = await asyncpg.connect(db_url)
    try:
        payload = await conn.fetchval("SELECT payload::text FROM outbox WHERE event_type = 'wish.confirmed'")
    finally:
        await conn.close()
    assert w["id"] in payload and "王" not in payload and "张" not in payload and "收音机" not in payload


async def test_an_expired_claim_is_announced_once_to_webhooks(client, app, monkeypatch, db_url):
    """The housekeeping round reopens the wish and queues one ``wish.claim_expired``; a second round
    (or a read of the wish) adds nothing, and two rounds at once announce it once."""
    import asyncio
    import json

    import asyncpg

    from app import worker

    r = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["wish.claim_expired"]},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    clock = Clock(monkeypatch)
    w = await wish(client, (await resident(client, "王秀英"))["id"])
    v = await volunteer(client, "张三", kind="party_member", party_registration="in_service")
    await post(client, f"/api/v1/wishes/{w['id']}/claim", {"volunteer_id": v["id"]}, "grid_worker")
    assert await worker.expire_wish_claims(app.state.sessionmaker) == 0  # not due yet
    clock.current += dt.timedelta(days=14, minutes=1)
    rounds = await asyncio.gather(*(worker.expire_wish_claims(app.state.sessionmaker) for _ in range(2)))
    assert sorted(rounds) == [0, 1]
    assert await worker.expire_wish_claims(app.state.sessionmaker) == 0
    got = (await client.get(f"/api/v1/wishes/{w['id']}", headers=auth("grid_worker"))).json()
    assert (got["status"], got["claimer_id"], got["expired_claims"]) == ("open", None, 1)
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT payload::text, area_id, aggregate_id FROM outbox WHERE event_type = 'wish.claim_expired'"
        )
    finally:
        await conn.close()
    assert len(rows) == 1
    payload = json.loads(rows[0]["payload"])
    assert payload["wish_id"] == w["id"] and payload["area_id"] == w["area_id"] == str(rows[0]["area_id"])
    assert payload["claimer_kind"] == "party_member" and payload["expired_claims"] == 1
    assert str(rows[0]["aggregate_id"]) == w["id"]
    for personal in ("王", "张", "收音机", v["id"]):
        assert personal not in rows[0]["payload"], personal


@pytest.mark.usefixtures("one_window")
async def test_the_public_wall_is_rate_limited_per_address(db_url):
    import httpx

    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(db_url, rate_limit_wish_wall=3))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            json_url, page_url = f"/api/v1/public/wish-wall/{AREA['C'].id}", f"/wish-wall/{AREA['C'].id}"
            served = [await client.get(json_url), await client.get(page_url), await client.get(json_url)]
            assert [r.status_code for r in served] == [200, 200, 200]
            for url in (json_url, page_url):  # the JSON and the page share the address's counter
                limited = await client.get(url)
                assert limited.status_code == 429
                assert limited.headers["content-type"].startswith("application/problem+json")
                assert limited.json()["code"] == "rate_limited" and 1 <= int(limited.headers["Retry-After"]) <= 60
        other = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
        async with httpx.AsyncClient(transport=other, base_url="http://test") as client:
            assert (await client.get(f"/api/v1/public/wish-wall/{AREA['C'].id}")).status_code == 200
