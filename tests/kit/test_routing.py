"""A query parameter that takes one value, given more than once, is refused — not silently
resolved to one of them; parameters that take lists keep working."""

from __future__ import annotations

from tests.conftest import auth


async def test_a_single_valued_parameter_given_twice_is_refused(client):
    r = await client.get("/api/v1/buildings?cursor=&cursor=abc&limit=5", headers=auth("admin"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "repeated_parameter"
    assert [e["field"] for e in body["errors"]] == ["cursor"]

    r = await client.get("/api/v1/issues?limit=5&limit=50&kind=request&kind=complaint", headers=auth("admin"))
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == ["kind", "limit"]


async def test_list_valued_and_distinct_parameters_are_unaffected(client):
    r = await client.get("/api/v1/issues?status=reported&status=accepted&limit=5", headers=auth("admin"))
    assert r.status_code == 200
    assert {i["status"] for i in r.json()["items"]} <= {"reported", "accepted"}
    r = await client.get("/api/v1/buildings?limit=5", headers=auth("admin"))
    assert r.status_code == 200
