"""The scenarios: Minqing and the bare baseline on the same database, driven by wrk at the same
connections and duration, compared as ratios measured in the same run."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from rich.console import Console

from app.auth.security import issue_token
from bench import commitments_gen, harness, shop_gen
from bench.generate import World

JWT_SECRET = "bench-jwt-secret-not-for-production-0123456789"
DATA_KEY = "YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtbG9uZy0wMTI="  # 32 bytes, base64
BLIND_INDEX_KEY = "YmVuY2gtYmxpbmQtaW5kZXgta2V5LTMyLWJ5dGVzLTA="
POOL_SIZE = 20  # per worker, both apps: 16 concurrent requests per worker never wait or churn
STATS_CONNECTIONS = 4
SAMPLE = 2000  # different issues (and grids, areas) per read scenario

SCENARIOS = ("create", "get", "list", "stats", "poll", "diary", "redeem", "commitments")
GROWTH = ("get", "list", "stats")


@dataclass
class Targets:
    """Per-request targets for wrk: one list per scenario, each row ``(path, token, etag, *args)``."""

    create: list[tuple[str, ...]]
    create_baseline: list[tuple[str, ...]]
    get: list[tuple[str, ...]]
    get_baseline: list[tuple[str, ...]]
    list: list[tuple[str, ...]]
    list_baseline: list[tuple[str, ...]]
    stats: list[tuple[str, ...]]
    diary: list[tuple[str, ...]]


def _token(user_id: uuid.UUID, role: str) -> str:
    return issue_token(user_id=user_id, role=role, secret=JWT_SECRET, ttl_seconds=6 * 3600, issuer="minqing")[0]


def _street_of(world: World) -> dict[uuid.UUID, int]:
    """Grid id → index of its street (grids are generated street by street)."""
    per_street = len(world.grid_ids) // len(world.street_ids)
    return {g: i // per_street for i, g in enumerate(world.grid_ids)}


async def _compact(url: str) -> None:
    """Fold the stats delta rows, as the webhook/stats worker does every minute in production
    (``stats_compact_seconds``): the measured workers run without it, and delta rows left by
    earlier runs' creates would otherwise pile up under the streets and the district."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("SELECT stats_compact(), stats_compact_subtree()")
    finally:
        await conn.close()


def compact(url: str) -> None:
    asyncio.run(_compact(url))


async def _targets(url: str, world: World) -> Targets:
    rnd = random.Random(7)
    street_tokens = [_token(world.users[f"b_street_{s}"], "street_admin") for s in range(len(world.street_ids))]
    street_of = _street_of(world)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        pct = min(100.0, 100.0 * SAMPLE * 3 / max(world.issues, 1))
        rows = await conn.fetch(f"SELECT id, area_id FROM issues TABLESAMPLE BERNOULLI ({pct}) LIMIT {SAMPLE}")
    finally:
        await conn.close()
    rows = list(rows)
    rnd.shuffle(rows)
    grids = rnd.sample(world.grid_ids, min(SAMPLE, len(world.grid_ids)))
    create, create_baseline = [], []
    for g in grids[:500]:
        x0, y0, x1, y1 = world.grid_bbox[g]
        token = street_tokens[street_of[g]]
        create.append(("/api/v1/issues", token, "", str(g), str(x0), str(y0), str(x1), str(y1)))
        create_baseline.append(("/issues", "", "", str(g), str(x0), str(y0), str(x1), str(y1)))
    today = dt.date.today()
    stats = [
        (f"/api/v1/stats/overview?area_id={sid}&to={today - dt.timedelta(days=d)}", street_tokens[s], "")
        for s, sid in enumerate(world.street_ids)
        for d in range(10)
    ]
    rnd.shuffle(stats)
    workers = [(f"b_grid_{g}", g) for g in rnd.sample(range(len(world.grid_ids)), 200)]
    return Targets(
        create=create,
        create_baseline=create_baseline,
        get=[(f"/api/v1/issues/{r['id']}", street_tokens[street_of[r["area_id"]]], "") for r in rows],
        get_baseline=[(f"/issues/{r['id']}", "", "") for r in rows],
        list=[(f"/api/v1/issues?area_id={g}&limit=50", street_tokens[street_of[g]], "") for g in grids],
        list_baseline=[(f"/issues?grid={g}", "", "") for g in grids],
        stats=stats,
        diary=[("/api/v1/diary-entries/batch", _token(world.users[u], "grid_worker"), "") for u, _ in workers],
    )


def minqing_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "MINQING_JWT_SECRET": JWT_SECRET,
        "MINQING_DATA_KEY": DATA_KEY,
        "MINQING_BLIND_INDEX_KEY": BLIND_INDEX_KEY,
        "MINQING_ACCESS_LOG": "false",
        "MINQING_RUN_WORKER_IN_PROCESS": "false",
        "MINQING_DB_POOL_SIZE": str(POOL_SIZE),
    }


@contextmanager
def minqing(url: str, workers: int, replicas: list[str] | None = None) -> Iterator[tuple[str, object]]:
    port = harness.free_port()
    exe = str(Path(harness.python()).with_name("minqing"))
    cmd = [exe, "serve", "--workers", str(workers), "--no-migrate", "--port", str(port)]
    env = minqing_env(url)
    if replicas:
        env["MINQING_DATABASE_REPLICA_URLS"] = ",".join(replicas)
    with harness.server(cmd, env=env, port=port, ready_path="/ready", name="minqing") as proc:
        yield f"http://127.0.0.1:{port}", proc


@contextmanager
def baseline(url: str, workers: int) -> Iterator[str]:
    port = harness.free_port()
    env = {
        **os.environ,
        "BENCH_BASELINE_DSN": url.replace("postgresql+asyncpg://", "postgresql://"),
        "BENCH_BASELINE_POOL": str(POOL_SIZE),
    }
    cmd = [harness.python(), "-m", "uvicorn", "bench.baseline:app", "--port", str(port), "--workers", str(workers)]
    cmd += ["--no-access-log", "--log-level", "warning"]
    with harness.server(cmd, env=env, port=port, ready_path="/ready", name="baseline"):
        yield f"http://127.0.0.1:{port}"


def _with_etags(base: str, rows: list[tuple[str, ...]], seconds_needed: int) -> list[tuple[str, ...]]:
    """The current stats ETag of every path; waits for a fresh minute when the current one would
    end during the run (the ETag carries the minute, for the "now" figures)."""
    if 60 - time.time() % 60 < seconds_needed + len(rows) * 0.05 + 2:
        time.sleep(60 - time.time() % 60 + 0.5)
    out = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for path, token, *_ in rows:
            r = client.get(path, headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
            out.append((path, token, r.headers["etag"]))
    return out


def _row(
    r: harness.Result, *, baseline_rps: float | None = None, minimum: float | None = None, **limits: float
) -> dict:
    row = r.as_dict()
    row["baseline_rps"] = baseline_rps
    row["ratio"] = r.rps / baseline_rps if baseline_rps else None
    ok = r.errors == 0
    if minimum is not None and row["ratio"] is not None:
        ok = ok and row["ratio"] >= minimum
    for key, limit in limits.items():
        ok = ok and row[key] <= limit
    row["ok"] = ok
    return row


def _redeem_targets(url: str, world: World) -> list[tuple[str, ...]]:
    """One row per generated volunteer: a community admin's token, the volunteer and an item of
    their community (``bench/shop_gen.py``); consecutive rows are different communities."""
    shop = asyncio.run(shop_gen.ensure(url, world))
    tokens: dict[int, str] = {}
    rows = []
    for c, volunteer, item in shop.pairs:
        if c not in tokens:
            tokens[c] = _token(world.users[f"b_community_{c}"], "community_admin")
        rows.append(("/api/v1/shop/redemptions", tokens[c], "", str(volunteer), str(item)))
    return rows


def _redeem(
    url: str,
    rows: list[tuple[str, ...]],
    world: World,
    drive: Callable[..., harness.Result],
    base: str,
    name: str,
    target: str,
    connections: int,
    notes: dict,
    console: Console,
) -> harness.Result:
    """Refill the shop, redeem, then check the books in the database (see ``shop_gen.books``)."""
    asyncio.run(shop_gen.refill(url, world))
    before = asyncio.run(shop_gen.snapshot(url))
    res = drive(base, rows, name, target, method="POST", gen="redeem", idempotent=True, count_statuses=True,
                connections=connections)  # fmt: skip
    time.sleep(1)  # requests in flight when wrk stopped still commit
    created = int((res.statuses or {}).get("201", 0))
    books = asyncio.run(shop_gen.books(url, before, created))
    books["statuses"] = res.statuses or {}
    notes[f"{name}: the books after the run"] = books
    console.print(f"  overspend: {books['overspend']}")
    return res


def _books_row(row: dict, notes: dict, connections: int) -> dict:
    """A redemption run's row judged on its books too: no overspend, balances = Σ entries, stock =
    refill − taken, and as many redemptions stored as 201s seen, or up to ``connections`` more
    (wrk stops with requests in flight: the service still stores them, wrk never sees their 201)."""
    books = notes[f"{row['scenario']}: the books after the run"]
    in_flight = books["redemptions_stored"] - books["created_201"]
    row["overspend"] = books["overspend"]
    row["ok"] = (
        row["ok"]
        and books["overspend"] == 0
        and books["unbalanced_accounts"] == 0
        and books["stock_mismatched"] == 0
        and 0 <= in_flight <= connections
    )
    return row


def run_all(
    url: str,
    world: World,
    *,
    duration: int,
    connections: int,
    workers: int,
    only: set[str],
    console: Console,
) -> tuple[list[dict], dict]:
    wanted = [s for s in SCENARIOS if not only or s in only]
    compact(url)
    targets = asyncio.run(_targets(url, world))
    stats_limit = 100.0 if world.issues >= 10_000_000 else 50.0
    results: list[dict] = []
    notes: dict = {}
    common = {"connections": connections, "duration": duration}
    with ExitStack() as stack:
        m, mproc = stack.enter_context(minqing(url, workers))
        b = stack.enter_context(baseline(url, workers))

        def drive(base: str, rows: list[tuple[str, ...]], name: str, target: str, **kw: object) -> harness.Result:
            console.print(f"  {name} → {base}")
            seconds = int(kw.get("duration", duration))  # type: ignore[call-overload]
            profiled = harness.profiled(mproc if base == m and name != "warm-up" else None, name, seconds)  # type: ignore[arg-type]
            with profiled, harness.cpu_per_request(base) as cpu:
                return cpu(harness.run_wrk(base, rows, scenario=name, target=target, **{**common, **kw}))  # type: ignore[arg-type]

        for rows in (targets.get[:50], targets.list[:50], targets.stats):  # warm both apps' pools and plans
            drive(m, rows, "warm-up", "", duration=2)
        drive(b, targets.get_baseline[:50], "warm-up", "", duration=2)

        def against(
            mine: Callable[[], harness.Result], ref: Callable[[], harness.Result], label: str
        ) -> tuple[harness.Result, float]:
            """Minqing's run between two runs of the baseline: the machine drifts (a shared VM), and
            the mean of the runs before and after cancels a steady drift out of the ratio."""
            before = ref()
            res = mine()
            after = ref()
            notes[f"baseline for {label} (before, after)"] = [round(before.rps), round(after.rps)]
            notes[f"baseline p99 ms for {label} (before, after)"] = [round(before.p99_ms, 1), round(after.p99_ms, 1)]
            notes[f"baseline CPU ms per request for {label} (workers, PostgreSQL; before, after)"] = [
                (before.app_cpu_ms, before.db_cpu_ms),
                (after.app_cpu_ms, after.db_cpu_ms),
            ]
            return res, (before.rps + after.rps) / 2

        select = lambda: drive(b, targets.get_baseline, "baseline select", "")  # noqa: E731
        if "create" in wanted:
            target = "≥ 0.5 × baseline insert"
            res, ref_rps = against(
                lambda: drive(m, targets.create, "create issue", target, method="POST", gen="issue", idempotent=True),
                lambda: drive(
                    b, targets.create_baseline, "baseline insert", "", method="POST", gen="issue", with_area=True
                ),
                "create",
            )
            results.append(_row(res, baseline_rps=ref_rps, minimum=0.5))
            compact(url)  # what the worker would have folded by the time the next minute starts
        if "get" in wanted:
            res, ref_rps = against(lambda: drive(m, targets.get, "get issue", "≥ 0.7 × baseline select"), select, "get")
            results.append(_row(res, baseline_rps=ref_rps, minimum=0.7))
        if "list" in wanted:
            res, ref_rps = against(
                lambda: drive(m, targets.list, "list issues of a grid (50)", "≥ 0.5 × baseline list, p99 ≤ 50 ms"),
                lambda: drive(b, targets.list_baseline, "baseline list", ""),
                "list",
            )
            results.append(_row(res, baseline_rps=ref_rps, minimum=0.5, p99_ms=50.0))
            # At 32 connections a latency is mostly queueing (Little's law: mean = connections ÷
            # throughput, already ~50 ms for the baseline itself); a phone user sees this one.
            few = {"connections": STATS_CONNECTIONS}
            low, ref_rps = against(
                lambda: drive(m, targets.list, f"list issues ({STATS_CONNECTIONS} conn.)", "(information)", **few),
                lambda: drive(b, targets.list_baseline, "baseline list (few conn.)", "", **few),
                "list at few connections",
            )
            results.append(_row(low, baseline_rps=ref_rps))
        if "stats" in wanted:
            # A wall screen is a handful of concurrent readers; at 32 connections the p95 is queueing
            # (latency = connections ÷ throughput), reported alongside without a target.
            name = f"stats overview, street, 30 days ({STATS_CONNECTIONS} conn.)"
            res = drive(m, targets.stats, name, f"p95 ≤ {stats_limit:.0f} ms", connections=STATS_CONNECTIONS)
            results.append(_row(res, p95_ms=stats_limit))
            res = drive(m, targets.stats, f"stats overview ({connections} conn.)", "(information)")
            results.append(_row(res))
        if "poll" in wanted:
            rows = _with_etags(m, targets.stats, 3 * duration)
            res, ref_rps = against(
                lambda: drive(m, rows, "stats polling (304)", "≥ 0.8 × baseline select"), select, "polling"
            )
            results.append(_row(res, baseline_rps=ref_rps, minimum=0.8))
        if "redeem" in wanted:
            redeem_rows = _redeem_targets(url, world)
            drive(m, redeem_rows[:50], "warm-up", "", method="POST", gen="redeem", idempotent=True, duration=2)
            name = f"爱心超市 redemptions ({connections} conn.)"
            res, ref_rps = against(
                lambda: _redeem(
                    url, redeem_rows, world, drive, m, name, "p95 ≤ 100 ms, 0 overspend", connections, notes, console
                ),
                lambda: drive(
                    b, targets.create_baseline, "baseline insert", "", method="POST", gen="issue", with_area=True
                ),
                "redemptions",
            )
            results.append(_books_row(_row(res, baseline_rps=ref_rps, p95_ms=100.0), notes, connections))
            # A shop's counters are a handful of clients: the latency they see, without the queue of 32.
            name = f"爱心超市 redemptions ({STATS_CONNECTIONS} conn.)"
            res = _redeem(
                url, redeem_rows, world, drive, m, name, "(information), 0 overspend", STATS_CONNECTIONS, notes, console
            )
            results.append(_books_row(_row(res), notes, STATS_CONNECTIONS))
        if "diary" in wanted:
            res = drive(m, targets.diary, "diary batch of 500", "p50 ≤ 500 ms", method="POST", gen="diary",
                        connections=4)  # fmt: skip
            results.append(_row(res, p50_ms=500.0))
        if "commitments" in wanted:
            results.append(_public_commitments(url, world, m, drive, notes, console))
        rss = harness.worker_rss_mb(mproc)  # type: ignore[arg-type]
    notes["worker_rss_mb"] = rss
    results.append(
        {
            "scenario": "memory per worker (RSS after the run)",
            "target": "≤ 200 MB",
            "rss_mb": max(rss) if rss else None,
            "ok": bool(rss) and max(rss) <= 200,
        }
    )
    return results, notes


NODES = ("list", "poll")


def _replica_reads(base: str) -> dict[str, float]:
    """``minqing_db_replica_reads_total`` by server, from /metrics: which node served the reads."""
    text = httpx.get(base + "/metrics", timeout=10).text
    reads: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("minqing_db_replica_reads_total{"):
            labels, value = line.rsplit(" ", 1)
            server = labels.split('server="', 1)[1].split('"', 1)[0]
            reads[server] = reads.get(server, 0.0) + float(value)
    return reads


def run_nodes(
    url: str,
    standby_url: str,
    world: World,
    *,
    duration: int,
    connections: int,
    workers: int,
    console: Console,
) -> tuple[list[dict], dict]:
    """A grid's list and stats polling with one database node, then with two: the primary and a hot
    standby of it as a read replica (``MINQING_DATABASE_REPLICA_URLS``), which serves the lists and
    the stats reads that tolerate lag. Same service, same targets, same wrk settings."""
    compact(url)
    targets = asyncio.run(_targets(url, world))
    results: list[dict] = []
    notes: dict = {}
    for label, replicas in (("1 node", []), ("2 nodes", [standby_url])):
        with minqing(url, workers, replicas) as (m, _):
            for rows in (targets.list[:50], targets.stats):  # warm the pools and plans on every node
                harness.run_wrk(m, rows, scenario="warm-up", target="", connections=connections, duration=2)
            before = _replica_reads(m) if replicas else {}
            for name in NODES:
                if name == "list":
                    rows, scenario = targets.list, "list issues of a grid (50)"
                else:
                    rows, scenario = _with_etags(m, targets.stats, duration), "stats polling (304)"
                console.print(f"  {scenario}, {label}")
                res = harness.run_wrk(
                    m, rows, scenario=f"{scenario}, {label}", target="(information)",
                    connections=connections, duration=duration,
                )  # fmt: skip
                results.append(_row(res))
            if replicas:
                after = _replica_reads(m)
                notes["reads served by each node with 2 nodes (requests)"] = {
                    k: round(v - before.get(k, 0.0)) for k, v in sorted(after.items())
                }
    for name in ("list issues of a grid (50)", "stats polling (304)"):
        one = next(r for r in results if r["scenario"] == f"{name}, 1 node")
        two = next(r for r in results if r["scenario"] == f"{name}, 2 nodes")
        notes[f"{name}: 2 nodes ÷ 1 node"] = round(two["rps"] / one["rps"], 2) if one["rps"] else None
    return results, notes


def _public_commitments(
    url: str, world: World, base: str, drive: Callable[..., harness.Result], notes: dict, console: Console
) -> dict:
    """The district's public notice of commitments (一年10件实事公示): 21 communities × 10 items with
    their progress and ratings, read from the kept aggregates, without login and without
    ``If-None-Match`` (every request builds the notice)."""
    asyncio.run(commitments_gen.ensure(url, world, console))
    path = f"/api/v1/public/commitments/{world.district_id}?year={commitments_gen.year()}"
    notice = httpx.get(base + path, timeout=10).raise_for_status().json()
    notes["public commitments notice (lists, items, bytes)"] = [
        len(notice["lists"]),
        notice["summary"]["items"],
        len(httpx.get(base + path, timeout=10).content),
    ]
    rows = [(path, "", "")]
    # Residents read the notice from many addresses through the reverse proxy: each request carries
    # one of 65,536 (X-Forwarded-For), so the per-address limit (its default) counts as in
    # production, where wrk's one address would make every request update one counter row.
    drive(base, rows, "warm-up", "", duration=2, forwarded=True)
    res = drive(base, rows, "public commitments, district (21 × 10)", "p95 ≤ 50 ms", forwarded=True)
    return _row(res, p95_ms=50.0)


def run_growth(
    small: tuple[str, World],
    large: tuple[str, World],
    *,
    duration: int,
    connections: int,
    workers: int,
    console: Console,
) -> tuple[list[dict], dict]:
    """p95 of get, list and stats at two sizes; the cost of growth is their ratio (≤ 1.3)."""
    figures: dict[str, dict[str, harness.Result]] = {}
    for label, (url, world) in (("small", small), ("large", large)):
        compact(url)
        targets = asyncio.run(_targets(url, world))
        with minqing(url, workers) as (m, _):
            rows = {"get": targets.get, "list": targets.list, "stats": targets.stats}
            for name in GROWTH:
                harness.run_wrk(m, rows[name][:50], scenario="warm-up", target="", connections=connections, duration=2)
                console.print(f"  {name} at {world.issues:,} issues")
                figures.setdefault(name, {})[label] = harness.run_wrk(
                    m, rows[name], scenario=name, target="", connections=connections, duration=duration
                )
    results = []
    for name in GROWTH:
        s, big = figures[name]["small"], figures[name]["large"]
        ratio = big.p95_ms / s.p95_ms if s.p95_ms else None
        results.append(
            {
                "scenario": f"cost growth: {name} p95 {small[1].issues:,} → {large[1].issues:,}",
                "target": "≤ 1.3 ×",
                "rps": big.rps,
                "p50_ms": big.p50_ms,
                "p95_ms": big.p95_ms,
                "p99_ms": big.p99_ms,
                "small_p95_ms": s.p95_ms,
                "ratio": ratio,
                "errors": s.errors + big.errors,
                "ok": ratio is not None and ratio <= 1.3 and s.errors + big.errors == 0,
            }
        )
    return results, {}
