"""The hot-read pool (app.db.ReadPool): decoded like the engine's reads, and a read survives the
loss of every pooled connection (a database restart, an administrator's pg_terminate_backend)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from app.db import ReadPool, create_engine, is_database_unavailable
from tests.conftest import make_settings


async def test_reads_are_decoded_and_survive_lost_connections(settings, db_url):
    engine = create_engine(settings)
    pool = ReadPool(engine, settings)
    await pool.start()
    admin = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        row = await pool.fetchrow("""SELECT '{"a": [1, "二"]}'::jsonb AS j, current_setting('timezone') AS tz""", ())
        assert row["j"] == {"a": [1, "二"]} and row["tz"] == "UTC"

        # Fill the pool with several connections, then end every one of them on the server.
        await asyncio.gather(*(pool.fetchrow("SELECT pg_sleep(0.05)", ()) for _ in range(4)))
        ours = "SELECT pid FROM pg_stat_activity WHERE application_name = 'minqing' AND datname = current_database()"
        pids = {r["pid"] for r in await admin.fetch(ours)}
        assert len(pids) >= 2
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(pids))

        for _ in range(4):  # each would have met a dead connection: every read still answers
            assert (await pool.fetchrow("SELECT 1 AS one", ()))["one"] == 1
    finally:
        await admin.close()
        await pool.close()
        await engine.dispose()


async def test_a_read_waits_a_bounded_time_when_every_connection_is_busy(db_url):
    settings = make_settings(db_url, db_read_pool_size=1, db_pool_timeout=0.5)
    engine = create_engine(settings)
    pool = ReadPool(engine, settings)
    await pool.start()
    try:
        busy = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(3)", ()))
        await asyncio.sleep(0.3)  # the only connection is taken
        start = time.monotonic()
        with pytest.raises(Exception) as caught:
            await pool.fetchrow("SELECT 1", ())
        assert time.monotonic() - start < 2
        assert is_database_unavailable(caught.value)  # → 503 with Retry-After, like the engine's pool
        busy.cancel()
    finally:
        await pool.close()
        await engine.dispose()
