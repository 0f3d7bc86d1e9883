"""The busiest writes run statements SQLAlchemy compiles once: none of them is built in a shape
its statement cache cannot key (a multi-row ``VALUES`` is one), which would compile it again on
every request — a cost that grows with the rows it writes and shows only under load."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.default import NO_CACHE_KEY

from app.kit.ids import new_id
from tests.conftest import auth
from tests.issues.helpers import create
from tests.volunteers.helpers import grant, post, volunteer


async def test_the_busiest_writes_compile_each_statement_once(app, client):
    uncached: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if context is not None and getattr(context, "cache_hit", None) is NO_CACHE_KEY:
            uncached.append(statement)

    event.listen(app.state.engine.sync_engine, "after_cursor_execute", seen)
    try:
        await create(client)  # an issue: its event, change feed and outbox rows
        visit = {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation"}
        entries = [{"id": str(new_id()), "content": f"走访 {i}", **visit} for i in range(3)]
        r = await client.post("/api/v1/diary-entries/batch", json=entries, headers=auth("grid_worker"))
        assert r.status_code == 200, r.text
        v = await volunteer(client)
        await grant(client, v["id"], 100)  # a posting with its entries
        item = await post(client, "/api/v1/shop/items", {"name": "洗衣液", "points": 10, "stock": 5})
        body = {"volunteer_id": v["id"], "item_id": item["id"], "quantity": 2}
        await post(client, "/api/v1/shop/redemptions", body)
        r = await client.get("/api/v1/residents/due-visits", headers=auth("grid_worker"))  # a read with a schedule
        assert r.status_code == 200, r.text
    finally:
        event.remove(app.state.engine.sync_engine, "after_cursor_execute", seen)
    assert uncached == []
