"""Read replicas: a primary and a hot standby of its own (PostgreSQL's streaming replication, from
the embedded server's ``pg_basebackup -R``), both on Unix sockets of this machine.

Replay on the standby is paused (``pg_wal_replay_pause()``) to tell the servers apart: a read that
misses a write made meanwhile was served by the standby, one that finds it by the primary. The
probe that measures lag is run by the tests themselves (its own loop is set to a long interval), so
nothing depends on how fast this machine is; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app import dbserver
from app.main import create_app
from tests import conftest
from tests.conftest import auth, make_settings
from tests.issues.helpers import issue_body

pytestmark = [pytest.mark.replicas, pytest.mark.timeout(240)]

WAIT = 30.0  # seconds: the longest any condition below is waited for


@dataclass
class Pair:
    primary_url: str
    standby_url: str
    standby_dir: Path


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    tmp = dbserver.scratch_dir("minqing-replicas-")
    server, url = dbserver.start(tmp / "primary", cleanup="delete")
    try:
        conftest._migrate(url)
        asyncio.run(conftest._load_world(url))
        standby_url = dbserver.start_standby(server, tmp / "standby")
        yield Pair(url, standby_url, tmp / "standby")
    finally:
        with suppress(Exception):
            dbserver.stop(tmp / "standby")
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _standby(pair: Pair, sql: str) -> Any:
    conn = await asyncpg.connect(_plain(pair.standby_url))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _until(condition: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {WAIT} s: {what}")
        await asyncio.sleep(0.1)


@pytest.fixture
async def service(pair: Pair) -> AsyncIterator[Any]:
    """The service with the standby as its replica; replay running again at the end."""
    settings = make_settings(
        pair.primary_url,
        database_replica_urls=[pair.standby_url],
        database_replica_max_lag_seconds=1.0,
        database_replica_probe_seconds=3600,  # the tests probe themselves
        db_connect_timeout=2,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app
    if not (pair.standby_dir / "postmaster.pid").exists():
        await asyncio.to_thread(dbserver.start_standby_again, pair.standby_dir)
    await _standby(pair, "SELECT pg_wal_replay_resume()")


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _titles(client: httpx.AsyncClient, **headers: str) -> set[str]:
    r = await client.get("/api/v1/issues?limit=200", headers={**auth("grid_worker"), **headers})
    assert r.status_code == 200, r.text
    return {i["title"] for i in r.json()["items"]}


async def _paused(pair: Pair, service: Any) -> None:
    await _standby(pair, "SELECT pg_wal_replay_pause()")
    await _until(lambda: _standby(pair, "SELECT pg_get_wal_replay_pause_state() = 'paused'"), "replay paused")
    await service.state.replicas.probe()


async def test_lists_are_read_from_the_replica_and_a_writer_reads_its_own_writes(pair, service):
    await _until(lambda: _standby(pair, "SELECT count(*) > 0 FROM users"), "the world replicated")
    await _paused(pair, service)
    async with _client(service) as writer, _client(service) as bystander:
        created = await writer.post(
            "/api/v1/issues", json=issue_body(title="副本之后的新工单"), headers=auth("grid_worker")
        )
        assert created.status_code == 201, created.text
        lsn = created.headers["X-Minqing-Lsn"]
        assert "minqing_lsn" in writer.cookies
        await service.state.replicas.probe()  # the replica is behind, but well within the lag allowed

        # Someone else's list comes from the replica, whose replay is paused: not there yet.
        assert "副本之后的新工单" not in await _titles(bystander)
        # The writer's next read (its cookie) and any client sending the position see the write.
        assert "副本之后的新工单" in await _titles(writer)
        assert "副本之后的新工单" in await _titles(bystander, **{"X-Minqing-Lsn": lsn})

        # Replay resumes: the replica catches up, and everyone reads the write from it.
        await _standby(pair, "SELECT pg_wal_replay_resume()")

        async def replicated() -> bool:
            await service.state.replicas.probe()
            return "副本之后的新工单" in await _titles(bystander)

        await _until(replicated, "the replica caught up")


async def test_a_replica_too_far_behind_is_skipped(pair, service):
    await _paused(pair, service)
    async with _client(service) as writer, _client(service) as bystander:
        created = await writer.post(
            "/api/v1/issues", json=issue_body(title="落后副本测试"), headers=auth("grid_worker")
        )
        assert created.status_code == 201, created.text
        await service.state.replicas.probe()
        assert "落后副本测试" not in await _titles(bystander)  # the replica, still within the lag allowed

        async def skipped() -> bool:
            await service.state.replicas.probe()
            return service.state.replicas.usable() == []

        await _until(skipped, "the replica's lag past the allowed second")
        assert any("replica-1 is not read from" in w for w in (await bystander.get("/ready")).json()["warnings"])
        # Replay is still paused, so only the primary can show it.
        assert await _standby(pair, "SELECT pg_is_wal_replay_paused()")
        assert "落后副本测试" in await _titles(bystander)

        # Replay resumes: once caught up the replica is read from again, and stays so while nothing
        # is written (an idle primary is no lag), though more than the lag allowed passes.
        await _standby(pair, "SELECT pg_wal_replay_resume()")

        async def back() -> bool:
            await service.state.replicas.probe()
            return len(service.state.replicas.usable()) == 1

        await _until(back, "the replica caught up")
        await asyncio.sleep(1.5)
        await service.state.replicas.probe()
        assert len(service.state.replicas.usable()) == 1


async def test_reads_of_a_stopped_replica_fall_back_to_the_primary(pair, service):
    await _paused(pair, service)
    reads = {
        "list": ("/api/v1/issues?limit=50", auth("grid_worker")),
        "stats": ("/api/v1/stats/overview", auth("street_admin")),
        "overdue": ("/api/v1/stats/overdue", auth("viewer")),
        "sync": ("/api/v1/sync/changes?limit=10", auth("grid_worker")),
        "export": ("/api/v1/issues/export.csv", auth("community_admin")),
        "open311": ("/open311/v2/requests.json?jurisdiction_id=T01", {}),
        "open311 services": ("/open311/v2/services.json?jurisdiction_id=T01", {}),
    }
    async with _client(service) as writer, _client(service) as reader:
        for name, (url, headers) in reads.items():  # served by the standby (its pools now hold connections)
            r = await reader.get(url, headers=headers)
            assert r.status_code == 200, (name, r.text)
        created = await writer.post(
            "/api/v1/issues", json=issue_body(title="停机回退测试"), headers=auth("grid_worker")
        )
        assert created.status_code == 201, created.text
        assert "停机回退测试" not in await _titles(reader)

        await asyncio.to_thread(dbserver.stop, pair.standby_dir)

        # No probe has run since: the first reads find the replica gone and are served by the primary.
        assert "停机回退测试" in await _titles(reader)
        for name, (url, headers) in reads.items():
            r = await reader.get(url, headers=headers)
            assert r.status_code == 200, (name, r.text)
        # The service stays ready, and tells the operator.
        ready = await reader.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["replicas"][0]["up"] is False
        assert any("replica-1 is not read from (down)" in w for w in ready.json()["warnings"])
        metrics = (await reader.get("/metrics")).text
        assert 'minqing_db_replica_up{replica="replica-1"} 0.0' in metrics
        assert 'minqing_db_replica_reads_total{server="replica-1"}' in metrics

    # Started again, the replica is found by the next probe and read from.
    await asyncio.to_thread(dbserver.start_standby_again, pair.standby_dir)

    async def back() -> bool:
        await service.state.replicas.probe()
        return len(service.state.replicas.usable()) == 1

    await _until(back, "the replica back")


async def test_a_malformed_position_is_refused(pair, service):
    async with _client(service) as client:
        r = await client.get("/api/v1/issues", headers={**auth("grid_worker"), "X-Minqing-Lsn": "yesterday"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_lsn"
    assert body["errors"][0]["field"] == "X-Minqing-Lsn"
