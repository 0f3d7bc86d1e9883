"""Live changes for the event stream: one LISTEN connection per process, fanned out in memory.

Writers insert into ``change_log`` in their own transaction (the offline-sync change feed); a
statement trigger there calls ``pg_notify('minqing_changes', '')`` — delivered on commit, to every
process on every node. Notifications are only wake-up calls: the hub then reads the *settled*
changes after its cursor (``txid`` older than every running transaction, ordered by ``(txid,
seq)``, exactly as the sync feed does), so a late-committing transaction is never skipped and a
lost notification only delays an event until the next poll (every second while anyone listens).
Each subscriber gets the changes in its area subtree through a bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import FastAPI

from app.config import Settings
from app.db import is_database_unavailable, to_async_url
from app.errors import ServiceUnavailable
from app.events import repository
from app.kit import tokens
from app.scope import Principal, path_within

log = logging.getLogger("minqing.events")

CHANNEL = "minqing_changes"
EVENT_NAMES = {"issue": "issue", "diary_entry": "diary", "dispute": "dispute"}
"""change_log entity types sent on the stream, and their SSE ``event:`` names."""
POLL_SECONDS = 1.0
BATCH = 1000
QUEUE_SIZE = 1000


@dataclass(frozen=True, order=True)
class Event:
    key: tuple[int, int]  # (txid, seq): the stream's order and its resumable id
    entity_type: str = field(compare=False)
    entity_id: uuid.UUID = field(compare=False)
    area_id: uuid.UUID = field(compare=False)
    op: str = field(compare=False)
    changed_at: dt.datetime = field(compare=False)

    @property
    def id(self) -> str:
        return f"{self.key[0]}-{self.key[1]}"

    @property
    def name(self) -> str:
        return EVENT_NAMES[self.entity_type]

    def data(self) -> dict[str, Any]:
        """Ids and times only: never personal data (the stream is open to 大屏 viewers)."""
        return {
            "type": self.name,
            "id": str(self.entity_id),
            "area_id": str(self.area_id),
            "op": self.op,
            "changed_at": self.changed_at.isoformat(),
        }

    @classmethod
    def of(cls, row: Any) -> Event:
        return cls(
            key=(int(row["txid"]), int(row["seq"])),
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            area_id=row["area_id"],
            op=row["op"],
            changed_at=row["changed_at"],
        )


_EVENT_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,19})")


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """``Last-Event-ID`` as sent back by EventSource: ``<txid>-<seq>``, None when absent.

    The id carries nothing the server trusts (the replay is read in the caller's scope like the
    live stream), but it is checked like every value handed back: anything but two integers in the
    range of ``xid8`` and ``bigint`` is 422 ``invalid_cursor``.
    """
    if value is None or not value.strip():
        return None
    match = _EVENT_ID.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError("not an event id")
        return tokens.XID8(int(match[1])), tokens.BIGINT(int(match[2]))
    except ValueError:
        raise tokens.invalid_cursor("Last-Event-ID", "this stream") from None


@dataclass(eq=False)
class Subscriber:
    scope_path: str
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, event: Event) -> bool:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def close(self) -> None:
        """End the stream (shutdown, or a client too slow to keep up: it resumes by Last-Event-ID)."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
        if self.queue.full():  # make room for the end marker
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Watch:
    """What a process keeps from the database until a notification on ``channel`` says it changed
    (e.g. the public notices' ETags). The hub listens to ``channel`` on its connection: ``live``
    while it does, and :meth:`forget` on every notification and whenever the connection is made
    or lost (a notification may have been missed). Keep nothing while not ``live``."""

    channel: str = ""

    def __init__(self) -> None:
        self.live = False
        self.generation = 0  # moves on every forget(): a read begun before it must not be kept

    def forget(self) -> None:
        self.generation += 1


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.subscribers: set[Subscriber] = set()
        self.cursor: tuple[int, int] | None = None
        self.watches: list[Watch] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def watch(self, watch: Watch) -> None:
        """Have ``watch`` told of its channel's notifications (before :meth:`start`)."""
        self.watches.append(watch)

    # --- subscribers ------------------------------------------------------------------------

    def subscribe(self, principal: Principal) -> Subscriber:
        if self._stopping.is_set():
            raise ServiceUnavailable("The service is shutting down.", code="shutting_down")
        if len(self.subscribers) >= self.settings.sse_max_connections:
            raise ServiceUnavailable(
                "Too many live connections on this server; retry shortly.",
                code="too_many_streams",
                headers={"Retry-After": str(self.settings.sse_retry_after_seconds)},
            )
        sub = Subscriber(principal.area_path)
        self.subscribers.add(sub)
        self._wake.set()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def publish(self, events: list[Event], paths: list[str]) -> None:
        for sub in list(self.subscribers):
            for event, path in zip(events, paths, strict=True):
                if path_within(path, sub.scope_path) and not sub.offer(event):
                    log.warning("event stream subscriber fell behind; closing it")
                    self.unsubscribe(sub)
                    sub.close()
                    break

    # --- the listener -----------------------------------------------------------------------

    async def start(self, app: FastAPI) -> None:
        self._task = asyncio.create_task(self._run(), name="events-hub")

    async def stop(self, app: FastAPI) -> None:
        self._stopping.set()
        self._wake.set()
        for sub in list(self.subscribers):
            sub.close()
        self.subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _dsn(self) -> str:
        # LISTEN needs a session of its own on PostgreSQL itself: never through a pooler.
        return to_async_url(self.settings.direct_database_url or "").replace(
            "postgresql+asyncpg://", "postgresql://", 1
        )

    async def _run(self) -> None:
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn(), timeout=self.settings.db_connect_timeout)
                await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
                for watch in self.watches:
                    await conn.add_listener(watch.channel, lambda *_, w=watch: w.forget())  # type: ignore[misc]
                    watch.forget()
                    watch.live = True
                await self._pump(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: keep subscribers, reconnect
                self._unwatch()
                if conn is not None:  # broken: dropped without a goodbye that could hang or fail
                    conn.terminate()
                    conn = None
                if is_database_unavailable(exc):
                    log.warning("event listener lost its connection: %s", type(exc).__name__)
                else:
                    log.exception("event listener failed; reconnecting")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 2.0)
            finally:
                self._unwatch()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)

    def _unwatch(self) -> None:
        for watch in self.watches:
            watch.live = False
            watch.forget()

    async def _pump(self, conn: asyncpg.Connection) -> None:
        types = list(EVENT_NAMES)
        while not self._stopping.is_set():
            if not self.subscribers or self.cursor is None:
                # Nobody listens: just keep the cursor at the present.
                self.cursor = (await repository.horizon(conn), 0)
            else:
                while True:
                    rows = await repository.settled_after(conn, self.cursor, types, BATCH)
                    if rows:
                        events = [Event.of(r) for r in rows]
                        self.publish(events, [r["path"] for r in rows])
                        self.cursor = events[-1].key
                    if len(rows) < BATCH:
                        break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS if self.subscribers else 30.0)


def install(app: FastAPI, settings: Settings) -> None:
    hub = Hub(settings)
    app.state.events_hub = hub
    app.state.startup_hooks.append(hub.start)
    app.state.shutdown_hooks.append(hub.stop)


def hub_of(app: Any) -> Hub:
    return app.state.events_hub
