"""Deadlines stored and exposed on working days, paused while suspended, and the sla_state filter."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.kit import clock
from tests.conftest import auth
from tests.issues.helpers import act, create
from tests.world import UNIT_ID

SH = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.at = start

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, *args: int) -> None:
        self.at = dt.datetime(*args, tzinfo=SH)  # type: ignore[misc]


@pytest.fixture
def now(monkeypatch):
    fake = Clock(dt.datetime(2026, 11, 20, 15, 0, tzinfo=SH))
    monkeypatch.setattr(clock, "now", fake)
    return fake


def local(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(SH).replace(tzinfo=None)


async def test_working_days_skip_the_national_day_holiday_and_count_the_make_up_saturday(client, now):
    now.set(2026, 9, 30, 10, 0)  # Wednesday before 国庆节 (Oct 1-7 off, Saturday Oct 10 worked)
    issue = await create(client, kind="consultation", category="social_security")
    assert local(issue["respond_due_at"]) == dt.datetime(2026, 10, 1, 10, 0)  # 24 calendar hours
    assert local(issue["resolve_due_at"]) == dt.datetime(2026, 10, 10, 10, 0)  # 3 working days
    assert issue["number"] == "T01-20260930-000001"


async def test_working_days_skip_a_weekend_and_suspension_pauses_the_clock(client, now):
    now.set(2026, 11, 20, 15, 0)  # Friday
    issue = await create(client, kind="help", category="welfare")
    assert local(issue["resolve_due_at"]) == dt.datetime(2026, 11, 25, 15, 0)  # Wednesday
    await act(client, issue, "accept", "community_admin")
    await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})
    await act(client, issue, "start", "department")
    now.set(2026, 11, 20, 16, 0)
    suspended = await act(client, issue, "suspend", "department", {"reason": "等待居民补充材料"})
    state = suspended["sla_state"]
    now.set(2026, 11, 25, 20, 0)  # past the original deadline, but the clock is stopped
    got = (await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("department"))).json()
    assert got["sla_state"] == state == "on_track"
    now.set(2026, 11, 23, 10, 0)  # Monday: 8 h on Friday + 10 h on Monday were paused
    resumed = await act(client, issue, "resume", "department")
    assert local(resumed["resolve_due_at"]) == dt.datetime(2026, 11, 26, 9, 0)
    assert resumed["paused_seconds"] == (2 * 86400 + 18 * 3600)
    assert resumed["suspended_since"] is None


async def test_sla_state_on_track_due_soon_overdue_and_the_list_filter(client, now):
    now.set(2026, 11, 23, 9, 0)
    issue = await create(client)  # ordinary: respond within 24 h
    other = await create(client, priority="low")

    async def listed(state: str) -> set[str]:
        r = await client.get("/api/v1/issues", params={"sla_state": state}, headers=auth("grid_worker"))
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    assert await listed("on_track") == {issue["id"], other["id"]}
    now.set(2026, 11, 24, 5, 0)  # 20 h in: the last 20 % (4.8 h) has begun
    await act(client, other, "accept", "community_admin")  # now on the 7-day resolve clock
    got = (await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("grid_worker"))).json()
    assert got["sla_state"] == "due_soon"
    assert await listed("due_soon") == {issue["id"]}
    assert await listed("on_track") == {other["id"]}
    now.set(2026, 11, 24, 9, 1)
    assert await listed("overdue") == {issue["id"]}
    assert (await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("grid_worker"))).json()[
        "sla_state"
    ] == "overdue"


def test_policy_key_rule_is_in_the_schema():
    import jsonschema_rs

    from app.issues.schemas import SlaPolicyIn

    validator = jsonschema_rs.Draft202012Validator(SlaPolicyIn.model_json_schema())
    within = {"amount": 2, "unit": "hours"}
    base = {"respond_within": within, "resolve_within": within}
    assert validator.is_valid({**base, "kind": "praise"})
    assert validator.is_valid({**base, "category": "lighting", "priority": "urgent"})
    assert not validator.is_valid({**base, "kind": "praise", "category": ""})
    assert not validator.is_valid({**base, "kind": "praise", "priority": "urgent"})
