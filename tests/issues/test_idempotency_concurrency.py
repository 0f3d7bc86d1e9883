"""Idempotent creation, and conflicting actions racing on one issue."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import sqlalchemy as sa

from app.kit import idempotency
from app.kit.idempotency import IdempotencyKey
from tests.conftest import auth
from tests.issues.helpers import create, issue_body
from tests.world import USER


async def _count(app, table: str) -> int:
    async with app.state.sessionmaker() as session:
        return int((await session.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_same_key_twice_creates_one_issue_and_replays_the_response(client, app):
    headers = {**auth("integration"), "Idempotency-Key": "hotline-20261123-0001"}
    body = issue_body(channel="hotline", external_ref="12345-0001", location=None)
    first = await client.post("/api/v1/issues", json=body, headers=headers)
    second = await client.post("/api/v1/issues", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers["Location"] == first.headers["Location"] and second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await _count(app, "issues") == 1
    # the key belongs to its owner: another caller with the same key creates its own issue
    other = await client.post(
        "/api/v1/issues", json=body, headers={**auth("admin"), "Idempotency-Key": "hotline-20261123-0001"}
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_same_key_with_another_body_is_refused(client):
    headers = {**auth("grid_worker"), "Idempotency-Key": "k-1"}
    assert (await client.post("/api/v1/issues", json=issue_body(), headers=headers)).status_code == 201
    r = await client.post("/api/v1/issues", json=issue_body(title="另一件事"), headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"


async def test_a_failed_request_does_not_burn_its_key(client):
    headers = {**auth("grid_worker"), "Idempotency-Key": "k-2"}
    bad = issue_body(category="no_such_category")
    assert (await client.post("/api/v1/issues", json=bad, headers=headers)).status_code == 422
    r = await client.post("/api/v1/issues", json=bad, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "unknown_category"


async def test_retry_while_the_first_is_still_running_gets_409(client, app):
    owner = f"user:{USER['grid_worker'].id}"
    async with app.state.sessionmaker() as holder, holder.begin():
        # The first request has claimed the key and not committed yet.
        holder.add(IdempotencyKey(owner=owner, key="k-3", fingerprint="x" * 64, created_at=dt.datetime.now(dt.UTC)))
        await holder.flush()
        r = await client.post(
            "/api/v1/issues", json=issue_body(), headers={**auth("grid_worker"), "Idempotency-Key": "k-3"}
        )
        assert r.status_code == 409 and r.json()["code"] == "idempotency_in_progress"
        await holder.rollback()
    r = await client.post(
        "/api/v1/issues", json=issue_body(), headers={**auth("grid_worker"), "Idempotency-Key": "k-3"}
    )
    assert r.status_code == 201


async def test_the_same_key_sent_many_times_at_once_creates_one_issue_and_answers_each_alike(app):
    """A phone on a flaky network resends before the first answer arrives: every copy gets the
    first one's response, and one issue exists."""
    transport = httpx.ASGITransport(app=app)
    headers = {**auth("grid_worker"), "Idempotency-Key": "flaky-1"}
    body = issue_body()

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.post("/api/v1/issues", json=body, headers=headers)

    answers = await asyncio.gather(*(send() for _ in range(8)))
    assert [r.status_code for r in answers] == [201] * 8, [r.text for r in answers if r.status_code != 201]
    assert len({r.content for r in answers}) == 1 and len({r.headers["ETag"] for r in answers}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in answers) == 7
    assert await _count(app, "issues") == 1
    assert await _count(app, "issue_events") == 1 and await _count(app, "outbox") >= 1


async def test_the_same_id_sent_many_times_at_once_creates_one_issue_and_refuses_the_others(app):
    """Offline phones mint ids; two uploads of one report racing each other without a key: one
    issue, the others 409 ``issue_exists`` — never a 500."""
    transport = httpx.ASGITransport(app=app)
    body = {**issue_body(), "id": "0192f0a0-0000-7000-8000-00000000abcd"}

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.post("/api/v1/issues", json=body, headers=auth("grid_worker"))

    answers = await asyncio.gather(*(send() for _ in range(6)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * 5, [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"issue_exists"}
    assert await _count(app, "issues") == 1


async def test_purge_keeps_keys_for_thirty_days(client, app, monkeypatch):
    await client.post("/api/v1/issues", json=issue_body(), headers={**auth("grid_worker"), "Idempotency-Key": "old"})
    async with app.state.sessionmaker() as session, session.begin():
        assert await idempotency.purge(session, dt.timedelta(days=1)) == 0
        monkeypatch.setattr(idempotency.clock, "now", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=31))
        assert await idempotency.purge(session) == 1


async def test_twenty_conflicting_actions_one_wins_and_the_timeline_has_no_gaps(app, client):
    issue = await create(client)
    transport = httpx.ASGITransport(app=app)
    users = ["community_admin", "street_admin", "admin", "grid_worker"]

    async def one(i: int) -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            headers = {**auth(users[i % len(users)])}
            if i % 2 == 0:
                headers["If-Match"] = '"1"'
            r = await c.post(f"/api/v1/issues/{issue['id']}/actions/accept", json={}, headers=headers)
            return r.status_code

    codes = await asyncio.gather(*(one(i) for i in range(20)))
    assert codes.count(200) == 1, codes
    assert set(codes) <= {200, 409, 412}, codes
    events = (await client.get(f"/api/v1/issues/{issue['id']}/events", headers=auth("admin"))).json()["items"]
    assert [e["seq"] for e in events] == [1, 2]
    got = (await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("admin"))).json()
    assert got["version"] == 2 and got["status"] == "accepted"


async def test_opposite_merges_at_the_same_moment_never_fail_with_500(app, client):
    """A merges into B while B merges into A: one wins, the other gets a retryable 409."""
    for _ in range(3):
        a = await create(client)
        b = await create(client)

        async def merge(src, dst):
            return await client.post(
                f"/api/v1/issues/{src['id']}/actions/merge",
                json={"into_issue_id": dst["id"]},
                headers=auth("community_admin"),
            )

        r1, r2 = await asyncio.gather(merge(a, b), merge(b, a))
        statuses = sorted([r1.status_code, r2.status_code])
        assert 500 not in statuses, (r1.text, r2.text)
        assert statuses.count(200) == 1, (r1.text, r2.text)
        loser = r1 if r1.status_code != 200 else r2
        assert loser.status_code in (409, 422)
        assert loser.json()["code"] in ("concurrent_update", "invalid_merge_target", "invalid_transition")
