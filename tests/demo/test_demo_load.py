"""The demo loads into an empty, migrated database through the same validation as real data."""

from __future__ import annotations

import httpx

from app.demo import data
from app.demo.load import DEMO_ACCOUNTS, seed_demo
from app.main import create_app
from tests.conftest import make_settings


async def test_demo_loads_once_and_its_logins_work(empty_db_url):
    import asyncio

    from tests.conftest import _migrate

    await asyncio.to_thread(_migrate, empty_db_url)
    assert await seed_demo(empty_db_url, make_settings(empty_db_url)) is True
    # idempotent: data present, nothing changed
    assert await seed_demo(empty_db_url, make_settings(empty_db_url)) is False

    app = create_app(make_settings(empty_db_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for username, role, _ in DEMO_ACCOUNTS:
                r = await client.post("/api/v1/auth/token", data={"username": username, "password": data.DEMO_PASSWORD})
                assert r.status_code == 200, (username, r.text)
                me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
                assert me.json()["role"] == role
            token = (
                await client.post(
                    "/api/v1/auth/token", data={"username": "community_ruyizhuang", "password": data.DEMO_PASSWORD}
                )
            ).json()["access_token"]
            grids = await client.get("/api/v1/areas?level=grid", headers={"Authorization": f"Bearer {token}"})
            assert len(grids.json()["items"]) == 6


async def test_demo_issues_stand_where_the_seed_cases_stand(demo_db_url):
    from collections import Counter

    app = create_app(make_settings(demo_db_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            statuses: Counter[str] = Counter()
            counts: Counter[str] = Counter()
            for admin in ("admin", "admin_chengqu"):
                token = (
                    await client.post("/api/v1/auth/token", data={"username": admin, "password": data.DEMO_PASSWORD})
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                for kind in ("issues", "diary-entries", "disputes", "residents"):
                    cursor = None
                    while True:
                        url = f"/api/v1/{kind}?limit=200" + (f"&cursor={cursor}" if cursor else "")
                        page = (await client.get(url, headers=headers)).json()
                        counts[kind] += len(page["items"])
                        if kind == "issues":
                            statuses.update(i["status"] for i in page["items"])
                        if kind == "residents":
                            assert all("*" in (r["id_number"] or "*") for r in page["items"])
                        cursor = page["next_cursor"]
                        if not cursor:
                            break
            # What a GeoReport client sees without any key: the requests filed through Open311.
            georeport = await client.get(f"/open311/v2/requests.json?jurisdiction_id={data.CHENGQU}")
            assert georeport.status_code == 200, georeport.text
            filed = georeport.json()
            assert sorted(r["service_code"] for r in filed) == sorted(r.service_code for r in data.OPEN311_REQUESTS)
            assert all(r["status"] == "open" and r["service_request_id"].startswith("YQ-") for r in filed)
            assert not any("phone" in r or "first_name" in r for r in filed)
    filed_statuses = Counter({"reported": len(data.OPEN311_REQUESTS)})
    assert statuses == Counter(case.target_status for case in data.ISSUES) + filed_statuses
    assert counts == {
        "issues": len(data.ISSUES) + len(data.OPEN311_REQUESTS),
        "diary-entries": len(data.DIARY_ENTRIES),
        "disputes": len(data.DISPUTES),
        "residents": len(data.RESIDENTS),
    }


async def test_demo_volunteers_have_the_shape_of_the_seed_figures(demo_db_url):

    import asyncpg

    conn = await asyncpg.connect(demo_db_url)
    try:
        kinds = dict(await conn.fetch("SELECT kind, count(*) FROM volunteers GROUP BY kind"))
        assert kinds["party_member"] == 214
        assert await conn.fetchval("SELECT count(*) FROM volunteers WHERE talent_category IS NOT NULL") == 150
        assert await conn.fetchval("SELECT count(DISTINCT household_id) FROM pairings") == 86
        assert await conn.fetchval("SELECT count(*) FROM pairings") == 214
        visits = dict(await conn.fetch("SELECT mode, count(*) FROM pairing_visits GROUP BY mode"))
        assert visits["home"] == 179 and visits["phone"] >= 800
        handed_out = await conn.fetchrow(
            "SELECT sum(quantity) AS items, count(DISTINCT volunteer_id) AS people FROM shop_redemptions"
        )
        assert (handed_out["items"], handed_out["people"]) == (836, 142)
        statuses = {r[0] for r in await conn.fetch("SELECT DISTINCT status FROM wishes")}
        assert statuses == {"open", "claimed", "fulfilled", "confirmed"}
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM ledger_accounts a WHERE balance <> "
                "(SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = a.id)"
            )
            == 0
        )
        assert await conn.fetchval("SELECT count(*) FROM ledger_accounts WHERE kind <> 'source' AND balance < 0") == 0
    finally:
        await conn.close()
