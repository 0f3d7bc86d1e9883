"""GET /api/v1/stats/overdue: the issues behind the wall screen's 超期 figure, readable by 大屏 viewers
and masked (nothing about a resident), scoped like every other stats route."""

from __future__ import annotations

import datetime as dt

from tests.conftest import auth
from tests.issues.helpers import G2_POINT, act, create
from tests.stats.conftest import Clock
from tests.world import AREA

G3_POINT = {"lat": 34.05, "lng": 108.15}


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


FIELDS = {"number", "category", "category_name", "status", "area", "due_at", "overdue_seconds"}


async def _world(client, fake_clock: Clock) -> dict[str, dict]:
    fake_clock.at("2026-11-02 09:00")
    issues = {
        "g1_reported": await create(client),
        "g1_accepted": await create(client, title="楼道堆物"),
        "g3_reported": await create(client, user="grid_worker_g3", location=G3_POINT),
    }
    await act(client, issues["g1_accepted"], "accept", "grid_worker")
    fake_clock.at("2026-11-05 09:00")
    issues["g2_reported"] = await create(client, user="grid_worker_g2", location=G2_POINT)
    fake_clock.at("2026-11-23 09:00")
    issues["fresh"] = await create(client)  # not overdue yet
    return issues


async def test_viewers_see_the_overdue_issues_behind_the_count_masked(client, fake_clock: Clock):
    issues = await _world(client, fake_clock)
    viewer = auth("viewer")
    # The issue list stays closed to viewers; the stats route is what the wall screen reads.
    assert (await client.get("/api/v1/issues?sla_state=overdue", headers=viewer)).status_code == 403

    r = await client.get("/api/v1/stats/overdue", headers=viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    overview = (await client.get("/api/v1/stats/overview", headers=viewer)).json()
    assert body["total"] == overview["issues"]["overdue_now"] == len(body["items"]) == 4
    numbers = {k: v["number"] for k, v in issues.items()}
    assert {it["number"] for it in body["items"]} == {v for k, v in numbers.items() if k != "fresh"}
    for item in body["items"]:
        assert set(item) == FIELDS
        assert item["overdue_seconds"] > 0 and item["category_name"]
    # Nothing about the resident or the matter: no reporter, phone, title, text or address.
    for personal in ("周贵领", "13812341234", "路灯", "楼道", "东门"):
        assert personal not in r.text
    # Most overdue first; the limit cuts the list, not the count.
    seconds = [it["overdue_seconds"] for it in body["items"]]
    assert seconds == sorted(seconds, reverse=True)
    assert {it["number"] for it in body["items"][:2]} == {numbers["g1_reported"], numbers["g3_reported"]}
    # The deadline shown is the one running: the response's until accepted, then the resolution's.
    due = {it["number"]: it["due_at"] for it in body["items"]}
    for key, deadline in (("g1_reported", "respond_due_at"), ("g1_accepted", "resolve_due_at")):
        full = (await client.get(f"/api/v1/issues/{issues[key]['id']}", headers=auth("admin"))).json()
        assert _instant(due[numbers[key]]) == _instant(full[deadline]), key
    one = (await client.get("/api/v1/stats/overdue?limit=1", headers=viewer)).json()
    assert one["total"] == 4 and [it["number"] for it in one["items"]] == [body["items"][0]["number"]]


async def test_the_list_is_the_issue_lists_overdue_filter_in_the_callers_scope(client, fake_clock: Clock):
    await _world(client, fake_clock)
    for user, area in (("street_admin", None), ("community_admin", None), ("grid_worker_g3", None), ("viewer", "G1")):
        url = "/api/v1/stats/overdue?limit=100" + (f"&area_id={AREA[area].id}" if area else "")
        listed = (await client.get(url, headers=auth(user))).json()
        issues_url = "/api/v1/issues?sla_state=overdue&limit=100" + (f"&area_id={AREA[area].id}" if area else "")
        reader = user if user != "viewer" else "admin"
        expected = {it["number"] for it in (await client.get(issues_url, headers=auth(reader))).json()["items"]}
        assert {it["number"] for it in listed["items"]} == expected and listed["total"] == len(expected), user
    g3 = (await client.get("/api/v1/stats/overdue", headers=auth("grid_worker_g3"))).json()
    assert [it["area"]["name"] for it in g3["items"]] == ["邻居网格"]


async def test_refusals_are_those_of_every_stats_route(client, fake_clock: Clock):
    await _world(client, fake_clock)
    r = await client.get(f"/api/v1/stats/overdue?area_id={AREA['XS'].id}", headers=auth("viewer"))
    assert r.status_code == 422 and r.json()["code"] == "unknown_area"
    r = await client.get(f"/api/v1/stats/overdue?area_id={AREA['G2'].id}", headers=auth("grid_worker"))
    assert r.status_code == 422 and r.json()["code"] == "unknown_area"
    for role in ("department", "integration"):
        r = await client.get("/api/v1/stats/overdue", headers=auth(role))
        assert r.status_code == 403 and r.json()["code"] == "role_not_allowed", role
    for bad in ("0", "101", "ten"):
        r = await client.get(f"/api/v1/stats/overdue?limit={bad}", headers=auth("viewer"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.limit", bad
    assert (await client.get("/api/v1/stats/overdue")).status_code == 401
