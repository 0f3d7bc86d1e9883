"""一年10件实事 for the bench city: 21 communities (spread over the streets) each with a published list
of 10 items for the current year, with progress and ratings as kept aggregates (``done_count``,
milestones' ``done_on``, rating counts), as recording activities and evaluations would leave them.

Idempotent: a community that has its list for the year is left as it is, so a reused data set gets
the lists once, whatever its number of issues."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import TYPE_CHECKING

import asyncpg
from rich.console import Console

from app.kit.ids import new_id

if TYPE_CHECKING:
    from bench.generate import World

COMMUNITIES, ITEMS = 21, 10
CATEGORIES = ("governance", "care", "service")
TARGETS: list[tuple[str, dict | None, list[dict]]] = [
    ("每月10日组织社区清洁日", {"kind": "monthly", "day": 10}, []),
    ("每季度开展一次政策宣讲", {"kind": "quarterly"}, []),
    ("全年割除杂草5次", {"kind": "at_least", "times": 5}, []),
    ("暑期开展青少年安全教育不少于2次", {"kind": "season", "times": 2, "start": "07-01", "end": "08-31"}, []),
    ("一年组织1-2次邻里节", {"kind": "range", "min": 1, "max": 2}, []),
    ("建设蔬菜大棚", None, [{"title": "选址", "due": "03-31"}, {"title": "建成", "due": "09-30"}]),
    ("每月走访独居老人", {"kind": "monthly", "day": 20}, []),
    ("全年开展义诊不少于4次", {"kind": "at_least", "times": 4}, []),
    ("加装楼道照明", None, [{"title": "完工", "due": "06-30"}]),
    ("每季度末公示居务", {"kind": "quarterly"}, []),
]


def year() -> int:
    """The year the public notice shows by default (Asia/Shanghai, as the service reckons it)."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).year


def communities(world: World) -> list:
    step = len(world.community_ids) / COMMUNITIES
    return [world.community_ids[int(i * step)] for i in range(COMMUNITIES)]


async def generate_commitments(conn: asyncpg.Connection, world: World, _n: int, console: Console) -> None:
    rnd = random.Random(10)
    this_year = year()
    chosen = communities(world)
    have = {
        r["area_id"]
        for r in await conn.fetch(
            "SELECT area_id FROM commitment_lists WHERE year = $1 AND area_id = ANY($2::uuid[])", this_year, chosen
        )
    }
    index_of = {cid: i for i, cid in enumerate(world.community_ids)}
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date()
    now = dt.datetime.now(dt.UTC)
    lists, items = [], []
    for cid in chosen:
        if cid in have:
            continue
        author = world.users[f"b_community_{index_of[cid]}"]
        approver = world.users["b_admin"]
        list_id = new_id()
        lists.append((list_id, cid, this_year, f"社区{index_of[cid]}{this_year}年一年10件实事", author, now, approver))
        for position, (title, schedule, milestones) in enumerate(TARGETS[:ITEMS], start=1):
            kept = []
            for m in milestones:
                due = f"{this_year}-{m['due']}"
                done_on = due if due <= today.isoformat() and rnd.random() < 0.7 else None
                kept.append({"title": m["title"], "due": due, "done_on": done_on})
            done = rnd.randint(0, 14) if schedule else 0
            ratings = [rnd.randint(0, 30), rnd.randint(0, 10), rnd.randint(0, 3)]
            items.append(
                (
                    new_id(),
                    list_id,
                    cid,
                    this_year,
                    position,
                    CATEGORIES[position % 3],
                    title,
                    "居民广泛征集,社区党组织研究,街道党工委审定",
                    rnd.choice([None, 50_000, 200_000, 1_000_000]),
                    json.dumps(schedule) if schedule else None,
                    json.dumps(kept),
                    done,
                    today if done else None,
                    *ratings,
                )
            )
    if not lists:
        return
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO commitment_lists (id, area_id, year, title, status, created_by, submitted_at, decided_at,"
            " decided_by, published_at) VALUES ($1, $2, $3, $4, 'published', $5, $6, $6, $7, $6)",
            lists,
        )
        await conn.executemany(
            "INSERT INTO commitment_items (id, list_id, area_id, year, position, category, title, description,"
            " budget_yuan, schedule, milestones, done_count, last_done_on, rated_satisfied, rated_basically,"
            " rated_dissatisfied) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13,"
            " $14, $15, $16)",
            items,
        )
    console.print(f"  commitment lists: {len(lists)} × {ITEMS} items ({this_year})")


async def ensure(url: str, world: World, console: Console) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await generate_commitments(conn, world, 0, console)
    finally:
        await conn.close()
