from __future__ import annotations

import asyncio
import json

from tests import world
from tests.conftest import auth, row_held
from tests.world import rect

G1 = world.AREA["G1"]


async def test_create_grid_inside_community(client):
    body = {
        "code": "T01010103",
        "name": "第三网格",
        "level": "micro_grid",
        "parent_id": str(world.AREA["G2"].id),
        "boundary": rect(108.06, 34.0, 108.07, 34.01),
    }
    r = await client.post("/api/v1/areas", json=body, headers=auth("admin"))
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"/api/v1/areas/{r.json()['id']}"
    got = await client.get(r.headers["Location"], headers=auth("grid_worker_g2"))
    assert got.status_code == 200 and got.json()["boundary"] == body["boundary"]


async def test_level_must_be_one_below_parent(client):
    r = await client.post(
        "/api/v1/areas",
        json={"code": "BAD1", "name": "错层", "level": "grid", "parent_id": str(world.AREA["S"].id)},
        headers=auth("admin"),
    )
    assert r.status_code == 422
    assert r.json()["code"] == "level_mismatch"
    assert r.json()["errors"][0]["allowed"] == ["community"]


async def test_boundary_validation_errors_are_specific(client):
    base = {"code": "B1", "name": "x", "level": "micro_grid", "parent_id": str(G1.id)}
    open_ring = {"type": "Polygon", "coordinates": [[[108.0, 34.0], [108.01, 34.0], [108.01, 34.01], [108.0, 34.01]]]}
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[108.0, 34.0], [108.01, 34.01], [108.01, 34.0], [108.0, 34.01], [108.0, 34.0]]],
    }
    outside = rect(108.3, 34.3, 108.31, 34.31)
    point = {"type": "Point", "coordinates": [108.0, 34.0]}
    cases = {
        "not closed": (open_ring, "invalid_boundary"),
        "Self-intersection": (bowtie, "invalid_boundary"),
        "outside": (outside, "boundary_outside_parent"),
        "type must be": (point, "invalid_boundary"),
    }
    for expected_text, (geom, code) in cases.items():
        r = await client.post("/api/v1/areas", json={**base, "boundary": geom}, headers=auth("admin"))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == code
        assert expected_text.lower() in r.json()["detail"].lower(), r.json()["detail"]
        assert r.json()["errors"][0]["field"] == "boundary"


async def test_duplicate_code_is_409(client):
    r = await client.post(
        "/api/v1/areas",
        json={"code": G1.code, "name": "重复", "level": "micro_grid", "parent_id": str(G1.id)},
        headers=auth("admin"),
    )
    assert r.status_code == 409 and r.json()["code"] == "area_code_taken"


async def test_scope_hides_other_subtrees(client):
    r = await client.get(f"/api/v1/areas/{world.AREA['G2'].id}", headers=auth("grid_worker"))
    assert r.status_code == 404 and r.json()["code"] == "area_not_found"
    r = await client.get("/api/v1/areas", headers=auth("community_admin"))
    codes = {a["code"] for a in r.json()["items"]}
    assert codes == {"T010101", "T01010101", "T01010102", "T0101010101"}
    r = await client.get(f"/api/v1/areas/{world.AREA['X'].id}", headers=auth("admin"))
    assert r.status_code == 404


async def test_children_and_filters(client):
    r = await client.get(f"/api/v1/areas/{world.AREA['C'].id}/children", headers=auth("street_admin"))
    assert [a["name"] for a in r.json()] == ["第一网格", "第二网格"]
    r = await client.get("/api/v1/areas?level=grid", headers=auth("street_admin"))
    assert {a["code"] for a in r.json()["items"]} == {"T01010101", "T01010102", "T01010201"}


async def test_locate_returns_the_deepest_area(client):
    r = await client.get("/api/v1/areas/locate?lat=34.005&lng=108.005", headers=auth("admin"))
    assert r.status_code == 200 and r.json()["name"] == "1号楼"
    r = await client.get("/api/v1/areas/locate?lat=34.05&lng=108.07", headers=auth("admin"))
    assert r.json()["name"] == "第二网格"
    r = await client.get("/api/v1/areas/locate?lat=34.05&lng=108.07", headers=auth("grid_worker"))
    assert r.status_code == 404 and r.json()["code"] == "no_area_at_point"
    r = await client.get("/api/v1/areas/locate?lat=10&lng=10", headers=auth("admin"))
    assert r.status_code == 404
    r = await client.get("/api/v1/areas/locate?lat=91&lng=10", headers=auth("admin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.lat"


async def test_patch_boundary_with_if_match(client):
    url = f"/api/v1/areas/{world.AREA['M1'].id}"
    current = await client.get(url, headers=auth("admin"))
    new = rect(108.0, 34.0, 108.02, 34.02)
    r = await client.patch(url, json={"boundary": new}, headers={**auth("admin"), "If-Match": current.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    # the cached geometry must follow the new version
    located = await client.get("/api/v1/areas/locate?lat=34.015&lng=108.015", headers=auth("admin"))
    assert located.json()["name"] == "1号楼"
    stale = await client.patch(url, json={"name": "x"}, headers={**auth("admin"), "If-Match": current.headers["ETag"]})
    assert stale.status_code == 412
    cached = await client.get(url, headers={**auth("admin"), "If-None-Match": '"2"'})
    assert cached.status_code == 304


def _feature(code, name, level, parent, geom):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "level": level, "parent_code": parent},
        "geometry": geom,
    }


async def test_geojson_import_creates_parents_first_and_updates_by_code(client):
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature("IMP-G1", "导入网格", "grid", "IMP-C", rect(108.1, 34.1, 108.15, 34.2)),
            _feature("IMP-C", "导入社区", "community", "T0101", rect(108.1, 34.1, 108.2, 34.2)),
        ],
    }
    r = await client.post("/api/v1/areas/import", json=doc, headers=auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 2, "updated": 0, "total": 2}
    doc["features"][0]["properties"]["name"] = "导入网格（改）"
    r = await client.post("/api/v1/areas/import", json=doc, headers=auth("admin"))
    assert r.json() == {"created": 0, "updated": 2, "total": 2}
    found = await client.get("/api/v1/areas?q=改", headers=auth("admin"))
    assert [a["code"] for a in found.json()["items"]] == ["IMP-G1"]


async def test_geojson_import_is_all_or_nothing(client):
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature("OK-C", "好社区", "community", "T0101", rect(108.1, 34.1, 108.2, 34.2)),
            _feature("BAD-G", "坏网格", "grid", "OK-C", rect(109.0, 35.0, 109.1, 35.1)),
        ],
    }
    r = await client.post("/api/v1/areas/import", json=doc, headers=auth("admin"))
    assert r.status_code == 422
    assert r.json()["code"] == "boundary_outside_parent"
    assert r.json()["errors"][0]["field"] == "features[1].geometry"
    assert (await client.get("/api/v1/areas?q=好社区", headers=auth("admin"))).json()["items"] == []


async def test_geojson_import_answers_every_malformed_feature_with_422(client):
    """The import document is checked against its published schema: a feature that is not an object,
    properties of the wrong type or too long are 422 ``invalid_geojson`` naming the feature, never a 500."""
    good = _feature("MAL-C", "社区", "community", "T0101", rect(108.1, 34.1, 108.2, 34.2))
    cases = {
        "features[0]": "not a feature",
        "features[0].properties.parent_code": _feature("MAL-C", "社区", "community", 123, None),
        "features[0].properties.code": _feature("X" * 33, "社区", "community", "T0101", None),
        "features[0].properties.name": _feature("MAL-C", "名" * 101, "community", "T0101", None),
        "features[0].properties": {**good, "properties": ["code"]},
        "features[0].type": {**good, "type": "Point"},
        "features[0].geometry": {**good, "geometry": "POLYGON"},
    }
    for field, feature in cases.items():
        doc = {"type": "FeatureCollection", "features": [feature]}
        r = await client.post("/api/v1/areas/import", json=doc, headers=auth("admin"))
        assert r.status_code == 422, (field, r.status_code, r.text[:300])
        assert r.json()["code"] == "invalid_geojson", field
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json()["errors"])
    level = {**good, "properties": {**good["properties"], "level": "province"}}
    r = await client.post(
        "/api/v1/areas/import", json={"type": "FeatureCollection", "features": [level]}, headers=auth("admin")
    )
    assert r.json()["errors"][0]["allowed"] == ["district", "street", "community", "grid", "micro_grid"]


def test_cli_import_areas(tmp_path, db_url, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.config import get_settings

    path = tmp_path / "areas.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [_feature("CLI-C", "命令行社区", "community", "T0101", rect(108.1, 34.1, 108.2, 34.2))],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["import-areas", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output


async def test_concurrent_updates_from_one_version_accept_exactly_one(client, db_url):
    # Lost update: the PATCHes all read version 1 before any committed, so each passed If-Match.
    # Holding the row meanwhile makes the interleaving certain instead of lucky.
    url = f"/api/v1/areas/{world.AREA['G1'].id}"
    etag = (await client.get(url, headers=auth("admin"))).headers["etag"]

    async def rename(n: int):
        return await client.patch(url, json={"name": f"并发{n}"}, headers={**auth("admin"), "If-Match": etag})

    async with row_held(db_url, "areas", world.AREA["G1"].id):
        pending = [asyncio.create_task(rename(n)) for n in range(8)]
        await asyncio.sleep(0.5)
    answers = await asyncio.gather(*pending)
    assert sorted(r.status_code for r in answers) == [200] + [412] * 7
    winner = next(r for r in answers if r.status_code == 200)
    final = await client.get(url, headers=auth("admin"))
    assert final.headers["etag"] == winner.headers["etag"] == '"2"'
    assert final.json()["name"] == winner.json()["name"]
