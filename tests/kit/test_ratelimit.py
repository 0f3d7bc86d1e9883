"""The PostgreSQL rate limiter: N allowed, then 429 with Retry-After, per key, until the window ends."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
import sqlalchemy as sa
from fastapi import Depends, FastAPI

from app.auth.deps import caller_key
from app.http_errors import install_error_handlers
from app.kit import clock
from app.kit.ratelimit import rate_limit
from tests.conftest import auth

# Every test here counts hits in a window aligned on the minute: the clock holds still meanwhile.
pytestmark = pytest.mark.usefixtures("one_window")


def limited_app(app: FastAPI) -> FastAPI:
    """A public entry point (like the Open311 POST) and an authenticated one, both limited."""
    small = FastAPI()
    small.state.sessionmaker = app.state.sessionmaker
    small.state.settings = app.state.settings
    small.state.read_pool = app.state.read_pool
    install_error_handlers(small)

    @small.post("/public", dependencies=[Depends(rate_limit("public_post", 3, 60))])
    async def public() -> dict[str, bool]:
        return {"ok": True}

    @small.post("/keyed", dependencies=[Depends(rate_limit("keyed_post", 2, 60, key=caller_key))])
    async def keyed() -> dict[str, bool]:
        return {"ok": True}

    return small


def client_from(app: FastAPI, address: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_n_allowed_then_429_with_retry_after_until_the_window_resets(app, monkeypatch):
    small = limited_app(app)
    async with client_from(small) as c, client_from(small, "198.51.100.9") as other:
        assert [(await c.post("/public")).status_code for _ in range(3)] == [200, 200, 200]
        r = await c.post("/public")
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert (await other.post("/public")).status_code == 200  # another address has its own count

        later = clock.now() + dt.timedelta(seconds=60)
        monkeypatch.setattr(clock, "now", lambda: later)
        assert (await c.post("/public")).status_code == 200  # a new window


async def test_concurrent_requests_never_exceed_the_limit(app):
    small = limited_app(app)
    async with client_from(small) as c:
        answers = await asyncio.gather(*(c.post("/public") for _ in range(12)))
    assert sorted(r.status_code for r in answers) == [200] * 3 + [429] * 9


async def test_keyed_by_the_authenticated_caller(app):
    small = limited_app(app)
    async with client_from(small) as c:
        assert (await c.post("/keyed")).status_code == 401
        for _ in range(2):
            assert (await c.post("/keyed", headers=auth("integration"))).status_code == 200
        assert (await c.post("/keyed", headers=auth("integration"))).status_code == 429
        # same address, another caller: its own budget
        assert (await c.post("/keyed", headers=auth("admin"))).status_code == 200


async def test_webhook_routes_are_limited_per_caller(app, client):
    from app.integrations.webhooks.endpoints import RATE_LIMIT
    from app.kit.ratelimit import RateLimitWindow, window_start
    from tests.world import USER

    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            RateLimitWindow(
                key=f"webhooks:user:{USER['admin'].id}", window_start=window_start(clock.now(), 60), hits=RATE_LIMIT
            )
        )
    r = await client.get("/api/v1/webhooks", headers=auth("admin"))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert (await client.get("/api/v1/webhooks", headers=auth("other_admin"))).status_code == 200


async def test_old_counters_are_purged(app, monkeypatch):
    from app.kit import ratelimit

    async with client_from(limited_app(app)) as c:
        assert (await c.post("/public")).status_code == 200
    async with app.state.sessionmaker() as session, session.begin():
        assert await ratelimit.purge(session) == 0
        later = clock.now() + dt.timedelta(days=2)
        monkeypatch.setattr(clock, "now", lambda: later)
        assert await ratelimit.purge(session) == 1


async def test_concurrent_hits_share_statements_and_each_key_keeps_its_exact_limit(app, monkeypatch):
    """Hits that arrive while a count is on its way go together in the next statement, all keys
    at once; each hit still gets its own place in its key's count, so every address gets exactly
    its 3 and every hit is counted."""
    from app.kit import ratelimit

    statements = []
    fetch = ratelimit.HITS.fetch

    async def counted(pool, **params):  # type: ignore[no-untyped-def]
        statements.append(params["hits"])
        return await fetch(pool, **params)

    monkeypatch.setattr(ratelimit.HITS, "fetch", counted)
    small = limited_app(app)
    addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    clients = [client_from(small, a) for a in addresses]
    try:
        answers = await asyncio.gather(*(c.post("/public") for c in clients for _ in range(10)))
    finally:
        for c in clients:
            await c.aclose()
    for n, _ in enumerate(addresses):
        mine = answers[n * 10 : (n + 1) * 10]
        assert sorted(r.status_code for r in mine) == [200] * 3 + [429] * 7
    assert sum(sum(counts) for counts in statements) == 30  # every hit counted once
    assert len(statements) < 30  # and not one statement each
    async with app.state.sessionmaker() as session:
        stored = await session.execute(
            sa.select(ratelimit.RateLimitWindow.key, ratelimit.RateLimitWindow.hits).where(
                ratelimit.RateLimitWindow.key.in_([f"public_post:addr:{a}" for a in addresses])
            )
        )
        assert sorted(hits for _, hits in stored) == [10, 10, 10]


async def test_a_count_that_cannot_be_made_answers_every_waiting_hit_with_503_then_recovers(app, monkeypatch):
    """The database gone while hits wait on one statement: each of them is 503 (none hangs, none
    is a 500), and the next hits are counted once it is back."""
    from app.kit import ratelimit

    fetch = ratelimit.HITS.fetch
    down = True

    async def flaky(pool, **params):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.01)  # long enough for the others to queue behind it
        if down:
            raise ConnectionRefusedError("the database is restarting")
        return await fetch(pool, **params)

    monkeypatch.setattr(ratelimit.HITS, "fetch", flaky)
    small = limited_app(app)
    async with client_from(small, "192.0.2.77") as c:
        answers = await asyncio.wait_for(asyncio.gather(*(c.post("/public") for _ in range(6))), 10)
        assert [r.status_code for r in answers] == [503] * 6
        assert {r.json()["code"] for r in answers} == {"database_unavailable"}
        down = False
        assert [(await c.post("/public")).status_code for _ in range(4)] == [200, 200, 200, 429]
