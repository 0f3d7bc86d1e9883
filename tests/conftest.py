"""Test harness: a real PostgreSQL (embedded, or TEST_DATABASE_URL), real migrations, and a fresh
database per test copied from a migrated template that already holds the small test world."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher, profiles

from app.auth import security
from app.auth.security import issue_token
from app.config import Settings
from app.kit import clock
from tests import world

JWT_SECRET = "test-secret-" + "x" * 32
TEMPLATE_EMPTY = "minqing_tpl_empty"
TEMPLATE_WORLD = "minqing_tpl_world"


def _with_db(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


# argon2 with the service's parameters (64 MiB, three passes) costs 0.1–0.9 s of CPU per sign-in, new
# password or unknown username, and the fuzzing alone sends hundreds of those. The suite hashes and
# verifies with the cheapest parameters instead; tests/auth/test_password_hashing.py checks that
# the service itself uses its own (in a fresh interpreter) and renews a hash to them on sign-in.
CHEAP_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    with mock.patch.multiple(security, _hasher=CHEAP_HASHER, _DUMMY_HASH=CHEAP_HASHER.hash("minqing-dummy-password")):
        yield


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a maintenance database on a real PostgreSQL server for the whole session."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield _plain(external)
        return
    from app import dbserver

    tmp = dbserver.scratch_dir("minqing-test-")
    server, _ = dbserver.start(tmp / "pg", cleanup="delete", database="postgres")
    dbserver.tune_for_tests(server)
    yield _plain(dbserver.url_of(server, "postgres"))
    server.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "env": "test",
        "jwt_secret": JWT_SECRET,
        "access_log": False,
        "log_json": False,
        "db_pool_size": 5,
        "db_max_overflow": 25,
        "data_key": base64.b64encode(b"k" * 32).decode(),
        "blind_index_key": base64.b64encode(b"b" * 32).decode(),
        "webhook_allow_loopback": True,
        "run_worker_in_process": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def _recreate(admin: asyncpg.Connection, name: str, template: str | None = None) -> None:
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    tpl = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    await admin.execute(f'CREATE DATABASE "{name}"{tpl}')


def _migrate(url: str) -> None:
    from alembic import command

    from app.migrations_state import alembic_config

    command.upgrade(alembic_config(url), "head")


async def _load_world(url: str) -> None:
    from app.db import create_engine, session_factory

    engine = create_engine(make_settings(url), pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session, session.begin():
            await world.load(session)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def templates(pg_server_url: str) -> str:
    """Build the two template databases once: migrated-empty and migrated-with-world."""

    async def build() -> None:
        admin = await asyncpg.connect(pg_server_url)
        try:
            await _recreate(admin, TEMPLATE_EMPTY)
        finally:
            await admin.close()
        await asyncio.to_thread(_migrate, _with_db(pg_server_url, TEMPLATE_EMPTY))
        admin = await asyncpg.connect(pg_server_url)
        try:
            await _recreate(admin, TEMPLATE_WORLD, TEMPLATE_EMPTY)
        finally:
            await admin.close()
        await _load_world(_with_db(pg_server_url, TEMPLATE_WORLD))

    asyncio.run(build())
    return pg_server_url


async def _fresh_db(server_url: str, template: str) -> str:
    name = "t_" + uuid.uuid4().hex[:16]
    admin = await asyncpg.connect(server_url)
    try:
        await _recreate(admin, name, template)
    finally:
        await admin.close()
    return name


async def _drop_db(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db_url(templates: str) -> AsyncIterator[str]:
    """A fresh database holding the test world; dropped afterwards."""
    name = await _fresh_db(templates, TEMPLATE_WORLD)
    yield _with_db(templates, name)
    await _drop_db(templates, name)


@pytest.fixture
async def empty_db_url(templates: str) -> AsyncIterator[str]:
    """A fresh database with no tables at all (for migration tests)."""
    name = "t_" + uuid.uuid4().hex[:16]
    admin = await asyncpg.connect(templates)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_db(templates, name)
    await _drop_db(templates, name)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    from app.main import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


# Tests move the service's clock (a day in March, a claim fourteen days on), and tokens are checked
# against that clock: the suite's tokens are issued before, and expire after, any instant a test
# moves it to. Tests of expiry mint their own tokens.
TOKENS_ISSUED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
TOKENS_VALID_SECONDS = 150 * 365 * 86_400


def token_for(user_key: str) -> str:
    spec = world.USER[user_key]
    with mock.patch.object(clock, "now", lambda: TOKENS_ISSUED_AT):
        token, _ = issue_token(
            user_id=spec.id,
            role=spec.role.value,
            secret=JWT_SECRET,
            ttl_seconds=TOKENS_VALID_SECONDS,
            issuer="minqing",
        )
    return token


def auth(user_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user_key)}"}


async def deactivate(client: httpx.AsyncClient, user_key: str) -> None:
    """Deactivate a test user through the API, as the district admin."""
    uid = world.USER[user_key].id
    current = await client.get(f"/api/v1/users/{uid}", headers=auth("admin"))
    r = await client.patch(
        f"/api/v1/users/{uid}",
        json={"is_active": False},
        headers={**auth("admin"), "If-Match": current.headers["ETag"]},
    )
    assert r.status_code == 200, r.text


@asynccontextmanager
async def row_held(database_url: str, table: str, row_id: uuid.UUID) -> AsyncIterator[None]:
    """Lock one row from outside the app (``FOR UPDATE``) until the block ends, to force interleavings."""
    conn = await asyncpg.connect(_plain(database_url))
    try:
        async with conn.transaction():
            await conn.execute(f'SELECT 1 FROM "{table}" WHERE id = $1 FOR UPDATE', row_id)
            yield
    finally:
        await conn.close()


@pytest.fixture
def one_window(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    """Holds the service's clock still, one second into the current minute, for a test that counts
    hits against a fixed window: windows are aligned on the minute, and a test whose requests
    straddled a boundary would see its count start again half-way. A test moves on to the next
    window by setting ``clock.now`` itself."""
    pinned = clock.now().replace(second=1, microsecond=0)
    monkeypatch.setattr(clock, "now", lambda: pinned)
    return pinned


@pytest.fixture
def as_user() -> object:
    """``as_user("grid_worker")`` → headers for that test-world user."""
    return auth


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``MINQING_SLOW=1`` runs the long versions of the fuzz and resilience tests: the default
    timeout (pyproject.toml, meant to fail a hang fast) would cut them short."""
    if not os.environ.get("MINQING_SLOW"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(3 * 3600))
