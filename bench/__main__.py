"""``python -m bench`` (``make bench``): generate a city, start Minqing and the bare baseline on the
same PostgreSQL, drive both with wrk, print absolute figures and ratios."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bench import harness

app = typer.Typer(add_completion=False)
console = Console(width=170)
ROOT = harness.ROOT


def _database_name(issues: int) -> str:
    """One database per size, so a 100k and a 1M city live side by side (``--growth``)."""
    label = f"{issues // 1_000_000}m" if issues % 1_000_000 == 0 else f"{issues // 1000}k"
    return f"minqing_bench_{label}"


def _shared_buffers_gb() -> int:
    """A quarter of the machine's memory (the usual sizing), in whole GB: 6 GB on 24 GB."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, round(ram / 4 / 2**30))


TUNING = (
    "ALTER SYSTEM SET shared_buffers = '{shared_buffers}GB'; ALTER SYSTEM SET max_connections = 200; "
    "ALTER SYSTEM SET synchronous_commit = off; ALTER SYSTEM SET work_mem = '16MB'; "
    "ALTER SYSTEM SET max_wal_size = '8GB'; ALTER SYSTEM SET maintenance_work_mem = '1GB'; "
    "ALTER SYSTEM SET effective_cache_size = '8GB'; ALTER SYSTEM SET random_page_cost = 1.1;"
)


def _start_server(data_dir: Path, databases: list[str]) -> tuple[object | None, list[str]]:
    """The embedded server in ``data_dir`` (None with ``BENCH_DATABASE_URL``) and each database's URL."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return None, [url] * len(databases)
    from app import dbserver

    server, _ = dbserver.start(data_dir, cleanup="stop", database=databases[0])
    shared_buffers = _shared_buffers_gb()
    # Tuned once; a restart applies it.
    if dbserver.psql(server, "SHOW shared_buffers").strip() != f"{shared_buffers}GB":
        dbserver.psql(server, TUNING.format(shared_buffers=shared_buffers))
        sockets = dbserver.socket_dir(server)
        dbserver.pg_ctl(data_dir, "-w", "-m", "fast", "stop")
        dbserver.start_again(data_dir, sockets)
    for name in databases[1:]:
        dbserver.ensure_database(server, name)
    return server, [dbserver.url_of(server, name) for name in databases]


def _start_standby(server: object | None, database: str) -> str:
    """A hot standby of the bench's server, made afresh (``pg_basebackup -R``) in var/bench-pg-standby:
    the second database node of ``--nodes``. ``BENCH_REPLICA_URL`` points at another one instead."""
    url = os.environ.get("BENCH_REPLICA_URL")
    if url:
        return url
    if server is None:
        raise SystemExit("--nodes with BENCH_DATABASE_URL needs BENCH_REPLICA_URL (a hot standby of it)")
    import shutil

    from app import dbserver

    standby = ROOT / "var" / "bench-pg-standby"
    dbserver.stop(standby)
    shutil.rmtree(standby, ignore_errors=True)
    shutil.rmtree(standby.parent / f"{standby.name}-socket", ignore_errors=True)
    t0 = time.monotonic()
    url = dbserver.start_standby(server, standby, database)
    console.print(f"hot standby ready in {time.monotonic() - t0:.0f} s (var/bench-pg-standby)")
    return url


def _migrate(url: str) -> None:
    from alembic import command

    from app.migrations_state import alembic_config

    command.upgrade(alembic_config(url), "head")


def _prepare(url: str, issues: int, regenerate: bool) -> tuple[object, float]:
    from bench import generate

    _migrate(url)
    t0 = time.monotonic()
    world = asyncio.run(generate.ensure(url, issues=issues, regenerate=regenerate, console=console))
    seconds = time.monotonic() - t0
    console.print(f"data ready in {seconds:.0f} s: {world.summary()}")
    asyncio.run(_prewarm(url))
    return world, seconds


async def _prewarm(url: str) -> None:
    """Read the data set into PostgreSQL's shared buffers when it fits, so that every run — the
    baseline's and Minqing's, whichever comes first — finds the same warm cache. (On a VM that
    reclaims the page cache, a read outside shared buffers is a disk read of ≈ 0.5 ms.)"""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
        buffers = await conn.fetchval("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'")
        if size > buffers * 0.8:
            console.print(f"not prewarmed: {size >> 20} MB does not fit in {buffers >> 20} MB of shared buffers")
            return
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        pages = await conn.fetchval(
            "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')"
        )
        console.print(f"prewarmed {int(pages or 0) * 8192 >> 20} MB into shared buffers")
    finally:
        await conn.close()


@app.command()
def main(
    issues: int = typer.Option(1_000_000, help="issues to generate (10M: --issues 10000000)"),
    duration: int = typer.Option(15, help="seconds per wrk run"),
    connections: int = typer.Option(32, help="concurrent connections"),
    workers: int = typer.Option(2, help="uvicorn workers for both apps"),
    regenerate: bool = typer.Option(False, help="drop and regenerate the data set"),
    only: str = typer.Option(
        "",
        help="comma-separated scenarios: "
        + ",".join(("create", "get", "list", "stats", "poll", "diary", "redeem", "commitments")),
    ),
    growth: bool = typer.Option(False, help="p95 of get, list and stats at --growth-from and at --issues issues"),
    growth_from: int = typer.Option(100_000, help="the smaller city of --growth"),
    nodes: bool = typer.Option(
        False, help="a grid's list and stats polling with one database node, then two (a hot standby as a read replica)"
    ),
) -> None:
    from bench import harness, scenarios

    harness.require_wrk()  # before generating the data, which takes minutes
    (ROOT / "var").mkdir(exist_ok=True)
    sizes = [growth_from, issues] if growth else [issues]
    server, urls = _start_server(ROOT / "var" / "bench-pg", [_database_name(n) for n in sizes])
    prepared = [_prepare(url, n, regenerate) for url, n in zip(urls, sizes, strict=True)]
    load = {f"{n:,} issues": f"{s:.0f} s" for n, (_, s) in zip(sizes, prepared, strict=True)}
    if nodes:
        standby_url = _start_standby(server, _database_name(issues))
        try:
            results, notes = scenarios.run_nodes(
                urls[0],
                standby_url,
                prepared[0][0],  # type: ignore[arg-type]
                duration=duration,
                connections=connections,
                workers=workers,
                console=console,
            )
        finally:
            if not os.environ.get("BENCH_REPLICA_URL"):
                from app import dbserver

                dbserver.stop(ROOT / "var" / "bench-pg-standby")
        name = "nodes"
    elif growth:
        results, notes = scenarios.run_growth(
            (urls[0], prepared[0][0]),  # type: ignore[arg-type]
            (urls[1], prepared[1][0]),  # type: ignore[arg-type]
            duration=duration,
            connections=connections,
            workers=workers,
            console=console,
        )
        name = "growth"
    else:
        results, notes = scenarios.run_all(
            urls[0],
            prepared[0][0],  # type: ignore[arg-type]
            duration=duration,
            connections=connections,
            workers=workers,
            only={s for s in only.split(",") if s},
            console=console,
        )
        name = "latest"
    notes["data load (0 when reused)"] = load
    _report(results, notes, issues=issues, duration=duration, connections=connections, name=name)


def _fmt(value: object, spec: str) -> str:
    return "—" if value is None else format(value, spec)


COLUMNS = ("scenario", "target", "Minqing rps", "baseline rps", "ratio", "p50 ms", "p95 ms", "p99 ms", "ok")


def _cells(r: dict) -> list[str]:
    if "rss_mb" in r:
        return [r["scenario"], r["target"], "—", "—", "—", f"RSS {_fmt(r['rss_mb'], '.0f')} MB", "—", "—",
                "✔" if r["ok"] else "✘"]  # fmt: skip
    return [
        r["scenario"],
        r["target"],
        _fmt(r.get("rps"), ".0f"),
        _fmt(r.get("baseline_rps"), ".0f"),
        _fmt(r.get("ratio"), ".2f"),
        _fmt(r.get("p50_ms"), ".1f"),
        _fmt(r.get("p95_ms"), ".1f") + (f" (was {r['small_p95_ms']:.1f})" if "small_p95_ms" in r else ""),
        _fmt(r.get("p99_ms"), ".1f"),
        ("✔" if r.get("ok") else "✘")
        + (f" {r['errors']} errors" if r.get("errors") else "")
        + (f", overspend: {r['overspend']}" if "overspend" in r else ""),
    ]


def _report(results: list[dict], notes: dict, *, issues: int, duration: int, connections: int, name: str) -> None:
    title = f"Minqing benchmark — {issues:,} issues, {connections} connections, {duration} s per run"
    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col)
    rows = [_cells(r) for r in results]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    cpu = {r["scenario"]: (r["app_cpu_ms"], r["db_cpu_ms"]) for r in results if r.get("app_cpu_ms") is not None}
    if cpu:
        notes = {**notes, "CPU ms per request (Minqing's workers, PostgreSQL)": cpu}
    for k, v in notes.items():
        console.print(f"{k}: {v}")
    machine = {
        "cpus": os.cpu_count(),
        "memory_gb": round(__import__("psutil").virtual_memory().total / 2**30),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
    out = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine,
        "issues": issues,
        "connections": connections,
        "duration_s": duration,
        "results": results,
        "notes": notes,
    }
    path = ROOT / "bench" / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    md = [
        f"{title}; {machine['cpus']} CPUs, {machine['memory_gb']} GB, Python {machine['python']}, {out['when']}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        *(f"- {k}: {v}" for k, v in notes.items()),
        "",
    ]
    path.with_suffix(".md").write_text("\n".join(md))
    console.print(f"written to {path.relative_to(ROOT)} and {path.with_suffix('.md').relative_to(ROOT)}")


if __name__ == "__main__":
    app()
