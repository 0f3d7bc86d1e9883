"""Engine, declarative base and the per-request session (one transaction per request)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeAlias

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, QueryableAttribute, Session, mapped_column

from app.config import Settings
from app.kit.ids import new_id

ColumnExpr: TypeAlias = sa.ColumnElement[Any] | QueryableAttribute[Any]
"""A column to filter or select on: a Core expression or a mapped attribute (``Issue.area_id``)."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: UUID(as_uuid=True),
        dt.datetime: sa.DateTime(timezone=True),
    }


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now(), onupdate=utcnow)


class VersionMixin:
    """Optimistic concurrency: ``version`` is the strong ETag of the row."""

    version: Mapped[int] = mapped_column(server_default="1", default=1)


def to_async_url(url: str) -> str:
    """Accept ``postgres://``, ``postgresql://`` or an explicit driver; return an asyncpg URL."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://…")


def _connect_args(settings: Settings) -> dict[str, Any]:
    return {
        "timeout": settings.db_connect_timeout,
        "command_timeout": max(settings.db_statement_timeout_ms / 1000 + 5, 10),
        "server_settings": {
            "application_name": "minqing",
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "timezone": "UTC",
        },
    }


def create_engine(settings: Settings, url: str | None = None, **overrides: Any) -> AsyncEngine:
    url = url or settings.database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        # No pre-ping: with asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) on every
        # checkout. A connection broken by a database restart fails its request with 503 and the
        # disconnect invalidates the whole pool, so the next requests get fresh connections.
        "pool_pre_ping": False,
        "pool_recycle": 1800,
        "echo": settings.db_echo,
        "connect_args": _connect_args(settings),
    }
    options.update(overrides)
    return create_async_engine(to_async_url(url), **options)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose statements each run on their own (autocommit), for reads: no BEGIN and no
    COMMIT round trips. They refuse to flush, so an accidental write fails loudly instead of
    being committed piecemeal."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        info={"read_only": True},
    )


@sa.event.listens_for(Session, "before_flush")
def _refuse_writes_in_read_sessions(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("read_only"):
        raise RuntimeError("a read session cannot write; take SessionDep")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back on error.

    Used with ``scope="function"`` so the commit happens before the response is sent: a client
    never sees a 2xx for a write that did not commit.
    """
    async with request_session(request) as session:
        yield session


@asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction, for endpoints that open it only on some paths (a hot read that
    answers from one :class:`DriverStatement` needs none)."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with factory() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For GET endpoints: statements in autocommit, each atomic on its own (see
    :func:`read_session_factory`); saves two round trips per request."""
    async with read_session(request) as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]


@asynccontextmanager
async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session opened only on the paths that need one (a 304 needs none)."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
    async with factory() as session:
        yield session


class ReadPool:
    """A small asyncpg pool for the single-statement reads of the hottest paths (GET issue, a
    dashboard's 304, the caller of a list): one round trip per read and nothing else.

    Only :class:`DriverStatement` SELECTs run on these connections, so they never carry session
    state (no SET, LISTEN, advisory lock or cursor): asyncpg's reset query on release — one more
    round trip per read — is skipped, while a connection somehow left inside a transaction is
    still rolled back by asyncpg itself. Connections are opened on demand (none at start-up, so
    the service starts while the database is away) with the engine's URL and connection settings,
    and JSON comes back decoded as from the engine. After a lost connection (database restart)
    every pooled connection is replaced and the read is tried once more on a fresh one: a read
    is safe to repeat.
    """

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        import asyncpg

        _args, options = engine.dialect.create_connect_args(engine.url)
        options.pop("prepared_statement_cache_size", None)
        options.pop("prepared_statement_name_func", None)
        options.update(_connect_args(settings))
        self.engine = engine
        self.timeout = settings.db_pool_timeout
        self.pool = asyncpg.create_pool(
            min_size=0,
            max_size=settings.db_read_pool_size,
            init=self._init,
            reset=self._reset,
            max_inactive_connection_lifetime=300,
            **options,
        )

    @staticmethod
    async def _init(conn: Any) -> None:
        import json

        for name in ("json", "jsonb"):
            await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    @staticmethod
    async def _reset(conn: Any) -> None:
        """Nothing to reset (see the class): asyncpg has already rolled back an open transaction."""

    async def start(self) -> None:
        await self.pool  # opens no connection yet (min_size=0)

    async def close(self) -> None:
        await self.pool.close()

    async def fetchrow(self, sql: str, args: tuple[Any, ...]) -> Any:
        try:
            return await self._fetchrow(sql, args)
        except Exception as exc:
            if not _lost_connection(exc):
                raise
            await self.pool.expire_connections()
        return await self._fetchrow(sql, args)

    async def _fetchrow(self, sql: str, args: tuple[Any, ...]) -> Any:
        # A connection is idle: it is handed over at once (a fresh one opens within the connect
        # timeout), so the bounded wait — a timer per read in asyncpg — is only armed when all are busy.
        timeout = None if self.pool.get_idle_size() else self.timeout
        async with self.pool.acquire(timeout=timeout) as conn:
            return await conn.fetchrow(sql, *args)


def _lost_connection(exc: BaseException) -> bool:
    import asyncpg

    # A connection ended by the server may also show up as a protocol in a confused state
    # (InternalClientError) when the server's goodbye arrived while it was idle.
    lost = asyncpg.ConnectionDoesNotExistError | asyncpg.InterfaceError | asyncpg.InternalClientError | ConnectionError
    return isinstance(exc, lost) or getattr(exc, "sqlstate", None) in {"57P01", "57P02", "57P03"}


class DriverStatement:
    """A Core statement compiled once for asyncpg, run on the session's connection without the ORM.

    For the hottest single-statement reads: no statement compilation, no result-row processing,
    and no BEGIN / COMMIT round trips — a lone SELECT is atomic on its own, and the session's
    transaction is still begun as usual if the request goes on to use the session. Parameters are
    given by name; rows come back as asyncpg records (UUIDs, aware datetimes, JSON decoded).
    """

    def __init__(self, stmt: sa.ClauseElement) -> None:
        from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

        compiled: Any = stmt.compile(dialect=pg_asyncpg.dialect())  # a SQLCompiler: positional parameters
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        self.defaults = {k: v for k, v in compiled.params.items() if v is not None}  # the statement's literals

    def _args(self, params: dict[str, Any]) -> tuple[Any, ...]:
        values = {**self.defaults, **params}
        return tuple(values[n] for n in self.names)

    async def fetchrow(self, on: AsyncSession | AsyncEngine | ReadPool, **params: Any) -> Any:
        """One row (or None), on the session's connection, on a :class:`ReadPool` (the cheapest
        when the request needs no session at all) or on a connection taken from an engine's pool
        for just this statement."""
        if isinstance(on, ReadPool):
            args = self._args(params)
            dispatch = on.engine.sync_engine.dispatch.before_cursor_execute
            if dispatch:  # statement logging and counting see these reads too (without a connection)
                dispatch(None, None, self.sql, args, None, False)
            return await on.fetchrow(self.sql, args)
        if isinstance(on, AsyncEngine):
            async with on.connect() as conn:
                return await self._fetchrow(conn, params)
        return await self._fetchrow(await on.connection(), params)

    async def _fetchrow(self, conn: AsyncConnection, params: dict[str, Any]) -> Any:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None  # an asyncpg connection, checked out
        args = self._args(params)
        sync = conn.sync_connection
        if sync is not None and sync.dispatch.before_cursor_execute:  # statement logging and counting
            sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)
        try:
            return await driver.fetchrow(self.sql, *args)
        except Exception as exc:
            if is_database_unavailable(exc):
                await conn.invalidate(exc)  # as SQLAlchemy does for its own statements: no stale reuse
            raise


def _raised_by_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if "asyncpg" in name or "sqlalchemy" in name:
            return True
        tb = tb.tb_next
    return False


_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "53300"}


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means PostgreSQL cannot be reached right now (→ 503, not 500)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, PoolTimeoutError | ConnectionRefusedError | ConnectionResetError):
            return True
        if isinstance(cur, ConnectionError | TimeoutError) and _raised_by_driver(cur):
            return True
        if isinstance(cur, OSError) and _raised_by_driver(cur):
            return True
        if isinstance(cur, DBAPIError) and getattr(cur, "connection_invalidated", False):
            return True
        if isinstance(cur, OperationalError | InterfaceError):
            return True
        sqlstate = getattr(cur, "sqlstate", None) or getattr(getattr(cur, "orig", None), "sqlstate", None)
        if sqlstate in _UNAVAILABLE_SQLSTATES:
            return True
        name = type(cur).__name__
        if name in {"ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError", "InternalClientError"}:
            return True
        cur = cur.__cause__ or cur.__context__
    return False
