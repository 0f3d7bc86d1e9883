"""Helpers for stats tests: a movable clock and direct database access."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from app.kit import clock

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> dt.datetime:
    """``"2026-11-03 09:00"`` in Asia/Shanghai, as an aware UTC instant."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(dt.UTC)


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.current = dt.datetime.now(dt.UTC)
        monkeypatch.setattr(clock, "now", lambda: self.current)

    def at(self, text: str) -> None:
        self.current = local(text)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        yield conn
    finally:
        await conn.close()


KEYS = {
    "stats_issue_daily": ("area_id", "category", "day"),
    "stats_issue_rollup": ("area_id", "category", "day"),
    "stats_diary_daily": ("area_id", "day"),
    "stats_dispute_daily": ("area_id", "day"),
}


async def aggregates(conn: asyncpg.Connection) -> dict[str, dict[tuple, tuple]]:
    """Per table: key → summed counters, for keys whose sums are not all 0 (zero equals absent)."""
    out = {}
    for table, keys in KEYS.items():
        out[table] = {}
        for row in await conn.fetch(f"SELECT * FROM {table}"):
            key = tuple(row[k] for k in keys)
            values = [v for k, v in row.items() if k not in keys and k != "fresh"]
            current = out[table].get(key, (0,) * len(values))
            out[table][key] = tuple(a + b for a, b in zip(current, values, strict=True))
        out[table] = {k: v for k, v in out[table].items() if any(v)}
    return out


async def assert_aggregates_match_rebuild(conn: asyncpg.Connection) -> None:
    kept = await aggregates(conn)
    await conn.execute("SELECT stats_compact()")
    assert await aggregates(conn) == kept, "compaction changed a sum"
    negative = await conn.fetchval("SELECT count(*) FROM stats_issue_daily WHERE LEAST(created, closed) < 0")
    assert negative == 0
    await conn.execute("SELECT stats_rebuild()")
    rebuilt = await aggregates(conn)
    for table in kept:
        assert kept[table] == rebuilt[table], f"{table}: trigger-kept aggregates differ from a rebuild"
