"""The background work of a deployment: housekeeping on a schedule, and the worker's heartbeat.

``minqing worker`` runs the webhook worker (:mod:`app.integrations.webhooks.worker`) together with
:func:`housekeeping`; with ``MINQING_RUN_WORKER_IN_PROCESS`` (the default, ``make run``) the API
process runs both instead (:func:`install`). Housekeeping is:

* **stats compaction** every ``stats_compact_seconds``: the delta rows of the aggregates are folded
  (``stats_compact()``), so reads stay cheap;
* **purges** every ``housekeeping_interval_seconds``, one table per transaction, of the rows past
  their retention (each a setting): idempotency keys (they hold whole response bodies), rate-limit
  counters, sign-in failure counters, the offline-sync change feed, processed outbox messages and
  finished webhook deliveries (with their attempts). Nothing pending is ever purged. The same round
  announces the commitments fallen behind (``commitment.behind``) and reopens the wishes whose
  claim ran out (``wish.claim_expired``).
* **partitions**, on the same interval and before the purges (:mod:`app.kit.partitions`): the
  partitioned history tables get their partitions for the coming days/months, and partitions wholly
  past retention are dropped — the row purges then only trim the partition the cutoff falls in.

Purges and compaction are plain idempotent statements: several workers may run them at once.

The heartbeat: every :data:`HEARTBEAT_SECONDS` the worker checks that PostgreSQL answers and writes
``worker_heartbeat_file``; ``minqing worker --check`` (the container's healthcheck) succeeds while
that file is fresh and says the database answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import ping, without_statement_timeout
from app.kit import clock, partitions

log = logging.getLogger("minqing.housekeeping")

HEARTBEAT_SECONDS = 10.0
HEARTBEAT_DB_TIMEOUT = 5.0
FINISHED_DELIVERIES = ("delivered", "dead", "cancelled")
STOP_GRACE_SECONDS = 10.0


# --- purges --------------------------------------------------------------------------------------


async def _purge_idempotency_keys(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    from app.kit import idempotency

    return await idempotency.purge(session, dt.timedelta(days=settings.idempotency_retention_days))


async def _purge_rate_limits(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    from app.kit import ratelimit

    return await ratelimit.purge(session, dt.timedelta(hours=settings.rate_limit_retention_hours))


async def _purge_login_failures(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    from app.auth import repository

    # A counter still inside its window throttles sign-ins: never before the window has passed.
    keep = max(settings.login_failure_retention_hours * 3600, settings.login_window_seconds)
    return await repository.purge_failures(session, now - dt.timedelta(seconds=keep))


async def _purge_changes(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    from app.sync.changes import purge_older_than

    return int(await purge_older_than(session, now - dt.timedelta(days=settings.change_retention_days)))


async def _purge_outbox(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    from app.integrations.webhooks import repository

    return await repository.purge_outbox(session, now - dt.timedelta(days=settings.outbox_retention_days))


async def _purge_deliveries(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    from app.integrations.webhooks import repository

    cutoff = now - dt.timedelta(days=settings.webhook_delivery_retention_days)
    return await repository.purge_deliveries(session, FINISHED_DELIVERIES, cutoff)


Purge = Callable[[AsyncSession, Settings, dt.datetime], Awaitable[int]]
PURGES: dict[str, Purge] = {
    "idempotency_keys": _purge_idempotency_keys,
    "rate_limits": _purge_rate_limits,
    "login_failures": _purge_login_failures,
    "change_log": _purge_changes,
    "outbox": _purge_outbox,
    "webhook_deliveries": _purge_deliveries,
}
"""Table → its purge; each runs in a transaction of its own."""


async def purge_expired(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, int]:
    """Delete what is past its retention in every table of :data:`PURGES`; rows deleted per table.

    A table whose purge fails is logged and skipped (the next round tries again)."""
    now = clock.now()
    counts: dict[str, int] = {}
    for table, purge in PURGES.items():
        try:
            async with sessions() as session, session.begin():
                # The first purge of a long-running deployment may take longer than a request may.
                await without_statement_timeout(session)
                counts[table] = await purge(session, settings, now)
        except Exception as exc:
            log.warning("purge of %s failed: %s", table, exc)
    return counts


async def maintain_partitions(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    on_each: Callable[[str, partitions.Outcome | None], None] | None = None,
) -> dict[str, partitions.Outcome]:
    """Make the coming partitions and drop expired ones, table by table (one transaction each).

    A table whose maintenance fails (a lock not granted in time) is logged and skipped; the next
    round tries again, and the default partition takes the rows meanwhile."""
    now = clock.now()
    outcomes: dict[str, partitions.Outcome] = {}
    for spec in partitions.TABLES:
        outcome: partitions.Outcome | None = None
        try:
            async with sessions() as session, session.begin():
                await without_statement_timeout(session)
                outcome = outcomes[spec.table] = await partitions.maintain_table(session, spec, settings, now)
        except Exception as exc:
            log.warning("partition maintenance of %s failed: %s", spec.table, exc)
        if on_each is not None:
            on_each(spec.table, outcome)
    return outcomes


async def compact_stats(sessions: async_sessionmaker[AsyncSession]) -> int:
    from app.stats import service

    async with sessions() as session, session.begin():
        return await service.compact(session)


async def announce_commitments_behind(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """``commitment.behind`` for each published commitment whose occurrence fell behind since the last round."""
    from app.commitments import service

    async with sessions() as session, session.begin():
        return await service.announce_behind(session, settings)


async def expire_wish_claims(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Reopen the wishes whose claim ran out, with one ``wish.claim_expired`` each (reads and writes
    of wishes do the same first; this round announces them when nobody looks)."""
    from app.volunteers import wishes

    async with sessions() as session, session.begin():
        return await wishes.expire_claims(session)


# --- the schedule --------------------------------------------------------------------------------


async def housekeeping(sessions: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event) -> None:
    """Compaction, partitions and purges (with the commitments' behind check and the wishes' expired
    claims) on their intervals until ``stop``
    is set (both run once at start)."""
    next_compact = next_purge = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        if settings.stats_compact_seconds > 0 and now >= next_compact:
            try:
                await compact_stats(sessions)
            except Exception as exc:  # the next round retries; sums are right either way
                log.warning("stats compaction failed: %s", exc)
            next_compact = time.monotonic() + settings.stats_compact_seconds
        if settings.housekeeping_interval_seconds > 0 and now >= next_purge:
            outcomes = await maintain_partitions(sessions, settings)
            if any(o.created or o.dropped for o in outcomes.values()):
                log.info(
                    "partitions maintained",
                    extra={
                        "partitions_created": [n for o in outcomes.values() for n in o.created],
                        "partitions_dropped": [n for o in outcomes.values() for n in o.dropped],
                    },
                )
            counts = await purge_expired(sessions, settings)
            if any(counts.values()):
                log.info("purged rows past their retention", extra={"purged": counts})
            try:
                await announce_commitments_behind(sessions, settings)
            except Exception as exc:  # the next round announces what this one missed
                log.warning("commitments behind check failed: %s", exc)
            try:
                await expire_wish_claims(sessions)
            except Exception as exc:  # the next round (or the next read of a wish) expires them
                log.warning("wish claim expiry failed: %s", exc)
            next_purge = time.monotonic() + settings.housekeeping_interval_seconds
        due = [
            t
            for t, on in (
                (next_compact, settings.stats_compact_seconds > 0),
                (next_purge, settings.housekeeping_interval_seconds > 0),
            )
            if on
        ]
        if not due:
            await stop.wait()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.05, min(due) - time.monotonic()))


def install(app: FastAPI, settings: Settings) -> None:
    """Run housekeeping inside the API process (``settings.run_worker_in_process``)."""
    if not settings.run_worker_in_process:
        return
    state: dict[str, object] = {}

    async def start(app: FastAPI) -> None:
        stop = asyncio.Event()
        state["stop"] = stop
        state["task"] = asyncio.create_task(housekeeping(app.state.sessionmaker, settings, stop), name="housekeeping")

    async def shutdown(_: FastAPI) -> None:
        stop = state.pop("stop", None)
        task = state.pop("task", None)
        if isinstance(stop, asyncio.Event) and isinstance(task, asyncio.Task):
            stop.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, STOP_GRACE_SECONDS)  # cancelled past the grace: rolled back

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(shutdown)


# --- the heartbeat -------------------------------------------------------------------------------


def _write_beat(path: Path, beat: dict[str, object] | None) -> None:
    """Replace the heartbeat file atomically (a check never reads half a file); ``None`` removes it."""
    if beat is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(beat))
    tmp.replace(path)


async def heartbeat(sessions: async_sessionmaker[AsyncSession], path: Path, stop: asyncio.Event) -> None:
    """Write ``path`` every :data:`HEARTBEAT_SECONDS`: the time, the pid and whether PostgreSQL answered."""
    while not stop.is_set():
        try:
            async with sessions() as session:
                await asyncio.wait_for(ping(session), HEARTBEAT_DB_TIMEOUT)
            database = True
        except Exception:
            database = False
        await asyncio.to_thread(_write_beat, path, {"at": clock.timestamp(), "pid": os.getpid(), "database": database})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_SECONDS)
    await asyncio.to_thread(_write_beat, path, None)  # stopped: no longer healthy


def check_heartbeat(path: Path, max_age_seconds: float, now: float | None = None) -> str | None:
    """``None`` when the worker is healthy, else why not (for ``minqing worker --check``)."""
    try:
        beat = json.loads(path.read_text())
    except FileNotFoundError:
        return f"no heartbeat at {path} (is the worker running?)"
    except (OSError, ValueError) as exc:
        return f"unreadable heartbeat {path}: {exc}"
    age = (clock.timestamp() if now is None else now) - float(beat.get("at", 0))
    if age > max_age_seconds:
        return f"last heartbeat {age:.0f} s ago (more than {max_age_seconds:.0f} s)"
    if not beat.get("database"):
        return "the worker cannot reach PostgreSQL"
    return None
