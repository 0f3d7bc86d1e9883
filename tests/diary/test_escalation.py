"""民情日记 → 诉求: an entry escalated into an issue follows the issue to its close (and reopening)."""

from __future__ import annotations

from tests.conftest import auth
from tests.diary.test_diary import entry
from tests.issues.helpers import act


async def _escalated(client):
    created = await client.post("/api/v1/diary-entries", json=entry(kind="complaint"), headers=auth("grid_worker"))
    assert created.status_code == 201, created.text
    e = created.json()
    r = await client.post(
        f"/api/v1/diary-entries/{e['id']}/escalate",
        json={"category": "property"},
        headers={**auth("grid_worker"), "If-Match": f'"{e["version"]}"'},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_escalation_links_both_ways_and_follows_the_close(client):
    out = await _escalated(client)
    entry_out, issue_id = out["entry"], out["issue_id"]
    assert entry_out["status"] == "escalated" and entry_out["issue_id"] == issue_id
    issue = (await client.get(f"/api/v1/issues/{issue_id}", headers=auth("community_admin"))).json()
    assert issue["channel"] == "diary" and issue["diary_entry_id"] == entry_out["id"]
    assert issue["kind"] == "complaint" and issue["number"] == out["issue_number"]
    assert issue["area_id"] == entry_out["area_id"]

    again = await client.post(
        f"/api/v1/diary-entries/{entry_out['id']}/escalate", json={"category": "property"}, headers=auth("grid_worker")
    )
    assert again.status_code == 409 and again.json()["issue_id"] == issue_id

    issue = await act(client, issue, "accept", "community_admin")
    issue = await act(client, issue, "resolve", "community_admin", {"outcome": "solved", "notes": "已协调物业"})
    issue = await act(client, issue, "verify", "grid_worker")
    closed = await act(client, issue, "close", "community_admin", {"rating": "satisfied", "solved": True})
    got = (await client.get(f"/api/v1/diary-entries/{entry_out['id']}", headers=auth("grid_worker"))).json()
    assert got["status"] == "resolved" and got["version"] == entry_out["version"] + 1

    await act(client, closed, "reopen", "community_admin", {"reason": "居民反映问题复发"})
    got = (await client.get(f"/api/v1/diary-entries/{entry_out['id']}", headers=auth("grid_worker"))).json()
    assert got["status"] == "escalated"


async def test_escalation_is_scoped(client):
    created = (await client.post("/api/v1/diary-entries", json=entry(), headers=auth("grid_worker"))).json()
    r = await client.post(
        f"/api/v1/diary-entries/{created['id']}/escalate", json={"category": "property"}, headers=auth("grid_worker_g2")
    )
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/diary-entries/{created['id']}/escalate", json={"category": "no-such"}, headers=auth("grid_worker")
    )
    assert r.status_code == 422
    # nothing half-written: the entry is still open
    got = (await client.get(f"/api/v1/diary-entries/{created['id']}", headers=auth("grid_worker"))).json()
    assert got["status"] == "open" and got["issue_id"] is None


async def test_issues_travel_in_the_sync_feed(client):
    from tests.issues.helpers import create

    start = (await client.get("/api/v1/sync/changes?since=now&types=issues", headers=auth("grid_worker"))).json()
    issue = await create(client)
    await create(client, "community_admin", location={"lat": 34.05, "lng": 108.07})  # G2: not this worker
    await act(client, issue, "accept", "community_admin")
    page = (
        await client.get(f"/api/v1/sync/changes?since={start['next_cursor']}&types=issues", headers=auth("grid_worker"))
    ).json()
    ids = [c["id"] for c in page["items"]]
    assert set(ids) == {issue["id"]}
    latest = [c for c in page["items"] if c["id"] == issue["id"]][-1]
    assert latest["op"] == "upsert" and latest["data"]["status"] == "accepted"
    assert latest["data"]["reporter"]["phone"] == "138****1234"
