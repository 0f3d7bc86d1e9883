"""Helpers for inbound integration tests: integration keys, signed hotline deliveries, row counts."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from app.kit.signing import signature_headers
from tests import world
from tests.conftest import auth

TICKETS = "/api/v1/integrations/hotline/tickets"


@dataclass
class Key:
    id: str
    key: str
    secret: str
    prefix: str


async def make_key(client: httpx.AsyncClient, area: str = "D", user: str = "integration") -> Key:
    r = await client.post(
        "/api/v1/api-keys",
        json={"name": "12345 热线", "user_id": str(world.USER[user].id), "area_id": str(world.AREA[area].id)},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return Key(body["id"], body["key"], body["signing_secret"], body["prefix"])


def ticket(number: str = "RX-0001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket_number": number,
        "received_at": "2026-11-23T09:30:00+08:00",
        "kind": "complaint",
        "category_code": "0301",
        "title": "小区东门路灯不亮",
        "content": "东门口两盏路灯连续三晚不亮,老人出行不便。",
        "address": "测试街道测试社区东门",
        "lat": 34.05,
        "lng": 108.02,
        "caller_name": "周贵领",
        "caller_phone": "13812341234",
        "urgency": "normal",
    }
    body.update(overrides)
    return body


def encode(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()


async def deliver(
    client: httpx.AsyncClient,
    key: Key,
    body: Any,
    *,
    path: str = TICKETS,
    msg_id: str | None = None,
    secret: str | list[str] | None = None,
    at: float | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    raw = encode(body)
    signed = signature_headers(secret or key.secret, msg_id or f"msg_{uuid.uuid4().hex}", raw, now=at or time.time())
    all_headers = {"X-API-Key": key.key, "Content-Type": "application/json", **signed, **(headers or {})}
    return await client.post(path, content=raw, headers=all_headers)


async def count(db_url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def execute(db_url: str, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def stored(db_url: str) -> tuple[int, int, int]:
    """(issues, hotline tickets, hotline messages)."""
    return (
        await count(db_url, "SELECT count(*) FROM issues"),
        await count(db_url, "SELECT count(*) FROM hotline_tickets"),
        await count(db_url, "SELECT count(*) FROM hotline_messages"),
    )
