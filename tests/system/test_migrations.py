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


async def test_models_describe_the_schema_the_migrations_build(db_url):
    """Autogenerate finds nothing to do: every table, column, index, unique and foreign key the
    migrations create is declared in the models (or the stats tables), so a generated revision
    never proposes dropping one."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import Base, to_async_url
    from app.kit import partitions
    from app.models import load_all_models
    from app.stats.tables import metadata as stats_metadata

    load_all_models()
    engine = create_async_engine(to_async_url(db_url))

    def compare(connection):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Did not recognize type")  # ltree, xid8: columns compare by name
            # Partitions (app/kit/partitions.py) are the database's; the models describe their parents.
            context = MigrationContext.configure(connection, opts={"include_name": partitions.include_name})
            return compare_metadata(context, [Base.metadata, stats_metadata])

    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(compare)
    finally:
        await engine.dispose()
    assert differences == [], "\n".join(str(d)[:200] for d in differences)


async def test_migrate_waits_for_another_migration_in_progress(empty_db_url):
    """Replicas starting together each run ``minqing migrate``: the advisory lock makes the second
    wait for the first instead of applying the same revisions at the same time."""
    import threading

    from app.migrations_state import MIGRATION_LOCK

    holder = await asyncpg.connect(empty_db_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        done = threading.Event()
        errors: list[BaseException] = []

        def migrate() -> None:
            try:
                command.upgrade(alembic_config(empty_db_url), "head")
            except BaseException as exc:
                errors.append(exc)
            finally:
                done.set()

        thread = threading.Thread(target=migrate, daemon=True)
        thread.start()
        waiting = 0
        for _ in range(300):  # bounded: until the migration is seen waiting for the lock
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            if waiting or done.is_set():
                break
            await asyncio.sleep(0.1)
        assert waiting == 1 and not done.is_set(), errors
        assert "alembic_version" not in await _tables(empty_db_url)
    finally:
        await holder.execute("SELECT pg_advisory_unlock_all()")
        await holder.close()
    await asyncio.to_thread(done.wait, 120)
    assert done.is_set() and errors == []
    assert {"alembic_version", "issues"} <= await _tables(empty_db_url)
