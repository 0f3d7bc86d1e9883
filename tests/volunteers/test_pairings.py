"""帮扶对子: pairings with a visit duty, visits online and offline, due / overdue in Asia/Shanghai days."""

from __future__ import annotations

import datetime as dt
import uuid

from app.volunteers.models import Frequency
from app.volunteers.workflow import Duty, due_on, duty
from tests.conftest import auth
from tests.stats.conftest import Clock
from tests.volunteers.helpers import post, resident, volunteer

D = dt.date.fromisoformat


def test_weekly_duty_counts_beijing_days():
    # 23:30 on Monday 30 Nov in Beijing is 15:30 UTC: the visit belongs to the 30th, due 7 Dec.
    visit = dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC)
    due = due_on(Frequency.WEEKLY, D("2026-11-01"), visit)
    assert due == D("2026-12-07")
    assert duty(Frequency.WEEKLY, due, D("2026-12-04")) is Duty.OK
    assert duty(Frequency.WEEKLY, due, D("2026-12-05")) is Duty.DUE
    assert duty(Frequency.WEEKLY, due, D("2026-12-07")) is Duty.DUE
    assert duty(Frequency.WEEKLY, due, D("2026-12-08")) is Duty.OVERDUE
    # 00:30 on 1 Dec in Beijing is still 30 Nov in UTC: due 8 Dec, not 7 Dec.
    assert due_on(Frequency.WEEKLY, D("2026-11-01"), dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)) == D(
        "2026-12-08"
    )


def test_monthly_and_festival_duties():
    assert due_on(Frequency.MONTHLY, D("2026-01-31"), None) == D("2026-02-28")
    assert due_on(Frequency.MONTHLY, D("2026-01-01"), dt.datetime(2026, 12, 15, 2, tzinfo=dt.UTC)) == D("2027-01-15")
    # Never visited: the first festival on or after the start; visited: the next one after the visit.
    assert due_on(Frequency.FESTIVAL, D("2026-09-25"), None) == D("2026-09-25")
    assert due_on(Frequency.FESTIVAL, D("2026-09-01"), dt.datetime(2026, 9, 25, 1, tzinfo=dt.UTC)) == D("2026-10-18")
    assert duty(Frequency.FESTIVAL, D("2027-02-06"), D("2027-01-30")) is Duty.DUE
    assert duty(Frequency.FESTIVAL, D("2027-02-06"), D("2027-01-29")) is Duty.OK


async def pairing(client, frequency: str = "weekly", started_on: str = "2026-11-01", helper: str = "党员甲") -> dict:
    old = await resident(client)
    household = old["household_id"]
    helper_v = await volunteer(client, helper, kind="party_member", party_registration="double")
    body = {"household_id": household, "helper_id": helper_v["id"], "frequency": frequency, "started_on": started_on}
    return await post(client, "/api/v1/pairings", body, "grid_worker") | {"resident_id": old["id"]}


async def test_due_and_overdue_pairings_are_listed_and_counted(client, monkeypatch):
    clock = Clock(monkeypatch)
    clock.at("2026-11-10 10:00")
    weekly = await pairing(client, "weekly", "2026-11-01", "党员甲")  # due 8 Nov: overdue
    monthly = await pairing(client, "monthly", "2026-11-01", "党员乙")  # due 1 Dec: ok
    soon = await pairing(client, "weekly", "2026-11-05", "党员丙")  # due 12 Nov: due
    due = (await client.get("/api/v1/pairings/due", headers=auth("grid_worker"))).json()
    assert due["today"] == "2026-11-10"
    assert due["counts"] == {"ok": 1, "due": 1, "overdue": 1}
    assert [(p["id"], p["duty"]) for p in due["items"]] == [(weekly["id"], "overdue"), (soon["id"], "due")]
    # A visit is recorded once it happened; this morning's keeps the weekly pairing until the 17th.
    r = await client.post(
        f"/api/v1/pairings/{weekly['id']}/visits",
        json={"visited_at": "2026-11-10T23:30:00+08:00", "mode": "phone", "notes": "定时电话"},
        headers=auth("grid_worker"),
    )
    assert r.status_code == 422 and r.json()["code"] == "visit_in_future"  # the clock says 10:00
    r = await client.post(
        f"/api/v1/pairings/{weekly['id']}/visits",
        json={"visited_at": "2026-11-10T09:30:00+08:00", "mode": "home"},
        headers=auth("grid_worker"),
    )
    assert r.status_code == 201, r.text
    got = (await client.get(f"/api/v1/pairings/{weekly['id']}", headers=auth("grid_worker"))).json()
    assert (got["due_on"], got["duty"], got["visits"]) == ("2026-11-17", "ok", 1)
    assert monthly["due_on"] == "2026-12-01"
    # The household's residents count as visited for the archive's due-visits list.
    res = (await client.get(f"/api/v1/residents/{weekly['resident_id']}", headers=auth("grid_worker"))).json()
    assert res["last_visited_at"] is not None


async def test_offline_visits_in_a_batch_are_safe_to_resend(client):
    p = await pairing(client)
    visit = {"id": str(uuid.uuid4()), "pairing_id": p["id"], "visited_at": "2026-11-20T10:00:00+08:00", "mode": "home"}
    bad = {
        "id": str(uuid.uuid4()),
        "pairing_id": str(uuid.uuid4()),
        "visited_at": "2026-11-20T10:00:00+08:00",
        "mode": "home",
    }
    junk = {"id": "x"}
    first = await post(client, "/api/v1/pairings/visits/batch", [visit, bad, junk], "grid_worker")
    assert [r["status"] for r in first["results"]] == ["created", "invalid", "invalid"]
    assert first["results"][1]["code"] == "unknown_pairing"
    again = await post(client, "/api/v1/pairings/visits/batch", [visit], "grid_worker")
    assert again["results"][0]["status"] == "unchanged"
    visits = (await client.get(f"/api/v1/pairings/{p['id']}/visits", headers=auth("grid_worker"))).json()
    assert [v["id"] for v in visits] == [visit["id"]]
    changes = (await client.get("/api/v1/sync/changes?types=pairings", headers=auth("grid_worker"))).json()
    assert ("pairings", p["id"]) in [(c["type"], c["id"]) for c in changes["items"]]


async def test_many_helpers_for_one_household_and_scope(client):
    p = await pairing(client)
    other = await volunteer(client, "单位乙", kind="unit")
    body = {
        "household_id": p["household_id"],
        "helper_id": other["id"],
        "frequency": "monthly",
        "started_on": "2026-11-01",
    }
    await post(client, "/api/v1/pairings", body, "grid_worker")
    r = await client.post("/api/v1/pairings", json=body, headers=auth("grid_worker"))
    assert r.status_code == 409 and r.json()["code"] == "already_paired"
    listed = (await client.get(f"/api/v1/pairings?household_id={p['household_id']}", headers=auth("viewer"))).json()
    assert len(listed["items"]) == 2
    assert (await client.get(f"/api/v1/pairings/{p['id']}", headers=auth("grid_worker_g3"))).status_code == 404
    due = (await client.get("/api/v1/pairings/due", headers=auth("grid_worker_g3"))).json()
    assert due["items"] == [] and sum(due["counts"].values()) == 0


async def test_a_visit_writes_a_diary_entry_linked_to_it(client):
    p = await pairing(client)
    body = {
        "visited_at": "2026-11-20T10:00:00+08:00",
        "mode": "home",
        "diary": {"kind": "situation", "content": "老人反映冬季取暖不足"},
    }
    visit = await post(client, f"/api/v1/pairings/{p['id']}/visits", body, "grid_worker")
    entry = (await client.get(f"/api/v1/diary-entries/{visit['diary_entry_id']}", headers=auth("grid_worker"))).json()
    assert entry["content"] == "老人反映冬季取暖不足" and entry["household_id"] == p["household_id"]
    both = {**body, "diary_entry_id": visit["diary_entry_id"]}
    r = await client.post(f"/api/v1/pairings/{p['id']}/visits", json=both, headers=auth("grid_worker"))
    assert r.status_code == 422 and r.json()["code"] == "diary_twice"
