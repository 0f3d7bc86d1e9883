"""A polling dashboard's 304 is answered before parameter binding (app/kit/conditional.py): it
must be exactly the 304 the full route gives, and everything else must be left to the route."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from starlette.requests import Request

from app.stats.endpoints import router as stats_router
from app.stats.repository import CALLER_SCOPE
from tests.conftest import auth, deactivate
from tests.issues.helpers import create
from tests.stats.conftest import Clock
from tests.world import AREA

C, G1, X = AREA["C"].id, AREA["G1"].id, AREA["X"].id
WINDOW = "from=2026-11-01&to=2026-11-30"


def precheck_of(_app, path: str):
    route = next(r for r in stats_router.routes if getattr(r, "path", None) == path)
    return route.endpoint.__precheck__


def request_for(app, url: str, headers: dict[str, str]) -> Request:
    path, _, query = url.partition("?")
    return Request(
        {
            "type": "http",
            "app": app,
            "method": "GET",
            "path": path,
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "state": {},
        }
    )


CONDITIONAL = [
    ("viewer", "/api/v1/stats/overview"),
    ("viewer", f"/api/v1/stats/overview?area_id={C}&{WINDOW}"),
    ("viewer", f"/api/v1/stats/overview?area_id={str(C).upper()}&from=2026-11-01"),
    ("grid_worker", "/api/v1/stats/overview?to=2026-11-20"),
    ("community_admin", f"/api/v1/stats/workers?area_id={G1}"),
    ("viewer", "/api/v1/stats/areas"),
    ("viewer", f"/api/v1/stats/areas?parent_id={C}&sort=response_rate&order=asc&{WINDOW}"),
    ("street_admin", "/api/v1/stats/areas?sort=total"),
    ("viewer", "/api/v1/stats/timeseries?metric=issues_created"),
    ("mediator", f"/api/v1/stats/timeseries?metric=satisfaction_rate&bucket=week&{WINDOW}"),
    ("viewer", "/api/v1/stats/overdue"),
    ("viewer", f"/api/v1/stats/overdue?area_id={C}&limit=5"),
    ("grid_worker", "/api/v1/stats/overdue?limit=10"),
]


@pytest.mark.parametrize(("user", "url"), CONDITIONAL)
async def test_the_precheck_answers_the_304_the_route_would_give(app, client, fake_clock: Clock, user, url):
    fake_clock.at("2026-11-23 09:00")
    await create(client)
    full = await client.get(url, headers=auth(user))
    assert full.status_code == 200, full.text
    tag = full.headers["ETag"]

    answer = await precheck_of(app, url.partition("?")[0])(request_for(app, url, {**auth(user), "If-None-Match": tag}))
    assert answer is not None and answer.status_code == 304
    assert answer.headers["ETag"] == tag and answer.headers["Cache-Control"] == full.headers["Cache-Control"]

    again = await client.get(url, headers={**auth(user), "If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag and not again.content
    # … and the tag changes with the figures: the precheck does not keep an old answer.
    await create(client)
    assert (await client.get(url, headers={**auth(user), "If-None-Match": tag})).status_code == 200


async def test_everything_else_is_left_to_the_route(app, client, fake_clock: Clock):
    fake_clock.at("2026-11-23 09:00")
    url = "/api/v1/stats/overview"
    assert (await client.get(url, headers=auth("viewer"))).status_code == 200
    precheck = precheck_of(app, url)

    async def left_to_route(url: str, headers: dict[str, str], expected_status: int, code: str | None = None):
        assert await precheck_of(app, url.partition("?")[0])(request_for(app, url, headers)) is None, url
        r = await client.get(url, headers=headers)
        assert r.status_code == expected_status, (url, r.text)
        if code is not None:
            assert r.json()["code"] == code

    await left_to_route(url, {**auth("viewer"), "If-None-Match": '"s-stale"'}, 200)
    # `*` matches any tag: whatever the precheck accepted it would answer with 304.
    viewer = {**auth("viewer"), "If-None-Match": "*"}
    await left_to_route(url, {"Authorization": "Bearer not-a-token", "If-None-Match": "*"}, 401, "invalid_token")
    await left_to_route(url, {**auth("department"), "If-None-Match": "*"}, 403)
    await left_to_route(f"{url}?area_id={X}", viewer, 422, "unknown_area")
    await left_to_route(f"{url}?area_id=nonsense", viewer, 422)
    await left_to_route(f"{url}?from=2026-11-10&to=2026-11-01", viewer, 422, "invalid_window")
    await left_to_route(f"{url}?from=2026-2-1", viewer, 422)
    await left_to_route(f"{url}?from=2026-02-30", viewer, 422)
    await left_to_route("/api/v1/stats/timeseries", viewer, 422)
    await left_to_route("/api/v1/stats/timeseries?metric=issues_created&bucket=year", viewer, 422)
    await left_to_route("/api/v1/stats/areas?sort=nonsense", viewer, 422)
    await left_to_route("/api/v1/stats/overdue?limit=0", viewer, 422)
    # Not the plainest form, or not a parameter of this route: the route answers (`*` matches).
    await left_to_route("/api/v1/stats/overdue?limit=010", viewer, 304)
    await left_to_route("/api/v1/stats/overdue?from=2026-11-01", viewer, 304)
    # Not the plainest form: the route decides (whatever it answers, the precheck stays out).
    for odd in (f"?area_id={{{C}}}", f"?area_id={C.hex}", "?to=2026-11-23&to=2026-11-23", "?unknown=1"):
        assert await precheck(request_for(app, url + odd, viewer)) is None, odd
    assert await precheck(request_for(app, url, {**viewer, "X-API-Key": "mq_x"})) is None
    token = auth("viewer")["Authorization"].split(" ", 1)[1]
    lower = await precheck(request_for(app, url, {**viewer, "Authorization": "bearer " + token}))
    assert lower is not None and lower.status_code == 304  # the scheme is case-insensitive (RFC 9110)

    await deactivate(client, "viewer")
    await left_to_route(url, {**auth("viewer"), "If-None-Match": "*"}, 401, "account_deactivated")


async def test_changed_figures_still_cost_one_statement_for_the_caller_and_area(app, client, fake_clock: Clock):
    fake_clock.at("2026-11-23 09:00")
    url = "/api/v1/stats/overview"
    tag = (await client.get(url, headers=auth("viewer"))).headers["ETag"]
    await create(client)
    statements: list[str] = []
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", lambda c, cur, s, *a: statements.append(s))
    r = await client.get(url, headers={**auth("viewer"), "If-None-Match": tag})
    assert r.status_code == 200 and r.headers["ETag"] != tag
    assert statements.count(CALLER_SCOPE.sql) == 1, statements
