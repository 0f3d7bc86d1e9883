"""Every figure of a known month of a street, checked to the unit against hand-computed values.

The month is November 2026 (Asia/Shanghai); the figures are read on 1 December at 10:00. Default
SLA: respond within 24 h, resolve within 168 h. Groups of issues (see each builder):

- A: 58 property issues solved at grid level (40 满意, 12 基本满意, 6 不满意 — all solved); the
  6 rated 不满意 at closing are reopened (重办) and still being reworked
- B: 3 escalated (two to the community, one on to the street, resolved late); B2, rated 不满意 at
  closing, is reopened and still being reworked
- C: 2 reopened after 不满意 (one resolved and closed again, one still being reworked)
- D: a merged duplicate, its original (still open) and a rejected issue
- E: a suspended issue, resolved on time only thanks to the stopped clock
- F: a late response and a late resolution
- G: issues across the window's edges (and across local midnight)
- H: one issue in the neighbouring community; one in another district (never counted)
- I: rated 不满意 at closing, reworked once and rated 不满意 again: it stays closed

不满意 reopens an issue the same way with ``close``, ``evaluate`` or the resident's link, once.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import auth
from tests.issues.helpers import G1_POINT, G2_POINT, act, create
from tests.stats.conftest import Clock, assert_aggregates_match_rebuild
from tests.world import AREA, USER

WINDOW = "from=2026-11-01&to=2026-11-30"
G3_POINT = {"lat": 34.05, "lng": 108.15}
XS_POINT = {"lat": 37.1, "lng": 113.1}


async def closed_loop(
    client, clock: Clock, issue, *, resolve_at, verify_at, close_at, rating, solved, by="grid_worker"
):
    clock.at(resolve_at)
    await act(client, issue, "resolve", by, {"outcome": "solved"})
    clock.at(verify_at)
    await act(client, issue, "verify", "community_admin")
    clock.at(close_at)
    await act(client, issue, "close", "community_admin", {"rating": rating, "solved": solved})


async def build_month(client, clock: Clock) -> None:
    # A — 58 property issues, created 3 Nov 09:00, accepted after 1 h, resolved after 6 h.
    ratings = ["satisfied"] * 40 + ["basically_satisfied"] * 12 + ["dissatisfied"] * 6
    for rating in ratings:
        clock.at("2026-11-03 09:00")
        issue = await create(client, category="property", title="楼道灯坏了")
        clock.at("2026-11-03 10:00")
        await act(client, issue, "accept", "grid_worker")
        await closed_loop(
            client,
            clock,
            issue,
            resolve_at="2026-11-03 15:00",
            verify_at="2026-11-03 16:00",
            close_at="2026-11-04 10:00",
            rating=rating,
            solved=True,
        )

    # B — escalated from grid G2: B1, B2 to the community; B3 on to the street and resolved late.
    b = []
    for _ in range(3):
        clock.at("2026-11-05 09:00")
        issue = await create(client, user="grid_worker_g2", category="environment", location=G2_POINT)
        clock.at("2026-11-05 09:30")
        await act(client, issue, "accept", "grid_worker_g2")
        clock.at("2026-11-05 10:00")
        await act(client, issue, "escalate", "grid_worker_g2", {"reason": "需要社区协调"})
        b.append(issue)
    for issue, (rating, solved) in zip(b[:2], [("basically_satisfied", True), ("dissatisfied", False)], strict=True):
        clock.at("2026-11-06 09:00")
        await act(client, issue, "resolve", "community_admin", {"outcome": "solved"})
        clock.at("2026-11-06 10:00")
        await act(client, issue, "verify", "street_admin")
        clock.at("2026-11-07 09:00")
        await act(client, issue, "close", "street_admin", {"rating": rating, "solved": solved})
    clock.at("2026-11-05 11:00")
    await act(client, b[2], "escalate", "community_admin", {"reason": "需要街道协调"})
    clock.at("2026-11-13 09:00")
    await act(client, b[2], "resolve", "street_admin", {"outcome": "solved"})
    clock.at("2026-11-13 10:00")
    await act(client, b[2], "verify", "community_admin")
    clock.at("2026-11-14 09:00")
    await act(client, b[2], "close", "community_admin", {"rating": "satisfied", "solved": True})

    # C — closed 9 Nov, rated 不满意 on 10 Nov: reopened (重办) by the system.
    c = []
    for _ in range(2):
        clock.at("2026-11-08 09:00")
        issue = await create(client, category="sewage")
        clock.at("2026-11-08 09:10")
        await act(client, issue, "accept", "grid_worker")
        await closed_loop(
            client,
            clock,
            issue,
            resolve_at="2026-11-08 12:00",
            verify_at="2026-11-08 13:00",
            close_at="2026-11-09 09:00",
            rating="satisfied",
            solved=True,
        )
        clock.at("2026-11-10 09:00")
        out = await act(client, issue, "evaluate", "community_admin", {"rating": "dissatisfied", "solved": False})
        assert out["status"] == "in_progress"
        c.append(issue)
    await closed_loop(
        client,
        clock,
        c[0],
        resolve_at="2026-11-11 09:00",
        verify_at="2026-11-11 10:00",
        close_at="2026-11-12 09:00",
        rating="satisfied",
        solved=True,
        by="admin",
    )

    # D — a duplicate merged into its original; a rejected report.
    clock.at("2026-11-16 09:00")
    original = await create(client, category="environment", channel="hotline")
    rejected = await create(client, category="environment", channel="hotline")
    clock.at("2026-11-16 10:00")
    duplicate = await create(client, category="environment", channel="hotline")
    await act(client, rejected, "reject", "community_admin", {"reason": "invalid"})
    clock.at("2026-11-16 11:00")
    await act(client, duplicate, "merge", "community_admin", {"into_issue_id": original["id"]})
    clock.at("2026-11-16 12:00")
    await act(client, original, "accept", "grid_worker")

    # E — suspended 18 → 22 Nov (96 h): due 24 Nov becomes 28 Nov; resolved 26 Nov, on time.
    clock.at("2026-11-17 09:00")
    e = await create(client, category="lighting")
    clock.at("2026-11-17 09:30")
    await act(client, e, "accept", "community_admin")
    clock.at("2026-11-17 10:00")
    await act(client, e, "dispatch", "community_admin", {"assignee_user_id": str(USER["grid_worker"].id)})
    await act(client, e, "start", "grid_worker")
    clock.at("2026-11-18 09:00")
    await act(client, e, "suspend", "grid_worker", {"reason": "等待业主回家"})
    clock.at("2026-11-22 09:00")
    await act(client, e, "resume", "grid_worker")
    clock.at("2026-11-26 09:00")
    await act(client, e, "resolve", "grid_worker", {"outcome": "solved"})
    clock.at("2026-11-26 10:00")
    await act(client, e, "verify", "community_admin")

    # F — F1 answered two days late (still open); F2 resolved three days late.
    clock.at("2026-11-20 09:00")
    f1 = await create(client, user="grid_worker_g2", category="other", location=G2_POINT)
    clock.at("2026-11-22 09:00")
    await act(client, f1, "accept", "grid_worker_g2")
    clock.at("2026-11-15 09:00")
    f2 = await create(client, user="grid_worker_g2", category="other", location=G2_POINT)
    clock.at("2026-11-15 10:00")
    await act(client, f2, "accept", "grid_worker_g2")
    clock.at("2026-11-25 09:00")
    await act(client, f2, "resolve", "grid_worker_g2", {"outcome": "solved"})

    # G — the window's edges.
    clock.at("2026-10-30 09:00")  # created and answered before the window, settled inside it
    old = await create(client, category="other")
    clock.at("2026-10-30 10:00")
    await act(client, old, "accept", "grid_worker")
    await closed_loop(
        client,
        clock,
        old,
        resolve_at="2026-11-02 09:00",
        verify_at="2026-11-02 10:00",
        close_at="2026-11-03 09:00",
        rating="satisfied",
        solved=True,
    )
    clock.at("2026-10-31 23:30")  # October locally (15:30 UTC); never answered, due 1 Nov 23:30
    await create(client, category="other")
    clock.at("2026-11-01 00:30")  # November locally although still 31 Oct in UTC
    midnight = await create(client, category="other")
    clock.at("2026-11-01 01:00")
    await act(client, midnight, "accept", "grid_worker")
    clock.at("2026-11-29 08:00")  # never answered, due 30 Nov 08:00
    await create(client, category="other")
    clock.at("2026-11-30 12:00")  # response due 1 Dec 12:00: due soon at 10:00
    await create(client, category="other")
    clock.at("2026-11-30 20:00")  # response due 1 Dec 20:00: on track
    await create(client, category="other")

    # H — the neighbouring community, and another district.
    clock.at("2026-11-10 09:00")
    h = await create(client, user="grid_worker_g3", category="other", kind="report", location=G3_POINT)
    clock.at("2026-11-10 09:05")
    await act(client, h, "accept", "grid_worker_g3")
    clock.at("2026-11-10 10:00")
    await act(client, h, "resolve", "grid_worker_g3", {"outcome": "solved"})
    clock.at("2026-11-10 11:00")
    await act(client, h, "verify", "street_admin")
    clock.at("2026-11-11 09:00")
    await act(client, h, "close", "street_admin", {"rating": "satisfied", "solved": True})
    elsewhere = await create(client, user="other_admin", category="other", area_id=str(AREA["XS"].id), location=None)
    await act(client, elsewhere, "accept", "other_admin")

    # I — 不满意 at closing reopens it (重办); after the rework a second 不满意 stands.
    clock.at("2026-11-18 09:00")
    i = await create(client, category="lighting")
    clock.at("2026-11-18 10:00")
    await act(client, i, "accept", "grid_worker")
    for resolve_at, verify_at, close_at, by in (
        ("2026-11-18 15:00", "2026-11-18 16:00", "2026-11-19 10:00", "grid_worker"),
        ("2026-11-20 10:00", "2026-11-20 11:00", "2026-11-21 10:00", "admin"),
    ):
        await closed_loop(
            client,
            clock,
            i,
            resolve_at=resolve_at,
            verify_at=verify_at,
            close_at=close_at,
            rating="dissatisfied",
            solved=False,
            by=by,
        )
    got = (await client.get(f"/api/v1/issues/{i['id']}", headers=auth("admin"))).json()
    assert (got["status"], got["reopened_count"]) == ("closed", 1)

    clock.at("2026-12-01 10:00")


def r(numerator: int, denominator: int) -> dict:
    return {
        "value": numerator / denominator if denominator else None,
        "numerator": numerator,
        "denominator": denominator,
    }


async def load_community_work(db) -> None:
    """民情日记 and disputes as a street office's report counts them, loaded directly (COPY-style bulk inserts)."""
    author, g1 = USER["grid_worker"].id, AREA["G1"].id
    # 1869 entries visited in November: 1000 resolved + 594 answered = 1594; 100 escalated; 175 open.
    # Plus 31 entries visited in October, outside the window.
    await db.execute(
        """
        INSERT INTO diary_entries (id, author_id, area_id, visited_at, kind, content, status)
        SELECT gen_random_uuid(), $1, $2,
               timestamptz '2026-11-01 08:00+08' + (n % 29) * interval '1 day',
               'situation', '走访记录 ' || n,
               CASE WHEN n <= 1000 THEN 'resolved' WHEN n <= 1594 THEN 'answered'
                    WHEN n <= 1694 THEN 'escalated' ELSE 'open' END
        FROM generate_series(1, 1869) n
        """,
        author,
        g1,
    )
    await db.execute(
        """
        INSERT INTO diary_entries (id, author_id, area_id, visited_at, kind, content, status)
        SELECT gen_random_uuid(), $1, $2, timestamptz '2026-10-31 23:59+08', 'opinion', '十月走访', 'resolved'
        FROM generate_series(1, 31)
        """,
        author,
        g1,
    )
    # 450 disputes registered in November: 398 mediated (250 agreement then stable at follow-up,
    # 50 agreement, 50 failed, 48 referred) and 52 still in mediation.
    await db.execute(
        """
        INSERT INTO disputes (id, area_id, title, description, type, risk_level, status, registered_by,
                              agreement_text, referred_to, outcome_at, created_at, updated_at)
        SELECT gen_random_uuid(), $2, '纠纷 ' || n, '排查登记', 'neighbour',
               CASE WHEN n <= 10 THEN 'red' WHEN n <= 50 THEN 'orange' WHEN n <= 150 THEN 'yellow' ELSE 'green' END,
               CASE WHEN n <= 250 THEN 'stable' WHEN n <= 300 THEN 'agreement' WHEN n <= 350 THEN 'failed'
                    WHEN n <= 398 THEN 'referred' ELSE 'mediating' END,
               $1,
               CASE WHEN n <= 300 THEN '双方达成协议' END,
               CASE WHEN n > 350 AND n <= 398 THEN 'judicial' END,
               CASE WHEN n <= 398 THEN timestamptz '2026-11-20 10:00+08' END,
               timestamptz '2026-11-02 10:00+08' + (n % 20) * interval '1 day', now()
        FROM generate_series(1, 450) n
        """,
        USER["community_admin"].id,
        AREA["G2"].id,
    )


async def test_a_month_of_a_street_to_the_unit(client, fake_clock, db):
    await build_month(client, fake_clock)
    await load_community_work(db)
    street = auth("street_admin")

    o = (await client.get(f"/api/v1/stats/overview?{WINDOW}", headers=street)).json()
    assert o["area"] == {"id": str(AREA["S"].id), "name": "测试街道", "level": "street"}
    assert (o["from"], o["to"]) == ("2026-11-01", "2026-11-30")
    issues = o["issues"]
    assert issues["total"] == 75
    # 重办 after 不满意 at closing: the six of A and B2 are being reworked; I was reworked once
    assert {k: v for k, v in issues["by_status"].items() if v} == {
        "closed": 57,
        "in_progress": 8,
        "accepted": 3,
        "merged": 1,
        "rejected": 1,
        "verified": 1,
        "resolved": 1,
        "reported": 3,
    }
    assert issues["by_category"] == {"property": 58, "environment": 6, "sewage": 2, "lighting": 2, "other": 7}
    assert {k: v for k, v in issues["by_kind"].items() if v} == {"complaint": 74, "report": 1}
    assert {k: v for k, v in issues["by_channel"].items() if v} == {"patrol": 72, "hotline": 3}
    assert issues["by_tier"] == {"grid": 72, "community": 2, "street": 1}
    # open: not closed, merged or rejected — E (verified) and F2 (resolved) included; the seven
    # reworked since early November (fresh 168 h windows) are overdue
    assert (issues["open_now"], issues["due_soon_now"], issues["overdue_now"]) == (17, 1, 13)

    # The seven being reworked keep their rating (evaluated, not satisfied) but are neither resolved
    # nor closed any more; I counts once, with its second resolution (on time in its fresh window).
    assert o["rates"] == {
        "response_rate": r(69, 72),
        "resolution_rate": r(63, 66),
        "satisfaction_rate": r(57, 66),
        "on_time_rate": r(58, 60),
        "grid_level_share": r(56, 58),
        "community_level_share": r(57, 58),
    }
    # resolution: H 1 h, A 52 × 6 h, B1 24 h, I 49 h, C1 and G 72 h, B3 8 d, E 9 d, F2 10 d
    # (p90 lies a tenth of the way from 24 h to 49 h: 95400 s, to the float's last digits)
    assert o["durations"] == {
        "first_response_seconds": {"median": 3600.0, "p90": 3600.0},
        "resolution_seconds": {"median": 21600.0, "p90": pytest.approx(95400.0, abs=1e-6)},
    }
    assert o["diary"] == {
        "logged": 1869,
        "answered": 594,
        "resolved": 1000,
        "escalated": 100,
        "closure_rate": r(1594, 1869),
    }
    assert o["disputes"] == {
        "registered": 450,
        "by_risk": {"green": 300, "yellow": 100, "orange": 40, "red": 10},
        "mediated": 398,
        "agreements": 300,
        "referred": 48,
        "stable_at_follow_up": 250,
    }

    # The 58 solved property problems, on their own.
    prop = (await client.get(f"/api/v1/stats/overview?{WINDOW}&area_id={AREA['G1'].id}", headers=street)).json()
    assert prop["issues"]["by_category"]["property"] == 58

    # Ranking: the neighbouring community holds H only.
    ranking = (await client.get(f"/api/v1/stats/areas?{WINDOW}&sort=response_rate", headers=street)).json()
    rows = {row["area"]["name"]: row for row in ranking["items"]}
    assert list(rows) == ["邻居社区", "测试社区"]  # 1/1 before 68/71
    assert rows["邻居社区"]["issues"] == {"total": 1, "open_now": 0, "overdue_now": 0}
    assert rows["测试社区"]["issues"] == {"total": 74, "open_now": 17, "overdue_now": 13}
    assert rows["测试社区"]["rates"]["response_rate"] == r(68, 71)
    assert rows["测试社区"]["rates"]["satisfaction_rate"] == r(56, 65)
    assert rows["邻居社区"]["rates"]["grid_level_share"] == r(1, 1)

    workers = (await client.get(f"/api/v1/stats/workers?{WINDOW}", headers=street)).json()["items"]
    by_name = {w["user"]["display_name"]: w for w in workers}
    g1 = by_name["测试grid_worker"]
    assert (g1["diary_entries"], g1["visits"], g1["issues_found"], g1["handled"], g1["resolved_on_time"]) == (
        1869,
        0,
        69,
        54,
        54,
    )
    # resolved by the worker in the window: 52 of A, G and E (not the six of A being reworked, nor
    # I, resolved again by the admin)
    assert g1["satisfaction_rate"] == r(53, 53)
    g2 = by_name["测试grid_worker_g2"]
    assert (g2["issues_found"], g2["handled"], g2["resolved_on_time"], g2["satisfaction_rate"]) == (5, 1, 0, r(0, 0))
    g3 = by_name["测试grid_worker_g3"]
    assert (g3["issues_found"], g3["handled"], g3["satisfaction_rate"]) == (1, 1, r(1, 1))

    created = (await client.get(f"/api/v1/stats/timeseries?metric=issues_created&{WINDOW}", headers=street)).json()
    assert len(created["points"]) == 30 and created["points"][0]["t"] == "2026-11-01"
    assert sum(p["value"] for p in created["points"]) == 75
    assert {p["t"]: p["value"] for p in created["points"]}["2026-11-03"] == 58
    weekly = (
        await client.get(f"/api/v1/stats/timeseries?metric=response_rate&bucket=week&{WINDOW}", headers=street)
    ).json()
    assert [p["t"] for p in weekly["points"]] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    assert sum(p["value"]["numerator"] for p in weekly["points"]) == 69
    assert sum(p["value"]["denominator"] for p in weekly["points"]) == 72

    # The other district's issue is in nobody's figures here; its own admin sees it.
    other = (
        await client.get("/api/v1/stats/overview?from=2026-11-01&to=2026-12-01", headers=auth("other_admin"))
    ).json()
    assert other["issues"]["total"] == 1 and other["diary"]["logged"] == 0

    await assert_aggregates_match_rebuild(db)


ACTIONS = ["accept", "reject", "merge", "escalate", "resolve", "verify", "verify_fail", "close", "evaluate", "reopen"]


async def test_trigger_kept_aggregates_equal_a_rebuild_after_random_actions(client, fake_clock, db):
    rng = random.Random(20261123)
    issues: list[dict] = []
    actors = ["grid_worker", "community_admin", "street_admin", "admin"]
    for step in range(160):
        fake_clock.at(f"2026-11-{1 + step // 6:02d} {8 + step % 12:02d}:{rng.randrange(60):02d}")
        if not issues or rng.random() < 0.25:
            issues.append(
                await create(
                    client,
                    user="community_admin",
                    category=rng.choice(["property", "environment", "other"]),
                    location=rng.choice([G1_POINT, G2_POINT]),
                    channel=rng.choice(["patrol", "hotline", "app"]),
                )
            )
            continue
        issue = rng.choice(issues)
        action = rng.choice(ACTIONS)
        body: dict = {
            "reject": {"reason": "invalid"},
            "merge": {"into_issue_id": rng.choice(issues)["id"]},
            "escalate": {"reason": "上报"},
            "resolve": {"outcome": "solved"},
            "verify_fail": {"reason": "未整改"},
            "close": {"rating": rng.choice(["satisfied", "dissatisfied"]), "solved": rng.random() < 0.7},
            "evaluate": {"rating": rng.choice(["satisfied", "basically_satisfied", "dissatisfied"]), "solved": True},
            "reopen": {"reason": "重办"},
        }.get(action, {})
        await act(client, issue, action, rng.choice(actors), body, expect=None)
    # Writes that bypass the services count too: a re-categorisation, a move, deletions, diary edits.
    await db.execute("UPDATE issues SET category = 'property' WHERE status = 'reported'")
    await db.execute("UPDATE issues SET area_id = $1 WHERE status = 'accepted'", AREA["M1"].id)
    await db.execute("DELETE FROM issues WHERE status = 'rejected'")
    await load_community_work(db)
    await db.execute(
        "UPDATE diary_entries SET status = 'resolved', visited_at = visited_at - interval '3 days' "
        "WHERE status = 'open'"
    )
    await db.execute("UPDATE disputes SET status = 'stable' WHERE status = 'agreement'")
    await db.execute("DELETE FROM disputes WHERE risk_level = 'red'")
    await assert_aggregates_match_rebuild(db)
