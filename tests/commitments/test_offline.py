"""民事民办 offline: activities uploaded in a batch from a phone, and pulled through the change feed."""

from __future__ import annotations

import asyncpg

from app.kit.ids import new_id
from tests.commitments.helpers import CA, GW, ITEMS, SA, Clock, activity, make_list, published, step
from tests.conftest import auth
from tests.world import AREA, USER

BATCH = "/api/v1/commitment-activities/batch"


def sent(item_ids: list[str], held_at: str = "2026-04-10T09:00:00+08:00", **kw) -> dict:
    return {"id": str(new_id()), "item_ids": item_ids, "held_at": held_at, "place": "社区广场", **kw}


async def upload(client, items: list, headers=GW) -> dict:
    r = await client.post(BATCH, json=items, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def progress(client, item_id: str, headers=GW) -> int:
    r = await client.get(f"/api/v1/commitment-items/{item_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["progress"]["activities"]


async def feed(client, since: str | None = None, headers=GW) -> dict:
    params = {"types": "commitment_activities", **({"since": since} if since else {})}
    r = await client.get("/api/v1/sync/changes", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_batch_stores_each_valid_activity_and_answers_each_item(client, monkeypatch):
    Clock(monkeypatch).at("2026-05-01 12:00")
    lst = await published(client)
    monthly, summer = lst["items"][0]["id"], lst["items"][1]["id"]
    draft = (await make_list(client, year=2027, items=ITEMS[:1]))["items"][0]["id"]
    good = sent([monthly, summer], participants=30, volunteers=4)
    items = [
        good,
        sent([monthly], held_at="2027-01-02T09:00:00+08:00"),  # not a 2026 activity
        {"id": "not-a-uuid", "item_ids": [monthly]},
        sent([draft]),  # a list not approved yet
        sent([str(new_id())]),  # an item nobody knows
        {**good},  # the same id twice in one upload
    ]
    out = await upload(client, items)
    assert [(r["index"], r["status"], r["code"]) for r in out["results"]] == [
        (0, "created", None),
        (1, "invalid", "activity_outside_year"),
        (2, "invalid", "validation_failed"),
        (3, "invalid", "invalid_transition"),
        (4, "invalid", "unknown_commitment_item"),
        (5, "invalid", "duplicate_id"),
    ]
    assert out["counts"] == {"created": 1, "unchanged": 0, "conflict": 0, "invalid": 5}
    assert "item_ids" in [e["field"] for e in out["results"][4]["errors"]]
    assert await progress(client, monthly) == 1
    r = await client.get("/api/v1/commitment-activities", params={"item_id": monthly}, headers=GW)
    (stored,) = r.json()["items"]
    assert stored["id"] == good["id"] and stored["participants"] == 30 and stored["volunteers"] == 4
    assert sorted(stored["item_ids"]) == sorted([monthly, summer])


async def test_resending_a_batch_records_nothing_twice(client, monkeypatch):
    Clock(monkeypatch).at("2026-05-01 12:00")
    monthly = (await published(client))["items"][0]["id"]
    items = [sent([monthly]), sent([monthly], held_at="2026-03-10T09:00:00+08:00")]
    assert (await upload(client, items))["counts"]["created"] == 2
    again = await upload(client, items)
    assert [r["status"] for r in again["results"]] == ["unchanged", "unchanged"]
    assert await progress(client, monthly) == 2
    # the id of an activity already recorded, sent with other content: shown, not changed
    changed = await upload(client, [{**items[0], "place": "别处"}])
    (result,) = changed["results"]
    assert result["status"] == "conflict" and result["code"] == "id_taken"
    assert result["current"]["place"] == "社区广场"
    # another user's id is not theirs to resend
    other = await upload(client, [items[0]], headers=CA)
    assert other["results"][0]["status"] == "invalid" and other["results"][0]["code"] == "id_taken"
    assert await progress(client, monthly) == 2


async def test_an_activity_of_the_batch_is_stored_whole_or_not_at_all(client, monkeypatch):
    """One item naming a good and a foreign commitment leaves no trace, not even on the good one."""
    Clock(monkeypatch).at("2026-05-01 12:00")
    monthly = (await published(client))["items"][0]["id"]
    other = (await published(client, area="C2", headers=SA))["items"][0]["id"]
    bad = sent([monthly, other])
    out = await upload(client, [bad, sent([monthly])], headers=SA)
    assert [r["status"] for r in out["results"]] == ["invalid", "created"]
    assert out["results"][0]["code"] == "items_of_several_communities"
    assert await progress(client, monthly) == 1
    r = await client.get("/api/v1/commitment-activities", params={"item_id": monthly}, headers=GW)
    assert bad["id"] not in [a["id"] for a in r.json()["items"]]


async def test_a_batch_past_the_limit_is_refused_whole(client):
    r = await client.post(BATCH, json=[{}] * 201, headers=GW)
    assert r.status_code == 422 and r.json()["code"] == "batch_too_large"


async def test_the_grid_workers_phone_pulls_its_communitys_activities(client, monkeypatch):
    Clock(monkeypatch).at("2026-05-01 12:00")
    lst = await published(client)
    monthly = lst["items"][0]["id"]
    neighbours = (await published(client, area="C2", headers=SA))["items"][0]["id"]
    start = (await feed(client))["next_cursor"]
    # recorded by the community's administrator online, by a worker of another grid offline
    online = await activity(client, [monthly], "2026-04-10T09:00:00+08:00", headers=CA)
    offline = sent([monthly], held_at="2026-03-10T09:00:00+08:00", notes="清洁日")
    await upload(client, [offline], headers=auth("grid_worker_g2"))
    await activity(client, [neighbours], "2026-04-10T09:00:00+08:00", headers=auth("grid_worker_g3"))

    page = await feed(client, start)
    assert [(i["type"], i["id"], i["op"]) for i in page["items"]] == [
        ("commitment_activities", online["id"], "upsert"),
        ("commitment_activities", offline["id"], "upsert"),
    ]
    assert page["items"][1]["data"]["notes"] == "清洁日" and page["items"][1]["data"]["item_ids"] == [monthly]
    assert (await feed(client, page["next_cursor"]))["items"] == []
    # the neighbouring community's worker sees its own, the street both
    theirs = await feed(client, headers=auth("grid_worker_g3"))
    assert len(theirs["items"]) == 1 and theirs["items"][0]["data"]["item_ids"] == [neighbours]
    assert len((await feed(client, headers=SA))["items"]) == 3
    # a viewer does not pull the feed; types a role may not read are left out for the others
    r = await client.get("/api/v1/sync/changes", params={"types": "commitment_activities"}, headers=auth("viewer"))
    assert r.status_code == 403


async def _move(db_url: str, user: str, area: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("UPDATE users SET home_area_id = $1 WHERE id = $2", AREA[area].id, USER[user].id)
    finally:
        await conn.close()


async def test_a_narrowed_scope_drops_only_the_activities_it_no_longer_reads(client, monkeypatch, db_url):
    Clock(monkeypatch).at("2026-05-01 12:00")
    mine = (await published(client))["items"][0]["id"]
    theirs = (await published(client, area="C2", headers=SA))["items"][0]["id"]
    kept = await activity(client, [mine], "2026-04-10T09:00:00+08:00", headers=CA)
    lost = await activity(client, [theirs], "2026-04-10T09:00:00+08:00", headers=auth("grid_worker_g3"))
    street = await feed(client, headers=SA)
    assert {i["id"] for i in street["items"]} == {kept["id"], lost["id"]}
    worker = await feed(client)
    assert [i["id"] for i in worker["items"]] == [kept["id"]]
    # the street administrator now works for community C: the other community's activity is dropped
    await _move(db_url, "street_admin", "C")
    page = await feed(client, street["next_cursor"], headers=SA)
    assert [(i["id"], i["op"]) for i in page["items"]] == [(lost["id"], "delete")]
    # a grid worker moved down to a building still reads the community's activities: no tombstone
    await _move(db_url, "grid_worker", "M1")
    assert (await feed(client, worker["next_cursor"]))["items"] == []


async def test_a_draft_item_reached_by_the_batch_is_refused_like_online(client, monkeypatch):
    Clock(monkeypatch).at("2026-05-01 12:00")
    lst = await make_list(client)
    await step(client, lst["id"], "submit")
    out = await upload(client, [sent([lst["items"][0]["id"]])])
    assert out["results"][0]["code"] == "invalid_transition"
