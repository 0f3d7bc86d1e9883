"""When PostgreSQL goes away requests get 503 problem+json (not 500, no hang) and the service recovers."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from app import dbserver
from app.main import create_app
from tests import conftest, world
from tests.conftest import auth, make_settings
from tests.issues.helpers import create


async def test_unreachable_database_gives_503_quickly():
    settings = make_settings("postgresql://postgres@/nowhere?host=/nonexistent-socket-dir", db_pool_timeout=1)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            start = time.monotonic()
            r = await client.get("/api/v1/me", headers=auth("admin"))
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "database_unavailable"
            assert "Retry-After" in r.headers
            assert time.monotonic() - start < 5
            # The one-statement reads (their own small pool) answer the same way.
            for url, headers in (
                (f"/api/v1/issues/{world.AREA['G1'].id}", auth("admin")),
                ("/api/v1/stats/overview", {**auth("admin"), "If-None-Match": "*"}),
            ):
                start = time.monotonic()
                r = await client.get(url, headers=headers)
                assert r.status_code == 503 and r.json()["code"] == "database_unavailable", (url, r.text)
                assert time.monotonic() - start < 5
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert (await client.get("/health")).status_code == 200


async def test_recovers_by_itself_after_a_restart():
    data_dir = Path(tempfile.mkdtemp(prefix="minqing-outage-")) / "pg"
    server, url = await asyncio.to_thread(dbserver.start, data_dir, cleanup="delete")
    try:
        await asyncio.to_thread(conftest._migrate, url)
        await conftest._load_world(url)
        app = create_app(make_settings(url, db_pool_timeout=1))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                area_url = f"/api/v1/areas/{world.AREA['G1'].id}"
                assert (await client.get(area_url, headers=auth("admin"))).status_code == 200
                issue_url = f"/api/v1/issues/{(await create(client))['id']}"
                poll = {**auth("admin"), "If-None-Match": "*"}
                assert (await client.get(issue_url, headers=auth("admin"))).status_code == 200
                assert (await client.get("/api/v1/stats/overview", headers=poll)).status_code == 304

                sockets = dbserver.socket_dir(server)
                await asyncio.to_thread(dbserver.pg_ctl, data_dir, "-w", "stop", "-m", "immediate")
                for url, headers in ((area_url, auth("admin")), (issue_url, auth("admin"))):
                    r = await client.get(url, headers=headers)
                    assert r.status_code == 503, r.text
                    assert r.json()["code"] == "database_unavailable"
                r = await client.get("/api/v1/stats/overview", headers=poll)
                assert r.status_code == 503 and r.json()["code"] == "database_unavailable"

                await asyncio.to_thread(dbserver.start_again, data_dir, sockets)
                deadline = time.monotonic() + 15
                status = None
                while time.monotonic() < deadline:
                    status = (await client.get(area_url, headers=auth("admin"))).status_code
                    if status == 200:
                        break
                    await asyncio.sleep(0.2)
                assert status == 200
                # The read pool's connections died with the server: they are replaced, no request fails.
                assert (await client.get(issue_url, headers=auth("admin"))).status_code == 200
                assert (await client.get("/api/v1/stats/overview", headers=poll)).status_code == 304
    finally:
        await asyncio.to_thread(server.cleanup)
