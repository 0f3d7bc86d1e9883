"""民事民提 → 一年10件实事: an item names the proposals it answers; a proposal shows the items it led to."""

from __future__ import annotations

from app.kit.ids import new_id
from tests.commitments.helpers import CA, GW, SA, make_list
from tests.conftest import auth


async def _proposal(client, title: str, headers=GW) -> dict:
    r = await client.post("/api/v1/proposals", json={"title": title, "content": "居民建议"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _led_to(client, proposal: dict, headers=GW) -> list[str]:
    r = await client.get(f"/api/v1/proposals/{proposal['id']}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["commitment_item_ids"]


async def test_an_item_links_the_proposals_it_answers_both_ways(client):
    lights, chargers = await _proposal(client, "楼道装灯"), await _proposal(client, "增设充电桩")
    item = {"category": "governance", "title": "老旧小区改造", "proposal_ids": [lights["id"], chargers["id"]]}
    lst = await make_list(client, items=[item])
    (made,) = lst["items"]
    assert sorted(made["proposal_ids"]) == sorted([lights["id"], chargers["id"]])
    assert await _led_to(client, lights) == [made["id"]]
    r = await client.get(f"/api/v1/commitment-items/{made['id']}", headers=GW)
    assert sorted(r.json()["proposal_ids"]) == sorted([lights["id"], chargers["id"]])
    # the list of proposals and the similar ones carry the links too
    r = await client.get("/api/v1/proposals", headers=GW)
    assert {p["id"]: p["commitment_item_ids"] for p in r.json()["items"]}[chargers["id"]] == [made["id"]]

    # an edit replaces the links; leaving the field out keeps them
    url = f"/api/v1/commitment-lists/{lst['id']}/items/{made['id']}"
    r = await client.patch(url, json={"proposal_ids": [chargers["id"]]}, headers=CA)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["proposal_ids"] == [chargers["id"]]
    r = await client.patch(url, json={"title": "老旧小区综合改造"}, headers=CA)
    assert r.json()["items"][0]["proposal_ids"] == [chargers["id"]]
    assert await _led_to(client, lights) == []
    # an item added later names its proposal as well
    r = await client.post(
        f"/api/v1/commitment-lists/{lst['id']}/items",
        json={"category": "service", "title": "装灯", "proposal_ids": [lights["id"]]},
        headers=CA,
    )
    assert r.status_code == 201, r.text
    assert await _led_to(client, lights) == [r.json()["items"][1]["id"]]


async def test_only_proposals_of_the_items_community_are_linked(client):
    unknown = str(new_id())
    item = {"category": "service", "title": "实事", "proposal_ids": [unknown]}
    body = {"year": 2026, "items": [{"category": "service", "title": "第一件"}, item]}
    r = await client.post("/api/v1/commitment-lists", json=body, headers=CA)
    assert r.status_code == 422 and r.json()["code"] == "unknown_proposal", r.text
    assert r.json()["errors"][0]["field"] == "items.1.proposal_ids"
    r = await client.get("/api/v1/commitment-lists", headers=CA)
    assert r.json()["items"] == []  # nothing of the list was kept

    lst = await make_list(client, items=[{"category": "service", "title": "实事"}])
    url = f"/api/v1/commitment-lists/{lst['id']}/items/{lst['items'][0]['id']}"
    # a proposal of the neighbouring community: the street sees it, but it is not this community's
    neighbours = await _proposal(client, "邻居社区的建议", headers=auth("grid_worker_g3"))
    r = await client.patch(url, json={"proposal_ids": [neighbours["id"]]}, headers=SA)
    assert r.status_code == 422 and r.json()["code"] == "unknown_proposal"
    assert r.json()["errors"][0]["field"] == "proposal_ids"
    # the community's administrator does not see it at all
    r = await client.patch(url, json={"proposal_ids": [neighbours["id"]]}, headers=CA)
    assert r.status_code == 422 and r.json()["code"] == "unknown_proposal"
    assert await _led_to(client, neighbours, headers=SA) == []
    r = await client.get(f"/api/v1/commitment-items/{lst['items'][0]['id']}", headers=CA)
    assert r.json()["proposal_ids"] == []
