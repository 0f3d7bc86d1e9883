"""One rule for 不满意, whichever way the rating arrives: with ``close``, through ``evaluate``, or
through the resident's one-time feedback link.

不满意 within 7 days of closing reopens the issue for rework (重办) once; rated 不满意 again after
the rework, it stays closed. The issue, its timeline and the stats come out the same on each path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from app.issues.workflow import REWORK_WINDOW, Rating, reworks
from tests.conftest import auth
from tests.issues.helpers import act, create
from tests.stats.conftest import Clock
from tests.world import UNIT_ID

PATHS = ["close", "evaluate", "link"]
WINDOW = "from=2026-11-01&to=2026-11-30"
DISSATISFIED = {"rating": "dissatisfied", "solved": False}


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def resolved_and_verified(client, clock: Clock, issue: dict | None = None) -> dict:
    """A new issue taken to ``verified`` on 4 Nov, or a reworked one on 7 Nov."""
    day = "2026-11-07"
    if issue is None:
        day = "2026-11-04"
        clock.at("2026-11-03 09:00")
        issue = await create(client)
        clock.at("2026-11-03 10:00")
        await act(client, issue, "accept", "community_admin")
        await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})
    clock.at(f"{day} 09:00")
    await act(client, issue, "resolve", "department", {"outcome": "solved"})
    clock.at(f"{day} 10:00")
    return await act(client, issue, "verify", "grid_worker")


async def rate_dissatisfied(client, issue: dict, path: str) -> dict:
    """Close the issue and have the resident say 不满意 by ``path``; returns the close response."""
    if path == "close":
        return await act(client, issue, "close", "community_admin", DISSATISFIED)
    closed = await act(client, issue, "close", "community_admin", {"unreachable": True, "attempts": 2})
    if path == "evaluate":
        await act(client, issue, "evaluate", "community_admin", DISSATISFIED)
    else:
        r = await client.post(closed["feedback_url"], json=DISSATISFIED)
        assert r.status_code == 200, r.text
    return closed


async def get(client, issue: dict) -> dict:
    return (await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("admin"))).json()


async def events(client, issue: dict) -> list[dict]:
    return (await client.get(f"/api/v1/issues/{issue['id']}/events", headers=auth("admin"))).json()["items"]


async def overview(client) -> dict:
    r = await client.get(f"/api/v1/stats/overview?{WINDOW}", headers=auth("street_admin"))
    assert r.status_code == 200, r.text
    return r.json()


def counts(value: Any, path: str = "") -> Iterator[tuple[str, int]]:
    """The whole numbers of a stats answer by path (rate values are their numerator ÷ denominator)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "value":
                yield from counts(item, f"{path}.{key}")
    elif isinstance(value, int) and not isinstance(value, bool):
        yield path, value


def delta(before: dict, after: dict) -> dict[str, int]:
    old = dict(counts(before))
    return {k: v - old.get(k, 0) for k, v in counts(after) if v != old.get(k, 0)}


KEPT = ("status", "rating", "solved", "reopened_count", "closed_at", "resolved_at", "resolve_due_at", "outcome")


async def test_dissatisfied_reopens_for_rework_the_same_way_on_every_path(client, fake_clock):
    outcomes, deltas = {}, {}
    for path in PATHS:
        fake_clock.at("2026-11-20 09:00")
        before = await overview(client)
        issue = await resolved_and_verified(client, fake_clock)
        fake_clock.at("2026-11-05 09:00")
        closed = await rate_dissatisfied(client, issue, path)
        if path == "close":
            assert closed["status"] == "in_progress" and closed["feedback_url"] is None
        got = await get(client, issue)
        outcomes[path] = {k: got[k] for k in KEPT}
        timeline = [(e["action"], e["actor_role"]) for e in await events(client, issue)]
        assert timeline[-1] == ("reopen", "system"), path
        assert timeline[-2][0] == ("close" if path == "close" else "evaluate"), path
        fake_clock.at("2026-11-20 09:00")
        deltas[path] = delta(before, await overview(client))

    assert outcomes["close"] == outcomes["evaluate"] == outcomes["link"]
    assert outcomes["close"]["status"] == "in_progress" and outcomes["close"]["reopened_count"] == 1
    assert (outcomes["close"]["rating"], outcomes["close"]["closed_at"], outcomes["close"]["resolved_at"]) == (
        "dissatisfied",
        None,
        None,
    )
    assert deltas["close"] == deltas["evaluate"] == deltas["link"]
    # counted once as evaluated and not satisfied; neither resolved nor closed any more (重办)
    d = deltas["close"]
    assert (d[".rates.satisfaction_rate.denominator"], d.get(".rates.satisfaction_rate.numerator", 0)) == (1, 0)
    assert ".rates.on_time_rate.denominator" not in d and ".rates.grid_level_share.denominator" not in d
    assert d[".issues.by_status.in_progress"] == 1 and ".issues.by_status.closed" not in d


@pytest.mark.parametrize("path", PATHS)
async def test_after_one_rework_a_dissatisfied_rating_stands_on_every_path(client, fake_clock, path):
    issue = await resolved_and_verified(client, fake_clock)
    fake_clock.at("2026-11-05 09:00")
    await rate_dissatisfied(client, issue, path)
    await resolved_and_verified(client, fake_clock, issue)
    fake_clock.at("2026-11-08 09:00")
    await rate_dissatisfied(client, issue, path)

    got = await get(client, issue)
    assert (got["status"], got["rating"], got["reopened_count"]) == ("closed", "dissatisfied", 1)
    assert [e["action"] for e in await events(client, issue)][-1] == ("close" if path == "close" else "evaluate")
    fake_clock.at("2026-11-20 09:00")
    rates = (await overview(client))["rates"]
    assert rates["satisfaction_rate"] == {"value": 0.0, "numerator": 0, "denominator": 1}
    assert rates["on_time_rate"]["denominator"] == 1 and rates["grid_level_share"]["denominator"] == 1
    # staff may still reopen it by hand
    reopened = await act(client, issue, "reopen", "community_admin", {"reason": "街道督办再次整改"})
    assert (reopened["status"], reopened["reopened_count"]) == ("in_progress", 2)


async def test_a_link_from_an_earlier_closing_expires_when_the_issue_is_closed_again(client, fake_clock):
    issue = await resolved_and_verified(client, fake_clock)
    fake_clock.at("2026-11-05 09:00")
    first = (await act(client, issue, "close", "community_admin", {"unreachable": True, "attempts": 1}))["feedback_url"]
    await act(client, issue, "evaluate", "community_admin", DISSATISFIED)  # 重办
    await resolved_and_verified(client, fake_clock, issue)
    fake_clock.at("2026-11-08 09:00")
    second = await act(client, issue, "close", "community_admin", {"unreachable": True, "attempts": 1})
    r = await client.post(first, json={"rating": "satisfied", "solved": True})
    assert r.status_code == 410 and r.json()["code"] == "feedback_expired"
    r = await client.post(second["feedback_url"], json={"rating": "satisfied", "solved": True})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert (await get(client, issue))["rating"] == "satisfied"


def test_the_rule_itself():
    week = REWORK_WINDOW
    assert reworks(Rating.DISSATISFIED, week, 0)
    assert not reworks(Rating.DISSATISFIED, week + dt.timedelta(seconds=1), 0)
    assert not reworks(Rating.DISSATISFIED, dt.timedelta(0), 1)
    assert not reworks(Rating.BASICALLY_SATISFIED, dt.timedelta(0), 0)
