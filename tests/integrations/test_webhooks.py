"""Webhook subscriptions through the API, and what a receiver gets: signed, scoped, deduplicable."""

from __future__ import annotations

import datetime as dt

import pytest

from app.kit import signing
from app.main import create_app
from tests.conftest import auth, make_settings
from tests.elsewhere import elsewhere
from tests.integrations.webhook_helpers import deliveries, emit, run, sql, subscribe
from tests.issues.helpers import act, create
from tests.world import AREA, UNIT_ID


async def test_create_shows_the_secret_once(client, receiver):
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["issue.created"], "description": "12345 热线回调"},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert r.headers["Location"] == f"/api/v1/webhooks/{created['id']}"
    assert r.headers["ETag"] == '"1"'
    assert created["area_id"] == str(AREA["D"].id)  # the admin's own area by default

    got = await client.get(f"/api/v1/webhooks/{created['id']}", headers=auth("admin"))
    assert got.status_code == 200 and "secret" not in got.json()
    again = await client.get(
        f"/api/v1/webhooks/{created['id']}", headers={**auth("admin"), "If-None-Match": got.headers["ETag"]}
    )
    assert again.status_code == 304
    listed = await client.get("/api/v1/webhooks", headers=auth("admin"))
    assert [s["id"] for s in listed.json()["items"]] == [created["id"]]
    # another jurisdiction's admin neither lists nor reaches it
    other = await client.get("/api/v1/webhooks", headers=auth("other_admin"))
    assert other.json()["items"] == []
    assert (await client.get(f"/api/v1/webhooks/{created['id']}", headers=auth("other_admin"))).status_code == 404


async def test_unknown_event_types_and_areas_outside_scope_are_refused(client, receiver):
    r = await client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["issue.exploded"]}, headers=auth("admin")
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["issue.created"], "area_id": str(AREA["XS"].id)},
        headers=auth("admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_area"
    far = await elsewhere(client)
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["issue.created"], "api_key_id": far.api_key},
        headers=auth("admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_api_key"
    assert [e["field"] for e in r.json()["errors"]] == ["api_key_id"]
    assert (await client.get("/api/v1/webhooks", headers=auth("admin"))).json()["items"] == []
    enums = (await client.get("/api/v1/meta/enums")).json()
    assert {"value": "issue.overdue", "label": "超期"} in enums["webhook_event_type"]


async def test_a_delivery_is_signed_and_carries_the_event_id(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    event_id = await emit(app, number="T01-20261123-000001", status="reported")

    stats = await run(app, http)
    assert stats.outcomes == {"delivered": 1}
    [got] = receiver.received
    assert signing.verify([sub["secret"]], got.headers, got.body) == event_id
    assert got.webhook_id == event_id
    assert got.headers["content-type"] == "application/json"
    body = got.json
    assert body["id"] == event_id and body["type"] == "issue.created"
    assert body["data"]["number"] == "T01-20261123-000001"
    assert dt.datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    with pytest.raises(signing.Unauthorized):
        signing.verify([signing.generate_secret()], got.headers, got.body)

    [delivery] = await deliveries(client, sub["id"])
    assert delivery["status"] == "delivered" and delivery["event_id"] == event_id
    assert delivery["attempts"] == 1 and delivery["next_attempt_at"] is None
    [attempt] = delivery["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["response_excerpt"] == '{"ok":true}'
    assert attempt["error"] is None and attempt["duration_ms"] >= 0


async def test_issue_actions_reach_the_receiver_in_order(app, client, receiver, http):
    await subscribe(client, receiver.url, ["issue.created", "issue.dispatched"])
    issue = await create(client, external_ref="12345-0001")
    await act(client, issue, "accept", "community_admin")
    await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})

    await run(app, http)
    assert [r.json["type"] for r in receiver.received] == ["issue.created", "issue.dispatched"]
    data = receiver.received[0].json["data"]
    assert data["issue_id"] == issue["id"] and data["external_ref"] == "12345-0001"
    assert "reporter" not in data and "13812341234" not in receiver.received[0].body.decode()


async def test_subscriptions_get_only_their_area_and_event_types(app, client, receiver, http):
    community = await subscribe(client, receiver.url + "?c2", ["issue.created"], area_id=str(AREA["C2"].id))
    everything = await subscribe(client, receiver.url + "?all", ["issue.created", "issue.closed"])
    in_g1 = await emit(app, area="G1")
    in_g3 = await emit(app, area="G3")
    closed_g3 = await emit(app, "issue.closed", area="G3")
    await emit(app, "issue.escalated", area="G3")  # nobody subscribed to it

    await run(app, http)
    by_path: dict[str, set[str]] = {}
    for r in receiver.received:
        by_path.setdefault(r.path, set()).add(r.webhook_id)
    assert by_path == {"/hooks?c2": {in_g3}, "/hooks?all": {in_g1, in_g3, closed_g3}}
    assert len(await deliveries(client, community["id"])) == 1
    assert len(await deliveries(client, everything["id"])) == 3


async def test_rotation_signs_with_both_secrets_for_a_day(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    r = await client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=auth("admin"))
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"] != sub["secret"] and rotated["version"] == 2
    overlap = dt.datetime.fromisoformat(rotated["previous_secret_expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=23, minutes=59) < overlap <= dt.timedelta(hours=24)

    await emit(app)
    await run(app, http)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split()) == 2
    signing.verify([sub["secret"]], got.headers, got.body)  # a receiver not yet switched over
    signing.verify([rotated["secret"]], got.headers, got.body)  # and one that has

    await sql(app, "UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second'")
    await emit(app)
    await run(app, http)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split()) == 1
    signing.verify([rotated["secret"]], got.headers, got.body)
    with pytest.raises(signing.Unauthorized):
        signing.verify([sub["secret"]], got.headers, got.body)


async def test_patch_needs_if_match_and_pausing_cancels_the_queue(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    url = f"/api/v1/webhooks/{sub['id']}"
    r = await client.patch(url, json={"is_active": False}, headers=auth("admin"))
    assert r.status_code == 428
    r = await client.patch(url, json={"is_active": False}, headers={**auth("admin"), "If-Match": '"7"'})
    assert r.status_code == 412

    receiver.answer = lambda _r: (503, {})
    await emit(app)
    await run(app, http)
    r = await client.patch(url, json={"is_active": False}, headers={**auth("admin"), "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["is_active"] is False and r.headers["ETag"] == '"2"'
    [delivery] = await deliveries(client, sub["id"])
    assert delivery["status"] == "cancelled"

    await emit(app)
    await run(app, http)
    assert len(await deliveries(client, sub["id"])) == 1  # paused: new events are not queued for it
    r = await client.patch(
        url, json={"is_active": True, "event_types": ["issue.closed"]}, headers={**auth("admin"), "If-Match": '"2"'}
    )
    assert r.status_code == 200 and r.json()["event_types"] == ["issue.closed"]

    r = await client.delete(url, headers=auth("admin"))
    assert r.status_code == 204
    assert (await client.get(url, headers=auth("admin"))).status_code == 404


async def test_target_urls_are_checked_against_the_settings(db_url):
    settings = make_settings(db_url, webhook_allow_loopback=False, webhook_allowlist=["hooks.example.org", "127.0.0.1"])
    application = create_app(settings)
    import httpx

    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:

            async def attempt(url: str) -> httpx.Response:
                return await c.post(
                    "/api/v1/webhooks", json={"url": url, "event_types": ["issue.created"]}, headers=auth("admin")
                )

            for url in ("http://127.0.0.1:8080/hooks", "http://10.0.0.5/hooks", "https://evil.example.com/hooks"):
                r = await attempt(url)
                assert r.status_code == 422, url
                assert r.json()["code"] == "webhook_url_refused", url
            assert "loopback" in (await attempt("http://127.0.0.1:8080/hooks")).json()["detail"]
            assert "allowlist" in (await attempt("https://evil.example.com/hooks")).json()["detail"]
            assert (await attempt("ftp://hooks.example.org/x")).status_code == 422


async def test_a_url_refused_at_send_time_is_retried_not_sent(app, client, receiver, http, db_url):
    sub = await subscribe(client, receiver.url)
    await emit(app)
    strict = make_settings(db_url, webhook_allow_loopback=False)
    from app.integrations.webhooks import worker

    stats = await worker.run_once(app.state.sessionmaker, http, settings=strict)
    assert stats.outcomes == {"retry": 1}
    assert receiver.received == []
    [delivery] = await deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and "loopback" in delivery["attempt_log"][0]["error"]


async def test_the_sending_client_refuses_addresses_the_settings_forbid(db_url, receiver):
    import httpx

    from app.integrations.webhooks import worker

    strict = make_settings(db_url, webhook_allow_loopback=False)
    # "localhost" passes no literal-address check: the guard judges the address actually dialled
    async with worker.http_client(strict) as http:
        with pytest.raises(httpx.ConnectError, match="loopback"):
            await http.post(f"http://localhost:{receiver.port}/hooks", content=b"{}")
    async with worker.http_client(make_settings(db_url)) as http:
        assert (await http.post(f"http://localhost:{receiver.port}/hooks", content=b"{}")).status_code == 200
    assert len(receiver.received) == 1


async def test_webhook_refusals_are_documented(client):
    """A refused role (403) and, on a path with an id, an unknown or out-of-scope one (404) are documented."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [
        (path, op)
        for path, item in paths.items()
        if path.startswith(tuple("/api/v1/webhooks".split(",")))
        for op in item.values()
    ]
    assert operations
    for path, op in operations:
        for status in "403,404,429".split(","):
            if status != "404" or "{" in path:
                assert op["responses"][status]["content"]["application/problem+json"], (path, status)
