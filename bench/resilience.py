"""Resilience rig: a real multi-worker server on loopback against its own PostgreSQL, under load,
while the database restarts or workers are killed; then every acknowledged write is checked.

    python -m bench.resilience all --seconds 20        # full runs, figures as JSON lines
    python -m bench.resilience restart|crash|races
    python -m bench.resilience restart --restarts 10   # PostgreSQL stopped -m fast / -m immediate in turn

Everything is bounded: one server on 127.0.0.1, a fixed number of clients, a fixed duration, and
the server and database are stopped at the end. ``tests/resilience`` runs short versions.

The write under test is pluggable (:class:`Operation`). The default, :class:`CreateUnit`, is
idempotent by key today: each logical request has its own unit ``code``, and a retry whose first
attempt did commit gets 409 ``unit_code_taken``, which the client counts as "already applied".
To test issue creation instead, write an ``Operation`` whose ``attempt`` posts to
``/api/v1/issues`` with ``Idempotency-Key: <key>`` (201 or the replayed answer = applied) and whose
``count_applied`` counts issues per idempotency key, and pass it to :func:`restart_under_load` /
:func:`crash_under_load` (see ``OPERATIONS`` at the bottom and ``tests/resilience``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import psutil

from bench.harness import ROOT, free_port

JWT_SECRET = "resilience-" + "s" * 40
CLIENT_TIMEOUT = 10.0
SERVER_ERROR_MARKS = ("Exception in ASGI application", "Task exception was never retrieved", "unhandled error")


# --- the stack: PostgreSQL + `minqing serve --workers N` ---------------------------------------


@dataclass
class Stack:
    base_url: str
    db_url: str
    data_dir: Path
    socket_dir: str
    server: subprocess.Popen
    token: str
    log: Path | None = None

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log is not None else 0

    def server_errors(self, since: int) -> dict[str, int]:
        """What the server logged as unhandled since byte ``since`` of its log: a 500, an
        exception that escaped to uvicorn, a task that failed unseen."""
        if self.log is None:
            return {}
        with open(self.log, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        found = {p: text.count(p) for p in SERVER_ERROR_MARKS}
        return {p: n for p, n in found.items() if n}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def workers(self) -> list[psutil.Process]:
        """The uvicorn worker processes (children of the supervisor)."""
        try:
            kids = psutil.Process(self.server.pid).children()
        except psutil.Error:
            return []
        workers = []
        for kid in kids:
            # A worker just killed is a zombie until the supervisor reaps it: not a worker any more.
            try:
                if kid.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(kid.cmdline()):
                    workers.append(kid)
            except psutil.Error:
                continue
        return workers

    def stop_database(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m fast`` (sessions ended, a clean shutdown) or ``-m immediate`` (a crash)."""
        from app import dbserver

        dbserver.pg_ctl(self.data_dir, "-w", "stop", "-m", mode)

    def start_database(self) -> None:
        from app import dbserver

        dbserver.start_again(self.data_dir, self.socket_dir)


def _prepare_database(url: str) -> None:
    from alembic import command

    from app.migrations_state import alembic_config

    command.upgrade(alembic_config(url), "head")

    async def load() -> None:
        from app.config import Settings
        from app.db import create_engine, session_factory
        from tests import world

        engine = create_engine(Settings(database_url=url), pool_size=1, max_overflow=0)
        try:
            async with session_factory(engine)() as session, session.begin():
                await world.load(session)
        finally:
            await engine.dispose()

    asyncio.run(load())


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        with suppress(httpx.HTTPError):
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {timeout} s:\n{log.read_text()[-3000:]}")


@contextmanager
def stack(workers: int = 2) -> Iterator[Stack]:
    """PostgreSQL in a temp dir (migrated, test world loaded) and the API on a free loopback port."""
    from app import dbserver

    tmp = dbserver.scratch_dir("minqing-resilience-")
    server, db_url = dbserver.start(tmp / "pg", cleanup="delete")
    try:
        with service(db_url, tmp, workers=workers, data_dir=tmp / "pg", socket_dir=dbserver.socket_dir(server)) as s:
            yield s
    finally:
        with suppress(Exception):  # the database may be stopped already
            server.cleanup()


@contextmanager
def service(
    db_url: str, tmp: Path, *, workers: int = 2, data_dir: Path | None = None, socket_dir: str | None = None
) -> Iterator[Stack]:
    """``minqing serve --workers N`` on a free loopback port against ``db_url`` (migrated and the
    test world loaded first); its log in ``tmp``. Stopped at the end."""
    from app.auth.security import issue_token
    from tests import world

    proc: subprocess.Popen | None = None
    try:
        _prepare_database(db_url)
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": db_url,
            "MINQING_ENV": "dev",
            "MINQING_JWT_SECRET": JWT_SECRET,
            "MINQING_DATA_KEY": base64.b64encode(b"r" * 32).decode(),
            "MINQING_BLIND_INDEX_KEY": base64.b64encode(b"i" * 32).decode(),
            "MINQING_ACCESS_LOG": "false",
            "MINQING_LOG_JSON": "false",
            "MINQING_DB_POOL_TIMEOUT": "2",
            "MINQING_DB_CONNECT_TIMEOUT": "2",
            "MINQING_RUN_WORKER_IN_PROCESS": "false",
        }
        cmd = [sys.executable, "-c", "from app.cli import app; app()", "serve", "--no-migrate"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        log = tmp / "server.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(proc, base, log)
        admin = world.USER["admin"]
        token, _ = issue_token(
            user_id=admin.id, role=admin.role.value, secret=JWT_SECRET, ttl_seconds=3600, issuer="minqing"
        )
        yield Stack(base, db_url, data_dir or tmp, socket_dir or "", proc, token, log)
    finally:
        if proc is not None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


# --- the write under test ------------------------------------------------------------------------


class Operation(Protocol):
    """One kind of write, identified per logical request by ``key`` (sent on every retry)."""

    name: str

    def new_key(self) -> str: ...

    async def attempt(self, client: httpx.AsyncClient, key: str) -> httpx.Response: ...

    def applied(self, response: httpx.Response) -> bool:
        """True when the response acknowledges the write (first time or as a replay)."""
        ...

    async def count_applied(self, db_url: str, keys: list[str]) -> dict[str, int]:
        """How many rows each key produced, read straight from the database."""
        ...


class CreateUnit:
    """``POST /api/v1/units`` with a unique ``code`` per logical request (409 on replay = applied)."""

    name = "units_create"

    def __init__(self) -> None:
        self.prefix = "R" + uuid.uuid4().hex[:6].upper()
        self.counter = 0
        from tests import world

        self.area_id = str(world.AREA["S"].id)

    def new_key(self) -> str:
        self.counter += 1
        return f"{self.prefix}{self.counter:06d}"

    async def attempt(self, client: httpx.AsyncClient, key: str) -> httpx.Response:
        body = {"code": key, "name": f"韧性测试单位 {key}", "kind": "other", "area_id": self.area_id}
        return await client.post("/api/v1/units", json=body)

    def applied(self, response: httpx.Response) -> bool:
        if response.status_code == 201:
            return True
        return response.status_code == 409 and _code(response) == "unit_code_taken"

    async def count_applied(self, db_url: str, keys: list[str]) -> dict[str, int]:
        conn = await asyncpg.connect(db_url)
        try:
            rows = await conn.fetch("SELECT code, count(*) AS n FROM units WHERE code = ANY($1) GROUP BY code", keys)
        finally:
            await conn.close()
        found = {r["code"]: r["n"] for r in rows}
        return {k: found.get(k, 0) for k in keys}


class CreateIssue:
    """``POST /api/v1/issues`` with an ``Idempotency-Key`` per logical request: a retry after a lost
    response (a killed worker, a restart) replays the first answer instead of filing the issue twice.
    The key also travels as ``external_ref`` so the check can count issues per logical request."""

    name = "issues_create"

    def __init__(self) -> None:
        self.prefix = "rs-" + uuid.uuid4().hex[:8]
        self.counter = 0

    def new_key(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter:06d}"

    async def attempt(self, client: httpx.AsyncClient, key: str) -> httpx.Response:
        body = {
            "title": "韧性测试:路灯不亮",
            "description": "东门口两盏路灯连续三晚不亮。",
            "kind": "complaint",
            "category": "lighting",
            "channel": "patrol",
            "location": {"lat": 34.05, "lng": 108.02},
            "external_ref": key,
        }
        return await client.post("/api/v1/issues", json=body, headers={"Idempotency-Key": key})

    def applied(self, response: httpx.Response) -> bool:
        return response.status_code == 201

    async def count_applied(self, db_url: str, keys: list[str]) -> dict[str, int]:
        conn = await asyncpg.connect(db_url)
        try:
            rows = await conn.fetch(
                "SELECT external_ref, count(*) AS n FROM issues WHERE external_ref = ANY($1) GROUP BY external_ref",
                keys,
            )
        finally:
            await conn.close()
        found = {r["external_ref"]: r["n"] for r in rows}
        return {k: found.get(k, 0) for k in keys}


def _code(response: httpx.Response) -> str | None:
    try:
        return response.json().get("code")
    except ValueError:
        return None


# --- bookkeeping -----------------------------------------------------------------------------


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    bad_5xx: list[str] = field(default_factory=list)  # a 5xx that is not a 503 problem+json
    slowest: float = 0.0

    def record(self, response: httpx.Response, elapsed: float) -> None:
        self.statuses[response.status_code] += 1
        self.slowest = max(self.slowest, elapsed)
        if response.status_code >= 500:
            problem = response.headers.get("content-type", "").startswith("application/problem+json")
            if response.status_code != 503 or not problem or _code(response) != "database_unavailable":
                self.bad_5xx.append(f"{response.status_code} {response.text[:200]}")

    def error(self, exc: Exception, elapsed: float) -> None:
        self.transport_errors[type(exc).__name__] += 1
        self.slowest = max(self.slowest, elapsed)

    def figures(self) -> dict[str, Any]:
        return {
            "requests": sum(self.statuses.values()) + sum(self.transport_errors.values()),
            "statuses": dict(sorted(self.statuses.items())),
            "transport_errors": dict(self.transport_errors),
            "bad_5xx": len(self.bad_5xx),
            "slowest_s": round(self.slowest, 2),
        }


async def _timed(tally: Tally, op: Operation, client: httpx.AsyncClient, key: str) -> httpx.Response | None:
    start = time.monotonic()
    try:
        response = await op.attempt(client, key)
    except httpx.HTTPError as exc:
        tally.error(exc, time.monotonic() - start)
        return None
    tally.record(response, time.monotonic() - start)
    return response


def _client(s: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=s.base_url, headers=s.headers, timeout=CLIENT_TIMEOUT)


# --- scenario: the database restarts under load, again and again --------------------------------

RESTART_MODES = ("fast", "immediate")


async def restart_under_load(
    s: Stack,
    op: Operation,
    *,
    clients: int = 8,
    seconds: float = 6.0,
    outage: float = 1.5,
    restarts: int = 4,
    readers: int | None = None,
) -> dict[str, Any]:
    """Clients write and read while PostgreSQL is stopped — ``-m fast`` and ``-m immediate`` in
    turn, ``restarts`` times — and started again. Reads cover both connection pools (GET issue on
    the hot-read pool; lists, areas and figures on the engine's). After each start the run waits
    (at most 30 s) until a write is acknowledged again."""
    from tests import world

    tally = Tally()
    acked: list[str] = []
    ack_times: list[float] = []
    stop = asyncio.Event()
    issue_ids: list[str] = []

    async def writer() -> None:
        async with _client(s) as client:
            while not stop.is_set():
                key = op.new_key()
                response = await _timed(tally, op, client, key)
                if response is not None and op.applied(response):
                    acked.append(key)
                    ack_times.append(time.monotonic())
                elif response is None or response.status_code == 503:
                    await asyncio.sleep(0.05)

    async def reader(n: int) -> None:
        urls = ["/api/v1/issues?limit=20", "/api/v1/stats/overview", f"/api/v1/areas/{world.AREA['G1'].id}"]
        i = n
        async with _client(s) as client:
            while not stop.is_set():
                i += 1
                url = urls[i % len(urls)]
                if i % 2 and issue_ids:
                    url = f"/api/v1/issues/{random.choice(issue_ids)}"
                start = time.monotonic()
                try:
                    response = await client.get(url)
                except httpx.HTTPError as exc:
                    tally.error(exc, time.monotonic() - start)
                    continue
                tally.record(response, time.monotonic() - start)
                if response.status_code == 200 and url.startswith("/api/v1/issues?"):
                    issue_ids[:] = [item["id"] for item in response.json()["items"]][:20]
                elif response.status_code == 503:
                    await asyncio.sleep(0.05)

    log_from = s.log_size()
    readers = clients // 2 if readers is None else readers
    tasks = [asyncio.create_task(writer()) for _ in range(clients)]
    tasks += [asyncio.create_task(reader(n)) for n in range(readers)]
    between = seconds / (restarts + 1)
    rounds: list[dict[str, Any]] = []
    for i in range(restarts):
        mode = RESTART_MODES[i % len(RESTART_MODES)]
        await asyncio.sleep(between)
        down_at = time.monotonic()
        await asyncio.to_thread(s.stop_database, mode)
        await asyncio.sleep(outage)
        await asyncio.to_thread(s.start_database)
        up_at = time.monotonic()
        for _ in range(300):  # at most 30 s for the first write after the start
            if ack_times and ack_times[-1] > up_at:
                break
            await asyncio.sleep(0.1)
        recovered = min((t for t in ack_times if t > up_at), default=None)
        rounds.append(
            {
                "mode": mode,
                "outage_s": round(up_at - down_at, 2),
                # from the database answering again (pg_ctl start -w returned) to the next applied write
                "recovery_s": round(recovered - up_at, 2) if recovered else None,
            }
        )
    await asyncio.sleep(between)
    stop.set()
    await asyncio.gather(*tasks)

    counts = await op.count_applied(s.db_url, acked)
    recoveries = [r["recovery_s"] for r in rounds]
    return {
        "scenario": "restart",
        "operation": op.name,
        **tally.figures(),
        "acknowledged": len(acked),
        "acknowledged_missing": sorted(k for k, n in counts.items() if n != 1),
        "restarts": rounds,
        "outage_s": max((r["outage_s"] for r in rounds), default=None),
        # the slowest recovery of all restarts (None: writes did not resume after one of them)
        "recovery_s": None if None in recoveries or not recoveries else max(recoveries),
        "server_errors": s.server_errors(log_from),
        "bad_5xx_samples": tally.bad_5xx[:3],
    }


# --- scenario: workers are killed under load ----------------------------------------------------


async def crash_under_load(
    s: Stack, op: Operation, *, clients: int = 6, seconds: float = 6.0, kills: int = 2, retry_for: float = 30.0
) -> dict[str, Any]:
    """Clients write and retry every request until it is applied, while workers get SIGKILL."""
    tally = Tally()
    keys: list[str] = []
    acked: set[str] = set()
    retries = 0
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal retries
        async with _client(s) as client:
            while not stop.is_set():
                key = op.new_key()
                keys.append(key)
                give_up = time.monotonic() + retry_for
                while time.monotonic() < give_up:
                    response = await _timed(tally, op, client, key)
                    if response is not None and op.applied(response):
                        acked.add(key)
                        break
                    retries += 1
                    await asyncio.sleep(0.05)

    initial_workers = len(s.workers())
    tasks = [asyncio.create_task(writer()) for _ in range(clients)]
    killed: list[int] = []
    for _ in range(kills):
        await asyncio.sleep(seconds / (kills + 1))
        workers = s.workers()
        if workers:
            victim = random.choice(workers)
            with suppress(psutil.Error):
                victim.send_signal(signal.SIGKILL)
                killed.append(victim.pid)
    await asyncio.sleep(seconds / (kills + 1))
    stop.set()
    await asyncio.gather(*tasks)
    # The supervisor replaces a killed worker once it notices; starting one takes a second or two.
    for _ in range(150):  # at most 30 s
        if len(s.workers()) >= initial_workers:
            break
        await asyncio.sleep(0.2)

    counts = await op.count_applied(s.db_url, keys)
    return {
        "scenario": "crash",
        "operation": op.name,
        **tally.figures(),
        "logical_requests": len(keys),
        "acknowledged": len(acked),
        "retries": retries,
        "workers_killed": len(killed),
        "workers_now": len(s.workers()),
        "not_acknowledged": sorted(set(keys) - acked),
        "not_exactly_once": sorted(k for k, n in counts.items() if n != 1),
        "bad_5xx_samples": tally.bad_5xx[:3],
    }


# --- scenario: conflicting conditional updates -------------------------------------------------


async def conflicting_updates(s: Stack, *, clients: int = 8, seconds: float = 4.0) -> dict[str, Any]:
    """Many clients PATCH the same areas with If-Match: exactly one success per version."""
    from tests import world

    area_ids = [str(world.AREA[k].id) for k in ("G1", "G2", "M1")]
    tally = Tally()
    wins: list[tuple[str, int, int, str]] = []  # area, If-Match version, new version, name
    initial: dict[str, int] = {}
    async with _client(s) as client:
        for area_id in area_ids:
            initial[area_id] = int((await client.get(f"/api/v1/areas/{area_id}")).headers["etag"].strip('"'))
    deadline = time.monotonic() + seconds

    async def editor(n: int) -> None:
        i = 0
        async with _client(s) as client:
            while time.monotonic() < deadline:
                i += 1
                area_id = random.choice(area_ids)
                current = await client.get(f"/api/v1/areas/{area_id}")
                version = current.headers["etag"]
                name = f"竞争 {n}-{i}"
                start = time.monotonic()
                r = await client.patch(f"/api/v1/areas/{area_id}", json={"name": name}, headers={"If-Match": version})
                tally.record(r, time.monotonic() - start)
                if r.status_code == 200:
                    wins.append((area_id, int(version.strip('"')), int(r.headers["etag"].strip('"')), name))

    await asyncio.gather(*(editor(n) for n in range(clients)))

    problems: list[str] = []
    async with _client(s) as client:
        for area_id in area_ids:
            mine = [w for w in wins if w[0] == area_id]
            from_versions = Counter(w[1] for w in mine)
            doubled = {v: n for v, n in from_versions.items() if n > 1}
            if doubled:
                problems.append(f"{area_id}: several updates accepted from the same version {doubled}")
            final = await client.get(f"/api/v1/areas/{area_id}")
            version = int(final.headers["etag"].strip('"'))
            if version != initial[area_id] + len(mine):
                problems.append(f"{area_id}: version {version}, expected {initial[area_id]} + {len(mine)} successes")
            if mine:
                last = max(mine, key=lambda w: w[2])
                if final.json()["name"] != last[3]:
                    problems.append(f"{area_id}: final name {final.json()['name']!r}, last accepted {last[3]!r}")
    return {
        "scenario": "races",
        **tally.figures(),
        "accepted": len(wins),
        "problems": problems,
    }


OPERATIONS: dict[str, type] = {"issues_create": CreateIssue, "units_create": CreateUnit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["restart", "crash", "races", "all"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--restarts", type=int, default=6, help="database restarts, fast and immediate in turn")
    parser.add_argument("--operation", choices=sorted(OPERATIONS), default="issues_create")
    args = parser.parse_args()
    with stack() as s:
        runs: list[Any] = []
        if args.scenario in ("races", "all"):
            runs.append(conflicting_updates(s, clients=args.clients, seconds=args.seconds))
        if args.scenario in ("crash", "all"):
            op = OPERATIONS[args.operation]()
            runs.append(crash_under_load(s, op, clients=args.clients, seconds=args.seconds, kills=args.kills))
        if args.scenario in ("restart", "all"):
            op = OPERATIONS[args.operation]()
            runs.append(restart_under_load(s, op, clients=args.clients, seconds=args.seconds, restarts=args.restarts))
        for run in runs:
            print(json.dumps(asyncio.run(run), ensure_ascii=False))


if __name__ == "__main__":
    main()
