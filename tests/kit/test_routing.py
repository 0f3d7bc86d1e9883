"""A query parameter that takes one value, given more than once, is refused — not silently
resolved to one of them; parameters that take lists keep working."""

from __future__ import annotations

from tests.conftest import auth
from tests.issues.helpers import act, create


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
    reported = await create(client)
    accepted = await act(client, await create(client), "accept", "grid_worker")
    assert accepted["status"] == "accepted"

    def ids(r):  # type: ignore[no-untyped-def]
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    assert ids(await client.get("/api/v1/issues?status=accepted&limit=5", headers=auth("admin"))) == {accepted["id"]}
    both = await client.get("/api/v1/issues?status=reported&status=accepted&limit=5", headers=auth("admin"))
    assert ids(both) == {reported["id"], accepted["id"]}
    assert (await client.get("/api/v1/buildings?limit=5", headers=auth("admin"))).status_code == 200
