"""The public notice in a real headless Chromium against a real server: the page renders, its
screenshot is taken, and the numbers on it are the API's."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zoneinfo

import httpx
import pytest

from tests.commitments.helpers import GW, activity, published
from tests.stats.test_dashboard_browser import CHROMIUM, Page, chromium, page_at, service  # noqa: F401
from tests.world import AREA

pytestmark = [pytest.mark.browser]


async def screenshot(page: Page) -> bytes:
    call_id = next(page.ids)
    await page.ws.send(json.dumps({"id": call_id, "method": "Page.captureScreenshot", "params": {"format": "png"}}))  # type: ignore[attr-defined]
    while True:
        message = json.loads(await page.ws.recv())  # type: ignore[attr-defined]
        if message.get("id") == call_id:
            return base64.b64decode(message["result"]["data"])


async def test_the_public_page_shows_the_apis_numbers(client, service, page_at, tmp_path):  # noqa: F811
    # The server runs on the real clock: a list of this (local) year with activities earlier in it.
    today = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
    items = [
        {"category": "governance", "title": "每月10日组织社区清洁日", "schedule": {"kind": "monthly", "day": 10}},
        {"category": "service", "title": "全年开展活动不少于5次", "schedule": {"kind": "at_least", "times": 5}},
    ]
    lst = await published(client, year=today.year, items=items)
    await activity(client, [lst["items"][0]["id"], lst["items"][1]["id"]], f"{today.year}-01-01T10:00:00+08:00")
    r = await client.post(
        f"/api/v1/commitment-items/{lst['items'][0]['id']}/evaluations", json={"rating": "satisfied"}, headers=GW
    )
    assert r.status_code == 201

    page = await page_at(f"{service}/public/commitments/{AREA['D'].id}")
    await page.wait_for("document.readyState === 'complete' && document.querySelector('section') !== null")
    async with httpx.AsyncClient(base_url=service) as api:
        notice = (await api.get(f"/api/v1/public/commitments/{AREA['D'].id}")).json()

    shown = json.loads(
        await page.evaluate(  # type: ignore[arg-type]
            "JSON.stringify({asOf: document.getElementById('as-of').textContent,"
            " total: [...document.querySelectorAll('#total td')].map(td => td.textContent),"
            " items: [...document.querySelectorAll('section tr[data-position]')].map(tr => ({"
            "  position: tr.dataset.position, status: tr.dataset.status,"
            "  done: tr.querySelector('[data-field=done]').textContent,"
            "  expected: tr.querySelector('[data-field=expected]').textContent,"
            "  total: tr.querySelector('[data-field=total]').textContent,"
            "  percent: tr.querySelector('[data-field=percent]').textContent}))})"
        )
    )
    s = notice["summary"]
    assert shown["asOf"] == notice["as_of"]
    assert shown["total"][1:7] == [str(s[k]) for k in ("items", "on_track", "behind", "done", "rated_items", "ratings")]
    assert shown["items"] == [
        {
            "position": str(i["position"]),
            "status": i["progress"]["status"],
            "done": str(i["progress"]["done"]),
            "expected": str(i["progress"]["expected"]),
            "total": str(i["progress"]["total"]),
            "percent": str(i["progress"]["percent"]),
        }
        for i in notice["lists"][0]["items"]
    ]
    assert shown["items"][0]["done"] == "1"
    png = await screenshot(page)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    (tmp_path / "commitments.png").write_bytes(png)
