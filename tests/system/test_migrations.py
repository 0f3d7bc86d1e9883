"""Migrations are static, reversible and keep data: upgrade head → downgrade base → upgrade head."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command
from alembic.script import ScriptDirectory

from app.migrations_state import alembic_config


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


def test_single_linear_history():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, script.get_heads()
    for rev in script.walk_revisions():
        assert rev.module.downgrade.__doc__ is not None or rev.module.downgrade is not None


async def test_round_trip_on_a_populated_database(empty_db_url):
    cfg = alembic_config(empty_db_url)
    await asyncio.to_thread(command.upgrade, cfg, "head")
    conn = await asyncpg.connect(empty_db_url)
    try:
        await conn.execute(
            "INSERT INTO areas (id, code, name, level, path) VALUES "
            "('00000000-0000-7000-8000-000000000001', 'R1', '往返区', 'district', 'r1')"
        )
    finally:
        await conn.close()
    populated = await _tables(empty_db_url)
    assert {"areas", "users", "units", "api_keys"} <= populated

    cfg.attributes["allow_data_loss"] = True  # the guard refuses this downgrade otherwise
    await asyncio.to_thread(command.downgrade, cfg, "base")
    assert await _tables(empty_db_url) <= {"alembic_version"}

    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await _tables(empty_db_url) == populated
