"""The 爱心超市 of the bench city: volunteers with points and shop items with stock in every
community, refilled before each run, and the ledger's books checked after it.

A redemption locks the volunteer's points account and its community's shop account, so the
redemptions of one community queue behind each other; the load is spread over all 300 communities
(:data:`VOLUNTEERS_PER_COMMUNITY` volunteers and :data:`ITEMS_PER_COMMUNITY` items each), every
request naming another volunteer of another community.

Made once (``ensure``), with the same SQL the service would leave behind: volunteers, their points
accounts, each community's source and shop accounts, the items. Before each run (``refill``) the
items' stock is set back to :data:`STOCK` and every volunteer's points are topped up to
:data:`POINTS` by one balanced grant posting (the ledger is append-only: a refill is a posting like
any other, and the triggers keep the balances)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import asyncpg

from app.kit.ids import new_id
from bench.generate import World

VOLUNTEERS_PER_COMMUNITY = 20
ITEMS_PER_COMMUNITY = 3
POINTS = 1000  # each volunteer's balance at the start of a run: far more than a run spends
STOCK = 1000  # each item's stock at the start of a run
ITEMS = (("大米 5kg", 50), ("食用油 1L", 30), ("洗衣液", 20))
MARK = "bench-shop"  # talent_category of the generated volunteers


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class Shop:
    """``(community index, volunteer id, item id)`` pairs to redeem, and the communities' admins."""

    pairs: list[tuple[int, uuid.UUID, uuid.UUID]]


async def ensure(url: str, world: World) -> Shop:
    conn = await asyncpg.connect(_dsn(url))
    try:
        if not await conn.fetchval("SELECT count(*) FROM volunteers WHERE talent_category = $1", MARK):
            await _generate(conn, world)
        volunteers = await conn.fetch("SELECT id, area_id FROM volunteers WHERE talent_category = $1 ORDER BY id", MARK)
        items = await conn.fetch(
            "SELECT i.id, i.area_id FROM shop_items i JOIN volunteers v ON v.area_id = i.area_id"
            " WHERE v.talent_category = $1 GROUP BY i.id, i.area_id ORDER BY i.id",
            MARK,
        )
    finally:
        await conn.close()
    index = {cid: c for c, cid in enumerate(world.community_ids)}
    items_of: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in items:
        items_of.setdefault(r["area_id"], []).append(r["id"])
    rnd = random.Random(11)
    pairs = [(index[v["area_id"]], v["id"], rnd.choice(items_of[v["area_id"]])) for v in volunteers]
    rnd.shuffle(pairs)  # consecutive requests go to different communities
    return Shop(pairs=pairs)


async def _generate(conn: asyncpg.Connection, world: World) -> None:
    volunteers, items, accounts = [], [], []
    for cid in world.community_ids:
        accounts.append((new_id(), cid, None, "source", "points", f"source:{cid}"))
        accounts.append((new_id(), cid, None, "shop", "points", f"shop:{cid}"))
        for n in range(VOLUNTEERS_PER_COMMUNITY):
            vid = new_id()
            volunteers.append((vid, cid, "resident", f"志愿者{n + 1}", MARK))
            accounts.append((new_id(), cid, vid, "volunteer", "points", f"volunteer:{vid}"))
        for name, points in ITEMS[:ITEMS_PER_COMMUNITY]:
            items.append((new_id(), cid, name, points, 0))
    async with conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE tmp_volunteers (id uuid, area_id uuid, kind text, name text, talent text)"
        )
        await conn.copy_records_to_table("tmp_volunteers", records=volunteers)
        await conn.execute(
            "INSERT INTO volunteers (id, area_id, kind, name, talent_category, consent_at)"
            " SELECT id, area_id, kind, name, talent, now() FROM tmp_volunteers"
        )
        await conn.copy_records_to_table(
            "ledger_accounts", records=accounts, columns=["id", "area_id", "volunteer_id", "kind", "unit", "owner_key"]
        )
        await conn.copy_records_to_table(
            "shop_items", records=items, columns=["id", "area_id", "name", "points", "stock"]
        )
        await conn.execute("DROP TABLE tmp_volunteers")
    await conn.execute("ANALYZE volunteers; ANALYZE ledger_accounts; ANALYZE shop_items")


async def refill(url: str, world: World) -> None:
    """Stock back to :data:`STOCK`, every volunteer's points up to :data:`POINTS`: one grant posting
    per community (its source account pays)."""
    admin = world.users["b_admin"]
    conn = await asyncpg.connect(_dsn(url))
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE shop_items i SET stock = $1, version = i.version + 1, updated_at = now()"
                " FROM (SELECT DISTINCT area_id FROM volunteers WHERE talent_category = $2) c"
                " WHERE i.area_id = c.area_id AND i.stock <> $1",
                STOCK,
                MARK,
            )
            await conn.execute(
                """
                CREATE TEMP TABLE tmp_topup ON COMMIT DROP AS
                SELECT a.area_id, a.id AS account_id, $1 - a.balance AS amount
                FROM ledger_accounts a JOIN volunteers v ON v.id = a.volunteer_id
                WHERE v.talent_category = $2 AND a.unit = 'points' AND a.balance < $1
                """,
                POINTS,
                MARK,
            )
            await conn.execute(
                """
                CREATE TEMP TABLE tmp_refill ON COMMIT DROP AS
                SELECT area_id, gen_random_uuid() AS posting_id, sum(amount) AS total
                FROM tmp_topup GROUP BY area_id
                """
            )
            await conn.execute(
                "INSERT INTO ledger_postings (id, area_id, kind, source_key, memo, posted_by, posted_at)"
                " SELECT posting_id, area_id, 'grant', 'bench-refill:' || posting_id, '基准测试充值', $1, now()"
                " FROM tmp_refill",
                admin,
            )
            await conn.execute(
                """
                INSERT INTO ledger_entries (posting_id, account_id, unit, amount)
                SELECT r.posting_id, t.account_id, 'points', t.amount
                FROM tmp_topup t JOIN tmp_refill r USING (area_id)
                UNION ALL
                SELECT r.posting_id, s.id, 'points', -r.total
                FROM tmp_refill r JOIN ledger_accounts s ON s.owner_key = 'source:' || r.area_id AND s.unit = 'points'
                """
            )
    finally:
        await conn.close()


async def snapshot(url: str) -> tuple[int, object]:
    """Redemptions stored so far, and the database's clock: the run's redemptions come after it."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, clock_timestamp() AS at FROM shop_redemptions")
        return int(row["n"]), row["at"]
    finally:
        await conn.close()


async def books(url: str, before: tuple[int, object], created: int) -> dict[str, int]:
    """What the database says after a run (started at ``before``, from :func:`refill`'s state):
    accounts or items below zero, accounts whose balance is not the sum of their entries, volunteers
    who redeemed more points than they were ever credited, items that gave out more than their
    stock, items whose stock is not :data:`STOCK` less what the run took, and the redemptions
    stored during the run against the 201s the load generator saw (``created``)."""
    count_before, started = before
    conn = await asyncpg.connect(_dsn(url))
    try:
        negative_balances = await conn.fetchval(
            "SELECT count(*) FROM ledger_accounts WHERE kind <> 'source' AND balance < 0"
        )
        negative_stock = await conn.fetchval("SELECT count(*) FROM shop_items WHERE stock < 0")
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM ledger_accounts a"
            " LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) e"
            " ON e.account_id = a.id WHERE a.balance <> coalesce(e.total, 0)"
        )
        overspent_points = await conn.fetchval(
            """
            SELECT count(*) FROM (
                SELECT (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                         WHERE e.account_id = a.id AND e.amount > 0) AS credited,
                       (SELECT coalesce(sum(r.points), 0) FROM shop_redemptions r
                         WHERE r.volunteer_id = a.volunteer_id) AS spent
                FROM ledger_accounts a WHERE a.kind = 'volunteer' AND a.unit = 'points'
            ) t WHERE spent > credited
            """
        )
        stock = await conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE taken > $1) AS overspent,
                   count(*) FILTER (WHERE i.stock <> $1 - taken) AS mismatched
            FROM shop_items i
            JOIN (SELECT DISTINCT area_id FROM volunteers WHERE talent_category = $2) c ON c.area_id = i.area_id
            LEFT JOIN LATERAL (
                SELECT coalesce(sum(r.quantity), 0) AS taken FROM shop_redemptions r
                WHERE r.item_id = i.id AND r.redeemed_at >= $3
            ) t ON true
            """,
            STOCK,
            MARK,
            started,
        )
        stored = int(await conn.fetchval("SELECT count(*) FROM shop_redemptions")) - count_before
    finally:
        await conn.close()
    overspend = int(negative_balances) + int(negative_stock) + int(overspent_points) + int(stock["overspent"])
    return {
        "overspend": overspend,
        "unbalanced_accounts": int(unbalanced),
        "stock_mismatched": int(stock["mismatched"]),
        "redemptions_stored": stored,
        "created_201": created,
    }
