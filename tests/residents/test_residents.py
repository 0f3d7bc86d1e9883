import datetime as dt

import asyncpg

from tests.conftest import auth
from tests.elsewhere import elsewhere
from tests.world import AREA

GW = auth("grid_worker")


async def _archive(client, headers=GW, area="M1", **resident):
    b = await client.post("/api/v1/buildings", json={"name": "1号楼", "area_id": str(AREA[area].id)}, headers=headers)
    assert b.status_code == 201, b.text
    h = await client.post(
        "/api/v1/households", json={"building_id": b.json()["id"], "address": "1号楼1单元101"}, headers=headers
    )
    assert h.status_code == 201, h.text
    body = {
        "household_id": h.json()["id"],
        "name": "周贵领",
        "gender": "male",
        "birth_date": "1940-05-01",
        "phone": "138-1234-1234",
        "id_number": "61012419400501123x",
        "tags": ["elderly_alone"],
    }
    body.update(resident)
    r = await client.post("/api/v1/residents", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_personal_data_is_encrypted_and_masked(client, db_url):
    res = await _archive(client)
    assert res["phone"] == "138****1234"
    assert res["id_number"] == "610***********123X"
    assert res["area_id"] == str(AREA["M1"].id)
    assert res["name"] == "周贵领" and res["sensitive"] is False
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow("SELECT phone_enc, id_number_enc FROM residents")
    finally:
        await conn.close()
    assert row["phone_enc"].startswith("v1.") and "13812341234" not in row["phone_enc"]
    assert "123X" not in row["id_number_enc"]
    got = (await client.get(f"/api/v1/residents/{res['id']}", headers=auth("street_admin"))).json()
    assert got["phone"] == "138****1234"


async def test_find_by_exact_phone_and_id_number(client):
    res = await _archive(client)
    await _archive(client, name="王五", phone="13900001111", id_number=None)
    found = (await client.get("/api/v1/residents?phone=13812341234", headers=GW)).json()["items"]
    assert [r["id"] for r in found] == [res["id"]]
    found = (await client.get("/api/v1/residents?id_number=61012419400501123X", headers=GW)).json()["items"]
    assert [r["id"] for r in found] == [res["id"]]
    assert (await client.get("/api/v1/residents?phone=1381234", headers=GW)).json()["items"] == []


async def test_reveal_returns_clear_values_and_writes_an_audit_row(client):
    res = await _archive(client)
    url = f"/api/v1/residents/{res['id']}/reveal"
    assert (await client.post(url, json={"reason": "x"}, headers=GW)).status_code == 422
    for _ in range(2):
        r = await client.post(url, json={"reason": "入户走访需电话联系"}, headers=GW)
        assert r.status_code == 200
    assert r.json() == {"id": res["id"], "name": "周贵领", "phone": "13812341234", "id_number": "61012419400501123X"}
    audit = (await client.get(f"/api/v1/audit?object_id={res['id']}", headers=auth("admin"))).json()["items"]
    assert len(audit) == 2 and {a["action"] for a in audit} == {"resident.reveal"}
    assert (await client.get("/api/v1/audit", headers=auth("other_admin"))).json()["items"] == []
    assert (await client.get("/api/v1/audit", headers=GW)).status_code == 403


async def test_viewer_and_department_never_see_the_archive(client):
    res = await _archive(client)
    for user in ("viewer", "department", "integration"):
        h = auth(user)
        assert (await client.get("/api/v1/residents", headers=h)).status_code == 403
        assert (await client.get(f"/api/v1/residents/{res['id']}", headers=h)).status_code == 403
        r = await client.post(f"/api/v1/residents/{res['id']}/reveal", json={"reason": "想看看"}, headers=h)
        assert r.status_code == 403


async def test_other_grid_gets_404(client):
    res = await _archive(client)
    h = auth("grid_worker_g2")
    assert (await client.get(f"/api/v1/residents/{res['id']}", headers=h)).status_code == 404
    r = await client.post(f"/api/v1/residents/{res['id']}/reveal", json={"reason": "入户走访"}, headers=h)
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/households/{res['household_id']}", headers=h)).status_code == 404
    assert (await client.get("/api/v1/residents", headers=h)).json()["items"] == []


async def test_buildings_households_and_areas_named_from_elsewhere_are_unknown(client):
    """Ids in a body are scoped like ids in a path: another district's (or grid's) building,
    household or grid is 422 unknown_<thing> on that field, and nothing is stored."""
    far = await elsewhere(client)
    mine = await _archive(client)
    neighbours = await _archive(client, headers=auth("grid_worker_g2"), area="G2")  # same community, other grid
    cases = [
        ("/api/v1/buildings", {"name": "2号楼", "area_id": far.grid}, "area_id", "unknown_area"),
        ("/api/v1/households", {"building_id": far.building, "address": "2单元201"}, "building_id", "unknown_building"),
        ("/api/v1/residents", {"name": "钱七", "household_id": far.household}, "household_id", "unknown_household"),
        ("/api/v1/residents", {"name": "钱七", "household_id": neighbours["household_id"]}, "household_id",
         "unknown_household"),
        ("/api/v1/residents", {"name": "钱七", "area_id": far.grid}, "area_id", "unknown_area"),
    ]  # fmt: skip
    for url, body, field, code in cases:
        r = await client.post(url, json=body, headers=GW)
        assert r.status_code == 422 and r.json()["code"] == code, (url, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field]
    r = await client.patch(
        f"/api/v1/residents/{mine['id']}", json={"household_id": far.household}, headers={**GW, "If-Match": '"1"'}
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_household"
    got = (await client.get(f"/api/v1/residents/{mine['id']}", headers=GW)).json()
    assert (got["household_id"], got["version"]) == (mine["household_id"], 1)
    assert [x["id"] for x in (await client.get("/api/v1/residents", headers=GW)).json()["items"]] == [mine["id"]]
    assert len((await client.get("/api/v1/buildings", headers=GW)).json()["items"]) == 1


async def test_patch_with_if_match_and_sensitive_flag(client):
    res = await _archive(client)
    url = f"/api/v1/residents/{res['id']}"
    assert (await client.patch(url, json={"tags": ["disabled"]}, headers=GW)).status_code == 428
    r = await client.patch(url, json={"tags": ["disabled"], "phone": "13700002222"}, headers={**GW, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["sensitive"] is True and r.json()["phone"] == "137****2222"
    child = await _archive(client, name="小明", birth_date=str(dt.date.today().replace(year=dt.date.today().year - 9)))
    assert child["sensitive"] is True


async def test_due_visits_and_diary_marks_a_visit(client):
    res = await _archive(client)
    await _archive(client, name="党员甲", tags=["party_member"])  # no schedule → never due
    due = (await client.get("/api/v1/residents/due-visits", headers=GW)).json()["items"]
    assert [d["resident"]["id"] for d in due] == [res["id"]]
    assert due[0]["interval_days"] == 30
    visited = dt.datetime.now(dt.UTC).isoformat()
    r = await client.post(
        "/api/v1/diary-entries",
        json={"visited_at": visited, "kind": "situation", "content": "上门探望", "resident_id": res["id"]},
        headers=GW,
    )
    assert r.status_code == 201, r.text
    assert (await client.get("/api/v1/residents/due-visits", headers=GW)).json()["items"] == []
    got = (await client.get(f"/api/v1/residents/{res['id']}", headers=GW)).json()
    assert got["last_visited_at"] is not None


async def test_a_visit_is_a_new_version_of_the_resident(client):
    """A phone that cached a resident revalidates it with If-None-Match: a visit logged since changes
    what it shows (last_visited_at, no longer due), so the answer is the new resident, not a 304; and
    an edit made from the old copy is refused rather than written over what it did not see."""
    res = await _archive(client)
    url = f"/api/v1/residents/{res['id']}"
    first = await client.get(url, headers=GW)
    etag = first.headers["ETag"]
    assert (await client.get(url, headers={**GW, "If-None-Match": etag})).status_code == 304
    r = await client.post(
        "/api/v1/diary-entries",
        json={
            "visited_at": dt.datetime.now(dt.UTC).isoformat(),
            "kind": "situation",
            "content": "走访",
            "resident_id": res["id"],
        },
        headers=GW,
    )
    assert r.status_code == 201, r.text
    again = await client.get(url, headers={**GW, "If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert again.json()["last_visited_at"] is not None and first.json()["last_visited_at"] is None
    stale = await client.patch(url, json={"tags": ["disabled"]}, headers={**GW, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    # An older visit entered later does not move the resident (nothing it shows changes).
    r = await client.post(
        "/api/v1/diary-entries",
        json={"visited_at": "2020-01-01T00:00:00Z", "kind": "situation", "content": "补录", "resident_id": res["id"]},
        headers=GW,
    )
    assert r.status_code == 201, r.text
    assert (await client.get(url, headers={**GW, "If-None-Match": again.headers["ETag"]})).status_code == 304


async def test_archive_refusals_are_documented(client):
    """A refused role (403) and, on a path with an id, an unknown or out-of-scope one (404) are documented."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [
        (path, op)
        for path, item in paths.items()
        if path.startswith(tuple("/api/v1/buildings,/api/v1/households,/api/v1/residents".split(",")))
        for op in item.values()
    ]
    assert operations
    for path, op in operations:
        for status in "403,404".split(","):
            if status != "404" or "{" in path:
                assert op["responses"][status]["content"]["application/problem+json"], (path, status)


def test_phone_and_id_number_rules_are_in_the_schema():
    """What the schema's pattern allows, the validator accepts, and the other way round."""
    import jsonschema_rs
    import pydantic

    from app.residents.schemas import ResidentCreate

    schema = ResidentCreate.model_json_schema()
    base = {"name": "周某", "household_id": "0190a000-0000-7000-8000-000000000000"}
    cases = {
        "phone": ["13812341234", "+86 138-1234-1234", "(029) 8888 1234", "123456", "", "0086 1", "电话1234567"],
        "id_number": [
            "61012419800101123X",
            "610124 19800101 123x",
            "610124800101123",
            "61012419800101123",
            "",
            "X" * 18,
        ],
    }
    for field, values in cases.items():
        for value in values:
            body = {**base, field: value}
            schema_ok = jsonschema_rs.Draft202012Validator(schema).is_valid(body)
            try:
                ResidentCreate.model_validate(body)
                model_ok = True
            except pydantic.ValidationError:
                model_ok = False
            assert schema_ok == model_ok, (field, value, schema_ok, model_ok)


async def test_age_counts_in_the_local_date_not_the_utc_one(client, monkeypatch):
    # 2090-06-15 20:00 UTC is already 06-16 04:00 in Shanghai: whoever was born on 2072-06-16 is 18
    # there today (no longer a minor), though still 17 by the UTC date.
    from app.kit import clock

    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2090, 6, 15, 20, 0, tzinfo=dt.UTC))
    headers = auth("grid_worker")  # issued at the pinned time
    today = await _archive(client, headers, name="今天满十八", birth_date="2072-06-16", tags=[], id_number=None)
    assert today["sensitive"] is False
    tomorrow = await _archive(client, headers, name="明天满十八", birth_date="2072-06-17", tags=[], id_number=None)
    assert tomorrow["sensitive"] is True
    got = await client.get(f"/api/v1/residents/{today['id']}", headers=headers)
    assert got.status_code == 200 and got.json()["sensitive"] is False
