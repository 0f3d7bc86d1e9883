import uuid

from sqlalchemy import event

from app.kit.ids import new_id
from tests.conftest import auth
from tests.elsewhere import elsewhere
from tests.world import AREA

GW = auth("grid_worker")


def entry(**kw):
    body = {
        "visited_at": "2026-11-23T09:30:00+08:00",
        "kind": "situation",
        "content": "3号楼王大爷反映楼道灯不亮",
    }
    body.update(kw)
    return body


async def test_create_defaults_to_home_grid_and_is_idempotent_by_id(client):
    eid = str(new_id())
    r = await client.post("/api/v1/diary-entries", json=entry(id=eid), headers=GW)
    assert r.status_code == 201, r.text
    assert r.json()["area_id"] == str(AREA["G1"].id)
    assert r.headers["etag"] == '"1"'
    again = await client.post("/api/v1/diary-entries", json=entry(id=eid), headers=GW)
    assert again.status_code == 200
    assert again.json() == r.json()
    other = await client.post("/api/v1/diary-entries", json=entry(id=eid, content="别的"), headers=GW)
    assert other.status_code == 409
    assert other.json()["code"] == "id_taken"


async def test_idempotency_key_without_id(client):
    h = {**GW, "Idempotency-Key": "abc-1"}
    r1 = await client.post("/api/v1/diary-entries", json=entry(), headers=h)
    r2 = await client.post("/api/v1/diary-entries", json=entry(), headers=h)
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["id"] == r2.json()["id"]


async def test_area_must_be_a_grid_in_scope(client):
    r = await client.post("/api/v1/diary-entries", json=entry(area_id=str(AREA["G2"].id)), headers=GW)
    assert r.status_code == 422
    r = await client.post("/api/v1/diary-entries", json=entry(), headers=auth("community_admin"))
    assert r.status_code == 422 and r.json()["code"] == "not_a_grid"
    r = await client.post(
        "/api/v1/diary-entries", json=entry(area_id=str(AREA["M1"].id)), headers=auth("community_admin")
    )
    assert r.status_code == 201


async def test_other_grid_gets_404_and_lists_are_scoped(client):
    r = await client.post("/api/v1/diary-entries", json=entry(), headers=GW)
    eid = r.json()["id"]
    assert (await client.get(f"/api/v1/diary-entries/{eid}", headers=auth("grid_worker_g2"))).status_code == 404
    assert (await client.get(f"/api/v1/diary-entries/{eid}", headers=auth("community_admin"))).status_code == 200
    listed = (await client.get("/api/v1/diary-entries", headers=auth("grid_worker_g2"))).json()
    assert listed["items"] == []
    listed = (await client.get("/api/v1/diary-entries?q=楼道灯&status=open", headers=auth("street_admin"))).json()
    assert [e["id"] for e in listed["items"]] == [eid]
    assert (await client.get("/api/v1/diary-entries", headers=auth("viewer"))).status_code == 403


async def test_list_pages_with_cursor(client):
    for i in range(5):
        await client.post("/api/v1/diary-entries", json=entry(content=f"第{i}条"), headers=GW)
    seen, cursor = [], None
    while True:
        url = "/api/v1/diary-entries?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=GW)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


async def test_patch_needs_if_match(client):
    eid = (await client.post("/api/v1/diary-entries", json=entry(), headers=GW)).json()["id"]
    url = f"/api/v1/diary-entries/{eid}"
    assert (await client.patch(url, json={"status": "resolved"}, headers=GW)).status_code == 428
    assert (await client.patch(url, json={"status": "resolved"}, headers={**GW, "If-Match": '"7"'})).status_code == 412
    r = await client.patch(url, json={"status": "resolved", "result": "已报修"}, headers={**GW, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["status"] == "resolved"
    r = await client.patch(url, json={"status": "escalated"}, headers={**GW, "If-Match": '"2"'})
    assert r.status_code == 422


def batch(n, **kw):
    return [entry(id=str(new_id()), content=f"走访记录 {i}", **kw) for i in range(n)]


async def test_batch_of_500_then_resent_is_unchanged(app, client):
    statements: list[str] = []
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", lambda c, cur, s, *a: statements.append(s))
    await client.post("/api/v1/diary-entries/batch", json=batch(5), headers=GW)
    few, statements[:] = len(statements), []
    items = batch(500)
    r = await client.post("/api/v1/diary-entries/batch", json=items, headers=GW)
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["created"] == 500
    # Set-based: as many statements for 500 entries as for 5 (bench/ measures the time it takes).
    assert len(statements) == few, statements
    r = await client.post("/api/v1/diary-entries/batch", json=items, headers=GW)
    assert r.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 500, "conflict": 0, "invalid": 0}


async def test_one_invalid_item_does_not_sink_the_batch(client):
    items = batch(500)
    items[137]["kind"] = "gossip"
    r = await client.post("/api/v1/diary-entries/batch", json=items, headers=GW)
    body = r.json()
    assert body["counts"]["created"] == 499 and body["counts"]["invalid"] == 1
    bad = body["results"][137]
    assert bad["status"] == "invalid" and bad["id"] == items[137]["id"]
    assert bad["errors"][0]["field"] == "kind"
    got = await client.get(f"/api/v1/diary-entries/{items[137]['id']}", headers=GW)
    assert got.status_code == 404
    assert (await client.get(f"/api/v1/diary-entries/{items[138]['id']}", headers=GW)).status_code == 200


async def test_batch_item_errors_for_scope_and_shape(client):
    items = [
        entry(id=str(new_id()), area_id=str(AREA["G2"].id)),
        "not an object",
        entry(id="nope"),
        entry(id=str(new_id()), resident_id=str(uuid.uuid4())),
        entry(id=str(new_id())),
    ]
    items.append(dict(items[-1]))
    r = await client.post("/api/v1/diary-entries/batch", json=items, headers=GW)
    statuses = [x["status"] for x in r.json()["results"]]
    assert statuses == ["invalid", "invalid", "invalid", "invalid", "created", "invalid"]
    assert r.json()["results"][5]["code"] == "duplicate_id"


async def test_batch_updates_and_conflicts(client):
    items = batch(3)
    await client.post("/api/v1/diary-entries/batch", json=items, headers=GW)
    upd = [
        {**items[0], "result": "已解决", "status": "resolved", "base_version": 1},
        {**items[1], "result": "改了", "base_version": 5},
        {**items[2], "result": "没有 base_version"},
    ]
    r = await client.post("/api/v1/diary-entries/batch", json=upd, headers=GW)
    res = r.json()["results"]
    assert [x["status"] for x in res] == ["updated", "conflict", "conflict"]
    assert res[0]["version"] == 2
    assert res[1]["version"] == 1 and res[1]["current"]["result"] is None
    got = (await client.get(f"/api/v1/diary-entries/{items[0]['id']}", headers=GW)).json()
    assert got["version"] == 2 and got["status"] == "resolved"
    # same update again: identical content now → unchanged, even with the old base_version
    r = await client.post("/api/v1/diary-entries/batch", json=upd[:1], headers=GW)
    assert r.json()["results"][0]["status"] == "unchanged"


async def test_batch_limit_and_other_grids_ids(client):
    r = await client.post("/api/v1/diary-entries/batch", json=batch(501), headers=GW)
    assert r.status_code == 422 and r.json()["code"] == "batch_too_large"
    items = batch(1)
    await client.post("/api/v1/diary-entries/batch", json=items, headers=GW)
    r = await client.post("/api/v1/diary-entries/batch", json=items, headers=auth("grid_worker_g2"))
    assert r.json()["results"][0]["status"] == "invalid"


async def test_links_to_households_and_residents_elsewhere_are_unknown(client):
    """An entry (single, edited or in a batch) naming another district's household, resident or grid
    gets the code of that reference — unknown_household, unknown_resident, unknown_area — on its
    field, and is not stored."""
    far = await elsewhere(client)
    cases = (
        ({"household_id": far.household}, "household_id", "unknown_household"),
        ({"resident_id": far.resident}, "resident_id", "unknown_resident"),
        ({"area_id": far.grid}, "area_id", "unknown_area"),
    )
    for link, field, code in cases:
        r = await client.post("/api/v1/diary-entries", json=entry(**link), headers=GW)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    mine = await client.post("/api/v1/diary-entries", json=entry(), headers=GW)
    url = f"/api/v1/diary-entries/{mine.json()['id']}"
    for link, field, code in cases:
        r = await client.patch(url, json=link, headers={**GW, "If-Match": '"1"'})
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert (await client.get(url, headers=GW)).json() == mine.json()
    items = [entry(id=str(new_id()), **link) for link, _, _ in cases]
    r = await client.post("/api/v1/diary-entries/batch", json=items, headers=GW)
    results = r.json()["results"]
    assert [(x["status"], x["code"]) for x in results] == [("invalid", code) for _, _, code in cases]
    assert [[e["field"] for e in x["errors"]] for x in results] == [[field] for _, field, _ in cases]
    assert [x["id"] for x in (await client.get("/api/v1/diary-entries", headers=GW)).json()["items"]] == [
        mine.json()["id"]
    ]


async def test_diary_refusals_are_documented(client):
    """A refused role (403) and, on a path with an id, an unknown or out-of-scope one (404) are documented."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [
        (path, op)
        for path, item in paths.items()
        if path.startswith(tuple("/api/v1/diary-entries".split(",")))
        for op in item.values()
    ]
    assert operations
    for path, op in operations:
        for status in "403,404".split(","):
            if status != "404" or "{" in path:
                assert op["responses"][status]["content"]["application/problem+json"], (path, status)
