"""Partitioned history (app/kit/partitions.py, migration 0012): the migration keeps every row and
every answer, maintenance makes coming partitions and drops expired ones (and only those), every
partition refuses what its table refuses, and rows land by UTC bounds."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from unittest import mock

import asyncpg
import httpx
import pytest
from alembic import command

from app.kit import clock
from app.kit.partitions import TABLES, partition_name
from app.migrations_state import alembic_config
from tests.conftest import auth, make_settings
from tests.issues.helpers import act, create, dispatched_to_unit
from tests.world import AREA, USER

UTC = dt.UTC
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
HISTORY = [t.table for t in TABLES]


@asynccontextmanager
async def _client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A service of its own: its connections (and prepared statements) do not outlive a migration."""
    from app.main import create_app

    application = create_app(make_settings(db_url))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def _sql(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _answers(client: httpx.AsyncClient) -> dict[str, Any]:
    """What users read from the history: issue lists, timelines, the sync feed, stats, the audit log."""
    admin = auth("admin")
    issues = (await client.get("/api/v1/issues", headers=admin)).json()["items"]
    timelines = {
        i["id"]: (await client.get(f"/api/v1/issues/{i['id']}/events", headers=admin)).json()["items"] for i in issues
    }
    feed: list[Any] = []
    since = None
    for _ in range(50):  # bounded: every page of the feed
        params = {"since": since} if since else {}
        page = (await client.get("/api/v1/sync/changes", params=params, headers=auth("grid_worker"))).json()
        feed += page["items"]
        since = page["next_cursor"]
        if not page["has_more"]:
            break
    stats = (await client.get("/api/v1/stats/overview", headers=auth("viewer"))).json()
    stats.pop("generated_at")
    audit = (await client.get("/api/v1/audit", headers=admin)).json()["items"]
    return {"issues": issues, "timelines": timelines, "feed": feed, "stats": stats, "audit": audit}


async def _counts(db_url: str) -> dict[str, int]:
    return {t: (await _sql(db_url, f"SELECT count(*) FROM {t}"))[0][0] for t in HISTORY}


async def _kinds(db_url: str) -> dict[str, str]:
    rows = await _sql(db_url, "SELECT relname, relkind::text FROM pg_class WHERE relname = ANY($1)", HISTORY)
    return {r["relname"]: r["relkind"] for r in rows}


async def test_the_migration_keeps_every_row_and_every_answer(db_url):
    async with _client(db_url) as client:
        issues = [await dispatched_to_unit(client) for _ in range(3)]
        await act(client, issues[0], "start", "department")
        await act(client, issues[0], "resolve", "department", {"outcome": "solved", "notes": "已更换灯泡"})
        await create(client, title="楼道堆物")
        r = await client.post(
            "/api/v1/diary-entries",
            json={"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "走访"},
            headers=auth("grid_worker"),
        )
        assert r.status_code == 201, r.text
        before = await _answers(client)
    counts = await _counts(db_url)
    assert counts["issue_events"] >= 10 and counts["outbox"] > 0 and counts["change_log"] > 0
    assert len(before["issues"]) >= 4 and before["feed"]
    assert set((await _kinds(db_url)).values()) == {"p"}

    cfg = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, cfg, "0011_volunteers")
    assert set((await _kinds(db_url)).values()) == {"r"}  # plain tables again, with every row
    assert await _counts(db_url) == counts
    async with _client(db_url) as client:
        assert await _answers(client) == before

    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert set((await _kinds(db_url)).values()) == {"p"}
    assert await _counts(db_url) == counts
    attached = await _sql(
        db_url,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'issue_events'::regclass AND c.relname = 'issue_events_p0'",
    )
    assert attached, "the old table is the first partition"
    reused = await _sql(
        db_url,
        "SELECT i.inhparent::regclass::text AS parent FROM pg_inherits i "
        "WHERE i.inhrelid = 'change_log_p0_txid_seq'::regclass",
    )
    assert [r["parent"] for r in reused] == ["ix_change_log_txid_seq"]  # its index attached, not rebuilt
    async with _client(db_url) as client:
        assert await _answers(client) == before
        # Writing goes on where it stopped: ids and timeline numbers continue.
        old_max = (await _sql(db_url, "SELECT max(id) FROM issue_events"))[0][0]
        await act(client, issues[1], "start", "department")
        events = (await client.get(f"/api/v1/issues/{issues[1]['id']}/events", headers=auth("admin"))).json()
        seqs = [e["seq"] for e in events["items"]]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > len(before["timelines"][issues[1]["id"]])
    assert (await _sql(db_url, "SELECT max(id) FROM issue_events"))[0][0] > old_max


async def _maintain(db_url: str, at: dt.datetime, **overrides: Any) -> dict[str, Any]:
    from app.db import create_engine, session_factory
    from app.worker import maintain_partitions

    settings = make_settings(db_url, **overrides)
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        with mock.patch.object(clock, "now", lambda: at):
            return await maintain_partitions(session_factory(engine), settings)
    finally:
        await engine.dispose()


async def _partitions(db_url: str, table: str) -> set[str]:
    rows = await _sql(
        db_url,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = $1::regclass AND c.relkind = 'r'",
        table,
    )
    return {r["relname"] for r in rows}


async def _where(db_url: str, table: str, condition: str, *args: Any) -> list[str]:
    rows = await _sql(db_url, f"SELECT tableoid::regclass::text AS part FROM {table} WHERE {condition}", *args)
    return [r["part"] for r in rows]


async def _change(conn: asyncpg.Connection, at: dt.datetime) -> uuid.UUID:
    entity = uuid.uuid4()
    await conn.execute(
        "INSERT INTO change_log (entity_type, entity_id, area_id, op, changed_at) VALUES ('diary_entry', $1, $2, "
        "'upsert', $3)",
        entity,
        AREA["G1"].id,
        at,
    )
    return entity


async def _outbox(conn: asyncpg.Connection, at: dt.datetime, processed: dt.datetime | None) -> uuid.UUID:
    event = uuid.uuid4()
    await conn.execute(
        "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, payload, created_at, available_at, "
        "processed_at) VALUES ($1, 'issue.created', 'issue', $1, '{}', $2, $2, $3)",
        event,
        at,
        processed,
    )
    return event


async def _attempt(conn: asyncpg.Connection, at: dt.datetime, status: str) -> uuid.UUID:
    subscription, delivery = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO webhook_subscriptions (id, url, event_types, area_id, secret, created_at, updated_at) "
        "VALUES ($1, 'http://127.0.0.1:9/hook', '{issue.created}', $2, 's', $3, $3)",
        subscription,
        AREA["D"].id,
        at,
    )
    await conn.execute(
        "INSERT INTO webhook_deliveries (id, subscription_id, seq, event_id, event_type, aggregate_type, aggregate_id, "
        "payload, event_created_at, status, next_attempt_at, created_at, updated_at) "
        "VALUES ($1, $2, 1, $1, 'issue.created', 'issue', $1, '{}', $3, $4, $3, $3, $3)",
        delivery,
        subscription,
        at,
        status,
    )
    await conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, started_at, duration_ms) VALUES ($1, $2, 5)", delivery, at
    )
    return delivery


async def test_maintain_makes_coming_partitions_drops_expired_ones_and_is_idempotent(db_url):
    conn = await asyncpg.connect(db_url)
    try:
        today = (await conn.fetchval("SELECT now()")).astimezone(UTC)
        old_change = await _change(conn, today)
        fanned_out = await _outbox(conn, today, processed=today)
        pending = await _outbox(conn, today - dt.timedelta(days=1), processed=None)  # in the first partition
        dead_attempt = await _attempt(conn, today, "dead")
        delivered_attempt = await _attempt(conn, today - dt.timedelta(days=62), "delivered")
    finally:
        await conn.close()

    later = today + dt.timedelta(days=70)
    outcomes = await _maintain(db_url, later)
    assert set(outcomes) == set(HISTORY)

    change_parts = await _partitions(db_url, "change_log")
    day = dt.datetime(later.year, later.month, later.day, tzinfo=UTC)
    coming = {partition_name("change_log", day + dt.timedelta(days=n), "day") for n in range(8)}
    assert coming <= change_parts and set(outcomes["change_log"].created) == coming
    assert "change_log_p0" not in change_parts and "change_log_default" in change_parts
    assert await _where(db_url, "change_log", "entity_id = $1", old_change) == []  # 70 days > 30 days' retention

    # The first outbox partition holds a message still to deliver: it stays, the fanned-out one goes.
    assert await _where(db_url, "outbox", "event_id = $1", pending) == ["outbox_p0"]
    assert await _where(db_url, "outbox", "event_id = $1", fanned_out) == []
    assert "outbox_p0" in outcomes["outbox"].kept

    # Attempts of a delivery that failed stay while the delivery does; delivered ones go with their month.
    assert await _where(db_url, "webhook_attempts", "delivery_id = $1", dead_attempt)
    assert await _where(db_url, "webhook_attempts", "delivery_id = $1", delivered_attempt) == []

    # The audit log and the issue timelines are kept far longer: nothing of theirs went.
    assert outcomes["audit_log"].dropped == [] and outcomes["issue_events"].dropped == []
    month = dt.datetime(later.year, later.month, 1, tzinfo=UTC)
    assert partition_name("audit_log", month, "month") in await _partitions(db_url, "audit_log")

    catalogue = {t: await _partitions(db_url, t) for t in HISTORY}
    again = await _maintain(db_url, later)
    assert all(not o.created and not o.dropped for o in again.values()), again
    assert {t: await _partitions(db_url, t) for t in HISTORY} == catalogue

    # A row past every partition waits in the default partition, and moves when its partition is made.
    far = later + dt.timedelta(days=40)
    conn = await asyncpg.connect(db_url)
    try:
        stranded = await _change(conn, far)
        await conn.execute(
            "INSERT INTO audit_log (id, at, actor_username, actor_role, action, object_type, object_id) "
            "VALUES ($1, $2, 'admin', 'admin', 'resident.reveal', 'resident', $1)",
            stranded,
            far + dt.timedelta(days=200),
        )
    finally:
        await conn.close()
    assert await _where(db_url, "change_log", "entity_id = $1", stranded) == ["change_log_default"]
    assert await _where(db_url, "audit_log", "id = $1", stranded) == ["audit_log_default"]
    await _maintain(db_url, far)
    far_day = dt.datetime(far.year, far.month, far.day, tzinfo=UTC)
    assert await _where(db_url, "change_log", "entity_id = $1", stranded) == [
        partition_name("change_log", far_day, "day")
    ]
    assert await _where(db_url, "change_log_default", "true") == []
    await _maintain(db_url, far + dt.timedelta(days=200))
    audit_at = far + dt.timedelta(days=200)
    assert await _where(db_url, "audit_log", "id = $1", stranded) == [
        partition_name("audit_log", dt.datetime(audit_at.year, audit_at.month, 1, tzinfo=UTC), "month")
    ]


async def test_every_audit_partition_refuses_update_delete_and_truncate(db_url):
    await _maintain(db_url, dt.datetime(2031, 5, 20, tzinfo=UTC))  # partitions made by maintenance too
    parts = await _partitions(db_url, "audit_log")
    assert {"audit_log_p0", "audit_log_default", "audit_log_p203105", "audit_log_p203108"} <= parts
    conn = await asyncpg.connect(db_url)
    try:

        def inside(part: str) -> dt.datetime:  # an instant in each partition, so each has a row to refuse
            suffix = part.removeprefix("audit_log_")
            if suffix == "p0":
                return dt.datetime(2020, 1, 1, tzinfo=UTC)
            if suffix == "default":
                return dt.datetime(2099, 1, 1, tzinfo=UTC)
            return dt.datetime(int(suffix[1:5]), int(suffix[5:7]), 1, tzinfo=UTC)

        for at in map(inside, parts):
            await conn.execute(
                "INSERT INTO audit_log (id, at, actor_username, actor_role, action, object_type, object_id) "
                "VALUES ($1, $2, 'admin', 'admin', 'resident.reveal', 'resident', $1)",
                uuid.uuid4(),
                at,
            )
        for part in sorted(parts):
            for sql in (f"UPDATE {part} SET reason = 'edited'", f"DELETE FROM {part}", f"TRUNCATE {part}"):
                with pytest.raises(asyncpg.PostgresError, match="append-only"):
                    await conn.execute(sql)
        for part in parts:
            assert await conn.fetchval(f"SELECT count(*) FROM {part} WHERE at = $1", inside(part)) == 1

        # The wake-up calls fire for a partition written to directly, too.
        heard: list[str] = []
        await conn.add_listener("outbox", lambda *args: heard.append(args[2]))
        await conn.execute(
            "INSERT INTO outbox_p20310520 (event_id, event_type, aggregate_type, aggregate_id, payload, created_at, "
            "available_at) VALUES ($1, 'issue.created', 'issue', $1, '{}', '2031-05-20T12:00Z', '2031-05-20T12:00Z')",
            uuid.uuid4(),
        )
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.05)
        assert heard == ["outbox"]
    finally:
        await conn.close()


async def test_rows_land_by_utc_bounds_whatever_the_session_time_zone(db_url):
    await _maintain(db_url, dt.datetime(2030, 6, 15, 12, tzinfo=UTC))
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("SET TimeZone = 'Asia/Shanghai'")
        shanghai_new_month = dt.datetime(2030, 7, 1, tzinfo=SHANGHAI)  # 2030-06-30 16:00 UTC
        utc_new_month = dt.datetime(2030, 7, 1, tzinfo=UTC)
        for at in (shanghai_new_month, utc_new_month - dt.timedelta(microseconds=1), utc_new_month):
            await conn.execute(
                "INSERT INTO audit_log (id, at, actor_username, actor_role, action, object_type, object_id) "
                "VALUES ($1, $2, 'admin', 'admin', 'resident.reveal', 'resident', $1)",
                uuid.uuid4(),
                at,
            )
        morning = dt.datetime(2030, 6, 16, 8, tzinfo=SHANGHAI)  # midnight UTC
        early = await _change(conn, morning - dt.timedelta(microseconds=1))
        on_time = await _change(conn, morning)
        local_midnight = await _change(conn, dt.datetime(2030, 6, 16, tzinfo=SHANGHAI))
    finally:
        await conn.close()
    rows = await _sql(db_url, "SELECT at, tableoid::regclass::text AS part FROM audit_log WHERE at >= '2030-06-30Z'")
    assert {r["at"]: r["part"] for r in rows} == {
        shanghai_new_month: "audit_log_p203006",
        utc_new_month - dt.timedelta(microseconds=1): "audit_log_p203006",
        utc_new_month: "audit_log_p203007",
    }
    assert await _where(db_url, "change_log", "entity_id = $1", early) == ["change_log_p20300615"]
    assert await _where(db_url, "change_log", "entity_id = $1", on_time) == ["change_log_p20300616"]
    assert await _where(db_url, "change_log", "entity_id = $1", local_midnight) == ["change_log_p20300615"]
    assert USER  # the world is loaded


async def test_minqing_maintain_reports_each_table_and_a_second_run_makes_nothing(db_url, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.config import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        first = await asyncio.to_thread(CliRunner().invoke, cli, ["maintain"])
        assert first.exit_code == 0, first.output
        assert re.search(r"change_log: [1-9]\d* created", first.output), first.output  # the coming week
        assert all(f"{table}:" in first.output for table in HISTORY)
        second = await asyncio.to_thread(CliRunner().invoke, cli, ["maintain"])
        assert second.exit_code == 0, second.output
        assert all(f"{table}: 0 created, 0 dropped" in second.output for table in HISTORY), second.output
    finally:
        get_settings.cache_clear()
