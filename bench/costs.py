"""What one new issue costs inside PostgreSQL, on the bench's city: ``python -m bench.costs``.

Each sample is ``EXPLAIN (ANALYZE)`` of the INSERT of one issue (a copy of a random existing one
under a new id and number) in a transaction that is rolled back, so the data set is unchanged.
Measured three ways, interleaved (each first in turn, after a warm-up): as it is (every index
and trigger); without the indexes that the benchmark's reads and the dashboards do not use
(dropped inside the transaction); without the per-row stats trigger (disabled inside the
transaction); plus each trigger's own time as PostgreSQL reports it. Prints medians in
microseconds. Run it on a quiet machine: it measures hundreds of microseconds."""

from __future__ import annotations

import asyncio
import json
import statistics

import asyncpg
import typer

from bench.__main__ import ROOT, _database_name, _start_server

USED = {  # what `pg_stat_user_indexes` showed carrying the bench mix and the dashboards' queries
    "pk_issues",
    "ix_issues_open_area",
    "ix_issues_area_first_responded_at",
    "ix_issues_area_resolved_at",
    "ix_issues_area_id_created_at",
}


async def _measure(url: str, samples: int) -> dict:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        columns = [
            r["attname"]
            for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'issues'::regclass AND attnum > 0"
                " AND NOT attisdropped ORDER BY attnum"
            )
        ]
        indexes = [
            r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'issues'")
        ]
        unique = {
            r["conname"]
            for r in await conn.fetch("SELECT conname FROM pg_constraint WHERE conrelid = 'issues'::regclass")
        }
        droppable = [i for i in indexes if i not in USED and i not in unique]
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM issues TABLESAMPLE SYSTEM (1) LIMIT $1", samples)]
        values = ", ".join(
            {"id": "gen_random_uuid()", "number": "'COST-' || gen_random_uuid()", "external_ref": "NULL"}.get(c, c)
            for c in columns
        )
        insert = f"INSERT INTO issues ({', '.join(columns)}) SELECT {values} FROM issues WHERE id = $1"
        ways = {
            "as it is": ["SELECT txid_current()"],
            "without unused indexes": [f"DROP INDEX {name}" for name in droppable],
            "without the stats trigger": ["ALTER TABLE issues DISABLE TRIGGER issues_stats_insert_delete"],
        }
        times: dict[str, list[float]] = {way: [] for way in ways}
        triggers: dict[str, list[float]] = {}
        for n, issue_id in enumerate(ids[:20] + ids):  # the first 20 warm the caches, not counted
            order = list(ways)
            order = order[n % len(order) :] + order[: n % len(order)]  # each way first in turn
            for way in order:
                tr = conn.transaction()
                await tr.start()
                try:
                    for statement in ways[way]:  # every way begins with a statement: the same xid work
                        await conn.execute(statement)
                    plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {insert}", issue_id))[0]
                finally:
                    await tr.rollback()
                if n < 20:
                    continue
                times[way].append(plan["Execution Time"] * 1000)
                if way == "as it is":
                    for t in plan.get("Triggers", []):
                        triggers.setdefault(t["Trigger Name"], []).append(t["Time"] * 1000)
        return {
            "samples": len(ids),
            "median µs per INSERT": {k: round(statistics.median(v)) for k, v in times.items() if v},
            "median µs per trigger (as it is)": {k: round(statistics.median(v)) for k, v in triggers.items()},
            "indexes": len(indexes),
            "dropped for the second way": droppable,
        }
    finally:
        await conn.close()


def main(
    issues: int = typer.Option(1_000_000, help="which generated city"),
    samples: int = typer.Option(200, help="inserts measured each way"),
) -> None:
    _, urls = _start_server(ROOT / "var" / "bench-pg", [_database_name(issues)])
    result = asyncio.run(_measure(urls[0], samples))
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    typer.run(main)
