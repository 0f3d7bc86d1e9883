"""Housekeeping: what is past its retention goes, what is recent or still pending stays; the
schedule compacts the stats and purges by itself; the worker's heartbeat answers its healthcheck."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid

import asyncpg

from app.db import create_engine, session_factory
from app.kit import clock
from app.kit.partitions import partition_name, period_start
from app.worker import check_heartbeat, heartbeat, housekeeping, purge_expired
from tests.conftest import make_settings
from tests.world import AREA

OLD = dt.timedelta(days=400)
RECENT = dt.timedelta(minutes=5)


async def _seed(conn: asyncpg.Connection) -> None:
    """An old and a recent row in every purged table (and an old row that must stay, where one exists)."""
    now = dt.datetime.now(dt.UTC)
    for age, tag in ((OLD, "old"), (RECENT, "new")):
        at = now - age
        await conn.execute(
            "INSERT INTO idempotency_keys (owner, key, fingerprint, created_at) VALUES ($1, $2, 'f', $3)",
            "hk",
            tag,
            at,
        )
        await conn.execute("INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1)", tag, at)
        await conn.execute("INSERT INTO login_failures (key, window_start, failures) VALUES ($1, $2, 1)", tag, at)
        await conn.execute(
            "INSERT INTO change_log (entity_type, entity_id, area_id, op, changed_at) VALUES ('hk', $1, $2, $3, $4)",
            uuid.uuid4(),
            AREA["G1"].id,
            "upsert" if tag == "old" else "delete",
            at,
        )
    sub = uuid.uuid4()
    await conn.execute(
        "INSERT INTO webhook_subscriptions (id, url, event_types, area_id, secret) "
        "VALUES ($1, 'https://receiver.example/hook', '{issue.created}', $2, 'whsec_x')",
        sub,
        AREA["D"].id,
    )
    # outbox: processed long ago (goes), processed just now (stays), never processed though old (stays)
    for tag, created, processed in (
        ("old", now - OLD, now - OLD),
        ("new", now - OLD, now),
        ("pending", now - OLD, None),
    ):
        await conn.execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, payload, created_at, "
            "available_at, processed_at) VALUES ($1, $2, 'hk', $3, '{}', $4, $4, $5)",
            uuid.uuid4(),
            tag,
            uuid.uuid4(),
            created,
            processed,
        )
    # deliveries: finished long ago (go, with their attempts), finished recently or pending (stay)
    for seq, (status, updated) in enumerate(
        (
            ("delivered", now - OLD),
            ("dead", now - OLD),
            ("cancelled", now - OLD),
            ("delivered", now),
            ("pending", now - OLD),
        )
    ):
        delivery = uuid.uuid4()
        await conn.execute(
            "INSERT INTO webhook_deliveries (id, subscription_id, seq, event_id, event_type, aggregate_type, "
            "aggregate_id, payload, event_created_at, next_attempt_at, status, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, 'issue.created', 'issue', $5, '{}', $6, $6, $7, $6, $6)",
            delivery,
            sub,
            seq,
            uuid.uuid4(),
            uuid.uuid4(),
            updated,
            status,
        )
        await conn.execute(
            "INSERT INTO webhook_attempts (delivery_id, started_at, duration_ms) VALUES ($1, $2, 5)", delivery, updated
        )


async def _left(conn: asyncpg.Connection) -> dict[str, list[str]]:
    return {
        "idempotency_keys": [r[0] for r in await conn.fetch("SELECT key FROM idempotency_keys WHERE owner = 'hk'")],
        "rate_limits": [r[0] for r in await conn.fetch("SELECT key FROM rate_limits ORDER BY key")],
        "login_failures": [r[0] for r in await conn.fetch("SELECT key FROM login_failures ORDER BY key")],
        "change_log": [r[0] for r in await conn.fetch("SELECT op FROM change_log WHERE entity_type = 'hk'")],
        "outbox": [
            r[0]
            for r in await conn.fetch("SELECT event_type FROM outbox WHERE aggregate_type = 'hk' ORDER BY event_type")
        ],
        "webhook_deliveries": [
            f"{r[0]}/{r[1]}"
            for r in await conn.fetch(
                "SELECT status, (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) "
                "FROM webhook_deliveries d ORDER BY status"
            )
        ],
    }


EXPECTED = {
    "idempotency_keys": ["new"],
    "rate_limits": ["new"],
    "login_failures": ["new"],
    "change_log": ["delete"],
    "outbox": ["new", "pending"],
    "webhook_deliveries": ["delivered/1", "pending/1"],
}


async def test_purges_remove_rows_past_retention_and_keep_the_rest(db_url):
    conn = await asyncpg.connect(db_url)
    settings = make_settings(db_url)
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        await _seed(conn)
        counts = await purge_expired(session_factory(engine), settings)
        assert await _left(conn) == EXPECTED
        assert counts == {
            "idempotency_keys": 1,
            "rate_limits": 1,
            "login_failures": 1,
            "change_log": 1,
            "outbox": 1,
            "webhook_deliveries": 3,
        }
    finally:
        await engine.dispose()
        await conn.close()


async def test_the_schedule_compacts_the_stats_and_purges(db_url, client, as_user):
    """What the worker runs: one round folds the stats delta rows and purges, then it waits."""
    for n in range(2):
        r = await client.post(
            "/api/v1/issues",
            json={"title": f"楼道灯不亮 {n}", "kind": "complaint", "category": "lighting", "channel": "patrol"},
            headers=as_user("grid_worker"),
        )
        assert r.status_code == 201, r.text
    conn = await asyncpg.connect(db_url)
    settings = make_settings(db_url, stats_compact_seconds=3600, housekeeping_interval_seconds=3600)
    engine = create_engine(settings, pool_size=2, max_overflow=0)
    stop = asyncio.Event()
    try:
        await _seed(conn)
        assert await conn.fetchval("SELECT count(*) FROM stats_issue_daily WHERE fresh") > 1
        task = asyncio.create_task(housekeeping(session_factory(engine), settings, stop))
        for _ in range(200):  # bounded: at most ~20 s
            if await _left(conn) == EXPECTED and not await conn.fetchval(
                "SELECT count(*) FROM stats_issue_daily WHERE fresh"
            ):
                break
            await asyncio.sleep(0.1)
        assert await _left(conn) == EXPECTED
        assert await conn.fetchval("SELECT count(*) FROM stats_issue_daily WHERE fresh") == 0
        assert await conn.fetchval("SELECT sum(created) FROM stats_issue_daily") == 2  # folded, same sums
        # … and the history tables got their partitions for the coming week.
        week = period_start(clock.now(), "day") + dt.timedelta(days=settings.partition_days_ahead)
        assert await conn.fetchval("SELECT to_regclass($1)::text", partition_name("change_log", week, "day"))
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        stop.set()
        await engine.dispose()
        await conn.close()


async def test_heartbeat_answers_the_healthcheck_and_stops_with_the_worker(db_url, tmp_path):
    path = tmp_path / "var" / "worker-heartbeat.json"
    assert "no heartbeat" in (check_heartbeat(path, 60) or "")
    settings = make_settings(db_url)
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    stop = asyncio.Event()
    task = asyncio.create_task(heartbeat(session_factory(engine), path, stop))
    try:
        for _ in range(100):
            if path.exists():
                break
            await asyncio.sleep(0.1)
        assert check_heartbeat(path, 60) is None
        beat = json.loads(path.read_text())
        assert beat["database"] is True
        assert "ago" in (check_heartbeat(path, 60, now=time.time() + 120) or "")  # a stalled worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await engine.dispose()
    assert not path.exists()  # a stopped worker is not healthy


def test_heartbeat_without_the_database_is_unhealthy(tmp_path):
    path = tmp_path / "beat.json"
    path.write_text(json.dumps({"at": time.time(), "pid": 1, "database": False}))
    assert check_heartbeat(path, 60) == "the worker cannot reach PostgreSQL"
    path.write_text("{not json")
    assert "unreadable" in (check_heartbeat(path, 60) or "")
