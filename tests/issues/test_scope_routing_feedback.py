"""Scoping, routing by location, attachments, comments, and the resident's feedback link."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.kit import clock
from tests.conftest import auth
from tests.issues.helpers import G2_POINT, M1_POINT, act, create, dispatched_to_unit, issue_body
from tests.world import AREA, USER

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_routing_by_location_area_or_home(client):
    assert (await create(client, location=M1_POINT))["area_id"] == str(AREA["M1"].id)
    issue = await create(client, "community_admin", location=G2_POINT)
    assert (issue["area_id"], issue["tier"]) == (str(AREA["G2"].id), "grid")
    r = await client.post("/api/v1/issues", json=issue_body(location=G2_POINT), headers=auth("grid_worker"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "location"
    home = await create(client, "community_admin", location=None)
    assert (home["area_id"], home["tier"]) == (str(AREA["C"].id), "community")
    street = await create(client, "street_admin", location=None)
    assert street["tier"] == "street"
    r = await client.post(
        "/api/v1/issues", json=issue_body(area_id=str(AREA["G3"].id)), headers=auth("community_admin")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "area_id"
    numbers = [home["number"], street["number"]]
    assert all(n.startswith("T01-") for n in numbers) and numbers[0][-6:] < numbers[1][-6:]


async def test_concurrent_creates_get_consecutive_numbers_taken_together(client, monkeypatch):
    """The numbers of concurrent creates are taken in one statement where they arrive together:
    every issue still gets its own number, and they run on without a gap or a repeat."""
    import asyncio

    from app.issues import repository

    batches = []
    take = repository._take_numbers

    async def counted(pool, wanted):  # type: ignore[no-untyped-def]
        batches.append(len(wanted))
        return await take(pool, wanted)

    monkeypatch.setattr(repository, "_take_numbers", counted)
    first = int((await create(client))["number"][-6:])
    made = await asyncio.gather(*(create(client) for _ in range(20)))
    numbers = sorted(int(i["number"][-6:]) for i in made)
    assert numbers == list(range(first + 1, first + 21))
    assert sum(batches) == 21 and len(batches) < 21


async def test_number_prefix_of_the_nearest_area_applies(client, app):
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(sa.text("UPDATE areas SET number_prefix = 'ZZ' WHERE code = 'T010101'"))
    assert (await create(client))["number"].startswith("ZZ-")


async def test_client_id_is_kept_and_cannot_be_reused(client):
    issue_id = "01900000-0000-7000-8000-0000000000aa"
    assert (await create(client, id=issue_id))["id"] == issue_id
    r = await client.post("/api/v1/issues", json=issue_body(id=issue_id), headers=auth("grid_worker"))
    assert r.status_code == 409 and r.json()["code"] == "issue_exists"


async def test_a_grid_worker_of_another_grid_sees_nothing(client):
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}"
    other = auth("grid_worker_g2")
    for url in (base, f"{base}/events", f"{base}/comments", f"{base}/attachments", f"{base}/similar"):
        assert (await client.get(url, headers=other)).status_code == 404, url
    assert (await client.post(f"{base}/actions/accept", json={}, headers=other)).status_code == 404
    assert (await client.post(f"{base}/comments", json={"body": "看看"}, headers=other)).status_code == 404
    r = await client.post(f"{base}/attachments", files={"file": ("a.png", PNG, "image/png")}, headers=other)
    assert r.status_code == 404
    assert (await client.get("/api/v1/issues", headers=other)).json()["items"] == []
    assert (await client.get(base, headers=auth("other_admin"))).status_code == 404


async def test_comments_and_attachments(client, settings, tmp_path):
    settings.attachments_dir = tmp_path
    issue = await dispatched_to_unit(client)
    base = f"/api/v1/issues/{issue['id']}"
    r = await client.post(f"{base}/comments", json={"body": "已联系物业"}, headers=auth("department"))
    assert r.status_code == 201
    comments = (await client.get(f"{base}/comments", headers=auth("grid_worker"))).json()["items"]
    assert [c["body"] for c in comments] == ["已联系物业"]

    r = await client.post(
        f"{base}/attachments", files={"file": ("x.png", b"MZ\x90\x00evil", "image/png")}, headers=auth("department")
    )
    assert r.status_code == 415
    r = await client.post(
        f"{base}/attachments",
        files={"file": ("after.png", PNG, "application/octet-stream")},
        data={"kind": "after"},
        headers=auth("department"),
    )
    assert r.status_code == 201, r.text
    att = r.json()
    assert (att["content_type"], att["kind"], att["size"]) == ("image/png", "after", len(PNG))
    assert (tmp_path / issue["id"] / att["id"]).read_bytes() == PNG
    listed = (await client.get(f"{base}/attachments", headers=auth("grid_worker"))).json()
    assert [a["id"] for a in listed] == [att["id"]]
    download = await client.get(f"{base}/attachments/{att['id']}", headers=auth("grid_worker"))
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert (await client.get(f"{base}/attachments/{att['id']}", headers=auth("grid_worker_g2"))).status_code == 404
    await act(client, issue, "start", "department")
    resolved = await act(client, issue, "resolve", "department", {"outcome": "solved", "photo_ids": [att["id"]]})
    assert resolved["status"] == "resolved"
    events = (await client.get(f"{base}/events", headers=auth("admin"))).json()["items"]
    assert [e["action"] for e in events][-4:] == ["comment", "attach", "start", "resolve"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def _closed(client) -> tuple[dict, str]:
    issue = await dispatched_to_unit(client)
    await act(client, issue, "resolve", "department", {"outcome": "solved"})
    await act(client, issue, "verify", "grid_worker")
    closed = await act(client, issue, "close", "community_admin", {"rating": "satisfied", "solved": True})
    return closed, closed["feedback_url"]


async def test_dissatisfied_feedback_within_seven_days_reopens(client):
    issue, url = await _closed(client)
    r = await client.post(url, json={"rating": "dissatisfied", "solved": False, "comment": "灯还是不亮"})
    assert r.status_code == 200, r.text
    assert r.json() == {"number": issue["number"], "status": "in_progress", "reopened": True}
    events = (await client.get(f"/api/v1/issues/{issue['id']}/events", headers=auth("admin"))).json()["items"]
    assert [(e["action"], e["actor_role"]) for e in events[-2:]] == [("evaluate", "system"), ("reopen", "system")]
    got = (await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("admin"))).json()
    assert (got["rating"], got["reopened_count"], got["closed_at"]) == ("dissatisfied", 1, None)
    again = await client.post(url, json={"rating": "satisfied", "solved": True})
    assert again.status_code == 410 and again.json()["code"] == "feedback_used"


async def test_feedback_after_seven_days_only_records_and_expires_after_thirty(client, monkeypatch):
    _, url = await _closed(client)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    r = await client.post(url, json={"rating": "dissatisfied", "solved": False})
    assert r.status_code == 200 and r.json()["reopened"] is False and r.json()["status"] == "closed"

    _, url2 = await _closed(client)
    expired = later + dt.timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: expired)
    r = await client.post(url2, json={"rating": "satisfied", "solved": True})
    assert r.status_code == 410 and r.json()["code"] == "feedback_expired"
    r = await client.post("/api/v1/feedback/not-a-real-token-at-all", json={"rating": "satisfied", "solved": True})
    assert r.status_code == 404


async def test_feedback_tokens_are_stored_hashed(client, app):
    _, url = await _closed(client)
    token = url.rsplit("/", 1)[1]
    async with app.state.sessionmaker() as session:
        stored = (await session.execute(sa.text("SELECT token_hash FROM feedback_tokens"))).scalars().all()
    assert len(stored) == 1 and token not in stored[0]


async def test_get_issue_reads_the_same_with_a_token_and_with_an_api_key(client):
    """The bearer path reads in one statement, the API key path the ordinary way: same answer."""
    from tests.issues.helpers import G1_POINT

    inside = await create(client, location=G1_POINT, reporter={"name": "周贵领", "phone": "13812341234"})
    merged_from = await create(client, location=G1_POINT, reporter={"name": "王秀兰", "phone": "13900001111"})
    await act(client, inside, "accept", "community_admin")
    await act(client, merged_from, "merge", "community_admin", {"into_issue_id": inside["id"]})
    outside = await create(client, "street_admin", area_id=str(AREA["G3"].id), location=None)
    key = await client.post(
        "/api/v1/api-keys",
        json={"name": "热线", "user_id": str(USER["integration"].id), "area_id": str(AREA["C"].id)},
        headers=auth("admin"),
    )
    assert key.status_code == 201, key.text
    by_key = {"X-API-Key": key.json()["key"]}

    a = await client.get(f"/api/v1/issues/{inside['id']}", headers=auth("integration"))
    b = await client.get(f"/api/v1/issues/{inside['id']}", headers=by_key)
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.headers["ETag"] == b.headers["ETag"]
    assert a.json() == b.json()
    assert [r["name"] for r in a.json()["co_reporters"]] == ["王**"]
    for headers in (auth("integration"), by_key):
        again = await client.get(
            f"/api/v1/issues/{inside['id']}", headers={**headers, "If-None-Match": a.headers["ETag"]}
        )
        assert again.status_code == 304
    # the key is limited to community C; the token's user sees the whole district
    assert (await client.get(f"/api/v1/issues/{outside['id']}", headers=by_key)).status_code == 404
    assert (await client.get(f"/api/v1/issues/{outside['id']}", headers=auth("integration"))).status_code == 200
