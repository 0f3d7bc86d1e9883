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


async def test_a_router_declines_only_paths_none_of_its_routes_can_match():
    """The router answers "no match" at once for a path that starts as none of its routes do;
    every path one of them can match is still found, a wrong method is still 405 (not 404), the
    trailing-slash redirect still works, and a route added later is found too."""
    import httpx
    from fastapi import FastAPI

    from app.kit.routing import Router

    things = Router(prefix="/api/v1")

    @things.get("/things/{thing_id}")
    async def one(thing_id: str) -> dict[str, str]:
        return {"thing": thing_id}

    @things.get("/stuff/")
    async def stuff() -> dict[str, str]:
        return {"stuff": "all"}

    other = Router(prefix="/api/v1")

    @other.get("/others/{other_id}")
    async def another(other_id: str) -> dict[str, str]:
        return {"other": other_id}

    app = FastAPI()
    app.include_router(things)
    app.include_router(other)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert (await c.get("/api/v1/things/7")).json() == {"thing": "7"}
        assert (await c.get("/api/v1/others/8")).json() == {"other": "8"}
        assert (await c.get("/api/v1/nothing/8")).status_code == 404
        assert (await c.post("/api/v1/things/7")).status_code == 405
        moved = await c.get("/api/v1/stuff")
        assert moved.status_code == 307 and moved.headers["location"].endswith("/api/v1/stuff/")

        @things.get("/later")
        async def later() -> dict[str, str]:
            return {"later": "yes"}

        assert (await c.get("/api/v1/later")).json() == {"later": "yes"}
