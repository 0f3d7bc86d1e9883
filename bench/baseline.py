"""The bare baseline: FastAPI + asyncpg, no auth, no validation beyond parsing, doing only the SQL
that the Minqing endpoint under test does at its core (one issue and its create event; one issue by
id; 50 issues of a grid by keyset), with the same pool size as the service. Ratios against it show what the service's
own work (auth, scope, validation, routing, SLA, events, outbox, idempotency) costs."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request, Response

DSN = os.environ["BENCH_BASELINE_DSN"]
POOL_SIZE = int(os.environ.get("BENCH_BASELINE_POOL", "10"))


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await asyncpg.create_pool(DSN, min_size=2, max_size=POOL_SIZE)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/areas/{area_id}")
async def get_area(area_id: uuid.UUID, request: Request) -> Response:
    row = await request.app.state.pool.fetchrow(
        "SELECT id, code, name, level, parent_id, version FROM areas WHERE id = $1", area_id
    )
    if row is None:
        return Response(status_code=404)
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in dict(row).items()}


def _json(value: object, status: int = 200) -> Response:
    return Response(
        json.dumps(value, default=str, ensure_ascii=False), status_code=status, media_type="application/json"
    )


@app.post("/issues")
async def create_issue(request: Request) -> Response:
    """One issue row with the columns the table requires, and its create event, in one transaction."""
    body = json.loads(await request.body())
    now = dt.datetime.now(dt.UTC)
    issue_id = uuid.uuid4()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO issues (id, number, title, description, kind, category, channel, priority, status, tier,"
            " area_id, lat, lng, respond_amount, respond_unit, resolve_amount, resolve_unit, resolve_started_at,"
            " respond_due_at, resolve_due_at, last_event_seq, created_at, updated_at) VALUES ($1, $2, $3, $4,"
            " $5, $6, $7, $8, 'reported', 'grid', $9, $10, $11, 24, 'hours', 168, 'hours', $12, $13, $14, 1,"
            " $12, $12)",
            issue_id,
            "BASE-" + issue_id.hex,
            body["title"],
            body.get("description", ""),
            body["kind"],
            body["category"],
            body["channel"],
            body.get("priority", "normal"),
            uuid.UUID(body["area_id"]),
            body["location"]["lat"],
            body["location"]["lng"],
            now,
            now + dt.timedelta(hours=24),
            now + dt.timedelta(hours=168),
        )
        await conn.execute(
            "INSERT INTO issue_events (issue_id, seq, action, to_status, actor_role, created_at)"
            " VALUES ($1, 1, 'create', 'reported', 'grid_worker', $2)",
            issue_id,
            now,
        )
    return _json({"id": issue_id}, 201)


@app.get("/issues/{issue_id}")
async def get_issue(issue_id: uuid.UUID, request: Request) -> Response:
    row = await request.app.state.pool.fetchrow("SELECT * FROM issues WHERE id = $1", issue_id)
    if row is None:
        return Response(status_code=404)
    return _json(dict(row))


@app.get("/issues")
async def list_issues(grid: uuid.UUID, request: Request) -> Response:
    rows = await request.app.state.pool.fetch(
        "SELECT * FROM issues WHERE area_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50", grid
    )
    return _json({"items": [dict(r) for r in rows]})
