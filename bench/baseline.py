"""The bare baseline: FastAPI + asyncpg, no auth, no validation beyond parsing, doing only the SQL
that the Minqing endpoint under test does at its core. Ratios against it show what the service's
own work (auth, scope, validation, routing, SLA, events, outbox, idempotency) costs."""

from __future__ import annotations

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
