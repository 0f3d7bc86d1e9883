"""A migration that would lose data is refused (app/migration_guard.py), on a real database."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from app import migration_guard
from app.config import get_settings
from app.db import to_async_url
from app.migration_guard import DataLossRefused
from app.migrations_state import alembic_config


def test_every_revision_declares_what_it_destroys():
    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        missing = migration_guard.undeclared(script.module)
        assert not missing, (
            f"{script.path}: declare {missing} in `destructive` / `destructive_downgrade` "
            "(see app/migration_guard.py) so the guard can refuse losing data"
        )


def _sample_upgrade():  # never run: only its source is scanned
    from alembic import op

    op.create_table("fresh")
    op.execute("ALTER TABLE fresh ALTER COLUMN path TYPE ltree USING path::ltree")
    op.drop_table("old_things")
    op.drop_column("issues", "legacy_note")
    op.alter_column("issues", "title", type_=None)
    op.alter_column("issues", "status", nullable=False)
    op.execute("DROP TABLE IF EXISTS scratch")
    op.execute("ALTER TABLE units DROP COLUMN fax")
    op.execute("ALTER TABLE units ALTER COLUMN code TYPE varchar(8)")


def _nothing() -> None:
    pass


def test_the_scan_finds_drops_and_type_changes_but_not_on_new_tables():
    assert migration_guard.destructive_operations(_sample_upgrade) == {
        "old_things",
        "issues.legacy_note",
        "issues.title",
        "scratch",
        "units.fax",
        "units.code",
    }
    module = SimpleNamespace(upgrade=_sample_upgrade, downgrade=_nothing, destructive=["issues", "old_things"])
    assert migration_guard.undeclared(module) == {"upgrade": {"scratch", "units.fax", "units.code"}}


async def _table_count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()


async def test_downgrade_is_refused_while_tables_hold_rows(empty_db_url):
    cfg = alembic_config(empty_db_url)
    await asyncio.to_thread(command.upgrade, cfg, "head")
    # Empty tables lose nothing: the round trip is free.
    await asyncio.to_thread(command.downgrade, cfg, "base")
    await asyncio.to_thread(command.upgrade, cfg, "head")
    conn = await asyncpg.connect(empty_db_url)
    try:
        await conn.execute(
            "INSERT INTO areas (id, code, name, level, path) VALUES "
            "('00000000-0000-7000-8000-000000000001', 'R1', '保留区', 'district', 'r1')"
        )
    finally:
        await conn.close()
    tables = await _table_count(empty_db_url)

    with pytest.raises(DataLossRefused, match="areas holds 1 row"):
        await asyncio.to_thread(command.downgrade, cfg, "base")
    assert await _table_count(empty_db_url) == tables

    cfg.attributes["allow_data_loss"] = True
    await asyncio.to_thread(command.downgrade, cfg, "base")
    assert await _table_count(empty_db_url) <= 1  # alembic_version


def _step(revision: str, *, upgrade: bool, **declared: list[str]) -> SimpleNamespace:
    module = SimpleNamespace(**declared)
    return SimpleNamespace(is_upgrade=upgrade, revision=SimpleNamespace(revision=revision, module=module))


async def test_columns_count_only_when_they_hold_values(db_url):
    engine = create_async_engine(to_async_url(db_url))
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("UPDATE units SET name = name")  # the world has units, areas
            steps = [
                _step("r1", upgrade=True, destructive=["areas.boundary", "areas.no_such_column", "no_such_table"]),
                _step("r2", upgrade=True, destructive=["users.phone"]),
                _step("r3", upgrade=False, destructive_downgrade=["units"]),
            ]
            with_phone = await conn.exec_driver_sql("SELECT count(*) FROM users WHERE phone IS NOT NULL")
            assert with_phone.scalar() == 0
            lost = await conn.run_sync(migration_guard.losses, steps)
            assert [(x.revision, x.target) for x in lost] == [("r1", "areas.boundary"), ("r3", "units")]
            with pytest.raises(DataLossRefused):
                await conn.run_sync(lambda c: migration_guard.check(c, steps, allow_data_loss=False))
            allowed = await conn.run_sync(lambda c: migration_guard.check(c, steps, allow_data_loss=True))
            assert len(allowed) == 2
    finally:
        await engine.dispose()


async def test_cli_refuses_then_allows_with_the_flag(db_url, monkeypatch):
    from app.cli import app as cli

    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = await asyncio.to_thread(runner.invoke, cli, ["migrate", "--downgrade", "base"])
        assert refused.exit_code == 3, refused.output
        assert "would lose data" in refused.output
        done = await asyncio.to_thread(runner.invoke, cli, ["migrate", "--downgrade", "base", "--allow-data-loss"])
        assert done.exit_code == 0, done.output
        assert await _table_count(db_url) <= 1
    finally:
        get_settings.cache_clear()
