"""The closed loop through the API: a full happy path, and the service rules on top of the table."""

from __future__ import annotations

from sqlalchemy import event

from tests.conftest import auth
from tests.elsewhere import elsewhere
from tests.issues.helpers import act, create, dispatched_to_unit
from tests.world import AREA, UNIT_ID, USER


async def test_report_to_evaluation_happy_path(client):
    issue = await create(client)
    assert issue["status"] == "reported"
    assert issue["tier"] == "grid"
    assert issue["area_id"] == str(AREA["G1"].id)
    assert issue["number"].startswith("T01-")
    assert issue["reporter"] == {"name": "周**", "phone": "138****1234"}
    assert issue["sla_state"] == "on_track"

    issue = await act(client, issue, "accept", "community_admin", if_match=issue["version"])
    assert issue["status"] == "accepted" and issue["first_responded_at"]
    issue = await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})
    assert issue["status"] == "dispatched" and issue["assignee_unit_id"] == str(UNIT_ID)
    issue = await act(client, issue, "start", "department")
    issue = await act(client, issue, "suspend", "department", {"reason": "等待配件"})
    assert issue["status"] == "suspended" and issue["suspended_since"]
    issue = await act(client, issue, "resume", "department")
    issue = await act(client, issue, "resolve", "department", {"outcome": "solved", "notes": "已更换灯泡"})
    assert issue["status"] == "resolved" and issue["sla_state"] is None
    issue = await act(client, issue, "verify", "grid_worker")
    closed = await act(client, issue, "close", "community_admin", {"rating": "satisfied", "solved": True})
    assert closed["status"] == "closed" and closed["feedback_url"].startswith("/api/v1/feedback/")
    issue = await act(client, issue, "evaluate", "community_admin", {"rating": "basically_satisfied", "solved": True})
    assert issue["rating"] == "basically_satisfied"

    r = await client.get(f"/api/v1/issues/{issue['id']}/events", headers=auth("grid_worker"))
    events = r.json()["items"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["action"] for e in events] == [
        "create", "accept", "dispatch", "start", "suspend", "resume", "resolve", "verify", "close", "evaluate",
    ]  # fmt: skip
    assert events[2]["payload"]["resolve_due_at"]
    assert events[1]["actor_id"] == str(USER["community_admin"].id)


async def test_every_role_rule_on_top_of_the_table(client):
    issue = await dispatched_to_unit(client)
    # not the assignee: another grid worker's grid → 404, same grid but not assigned → 403
    await act(client, issue, "start", "grid_worker_g2", expect=404)
    r = await act(client, issue, "start", "grid_worker", expect=403)
    assert r["code"] == "not_assignee"
    # a department of another unit does not even see it
    await act(client, issue, "start", "department_police", expect=404)
    # the table: wrong status → 409 with allowed actions, wrong role → 403
    r = await act(client, issue, "accept", "community_admin", expect=409)
    assert r["code"] == "invalid_transition" and "supervise" in r["allowed_actions"]
    r = await act(client, issue, "approve_extension", "department", expect=403)
    assert r["code"] == "action_not_permitted"
    # viewers and mediators never act
    for user in ("viewer", "mediator", "integration"):
        await act(client, issue, "start", user, expect=403)
    await act(client, issue, "start", "department")


async def test_department_sees_only_its_units_issues(client):
    mine = await dispatched_to_unit(client)
    other = await create(client)
    ids = {i["id"] for i in (await client.get("/api/v1/issues", headers=auth("department"))).json()["items"]}
    assert ids == {mine["id"]}
    assert (await client.get(f"/api/v1/issues/{other['id']}", headers=auth("department"))).status_code == 404
    police = (await client.get("/api/v1/issues", headers=auth("department_police"))).json()["items"]
    assert police == []


async def test_escalation_climbs_one_tier_at_a_time(client):
    issue = await create(client)
    await act(client, issue, "accept", "grid_worker")
    issue = await act(client, issue, "escalate", "grid_worker", {"reason": "涉及两个网格"})
    assert (issue["status"], issue["tier"], issue["escalated"]) == ("accepted", "community", True)
    r = await act(client, issue, "escalate", "grid_worker", {"reason": "再上报"}, expect=403)
    assert r["code"] == "above_grid_tier"
    await act(client, issue, "resolve", "grid_worker", {"outcome": "solved"}, expect=403)
    issue = await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})
    issue = await act(client, issue, "escalate", "community_admin", {"reason": "需街道协调"})
    assert (issue["status"], issue["tier"], issue["assignee_unit_id"]) == ("accepted", "street", None)
    r = await act(client, issue, "escalate", "street_admin", {"reason": "矛盾不上交"}, expect=409)
    assert r["code"] == "cannot_escalate"


async def test_return_goes_back_to_the_dispatcher_with_the_reason(client):
    issue = await dispatched_to_unit(client)
    await act(client, issue, "return", "department", {"reason": "bogus"}, expect=422)
    issue = await act(client, issue, "return", "department", {"reason": "wrong_area", "note": "不在服务范围"})
    assert issue["status"] == "accepted" and issue["assignee_unit_id"] is None
    events = (await client.get(f"/api/v1/issues/{issue['id']}/events", headers=auth("admin"))).json()["items"]
    assert events[-1]["action"] == "return" and events[-1]["payload"]["reason"] == "wrong_area"


async def test_verification_by_someone_else_than_the_resolver(client):
    issue = await create(client)
    await act(client, issue, "accept", "grid_worker")
    await act(client, issue, "resolve", "grid_worker", {"outcome": "unsolvable"}, expect=422)
    issue = await act(client, issue, "resolve", "grid_worker", {"outcome": "answered", "notes": "已当场答复"})
    r = await act(client, issue, "verify", "grid_worker", expect=403)
    assert r["code"] == "verifier_is_resolver"
    issue = await act(client, issue, "verify_fail", "community_admin", {"reason": "照片不清"})
    assert issue["status"] == "in_progress" and issue["resolved_at"] is None


async def test_dispatch_to_a_grid_worker_outside_the_grid_is_refused(client):
    issue = await create(client)
    await act(client, issue, "accept", "community_admin")
    bad = {"assignee_user_id": str(USER["grid_worker_g2"].id)}
    r = await act(client, issue, "dispatch", "community_admin", bad, expect=422)
    assert r["errors"][0]["field"] == "assignee_user_id"
    await act(client, issue, "dispatch", "community_admin", {}, expect=422)
    good = {"assignee_user_id": str(USER["grid_worker"].id)}
    issue = await act(client, issue, "dispatch", "community_admin", good)
    issue = await act(client, issue, "start", "grid_worker")
    assert issue["status"] == "in_progress"


async def test_dispatch_goes_only_to_units_and_staff_serving_the_issues_area(client):
    """Another district's unit or department user, or the property company of the neighbouring
    community, would strand the issue where nobody of its area can act: 422, and nothing changes."""
    far = await elsewhere(client)
    issue = await create(client)
    issue = await act(client, issue, "accept", "community_admin")
    for body, field, code in (
        ({"assignee_unit_id": far.unit}, "assignee_unit_id", "unknown_unit"),
        ({"assignee_unit_id": far.neighbour_unit}, "assignee_unit_id", "unknown_unit"),
        ({"assignee_user_id": far.department_user}, "assignee_user_id", "unknown_user"),
    ):
        r = await act(client, issue, "dispatch", "community_admin", body, expect=422)
        assert r["code"] == code and [e["field"] for e in r["errors"]] == [field], r
    after = (await client.get(f"/api/v1/issues/{issue['id']}", headers=auth("community_admin"))).json()
    assert (after["status"], after["version"], after["assignee_unit_id"], after["assignee_user_id"]) == (
        "accepted",
        issue["version"],
        None,
        None,
    )
    events = (await client.get(f"/api/v1/issues/{issue['id']}/events", headers=auth("admin"))).json()["items"]
    assert "dispatch" not in [e["action"] for e in events]
    # a district's department serves every street of it; a department user takes the issue to its unit
    r = await client.post(
        "/api/v1/units",
        json={"code": "D_URBAN", "name": "测试区城管局", "kind": "department", "area_id": str(AREA["D"].id)},
        headers=auth("admin"),
    )
    district_unit = r.json()["id"]
    issue = await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": district_unit})
    assert issue["assignee_unit_id"] == district_unit
    other = await create(client)
    await act(client, other, "accept", "community_admin")
    other = await act(client, other, "dispatch", "community_admin", {"assignee_user_id": str(USER["department"].id)})
    assert (other["assignee_user_id"], other["assignee_unit_id"]) == (str(USER["department"].id), str(UNIT_ID))


async def test_checking_an_assignee_user_costs_one_statement_like_a_unit(app, client):
    """The user, whether they cover the issue's area and whether their unit serves it: one query,
    as for a unit — no lookups one after another."""
    statements: list[str] = []
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", lambda c, cur, s, *a: statements.append(s))
    counts = []
    for body in ({"assignee_unit_id": str(UNIT_ID)}, {"assignee_user_id": str(USER["department"].id)}):
        issue = await create(client)
        await act(client, issue, "accept", "community_admin")
        statements.clear()
        await act(client, issue, "dispatch", "community_admin", body)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def test_merge_into_an_issue_outside_scope_is_an_unknown_issue(client):
    far = await elsewhere(client)
    neighbours = await create(client, "grid_worker_g3", location={"lat": 34.05, "lng": 108.15})
    duplicate = await create(client)
    for target in (far.issue, neighbours["id"]):  # another district's; another community's
        r = await act(client, duplicate, "merge", "community_admin", {"into_issue_id": target}, expect=422)
        assert r["code"] == "unknown_issue" and r["errors"][0]["field"] == "into_issue_id"
    after = (await client.get(f"/api/v1/issues/{duplicate['id']}", headers=auth("community_admin"))).json()
    assert (after["status"], after["version"], after["merged_into_id"]) == ("reported", duplicate["version"], None)
    seen = (await client.get(f"/api/v1/issues/{neighbours['id']}", headers=auth("street_admin"))).json()
    assert (seen["version"], seen["co_reporters"]) == (neighbours["version"], [])


async def test_merge_folds_a_duplicate_and_keeps_its_reporter(client):
    original = await create(client)
    duplicate = await create(client, reporter={"name": "李四", "phone": "13900001111"})
    r = await act(client, duplicate, "merge", "community_admin", {"into_issue_id": duplicate["id"]}, expect=422)
    assert r["errors"][0]["field"] == "into_issue_id"
    merged = await act(client, duplicate, "merge", "community_admin", {"into_issue_id": original["id"]})
    assert merged["status"] == "merged" and merged["merged_into_id"] == original["id"]
    got = (await client.get(f"/api/v1/issues/{original['id']}", headers=auth("grid_worker"))).json()
    assert got["co_reporters"] == [{"name": "李*", "phone": "139****1111", "from_issue_id": duplicate["id"]}]
    third = await create(client)
    await act(client, third, "merge", "community_admin", {"into_issue_id": duplicate["id"]}, expect=422)
    await act(client, merged, "accept", "community_admin", expect=409)


async def test_reject_extension_supervise_and_close_unreachable(client):
    rejected = await create(client)
    r = await act(client, rejected, "reject", "community_admin", {"reason": "invalid"})
    assert r["status"] == "rejected" and r["allowed_actions"] == []

    issue = await dispatched_to_unit(client)
    due = issue["resolve_due_at"]
    await act(client, issue, "approve_extension", "community_admin", {"approve": True}, expect=409)
    await act(client, issue, "request_extension", "department", {"reason": "缺配件"}, expect=422)
    issue = await act(client, issue, "request_extension", "department", {"working_days": 2, "reason": "缺配件"})
    assert issue["pending_extension"]["working_days"] == 2
    issue = await act(client, issue, "approve_extension", "community_admin", {"approve": True})
    assert issue["pending_extension"] is None and issue["resolve_due_at"] > due

    issue = await act(client, issue, "supervise", "street_admin", {"note": "请加快"})
    assert issue["priority"] == "high" and issue["supervised_count"] == 1
    issue = await act(client, issue, "resolve", "department", {"outcome": "solved"})
    issue = await act(client, issue, "verify", "community_admin")
    bad = {"unreachable": True}
    await act(client, issue, "close", "community_admin", bad, expect=422)
    issue = await act(client, issue, "close", "community_admin", {"unreachable": True, "attempts": 3})
    assert issue["status"] == "closed" and issue["rating"] is None
    issue = await act(client, issue, "reopen", "community_admin", {"reason": "居民来电仍未修好"})
    assert issue["status"] == "in_progress" and issue["reopened_count"] == 1


async def test_patch_needs_if_match_and_only_before_dispatch(client):
    issue = await create(client)
    url = f"/api/v1/issues/{issue['id']}"
    r = await client.patch(url, json={"title": "路灯坏了"}, headers=auth("grid_worker"))
    assert r.status_code == 428
    r = await client.patch(url, json={"title": "路灯坏了"}, headers={**auth("grid_worker"), "If-Match": '"9"'})
    assert r.status_code == 412
    r = await client.patch(url, json={"status": "closed"}, headers={**auth("grid_worker"), "If-Match": '"1"'})
    assert r.status_code == 422
    r = await client.patch(
        url, json={"title": "路灯坏了", "priority": "urgent"}, headers={**auth("grid_worker"), "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "路灯坏了" and r.headers["ETag"] == '"2"'
    assert r.json()["resolve_due_at"] < issue["resolve_due_at"]  # the urgent policy: 24 h
    await act(client, issue, "accept", "community_admin")
    await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(UNIT_ID)})
    r = await client.patch(url, json={"title": "x"}, headers={**auth("community_admin"), "If-Match": '"4"'})
    assert r.status_code == 409 and r.json()["code"] == "issue_not_editable"


async def test_outbox_rows_are_written_with_the_change(client, app):
    import sqlalchemy as sa

    from app.kit.outbox import OutboxMessage

    issue = await dispatched_to_unit(client, external_ref="12345-0001")
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [r.event_type for r in rows] == ["issue.created", "issue.dispatched"]
    assert rows[1].payload["external_ref"] == "12345-0001" and rows[1].payload["number"] == issue["number"]
    assert "周" not in str(rows[1].payload) and rows[1].processed_at is None
