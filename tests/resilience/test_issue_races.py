"""Many clients act on the same issues at once: every final state is one the workflow can reach,
every timeline is gapless, and the dashboard's counts equal the counts in the tables."""

from __future__ import annotations

import asyncio
import os
import random

import sqlalchemy as sa

from app.auth.roles import Role
from app.issues.workflow import Status, next_status
from tests.conftest import auth
from tests.issues.helpers import create
from tests.world import UNIT_ID

SLOW = bool(os.environ.get("MINQING_SLOW"))
ACTORS = ["community_admin", "street_admin", "grid_worker", "department"]
MOVES = [
    ("accept", {}),
    ("reject", {"reason": "invalid", "note": "重复"}),
    ("dispatch", {"assignee_unit_id": str(UNIT_ID)}),
    ("start", {}),
    ("suspend", {"reason": "等待居民"}),
    ("resume", {}),
    ("resolve", {"outcome": "solved", "notes": "已处理"}),
    ("verify", {}),
    ("close", {"rating": "satisfied", "solved": True}),
    ("escalate", {"reason": "需上级协调"}),
    ("supervise", {"note": "督办"}),
    ("return", {"reason": "wrong_area"}),
]


async def test_conflicting_actions_leave_legal_states_gapless_timelines_and_exact_counts(client, app):
    issues = [await create(client) for _ in range(12 if SLOW else 6)]
    versions = {i["id"]: i["version"] for i in issues}
    statuses: dict[int, int] = {}
    rng = random.Random(20261123)

    async def actor(n: int) -> None:
        for _ in range(60 if SLOW else 25):
            issue_id = rng.choice(issues)["id"]
            action, body = rng.choice(MOVES)
            headers = {**auth(rng.choice(ACTORS)), "If-Match": f'"{versions[issue_id]}"'}
            r = await client.post(f"/api/v1/issues/{issue_id}/actions/{action}", json=body, headers=headers)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code < 500, r.text
            if r.status_code == 200:
                versions[issue_id] = max(versions[issue_id], r.json()["version"])
            elif r.status_code == 412:
                versions[issue_id] = r.json()["current_version"]

    await asyncio.gather(*(actor(n) for n in range(8)))
    assert statuses.get(200, 0) > 0, statuses

    async with app.state.sessionmaker() as session:
        events = (
            await session.execute(
                sa.text(
                    "SELECT issue_id::text, seq, action, from_status, to_status, actor_role FROM issue_events "
                    "ORDER BY issue_id, seq"
                )
            )
        ).all()
        current = dict(
            (await session.execute(sa.text("SELECT id::text, status FROM issues"))).all()  # type: ignore[arg-type]
        )
    by_issue: dict[str, list] = {}
    for e in events:
        by_issue.setdefault(e.issue_id, []).append(e)
    for issue_id, timeline in by_issue.items():
        assert [e.seq for e in timeline] == list(range(1, len(timeline) + 1)), f"gap in {issue_id}"
        status = None
        for e in timeline:
            if e.action == "create":
                status = Status(e.to_status)
                continue
            assert e.from_status == status.value, (issue_id, e)
            if e.action in {"comment", "attach", "merged_in"}:
                continue
            # Every recorded step is one the transition table allows for the role that took it.
            assert next_status(status, e.action, Role(e.actor_role)).value == e.to_status, (issue_id, e)
            status = Status(e.to_status)
        assert current[issue_id] == status.value

    overview = (await client.get("/api/v1/stats/overview", headers=auth("street_admin"))).json()
    async with app.state.sessionmaker() as session:
        by_status = dict(
            (await session.execute(sa.text("SELECT status, count(*) FROM issues GROUP BY status"))).all()  # type: ignore[arg-type]
        )
    assert overview["issues"]["total"] == sum(by_status.values())
    assert {k: v for k, v in overview["issues"]["by_status"].items() if v} == by_status
