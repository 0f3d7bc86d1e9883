"""Partitioned history (分区): the append-mostly tables, range-partitioned by time, and their upkeep.

``change_log`` and ``outbox`` have a partition per day, ``audit_log``, ``hotline_messages``,
``webhook_attempts`` and ``issue_events`` one per month. Bounds are UTC instants: a day is
00:00–24:00 UTC (08:00–08:00 Asia/Shanghai), a month starts at 00:00 UTC on the 1st. Partitions
are ``<table>_p20261203`` (day) or ``<table>_p202612`` (month); ``<table>_p0`` is the table as it
was before partitioning (everything up to its first boundary), ``<table>_default`` takes a row no
other partition covers (a clock far ahead, maintenance that lagged), so an insert never fails.

:func:`maintain` (``minqing maintain``, and the worker's housekeeping) makes the partitions of the
coming periods and drops whole partitions past retention: one ``DROP TABLE`` instead of deleting
rows. Partitions are made by the database function ``partition_create()`` (migration 0012), which
moves rows stranded in the default partition into the new one and installs the parent's statement
triggers on it (the audit log's TRUNCATE refusal, the NOTIFY wake-ups), so every partition refuses
what its parent refuses. A partition still holding an unprocessed (or recently processed) outbox
message, or an attempt of a webhook delivery not yet delivered, is never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings


@dataclass(frozen=True)
class Partitioned:
    table: str
    key: str  # the partition key, a timestamptz column
    period: str  # "day" | "month"
    # How long a row is kept (a partition goes once its end is this far past); None: for good.
    retention: Callable[[Settings], dt.timedelta | None]
    # SQL (``{part}`` the partition, ``:cutoff`` the retention cutoff) true while it must stay anyway.
    still_needed: str | None = None


def _months(months: int) -> dt.timedelta | None:
    """``months`` as a retention (31 days each, erring on keeping); 0: for good."""
    return None if months == 0 else dt.timedelta(days=31 * months)


TABLES: tuple[Partitioned, ...] = (
    Partitioned("change_log", "changed_at", "day", lambda s: dt.timedelta(days=s.change_retention_days)),
    Partitioned(
        "outbox",
        "created_at",
        "day",
        lambda s: dt.timedelta(days=s.outbox_retention_days),
        # Like the row purge: only messages fanned out before the cutoff go.
        still_needed="EXISTS (SELECT 1 FROM {part} WHERE processed_at IS NULL OR processed_at >= :cutoff)",
    ),
    Partitioned("audit_log", "at", "month", lambda s: _months(s.audit_retention_months)),
    Partitioned("hotline_messages", "received_at", "month", lambda s: _months(s.hotline_message_retention_months)),
    Partitioned(
        "webhook_attempts",
        "started_at",
        "month",
        lambda s: dt.timedelta(days=s.webhook_delivery_retention_days),
        # Attempts of a delivery not delivered (pending, dead, cancelled) stay while the delivery does.
        still_needed="EXISTS (SELECT 1 FROM {part} a JOIN webhook_deliveries d ON d.id = a.delivery_id "
        "WHERE d.status <> 'delivered')",
    ),
    Partitioned("issue_events", "created_at", "month", lambda s: _months(s.issue_event_retention_months)),
)
BY_TABLE = {t.table: t for t in TABLES}

_PARTITION_NAME = re.compile(r"^(?P<table>{})_(?:p\d+|default)$".format("|".join(BY_TABLE)))


def is_partition(name: str) -> bool:
    """``name`` is a partition of a partitioned table (the models describe the parents only)."""
    return _PARTITION_NAME.match(name) is not None


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` for comparing models with a database: partitions are left out."""
    return not (type_ == "table" and name is not None and is_partition(name))


def period_start(at: dt.datetime, period: str) -> dt.datetime:
    """The start (UTC) of the day or month holding ``at``."""
    at = at.astimezone(dt.UTC)
    if period == "day":
        return dt.datetime(at.year, at.month, at.day, tzinfo=dt.UTC)
    return dt.datetime(at.year, at.month, 1, tzinfo=dt.UTC)


def next_start(start: dt.datetime, period: str) -> dt.datetime:
    if period == "day":
        return start + dt.timedelta(days=1)
    return dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(table: str, start: dt.datetime, period: str) -> str:
    return f"{table}_p{start:%Y%m%d}" if period == "day" else f"{table}_p{start:%Y%m}"


@dataclass(frozen=True)
class Partition:
    name: str
    lo: dt.datetime | None  # None: MINVALUE
    hi: dt.datetime | None  # None: the default partition
    default: bool = False


_BOUND = re.compile(r"FROM \((?:MINVALUE|'(?P<lo>[^']+)')\) TO \('(?P<hi>[^']+)'\)")


async def partitions(session: AsyncSession, table: str) -> list[Partition]:
    """The partitions of ``table`` with their bounds, in order (the default one last)."""
    await session.execute(sa.text("SET LOCAL TimeZone = 'UTC'"))  # bounds print as UTC instants
    rows = await session.execute(
        sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass) AND c.relkind = 'r'"
        ),
        {"t": table},
    )
    found: list[Partition] = []
    for name, bound in rows:
        if bound == "DEFAULT":
            found.append(Partition(name, None, None, default=True))
            continue
        m = _BOUND.search(bound)
        if m is None:  # not one of ours
            continue
        lo = dt.datetime.fromisoformat(m["lo"]) if m["lo"] else None
        found.append(Partition(name, lo, dt.datetime.fromisoformat(m["hi"])))
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda p: (p.default, p.lo or floor))


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # past retention but still needed


def ahead(spec: Partitioned, settings: Settings) -> int:
    return settings.partition_days_ahead if spec.period == "day" else settings.partition_months_ahead


async def maintain_table(session: AsyncSession, spec: Partitioned, settings: Settings, now: dt.datetime) -> Outcome:
    """Partitions of ``spec.table`` from the current period to ``ahead`` periods on; the partitions
    wholly past retention (and not still needed) detached and dropped. Idempotent; one maintainer
    per table at a time (an advisory lock), and a short lock timeout, so a long transaction holding
    the table makes this round give up rather than queue every writer behind it."""
    outcome = Outcome()
    await session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('partitions:' || :t))"), {"t": spec.table})
    existing = [p for p in await partitions(session, spec.table) if not p.default]

    def covered(lo: dt.datetime, hi: dt.datetime) -> bool:
        return any((p.lo is None or p.lo < hi) and p.hi is not None and lo < p.hi for p in existing)

    lo = period_start(now, spec.period)
    for _ in range(ahead(spec, settings) + 1):
        hi = next_start(lo, spec.period)
        if not covered(lo, hi):
            name = partition_name(spec.table, lo, spec.period)
            made = await session.scalar(
                sa.text("SELECT partition_create(CAST(:parent AS regclass), :part, :lo, :hi)"),
                {"parent": spec.table, "part": name, "lo": lo, "hi": hi},
            )
            if made:
                outcome.created.append(name)
        lo = hi

    keep = spec.retention(settings)
    if keep is None:
        return outcome
    cutoff = now - keep
    for part in existing:
        if part.hi is None or part.hi > cutoff:
            continue
        if spec.still_needed and await session.scalar(
            sa.text("SELECT " + spec.still_needed.format(part=part.name)), {"cutoff": cutoff}
        ):
            outcome.kept.append(part.name)
            continue
        await session.execute(sa.text(f"ALTER TABLE {spec.table} DETACH PARTITION {part.name}"))
        await session.execute(sa.text(f"DROP TABLE {part.name}"))
        outcome.dropped.append(part.name)
    return outcome
