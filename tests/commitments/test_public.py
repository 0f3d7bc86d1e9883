"""The public notice (公示) and the stats: every figure of a crafted history, ETag/304, no personal data."""

from __future__ import annotations

import asyncio

import pytest

from tests.commitments.helpers import CA, GW, SA, Clock, activity, make_list, published, step
from tests.conftest import auth
from tests.world import AREA

C_ITEMS = [
    {
        "category": "governance",
        "title": "每月10日组织社区清洁日",
        "responsible": "网格员王某某",
        "schedule": {"kind": "monthly", "day": 10},
    },
    {
        "category": "care",
        "title": "暑期安全教育不少于2次",
        "schedule": {"kind": "season", "times": 2, "start": "07-01", "end": "08-31"},
    },
    {
        "category": "service",
        "title": "建设蔬菜大棚",
        "budget_yuan": 1_000_000,
        "milestones": [{"title": "选址", "due": "2026-03-31"}, {"title": "建成", "due": "2026-09-30"}],
    },
    {"category": "service", "title": "开展一次消防演练"},
]
C2_ITEMS = [
    {"category": "care", "title": "全年走访慰问不少于2次", "schedule": {"kind": "at_least", "times": 2}},
    {"category": "governance", "title": "每季度末公示收支", "schedule": {"kind": "quarterly"}},
]


async def crafted(client, monkeypatch) -> dict:
    """Read on 2026-06-15 12:00 (Shanghai). Community C: the clean-up day behind (5 of 6 due), the
    summer item and the greenhouse on track, the fire drill done; ratings 2 满意, 1 不满意 on the
    first and 1 基本满意 on the drill. Community C2: the visits on track (none due yet), the
    quarterly notice behind (March's missing). A draft list of 2027 and district X's never count."""
    clock = Clock(monkeypatch)
    clock.at("2026-01-02 09:00")
    c = await published(client, items=C_ITEMS)
    c2 = await published(client, area="C2", items=C2_ITEMS, headers=SA)
    await make_list(client, year=2027, items=C2_ITEMS)
    clean, _, greenhouse, drill = (i["id"] for i in c["items"])
    clock.at("2026-06-15 12:00")
    for month in range(1, 6):
        await activity(client, [clean], f"2026-{month:02d}-10T09:00:00+08:00")
    await activity(client, [drill], "2026-04-01T09:00:00+08:00")
    r = await client.post(
        f"/api/v1/commitment-items/{greenhouse}/milestones/1/done", json={"done_on": "2026-03-20"}, headers=GW
    )
    assert r.status_code == 200
    for item, rating in (
        (clean, "satisfied"),
        (clean, "satisfied"),
        (clean, "dissatisfied"),
        (drill, "basically_satisfied"),
    ):
        r = await client.post(f"/api/v1/commitment-items/{item}/evaluations", json={"rating": rating}, headers=GW)
        assert r.status_code == 201
    return {"c": c, "c2": c2}


def summary(communities, items, on_track, behind, done, rated, ratings, sat, basic, dis, on_course, done_rate, satis):
    return {
        "communities": communities,
        "items": items,
        "on_track": on_track,
        "behind": behind,
        "done": done,
        "rated_items": rated,
        "ratings": ratings,
        "satisfied": sat,
        "basically_satisfied": basic,
        "dissatisfied": dis,
        "on_course_rate": on_course,
        "done_rate": done_rate,
        "satisfaction": satis,
    }


C_SUMMARY = summary(1, 4, 2, 1, 1, 2, 4, 2, 1, 1, "0.7500", "0.2500", "0.7500")
C2_SUMMARY = summary(1, 2, 1, 1, 0, 0, 0, 0, 0, 0, "0.5000", "0.0000", None)
TOTAL = summary(2, 6, 3, 2, 1, 2, 4, 2, 1, 1, "0.6667", "0.1667", "0.7500")


async def test_every_figure_of_a_crafted_year(client, monkeypatch):
    made = await crafted(client, monkeypatch)
    r = await client.get(f"/api/v1/public/commitments/{AREA['D'].id}?year=2026")
    assert r.status_code == 200, r.text
    notice = r.json()
    assert notice["as_of"] == "2026-06-15" and notice["area_name"] == "测试区"
    assert notice["summary"] == TOTAL
    assert notice["streets"] == [{"area_id": str(AREA["S"].id), "area_name": "测试街道", "summary": TOTAL}]
    assert [(x["rank"], x["area_name"], x["summary"]) for x in notice["lists"]] == [
        (1, "测试社区", C_SUMMARY),
        (2, "邻居社区", C2_SUMMARY),
    ]
    clean = notice["lists"][0]["items"][0]
    assert clean["progress"] == {
        "status": "behind",
        "total": 12,
        "expected": 6,
        "done": 5,
        "percent": 41,
        "next_due": "2026-07-10",
        "activities": 5,
    }
    assert clean["ratings"] == {
        "satisfied": 2,
        "basically_satisfied": 0,
        "dissatisfied": 1,
        "total": 3,
        "satisfaction": "0.6667",
    }
    # no personal data: responsible persons and comments never reach the public
    assert "responsible" not in clean and "网格员王某某" not in r.text
    assert [i["progress"]["status"] for i in notice["lists"][1]["items"]] == ["on_track", "behind"]

    # the same figures for staff, per community of the caller's scope
    r = await client.get("/api/v1/commitment-stats?year=2026", headers=auth("viewer"))
    assert r.status_code == 200 and r.json()["summary"] == TOTAL
    r = await client.get(f"/api/v1/commitment-stats?year=2026&area_id={AREA['C'].id}", headers=CA)
    assert r.json()["summary"] == C_SUMMARY and r.json()["lists"][0]["list_id"] == made["c"]["id"]
    # a community's own notice
    r = await client.get(f"/api/v1/public/commitments/{AREA['C2'].id}?year=2026")
    assert r.json()["summary"] == C2_SUMMARY and r.json()["streets"][0]["summary"] == C2_SUMMARY


async def test_the_notice_answers_304_until_something_changes_or_the_day_turns(client, monkeypatch):
    clock = Clock(monkeypatch)
    clock.at("2026-05-01 10:00")
    lst = await published(client)
    url = f"/api/v1/public/commitments/{AREA['C'].id}?year=2026"
    r = await client.get(url)
    tag = r.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": tag})).status_code == 304
    await activity(client, [lst["items"][0]["id"]], "2026-04-10T09:00:00+08:00")
    r = await client.get(url, headers={"If-None-Match": tag})
    assert r.status_code == 200 and r.json()["lists"][0]["items"][0]["progress"]["activities"] == 1
    tag = r.headers["etag"]
    clock.at("2026-05-02 00:00")  # local midnight: progress may move without any write
    assert (await client.get(url, headers={"If-None-Match": tag})).status_code == 200


async def test_drafts_are_not_public(client, monkeypatch):
    Clock(monkeypatch).at("2026-05-01 10:00")
    lst = await make_list(client)
    await step(client, lst["id"], "submit")
    r = await client.get(f"/api/v1/public/commitments/{AREA['C'].id}?year=2026")
    assert r.status_code == 200 and r.json()["lists"] == [] and r.json()["summary"]["items"] == 0
    r = await client.get(f"/api/v1/public/commitments/{AREA['C'].id}?year=1999")
    assert r.status_code == 422
    r = await client.get("/api/v1/public/commitments/0190a000-0000-7000-8000-000000000009")
    assert r.status_code == 404


async def test_the_html_page_shows_the_notice(client, monkeypatch):
    await crafted(client, monkeypatch)
    r = await client.get(f"/public/commitments/{AREA['D'].id}?year=2026")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script" not in r.headers["content-security-policy"]
    page = r.text
    assert "测试区2026年“一年10件实事”公示" in page and "<script" not in page
    assert "网格员王某某" not in page
    assert '<span data-field="percent">41</span>' in page
    assert (
        await client.get(f"/public/commitments/{AREA['D'].id}?year=2026", headers={"If-None-Match": r.headers["etag"]})
    ).status_code == 304


async def test_a_kept_notice_is_the_notice_a_fresh_render_gives_until_something_changes(
    client, app, settings, monkeypatch
):
    """The rendered notice kept under its ETag is byte for byte what building it anew gives, and a
    change (an activity, a rating) is in the next read once its notification has reached the
    worker (it is sent on commit; the worker keeps ETags only between notifications)."""
    from app.commitments import public, service
    from app.grids.models import Area

    Clock(monkeypatch).at("2026-05-01 12:00")
    lst = await published(client)
    url = f"/api/v1/public/commitments/{AREA['D'].id}?year=2026"
    public._rendered.clear()
    first = await client.get(url)
    kept = await client.get(url)  # from the kept body
    assert first.status_code == kept.status_code == 200 and first.content == kept.content
    assert kept.headers["content-type"] == "application/json" and kept.headers["ETag"] == first.headers["ETag"]
    async with app.state.sessionmaker() as session:
        area = await session.get(Area, AREA["D"].id)
        assert area is not None
        fresh = await public.notice(session, area, 2026, service.today(settings))
    assert kept.content == fresh.model_dump_json().encode()

    tags = app.state.public_tags
    heard = tags.generation
    await activity(client, [lst["items"][0]["id"]], "2026-04-10T09:00:00+08:00")
    for _ in range(500):  # the notification, sent on commit, reaches the listening connection
        if tags.generation != heard:
            break
        await asyncio.sleep(0.01)
    assert tags.generation != heard, "the change's notification never arrived"
    after = await client.get(url)
    assert after.headers["ETag"] != first.headers["ETag"]
    assert after.json()["lists"][0]["items"][0]["progress"]["activities"] == 1
    page_url = f"/public/commitments/{AREA['D'].id}?year=2026"
    page = await client.get(page_url)
    assert page.status_code == 200 and (await client.get(page_url)).text == page.text


@pytest.mark.usefixtures("one_window")
async def test_the_notice_and_its_page_are_rate_limited_per_address(db_url):
    """Both forms of the notice count against one per-address limit: the page is no way around it."""
    import httpx

    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(db_url, rate_limit_public_reads=3))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            json_url = f"/api/v1/public/commitments/{AREA['C'].id}?year=2026"
            page_url = f"/public/commitments/{AREA['C'].id}?year=2026"
            served = [await client.get(page_url), await client.get(json_url), await client.get(page_url)]
            assert [r.status_code for r in served] == [200, 200, 200]
            for url in (page_url, json_url):
                limited = await client.get(url)
                assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
                assert 1 <= int(limited.headers["Retry-After"]) <= 60
        other = httpx.ASGITransport(app=app, client=("198.51.100.10", 40000))
        async with httpx.AsyncClient(transport=other, base_url="http://test") as client:
            assert (await client.get(f"/public/commitments/{AREA['C'].id}?year=2026")).status_code == 200
            missing = await client.get("/public/commitments/0190a000-0000-7000-8000-000000000009")
            assert missing.status_code == 404


async def test_a_change_made_by_another_process_reaches_a_kept_notice_at_once(db_url, monkeypatch):
    """Each process keeps a notice's ETag (one statement less per read) until the database says
    something it is built from changed: a change made through another process is in this one's
    next reads within moments, though the tags may be kept for a minute; and nothing is kept
    while the process does not listen."""
    import asyncio
    import contextlib
    import time

    import httpx

    from app.main import create_app
    from tests.conftest import make_settings

    Clock(monkeypatch).at("2026-05-01 10:00")
    here, there = (create_app(make_settings(db_url, public_notice_tag_seconds=60)) for _ in range(2))
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in (here, there):
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients.append(await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://t")))
        mine, theirs = clients
        deadline = time.monotonic() + 10
        for _ in range(200):  # the hub's listening connection is made in the background
            if here.state.public_tags.live or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert here.state.public_tags.live
        lst = await published(theirs)
        url = f"/api/v1/public/commitments/{AREA['C'].id}?year=2026"
        first = await mine.get(url)
        assert (await mine.get(url)).headers["etag"] == first.headers["etag"]  # kept

        await activity(theirs, [lst["items"][0]["id"]], "2026-04-10T09:00:00+08:00")
        deadline = time.monotonic() + 5
        for _ in range(100):  # the notification arrives in moments, not after the minute kept
            r = await mine.get(url)
            if r.headers["etag"] != first.headers["etag"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert r.headers["etag"] != first.headers["etag"]
        assert r.json()["lists"][0]["items"][0]["progress"]["activities"] == 1

        here.state.public_tags.live = False  # as when its listening connection is lost
        second = (await mine.get(url)).headers["etag"]
        await activity(theirs, [lst["items"][0]["id"]], "2026-04-20T09:00:00+08:00")
        r = await mine.get(url)
        assert r.headers["etag"] != second and r.json()["lists"][0]["items"][0]["progress"]["activities"] == 2


async def test_the_notice_is_gzipped_for_clients_that_take_it_as_a_representation_of_its_own(client, monkeypatch):
    """A browser (``Accept-Encoding: gzip``) gets the notice compressed, with an ETag of its own and
    ``Vary: Accept-Encoding``; a client that does not take gzip — or refuses it with ``q=0`` — gets
    the same bytes uncompressed. Each answers 304 to its own ETag."""
    Clock(monkeypatch).at("2026-05-01 10:00")
    await published(client)
    area = AREA["C"].id
    for url in (f"/api/v1/public/commitments/{area}?year=2026", f"/public/commitments/{area}?year=2026"):
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        refused = await client.get(url, headers={"Accept-Encoding": "gzip;q=0, *"})
        packed = await client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert plain.status_code == refused.status_code == packed.status_code == 200
        assert "content-encoding" not in plain.headers and "content-encoding" not in refused.headers
        assert refused.content == plain.content and refused.headers["etag"] == plain.headers["etag"]
        assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
        assert packed.content == plain.content  # httpx decodes it
        assert int(packed.headers["content-length"]) < len(plain.content) / 2
        assert packed.headers["etag"] != plain.headers["etag"]
        for response, coding in ((plain, "identity"), (packed, "gzip")):
            again = await client.get(
                url, headers={"Accept-Encoding": coding, "If-None-Match": response.headers["etag"]}
            )
            assert again.status_code == 304 and again.headers["etag"] == response.headers["etag"]
