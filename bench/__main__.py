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
console = Console()
ROOT = harness.ROOT


def _start_database(data_dir: Path) -> tuple[object | None, str]:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return None, url
    from app import dbserver

    server, url = dbserver.start(data_dir, cleanup="stop", database="minqing_bench")
    dbserver.psql(
        server,
        "ALTER SYSTEM SET shared_buffers = '1GB'; ALTER SYSTEM SET max_connections = 200; "
        "ALTER SYSTEM SET synchronous_commit = off; ALTER SYSTEM SET work_mem = '16MB';",
    )
    sockets = dbserver.socket_dir(server)
    dbserver.pg_ctl(data_dir, "-w", "-m", "fast", "stop")
    dbserver.start_again(data_dir, sockets)
    return server, url


@app.command()
def main(
    issues: int = typer.Option(1_000_000, help="issues to generate (10M: --issues 10000000)"),
    duration: int = typer.Option(15, help="seconds per wrk run"),
    connections: int = typer.Option(32, help="concurrent connections"),
    workers: int = typer.Option(2, help="uvicorn workers for both apps"),
    regenerate: bool = typer.Option(False, help="drop and regenerate the data set"),
    only: str = typer.Option("", help="comma-separated scenario names"),
) -> None:
    from bench import generate, scenarios

    (ROOT / "var").mkdir(exist_ok=True)
    _server, url = _start_database(ROOT / "var" / "bench-pg")
    console.print(f"database: {url}")
    from tests.conftest import _migrate  # the same migrations the service runs

    _migrate(url)
    t0 = time.monotonic()
    world = asyncio.run(generate.ensure(url, issues=issues, regenerate=regenerate, console=console))
    console.print(f"data ready in {time.monotonic() - t0:.0f} s: {world.summary()}")
    results, notes = scenarios.run_all(
        url,
        world,
        duration=duration,
        connections=connections,
        workers=workers,
        only={s for s in only.split(",") if s},
        console=console,
    )
    _report(results, notes, issues=issues, duration=duration, connections=connections)


def _report(results: list[dict], notes: dict, *, issues: int, duration: int, connections: int) -> None:
    table = Table(title=f"Minqing benchmark — {issues:,} issues, {connections} connections, {duration} s per run")
    for col in ("scenario", "target", "Minqing rps", "baseline rps", "ratio", "p50 ms", "p95 ms", "p99 ms", "ok"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r["scenario"],
            r["target"],
            f"{r['rps']:.0f}",
            f"{r['baseline_rps']:.0f}" if r.get("baseline_rps") else "—",
            f"{r['ratio']:.2f}" if r.get("ratio") is not None else "—",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            "✔" if r.get("ok") else "✘",
        )
    console.print(table)
    for k, v in notes.items():
        console.print(f"{k}: {v}")
    out = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "issues": issues,
        "connections": connections,
        "duration_s": duration,
        "results": results,
        "notes": notes,
    }
    path = ROOT / "bench" / "results" / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2))
    console.print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    app()
