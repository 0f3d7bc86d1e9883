"""No lost updates: every versioned table takes its ``If-Match`` in the UPDATE itself.

The models are enumerated from the mapper registry, so a new table with a ``version`` column is
covered — or fails here — without anyone remembering to add it. For every versioned resource
that a client writes with ``If-Match``, several clients send a change with the same ETag at the
same moment: exactly one gets 200, the others 412 ``version_mismatch``, the version goes up by
exactly one and the stored row is the winner's. One of the clients sends the values the row
already holds: a conditional write is a write even when it changes nothing.

To make the race certain rather than likely, the test holds the row locked from a connection of
its own until every request has read the row and is waiting for the lock (or, on the routes that
read under ``FOR UPDATE``, is waiting to read it); then it lets go.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.orm import configure_mappers

import app.main  # noqa: F401  (imports every domain package, so every model is mapped)
from app.db import Base
from tests.conftest import auth
from tests.issues.helpers import create as create_issue
from tests.world import AREA, PASSWORD, USER

CLIENTS = 6


def _versioned() -> dict[str, Any]:
    configure_mappers()
    return {m.class_.__name__: m for m in Base.registry.mappers if "version" in m.columns}


VERSIONED = _versioned()


@dataclass
class Target:
    table: str
    url: str  # the resource: GET gives its ETag and state
    write: str  # the conditional write: "PATCH <url>" or "POST <url>"
    user: str
    body: Callable[[int], dict[str, Any]]  # what client i sends; client 0 sends what the row holds
    won: Callable[[dict[str, Any], dict[str, Any]], bool]  # (resource after, winning body)


Setup = Callable[[httpx.AsyncClient], Awaitable[Target]]


def _field(name: str) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    return lambda after, body: after[name] == body[name]


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any], user: str) -> dict[str, Any]:
    r = await client.post(path, json=body, headers=auth(user))
    assert r.status_code == 201, r.text
    return r.json()


async def _building(client: httpx.AsyncClient) -> dict[str, Any]:
    return await _created(client, "/api/v1/buildings", {"name": "1号楼", "area_id": str(AREA["M1"].id)}, "grid_worker")


async def _household(client: httpx.AsyncClient) -> dict[str, Any]:
    building = await _building(client)
    body = {"building_id": building["id"], "address": "1号楼1单元101"}
    return await _created(client, "/api/v1/households", body, "grid_worker")


async def building(client: httpx.AsyncClient) -> Target:
    b = await _building(client)
    url = f"/api/v1/buildings/{b['id']}"
    return Target("buildings", url, f"PATCH {url}", "grid_worker", lambda i: {"name": f"{i + 1}号楼"}, _field("name"))


async def household(client: httpx.AsyncClient) -> Target:
    h = await _household(client)
    url = f"/api/v1/households/{h['id']}"
    return Target(
        "households",
        url,
        f"PATCH {url}",
        "grid_worker",
        lambda i: {"address": f"1号楼1单元{i + 1}01"},
        _field("address"),
    )


async def resident(client: httpx.AsyncClient) -> Target:
    h = await _household(client)
    body = {"household_id": h["id"], "name": "居民0", "gender": "male", "tags": ["elderly_alone"]}
    r = await _created(client, "/api/v1/residents", body, "grid_worker")
    url = f"/api/v1/residents/{r['id']}"
    return Target("residents", url, f"PATCH {url}", "grid_worker", lambda i: {"name": f"居民{i}"}, _field("name"))


async def diary_entry(client: httpx.AsyncClient) -> Target:
    body = {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "第0次走访"}
    e = await _created(client, "/api/v1/diary-entries", body, "grid_worker")
    url = f"/api/v1/diary-entries/{e['id']}"
    return Target(
        "diary_entries", url, f"PATCH {url}", "grid_worker", lambda i: {"content": f"第{i}次走访"}, _field("content")
    )


async def issue(client: httpx.AsyncClient) -> Target:
    i = await create_issue(client, title="路灯不亮 0")
    url = f"/api/v1/issues/{i['id']}"
    return Target("issues", url, f"PATCH {url}", "grid_worker", lambda n: {"title": f"路灯不亮 {n}"}, _field("title"))


async def user(client: httpx.AsyncClient) -> Target:
    url = f"/api/v1/users/{USER['grid_worker'].id}"
    name = (await client.get(url, headers=auth("admin"))).json()["display_name"]
    return Target(
        "users", url, f"PATCH {url}", "admin", lambda i: {"display_name": f"{name}{i or ''}"}, _field("display_name")
    )


async def area(client: httpx.AsyncClient) -> Target:
    url = f"/api/v1/areas/{AREA['G2'].id}"
    return Target(
        "areas", url, f"PATCH {url}", "admin", lambda i: {"name": f"{AREA['G2'].name}{i or ''}"}, _field("name")
    )


async def webhook(client: httpx.AsyncClient) -> Target:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["issue.created"], "description": "回调0"}
    w = await _created(client, "/api/v1/webhooks", body, "admin")
    url = f"/api/v1/webhooks/{w['id']}"
    return Target(
        "webhook_subscriptions",
        url,
        f"PATCH {url}",
        "admin",
        lambda i: {"description": f"回调{i}"},
        _field("description"),
    )


async def dispute(client: httpx.AsyncClient) -> Target:
    """A dispute has no PATCH; its sessions, outcome and follow-ups are written with ``If-Match``."""
    body = {
        "title": "楼上漏水引发邻里纠纷",
        "description": "502住户漏水至402",
        "type": "neighbour",
        "risk_level": "yellow",
        "parties": [{"name": "张三丰", "role": "applicant"}],
    }
    d = await _created(client, "/api/v1/disputes", body, "mediator")
    url = f"/api/v1/disputes/{d['id']}"
    return Target(
        "disputes",
        url,
        f"POST {url}/sessions",
        "mediator",
        lambda i: {"held_at": "2026-11-24T10:00:00+08:00", "place": f"调解室{i}"},
        lambda after, body: [s["place"] for s in after["sessions"]] == [body["place"]],
    )


async def volunteer(client: httpx.AsyncClient) -> Target:
    body = {"kind": "resident", "name": "志愿者", "area_id": str(AREA["G1"].id), "consent": True}
    v = await _created(client, "/api/v1/volunteers", {**body, "availability": "周0"}, "grid_worker")
    url = f"/api/v1/volunteers/{v['id']}"
    return Target(
        "volunteers", url, f"PATCH {url}", "grid_worker", lambda i: {"availability": f"周{i}"}, _field("availability")
    )


async def _volunteer_id(client: httpx.AsyncClient) -> str:
    body = {"kind": "resident", "name": "志愿者", "area_id": str(AREA["G1"].id), "consent": True}
    return str((await _created(client, "/api/v1/volunteers", body, "grid_worker"))["id"])


async def service_record(client: httpx.AsyncClient) -> Target:
    """A service record is verified or rejected (核实) with ``If-Match``: one decision stands."""
    body = {
        "volunteer_id": await _volunteer_id(client),
        "activity_type": "elderly_care",
        "activity": "陪老人就医",
        "started_at": "2026-11-20T09:00:00+08:00",
        "ended_at": "2026-11-20T11:00:00+08:00",
    }
    rec = await _created(client, "/api/v1/service-records", body, "grid_worker")
    url = f"/api/v1/service-records/{rec['id']}"
    return Target(
        "service_records",
        url,
        f"POST {url}/reject",
        "community_admin",
        lambda i: {"reason": f"时间不符{i}"},
        lambda after, body: after["status"] == "rejected" and after["rejection_reason"] == body["reason"],
    )


async def wish(client: httpx.AsyncClient) -> Target:
    """A wish is claimed (认领) with ``If-Match``: of several volunteers claiming at once, one has it."""
    household = await _household(client)
    beneficiary = {"household_id": household["id"], "name": "王秀英", "tags": ["elderly_alone"]}
    res = await _created(client, "/api/v1/residents", beneficiary, "grid_worker")
    body = {"resident_id": res["id"], "title": "一台收音机", "category": "daily", "budget_cap": 100}
    w = await _created(client, "/api/v1/wishes", body, "grid_worker")
    claimers = [await _volunteer_id(client) for _ in range(CLIENTS)]
    url = f"/api/v1/wishes/{w['id']}"
    return Target(
        "wishes",
        url,
        f"POST {url}/claim",
        "grid_worker",
        lambda i: {"volunteer_id": claimers[i]},
        lambda after, body: after["status"] == "claimed" and after["claimer_id"] == body["volunteer_id"],
    )


async def commitment_list(client: httpx.AsyncClient) -> Target:
    """A list's items are changed with the list's ``If-Match``: one edit of a draft list stands."""
    body = {
        "area_id": str(AREA["C"].id),
        "year": 2026,
        "items": [{"category": "governance", "title": "事项0", "schedule": {"kind": "monthly", "day": 10}}],
    }
    lst = await _created(client, "/api/v1/commitment-lists", body, "community_admin")
    url = f"/api/v1/commitment-lists/{lst['id']}"
    item = lst["items"][0]["id"]
    return Target(
        "commitment_lists",
        url,
        f"PATCH {url}/items/{item}",
        "community_admin",
        lambda i: {"title": f"事项{i}"},
        lambda after, body: after["items"][0]["title"] == body["title"],
    )


async def proposal(client: httpx.AsyncClient) -> Target:
    """附议 with ``If-Match``: clients who saw the same count add one supporter, not six."""
    body = {"title": "小区增设电动车充电桩", "content": "车棚无充电设施"}
    p = await _created(client, "/api/v1/proposals", body, "grid_worker")
    url = f"/api/v1/proposals/{p['id']}"
    return Target(
        "proposals",
        url,
        f"POST {url}/support",
        "grid_worker",
        lambda i: {},
        lambda after, body: after["supporters"] == p["supporters"] + 1,
    )


async def consultation(client: httpx.AsyncClient) -> Target:
    """会议纪要 edited with ``If-Match``: of two secretaries typing at once, one edit stands."""
    body = {
        "title": "民主协商会",
        "held_at": "2026-03-01T15:00:00+08:00",
        "place": "社区会议室",
        "convener": "社区党支部书记",
        "invited": 9,
        "agenda": [{"title": "议题"}],
        "minutes": "纪要0",
    }
    meeting = await _created(client, "/api/v1/consultations", body, "community_admin")
    url = f"/api/v1/consultations/{meeting['id']}"
    return Target(
        "consultations", url, f"PATCH {url}", "community_admin", lambda i: {"minutes": f"纪要{i}"}, _field("minutes")
    )


# Every versioned model: the conditional write a client makes to it, or why there is none.
RACES: dict[str, Setup] = {
    "Building": building,
    "Household": household,
    "Resident": resident,
    "DiaryEntry": diary_entry,
    "Issue": issue,
    "User": user,
    "Area": area,
    "WebhookSubscription": webhook,
    "Dispute": dispute,
    "Volunteer": volunteer,
    "ServiceRecord": service_record,
    "Wish": wish,
    "CommitmentList": commitment_list,
    "Proposal": proposal,
    "Consultation": consultation,
}
NOT_WRITTEN_BY_CLIENTS = {
    "Unit": "units are created (POST /units) and never changed through the API",
    "CommitmentItem": "an item is changed only through its list, under the list's If-Match (CommitmentList above)",
    "Pairing": "a pairing is created and visited; a visit is a new row, taken under the pairing's lock",
    "ShopItem": "stock moves by a conditional UPDATE (stock >= quantity); tests/volunteers races the last item",
    "TimebankRequest": "claim, confirm and cancel lock the request and check its state (tests/volunteers)",
}


def test_every_versioned_model_is_listed_here():
    assert VERSIONED.keys() == RACES.keys() | NOT_WRITTEN_BY_CLIENTS.keys()
    assert not RACES.keys() & NOT_WRITTEN_BY_CLIENTS.keys()


@pytest.mark.parametrize("name", sorted(VERSIONED))
def test_every_versioned_model_checks_its_version_in_the_update(name):
    mapper = VERSIONED[name]
    assert mapper.version_id_col is mapper.local_table.c.version, f"{name}: version is not the version_id_col"
    assert mapper.version_id_generator is not False, f"{name}: the version must move with every UPDATE"
    assert "updated_at" in mapper.columns, f"{name}: a conditional write touches updated_at (app.db.touch)"


async def _waiting_for_locks(conn: asyncpg.Connection) -> int:
    await conn.execute("SELECT pg_stat_clear_snapshot()")  # else the view stays as first read in a transaction
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )


@pytest.mark.parametrize("name", sorted(RACES))
async def test_concurrent_writes_with_one_etag_one_wins_the_rest_get_412(name, client, db_url):
    target = await RACES[name](client)
    headers = auth(target.user)
    before = await client.get(target.url, headers=headers)
    assert before.status_code == 200, before.text
    etag, version = before.headers["ETag"], before.json()["version"]
    method, path = target.write.split(" ", 1)
    row_id = uuid.UUID(target.url.rsplit("/", 1)[1])

    holder = await asyncpg.connect(db_url)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute(f"SELECT 1 FROM {target.table} WHERE id = $1 FOR UPDATE", row_id)
        writes = [
            asyncio.ensure_future(
                client.request(method, path, json=target.body(i), headers={**headers, "If-Match": etag})
            )
            for i in range(CLIENTS)
        ]
        # Let every request reach the row (bounded: a request that never blocks ends the wait).
        for _ in range(3000):
            n = await _waiting_for_locks(holder)
            if n >= CLIENTS or any(w.done() for w in writes):
                break
            await asyncio.sleep(0.01)
        await tx.rollback()
        answers = await asyncio.gather(*writes)
    finally:
        await holder.close()

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [412] * (CLIENTS - 1), [(r.status_code, r.text[:200]) for r in answers]
    for r in answers:
        if r.status_code == 412:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "version_mismatch" and r.json()["current_version"] == version + 1
    [winner] = [i for i, r in enumerate(answers) if r.status_code == 200]
    assert answers[winner].headers["ETag"] == f'"{version + 1}"'

    after = await client.get(target.url, headers=headers)
    assert after.json()["version"] == version + 1
    assert after.headers["ETag"] == f'"{version + 1}"'
    assert target.won(after.json(), target.body(winner))


# --- what moves a version, and what does not --------------------------------------------------


async def test_a_conditional_write_that_changes_nothing_still_moves_the_version(client):
    b = await _building(client)
    url = f"/api/v1/buildings/{b['id']}"
    r = await client.patch(url, json={"name": b["name"]}, headers={**auth("grid_worker"), "If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"' and r.json()["version"] == 2
    stale = await client.patch(url, json={"name": b["name"]}, headers={**auth("grid_worker"), "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"


async def test_remarks_on_an_issue_leave_its_version(client, settings, tmp_path):
    """A comment or a photo joins the timeline, but a phone's pending action keeps its If-Match."""
    settings.attachments_dir = tmp_path
    issue = await create_issue(client)
    url = f"/api/v1/issues/{issue['id']}"
    headers = auth("grid_worker")
    assert (await client.post(f"{url}/comments", json={"body": "已联系物业"}, headers=headers)).status_code == 201
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = await client.post(
        f"{url}/attachments", files={"file": ("a.png", png)}, data={"kind": "before"}, headers=headers
    )
    assert r.status_code == 201, r.text
    got = await client.get(url, headers=headers)
    assert got.json()["version"] == issue["version"] and got.headers["ETag"] == f'"{issue["version"]}"'
    events = (await client.get(f"{url}/events", headers=auth("admin"))).json()["items"]
    assert [e["seq"] for e in events] == [1, 2, 3]
    r = await client.patch(url, json={"title": "路灯仍不亮"}, headers={**headers, "If-Match": got.headers["ETag"]})
    assert r.status_code == 200 and r.json()["version"] == issue["version"] + 1


async def test_a_login_leaves_the_users_version(client):
    url = f"/api/v1/users/{USER['grid_worker'].id}"
    before = await client.get(url, headers=auth("admin"))
    login = await client.post("/api/v1/auth/token", data={"username": "grid_worker", "password": PASSWORD})
    assert login.status_code == 200, login.text
    after = await client.get(url, headers=auth("admin"))
    assert after.headers["ETag"] == before.headers["ETag"]
    r = await client.patch(
        url, json={"display_name": "网格员甲"}, headers={**auth("admin"), "If-Match": before.headers["ETag"]}
    )
    assert r.status_code == 200, r.text


async def test_an_issue_escalated_from_the_diary_starts_at_version_1(client):
    body = {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "complaint", "content": "楼道堆物"}
    e = await _created(client, "/api/v1/diary-entries", body, "grid_worker")
    r = await client.post(
        f"/api/v1/diary-entries/{e['id']}/escalate",
        json={"category": "property"},
        headers={**auth("grid_worker"), "If-Match": '"1"'},
    )
    assert r.status_code == 201, r.text
    assert r.json()["entry"]["version"] == 2
    got = await client.get(f"/api/v1/issues/{r.json()['issue_id']}", headers=auth("grid_worker"))
    assert got.json()["version"] == 1 and got.json()["diary_entry_id"] == e["id"]
