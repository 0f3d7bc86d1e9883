"""When PostgreSQL goes away requests get 503 problem+json (not 500, no hang) and the service recovers."""

from __future__ import annotations

import asyncio
import inspect
import socket
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy import exc as sa_exc

from app import dbserver
from app.db import SessionDep, create_engine, is_database_unavailable
from app.main import create_app
from tests import conftest, world
from tests.conftest import auth, make_settings
from tests.issues.helpers import create


async def test_unreachable_database_gives_503_quickly():
    settings = make_settings("postgresql://postgres@/nowhere?host=/nonexistent-socket-dir", db_pool_timeout=1)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            start = time.monotonic()
            r = await client.get("/api/v1/me", headers=auth("admin"))
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "database_unavailable"
            assert "Retry-After" in r.headers
            assert time.monotonic() - start < 5
            # The one-statement reads (their own small pool) answer the same way.
            for url, headers in (
                (f"/api/v1/issues/{world.AREA['G1'].id}", auth("admin")),
                ("/api/v1/stats/overview", {**auth("admin"), "If-None-Match": "*"}),
            ):
                start = time.monotonic()
                r = await client.get(url, headers=headers)
                assert r.status_code == 503 and r.json()["code"] == "database_unavailable", (url, r.text)
                assert time.monotonic() - start < 5
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert (await client.get("/health")).status_code == 200


async def test_recovers_by_itself_after_a_restart():
    data_dir = dbserver.scratch_dir("minqing-outage-") / "pg"
    server, url = await asyncio.to_thread(dbserver.start, data_dir, cleanup="delete")
    try:
        await asyncio.to_thread(conftest._migrate, url)
        await conftest._load_world(url)
        app = create_app(make_settings(url, db_pool_timeout=1))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                area_url = f"/api/v1/areas/{world.AREA['G1'].id}"
                assert (await client.get(area_url, headers=auth("admin"))).status_code == 200
                issue_url = f"/api/v1/issues/{(await create(client))['id']}"
                poll = {**auth("admin"), "If-None-Match": "*"}
                assert (await client.get(issue_url, headers=auth("admin"))).status_code == 200
                assert (await client.get("/api/v1/stats/overview", headers=poll)).status_code == 304

                sockets = dbserver.socket_dir(server)
                await asyncio.to_thread(dbserver.pg_ctl, data_dir, "-w", "stop", "-m", "immediate")
                for url, headers in ((area_url, auth("admin")), (issue_url, auth("admin"))):
                    r = await client.get(url, headers=headers)
                    assert r.status_code == 503, r.text
                    assert r.json()["code"] == "database_unavailable"
                r = await client.get("/api/v1/stats/overview", headers=poll)
                assert r.status_code == 503 and r.json()["code"] == "database_unavailable"

                await asyncio.to_thread(dbserver.start_again, data_dir, sockets)
                deadline = time.monotonic() + 15
                status = None
                while time.monotonic() < deadline:
                    status = (await client.get(area_url, headers=auth("admin"))).status_code
                    if status == 200:
                        break
                    await asyncio.sleep(0.2)
                assert status == 200
                # The read pool's connections died with the server: they are replaced, no request fails.
                assert (await client.get(issue_url, headers=auth("admin"))).status_code == 200
                assert (await client.get("/api/v1/stats/overview", headers=poll)).status_code == 304
    finally:
        await asyncio.to_thread(server.cleanup)


# --- every driver-level failure is an outage: 503 database_unavailable with Retry-After ---------------


def _through_sqlalchemy(name: str, message: str, *, invalidated: bool = False) -> Exception:
    """The error as SQLAlchemy raises it for a failed statement: the asyncpg adapter's exception,
    wrapped in a DBAPIError subclass and chained to it."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    dbapi = dialect.import_dbapi()
    orig = getattr(dbapi, name)(message)
    wrapped = sa_exc.DBAPIError.instance("SELECT 1", {}, orig, dbapi.Error, connection_invalidated=invalidated)
    wrapped.__cause__ = orig
    return wrapped


def _read_only_through_sqlalchemy() -> Exception:
    """As a failover run showed it: asyncpg's error under the adapter's, under SQLAlchemy's."""
    cause = asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute SELECT in a read-only transaction")
    wrapped = _through_sqlalchemy("InternalError", str(cause))
    wrapped.orig.__cause__ = cause  # type: ignore[attr-defined]  # the adapter's error is raised from asyncpg's
    return wrapped


async def _refused_by_driver() -> Exception:
    """What asyncpg raises connecting to a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    try:
        await asyncpg.connect(host="127.0.0.1", port=port, user="x", database="x", timeout=2)
    except Exception as exc:
        return exc
    raise AssertionError("connected to a closed port")


async def _connect_timeout_in_driver() -> Exception:
    """What asyncpg raises when a server accepts the connection but never answers."""
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await asyncpg.connect(host="127.0.0.1", port=port, user="x", database="x", timeout=0.2, ssl=False)
    except Exception as exc:
        return exc
    finally:
        server.close()
    raise AssertionError("connected to a silent server")


DRIVER_FAILURES = {
    "InternalClientError": lambda: asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    ),
    "ProtocolError": lambda: asyncpg.exceptions.ProtocolError("unexpected message"),
    "InterfaceError": lambda: asyncpg.InterfaceError("cannot call Connection.fetchrow(): connection is closed"),
    "ConnectionDoesNotExistError": lambda: asyncpg.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"
    ),
    "PostgresConnectionError": lambda: asyncpg.PostgresConnectionError("connection failure"),
    "CannotConnectNowError": lambda: asyncpg.CannotConnectNowError("the database system is starting up"),
    "AdminShutdownError": lambda: asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    "CrashShutdownError": lambda: asyncpg.CrashShutdownError("terminating connection due to crash of another process"),
    "TooManyConnectionsError": lambda: asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    "ConnectionResetError": lambda: ConnectionResetError(104, "Connection reset by peer"),
    "ConnectionRefusedError": lambda: ConnectionRefusedError(111, "Connect call failed"),
    "OSError from the driver": _refused_by_driver,
    "TimeoutError connecting": _connect_timeout_in_driver,
    "PoolTimeout": lambda: sa_exc.TimeoutError("QueuePool limit reached"),
    "SQLAlchemy InternalError(InternalClientError)": lambda: _through_sqlalchemy(
        "InternalClientError", "cannot switch to state 12; another operation (2) is in progress"
    ),
    "SQLAlchemy InterfaceError": lambda: _through_sqlalchemy("InterfaceError", "connection is closed"),
    "SQLAlchemy OperationalError": lambda: _through_sqlalchemy("OperationalError", "server closed the connection"),
    "SQLAlchemy DBAPIError, connection invalidated": lambda: _through_sqlalchemy(
        "Error", "connection lost", invalidated=True
    ),
    # A standby reached as the primary: during a failover, before the new leader's promotion ends.
    "ReadOnlySQLTransactionError": lambda: asyncpg.exceptions.ReadOnlySQLTransactionError(
        "cannot execute INSERT in a read-only transaction"
    ),
    "SQLAlchemy InternalError(ReadOnlySQLTransactionError)": _read_only_through_sqlalchemy,
}


async def _failure(name: str) -> Exception:
    made = DRIVER_FAILURES[name]()
    return await made if inspect.isawaitable(made) else made


def _failing_app(name: str) -> FastAPI:
    """The service with three more routes failing with a fresh ``DRIVER_FAILURES[name]``: in the
    endpoint, in a dependency's teardown after the endpoint returned (as a COMMIT does), and while
    the body streams."""
    app = create_app(make_settings("postgresql://postgres@/nowhere?host=/nonexistent-socket-dir"))

    async def failing_teardown() -> AsyncIterator[None]:
        yield
        raise await _failure(name)

    @app.get("/fails")
    async def fails() -> None:
        raise await _failure(name)

    @app.get("/fails-after", dependencies=[Depends(failing_teardown, scope="function")])
    async def fails_after() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/fails-streaming")
    async def fails_streaming() -> StreamingResponse:
        async def rows() -> AsyncIterator[str]:
            yield "id,title\n"
            raise await _failure(name)

        return StreamingResponse(rows(), media_type="text/csv")

    return app


@pytest.mark.parametrize("name", list(DRIVER_FAILURES))
async def test_every_driver_failure_is_503_database_unavailable_with_retry_after(name):
    assert is_database_unavailable(await _failure(name))
    app = _failing_app(name)
    # The transport raises whatever the application lets escape: an unhandled exception fails here.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for path in ("/fails", "/fails-after"):
            r = await client.get(path)
            assert r.status_code == 503, (path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "database_unavailable"
            assert int(r.headers["Retry-After"]) >= 1
            assert r.headers["X-Request-ID"]


@pytest.mark.parametrize("name", ["InternalClientError", "SQLAlchemy InterfaceError", "OSError from the driver"])
async def test_a_failure_while_the_body_streams_cuts_the_response_off(name):
    """The status is already sent: the response is left unfinished (the server closes the
    connection), so the client never takes a cut-off export for a complete one."""
    app = _failing_app(name)
    messages: list[dict] = []
    request = {"type": "http", "method": "GET", "path": "/fails-streaming", "raw_path": b"/fails-streaming"}
    request |= {"query_string": b"", "headers": [], "scheme": "http", "server": ("test", 80), "root_path": ""}
    received = False

    async def receive() -> dict:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        messages.append(message)

    await asyncio.wait_for(app(request, receive, send), 5)  # returns: nothing escapes to the server
    assert messages[0]["type"] == "http.response.start" and messages[0]["status"] == 200
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert b"".join(m.get("body", b"") for m in bodies) == b"id,title\n"
    assert all(m.get("more_body", False) for m in bodies)  # never finished


def test_a_value_the_driver_refuses_is_a_bug_not_an_outage():
    refused = asyncpg.DataError("invalid input for query argument $1: 'x' (an integer is required)")
    assert not is_database_unavailable(refused)
    wrapped = _through_sqlalchemy("InterfaceError", str(refused))
    wrapped.orig.__cause__ = refused  # type: ignore[attr-defined]  # the adapter's error is raised from asyncpg's
    assert not is_database_unavailable(wrapped)


async def test_a_connection_that_failed_so_leaves_the_engines_pool(settings):
    """A statement failing with a driver error (here asyncpg's protocol confusion, raised where
    the driver would raise it) invalidates its connection: the pool never hands it out again."""
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    armed = False

    @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
    def confused(*_args: object) -> None:
        nonlocal armed
        if armed:
            armed = False
            raise asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")

    try:
        async with engine.connect() as conn:
            first = (await conn.get_raw_connection()).driver_connection
            armed = True
            with pytest.raises(Exception) as caught:
                await conn.execute(sa.text("SELECT 1"))
            assert is_database_unavailable(caught.value)
            assert conn.invalidated
        async with engine.connect() as conn:
            assert (await conn.get_raw_connection()).driver_connection is not first
            assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
        assert first.is_closed()
    finally:
        await engine.dispose()


async def test_a_commit_on_a_connection_lost_after_the_endpoint_returned_is_503(settings, db_url):
    """The request's transaction commits after the endpoint returned; its connection ended by the
    server in between (a restart, an administrator) gives 503, and the next request works."""
    app = create_app(settings)
    admin = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))

    @app.post("/write-then-lose-the-connection")
    async def write(session: SessionDep) -> dict[str, bool]:
        pid = (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        await session.execute(sa.text("CREATE TEMP TABLE t (x int)"))  # something to commit
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        return {"ok": True}

    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                r = await client.post("/write-then-lose-the-connection")
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "database_unavailable" and "Retry-After" in r.headers
                assert (
                    await client.get(f"/api/v1/areas/{world.AREA['G1'].id}", headers=auth("admin"))
                ).status_code == 200
    finally:
        await admin.close()
