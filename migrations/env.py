"""Alembic environment: async engine from DATABASE_URL (or the URL the caller passes in).

Before any step runs, the data-loss guard (``app/migration_guard.py``) refuses revisions that would
drop or narrow data that exists, unless ``allow_data_loss`` is set (``minqing migrate
--allow-data-loss``, or ``alembic -x allow_data_loss=true``).
"""

from __future__ import annotations

import asyncio

from alembic import context
from alembic.runtime.migration import RevisionStep
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app import migration_guard
from app.config import get_settings
from app.db import Base, to_async_url
from app.models import load_all_models
from app.stats.tables import metadata as stats_metadata

load_all_models()
config = context.config
# The ORM models and the trigger-kept stats tables: together, the whole schema the migrations build
# (a test checks that autogenerate finds no difference).
target_metadata = [Base.metadata, stats_metadata]


def _url() -> str:
    url = config.attributes.get("database_url") or get_settings().database_url
    if not url:
        raise RuntimeError("Set DATABASE_URL (or run through `minqing migrate`, which starts the embedded server)")
    return to_async_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _allow_data_loss() -> bool:
    if config.attributes.get("allow_data_loss"):
        return True
    return context.get_x_argument(as_dictionary=True).get("allow_data_loss", "").lower() in {"1", "true", "yes"}


def _guard(connection: Connection) -> None:
    migration_context = context.get_context()
    had_transaction = connection.in_transaction()
    plan = migration_context._migrations_fn  # the steps alembic is about to run (upgrade or downgrade)
    if plan is None:
        return
    steps = [s for s in plan(migration_context.get_current_heads(), migration_context) if isinstance(s, RevisionStep)]
    lost = migration_guard.check(connection, steps, allow_data_loss=_allow_data_loss())
    config.attributes["data_lost"] = lost
    if not had_transaction and connection.in_transaction():
        connection.commit()  # end the guard's reads so alembic opens one transaction per step


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, transaction_per_migration=True)
    _guard(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
