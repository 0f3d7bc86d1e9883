"""The public wish wall and a printable statement in a real headless Chromium against a real server:
what the page shows is what the API says, and nothing sensitive reaches the wall."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import auth, token_for
from tests.stats.test_dashboard_browser import CHROMIUM, Page, chromium, page_at, service  # noqa: F401
from tests.volunteers.helpers import post, resident, verified_hours, volunteer
from tests.world import AREA

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"headless Chromium not found at {CHROMIUM}"),
]
pytest.importorskip("websockets", reason="the websockets package drives Chromium over CDP")


async def command(page: Page, method: str, params: dict | None = None) -> dict:
    call_id = next(page.ids)
    await page.ws.send(json.dumps({"id": call_id, "method": method, "params": params or {}}))  # type: ignore[attr-defined]
    while True:
        message = json.loads(await page.ws.recv())  # type: ignore[attr-defined]
        if message.get("id") == call_id:
            return message


async def test_the_wish_wall_page_shows_masked_wishes_only(client, service, page_at):  # noqa: F811
    old = await resident(client, "王秀英", ["elderly_alone", "low_income"])
    await post(
        client,
        "/api/v1/wishes",
        {"resident_id": old["id"], "title": "一台收音机", "category": "daily", "budget_cap": 100},
        "grid_worker",
    )
    child = await resident(client, "刘小明", ["left_behind_child"])
    await post(
        client,
        "/api/v1/wishes",
        {"resident_id": child["id"], "title": "一个书包", "category": "study", "budget_cap": 60},
        "grid_worker",
    )
    page = await page_at(f"{service}/wish-wall/{AREA['C'].id}")
    await page.wait_for("!!document.getElementById('count')")
    async with httpx.AsyncClient(base_url=service) as api:
        wall = (await api.get(f"/api/v1/public/wish-wall/{AREA['C'].id}")).json()
    cards = await page.evaluate("JSON.stringify([...document.querySelectorAll('.wish')].map(c => c.innerText))")
    assert len(json.loads(cards)) == len(wall["items"]) == 1
    assert "独居老人 王**" in json.loads(cards)[0] and "一台收音机" in json.loads(cards)[0]
    text = await page.evaluate("document.body.innerText")
    for secret in ("王秀英", "刘", "书包", "低保", "困难", "3号楼"):
        assert secret not in text, secret


async def test_the_statement_page_prints_the_apis_balances(client, service, page_at):  # noqa: F811
    v = await volunteer(client, "张三")
    await verified_hours(client, v["id"], "2026-03-01", 3)
    await post(client, f"/api/v1/volunteers/{v['id']}/grants", {"points": 12, "memo": "社区活动奖励"})
    page = await page_at("about:blank")
    await command(page, "Network.enable")
    headers = {"Authorization": f"Bearer {token_for('grid_worker')}"}
    await command(page, "Network.setExtraHTTPHeaders", {"headers": headers})
    url = f"{service}/api/v1/volunteers/{v['id']}/statement.html?year=2026"
    await page.evaluate(f"location.href = {json.dumps(url)}")
    await page.wait_for("!!document.getElementById('closing-points')")
    statement = (
        await client.get(f"/api/v1/volunteers/{v['id']}/statement?year=2026", headers=auth("grid_worker"))
    ).json()
    shown = await page.evaluate("document.getElementById('closing-points').innerText")
    assert shown == str(statement["closing"]["points"]) == "42"
    assert await page.evaluate("document.getElementById('services').innerText") == "1"
    rows = await page.evaluate("document.querySelectorAll('#entries tr').length")
    assert rows == 1 + len(statement["entries"])
    assert "张三" in await page.evaluate("document.title")
