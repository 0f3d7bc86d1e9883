"""一年10件实事: the list's workflow, activities and progress, evaluations, the behind event."""

from __future__ import annotations

import asyncpg

from app.commitments import service
from tests.commitments.helpers import CA, GW, SA, Clock, activity, make_list, published, step
from tests.conftest import auth
from tests.world import AREA


async def test_a_list_goes_from_draft_through_the_street_to_the_public(client):
    lst = await make_list(client)
    assert lst["status"] == "draft" and lst["title"] == "测试社区2026年一年10件实事"
    assert [i["position"] for i in lst["items"]] == [1, 2, 3]
    assert lst["allowed_actions"] == ["edit", "submit"]

    # the community cannot approve its own list
    r = await client.post(f"/api/v1/commitment-lists/{lst['id']}/approve", headers=CA)
    assert r.status_code == 403
    await step(client, lst["id"], "submit")
    r = await client.post(
        f"/api/v1/commitment-lists/{lst['id']}/items", json={"category": "care", "title": "x"}, headers=CA
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    returned = await step(client, lst["id"], "return", SA, {"reason": "第3项预算依据不足"})
    assert returned["status"] == "returned" and returned["returned_reason"] == "第3项预算依据不足"

    # edited and submitted again
    item = returned["items"][2]
    r = await client.patch(
        f"/api/v1/commitment-lists/{lst['id']}/items/{item['id']}",
        json={"budget_yuan": 800_000},
        headers={**CA, "If-Match": f'"{returned["version"]}"'},
    )
    assert r.status_code == 200 and r.json()["items"][2]["budget_yuan"] == 800_000
    r = await client.patch(
        f"/api/v1/commitment-lists/{lst['id']}/items/{item['id']}",
        json={"budget_yuan": 1},
        headers={**CA, "If-Match": f'"{returned["version"]}"'},
    )
    assert r.status_code == 412
    await step(client, lst["id"], "submit")
    approved = await step(client, lst["id"], "approve", SA)
    assert approved["status"] == "approved" and approved["returned_reason"] is None
    done = await step(client, lst["id"], "publish")
    assert done["status"] == "published" and done["published_at"]
    await step(client, lst["id"], "publish", status=409)


async def test_the_transitions_are_audited_and_publishing_emits_an_event(client, db_url):
    lst = await published(client)
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        actions = [
            r[0] for r in await conn.fetch("SELECT action FROM audit_log WHERE object_id = $1 ORDER BY id", lst["id"])
        ]
        events = [r[0] for r in await conn.fetch("SELECT event_type FROM outbox WHERE aggregate_id = $1", lst["id"])]
    finally:
        await conn.close()
    assert actions == [
        "commitment_list.create",
        "commitment_list.submit",
        "commitment_list.approve",
        "commitment_list.publish",
    ]
    assert events == ["commitment_list.published"]


async def test_a_list_belongs_to_a_community_once_a_year_and_holds_at_most_ten(client):
    r = await client.post("/api/v1/commitment-lists", json={"area_id": str(AREA["S"].id), "year": 2026}, headers=SA)
    assert r.status_code == 422 and r.json()["code"] == "not_a_community"
    await make_list(client, items=[])
    r = await client.post("/api/v1/commitment-lists", json={"area_id": str(AREA["C"].id), "year": 2026}, headers=SA)
    assert r.status_code == 409 and r.json()["code"] == "commitment_list_exists"
    eleven = [{"category": "service", "title": f"事项{n}"} for n in range(11)]
    r = await client.post(
        "/api/v1/commitment-lists", json={"area_id": str(AREA["C"].id), "year": 2027, "items": eleven}, headers=CA
    )
    assert r.status_code == 422 and r.json()["code"] == "too_many_commitments"
    # another community's administrator and another district never see it
    r = await client.post("/api/v1/commitment-lists", json={"area_id": str(AREA["C2"].id), "year": 2026}, headers=CA)
    assert r.status_code == 422 and r.json()["code"] == "unknown_area"


async def test_an_empty_list_cannot_be_submitted(client):
    lst = await make_list(client, items=[])
    r = await client.post(f"/api/v1/commitment-lists/{lst['id']}/submit", headers=CA)
    assert r.status_code == 409 and r.json()["code"] == "commitment_list_empty"


async def test_schedules_are_validated(client):
    bad = [
        {"kind": "season", "times": 2, "start": "08-31", "end": "07-01"},
        {"kind": "range", "min": 3, "max": 2},
        {"kind": "monthly", "day": 32},
        {"kind": "season", "times": 2, "start": "02-30", "end": "03-01"},
        {"kind": "weekly"},
    ]
    for schedule in bad[2:]:
        r = await client.post(
            "/api/v1/commitment-lists",
            json={
                "area_id": str(AREA["C"].id),
                "year": 2026,
                "items": [{"category": "care", "title": "x", "schedule": schedule}],
            },
            headers=CA,
        )
        assert r.status_code == 422 and r.json()["code"] == "validation_failed", (schedule, r.text)
    for schedule in bad[:2]:  # what the schema cannot say
        r = await client.post(
            "/api/v1/commitment-lists",
            json={
                "area_id": str(AREA["C"].id),
                "year": 2026,
                "items": [{"category": "care", "title": "x", "schedule": schedule}],
            },
            headers=CA,
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_schedule", (schedule, r.text)
    r = await client.post(
        "/api/v1/commitment-lists",
        json={
            "area_id": str(AREA["C"].id),
            "year": 2026,
            "items": [{"category": "care", "title": "x", "milestones": [{"title": "m", "due": "2027-01-01"}]}],
        },
        headers=CA,
    )
    assert r.status_code == 422 and r.json()["code"] == "milestone_outside_year"


async def test_grid_workers_record_activities_and_progress_follows_local_time(client, monkeypatch):
    clock = Clock(monkeypatch)
    clock.at("2026-03-10 12:00")
    lst = await published(client)
    monthly, summer, greenhouse = (i["id"] for i in lst["items"])
    # the grid worker of G1 sees the list of the community over the grid
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}", headers=GW)
    assert r.status_code == 200
    assert r.json()["items"][0]["progress"] == {
        "status": "behind",
        "total": 12,
        "expected": 2,
        "done": 0,
        "percent": 0,
        "next_due": "2026-03-10",
        "activities": 0,
    }
    # one activity serving two items; the summer one does not count in March
    a = await activity(client, [monthly, summer], "2026-01-10T09:00:00+08:00", volunteers=5)
    assert sorted(a["item_ids"]) == sorted([monthly, summer])
    await activity(client, [monthly], "2026-02-10T09:00:00+08:00")
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}", headers=GW)
    items = r.json()["items"]
    assert items[0]["progress"]["status"] == "on_track" and items[0]["progress"]["done"] == 2
    assert items[1]["progress"]["activities"] == 0

    # local midnight: the 10th is over at 00:00 on the 11th (Shanghai), not at UTC midnight
    clock.at("2026-03-11 07:59")
    r = await client.get(f"/api/v1/commitment-items/{monthly}", headers=GW)
    assert r.json()["progress"]["status"] == "behind" and r.json()["progress"]["expected"] == 3
    clock.at("2026-03-10 23:59")
    r = await client.get(f"/api/v1/commitment-items/{monthly}", headers=GW)
    assert r.json()["progress"]["status"] == "on_track"

    # a milestone done
    r = await client.post(
        f"/api/v1/commitment-items/{greenhouse}/milestones/1/done", json={"done_on": "2026-03-05"}, headers=GW
    )
    assert r.status_code == 200
    assert r.json()["milestones"][0]["done_on"] == "2026-03-05" and r.json()["progress"]["done"] == 1
    r = await client.post(
        f"/api/v1/commitment-items/{greenhouse}/milestones/3/done", json={"done_on": "2026-03-05"}, headers=GW
    )
    assert r.status_code == 404


async def test_an_activity_belongs_to_the_year_of_its_local_date(client, monkeypatch):
    Clock(monkeypatch).at("2026-12-31 12:00")
    lst = await published(client)
    monthly = lst["items"][0]["id"]
    # 16:30 UTC on 31 December is New Year's Day in Shanghai: not a 2026 activity
    r = await client.post(
        "/api/v1/commitment-activities",
        json={"item_ids": [monthly], "held_at": "2026-12-31T16:30:00Z", "place": "广场"},
        headers=GW,
    )
    assert r.status_code == 422 and r.json()["code"] == "activity_outside_year"
    await activity(client, [monthly], "2026-12-31T15:59:00Z")


async def test_a_resent_activity_is_recorded_once(client, monkeypatch):
    Clock(monkeypatch).at("2026-05-01 12:00")
    lst = await published(client)
    monthly = lst["items"][0]["id"]
    body_id = "0190a000-0000-7000-8000-000000000001"
    first = await activity(client, [monthly], "2026-04-10T09:00:00+08:00", id=body_id)
    again = await activity(client, [monthly], "2026-04-10T09:00:00+08:00", id=body_id, status=200)
    assert again == first
    r = await client.get(f"/api/v1/commitment-items/{monthly}", headers=GW)
    assert r.json()["progress"]["activities"] == 1


async def test_activities_need_an_approved_list_in_scope(client, monkeypatch):
    Clock(monkeypatch).at("2026-05-01 12:00")
    lst = await make_list(client)
    item = lst["items"][0]["id"]
    r = await client.post(
        "/api/v1/commitment-activities",
        json={"item_ids": [item], "held_at": "2026-04-10T09:00:00+08:00", "place": "x"},
        headers=GW,
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    # the grid worker of the neighbouring community does not know the item
    r = await client.post(
        "/api/v1/commitment-activities",
        json={"item_ids": [item], "held_at": "2026-04-10T09:00:00+08:00", "place": "x"},
        headers=auth("grid_worker_g3"),
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_commitment_item"
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}", headers=auth("grid_worker_g3"))
    assert r.status_code == 404
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}", headers=auth("other_admin"))
    assert r.status_code == 404


async def test_falling_behind_is_announced_once_per_occurrence(client, app, monkeypatch, db_url):
    clock = Clock(monkeypatch)
    clock.at("2026-02-01 12:00")
    lst = await published(client)
    monthly = lst["items"][0]["id"]

    async def round_at(text: str) -> int:
        clock.at(text)
        async with app.state.sessionmaker() as session, session.begin():
            return await service.announce_behind(session, app.state.settings)

    assert await round_at("2026-02-01 12:00") == 1  # the clean-up day of 10 January
    assert await round_at("2026-02-02 12:00") == 0  # announced already
    await activity(client, [monthly], "2026-02-05T09:00:00+08:00")
    assert await round_at("2026-02-11 12:00") == 1  # February's occurrence, now missing
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT payload FROM outbox WHERE event_type = 'commitment.behind' AND aggregate_id = $1 ORDER BY id",
            monthly,
        )
    finally:
        await conn.close()
    import json

    payloads = [json.loads(r[0]) for r in rows]
    assert [(p["expected"], p["done"]) for p in payloads] == [(1, 0), (2, 1)]
    assert "title" not in payloads[0]


async def test_evaluations_by_staff_and_by_one_time_links(client, monkeypatch):
    Clock(monkeypatch).at("2026-12-20 12:00")
    lst = await published(client)
    item = lst["items"][0]["id"]
    r = await client.post(f"/api/v1/commitment-items/{item}/evaluations", json={"rating": "satisfied"}, headers=GW)
    assert r.status_code == 201
    r = await client.post(f"/api/v1/commitment-items/{item}/evaluation-links", json={"count": 2}, headers=CA)
    assert r.status_code == 201
    first, second = r.json()["urls"]
    r = await client.post(first, json={"rating": "dissatisfied"})
    assert r.status_code == 200 and r.json() == {"accepted": True}
    r = await client.post(first, json={"rating": "satisfied"})
    assert r.status_code == 410 and r.json()["code"] == "feedback_used"
    await step(client, lst["id"], "close")
    r = await client.post(second, json={"rating": "basically_satisfied", "comment": "还不错"})
    assert r.status_code == 200
    r = await client.get(f"/api/v1/commitment-items/{item}", headers=GW)
    assert r.json()["ratings"] == {
        "satisfied": 1,
        "basically_satisfied": 1,
        "dissatisfied": 1,
        "total": 3,
        "satisfaction": "0.6667",
    }
    r = await client.post("/api/v1/commitment-feedback/not-a-real-token-123", json={"rating": "satisfied"})
    assert r.status_code == 404


async def test_a_draft_list_takes_no_evaluation(client):
    lst = await make_list(client)
    r = await client.post(
        f"/api/v1/commitment-items/{lst['items'][0]['id']}/evaluations", json={"rating": "satisfied"}, headers=GW
    )
    assert r.status_code == 409


async def test_deleting_an_item_renumbers_the_rest(client):
    lst = await make_list(client)
    r = await client.delete(f"/api/v1/commitment-lists/{lst['id']}/items/{lst['items'][0]['id']}", headers=CA)
    assert r.status_code == 200
    assert [(i["position"], i["title"]) for i in r.json()["items"]] == [
        (1, "暑期开展青少年安全教育不少于2次"),
        (2, "建设蔬菜大棚"),
    ]


async def test_a_webhook_subscriber_receives_commitment_behind(client, app, monkeypatch, db_url):
    """The event is one a subscription may ask for, and it reaches the subscriptions of its area."""
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["commitment.behind"]},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    clock = Clock(monkeypatch)
    clock.at("2026-02-01 12:00")
    lst = await published(client)
    async with app.state.sessionmaker() as session, session.begin():
        assert await service.announce_behind(session, app.state.settings) == 1
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        area = await conn.fetchval(
            "SELECT area_id FROM outbox WHERE event_type = 'commitment.behind' AND aggregate_id = $1",
            lst["items"][0]["id"],
        )
    finally:
        await conn.close()
    assert str(area) == str(AREA["C"].id)


async def test_the_etag_of_a_read_list_is_good_for_if_match(client):
    lst = await make_list(client)
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}", headers=CA)
    r = await client.post(f"/api/v1/commitment-lists/{lst['id']}/submit", headers={**CA, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
