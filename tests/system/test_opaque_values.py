"""What a client hands back is untrusted: cursors only work unaltered, for the list and the caller
they were issued to, and the sync feed's tombstones only name what the caller was sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from tests.conftest import auth
from tests.issues.helpers import create
from tests.world import AREA, USER

GW = auth("grid_worker")


def forge(cursor: str, change: Callable[[list[Any]], list[Any]]) -> str:
    """The cursor with the values it carries edited, the rest left as it was (what a client can do)."""
    parts = cursor.split(".")
    body = parts[1] if len(parts) == 3 else cursor
    values = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    edited = base64.urlsafe_b64encode(json.dumps(change(values)).encode()).decode().rstrip("=")
    return ".".join([parts[0], edited, parts[2]]) if len(parts) == 3 else edited


def diary(**kw: Any) -> dict[str, Any]:
    return {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "走访", **kw}


async def _entry(client: httpx.AsyncClient, user: str = "grid_worker", **kw: Any) -> str:
    if user != "grid_worker":
        kw.setdefault("area_id", str(AREA["G1"].id))
    r = await client.post("/api/v1/diary-entries", json=diary(**kw), headers=auth(user))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _sync(client: httpx.AsyncClient, headers: dict[str, str] = GW, **params: Any) -> httpx.Response:
    return await client.get("/api/v1/sync/changes", params=params, headers=headers)


def _refused(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "invalid_cursor" and [e["field"] for e in body["errors"]] == [field]
    assert "items" not in body


async def _move_worker(db_url: str, area_key: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "UPDATE users SET home_area_id = $1 WHERE id = $2", AREA[area_key].id, USER["grid_worker"].id
        )
    finally:
        await conn.close()


# --- the sync cursor ------------------------------------------------------------------------------


async def test_a_sync_cursor_with_a_shortened_path_is_refused_and_yields_nothing(client):
    await _entry(client)
    others = [await _entry(client, "community_admin", area_id=str(AREA["G2"].id)) for _ in range(2)]
    r = await _sync(client)
    assert r.status_code == 200
    cursor = r.json()["next_cursor"]

    def to_district(values: list[Any]) -> list[Any]:
        path = next(v for v in values if isinstance(v, str) and "." in v)
        return [path.split(".")[0] if v == path else v for v in values]

    r = await _sync(client, since=forge(cursor, to_district))
    _refused(r, "since")
    assert not any(o in r.text for o in others)
    # edited in any other way, or cut short, it is refused alike
    _refused(await _sync(client, since=forge(cursor, lambda v: [0, *v[1:]])), "since")
    _refused(await _sync(client, since=cursor[:-2]), "since")
    # the cursor as issued still works
    assert (await _sync(client, since=cursor)).status_code == 200


async def test_a_sync_cursor_issued_to_one_user_is_refused_to_another_of_the_same_area(client):
    # the community administrator and the mediator both work in community C
    await _entry(client, "community_admin")
    r = await _sync(client, auth("community_admin"))
    cursor = r.json()["next_cursor"]
    _refused(await _sync(client, auth("mediator"), since=cursor), "since")
    assert (await _sync(client, auth("community_admin"), since=cursor)).status_code == 200


# --- list cursors -----------------------------------------------------------------------------------


async def _next_cursor(client: httpx.AsyncClient, url: str, user: str) -> str:
    r = await client.get(url, params={"limit": 1}, headers=auth(user))
    assert r.status_code == 200, r.text
    cursor = r.json()["next_cursor"]
    assert cursor
    return cursor


async def test_a_list_cursor_only_works_on_its_own_list_for_its_own_caller(client):
    for _ in range(2):
        await _entry(client, "community_admin")
    diary_cursor = await _next_cursor(client, "/api/v1/diary-entries", "community_admin")
    _refused(
        await client.get("/api/v1/disputes", params={"cursor": diary_cursor}, headers=auth("community_admin")), "cursor"
    )
    _refused(
        await client.get("/api/v1/audit", params={"cursor": diary_cursor}, headers=auth("community_admin")), "cursor"
    )

    # one issue's comments are not another's
    first, second = await create(client), await create(client)
    for text in ("一", "二"):
        r = await client.post(f"/api/v1/issues/{first['id']}/comments", json={"body": text}, headers=GW)
        assert r.status_code == 201, r.text
    comments = await _next_cursor(client, f"/api/v1/issues/{first['id']}/comments", "grid_worker")
    r = await client.get(f"/api/v1/issues/{second['id']}/comments", params={"cursor": comments}, headers=GW)
    _refused(r, "cursor")
    r = await client.get(f"/api/v1/issues/{first['id']}/comments", params={"cursor": comments}, headers=GW)
    assert r.status_code == 200 and [c["body"] for c in r.json()["items"]] == ["二"]

    # the administrator's page of areas is not the viewer's, though both see the whole district
    areas = await _next_cursor(client, "/api/v1/areas", "admin")
    _refused(await client.get("/api/v1/areas", params={"cursor": areas}, headers=auth("viewer")), "cursor")
    assert (await client.get("/api/v1/areas", params={"cursor": areas}, headers=auth("admin"))).status_code == 200


async def test_a_list_cursor_with_edited_values_is_refused(client):
    for _ in range(2):
        await _entry(client, "community_admin")
    cursor = await _next_cursor(client, "/api/v1/diary-entries", "community_admin")
    for edit in (lambda v: v[:1], lambda v: [*v, 1], lambda v: [{"t": "2999-01-01T00:00:00+00:00"}, v[1]]):
        r = await client.get("/api/v1/diary-entries", params={"cursor": forge(cursor, edit)}, headers=auth("admin"))
        _refused(r, "cursor")


# --- tombstones -----------------------------------------------------------------------------------


async def test_tombstones_count_against_limit_and_page_without_repeats(client, db_url):
    lost = {await _entry(client) for _ in range(5)}
    kept = await _entry(client, area_id=str(AREA["M1"].id))
    cursor = (await _sync(client)).json()["next_cursor"]
    await _move_worker(db_url, "M1")

    seen: list[str] = []
    for _ in range(10):
        r = await _sync(client, since=cursor, limit=2)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"] if i["op"] == "delete"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert sorted(seen) == sorted(lost) and kept not in seen
    assert (await _sync(client, since=cursor)).json()["items"] == []


async def test_tombstones_only_name_what_the_caller_was_sent(client, db_url):
    sent = await _entry(client)
    elsewhere = await _entry(client, "community_admin", area_id=str(AREA["G2"].id))
    cursor = (await _sync(client)).json()["next_cursor"]
    await _move_worker(db_url, "M1")
    # after the cursor: one entry written in the grid the worker left, one moved there from G2
    later = await _entry(client, "community_admin", area_id=str(AREA["G1"].id))
    r = await client.patch(
        f"/api/v1/diary-entries/{elsewhere}",
        json={"area_id": str(AREA["G1"].id)},
        headers={**auth("community_admin"), "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text

    page = (await _sync(client, since=cursor)).json()
    assert [(i["id"], i["op"]) for i in page["items"]] == [(sent, "delete")]
    assert later not in json.dumps(page) and elsewhere not in json.dumps(page)
