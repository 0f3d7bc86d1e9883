"""Helpers for webhook tests: subscriptions through the API, events into the outbox, worker rounds."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from app.integrations.webhooks import worker
from app.kit import outbox
from app.kit.ids import new_id
from tests.conftest import auth
from tests.world import AREA


async def subscribe(
    client: httpx.AsyncClient, url: str, events: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"url": url, "event_types": events or ["issue.created", "issue.dispatched", "issue.closed"], **extra}
    r = await client.post("/api/v1/webhooks", json=body, headers=auth("admin"))
    assert r.status_code == 201, r.text
    return r.json()


async def emit(
    app: Any, event_type: str = "issue.created", aggregate_id: uuid.UUID | None = None, area: str = "G1", **data: Any
) -> str:
    """Commit one outbox event (as a domain service would) and return its event id."""
    aggregate_id = aggregate_id or new_id()
    payload = {"issue_id": str(aggregate_id), "area_id": str(AREA[area].id), **data}
    async with app.state.sessionmaker() as session, session.begin():
        message = outbox.emit(session, event_type, "issue", aggregate_id, payload)
    return str(message.event_id)


async def run(app: Any, http: httpx.AsyncClient, **kw: Any) -> worker.RunStats:
    return await worker.run_once(app.state.sessionmaker, http, settings=app.state.settings, **kw)


async def sql(app: Any, statement: str, **params: Any) -> list[Any]:
    async with app.state.sessionmaker() as session, session.begin():
        result = await session.execute(sa.text(statement), params)
        return list(result.all()) if result.returns_rows else []


async def make_due(app: Any) -> None:
    """Move time: every pending delivery is due now (instead of waiting for its backoff)."""
    await sql(
        app, "UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'"
    )


async def deliveries(client: httpx.AsyncClient, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params=params, headers=auth("admin"))
    assert r.status_code == 200, r.text
    return r.json()["items"]
