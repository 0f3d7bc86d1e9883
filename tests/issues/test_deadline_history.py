"""A deadline that was met or missed is history: edits after the fact move no deadline and no rate.

Only running windows follow a new category, priority or policy; each move is on the timeline with
its old and new deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.issues import deadlines
from app.issues.models import Issue
from app.issues.sla import hours
from app.issues.workflow import Status
from tests.conftest import auth
from tests.issues.helpers import act, create
from tests.stats.conftest import Clock, aggregates
from tests.world import UNIT_ID

WINDOW = "from=2026-11-01&to=2026-11-30"
POLICIES = {
    "items": [
        {"respond_within": {"amount": 24, "unit": "hours"}, "resolve_within": {"amount": 168, "unit": "hours"}},
        {
            "priority": "low",
            "respond_within": {"amount": 72, "unit": "hours"},
            "resolve_within": {"amount": 360, "unit": "hours"},
        },
        {
            "priority": "urgent",
            "respond_within": {"amount": 2, "unit": "hours"},
            "resolve_within": {"amount": 24, "unit": "hours"},
        },
    ]
}


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        yield conn
    finally:
        await conn.close()


async def set_policies(client, body=POLICIES) -> None:
    r = await client.put("/api/v1/sla-policies", json=body, headers=auth("admin"))
    assert r.status_code == 200, r.text


async def patch(client, issue: dict, **fields) -> dict:
    current = await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("community_admin"))
    r = await client.patch(
        f"/api/v1/issues/{issue['id']}",
        json=fields,
        headers={**auth("community_admin"), "If-Match": current.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def rates(client) -> dict:
    r = await client.get(f"/api/v1/stats/overview?{WINDOW}", headers=auth("street_admin"))
    assert r.status_code == 200, r.text
    return r.json()["rates"]


async def last_event(client, issue: dict) -> dict:
    events = (await client.get(f"/api/v1/issues/{issue['id']}/events", headers=auth("admin"))).json()["items"]
    return events[-1]


async def test_a_late_response_stays_late_when_the_priority_gets_a_longer_window(client, fake_clock, db):
    await set_policies(client)
    fake_clock.at("2026-11-03 09:00")
    issue = await create(client)  # normal: respond within 24 h
    fake_clock.at("2026-11-05 09:00")  # 48 h: late
    accepted = await act(client, issue, "accept", "community_admin")
    before, stored = await rates(client), await aggregates(db)
    assert before["response_rate"]["numerator"] == 0 and before["response_rate"]["denominator"] == 1

    fake_clock.at("2026-11-05 10:00")
    edited = await patch(client, issue, priority="low")  # low: 72 h, which the response would have met
    assert edited["respond_due_at"] == accepted["respond_due_at"]
    assert await rates(client) == before
    assert await aggregates(db) == stored
    # the running resolve window does follow the new priority (360 h from creation), on the timeline
    assert edited["resolve_due_at"] != accepted["resolve_due_at"]
    event = await last_event(client, issue)
    assert event["action"] == "update"
    assert list(event["payload"]["deadlines"]) == ["resolve_due_at"]


async def test_an_on_time_response_stays_on_time_when_the_priority_gets_a_shorter_window(client, fake_clock, db):
    await set_policies(client)
    fake_clock.at("2026-11-03 09:00")
    issue = await create(client)
    fake_clock.at("2026-11-03 14:00")  # 5 h: on time for 24 h, late for urgent's 2 h
    accepted = await act(client, issue, "accept", "community_admin")
    before, stored = await rates(client), await aggregates(db)
    assert before["response_rate"]["numerator"] == 1

    edited = await patch(client, issue, priority="urgent")
    assert edited["respond_due_at"] == accepted["respond_due_at"]
    assert await rates(client) == before
    assert await aggregates(db) == stored


async def test_running_windows_follow_the_edit_and_the_timeline_shows_old_and_new(client, fake_clock):
    await set_policies(client)
    fake_clock.at("2026-11-03 09:00")
    issue = await create(client)
    fake_clock.at("2026-11-03 10:00")
    edited = await patch(client, issue, priority="urgent")  # not yet answered: both windows run
    created = dt.datetime.fromisoformat(issue["created_at"])
    assert dt.datetime.fromisoformat(edited["respond_due_at"]) - created == dt.timedelta(hours=2)
    assert dt.datetime.fromisoformat(edited["resolve_due_at"]) - created == dt.timedelta(hours=24)
    event = await last_event(client, issue)
    assert event["payload"]["fields"] == ["priority"]
    moved = event["payload"]["deadlines"]
    assert set(moved) == {"respond_due_at", "resolve_due_at"}
    for name in moved:
        assert dt.datetime.fromisoformat(moved[name]["from"]) == dt.datetime.fromisoformat(issue[name])
        assert dt.datetime.fromisoformat(moved[name]["to"]) == dt.datetime.fromisoformat(edited[name])

    # a title edit moves nothing, and says nothing about deadlines
    await patch(client, issue, title="路灯全坏了")
    assert "deadlines" not in (await last_event(client, issue))["payload"]


async def test_a_policy_edit_moves_no_closed_window(client, fake_clock, db):
    await set_policies(client)
    fake_clock.at("2026-11-03 09:00")
    late = await create(client)
    on_time = await create(client)
    fake_clock.at("2026-11-03 10:00")
    on_time = await act(client, on_time, "accept", "community_admin")
    fake_clock.at("2026-11-05 09:00")
    late = await act(client, late, "accept", "community_admin")
    before, stored = await rates(client), await response_counters(db)
    assert before["response_rate"]["numerator"] == 1 and before["response_rate"]["denominator"] == 2

    # the admin lengthens the response window to 72 h, and the lighting one to 30 min
    longer = {"respond_within": {"amount": 72, "unit": "hours"}, "resolve_within": {"amount": 168, "unit": "hours"}}
    shorter = {
        "category": "environment",
        "respond_within": {"amount": 0.5, "unit": "hours"},
        "resolve_within": {"amount": 48, "unit": "hours"},
    }
    await set_policies(client, {"items": [longer, shorter]})
    # re-applied by a category change: the closed response windows keep their deadlines
    for issue, category in ((late, "property"), (on_time, "environment")):
        edited = await patch(client, issue, category=category)
        assert edited["respond_due_at"] == issue["respond_due_at"]
        event = await last_event(client, issue)
        assert "respond_due_at" not in event["payload"].get("deadlines", {})
    got = await rates(client)
    assert got["response_rate"] == before["response_rate"]
    assert got == before
    # the category moved rows between categories; the response counters per area and day did not
    assert await response_counters(db) == stored


async def response_counters(db: asyncpg.Connection) -> dict:
    """The stored response counters per table, area and day (whatever the category)."""
    out = {}
    for table in ("stats_issue_daily", "stats_issue_rollup"):
        rows = await db.fetch(
            f"SELECT area_id, day, sum(response_due) AS due, sum(responded_on_time) AS on_time FROM {table} "
            "GROUP BY area_id, day HAVING sum(response_due) <> 0 OR sum(responded_on_time) <> 0"
        )
        out[table] = {(r["area_id"], r["day"]): (r["due"], r["on_time"]) for r in rows}
    return out


async def test_actions_after_the_response_move_only_the_resolve_window(client, fake_clock):
    """Suspend / resume, an extension and 重办 all re-time the issue; the response stays as it was."""
    fake_clock.at("2026-11-03 09:00")
    issue = await create(client)
    fake_clock.at("2026-11-05 09:00")
    await act(client, issue, "accept", "community_admin")
    issue = await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})
    respond_due = issue["respond_due_at"]
    await act(client, issue, "start", "department")
    await act(client, issue, "suspend", "department", {"reason": "等待配件"})
    fake_clock.at("2026-11-06 09:00")
    resumed = await act(client, issue, "resume", "department")
    moved = (await last_event(client, issue))["payload"]["deadlines"]
    assert list(moved) == ["resolve_due_at"]
    assert dt.datetime.fromisoformat(moved["resolve_due_at"]["from"]) == dt.datetime.fromisoformat(
        issue["resolve_due_at"]
    )
    assert dt.datetime.fromisoformat(moved["resolve_due_at"]["to"]) == dt.datetime.fromisoformat(
        resumed["resolve_due_at"]
    )
    await act(client, issue, "request_extension", "department", {"hours": 24, "reason": "缺配件"})
    extended = await act(client, issue, "approve_extension", "community_admin", {"approve": True})
    assert list((await last_event(client, issue))["payload"]["deadlines"]) == ["resolve_due_at"]
    assert extended["respond_due_at"] == respond_due


def _resolved_issue() -> Issue:
    created = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)
    return Issue(
        status=Status.RESOLVED.value,
        created_at=created,
        first_responded_at=created + dt.timedelta(hours=30),
        resolved_at=created + dt.timedelta(days=9),
        resolve_started_at=created,
        respond_amount=24.0,
        respond_unit="hours",
        resolve_amount=168.0,
        resolve_unit="hours",
        respond_due_at=created + dt.timedelta(hours=24),
        resolve_due_at=created + dt.timedelta(hours=168),
        external_due_at=None,
        paused_business_seconds=0.0,
        extension_business_seconds=0.0,
        suspended_since=None,
    )


def test_a_resolved_issue_keeps_both_windows_whatever_policy_is_applied():
    from app.issues.sla import DEFAULT_CALENDAR_FILE, SlaPolicy, WorkCalendar

    issue = _resolved_issue()
    kept = (issue.respond_due_at, issue.resolve_due_at, issue.respond_amount, issue.resolve_amount)
    calendar = WorkCalendar.from_json(DEFAULT_CALENDAR_FILE)
    assert deadlines.retime(issue, calendar, SlaPolicy(hours(72), hours(720))) == {}
    assert (issue.respond_due_at, issue.resolve_due_at, issue.respond_amount, issue.resolve_amount) == kept
