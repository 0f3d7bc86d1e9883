"""Behind PgBouncer in transaction mode: every transaction may run on another server connection, and
a server connection serves many clients in turn. The service relies on no session state outside
a transaction (no startup settings, no statement cache, no LISTEN through the pooler), so the
closed loop of an issue, its lists, stats and the hot-read pool all work through it — with a pool
of two server connections shared by many concurrent requests.

PgBouncer comes from Debian (``apt-get install pgbouncer``; ``make test`` installs it where it can);
without it the test is skipped. It listens on the loopback only and is stopped at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from app.main import create_app
from tests.conftest import auth, make_settings
from tests.issues.helpers import act, create
from tests.world import UNIT_ID

pytestmark = [pytest.mark.pgbouncer, pytest.mark.timeout(180)]

PGBOUNCER = shutil.which("pgbouncer") or next(
    (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer(templates: str) -> Iterator[tuple[str, int]]:
    """A PgBouncer in transaction mode in front of the session's PostgreSQL: (host, port)."""
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    target = urlsplit(templates)
    query = parse_qs(target.query)
    host = query.get("host", [target.hostname or "127.0.0.1"])[0]
    port = target.port or int(query.get("port", ["5432"])[0])
    workdir = Path(tempfile.mkdtemp(prefix="minqing-pgbouncer-"))
    listen = _free_port()
    (workdir / "users.txt").write_text('"postgres" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 500
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    user = None
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        user = "embedded_postgres" if _user_exists("embedded_postgres") else "postgres"
        shutil.chown(workdir, user)
        for f in workdir.iterdir():
            shutil.chown(f, user)
    proc = subprocess.Popen([PGBOUNCER, str(workdir / "pgbouncer.ini")], user=user, stderr=subprocess.PIPE)
    try:
        for _ in range(100):  # at most ten seconds to listen
            if proc.poll() is not None:
                pytest.fail(f"pgbouncer exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield "127.0.0.1", listen
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
async def pooled(pgbouncer: tuple[str, int], db_url: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    host, port = pgbouncer
    database = urlsplit(db_url).path.lstrip("/")
    through = f"postgresql://postgres@{host}:{port}/{database}"
    settings = make_settings(
        through,
        db_pooler="pgbouncer",
        database_direct_url=db_url,  # LISTEN (the event hub) goes around the pooler
        # A replica URL through the pooler too: the lag probe and the WAL position after each write run
        # there (it is the primary itself, no standby, so it is found out and never read from).
        database_replica_urls=[through],
        db_statement_timeout_ms=15_000,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield app, client


async def test_the_closed_loop_lists_stats_and_hot_reads_work_through_pgbouncer(pooled):
    app, client = pooled
    issue = await create(client)
    issue = await act(client, issue, "accept", "community_admin", if_match=issue["version"])
    issue = await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})
    issue = await act(client, issue, "start", "department")
    issue = await act(client, issue, "resolve", "department", {"outcome": "solved", "notes": "已更换灯泡"})
    issue = await act(client, issue, "verify", "grid_worker")
    closed = await act(client, issue, "close", "community_admin", {"rating": "satisfied", "solved": True})
    assert closed["status"] == "closed"

    # Many requests at once over two server connections: statements of different clients share them.
    reads = [
        (f"/api/v1/issues/{issue['id']}", "grid_worker"),  # the hot-read pool
        ("/api/v1/issues?limit=20", "grid_worker"),  # a read session (autocommit)
        ("/api/v1/issues?status=closed&limit=5", "community_admin"),
        ("/api/v1/stats/overview", "street_admin"),
        ("/api/v1/stats/areas", "street_admin"),
        ("/api/v1/stats/overdue", "viewer"),
        (f"/api/v1/issues/{issue['id']}/events", "grid_worker"),
    ]
    answers = await asyncio.gather(*(client.get(url, headers=auth(who)) for url, who in reads * 6))
    assert [r.status_code for r in answers] == [200] * len(answers), [
        r.text[:200] for r in answers if r.status_code != 200
    ]
    listed = {i["id"] for i in answers[2].json()["items"]}
    assert issue["id"] in listed
    overview = answers[3].json()
    assert overview["issues"]["total"] >= 1

    # A stats poll answered 304 from its ETag, through the pooler's hot-read path.
    first = await client.get("/api/v1/stats/overview", headers=auth("street_admin"))
    again = await client.get(
        "/api/v1/stats/overview", headers={**auth("street_admin"), "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304

    assert app.state.replicas.usable() == []  # the "replica" is no standby: skipped


async def test_the_statement_timeout_holds_in_every_transaction_behind_pgbouncer(pooled):
    """Not a startup parameter behind the pooler (PgBouncer refuses it), so each transaction sets it."""
    app, _client = pooled
    async with app.state.sessionmaker() as session, session.begin():
        assert await session.scalar(sa.text("SHOW statement_timeout")) == "15s"
    async with app.state.read_sessionmaker() as session:
        assert await session.scalar(sa.text("SHOW statement_timeout")) == "15s"
