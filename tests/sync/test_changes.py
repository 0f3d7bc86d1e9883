import datetime as dt
import uuid

import asyncpg

from app.scope import Principal
from app.sync.service import Cursor, seal
from tests.conftest import auth, make_settings
from tests.world import AREA, USER

GW = auth("grid_worker")


def entry(**kw):
    body = {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "走访"}
    body.update(kw)
    return body


def _principal(user_key: str, path: str) -> Principal:
    user = USER[user_key]
    return Principal(user.id, user.username, user.username, user.role, AREA["G1"].id, path)


async def _changes(client, since=None, headers=GW, **params):
    if since:
        params["since"] = since
    r = await client.get("/api/v1/sync/changes", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _insert_entry(conn, content: str) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO diary_entries (id, author_id, area_id, visited_at, kind, content) "
        "VALUES ($1, $2, $3, now(), 'situation', $4)",
        entry_id,
        USER["grid_worker"].id,
        AREA["G1"].id,
        content,
    )
    await conn.execute(
        "INSERT INTO change_log (entity_type, entity_id, area_id, op) VALUES ('diary_entry', $1, $2, 'upsert')",
        entry_id,
        AREA["G1"].id,
    )
    return entry_id


async def test_feed_returns_snapshots_and_continues_after_the_cursor(client):
    first = (await client.post("/api/v1/diary-entries", json=entry(), headers=GW)).json()
    page = await _changes(client)
    assert [(i["type"], i["id"], i["op"]) for i in page["items"]] == [("diary", first["id"], "upsert")]
    assert page["items"][0]["data"]["content"] == "走访"
    assert (await _changes(client, page["next_cursor"]))["items"] == []
    second = (await client.post("/api/v1/diary-entries", json=entry(content="第二次"), headers=GW)).json()
    page = await _changes(client, page["next_cursor"])
    assert [i["id"] for i in page["items"]] == [second["id"]]


async def test_pages_miss_nothing_and_repeat_nothing(client):
    ids = [
        (await client.post("/api/v1/diary-entries", json=entry(content=f"{i}"), headers=GW)).json()["id"]
        for i in range(7)
    ]
    seen, cursor = [], None
    while True:
        page = await _changes(client, cursor, limit=3)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == ids


async def test_a_late_commit_is_not_skipped(client, db_url):
    start = (await _changes(client))["next_cursor"]
    t1 = await asyncpg.connect(db_url)
    t2 = await asyncpg.connect(db_url)
    try:
        tx1 = t1.transaction()
        await tx1.start()
        early = await _insert_entry(t1, "T1 写入,晚提交")
        tx2 = t2.transaction()
        await tx2.start()
        late = await _insert_entry(t2, "T2 写入,先提交")
        await tx2.commit()

        page = await _changes(client, start)
        # T2 committed, but T1 (older) is still running: nothing past T1 may be handed out yet.
        assert [i["id"] for i in page["items"]] == []
        cursor = page["next_cursor"]

        await tx1.commit()
        page = await _changes(client, cursor)
        assert [i["id"] for i in page["items"]] == [str(early), str(late)]
        assert (await _changes(client, page["next_cursor"]))["items"] == []
    finally:
        await t1.close()
        await t2.close()


async def test_rolled_back_writes_leave_no_change(client, db_url):
    start = (await _changes(client))["next_cursor"]
    conn = await asyncpg.connect(db_url)
    try:
        tx = conn.transaction()
        await tx.start()
        await _insert_entry(conn, "回滚")
        await tx.rollback()
    finally:
        await conn.close()
    assert (await _changes(client, start))["items"] == []


async def test_entry_moved_to_another_grid_becomes_a_tombstone(client):
    e = (await client.post("/api/v1/diary-entries", json=entry(), headers=GW)).json()
    cursor = (await _changes(client))["next_cursor"]
    r = await client.patch(
        f"/api/v1/diary-entries/{e['id']}",
        json={"area_id": str(AREA["G2"].id)},
        headers={**auth("community_admin"), "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    page = await _changes(client, cursor)
    assert [(i["id"], i["op"], i["data"]) for i in page["items"]] == [(e["id"], "delete", None)]
    g2 = await _changes(client, headers=auth("grid_worker_g2"))
    assert [(i["id"], i["op"]) for i in g2["items"]] == [(e["id"], "upsert")]


async def _move_worker(db_url, area_key):
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "UPDATE users SET home_area_id = $1 WHERE id = $2", AREA[area_key].id, USER["grid_worker"].id
        )
    finally:
        await conn.close()


async def test_narrowed_scope_yields_tombstones(client, db_url):
    in_g1 = (await client.post("/api/v1/diary-entries", json=entry(), headers=GW)).json()
    in_m1 = (await client.post("/api/v1/diary-entries", json=entry(area_id=str(AREA["M1"].id)), headers=GW)).json()
    d = await client.post(
        "/api/v1/disputes",
        json={
            "title": "纠纷",
            "description": "d",
            "type": "family",
            "risk_level": "green",
            "parties": [{"name": "甲", "role": "applicant"}],
        },
        headers=GW,
    )
    cursor = (await _changes(client))["next_cursor"]
    await _move_worker(db_url, "M1")
    page = await _changes(client, cursor)
    tombstones = {(i["type"], i["id"]) for i in page["items"] if i["op"] == "delete"}
    assert tombstones == {("diary", in_g1["id"]), ("disputes", d.json()["id"])}
    assert in_m1["id"] not in {i["id"] for i in page["items"]}
    assert (await _changes(client, page["next_cursor"]))["items"] == []


async def test_moved_elsewhere_or_expired_cursor_means_full_sync(client, db_url):
    await client.post("/api/v1/diary-entries", json=entry(), headers=GW)
    cursor = (await _changes(client))["next_cursor"]
    await _move_worker(db_url, "G2")
    r = await client.get("/api/v1/sync/changes", params={"since": cursor}, headers=GW)
    assert r.status_code == 410 and r.json()["code"] == "scope_changed"

    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    path = f"{AREA['D'].id.hex}.{AREA['S'].id.hex}.{AREA['C'].id.hex}.{AREA['G2'].id.hex}"
    # A cursor the server issued 31 days ago (signed with the server's key; nothing to ask the API for)
    expired = seal(make_settings(db_url), _principal("grid_worker", path), Cursor(0, 0, path, old))
    r = await client.get("/api/v1/sync/changes", params={"since": expired}, headers=GW)
    assert r.status_code == 410 and r.json()["code"] == "cursor_expired"
    r = await client.get("/api/v1/sync/changes", params={"since": "garbage"}, headers=GW)
    assert r.status_code == 422


async def test_since_now_and_types_per_role(client):
    await client.post("/api/v1/diary-entries", json=entry(), headers=GW)
    now = (await _changes(client, "now"))["next_cursor"]
    assert (await _changes(client, now))["items"] == []
    fresh = (await client.post("/api/v1/diary-entries", json=entry(content="新"), headers=GW)).json()
    assert [i["id"] for i in (await _changes(client, now))["items"]] == [fresh["id"]]
    assert (await _changes(client, types="disputes"))["items"] == []
    # mediators do not read the diary: the type is left out rather than refused
    assert (await _changes(client, headers=auth("mediator"), types="diary"))["items"] == []
    r = await client.get("/api/v1/sync/changes", params={"types": "gossip"}, headers=GW)
    assert r.status_code == 422


async def test_purge_drops_changes_past_retention(client, db_url):
    from app.cli import _purge_changes
    from tests.conftest import make_settings

    await client.post("/api/v1/diary-entries", json=entry(), headers=GW)
    await client.post("/api/v1/diary-entries", json=entry(content="新"), headers=GW)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "UPDATE change_log SET changed_at = now() - interval '40 days' "
            "WHERE seq = (SELECT min(seq) FROM change_log)"
        )
        assert await _purge_changes(db_url, make_settings(db_url)) == 1
        assert await conn.fetchval("SELECT count(*) FROM change_log") == 1
    finally:
        await conn.close()


async def test_sync_refusals_are_documented(client):
    """A refused role (403) and, on a path with an id, an unknown or out-of-scope one (404) are documented."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [
        (path, op)
        for path, item in paths.items()
        if path.startswith(tuple("/api/v1/sync".split(",")))
        for op in item.values()
    ]
    assert operations
    for path, op in operations:
        for status in "403,410".split(","):
            if status != "404" or "{" in path:
                assert op["responses"][status]["content"]["application/problem+json"], (path, status)
