"""GET /api/v1/events/stream against a real server: scope, resume, heartbeats, limits, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from app.main import create_app
from tests.conftest import auth, make_settings, token_for
from tests.issues.helpers import create

G3_POINT = {"lat": 34.05, "lng": 108.15}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def server(db_url: str) -> AsyncIterator[tuple[str, object]]:
    settings = make_settings(db_url, sse_max_connections=2, sse_heartbeat_seconds=0.3)
    application = create_app(settings)
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    for _ in range(500):
        if srv.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", application
    finally:
        srv.should_exit = True
        await task


class Stream:
    """Reads one event stream in the background: ``events`` (parsed) and ``comments``."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url, self.headers = url, headers or {}
        self.events: asyncio.Queue[dict] = asyncio.Queue()
        self.comments: list[str] = []
        self.status: int | None = None
        self.opened = asyncio.Event()
        self.ended = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Stream:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.opened.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        async with httpx.AsyncClient(timeout=None) as c, c.stream("GET", self.url, headers=self.headers) as r:
            self.status = r.status_code
            self.opened.set()
            event: dict = {}
            async for line in r.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line == "":
                    if "data" in event:
                        event["data"] = json.loads(event["data"])
                        await self.events.put(event)
                    event = {}
                else:
                    name, _, value = line.partition(": ")
                    event[name] = value
        self.ended.set()

    async def next(self) -> dict:
        return await asyncio.wait_for(self.events.get(), 10)


def stream_url(base: str, user: str) -> str:
    return f"{base}/api/v1/events/stream?access_token={token_for(user)}"


async def test_changes_in_scope_arrive_live_and_resume_after_a_disconnect(server, client):
    base, _ = server
    async with Stream(stream_url(base, "street_admin")) as s:
        assert s.status == 200
        first = await create(client)
        event = await s.next()
        assert event["event"] == "issue" and event["data"]["id"] == first["id"]
        assert event["data"]["op"] == "upsert" and "reporter" not in event["data"]
        last_id = event["id"]
    second = await create(client)  # while disconnected
    headers = {"Last-Event-ID": last_id}
    async with Stream(stream_url(base, "street_admin"), headers) as s:
        replayed = await s.next()
        assert replayed["data"]["id"] == second["id"]
        assert tuple(map(int, replayed["id"].split("-"))) > tuple(map(int, last_id.split("-")))
        third = await create(client)
        assert (await s.next())["data"]["id"] == third["id"]


async def test_another_grid_does_not_see_the_change_and_heartbeats_flow(server, client):
    base, _ = server
    async with Stream(stream_url(base, "grid_worker_g3")) as s:
        await create(client)  # in G1: not g3's
        mine = await create(client, user="grid_worker_g3", location=G3_POINT)
        assert (await s.next())["data"]["id"] == mine["id"]
        await asyncio.sleep(0.8)
        assert "heartbeat" in s.comments


async def test_credentials_roles_and_the_connection_limit(server, client):
    base, app = server
    async with httpx.AsyncClient() as c:
        assert (await c.get(f"{base}/api/v1/events/stream")).status_code == 401
        r = await c.get(stream_url(base, "department"))
        assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"
    async with Stream(f"{base}/api/v1/events/stream", auth("viewer")), Stream(stream_url(base, "admin")):
        async with httpx.AsyncClient() as c:
            r = await c.get(stream_url(base, "viewer"))
        assert r.status_code == 503 and r.json()["code"] == "too_many_streams"
        assert r.headers["Retry-After"] == "10"
    for _ in range(50):  # both slots come back once the clients go
        if not app.state.events_hub.subscribers:
            break
        await asyncio.sleep(0.05)
    assert not app.state.events_hub.subscribers


async def test_shutdown_ends_open_streams(server):
    base, app = server
    async with Stream(stream_url(base, "viewer")) as s:
        await app.state.events_hub.stop(app)
        await asyncio.wait_for(s.ended.wait(), 5)
