"""Engine, declarative base and the per-request session (one transaction per request)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated, Any, TypeAlias, cast

import asyncpg
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
from sqlalchemy.orm import DeclarativeBase, Mapped, QueryableAttribute, Session, declared_attr, mapped_column

from app.config import Settings
from app.kit import clock
from app.kit.ids import new_id

log = logging.getLogger("minqing.db")

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
    return clock.now()


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now(), onupdate=utcnow)


class VersionMixin:
    """Optimistic concurrency: ``version`` is the strong ETag of the row.

    The column is the mapper's ``version_id_col``: every ORM UPDATE (and DELETE) of the row
    carries ``WHERE version = <the version read>`` and moves the version on by one, so of two
    writers that read the same version only the first one's statement matches; the other's
    matches no row and raises :class:`~sqlalchemy.orm.exc.StaleDataError`, answered as 412
    ``version_mismatch`` (``app.errors``). Nothing else writes ``version``: a write that must not
    move it (bookkeeping outside the representation, such as a login time) is a Core UPDATE that
    leaves the column alone, and a write that must move it though none of the row's own columns
    changed calls :func:`touch`.
    """

    version: Mapped[int] = mapped_column(server_default="1", default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def touch(row: VersionMixin) -> None:
    """Have the next flush write ``row`` — and so move its version — although none of its own
    columns changed: for a change to something kept in another table that is part of the row's
    representation (a mediation session of a dispute)."""
    row.updated_at = utcnow()  # type: ignore[attr-defined]


def to_async_url(url: str) -> str:
    """Accept ``postgres://``, ``postgresql://`` or an explicit driver; return an asyncpg URL."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://…")


def _connect_args(settings: Settings) -> dict[str, Any]:
    """asyncpg's connection arguments. Behind a transaction-pooling PgBouncer the statement timeout
    is not a startup parameter (PgBouncer refuses those it does not know; and a server connection
    serves many clients): each transaction sets it with ``SET LOCAL`` instead (see
    :func:`create_engine`), and statements outside a transaction are bounded by the client-side
    ``command_timeout``, whose expiry cancels the statement on the server."""
    server_settings = {"application_name": "minqing", "timezone": "UTC"}
    if settings.db_pooler != "pgbouncer":
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    return {
        "timeout": settings.db_connect_timeout,
        "command_timeout": max(settings.db_statement_timeout_ms / 1000 + 5, 10),
        "statement_cache_size": settings.statement_cache_size,
        "server_settings": server_settings,
    }


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def create_engine(settings: Settings, url: str | None = None, **overrides: Any) -> AsyncEngine:
    url = url or settings.database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    connect_args = _connect_args(settings)
    if settings.statement_cache_size == 0:
        # No statement outlives its transaction, and no two share a name: a transaction-pooling
        # PgBouncer may run each transaction on another server connection.
        connect_args["prepared_statement_cache_size"] = 0
        connect_args["prepared_statement_name_func"] = _unique_statement_name
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
        "connect_args": connect_args,
    }
    options.update(overrides)
    engine = create_async_engine(to_async_url(url), **options)
    sa.event.listen(engine.sync_engine, "handle_error", _discard_broken_connection)
    if settings.db_pooler == "pgbouncer" and settings.db_statement_timeout_ms:
        sa.event.listen(engine.sync_engine, "begin", _statement_timeout_setter(settings.db_statement_timeout_ms))
    return engine


def _statement_timeout_setter(timeout_ms: int) -> Any:
    """``SET LOCAL statement_timeout`` at the start of each transaction (behind a pooler, where it
    cannot be a startup parameter); statements in autocommit have no transaction to set it in."""
    statement = f"SET LOCAL statement_timeout = {int(timeout_ms)}"

    def on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql(statement)

    return on_begin


def _discard_broken_connection(context: sa.engine.ExceptionContext) -> None:
    """A statement (or its COMMIT / ROLLBACK) failed because the database went away or the
    connection's protocol is left in a confused state: the connection is invalidated — closed, never
    handed out again — and so is the rest of the pool, which a restart ended as well. The dialect
    alone only recognises a connection already marked closed, and lets a connection that failed
    with ``InternalClientError`` ("another operation is in progress") go back into the pool."""
    if not context.is_disconnect and is_database_unavailable(context.original_exception):
        context.is_disconnect = True


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def read_session_factory(engine: AsyncEngine, *, autocommit: bool = True) -> async_sessionmaker[AsyncSession]:
    """Sessions whose statements each run on their own (autocommit), for reads: no BEGIN and no
    COMMIT round trips. They refuse to flush, so an accidental write fails loudly instead of
    being committed piecemeal.

    Behind a transaction-pooling PgBouncer (``autocommit=False``) they read in a transaction
    instead: SQLAlchemy prepares each statement before running it, and outside a transaction the
    two may reach different server connections."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else engine,
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
    answers from one :class:`DriverStatement` needs none).

    Committed when the block ends; on an error rolled back — or, when the error says the database
    is unavailable, the session's connection is discarded instead, so a dead connection gets no
    ROLLBACK, and a failing rollback never replaces the error that ended the request."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with factory() as session:
        await session.begin()
        request.state.db_session = session  # for a route that answers its errors itself (discard_work)
        try:
            yield session
        except BaseException as exc:
            await abandon(session, exc)
            raise
        await _commit(session)
    after_commit = getattr(request.app.state, "after_commit", None)
    if after_commit is not None:  # the read-your-writes position, with replicas (app.replicas)
        await after_commit(request)


async def discard_work(request: Request, exc: BaseException) -> None:
    """For a route that answers an error in a format of its own instead of raising it (Open311):
    roll back what the request wrote, as an error raised through :func:`get_session` would."""
    session: AsyncSession | None = getattr(request.state, "db_session", None)
    if session is not None and session.in_transaction():
        await abandon(session, exc)


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except Exception as exc:
        await abandon(session, exc)
        raise


async def abandon(session: AsyncSession, exc: BaseException) -> None:
    """End ``session`` after ``exc``: invalidate its connection when the database is unavailable
    (nothing more is sent on it), else roll back; errors doing so are logged, never raised."""
    try:
        if is_database_unavailable(exc):
            await session.invalidate()
        else:
            await session.rollback()
    except Exception as again:
        log.warning("discarding a session after %s: %s", type(exc).__name__, type(again).__name__)
        with suppress(Exception):
            await session.invalidate()


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
        try:
            yield session
        except BaseException as exc:
            if is_database_unavailable(exc):  # otherwise closing it is all a read session needs
                await abandon(session, exc)
            raise


class ReadPool:
    """A small asyncpg pool for the single-statement reads of the hottest paths (GET issue, a
    dashboard's 304, the caller of a list): one round trip per read and nothing else. The
    primary's (``app.state.read_pool``) also runs the one-statement counters that must commit
    whatever becomes of the request (the rate limits' hits), each autocommitted on its own.

    Only :class:`DriverStatement` statements run on these connections, so they never carry session
    state (no SET, LISTEN, advisory lock or cursor): asyncpg's reset query on release — one more
    round trip per read — is skipped, while a connection somehow left inside a transaction is
    still rolled back by asyncpg itself. Connections are opened on demand (none at start-up, so
    the service starts while the database is away) with the engine's URL and connection settings,
    and JSON comes back decoded as from the engine. After a lost connection (database restart)
    every pooled connection is replaced and the read is tried once more on a fresh one: a read
    is safe to repeat.
    """

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        _args, options = engine.dialect.create_connect_args(engine.url)
        options.update(_connect_args(settings))
        options.pop("prepared_statement_cache_size", None)
        options.pop("prepared_statement_name_func", None)
        self.engine = engine
        self.timeout = settings.db_pool_timeout
        self.pool = asyncpg.create_pool(
            min_size=0,
            max_size=settings.db_read_pool_size,
            init=self._init,
            reset=self._reset,
            max_inactive_connection_lifetime=300,
            connection_class=_ReadConnection,
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
        _POOL_OF_ENGINE[self.engine] = self

    async def close(self) -> None:
        if _POOL_OF_ENGINE.get(self.engine) is self:
            del _POOL_OF_ENGINE[self.engine]
        await self.pool.close()

    @staticmethod
    def of(engine: AsyncEngine) -> ReadPool | None:
        """The one-statement pool open on ``engine``'s server in this process, if any."""
        return _POOL_OF_ENGINE.get(engine)

    async def fetchrow(self, sql: str, args: tuple[Any, ...], *, again: bool = True) -> Any:
        """One row; with ``again`` (a read) tried once more on a fresh connection after a lost one.
        A write is sent once: after a lost connection nobody knows whether it committed."""
        return await self._run("fetchrow", sql, args, tries=2 if again else 1)

    async def fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        rows: list[Any] = await self._run("fetch", sql, args)
        return rows

    async def _run(self, method: str, sql: str, args: tuple[Any, ...], tries: int = 2) -> Any:
        for attempt in range(1, tries + 1):
            # A connection is idle: it is handed over at once (a fresh one opens within the connect
            # timeout), so the bounded wait — a timer per read in asyncpg — is only armed when all are busy.
            timeout = None if self.pool.get_idle_size() else self.timeout
            async with self.pool.acquire(timeout=timeout) as conn:
                try:
                    return await getattr(conn, method)(sql, *args)
                except Exception as exc:
                    if not is_database_unavailable(exc):
                        raise
                    # The connection is broken (or its protocol confused): it leaves the pool now,
                    # without a goodbye that could fail, rather than being reset and handed out again.
                    with suppress(asyncpg.InterfaceError):  # already released when asyncpg saw it closed
                        conn.terminate()
                    if attempt == tries or isinstance(exc, TimeoutError):  # a server that stopped answering
                        raise
            await self.pool.expire_connections()  # its siblings are likely gone too (a restart)
        raise AssertionError("unreachable")


_POOL_OF_ENGINE: weakref.WeakKeyDictionary[AsyncEngine, ReadPool] = weakref.WeakKeyDictionary()


class _ReadConnection(asyncpg.Connection):
    """A connection of the :class:`ReadPool`: one closed after its server went away (the pool
    replacing its connections after a restart) is dropped without a goodbye, instead of failing
    in a task nobody awaits."""

    async def close(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 (asyncpg's signature)
        try:
            await super().close(timeout=timeout)
        except Exception:
            self.terminate()


class DriverStatement:
    """A Core statement compiled once for asyncpg, run on the session's connection without the ORM.

    For the hottest single-statement reads: no statement compilation, no result-row processing,
    and no BEGIN / COMMIT round trips — a lone SELECT is atomic on its own, and the session's
    transaction is still begun as usual if the request goes on to use the session. Parameters are
    given by name; rows come back as asyncpg records (UUIDs, aware datetimes, JSON decoded).
    """

    def __init__(self, stmt: sa.ClauseElement) -> None:
        from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

        self.stmt = cast(sa.Executable, stmt)  # every statement given is one (a select, a text)
        compiled: Any = stmt.compile(dialect=pg_asyncpg.dialect())  # a SQLCompiler: positional parameters
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        self.defaults = {k: v for k, v in compiled.params.items() if v is not None}  # the statement's literals

    def _args(self, params: dict[str, Any]) -> tuple[Any, ...]:
        values = {**self.defaults, **params}
        return tuple(values[n] for n in self.names)

    async def fetch(self, pool: ReadPool, **params: Any) -> list[Any]:
        """All rows, on a :class:`ReadPool` connection (autocommitted on its own)."""
        args = self._args(params)
        dispatch = pool.engine.sync_engine.dispatch.before_cursor_execute
        if dispatch:  # statement logging and counting see these too
            dispatch(None, None, self.sql, args, None, False)
        return await pool.fetch(self.sql, args)

    async def fetchrow(self, on: AsyncSession | AsyncEngine | ReadPool, **params: Any) -> Any:
        """One row (or None), on the session's connection, on a :class:`ReadPool` (the cheapest
        when the request needs no session at all) or, for an engine, autocommitted on its own:
        on the engine's :class:`ReadPool` when this process has one open, else on a connection
        taken from the engine's pool for just this statement."""
        if isinstance(on, ReadPool):
            args = self._args(params)
            dispatch = on.engine.sync_engine.dispatch.before_cursor_execute
            if dispatch:  # statement logging and counting see these reads too (without a connection)
                dispatch(None, None, self.sql, args, None, False)
            return await on.fetchrow(self.sql, args)
        if isinstance(on, AsyncEngine):
            pool = ReadPool.of(on)
            if pool is not None:  # no engine connection to set up and hand back
                return await self.fetchrow(pool, **params)
            async with on.connect() as conn:
                return await self._fetchrow(conn, params)
        return await self._fetchrow(await on.connection(), params)

    async def write(self, on: AsyncSession | ReadPool, **params: Any) -> Any:
        """Run a writing statement and return its one row: on a :class:`ReadPool`, autocommitted
        as a transaction of its own and sent once (never repeated after a lost connection, which
        becomes 503); on a session, inside its transaction (begun by this statement if need be)."""
        if isinstance(on, ReadPool):
            args = self._args(params)
            dispatch = on.engine.sync_engine.dispatch.before_cursor_execute
            if dispatch:
                dispatch(None, None, self.sql, args, None, False)
            return await on.fetchrow(self.sql, args, again=False)
        return (await on.execute(self.stmt, {**self.defaults, **params})).mappings().one()

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


# Connection exceptions (08…), the server shutting down or starting (57P01–57P03), too many connections,
# and a read-only transaction (25006): the server reached as the primary is a standby still. The
# service opens no read-only transaction of its own, so that happens only during a failover, where
# HAProxy routes to Patroni's new leader once it holds the leader key, a moment before its promotion
# has finished; the retry a moment later finds it writable.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "53300", "25006"}
# asyncpg's and SQLAlchemy's adapter's classes for a lost connection or a protocol left in a state it
# cannot go on from ("cannot switch to state 12; another operation (2) is in progress").
_UNAVAILABLE_CLASS_NAMES = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",
    "InterfaceError",
    "InternalClientError",
    "ProtocolError",
}


def _driver_error(exc: BaseException) -> BaseException | None:
    """The asyncpg exception under SQLAlchemy's wrapping (``DBAPIError.orig`` is the adapter's)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "__cause__", None) if orig is not None else None


_NOT_AN_OUTAGE = (
    asyncpg.DataError,
    asyncpg.exceptions.ClientConfigurationError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
    asyncpg.exceptions.UnsupportedServerFeatureError,
)


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means PostgreSQL cannot be used right now: unreachable, restarting, the
    connection lost or its protocol confused, no connection free in time. The one classifier for
    every place that maps database failures: such a request gets 503 ``database_unavailable`` with
    ``Retry-After`` (never 500), and the connection it happened on is discarded.

    Looks through SQLAlchemy's wrapping (``orig``), chained causes and exception groups."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, BaseExceptionGroup):
            todo.extend(cur.exceptions)
        if isinstance(cur, PoolTimeoutError | ConnectionRefusedError | ConnectionResetError):
            return True
        if isinstance(cur, _NOT_AN_OUTAGE) or isinstance(_driver_error(cur), _NOT_AN_OUTAGE):
            continue  # the driver refusing a value or a setting: a bug to see, not an outage
        if isinstance(cur, asyncpg.InterfaceError | asyncpg.InternalClientError | asyncpg.PostgresConnectionError):
            return True
        if isinstance(cur, OSError | TimeoutError) and _raised_by_driver(cur):  # ConnectionError, connect timeout
            return True
        if isinstance(cur, DBAPIError) and getattr(cur, "connection_invalidated", False):
            return True
        if isinstance(cur, OperationalError | InterfaceError):
            return True
        sqlstate = getattr(cur, "sqlstate", None) or getattr(getattr(cur, "orig", None), "sqlstate", None)
        if sqlstate in _UNAVAILABLE_SQLSTATES:
            return True
        if any(k.__name__ in _UNAVAILABLE_CLASS_NAMES for k in type(cur).__mro__):
            return True
        todo.extend(e for e in (getattr(cur, "orig", None), cur.__cause__, cur.__context__) if e is not None)
    return False


async def ping(session: AsyncSession) -> None:
    """One round trip to PostgreSQL (health checks)."""
    await session.execute(sa.text("SELECT 1"))


async def without_statement_timeout(session: AsyncSession) -> None:
    """Lift the statement timeout for the rest of the session's transaction (long maintenance)."""
    await session.execute(sa.text("SET LOCAL statement_timeout = 0"))
