"""Bad input gets a clear problem+json error, never a 500."""

from __future__ import annotations

from tests import world
from tests.conftest import auth

AREA_URL = f"/api/v1/areas/{world.AREA['M1'].id}"


def _is_problem(r) -> dict:
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    for key in ("type", "title", "status", "detail", "code"):
        assert key in body, body
    assert body["status"] == r.status_code
    return body


async def test_unknown_json_fields_are_422(client):
    r = await client.post(
        "/api/v1/areas",
        json={"code": "Z1", "name": "z", "level": "micro_grid", "parent_id": str(world.AREA["G1"].id), "colour": 1},
        headers=auth("admin"),
    )
    assert r.status_code == 422
    body = _is_problem(r)
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["field"] == "colour"


async def test_enum_errors_list_what_is_allowed(client):
    r = await client.post(
        "/api/v1/areas",
        json={"code": "Z1", "name": "z", "level": "village", "parent_id": str(world.AREA["G1"].id)},
        headers=auth("admin"),
    )
    assert r.status_code == 422
    err = _is_problem(r)["errors"][0]
    assert err["field"] == "level" and "micro_grid" in err["allowed"]["expected"]


async def test_nul_bytes_are_rejected_in_body_query_and_path(client):
    r = await client.post(
        "/api/v1/areas",
        content=b'{"code": "Z1", "name": "a\\u0000b", "level": "micro_grid"}',
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and _is_problem(r)["code"] == "nul_character"
    r = await client.get("/api/v1/areas?q=a%00b", headers=auth("admin"))
    assert r.status_code == 422 and _is_problem(r)["code"] == "nul_character"
    r = await client.post(
        "/api/v1/auth/token",
        content=b"username=a%00&password=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422


async def test_out_of_range_integers_are_rejected(client):
    r = await client.get("/api/v1/areas?limit=99999999999999999999", headers=auth("admin"))
    assert r.status_code == 422
    err = _is_problem(r)["errors"][0]
    assert err["field"] == "query.limit" and err["allowed"]["le"] == 200


async def test_a_well_formed_date_the_service_does_not_serve_has_its_own_code(client):
    """The schema says only ``format: date``: a year-25 date is schema-valid, so it must not be
    ``validation_failed`` (that would mean the schema lies) but the service's own rule, with the range."""
    r = await client.get("/api/v1/issues?created_from=0025-01-01T00:00:00Z", headers=auth("admin"))
    assert r.status_code == 422
    body = _is_problem(r)
    assert body["code"] == "date_out_of_range"
    err = body["errors"][0]
    assert err["field"] == "query.created_from"
    assert err["allowed"] == {"earliest": "1900-01-01", "latest": "2999-12-31"}
    r = await client.get("/api/v1/stats/overview?from=9999-12-31", headers=auth("admin"))
    assert r.status_code == 422 and _is_problem(r)["code"] == "date_out_of_range"
    # A date that is not a date at all is still a validation failure.
    r = await client.get("/api/v1/stats/overview?from=2026-02-30", headers=auth("admin"))
    assert r.status_code == 422 and _is_problem(r)["code"] == "validation_failed"


async def test_body_too_large_is_413(client):
    big = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    r = await client.patch(AREA_URL, content=big, headers={**auth("admin"), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert _is_problem(r)["max_bytes"] == 1_048_576


async def test_malformed_json_is_422_not_500(client):
    r = await client.post(
        "/api/v1/areas", content=b'{"code": ', headers={**auth("admin"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    _is_problem(r)


async def test_malformed_ids_and_unknown_routes(client):
    r = await client.get("/api/v1/areas/not-a-uuid", headers=auth("admin"))
    assert r.status_code == 422 and _is_problem(r)["errors"][0]["field"] == "path.area_id"
    r = await client.get("/api/v1/nothing-here", headers=auth("admin"))
    assert r.status_code == 404 and _is_problem(r)["code"] == "not_found"
    r = await client.put("/api/v1/areas", headers=auth("admin"))
    assert r.status_code == 405 and _is_problem(r)["code"] == "method_not_allowed"


async def test_bad_cursor_and_bad_if_match(client):
    r = await client.get("/api/v1/areas?cursor=%%%%", headers=auth("admin"))
    assert r.status_code == 422 and _is_problem(r)["code"] == "invalid_cursor"
    r = await client.patch(AREA_URL, json={"name": "x"}, headers={**auth("admin"), "If-Match": "banana"})
    assert r.status_code == 412 and _is_problem(r)["code"] == "invalid_if_match"


async def test_request_id_is_echoed_or_generated(client):
    r = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["X-Request-ID"] != "bad id with spaces" and len(r.headers["X-Request-ID"]) == 32


async def test_metrics_count_requests_by_route_template(client):
    await client.get(AREA_URL, headers=auth("admin"))
    body = (await client.get("/metrics")).text
    assert 'route="/api/v1/areas/{area_id}"' in body
    assert "minqing_db_pool_checked_out" in body


async def test_enums_have_chinese_labels(client):
    r = await client.get("/api/v1/meta/enums")
    assert r.status_code == 200
    levels = {e["value"]: e["label"] for e in r.json()["area_level"]}
    assert levels["grid"] == "网格"
    assert {e["value"] for e in r.json()["role"]} >= {"grid_worker", "viewer"}


async def test_405_allow_lists_every_method_of_the_path(client):
    # GET and POST /api/v1/units are two routes; Allow must name both, not only the first one.
    for method in ("PUT", "OPTIONS", "DELETE"):
        r = await client.request(method, "/api/v1/units", headers=auth("admin"))
        assert r.status_code == 405
        assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
        assert _is_problem(r)["code"] == "method_not_allowed"


async def test_login_form_documents_what_it_accepts(client):
    # An empty username is outside the documented form (minLength 1): 422, never a login attempt.
    r = await client.post("/api/v1/auth/token", data={"username": "", "password": "x"})
    assert r.status_code == 422 and _is_problem(r)["errors"][0]["field"] == "username"
    form = (await client.get("/openapi.json")).json()["components"]["schemas"]
    login = next(s for name, s in form.items() if name.startswith("LoginForm"))
    assert login["properties"]["username"]["minLength"] == 1


async def test_body_that_is_not_utf8_is_422(client):
    r = await client.post(
        "/api/v1/units", content=b"\xff\xfe{", headers={**auth("admin"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and _is_problem(r)["code"] == "malformed_body"


async def test_cors_is_off_unless_configured(client, db_url):
    r = await client.options(
        "/api/v1/me", headers={"Origin": "https://screen.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in r.headers

    import httpx

    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(db_url, cors_origins=["https://screen.example"]))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            r = await c.options(
                "/api/v1/me", headers={"Origin": "https://screen.example", "Access-Control-Request-Method": "GET"}
            )
            assert r.headers["access-control-allow-origin"] == "https://screen.example"


async def test_date_query_parameters_refuse_unix_timestamps(client):
    headers = auth("admin")
    for url in (
        "/api/v1/issues?updated_since=0.5",
        "/api/v1/issues?created_from=1700000000",
        "/api/v1/issues/export.csv?updated_since=0.5",
        "/api/v1/diary-entries?visited_to=0.5",
        "/api/v1/audit?since=0.5",
        "/api/v1/stats/overview?to=0",
        "/api/v1/stats/areas?from=1",
    ):
        r = await client.get(url, headers=headers)
        assert r.status_code == 422, (url, r.status_code)
        assert r.json()["code"] == "validation_failed"
    ok = await client.get("/api/v1/issues?updated_since=2026-01-01T00:00:00%2B08:00", headers=headers)
    assert ok.status_code == 200
    assert (await client.get("/api/v1/stats/overview?to=2026-01-01", headers=headers)).status_code == 200
