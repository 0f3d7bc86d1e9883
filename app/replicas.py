"""Read replicas: PostgreSQL hot standbys (streaming replication) for the reads that tolerate a
bounded lag — stats, lists, exports, the sync feed and Open311's reads.

Replication is PostgreSQL's own; this module only decides, per request, which server a read goes
to. The rules:

- **Which reads.** A route reads from a replica by taking :data:`ReplicaSessionDep` (or
  :func:`replica_session`, :func:`replica_pool`, :func:`read_node`) instead of the primary's
  session. Writes, reads that must see them (a conditional write's current version, the caller's
  account on every other route), LISTEN, the outbox worker and whatever needs
  ``pg_current_xact_id()`` stay on the primary. The sync feed's "settled" horizon,
  ``pg_snapshot_xmin(pg_current_snapshot())``, works on a standby: a transaction whose commit the
  standby has not replayed yet counts as running there, so no change is skipped.
- **Lag.** Each process probes every ``database_replica_probe_seconds``: the primary's
  ``pg_current_wal_lsn()`` (kept with the time it was read) and each replica's
  ``pg_last_wal_replay_lsn()``. A replica's lag is the age of the oldest primary position it has
  not replayed — 0 when it has replayed everything, however idle the primary is — measured on this
  process's clock only. A replica further behind than ``database_replica_max_lag_seconds``, or not
  probed successfully lately, is skipped.
- **Read your writes.** After a request's transaction commits, the response carries the primary's
  WAL insert position (``X-Minqing-Lsn: 0/3000148``, and the same in a ``minqing_lsn`` cookie that
  lives ``database_replica_sticky_seconds``). A read that sends it back (the header, or the cookie
  a browser keeps) is only served by a replica that has replayed at least that far — asked directly
  when the last probe is not enough — and otherwise by the primary. The value is a position in
  the WAL, nothing secret; a malformed header is 422 ``invalid_lsn``, a malformed cookie is ignored.
- **Fallback.** A replica that is down, not a standby (promoted, or pointed at the wrong server) or
  fails a read is marked down at once and the read is served by the primary; the probe brings it
  back. Without replicas configured every read is the primary's, with no extra round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.db import (
    ReadPool,
    abandon,
    create_engine,
    is_database_unavailable,
    read_session_factory,
    session_factory,
)
from app.errors import ValidationFailed, field_error
from app.observability import REPLICA_LAG, REPLICA_READS, REPLICA_UP

log = logging.getLogger("minqing.replicas")

LSN_HEADER = "X-Minqing-Lsn"
LSN_COOKIE = "minqing_lsn"
_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def parse_lsn(text: str | None) -> int | None:
    """``"16/B374D848"`` → its position as an integer; None when ``text`` is not an LSN."""
    if text is None:
        return None
    found = _LSN.fullmatch(text.strip())
    if found is None:
        return None
    return (int(found.group(1), 16) << 32) | int(found.group(2), 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass(eq=False)
class Node:
    """One server the reads may go to: the primary, or a replica with what the probe knows of it."""

    name: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    read_pool: ReadPool
    is_primary: bool = False
    up: bool = False
    replay_lsn: int = 0
    lag: float = float("inf")
    probed_at: float = float("-inf")  # monotonic time of the last successful probe

    def note_replayed(self, lsn: int) -> None:
        self.replay_lsn = max(self.replay_lsn, lsn)


class ReplicaReadPool(ReadPool):
    """A replica's hot-read pool: a read it cannot serve (the replica went away) marks the replica
    down and is served by the primary's pool instead — a read is safe to repeat."""

    def __init__(self, engine: AsyncEngine, settings: Settings, replicas: Replicas, node_name: str) -> None:
        super().__init__(engine, settings)
        self.replicas = replicas
        self.node_name = node_name

    async def fetchrow(self, sql: str, args: tuple[Any, ...], *, again: bool = True) -> Any:
        try:
            return await self.fetchrow_here(sql, args)
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            self.replicas.mark_down(self.node_name, exc)
        return await self.replicas.primary.read_pool.fetchrow(sql, args)

    async def fetchrow_here(self, sql: str, args: tuple[Any, ...]) -> Any:
        return await ReadPool.fetchrow(self, sql, args)


@dataclass
class Replicas:
    """The primary and the replicas of this process, the probe that measures them, and the choice of
    a server for each read (see the module's docstring)."""

    settings: Settings
    primary: Node
    members: list[Node] = field(default_factory=list)
    history: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=4096))
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def open(cls, settings: Settings, engine: AsyncEngine, read_pool: ReadPool) -> Replicas:
        primary = Node(
            "primary",
            engine,
            session_factory(engine),
            read_session_factory(engine, autocommit=settings.db_pooler != "pgbouncer"),
            read_pool,
            is_primary=True,
            up=True,
            lag=0.0,
        )
        replicas = cls(settings, primary)
        for i, url in enumerate(settings.database_replica_urls, start=1):
            name = f"replica-{i}"
            replica_engine = create_engine(settings, url)
            sa.event.listen(replica_engine.sync_engine, "handle_error", replicas._engine_error_hook(name))
            replicas.members.append(
                Node(
                    name,
                    replica_engine,
                    session_factory(replica_engine),
                    read_session_factory(replica_engine, autocommit=settings.db_pooler != "pgbouncer"),
                    ReplicaReadPool(replica_engine, settings, replicas, name),
                )
            )
        return replicas

    @property
    def enabled(self) -> bool:
        return bool(self.members)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self, app: FastAPI | None = None) -> None:
        for node in self.members:
            await node.read_pool.start()
        if self.members:
            await self.probe()  # the first requests already know the replicas
            self._task = asyncio.create_task(self._run(), name="replica-probe")

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for node in self.members:
            await node.read_pool.close()
            await node.engine.dispose()

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.database_replica_probe_seconds)
            if self._stop.is_set():
                return
            try:
                await self.probe()
            except Exception:  # never let the probe die: a stale probe only makes replicas skipped
                log.exception("replica probe failed")

    # --- measuring ------------------------------------------------------------------------------

    async def probe(self) -> None:
        """Read the primary's WAL position, then each replica's replay position and so its lag."""
        timeout = self.settings.db_connect_timeout + 2
        try:
            row = await asyncio.wait_for(
                self.primary.read_pool.fetchrow("SELECT pg_current_wal_lsn()::text AS lsn", ()), timeout
            )
            self.history.append((time.monotonic(), parse_lsn(row["lsn"]) or 0))
        except Exception as exc:  # the replicas' lag is then measured against what was seen before
            log.warning("replica probe: primary unavailable (%s)", type(exc).__name__)
        for node in self.members:
            try:
                assert isinstance(node.read_pool, ReplicaReadPool)
                row = await asyncio.wait_for(
                    node.read_pool.fetchrow_here("SELECT pg_last_wal_replay_lsn()::text AS lsn", ()), timeout
                )
            except Exception as exc:
                self.mark_down(node.name, exc)
                continue
            replayed = parse_lsn(row["lsn"])
            if replayed is None:
                self.mark_down(node.name, None, why="not a hot standby (pg_last_wal_replay_lsn() is null)")
                continue
            now = time.monotonic()
            node.note_replayed(replayed)
            node.lag = self._lag(node.replay_lsn, now)
            node.probed_at = now
            if not node.up:
                log.info("%s is up (lag %.1f s)", node.name, node.lag)
            node.up = True
            REPLICA_LAG.labels(node.name).set(node.lag)
        for node in self.members:
            REPLICA_UP.labels(node.name).set(1 if node in self.usable() else 0)

    def _lag(self, replayed: int, now: float) -> float:
        """Seconds since the primary was at the oldest position the replica has not replayed."""
        for seen_at, position in self.history:
            if position > replayed:
                return now - seen_at
        return 0.0

    def mark_down(self, name: str, exc: BaseException | None, *, why: str = "") -> None:
        for node in self.members:
            if node.name == name:
                if node.up:
                    log.warning("%s is down: %s; reads go to the primary", name, why or type(exc).__name__)
                node.up = False
                REPLICA_UP.labels(name).set(0)

    def _engine_error_hook(self, name: str) -> Any:
        def hook(context: sa.engine.ExceptionContext) -> None:
            if context.is_disconnect or is_database_unavailable(context.original_exception):
                self.mark_down(name, context.original_exception)

        return hook

    def report(self) -> list[dict[str, Any]]:
        """Each replica as the last probe found it, for ``/ready`` (with a warning when skipped)."""
        usable = self.usable()
        out: list[dict[str, Any]] = []
        for node in self.members:
            entry: dict[str, Any] = {
                "name": node.name,
                "up": node.up,
                "lag_seconds": round(node.lag, 3) if node.up else None,
                "replayed_lsn": format_lsn(node.replay_lsn) if node.replay_lsn else None,
                "used": node in usable,
            }
            if node not in usable:
                why = "down" if not node.up else f"{node.lag:.1f} s behind"
                entry["warning"] = f"Read replica {node.name} is not read from ({why}): its reads go to the primary."
            out.append(entry)
        return out

    # --- choosing -------------------------------------------------------------------------------

    def usable(self) -> list[Node]:
        """Replicas up, probed lately and within the lag allowed, in turn (spreads the reads)."""
        now = time.monotonic()
        horizon = self.settings.database_replica_max_lag_seconds + 2 * self.settings.database_replica_probe_seconds
        found = [
            n
            for n in self.members
            if n.up and n.lag <= self.settings.database_replica_max_lag_seconds and now - n.probed_at <= horizon
        ]
        if len(found) > 1:
            start = next(self._turn) % len(found)
            found = found[start:] + found[:start]
        return found

    async def choose(self, min_lsn: int | None) -> Node:
        """A replica that may serve a read needing ``min_lsn`` replayed (None: any within the lag),
        else the primary."""
        candidates = self.usable()
        for node in candidates:
            if min_lsn is None or node.replay_lsn >= min_lsn:
                return node
        for node in candidates:  # the last probe is not enough: ask them where they are now
            assert isinstance(node.read_pool, ReplicaReadPool)
            try:
                row = await node.read_pool.fetchrow_here("SELECT pg_last_wal_replay_lsn()::text AS lsn", ())
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                self.mark_down(node.name, exc)
                continue
            node.note_replayed(parse_lsn(row["lsn"]) or 0)
            if min_lsn is None or node.replay_lsn >= min_lsn:
                return node
        return self.primary

    async def position(self) -> int | None:
        """The primary's WAL insert position now: past the commit of every transaction that has
        returned (whether or not its WAL is flushed yet)."""
        row = await self.primary.read_pool.fetchrow("SELECT pg_current_wal_insert_lsn()::text AS lsn", ())
        return parse_lsn(row["lsn"])


# --- per request ------------------------------------------------------------------------------------


def _replicas(request: Request) -> Replicas:
    return request.app.state.replicas  # type: ignore[no-any-return]


def requested_lsn(request: Request) -> int | None:
    """The WAL position a read must see: the ``X-Minqing-Lsn`` header (422 ``invalid_lsn`` when it
    is not an LSN) or the cookie (ignored when malformed), whichever is further."""
    header = request.headers.get(LSN_HEADER)
    wanted = parse_lsn(header)
    if header is not None and wanted is None:
        raise ValidationFailed(
            f"{LSN_HEADER} must be a WAL position like 0/16B3748, as a response of this service sent it.",
            code="invalid_lsn",
            errors=[field_error(LSN_HEADER, "a WAL position: hex/hex, e.g. 0/16B3748")],
        )
    cookie = parse_lsn(request.cookies.get(LSN_COOKIE))
    found = [v for v in (wanted, cookie) if v is not None]
    return max(found) if found else None


async def read_node(request: Request) -> Node:
    """The server this request's replica reads go to, chosen once per request (so a figure and its
    ETag come from the same server)."""
    chosen: Node | None = getattr(request.state, "read_node", None)
    if chosen is None:
        replicas = _replicas(request)
        chosen = await replicas.choose(requested_lsn(request)) if replicas.enabled else replicas.primary
        request.state.read_node = chosen
        if replicas.enabled:
            REPLICA_READS.labels(chosen.name).inc()
    if not chosen.up:  # went down since it was chosen: the rest of the request reads the primary
        chosen = request.state.read_node = _replicas(request).primary
    return chosen


async def replica_pool(request: Request) -> ReadPool:
    """The hot-read pool of :func:`read_node` (a replica's falls back to the primary's by itself)."""
    return (await read_node(request)).read_pool


@asynccontextmanager
async def replica_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session (no writes) on :func:`read_node`. On a replica its first round trip checks
    the server is there and still a standby: a replica that went away since the last probe costs
    no error, the read is served by the primary."""
    node = await read_node(request)
    session = await _checked(request, node) if not node.is_primary else None
    if session is None:
        session = _replicas(request).primary.read_sessionmaker()
    try:
        yield session
    except BaseException as exc:
        if is_database_unavailable(exc):
            await abandon(session, exc)
        raise
    finally:
        await session.close()


async def _checked(request: Request, node: Node) -> AsyncSession | None:
    """A read session on the replica ``node`` once it has answered as a standby; else None, with
    the replica marked down and the rest of the request's reads sent to the primary."""
    session = node.read_sessionmaker()
    try:
        replayed = parse_lsn(await session.scalar(sa.text("SELECT pg_last_wal_replay_lsn()::text")))
    except Exception as exc:
        await abandon(session, exc)
        await session.close()
        if not is_database_unavailable(exc):
            raise
        _replicas(request).mark_down(node.name, exc)
    else:
        if replayed is not None:
            node.note_replayed(replayed)
            return session
        await session.close()
        _replicas(request).mark_down(node.name, None, why="not a hot standby")
    request.state.read_node = _replicas(request).primary
    return None


async def get_replica_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with replica_session(request) as session:
        yield session


ReplicaSessionDep = Annotated[AsyncSession, Depends(get_replica_session)]
"""For GET routes whose reads tolerate the replicas' bounded lag (see the module's docstring)."""


async def note_commit(request: Request) -> None:
    """After the request's transaction committed: remember the primary's WAL position for the
    response (:class:`ReadYourWrites` sends it). Only when replicas are configured, and only for
    requests that may write."""
    replicas: Replicas | None = getattr(request.app.state, "replicas", None)
    if replicas is None or not replicas.enabled or request.method in _SAFE_METHODS:
        return
    try:
        position = await replicas.position()
    except Exception as exc:  # committed all the same; the client's next read may go to the primary
        log.warning("WAL position after a commit unavailable: %s", type(exc).__name__)
        return
    if position is not None:
        request.state.commit_lsn = position


class ReadYourWrites:
    """Adds the WAL position of the request's commit to its response: the ``X-Minqing-Lsn`` header
    and a short-lived ``minqing_lsn`` cookie (for clients that keep cookies, browsers first)."""

    def __init__(self, app: ASGIApp, sticky_seconds: int) -> None:
        self.app = app
        self.sticky_seconds = sticky_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_lsn(message: Message) -> None:
            if message["type"] == "http.response.start":
                position = state.get("commit_lsn")
                if position is not None:
                    text = format_lsn(position)
                    cookie = f"{LSN_COOKIE}={text}; Max-Age={self.sticky_seconds}; Path=/; HttpOnly; SameSite=Lax"
                    if scope.get("scheme") == "https":
                        cookie += "; Secure"
                    message["headers"] = [
                        *message.get("headers", []),
                        (LSN_HEADER.lower().encode(), text.encode()),
                        (b"set-cookie", cookie.encode()),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_lsn)
