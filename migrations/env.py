"""Alembic environment: async engine from DATABASE_URL (or the URL the caller passes in).

Migrations run under a PostgreSQL advisory lock (``app.migrations_state.MIGRATION_LOCK``): replicas that start
together and each run ``minqing migrate`` apply them one after the other; the later ones find the
schema at head and do nothing.

Before any step runs, the data-loss guard (``app/migration_guard.py``) refuses revisions that would
drop or narrow data that exists, unless ``allow_data_loss`` is set (``minqing migrate
--allow-data-loss``, or ``alembic -x allow_data_loss=true``).
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context
from alembic.runtime.migration import RevisionStep
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app import migration_guard
from app.config import get_settings
from app.db import Base, to_async_url
from app.kit import partitions
from app.migrations_state import MIGRATION_LOCK
from app.models import load_all_models
from app.stats.tables import metadata as stats_metadata

load_all_models()
config = context.config
# The ORM models and the trigger-kept stats tables: together, the whole schema the migrations build
# (a test checks that autogenerate finds no difference).
target_metadata = [Base.metadata, stats_metadata]


def _url() -> str:
    url = config.attributes.get("database_url") or get_settings().direct_database_url  # never through a pooler
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
    had_transaction = connection.in_transaction()
    connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
    if not had_transaction:
        connection.commit()  # the lock is the session's: it outlives this transaction
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            include_name=partitions.include_name,  # autogenerate: partitions are not in the models
        )
        _guard(connection)  # after the lock: what another process applied meanwhile is not planned again
        with context.begin_transaction():
            context.run_migrations()
    except BaseException:
        if not had_transaction:  # else the caller's transaction is aborted: the lock goes with its connection
            if connection.in_transaction():
                connection.rollback()  # a failed step's transaction
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
        raise
    connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    if not had_transaction:
        connection.commit()


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
