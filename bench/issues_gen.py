"""N issues over two years with their timelines, loaded with COPY.

Issues are generated oldest first in chunks (bounded memory), with UUIDv7 ids minted from their
creation time, SLA columns consistent with the default policies, and one timeline event per step
the issue went through. The load runs with triggers and foreign-key checks off
(``session_replication_role = replica``) and the secondary indexes dropped, then rebuilds the
indexes, the stats aggregates (``stats_rebuild``) and the number counters once.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from typing import TYPE_CHECKING

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:
    from bench.generate import World

CHUNK = 20_000
DAYS = 730
LOCAL = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, no DST
HOUR = 3600.0
DAY = 86400.0

CATEGORIES = [
    "property", "dispute", "environment", "lighting", "sewage", "ev_charging", "safety_hazard",
    "public_order", "subsistence_allowance", "social_security", "employment", "elderly_care", "other",
]  # fmt: skip
TITLES = {
    "property": ["物业不作为", "小区电梯故障", "楼道堆物", "物业费争议"],
    "dispute": ["邻里噪音纠纷", "楼上漏水纠纷", "停车位纠纷"],
    "environment": ["垃圾清运不及时", "绿化带脏乱", "污水外溢"],
    "lighting": ["路灯不亮", "楼道灯损坏"],
    "sewage": ["下水道堵塞", "化粪池满溢"],
    "ev_charging": ["充电桩故障", "飞线充电"],
    "safety_hazard": ["消防通道堵塞", "危房隐患", "燃气泄漏隐患"],
    "public_order": ["夜间扰民", "占道经营"],
    "subsistence_allowance": ["低保申请咨询", "低保资格复核"],
    "social_security": ["医保报销咨询", "社保转移"],
    "employment": ["求职帮扶", "灵活就业登记"],
    "elderly_care": ["独居老人照护", "助餐服务"],
    "other": ["其他诉求"],
}
KINDS = ["complaint"] * 4 + ["help"] * 3 + ["consultation"] * 2 + ["report", "suggestion", "praise"]
CHANNELS = ["patrol"] * 4 + ["hotline"] * 3 + ["diary"] * 2 + ["walk_in", "phone", "app", "petition", "open311"]
PRIORITIES = ["normal"] * 14 + ["high"] * 4 + ["urgent", "low"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"

# Final status of issues older than a month, and of recent ones (weights).
OLD = {"closed": 86, "rejected": 3, "merged": 2, "verified": 2, "resolved": 2, "in_progress": 2, "suspended": 1}
OLD |= {"dispatched": 1, "accepted": 1}
RECENT = {"reported": 10, "accepted": 10, "dispatched": 12, "in_progress": 15, "suspended": 3, "resolved": 10}
RECENT |= {"verified": 5, "closed": 30, "rejected": 3, "merged": 2}
# The steps behind each final status: (action, from, to).
PATHS = {
    "reported": [],
    "rejected": [("reject", "reported", "rejected")],
    "merged": [("merge", "reported", "merged")],
    "accepted": [("accept", "reported", "accepted")],
    "dispatched": [("accept", "reported", "accepted"), ("dispatch", "accepted", "dispatched")],
}
PATHS["in_progress"] = PATHS["dispatched"] + [("start", "dispatched", "in_progress")]
PATHS["suspended"] = PATHS["in_progress"] + [("suspend", "in_progress", "suspended")]
PATHS["resolved"] = PATHS["in_progress"] + [("resolve", "in_progress", "resolved")]
PATHS["verified"] = PATHS["resolved"] + [("verify", "resolved", "verified")]
PATHS["closed"] = PATHS["verified"] + [("close", "verified", "closed")]
OPEN = {"reported", "accepted", "dispatched", "in_progress", "suspended", "resolved", "verified"}

ISSUE_COLUMNS = [
    "id", "number", "title", "description", "kind", "category", "channel", "priority", "status", "tier",
    "area_id", "lat", "lng", "address", "reporter_name", "reporter_phone", "created_by", "assignee_user_id",
    "resolved_by", "outcome", "resolution", "rating", "solved", "evaluated_at", "escalated",
    "respond_amount", "respond_unit", "resolve_amount", "resolve_unit", "resolve_started_at", "respond_due_at",
    "resolve_due_at", "due_at", "due_soon_at", "first_responded_at", "dispatched_at", "resolved_at", "closed_at",
    "suspended_since", "last_event_seq", "version", "created_at", "updated_at",
]  # fmt: skip
EVENT_COLUMNS = ["issue_id", "seq", "action", "from_status", "to_status", "actor_id", "actor_role", "created_at"]


def _uuid7(ts: float, rnd: random.Random) -> uuid.UUID:
    ms = int(ts * 1000)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rnd.getrandbits(12) << 64) | (0b10 << 62) | rnd.getrandbits(62))


def _weighted(weights: dict[str, int]) -> list[str]:
    return [k for k, w in weights.items() for _ in range(w)]


def _working_days_later(start: dt.datetime, days: int) -> dt.datetime:
    """Approximates 3 working days: weekends are skipped, holidays are not."""
    out = start
    while days:
        out += dt.timedelta(days=1)
        if out.astimezone(LOCAL).weekday() < 5:
            days -= 1
    return out


async def generate_issues(conn: asyncpg.Connection, world: World, n: int, console: Console) -> None:
    have = await conn.fetchval("SELECT count(*) FROM issues")
    if have >= n:  # a benchmark run adds issues; the database is per size
        return
    t0 = time.monotonic()
    rnd = random.Random(20261123)
    old_statuses, recent_statuses = _weighted(OLD), _weighted(RECENT)
    grids = world.grid_ids
    worker_of = {gid: world.users[f"b_grid_{g}"] for g, gid in enumerate(grids)}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=DAYS)
    step = DAYS * DAY / n
    counters: dict[str, int] = {}

    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")  # no triggers, no FK checks
        await conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        await conn.execute("TRUNCATE issues, issue_number_counters, outbox, change_log CASCADE")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('issues', 'issue_events') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        for ix in indexes:
            await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
        with Progress(
            TextColumn("  issues"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
        ) as progress:
            task = progress.add_task("issues", total=n)
            for first in range(0, n, CHUNK):
                issues, events = [], []
                for i in range(first, min(n, first + CHUNK)):
                    created = start + dt.timedelta(seconds=i * step + rnd.random() * step)
                    _issue(rnd, created, now, grids, world, worker_of, counters, old_statuses, recent_statuses,
                           issues, events)  # fmt: skip
                await conn.copy_records_to_table("issues", records=issues, columns=ISSUE_COLUMNS)
                await conn.copy_records_to_table("issue_events", records=events, columns=EVENT_COLUMNS)
                progress.advance(task, len(issues))
        console.print(f"  issues copied in {time.monotonic() - t0:.0f} s; rebuilding {len(indexes)} indexes …")
        for ix in indexes:
            # ``issue_events`` is partitioned: its indexes print as ``ON ONLY`` (the parent alone);
            # created on the whole table they are built on every partition.
            await conn.execute(ix["indexdef"].replace(" ON ONLY ", " ON ", 1))
        await conn.execute(
            "INSERT INTO issue_number_counters (prefix, day, last_value) "
            "SELECT split_part(number, '-', 1), to_date(split_part(number, '-', 2), 'YYYYMMDD'), "
            "max(split_part(number, '-', 3)::int) FROM issues GROUP BY 1, 2"
        )
        await conn.execute("SELECT stats_rebuild()")
    await conn.execute(
        "VACUUM (ANALYZE) issues, issue_events, stats_issue_daily, stats_issue_rollup, stats_area_changes"
    )
    console.print(f"  {n:,} issues with their events and aggregates in {time.monotonic() - t0:.0f} s")


def _issue(rnd, created, now, grids, world, worker_of, counters, old_statuses, recent_statuses, issues, events):
    r = rnd.random
    gi = rnd.randrange(len(grids))
    grid = grids[gi]
    x0, y0, x1, y1 = world.grid_bbox[grid]
    worker = worker_of[grid]
    category = CATEGORIES[int(r() * len(CATEGORIES))]
    kind = KINDS[int(r() * len(KINDS))]
    priority = PRIORITIES[int(r() * len(PRIORITIES))]
    recent = (now - created).total_seconds() < 30 * DAY
    status = (recent_statuses if recent else old_statuses)[int(r() * 100)]  # both weight lists sum to 100
    titles = TITLES[category]
    title = titles[int(r() * len(titles))]

    if priority == "urgent":
        respond, resolve, resolve_unit = 2.0, 24.0, "hours"
    elif kind in ("consultation", "help"):
        respond, resolve, resolve_unit = 24.0, 3.0, "working_days"
    else:
        respond, resolve, resolve_unit = 24.0, 168.0, "hours"
    respond_due = created + dt.timedelta(hours=respond)
    resolve_due = (
        _working_days_later(created, 3) if resolve_unit == "working_days" else created + dt.timedelta(hours=resolve)
    )
    window = (resolve_due - created).total_seconds()

    path = PATHS[status]
    steps = [p[0] for p in path]
    times = [created]
    t = created
    first_responded = dispatched = resolved = closed = suspended = evaluated = None
    for action in steps:
        if action in ("accept", "reject", "merge"):
            # ~90 % answered within the response window
            t = t + dt.timedelta(seconds=rnd.expovariate(1 / (respond * HOUR * 0.4)))
            first_responded = t
        elif action == "dispatch":
            t = t + dt.timedelta(seconds=rnd.expovariate(1 / (2 * HOUR)))
            dispatched = t
        elif action == "start":
            t = t + dt.timedelta(seconds=rnd.expovariate(1 / HOUR))
        elif action == "suspend":
            t = t + dt.timedelta(seconds=rnd.expovariate(1 / (window * 0.3)))
            suspended = t
        elif action == "resolve":
            t = t + dt.timedelta(seconds=rnd.expovariate(1 / (window * 0.45)))  # ~85 % on time
            resolved = t
        elif action == "verify":
            t = t + dt.timedelta(seconds=rnd.expovariate(1 / (6 * HOUR)))
        elif action == "close":
            t = t + dt.timedelta(seconds=rnd.expovariate(1 / DAY))
            closed = evaluated = t
        times.append(t)
    if t > now:  # a recent issue cannot have moved in the future: squeeze its timeline into the past
        span = (t - created).total_seconds() or 1.0
        room = (now - created).total_seconds() * 0.95
        times = [created + dt.timedelta(seconds=(x - created).total_seconds() * room / span) for x in times]
        stamps = dict(zip(steps, times[1:], strict=True))
        first_responded = stamps.get("accept") or stamps.get("reject") or stamps.get("merge")
        dispatched = stamps.get("dispatch")
        suspended = stamps.get("suspend")
        resolved = stamps.get("resolve")
        closed = evaluated = stamps.get("close")

    due = due_soon = None
    if status == "reported":
        due, due_soon = respond_due, respond_due - dt.timedelta(hours=respond * 0.2)
    elif status in ("accepted", "dispatched", "in_progress", "suspended"):
        due, due_soon = resolve_due, resolve_due - dt.timedelta(seconds=window * 0.2)

    rating = solved = outcome = resolution = None
    if resolved is not None:
        outcome = "solved" if r() < 0.8 else "answered"
        resolution = "已处理完毕"
    if closed is not None:
        x = r()
        rating = "satisfied" if x < 0.72 else "basically_satisfied" if x < 0.92 else "dissatisfied"
        solved = r() < 0.9
    tier = "grid" if r() < 0.8 else "community" if r() < 0.75 else "street"
    local_day = created.astimezone(LOCAL).strftime("%Y%m%d")
    seq = counters[local_day] = counters.get(local_day, 0) + 1
    issue_id = _uuid7(created.timestamp(), rnd)
    surname = SURNAMES[int(r() * len(SURNAMES))]
    assignee = worker if dispatched is not None else None
    issues.append(
        (
            issue_id,
            f"BENCH-{local_day}-{seq:06d}",
            title,
            f"{surname}先生反映：{title}，请尽快处理。",
            kind,
            category,
            CHANNELS[int(r() * len(CHANNELS))],
            priority,
            status,
            tier,
            grid,
            y0 + r() * (y1 - y0),
            x0 + r() * (x1 - x0),
            f"{gi % 50 + 1}号楼{int(r() * 6) + 1}单元",
            surname + "某",
            f"138{int(r() * 1e8):08d}",
            worker,
            assignee,
            worker if resolved is not None else None,
            outcome,
            resolution,
            rating,
            solved,
            evaluated,
            tier != "grid",
            respond,
            "hours",
            resolve,
            resolve_unit,
            first_responded if first_responded is not None and status not in ("rejected", "merged") else created,
            respond_due,
            resolve_due,
            due,
            due_soon,
            first_responded,
            dispatched,
            resolved,
            closed,
            suspended,
            len(steps) + 1,
            len(steps) + 1,
            created,
            times[-1],
        )
    )
    events.append((issue_id, 1, "create", None, "reported", worker, "grid_worker", created))
    for k, (action, before, after) in enumerate(path):
        events.append((issue_id, k + 2, action, before, after, worker, "grid_worker", times[k + 1]))
