"""The webhook worker (回调投递): outbox → deliveries → signed POSTs, at least once, in order.

Each round, in short transactions of its own:

1. **SLA notices**: ``issue.due_soon`` / ``issue.overdue`` into the outbox, once per issue, state
   and deadline (``sla_notifications`` with ``ON CONFLICT DO NOTHING``).
2. **Fan-out**: a batch of unprocessed outbox rows is locked (``FOR UPDATE SKIP LOCKED``), one
   delivery is written per matching active subscription and the rows are marked processed — all in
   one transaction, so an event is fanned out exactly once or not at all.
3. **Delivery**: due deliveries are leased (``locked_until`` + a token, attempt counted) in one
   short transaction and committed; then sent with no transaction open; then the outcome is written
   if the lease is still ours. A worker killed between lease and outcome loses nothing: the lease
   expires and another round sends the delivery again, with the same ``webhook-id``.

Order: a delivery waits while an earlier event of the same aggregate is still pending for the same
subscription (or not yet fanned out), so one issue's events reach a receiver in the order they
happened. A dead delivery no longer holds back the ones after it.

Outcomes: 2xx → delivered; 410 → the subscription is disabled and its queue cancelled; anything
else (other statuses, redirects, timeouts, refused connections, refused addresses) → retried on
:func:`~app.integrations.webhooks.backoff.retry_delay` (jittered, honouring ``Retry-After``) until
the schedule is exhausted → dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import logging
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpcore
import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings, get_settings
from app.db import is_database_unavailable, to_async_url
from app.errors import AppError
from app.integrations.webhooks import repository, service
from app.integrations.webhooks.backoff import parse_retry_after, retry_delay
from app.integrations.webhooks.models import DeliveryStatus
from app.integrations.webhooks.urlcheck import address_refusal
from app.issues.sla import SlaState
from app.issues.timeline import event_payload
from app.kit import clock, outbox
from app.kit.ids import new_id
from app.kit.signing import signature_headers
from app.observability import WEBHOOK_ATTEMPT_SECONDS, WEBHOOK_DELIVERIES

logger = logging.getLogger("minqing.webhooks")

USER_AGENT = "Minqing-Webhooks/1"
SEND_TIMEOUT = 10.0
LEASE = dt.timedelta(seconds=60)
"""Longer than a send can take (timeout plus reading a short excerpt), so a live worker keeps it."""
FANOUT_BATCH = 200
SEND_BATCH = 16
"""Deliveries leased and sent concurrently per round; each lease must outlive its round."""
MAX_ROUNDS = 50
POLL_SECONDS = 5.0
SLA_EVERY = dt.timedelta(seconds=60)
EXCERPT_BYTES = 1000


@dataclass
class RunStats:
    sla_notices: int = 0
    fanned_out: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the URL guard allows, checked on the address actually dialled,
    so a host that resolves differently at send time (DNS rebinding) cannot reach the inside."""

    def __init__(self, *, allow_private: bool, allow_loopback: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow = {"allow_private": allow_private, "allow_loopback": allow_loopback}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            reason = address_refusal(ipaddress.ip_address(address.partition("%")[0]), **self._allow)
            if reason is not None:
                raise httpcore.ConnectError(f"refused to connect to {address}: {reason}")
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The client deliveries go out with: no redirects, no proxies from the environment, and only
    to addresses the settings allow."""
    client = httpx.AsyncClient(
        timeout=SEND_TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )
    transport = client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    # httpx has no public switch for the network backend; its pool takes one.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=SEND_BATCH * 2,
        max_keepalive_connections=SEND_BATCH,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(
            allow_private=settings.webhook_allow_private, allow_loopback=settings.webhook_allow_loopback
        ),
    )
    return client


# --- SLA notices ------------------------------------------------------------------------------------


async def emit_sla_notifications(session: AsyncSession, now: dt.datetime) -> int:
    """Queue ``issue.due_soon`` (预警) and ``issue.overdue`` (超期) once per issue, state and deadline.

    A new deadline (extension, reopening) arms the notices again.
    """
    emitted = 0
    for state in (SlaState.OVERDUE, SlaState.DUE_SOON):
        issue_ids = await repository.claim_sla_notices(session, state, now, FANOUT_BATCH)
        if not issue_ids:
            continue
        for issue in await repository.issues_by_ids(session, issue_ids):
            outbox.emit(
                session,
                f"issue.{state.value}",
                "issue",
                issue.id,
                event_payload(issue, now, due_at=issue.due_at.isoformat() if issue.due_at else None),
            )
            emitted += 1
    await session.flush()
    return emitted


# --- fan-out ------------------------------------------------------------------------------------------


async def fan_out(sessions: async_sessionmaker[AsyncSession], now: dt.datetime, limit: int = FANOUT_BATCH) -> int:
    """Turn one batch of outbox rows into deliveries; returns how many rows were processed."""
    async with sessions() as session, session.begin():
        messages = await repository.claim_outbox(session, now, limit)
        if not messages:
            return 0
        by_id = {m.id: m for m in messages}
        rows = [
            {
                "id": new_id(),
                "subscription_id": subscription_id,
                "seq": outbox_id,
                "event_id": by_id[outbox_id].event_id,
                "event_type": by_id[outbox_id].event_type,
                "aggregate_type": by_id[outbox_id].aggregate_type,
                "aggregate_id": by_id[outbox_id].aggregate_id,
                "payload": by_id[outbox_id].payload,
                "event_created_at": by_id[outbox_id].created_at,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for outbox_id, subscription_id in await repository.matching_subscriptions(session, list(by_id))
        ]
        await repository.insert_deliveries(session, rows)
        await repository.mark_processed(session, list(by_id), now)
        return len(messages)


# --- delivery -------------------------------------------------------------------------------------------


def message_body(claimed: repository.Claimed) -> bytes:
    """``{"id", "type", "timestamp", "data"}``: the Standard Webhooks payload shape."""
    document = {
        "id": str(claimed.event_id),
        "type": claimed.event_type,
        "timestamp": claimed.event_created_at.isoformat(),
        "data": claimed.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class AttemptResult:
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None = None
    excerpt: str | None = None
    retry_after: str | None = None
    error: str | None = None


async def _read_excerpt(response: httpx.Response) -> str:
    buffer = b""
    async for chunk in response.aiter_bytes():
        buffer += chunk
        if len(buffer) >= EXCERPT_BYTES:
            break
    return buffer[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "")[:EXCERPT_BYTES]


async def send(http: httpx.AsyncClient, claimed: repository.Claimed, settings: Settings) -> AttemptResult:
    """POST one delivery; never raises for the receiver's or the network's failures."""
    started_at = clock.now()
    start = time.perf_counter()
    result = AttemptResult(started_at=started_at, duration_ms=0)
    try:
        # Checked again at each attempt: DNS answers change after the subscription was accepted.
        await service.check_url(settings, claimed.url)
        body = message_body(claimed)
        headers = signature_headers(claimed.secrets, str(claimed.event_id), body, now=started_at.timestamp())
        headers["content-type"] = "application/json"
        async with http.stream("POST", claimed.url, content=body, headers=headers) as response:
            result.status_code = response.status_code
            result.retry_after = response.headers.get("retry-after")
            result.excerpt = await _read_excerpt(response)
    except AppError as exc:
        result.error = exc.detail[:500]
    except httpx.HTTPError as exc:
        result.error = (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:500]
    except Exception as exc:  # one broken delivery must not hold back the rest of the round
        logger.exception("webhook send failed unexpectedly", extra={"delivery_id": str(claimed.id)})
        result.error = f"internal error: {type(exc).__name__}"
    elapsed = time.perf_counter() - start
    result.duration_ms = int(elapsed * 1000)
    WEBHOOK_ATTEMPT_SECONDS.observe(elapsed)
    return result


async def settle(sessions: async_sessionmaker[AsyncSession], claimed: repository.Claimed, result: AttemptResult) -> str:
    """Record the attempt and move the delivery on; returns the outcome for metrics."""
    now = clock.now()
    status = result.status_code
    async with sessions() as session, session.begin():
        if not await repository.lock_delivery(session, claimed.id):  # the subscription was deleted meanwhile
            return "lease_lost"
        await repository.record_attempt(
            session,
            claimed.id,
            started_at=result.started_at,
            duration_ms=result.duration_ms,
            status_code=status,
            response_excerpt=result.excerpt,
            error=result.error,
        )
        error = result.error or (None if status is None or 200 <= status < 300 else f"HTTP {status}")
        if status is not None and 200 <= status < 300:
            outcome = "delivered"
            values: dict[str, Any] = {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now}
        elif status == 410:
            outcome = "gone"
            values = {"status": DeliveryStatus.CANCELLED.value}
        else:
            delay = retry_delay(claimed.attempt, parse_retry_after(result.retry_after, now))
            if delay is None:
                outcome, values = "dead", {"status": DeliveryStatus.DEAD.value}
            else:
                outcome, values = "retry", {"next_attempt_at": now + dt.timedelta(seconds=delay)}
        held = await repository.settle(session, claimed, now, last_status_code=status, last_error=error, **values)
        if not held:
            return "lease_lost"
        if outcome == "gone":
            await repository.disable_subscription(
                session, claimed.subscription_id, "the receiver answered 410 Gone", now
            )
    return outcome


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    settings: Settings,
    *,
    limit: int = SEND_BATCH,
) -> list[str]:
    """Lease, send and settle one round of due deliveries; returns their outcomes."""
    async with sessions() as session, session.begin():
        claimed = await repository.claim_deliveries(session, clock.now(), limit, LEASE, uuid.uuid4())
    if not claimed:
        return []
    results = await asyncio.gather(*(send(http, c, settings) for c in claimed))
    outcomes = []
    for c, result in zip(claimed, results, strict=True):
        outcome = await settle(sessions, c, result)
        WEBHOOK_DELIVERIES.labels(outcome).inc()
        if outcome != "delivered":
            logger.info(
                "webhook %s",
                outcome,
                extra={"delivery_id": str(c.id), "status": result.status_code, "error": result.error},
            )
        outcomes.append(outcome)
    return outcomes


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    *,
    settings: Settings | None = None,
    sla: bool = True,
) -> RunStats:
    """One full round: SLA notices, fan-out of everything available, deliveries until none is due."""
    settings = settings or get_settings()
    stats = RunStats()
    if sla:
        async with sessions() as session, session.begin():
            stats.sla_notices = await emit_sla_notifications(session, clock.now())
    while (processed := await fan_out(sessions, clock.now())) > 0:
        stats.fanned_out += processed
    for _ in range(MAX_ROUNDS):
        outcomes = await deliver_due(sessions, http, settings)
        if not outcomes:
            break
        for outcome in outcomes:
            stats.count(outcome)
        # Events that waited for these (same aggregate) may be due now; so may new outbox rows.
        while (processed := await fan_out(sessions, clock.now())) > 0:
            stats.fanned_out += processed
    return stats


# --- the loop -------------------------------------------------------------------------------------------


def listen_dsn(settings: Settings) -> str | None:
    url = settings.direct_database_url  # LISTEN: PostgreSQL itself, never through a pooler
    if not url:
        return None
    return to_async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


async def _listen(dsn: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """``LISTEN outbox`` on a connection of its own, reconnecting; polling covers any gap."""
    while not stop.is_set():
        conn: asyncpg.Connection | None = None
        lost = asyncio.Event()
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener("outbox", lambda *_args: wake.set())
            wake.set()  # catch up on anything committed while not listening
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
        except Exception as exc:  # any failure: polling covers the gap, and the loop listens again
            if is_database_unavailable(exc):
                logger.warning("webhook worker cannot listen for outbox notifications: %s", type(exc).__name__)
            else:
                logger.exception("webhook worker's outbox listener failed; listening again")
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)


async def _seconds_until_due(sessions: async_sessionmaker[AsyncSession]) -> float:
    async with sessions() as session:
        due = await repository.next_due_at(session)
    if due is None:
        return POLL_SECONDS
    return min(POLL_SECONDS, max(0.05, (due - clock.now()).total_seconds()))


async def serve(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
    *,
    http: httpx.AsyncClient | None = None,
) -> None:
    """Run rounds until ``stop`` is set: woken by ``NOTIFY outbox``, else by the poll interval or
    the next due delivery. A round in progress finishes; leases cover anything cut short."""
    wake = asyncio.Event()
    dsn = listen_dsn(settings)
    listener = asyncio.create_task(_listen(dsn, wake, stop)) if dsn else None
    client = http or http_client(settings)
    last_sla = dt.datetime.min.replace(tzinfo=dt.UTC)
    try:
        while not stop.is_set():
            wake.clear()
            sleep = POLL_SECONDS
            try:
                now = clock.now()
                run_sla = now - last_sla >= SLA_EVERY
                await run_once(sessions, client, settings=settings, sla=run_sla)
                if run_sla:
                    last_sla = now
                sleep = await _seconds_until_due(sessions)
            except Exception as exc:
                if is_database_unavailable(exc):  # an outage: the next round retries
                    logger.warning("webhook worker round failed, database unavailable: %s", type(exc).__name__)
                else:
                    logger.exception("webhook worker round failed; retrying")
            waiters = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=sleep, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if http is None:
            await client.aclose()


STOP_GRACE_SECONDS = 15.0


def install(app: FastAPI) -> None:
    """Run the worker inside the API process (``settings.run_worker_in_process``)."""

    async def start(app: FastAPI) -> None:
        stop = asyncio.Event()
        app.state.webhook_worker_stop = stop
        app.state.webhook_worker = asyncio.create_task(serve(app.state.sessionmaker, app.state.settings, stop))

    async def shutdown(app: FastAPI) -> None:
        app.state.webhook_worker_stop.set()
        task: asyncio.Task[None] = app.state.webhook_worker
        try:
            await asyncio.wait_for(task, STOP_GRACE_SECONDS)
        except TimeoutError:
            logger.warning("webhook worker did not stop in time; its leases will expire")

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(shutdown)
