"""The ledger's invariants, under random sequences of postings and under racing clients.

- property: whatever mix of grants, redemptions, time-bank holds and releases, and reversals is
  sent, every balance equals the sum of its account's entries, no volunteer's balance is below zero,
  every posting sums to zero per unit, the stock is never negative, and each answer (success or
  409) is the one a simple model of the ledger predicts;
- concurrency: 50 clients redeeming the last points, or the last item, at once: exactly as many
  succeed as the points or the stock allow, the rest get 409, nothing is overspent.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import auth
from tests.volunteers.helpers import balance, grant, post, volunteer

PROPERTY = settings(
    max_examples=15,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ADMIN = auth("community_admin")

operations = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(1, 60)),
        st.tuples(st.just("redeem"), st.integers(1, 3)),
        st.tuples(st.just("reverse"), st.integers(0, 20)),
        st.tuples(st.just("hold"), st.integers(15, 120)),
        st.tuples(st.just("release"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=14,
)


async def check_ledger(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        drift = await conn.fetch(
            "SELECT a.id, a.balance, coalesce(sum(e.amount), 0) AS total FROM ledger_accounts a "
            "LEFT JOIN ledger_entries e ON e.account_id = a.id "
            "GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0)"
        )
        assert not drift, drift
        assert not await conn.fetch("SELECT id FROM ledger_accounts WHERE kind <> 'source' AND balance < 0")
        assert not await conn.fetch(
            "SELECT posting_id, unit FROM ledger_entries GROUP BY posting_id, unit HAVING sum(amount) <> 0"
        )
        assert not await conn.fetch("SELECT id FROM shop_items WHERE stock < 0")
    finally:
        await conn.close()


@PROPERTY
@given(ops=operations, stock=st.integers(0, 4))
async def test_random_postings_keep_the_ledger_balanced_and_never_negative(client, db_url, ops, stock):
    v = await volunteer(client, f"志愿者{uuid.uuid4().hex[:4]}")
    item = await post(client, "/api/v1/shop/items", {"name": "大米", "points": 7, "stock": stock})
    points, minutes, left = 0, 0, stock
    postings: list[tuple[str, dict, int]] = []  # (kind, posting or request, amount)
    reversed_: set[str] = set()
    holds: list[dict] = []
    hours_record = await client.post(
        "/api/v1/service-records",
        json={
            "volunteer_id": v["id"],
            "activity_type": "cleaning",
            "activity": "清扫楼道",
            "started_at": "2026-11-20T08:00:00+08:00",
            "ended_at": "2026-11-20T11:00:00+08:00",
        },
        headers=auth("grid_worker"),
    )
    verified = await post(client, f"/api/v1/service-records/{hours_record.json()['id']}/verify", {})
    points, minutes = 30, 180
    postings.append(("service", {"id": verified["posting_id"]}, 30))
    for op, n in ops:
        if op == "grant":
            postings.append(("grant", await grant(client, v["id"], n), n))
            points += n
        elif op == "redeem":
            r = await client.post(
                "/api/v1/shop/redemptions",
                json={"volunteer_id": v["id"], "item_id": item["id"], "quantity": n},
                headers=ADMIN,
            )
            if 7 * n > points:
                assert r.status_code == 409 and r.json()["code"] == "insufficient_balance", r.text
            elif n > left:
                assert r.status_code == 409 and r.json()["code"] == "out_of_stock", r.text
            else:
                assert r.status_code == 201, r.text
                assert r.json()["balance"] == points - 7 * n and r.json()["stock"] == left - n
                points, left = points - 7 * n, left - n
                postings.append(("redemption", {"id": r.json()["posting_id"]}, -7 * n))
        elif op == "reverse" and postings:
            kind, posting, amount = postings[n % len(postings)]
            r = await client.post(
                f"/api/v1/ledger/postings/{posting['id']}/reverse", json={"memo": "更正"}, headers=ADMIN
            )
            pts = amount
            if posting["id"] in reversed_:
                assert r.status_code == 409 and r.json()["code"] == "already_reversed", r.text
            elif kind == "service" and (points < 30 or minutes < 180):
                assert r.status_code == 409 and r.json()["code"] == "insufficient_balance", r.text
            elif kind != "service" and points - pts < 0:
                assert r.status_code == 409 and r.json()["code"] == "insufficient_balance", r.text
            else:
                assert r.status_code == 201, r.text
                reversed_.add(posting["id"])
                points -= pts
                if kind == "service":
                    minutes -= 180
        elif op == "hold":
            r = await client.post(
                "/api/v1/timebank/requests",
                json={"requester_id": v["id"], "title": "帮忙取快递", "minutes": n},
                headers=ADMIN,
            )
            if n > minutes:
                assert r.status_code == 409 and r.json()["code"] == "insufficient_balance", r.text
            else:
                assert r.status_code == 201, r.text
                minutes -= n
                holds.append(r.json())
        elif op == "release" and holds:
            req = holds[n % len(holds)]
            r = await client.post(f"/api/v1/timebank/requests/{req['id']}/cancel", headers=ADMIN)
            if req.get("cancelled"):
                assert r.status_code == 409 and r.json()["code"] == "invalid_transition", r.text
            else:
                assert r.status_code == 200, r.text
                req["cancelled"] = True
                minutes += req["minutes"]
        got = await balance(client, v["id"])
        assert (got["points"], got["minutes"]) == (points, minutes)
    await check_ledger(db_url)


async def test_fifty_clients_redeeming_the_last_points_overspend_nothing(client, db_url):
    v = await volunteer(client)
    await grant(client, v["id"], 50)
    item = await post(client, "/api/v1/shop/items", {"name": "洗衣液", "points": 10, "stock": 100})
    body = {"volunteer_id": v["id"], "item_id": item["id"], "quantity": 1}

    async def redeem(i: int):
        return await client.post(
            "/api/v1/shop/redemptions", json=body, headers={**ADMIN, "Idempotency-Key": f"last-points-{i}"}
        )

    answers = await asyncio.gather(*(redeem(i) for i in range(50)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 5 + [409] * 45, codes
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"insufficient_balance"}
    assert (await balance(client, v["id"]))["points"] == 0
    items = (await client.get("/api/v1/shop/items", headers=ADMIN)).json()["items"]
    assert [i["stock"] for i in items if i["id"] == item["id"]] == [95]
    await check_ledger(db_url)


async def test_fifty_clients_after_the_last_item_leave_no_negative_stock(client, db_url):
    volunteers = [await volunteer(client, f"志愿者{i}") for i in range(50)]
    for v in volunteers:
        await grant(client, v["id"], 100)
    item = await post(client, "/api/v1/shop/items", {"name": "电饭煲", "points": 80, "stock": 1})

    async def redeem(v):
        body = {"volunteer_id": v["id"], "item_id": item["id"], "quantity": 1}
        return await client.post("/api/v1/shop/redemptions", json=body, headers=ADMIN)

    answers = await asyncio.gather(*(redeem(v) for v in volunteers))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 49
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"out_of_stock"}
    points = sorted([(await balance(client, v["id"]))["points"] for v in volunteers])
    assert points == [20] + [100] * 49  # the losers' points are untouched
    items = (await client.get("/api/v1/shop/items", headers=ADMIN)).json()["items"]
    assert [i["stock"] for i in items if i["id"] == item["id"]] == [0]
    await check_ledger(db_url)


async def test_racing_records_of_one_volunteer_never_overlap(client):
    v = await volunteer(client)
    body = {
        "volunteer_id": v["id"],
        "activity_type": "cleaning",
        "activity": "清扫楼道",
        "started_at": "2026-11-20T09:00:00+08:00",
        "ended_at": "2026-11-20T11:00:00+08:00",
    }
    answers = await asyncio.gather(
        *(client.post("/api/v1/service-records", json=body, headers=auth("grid_worker")) for _ in range(10))
    )
    assert sorted(r.status_code for r in answers) == [201] + [409] * 9
    listed = (await client.get(f"/api/v1/service-records?volunteer_id={v['id']}", headers=ADMIN)).json()
    assert len(listed["items"]) == 1


async def test_one_of_many_racing_claims_of_a_wish_wins(client):
    from tests.volunteers.helpers import resident

    w = await post(
        client,
        "/api/v1/wishes",
        {"resident_id": (await resident(client))["id"], "title": "一台收音机", "category": "daily", "budget_cap": 100},
        "grid_worker",
    )
    claimers = [await volunteer(client, f"志愿者{i}") for i in range(10)]
    answers = await asyncio.gather(
        *(
            client.post(f"/api/v1/wishes/{w['id']}/claim", json={"volunteer_id": c["id"]}, headers=ADMIN)
            for c in claimers
        )
    )
    assert sorted(r.status_code for r in answers) == [200] + [409] * 9
    winner = next(r.json()["claimer_id"] for r in answers if r.status_code == 200)
    got = (await client.get(f"/api/v1/wishes/{w['id']}", headers=ADMIN)).json()
    assert got["claimer_id"] == winner


async def test_one_redemption_sent_many_times_at_once_with_one_key_is_made_once(client, db_url):
    """A shop counter's tablet resends before the answer arrives: one redemption, one posting,
    and every copy is answered with the first one's response."""
    v = await volunteer(client)
    await grant(client, v["id"], 100)
    item = await post(client, "/api/v1/shop/items", {"name": "洗衣液", "points": 10, "stock": 100})
    body = {"volunteer_id": v["id"], "item_id": item["id"], "quantity": 1}
    assert (
        await client.post("/api/v1/shop/redemptions", json=body, headers=ADMIN)
    ).status_code == 201  # opens the shop
    headers = {**ADMIN, "Idempotency-Key": "counter-1"}
    answers = await asyncio.gather(
        *(client.post("/api/v1/shop/redemptions", json=body, headers=headers) for _ in range(8))
    )
    assert [r.status_code for r in answers] == [201] * 8, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in answers) == 7
    assert (await balance(client, v["id"]))["points"] == 80
    items = (await client.get("/api/v1/shop/items", headers=ADMIN)).json()["items"]
    assert [i["stock"] for i in items if i["id"] == item["id"]] == [98]
    await check_ledger(db_url)


async def test_a_retry_after_the_points_are_spent_replays_and_another_request_under_the_key_writes_nothing(
    client, db_url
):
    """The retry's own run would be refused (its first run spent the points): it gets the first
    answer. The same key sent with another body is refused, and what that run did (the point left
    was enough for a towel) is undone."""
    v = await volunteer(client)
    await grant(client, v["id"], 11)
    soap = await post(client, "/api/v1/shop/items", {"name": "肥皂", "points": 10, "stock": 5})
    cheap = await post(client, "/api/v1/shop/items", {"name": "毛巾", "points": 1, "stock": 5})
    headers = {**ADMIN, "Idempotency-Key": "counter-2"}
    body = {"volunteer_id": v["id"], "item_id": soap["id"], "quantity": 1}
    first = await client.post("/api/v1/shop/redemptions", json=body, headers=headers)
    again = await client.post("/api/v1/shop/redemptions", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201) and first.content == again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    other = {"volunteer_id": v["id"], "item_id": cheap["id"], "quantity": 1}
    refused = await client.post("/api/v1/shop/redemptions", json=other, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "idempotency_key_reused"
    items = {i["id"]: i["stock"] for i in (await client.get("/api/v1/shop/items", headers=ADMIN)).json()["items"]}
    assert (items[soap["id"]], items[cheap["id"]]) == (4, 5)  # the refused run's towel went back
    assert (await balance(client, v["id"]))["points"] == 1
    await check_ledger(db_url)


async def test_fifty_clients_redeeming_from_an_open_shop_overspend_nothing(client, db_url):
    """The shop's and the volunteer's accounts open, as on any day but the first: redemptions are
    read and written in two statements, and checked again under the accounts' locks."""
    v = await volunteer(client)
    await grant(client, v["id"], 60)
    item = await post(client, "/api/v1/shop/items", {"name": "洗衣液", "points": 10, "stock": 100})
    body = {"volunteer_id": v["id"], "item_id": item["id"], "quantity": 1}
    first = await client.post("/api/v1/shop/redemptions", json=body, headers=ADMIN)
    assert first.status_code == 201, first.text
    assert (first.json()["balance"], first.json()["stock"]) == (50, 99)

    async def redeem(i: int):
        return await client.post(
            "/api/v1/shop/redemptions", json=body, headers={**ADMIN, "Idempotency-Key": f"open-shop-{i}"}
        )

    answers = await asyncio.gather(*(redeem(i) for i in range(50)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 5 + [409] * 45, codes
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"insufficient_balance"}
    # Each answer tells the balance and stock its own redemption left: all different, none below zero.
    left = sorted((r.json()["balance"], r.json()["stock"]) for r in answers if r.status_code == 201)
    assert left == [(0, 94), (10, 95), (20, 96), (30, 97), (40, 98)], left
    assert (await balance(client, v["id"]))["points"] == 0
    items = (await client.get("/api/v1/shop/items", headers=ADMIN)).json()["items"]
    assert [i["stock"] for i in items if i["id"] == item["id"]] == [94]
    await check_ledger(db_url)
