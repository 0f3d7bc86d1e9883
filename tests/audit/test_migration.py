import asyncio

import asyncpg
from alembic import command

from app.migrations_state import alembic_config


def _run(url: str, *steps: tuple[str, str]) -> None:
    cfg = alembic_config(url)
    for direction, target in steps:
        getattr(command, direction)(cfg, target)


async def test_migrations_round_trip(empty_db_url):
    await asyncio.to_thread(_run, empty_db_url, ("upgrade", "head"), ("downgrade", "base"), ("upgrade", "head"))
    conn = await asyncpg.connect(empty_db_url)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    finally:
        await conn.close()
    assert {"diary_entries", "disputes", "residents", "audit_log", "change_log"} <= tables
