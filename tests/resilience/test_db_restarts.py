"""PostgreSQL restarted again and again under load — ``pg_ctl stop -m fast`` and ``-m immediate``
in turn — is an outage, never an error: every answer is a success or a 503 problem+json
``database_unavailable`` with ``Retry-After`` (no 500, no request dying without an answer), reads
and writes resume after each restart, and every acknowledged write is in the database once.

The service runs in this process against a PostgreSQL of its own (the session's server is left
alone). Readers exercise both connection pools: the hot-read pool (GET issue, the caller of a
stats read) and the engine's (lists, areas, figures); writers create issues with
``Idempotency-Key`` and retry each until it is acknowledged. By default three restarts with a
few clients; ``MINQING_SLOW=1`` runs ten with more clients.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from app import dbserver
from app.main import create_app
from tests import conftest, world
from tests.conftest import auth, make_settings
from tests.issues.helpers import issue_body

SLOW = bool(os.environ.get("MINQING_SLOW"))
RESTARTS = 10 if SLOW else 3
READERS = 8 if SLOW else 4
WRITERS = 6 if SLOW else 3
ANSWER_WITHIN = 15.0  # a request without an answer by then counts as hung
RESUME_WITHIN = 30.0  # seconds after `pg_ctl start` returned

pytestmark = pytest.mark.slow


@dataclass
class Outage:
    data_dir: Path
    url: str
    sockets: str


@pytest.fixture
async def own_database() -> AsyncIterator[Outage]:
    data_dir = dbserver.scratch_dir("minqing-restarts-") / "pg"
    server, url = await asyncio.to_thread(dbserver.start, data_dir, cleanup="delete")
    try:
        await asyncio.to_thread(conftest._migrate, url)
        await conftest._load_world(url)
        yield Outage(data_dir, url, dbserver.socket_dir(server) or "")
    finally:
        if not (data_dir / "postmaster.pid").exists():  # a failed test may leave it stopped
            with suppress(Exception):
                await asyncio.to_thread(dbserver.start_again, data_dir, dbserver.socket_dir(server) or "")
        await asyncio.to_thread(server.cleanup)


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # any answer that is neither a success nor a proper 503
    unanswered: list[str] = field(default_factory=list)  # an exception out of the app, or a hang

    async def call(self, client: httpx.AsyncClient, method: str, url: str, **kw: object) -> httpx.Response | None:
        try:
            r = await asyncio.wait_for(client.request(method, url, **kw), ANSWER_WITHIN)  # type: ignore[arg-type]
        except Exception as exc:
            self.unanswered.append(f"{method} {url}: {type(exc).__name__}: {exc}"[:300])
            return None
        self.statuses[r.status_code] += 1
        if r.status_code >= 500 or r.status_code == 409:
            if not _retry_later(r):
                self.wrong.append(f"{method} {url}: {r.status_code} {r.text[:200]}")
        elif r.status_code not in (200, 201, 304):
            self.wrong.append(f"{method} {url}: {r.status_code} {r.text[:200]}")
        return r


def _retry_later(r: httpx.Response) -> bool:
    """A 503 problem+json ``database_unavailable``, or a write's retry meeting its own first attempt
    (409 ``idempotency_in_progress``), each with Retry-After."""
    if not r.headers.get("content-type", "").startswith("application/problem+json") or "retry-after" not in r.headers:
        return False
    expected = {503: "database_unavailable", 409: "idempotency_in_progress"}
    return r.json().get("code") == expected.get(r.status_code)


async def test_repeated_restarts_fast_and_immediate_answer_503_and_lose_no_acknowledged_write(own_database):
    db = own_database
    app = create_app(make_settings(db.url, db_pool_timeout=1, db_connect_timeout=2))
    tally = Tally()
    acked: dict[str, float] = {}  # idempotency key → when the write was acknowledged
    tried: list[str] = []
    read_ok: dict[str, float] = {}  # kind of read → when it last succeeded
    stop = asyncio.Event()
    prefix = f"restart-{uuid.uuid4().hex[:8]}"
    counter = itertools.count()

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            seeded = await client.post("/api/v1/issues", json=issue_body(), headers=auth("grid_worker"))
            assert seeded.status_code == 201, seeded.text
            reads = {
                "issue (hot-read pool)": f"/api/v1/issues/{seeded.json()['id']}",
                "issue list (engine)": "/api/v1/issues?limit=20",
                "area (engine)": f"/api/v1/areas/{world.AREA['G1'].id}",
                "stats (both pools)": "/api/v1/stats/overview",
            }

            async def reader(n: int) -> None:
                kinds = itertools.cycle(reads.items())
                for _ in range(n):  # readers start at different kinds
                    next(kinds)
                while not stop.is_set():
                    kind, url = next(kinds)
                    r = await tally.call(client, "GET", url, headers=auth("admin"))
                    if r is not None and r.status_code == 200:
                        read_ok[kind] = time.monotonic()
                    else:
                        await asyncio.sleep(0.05)

            async def writer() -> None:
                while not stop.is_set():
                    key = f"{prefix}-{next(counter):05d}"
                    tried.append(key)
                    body = issue_body(external_ref=key)
                    headers = {**auth("grid_worker"), "Idempotency-Key": key}
                    while True:  # the same logical request until it is acknowledged
                        r = await tally.call(client, "POST", "/api/v1/issues", json=body, headers=headers)
                        if r is not None and r.status_code == 201:
                            acked[key] = time.monotonic()
                            break
                        if stop.is_set():
                            break
                        await asyncio.sleep(0.05)

            tasks = [asyncio.create_task(reader(n)) for n in range(READERS)]
            tasks += [asyncio.create_task(writer()) for _ in range(WRITERS)]
            resumed: list[tuple[str, float | None, bool]] = []  # mode, first write after, every read back
            try:
                for i in range(RESTARTS):
                    mode = ("fast", "immediate")[i % 2]
                    await asyncio.sleep(0.5)  # under load with the database up
                    await asyncio.to_thread(dbserver.pg_ctl, db.data_dir, "-w", "stop", "-m", mode)
                    await asyncio.sleep(0.5)  # under load with the database down
                    await asyncio.to_thread(dbserver.start_again, db.data_dir, db.sockets)
                    up_at = time.monotonic()
                    for _ in range(int(RESUME_WITHIN / 0.1)):  # until a write and each kind of read succeeded
                        if any(t > up_at for t in acked.values()) and all(read_ok.get(k, 0) > up_at for k in reads):
                            break
                        await asyncio.sleep(0.1)
                    back = [t for t in acked.values() if t > up_at]
                    reads_back = all(read_ok.get(k, 0) > up_at for k in reads)
                    resumed.append((mode, round(min(back) - up_at, 2) if back else None, reads_back))
            finally:
                stop.set()
                await asyncio.gather(*tasks)

    conn = await asyncpg.connect(db.url)
    try:
        rows = await conn.fetch(
            "SELECT external_ref, count(*) AS n FROM issues WHERE external_ref LIKE $1 GROUP BY external_ref",
            prefix + "-%",
        )
    finally:
        await conn.close()
    stored = {r["external_ref"]: r["n"] for r in rows}

    print(f"\nrestarts {resumed}; statuses {dict(tally.statuses)}; acknowledged {len(acked)} of {len(tried)}")
    assert tally.unanswered == [], tally.unanswered[:5]
    assert tally.wrong == [], tally.wrong[:5]
    assert tally.statuses[503] > 0  # the outages were seen
    assert len(resumed) == RESTARTS
    assert all(seconds is not None and reads for _, seconds, reads in resumed), resumed  # back after every restart
    assert [k for k in acked if stored.get(k) != 1] == []  # every acknowledged write is there, once
    assert [k for k, n in stored.items() if n > 1] == []  # and no retried write is there twice
